"""Batch upsert of source records into the store.

Flow per batch (one transaction each): records whose raw fingerprint matches a live contact are unchanged and skip
normalization altogether; the rest are normalized (in worker processes for large inputs, so normalization runs on
every core while this process writes), resolved to existing contacts, and written with bulk statements. A record
whose normalized content equals the stored content costs no write.

Matching rule, in order, within one customer and one `external_system`:
1. a record with an external id matches the contact with that id (a live one first, else the most recently
   deleted one, which is then restored);
2. a record without an id matches the oldest live contact without an id whose primary email equals its primary
   email, else the oldest such contact whose primary phone (E.164) equals its primary phone (a record with an id
   is never overwritten by one without);
3. otherwise it is inserted.
Within one input, a later record with the same key updates the earlier one (last wins).
"""

from __future__ import annotations

import gc
import itertools
import json
import os
import time
import uuid
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from contacts_store import schema
from contacts_store.bulk import Writer
from contacts_store.ids import new_id_hex, new_ids_hex
from contacts_store.normalize import (
    DEFAULT_REGION,
    normalize_contact,
    source_hash,
    value_rejects_of,
)
from contacts_store.records import (
    Email,
    NormalizedContact,
    Phone,
    RawEmail,
    RawPhone,
    Reject,
    Source,
    SourceContact,
    ValueReject,
)

Item = SourceContact | Reject


@dataclass
class IngestOptions:
    customer_id: uuid.UUID
    external_system: str
    source: Source = Source.IMPORT
    region: str = DEFAULT_REGION
    kind: str = "import"
    origin: str | None = None
    # None: decide by input size (a pool only once a second batch arrives); 0: normalize in this process.
    workers: int | None = None
    # Into an empty store, build the random-key secondary indexes after the load (see schema).
    bulk_load: bool = True


@dataclass
class IngestCounts:
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    rejected: int = 0
    values_rejected: int = 0
    writes: int = 0

    def add(self, other: IngestCounts) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


@dataclass
class IngestResult(IngestCounts):
    run_id: str = ""
    seconds: float = 0.0
    reject_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.read / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        data["rows_per_second"] = round(self.rows_per_second, 1)
        return data


_ANALYZE_MIN_ROWS = 20_000

RejectSink = Callable[[Sequence[Reject]], None]
ProgressSink = Callable[[IngestCounts], None]


def normalize_batch(items: Sequence[tuple[SourceContact, str]], region: str) -> list[NormalizedContact | Reject]:
    """Normalize records whose raw fingerprint is already computed."""
    return [normalize_contact(contact, region, raw_hash) for contact, raw_hash in items]


# Batches cross to worker processes and back as plain tuples without the raw source values: pickling dataclasses,
# named tuples and dicts would cost the writing process more than the normalization it hands off.
Packed = tuple[Any, ...]


def _pack_source(contact: SourceContact, raw_hash: str) -> Packed:
    return (
        contact.external_id,
        contact.first_name,
        contact.last_name,
        contact.display_name,
        contact.company,
        contact.job_title,
        contact.notes,
        [tuple(p) for p in contact.phones],
        [tuple(e) for e in contact.emails],
        contact.tags,
        contact.deleted,
        contact.row_number,
        raw_hash,
    )


def normalize_packed(items: Sequence[Packed], region: str) -> list[Packed | Reject]:
    """Worker-process entry point."""
    out: list[Packed | Reject] = []
    for item in items:
        contact = SourceContact(
            item[0],
            item[1],
            item[2],
            item[3],
            item[4],
            item[5],
            item[6],
            [RawPhone(*p) for p in item[7]],
            [RawEmail(*e) for e in item[8]],
            item[9],
            None,
            item[10],
            item[11],
        )
        result = normalize_contact(contact, region, item[12])
        if isinstance(result, Reject):
            out.append(result)
            continue
        out.append(
            (
                result.external_id,
                result.first_name,
                result.last_name,
                result.display_name,
                result.company,
                result.job_title,
                result.notes,
                [tuple(p) for p in result.phones],
                [tuple(e) for e in result.emails],
                result.tags,
                result.deleted,
                result.row_number,
                result.source_hash,
                result.content_hash,
                [tuple(v) for v in result.value_rejects],
            )
        )
    return out


def _unpack_results(
    packed: list[Packed | Reject], raws: list[dict[str, str] | None]
) -> list[NormalizedContact | Reject]:
    out: list[NormalizedContact | Reject] = []
    for result, raw in zip(packed, raws, strict=True):
        if isinstance(result, Reject):
            result.raw = raw
            out.append(result)
            continue
        out.append(
            NormalizedContact(
                result[0],
                result[1],
                result[2],
                result[3],
                result[4],
                result[5],
                result[6],
                [Phone(*p) for p in result[7]],
                [Email(*e) for e in result[8]],
                result[9],
                result[10],
                result[11],
                result[12],
                result[13],
                [ValueReject(*v) for v in result[14]],
                raw,
            )
        )
    return out


@dataclass(slots=True)
class _Target:
    """A contact a record resolved to, as the store (or an earlier record of the same batch) has it."""

    id: str
    content_hash: str | None
    live: bool
    pending_insert: bool = False
    # The content hash and liveness the store had before this batch, to drop updates that cancel out.
    stored: tuple[str | None, bool] | None = None
    rows_updating: int = 0

    def __post_init__(self) -> None:
        if self.stored is None and not self.pending_insert:
            self.stored = (self.content_hash, self.live)


class _Skipped(NamedTuple):
    contact: SourceContact
    raw_hash: str
    contact_id: str


def _source_order(record: NormalizedContact | Reject) -> int:
    return record.row_number or 0


@dataclass
class _Batch:
    items: list[Item]
    # Records skipped as unchanged by their raw fingerprint when the batch was prepared; re-checked at write time
    # because an earlier batch still in flight may have changed the same contact since.
    skipped: list[_Skipped]
    future: Future[list[Packed | Reject]] | None
    done: list[NormalizedContact | Reject] | None = None
    raws: list[dict[str, str] | None] | None = None
    epoch: int = 0  # the run's count of batches that had written contacts when this one was prepared

    def results(self) -> list[NormalizedContact | Reject]:
        if self.future is not None:
            return _unpack_results(self.future.result(), self.raws or [])
        return self.done or []


class Ingestor:
    """Upserts batches for one customer and system; use as a context manager so the run is recorded."""

    def __init__(
        self,
        engine: Engine,
        options: IngestOptions,
        on_rejects: RejectSink | None = None,
        on_progress: ProgressSink | None = None,
    ) -> None:
        self.engine = engine
        self.options = options
        self.on_rejects = on_rejects
        self.on_progress = on_progress
        self.counts = IngestCounts()
        self.reject_reasons: dict[str, int] = {}
        self.run_id = new_id_hex()
        self._customer = options.customer_id.hex
        self._pool: Executor | None = None
        self._started = time.perf_counter()
        self._written_since_analyze = 0
        self._analyzed_rows = 0
        self._deferred: list[sa.Index] = []
        self._epoch = 0

    # -- run bookkeeping -------------------------------------------------------------------------------------

    def __enter__(self) -> Ingestor:
        with self.engine.begin() as conn:
            c = schema.contacts.c
            any_contact = sa.select(c.id).where(
                c.customer_id == self.options.customer_id, c.external_system == self.options.external_system
            )
            # A first import has nothing to compare raw fingerprints with: skip those look-ups for the whole run.
            self._scope_was_empty = conn.execute(any_contact.limit(1)).first() is None
            if self.options.bulk_load and self._scope_was_empty:
                store_is_empty = conn.execute(sa.select(c.id).limit(1)).first() is None
                if store_is_empty:
                    self._deferred = [schema.index_named(name) for name in schema.BULK_DEFERRED_INDEXES]
                    for index in self._deferred:
                        index.drop(conn, checkfirst=True)
            conn.execute(
                schema.import_runs.insert().values(
                    id=uuid.UUID(self.run_id),
                    customer_id=self.options.customer_id,
                    external_system=self.options.external_system,
                    kind=self.options.kind,
                    origin=self.options.origin,
                    status="running",
                    tm_start=datetime.now(UTC),
                )
            )
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, _tb: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._restore_indexes()
        status = "succeeded" if exc is None else "failed"
        with self.engine.begin() as conn:
            conn.execute(
                schema.import_runs.update()
                .where(schema.import_runs.c.id == uuid.UUID(self.run_id))
                .values(
                    status=status,
                    counts=asdict(self.counts),
                    message=None if exc is None else f"{type(exc).__name__}: {exc}"[:2000],
                    tm_end=datetime.now(UTC),
                )
            )

    def result(self) -> IngestResult:
        return IngestResult(
            **asdict(self.counts),
            run_id=str(uuid.UUID(self.run_id)),
            seconds=time.perf_counter() - self._started,
            reject_reasons=dict(sorted(self.reject_reasons.items(), key=lambda kv: -kv[1])),
        )

    # -- the pipeline ----------------------------------------------------------------------------------------

    def run(self, batches: Iterable[Sequence[Item]]) -> IngestResult:
        """Ingest every batch, normalizing ahead in worker processes while earlier batches are written."""
        # An import allocates millions of short-lived objects while holding a few batches alive; with the default
        # thresholds the cyclic collector keeps rescanning those batches and costs as much as the writes.
        thresholds = gc.get_threshold()
        gc.set_threshold(50_000, 20, 10)
        try:
            return self._run(batches)
        finally:
            gc.set_threshold(*thresholds)

    def _run(self, batches: Iterable[Sequence[Item]]) -> IngestResult:
        in_flight: deque[_Batch] = deque()
        depth = 1
        source = iter(batches)
        for index in itertools.count():
            try:
                items = next(source, None)
            except Exception:
                # The source failed (a network error, a broken file): keep every batch it did deliver.
                self._drain(in_flight)
                raise
            if items is None:
                break
            if index == 1 and self.options.workers != 0:
                depth = self._start_pool()
            in_flight.append(self._prepare(list(items)))
            while len(in_flight) > depth:
                self._write(in_flight.popleft())
        self._drain(in_flight)
        if self._written_since_analyze:
            self._analyze()
        return self.result()

    def _restore_indexes(self, conn: Connection | None = None) -> None:
        if not self._deferred:
            return
        deferred, self._deferred = self._deferred, []
        if conn is not None:
            for index in deferred:
                index.create(conn, checkfirst=True)
            return
        with self.engine.begin() as own:
            for index in deferred:
                index.create(own, checkfirst=True)

    def _drain(self, in_flight: deque[_Batch]) -> None:
        while in_flight:
            self._write(in_flight.popleft())

    def _analyze(self) -> None:
        """Refresh planner statistics after bulk writes.

        Without them PostgreSQL plans the per-batch `external_id IN (...)` look-ups for a table it believes empty
        and scans a whole customer instead of probing the index, which turns a re-import into minutes.
        """
        self._written_since_analyze = 0
        if self.engine.dialect.name != "postgresql":
            return  # SQLite's planner assumes selective indexes without statistics, which suits these queries
        with self.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE contacts, contact_phone_numbers, contact_emails, contact_tags")

    def _maybe_analyze(self, written: int) -> None:
        # Statistics go stale as the tables grow during a first import; refresh each time they double.
        self._written_since_analyze += written
        if self._written_since_analyze >= max(_ANALYZE_MIN_ROWS, self._analyzed_rows):
            self._analyzed_rows = self.counts.inserted + self.counts.updated
            self._analyze()

    def _start_pool(self) -> int:
        import multiprocessing

        workers = self.options.workers or max(1, min(4, os.cpu_count() or 1))
        # fork: workers start in milliseconds with the normalization modules already imported, and unlike
        # spawn/forkserver they never re-run the caller's __main__ module. They touch no locks or connections.
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        context = multiprocessing.get_context(method)
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        return workers * 2

    def _prepare(self, items: list[Item]) -> _Batch:
        contacts = [item for item in items if isinstance(item, SourceContact)]
        region = self.options.region
        hashed = [(contact, source_hash(contact, region)) for contact in contacts]
        known: dict[str, str] = {}
        if not self._scope_was_empty:
            with self.engine.connect() as conn:
                known = self._known_source_hashes(conn, [h for contact, h in hashed if not contact.deleted])
        todo = [(contact, h) for contact, h in hashed if contact.deleted or h not in known]
        skipped = [_Skipped(contact, h, known[h]) for contact, h in hashed if not contact.deleted and h in known]
        if self._pool is not None and todo:
            packed = [_pack_source(contact, h) for contact, h in todo]
            with warnings.catch_warnings():
                # Python 3.12+ warns when forking a threaded process (a progress bar, Dagster); the workers only
                # run normalization, which takes no lock another thread could hold.
                warnings.filterwarnings("ignore", message=".*multi-threaded.*fork", category=DeprecationWarning)
                future = self._pool.submit(normalize_packed, packed, region)
            return _Batch(items, skipped, future, raws=[contact.raw for contact, _ in todo], epoch=self._epoch)
        return _Batch(items, skipped, None, normalize_batch(todo, region), epoch=self._epoch)

    def _known_source_hashes(self, conn: Connection, hashes: list[str]) -> dict[str, str]:
        """Raw fingerprints that live contacts were last written from, with those contacts' ids."""
        c = schema.contacts.c
        found: dict[str, str] = {}
        for start in range(0, len(hashes), 5000):
            query = sa.select(c.source_hash, c.id).where(
                c.customer_id == self.options.customer_id,
                c.external_system == self.options.external_system,
                c.tm_delete.is_(None),
                c.rejected_values == 0,
                c.source_hash.in_(hashes[start : start + 5000]),
            )
            found.update((raw_hash, contact_id.hex) for raw_hash, contact_id in conn.execute(query))
        return found

    def _write(self, batch: _Batch) -> None:
        counts = IngestCounts(read=len(batch.items))
        rejects: list[Reject] = [item for item in batch.items if isinstance(item, Reject)]
        counts.rejected = len(rejects)
        with self.engine.begin() as conn:
            results, skipped = self._results(conn, batch)
            normalized = self._collect(results, rejects, counts)
            if self._deferred and any(not record.external_id for record in normalized):
                # Records without an id are matched by email and phone: those look-ups need their indexes now.
                self._restore_indexes(conn)
            writer = Writer(conn)
            _BatchWriter(conn, writer, self.options, self._customer).apply(normalized, skipped, counts)
            self._store_rejects(writer, rejects)
            counts.writes = writer.writes
        for reject in rejects:
            self.reject_reasons[reject.reason] = self.reject_reasons.get(reject.reason, 0) + 1
        self.counts.add(counts)
        if counts.inserted or counts.updated or counts.deleted:
            self._epoch += 1
        if counts.inserted or counts.updated:
            self._maybe_analyze(counts.inserted + counts.updated)
        if rejects and self.on_rejects is not None:
            self.on_rejects(rejects)
        if self.on_progress is not None:
            self.on_progress(self.counts)

    def _results(self, conn: Connection, batch: _Batch) -> tuple[list[NormalizedContact | Reject], list[_Skipped]]:
        """The batch's normalized records, plus any skipped one whose contact an earlier batch has changed since."""
        results = batch.results()
        if not batch.skipped or batch.epoch == self._epoch:
            # Nothing was written since the fingerprints were looked up (a re-import of an unchanged file).
            return results, batch.skipped
        still = self._known_source_hashes(conn, [s.raw_hash for s in batch.skipped])
        stale = [(s.contact, s.raw_hash) for s in batch.skipped if s.raw_hash not in still]
        skipped = [s._replace(contact_id=still[s.raw_hash]) for s in batch.skipped if s.raw_hash in still]
        if stale:
            # Keep source order, since a later record with the same key wins.
            results = sorted(results + normalize_batch(stale, self.options.region), key=_source_order)
        return results, skipped

    @staticmethod
    def _collect(
        results: list[NormalizedContact | Reject], rejects: list[Reject], counts: IngestCounts
    ) -> list[NormalizedContact]:
        normalized: list[NormalizedContact] = []
        for result in results:
            if isinstance(result, Reject):
                rejects.append(result)
                counts.rejected += 1
                continue
            normalized.append(result)
            if result.value_rejects:
                counts.values_rejected += len(result.value_rejects)
                rejects.extend(value_rejects_of(result))
        return normalized

    def _store_rejects(self, writer: Writer, rejects: Sequence[Reject]) -> None:
        now = writer.timestamp(datetime.now(UTC))
        rows = [
            (
                self.run_id,
                self._customer,
                self.options.external_system,
                (r.external_id or None) and r.external_id[:255],
                r.row_number,
                r.reason,
                r.message,
                r.field,
                r.value,
                json.dumps(r.raw, ensure_ascii=False) if r.raw is not None else None,
                now,
            )
            for r in rejects
        ]
        writer.insert(
            "rejects",
            (
                "run_id",
                "customer_id",
                "external_system",
                "external_id",
                "row_number",
                "reason",
                "message",
                "field",
                "value",
                "raw",
                "tm_create",
            ),
            rows,
        )


class _BatchWriter:
    """Resolves one batch of normalized records against the store and writes the differences."""

    def __init__(
        self,
        conn: Connection,
        writer: Writer,
        options: IngestOptions,
        customer_hex: str,
    ) -> None:
        self.conn = conn
        self.writer = writer
        self.options = options
        self.customer = customer_hex
        self.now = datetime.now(UTC)
        self.by_external_id: dict[str, _Target] = {}
        self.by_email: dict[str, _Target] = {}
        self.by_phone: dict[str, _Target] = {}
        self.inserts: dict[str, NormalizedContact] = {}
        self.updates: dict[str, NormalizedContact] = {}
        self.update_targets: dict[str, _Target] = {}
        self.deletes: set[str] = set()
        self.targets: dict[str, _Target] = {}

    def apply(self, records: list[NormalizedContact], skipped: list[_Skipped], counts: IngestCounts) -> None:
        """Write the batch; `skipped` records are unchanged unless another record of the batch hits their contact."""
        self.new_ids = iter(new_ids_hex(len(records) + len(skipped)))
        self._load_targets(records)
        targeted = {target.id for record in records if (target := self._find(record)) is not None}
        pulled = [s for s in skipped if s.contact_id in targeted]
        counts.unchanged += len(skipped) - len(pulled)
        if pulled:
            # A duplicate earlier in the batch changes a contact this record was written from: apply both in order.
            extra = normalize_batch([(s.contact, s.raw_hash) for s in pulled], self.options.region)
            extra_records = [r for r in extra if isinstance(r, NormalizedContact)]
            self._load_targets(extra_records)
            records = sorted(records + extra_records, key=_source_order)
        for record in records:
            self._classify(record, counts)
        self._settle_updates(counts)
        self._flush()

    # -- resolution ------------------------------------------------------------------------------------------

    def _load_targets(self, records: list[NormalizedContact]) -> None:
        c = schema.contacts.c
        scope = (
            c.customer_id == self.options.customer_id,
            c.external_system == self.options.external_system,
        )
        ids = list({r.external_id for r in records if r.external_id})
        for start in range(0, len(ids), 5000):
            query = (
                sa.select(c.id, c.external_id, c.content_hash, c.tm_delete)
                .where(*scope, c.external_id.in_(ids[start : start + 5000]))
                .order_by(c.tm_delete.is_not(None), c.tm_delete.desc(), c.tm_create)
            )
            for row in self.conn.execute(query):
                if row.external_id not in self.by_external_id:
                    target = self._target(row.id.hex, row.content_hash, row.tm_delete is None)
                    self.by_external_id[row.external_id] = target
        keyless = [r for r in records if not r.external_id and not r.deleted]
        emails = list({r.primary_email for r in keyless if r.primary_email})
        self._load_by_child(
            schema.contact_emails,
            schema.contact_emails.c.address,
            emails,
            self.by_email,
        )
        phones = list({r.primary_phone for r in keyless if r.primary_phone and not r.primary_email})
        phones += [
            r.primary_phone
            for r in keyless
            if r.primary_phone and r.primary_email and r.primary_email not in self.by_email
        ]
        self._load_by_child(
            schema.contact_phone_numbers,
            schema.contact_phone_numbers.c.number_e164,
            list(set(phones)),
            self.by_phone,
        )

    def _load_by_child(
        self,
        table: sa.Table,
        column: sa.Column[Any],
        values: list[str],
        into: dict[str, _Target],
    ) -> None:
        c = schema.contacts.c
        for start in range(0, len(values), 5000):
            query = (
                sa.select(column.label("key"), c.id, c.content_hash)
                .select_from(table.join(schema.contacts, schema.contacts.c.id == table.c.contact_id))
                .where(
                    table.c.customer_id == self.options.customer_id,
                    column.in_(values[start : start + 5000]),
                    table.c.is_primary.is_(True),
                    c.external_system == self.options.external_system,
                    c.external_id.is_(None),
                    c.tm_delete.is_(None),
                )
                .order_by(c.tm_create, c.id)
            )
            for row in self.conn.execute(query):
                if row.key not in into:
                    into[row.key] = self._target(row.id.hex, row.content_hash, True)

    def _target(self, contact_id: str, content_hash: str | None, live: bool) -> _Target:
        """One `_Target` per contact, however many keys lead to it, so the batch's changes to it add up."""
        target = self.targets.get(contact_id)
        if target is None:
            target = self.targets[contact_id] = _Target(contact_id, content_hash, live)
        return target

    def _find(self, record: NormalizedContact) -> _Target | None:
        if record.external_id:
            return self.by_external_id.get(record.external_id)
        email, phone = record.primary_email, record.primary_phone
        if email and email in self.by_email:
            return self.by_email[email]
        if phone and phone in self.by_phone:
            return self.by_phone[phone]
        return None

    def _remember(self, record: NormalizedContact, target: _Target) -> None:
        if record.external_id:
            self.by_external_id[record.external_id] = target
            return
        if record.primary_email:
            self.by_email.setdefault(record.primary_email, target)
        if record.primary_phone:
            self.by_phone.setdefault(record.primary_phone, target)

    def _classify(self, record: NormalizedContact, counts: IngestCounts) -> None:
        target = self._find(record)
        if record.deleted:
            if target is not None and target.live:
                target.live = False
                if target.pending_insert:
                    self.inserts.pop(target.id, None)
                else:
                    self.updates.pop(target.id, None)
                    self.update_targets.pop(target.id, None)
                    self.deletes.add(target.id)
                counts.updated += target.rows_updating
                target.rows_updating = 0
                counts.deleted += 1
            else:
                counts.unchanged += 1
            return
        if target is None:
            target = _Target(next(self.new_ids), record.content_hash, True, pending_insert=True)
            self.inserts[target.id] = record
            self._remember(record, target)
            counts.inserted += 1
            return
        if target.live and target.content_hash == record.content_hash:
            counts.unchanged += 1
            return
        if target.pending_insert and target.live:
            self.inserts[target.id] = record
            counts.updated += 1
        else:
            self.deletes.discard(target.id)
            self.updates[target.id] = record
            self.update_targets[target.id] = target
            target.rows_updating += 1
        target.content_hash = record.content_hash
        target.live = True
        self._remember(record, target)

    def _settle_updates(self, counts: IngestCounts) -> None:
        """Count updated rows, dropping updates that duplicates in the batch undid (A, then A' and back to A)."""
        for contact_id, target in self.update_targets.items():
            if (target.content_hash, target.live) == target.stored:
                self.updates.pop(contact_id, None)
                counts.unchanged += target.rows_updating
            else:
                counts.updated += target.rows_updating

    # -- writes ----------------------------------------------------------------------------------------------

    def _flush(self) -> None:
        writer = self.writer
        now = writer.timestamp(self.now)
        opts = self.options
        if self.deletes:
            writer.execute_many(
                "UPDATE contacts SET tm_delete = ?, tm_update = ? WHERE id = ?",
                [(now, now, contact_id) for contact_id in self.deletes],
            )
        if self.updates:
            writer.delete_where_in("contact_phone_numbers", "contact_id", list(self.updates))
            writer.delete_where_in("contact_emails", "contact_id", list(self.updates))
            writer.delete_where_in("contact_tags", "contact_id", list(self.updates))
            writer.execute_many(
                "UPDATE contacts SET first_name = ?, last_name = ?, display_name = ?, company = ?, job_title = ?, "
                "notes = ?, source_hash = ?, content_hash = ?, rejected_values = ?, tm_update = ?, tm_delete = NULL "
                "WHERE id = ?",
                [
                    (
                        r.first_name,
                        r.last_name,
                        r.display_name,
                        r.company,
                        r.job_title,
                        r.notes,
                        r.source_hash,
                        r.content_hash,
                        len(r.value_rejects),
                        now,
                        contact_id,
                    )
                    for contact_id, r in self.updates.items()
                ],
            )
        writer.insert(
            "contacts",
            CONTACT_COLUMNS,
            [
                (
                    contact_id,
                    self.customer,
                    r.first_name,
                    r.last_name,
                    r.display_name,
                    r.company,
                    r.job_title,
                    r.notes,
                    opts.source.value,
                    opts.external_system,
                    r.external_id,
                    r.source_hash,
                    r.content_hash,
                    len(r.value_rejects),
                    now,
                )
                for contact_id, r in self.inserts.items()
            ],
        )
        self._insert_children({**self.inserts, **self.updates}, now)

    def _insert_children(self, records: dict[str, NormalizedContact], now: Any) -> None:
        customer = self.customer
        phones, emails, tags = [], [], []
        phone_ids = iter(new_ids_hex(sum(len(r.phones) for r in records.values())))
        email_ids = iter(new_ids_hex(sum(len(r.emails) for r in records.values())))
        for contact_id, r in records.items():
            for position, p in enumerate(r.phones):
                phones.append(
                    (
                        next(phone_ids),
                        customer,
                        contact_id,
                        p.number,
                        p.number_e164,
                        p.extension,
                        p.type,
                        p.is_primary,
                        position,
                        now,
                    )
                )
            for position, e in enumerate(r.emails):
                emails.append(
                    (
                        next(email_ids),
                        customer,
                        contact_id,
                        e.address,
                        e.type,
                        e.is_primary,
                        position,
                        now,
                    )
                )
            for position, tag in enumerate(r.tags):
                tags.append((contact_id, tag, customer, position, now))
        self.writer.insert("contact_phone_numbers", PHONE_COLUMNS, phones)
        self.writer.insert("contact_emails", EMAIL_COLUMNS, emails)
        self.writer.insert("contact_tags", TAG_COLUMNS, tags)


CONTACT_COLUMNS = (
    "id",
    "customer_id",
    "first_name",
    "last_name",
    "display_name",
    "company",
    "job_title",
    "notes",
    "source",
    "external_system",
    "external_id",
    "source_hash",
    "content_hash",
    "rejected_values",
    "tm_create",
)
PHONE_COLUMNS = (
    "id",
    "customer_id",
    "contact_id",
    "number",
    "number_e164",
    "extension",
    "type",
    "is_primary",
    "position",
    "tm_create",
)
EMAIL_COLUMNS = (
    "id",
    "customer_id",
    "contact_id",
    "address",
    "type",
    "is_primary",
    "position",
    "tm_create",
)
TAG_COLUMNS = ("contact_id", "tag", "customer_id", "position", "tm_create")


def ingest(
    engine: Engine,
    batches: Iterable[Sequence[Item]],
    options: IngestOptions,
    on_rejects: RejectSink | None = None,
    on_progress: ProgressSink | None = None,
) -> IngestResult:
    """Upsert every record; counts reconcile: read = inserted + updated + unchanged + deleted + rejected."""
    with Ingestor(engine, options, on_rejects, on_progress) as ingestor:
        return ingestor.run(batches)


def chunked(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    batch: list[Item] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
