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

import contextlib
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
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from contacts_store import schema
from contacts_store.bulk import Writer
from contacts_store.handoff import Packed, normalize_batch, normalize_packed, pack_source, unpack_results
from contacts_store.ids import new_id_hex
from contacts_store.ingest_model import IngestCounts, IngestOptions, IngestResult, Page
from contacts_store.normalize import source_hash, value_rejects_of
from contacts_store.records import NormalizedContact, Reject, SourceContact
from contacts_store.sync_state import Cursor, save_cursor
from contacts_store.upsert import BatchWriter, Skipped, source_order

__all__ = [
    "IngestCounts",
    "IngestOptions",
    "IngestResult",
    "Ingestor",
    "Page",
    "chunked",
    "ingest",
    "normalize_batch",
    "set_run_status",
]

Item = SourceContact | Reject


_ANALYZE_MIN_ROWS = 20_000

RejectSink = Callable[[Sequence[Reject]], None]
ProgressSink = Callable[[IngestCounts], None]


@dataclass
class _Batch:
    items: list[Item]
    # Records skipped as unchanged by their raw fingerprint when the batch was prepared; re-checked at write time
    # because an earlier batch still in flight may have changed the same contact since.
    skipped: list[Skipped]
    future: Future[list[Packed | Reject]] | None
    done: list[NormalizedContact | Reject] | None = None
    raws: list[dict[str, str] | None] | None = None
    epoch: int = 0  # the run's count of batches that had written contacts when this one was prepared
    cursor: Cursor | None = None  # saved with the batch's writes

    def results(self) -> list[NormalizedContact | Reject]:
        if self.future is not None:
            return unpack_results(self.future.result(), self.raws or [])
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

    def run(self, batches: Iterable[Sequence[Item] | Page]) -> IngestResult:
        """Ingest every batch, normalizing ahead in worker processes while earlier batches are written."""
        # An import allocates millions of short-lived objects while holding a few batches alive; with the default
        # thresholds the cyclic collector keeps rescanning those batches and costs as much as the writes.
        thresholds = gc.get_threshold()
        gc.set_threshold(50_000, 20, 10)
        try:
            return self._run(batches)
        finally:
            gc.set_threshold(*thresholds)

    def _run(self, batches: Iterable[Sequence[Item] | Page]) -> IngestResult:
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
            if isinstance(items, Page):
                batch = self._prepare(list(items.items))
                batch.cursor = items.cursor
            else:
                batch = self._prepare(list(items))
            in_flight.append(batch)
            while len(in_flight) > depth:
                self._write(in_flight.popleft())
        self._drain(in_flight)
        # Inside the run, so that its reported duration includes building the indexes a first load deferred.
        self._restore_indexes()
        if self._written_since_analyze >= _ANALYZE_MIN_ROWS or (self._scope_was_empty and self._written_since_analyze):
            # A first load or a large change: the next run's look-ups need statistics that describe it. A small
            # incremental sync into a large store is left to autovacuum (ANALYZE of a 1M-row store costs seconds).
            self._analyze()
        return self.result()

    def _restore_indexes(self, conn: Connection | None = None) -> None:
        if not self._deferred:
            return
        deferred, self._deferred = self._deferred, []
        with contextlib.nullcontext(conn) if conn is not None else self.engine.begin() as target:
            for index in deferred:
                index.create(target, checkfirst=True)

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
        if self._scope_was_empty:
            # Nothing to compare with: the workers compute each fingerprint along with the normalization.
            todo: list[tuple[SourceContact, str]] = [(contact, "") for contact in contacts]
            skipped: list[Skipped] = []
        else:
            hashed = [(contact, source_hash(contact, region)) for contact in contacts]
            with self.engine.connect() as conn:
                known = self._known_source_hashes(conn, [h for contact, h in hashed if not contact.deleted])
            todo = [(contact, h) for contact, h in hashed if contact.deleted or h not in known]
            skipped = [Skipped(contact, h, known[h]) for contact, h in hashed if not contact.deleted and h in known]
        if self._pool is not None and todo:
            packed = [pack_source(contact, h) for contact, h in todo]
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
            BatchWriter(conn, writer, self.options, self._customer).apply(normalized, skipped, counts)
            self._store_rejects(writer, rejects)
            counts.writes = writer.writes
            if batch.cursor is not None and self.options.cursor_key is not None:
                save_cursor(conn, self.options.cursor_key, batch.cursor)
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

    def _results(self, conn: Connection, batch: _Batch) -> tuple[list[NormalizedContact | Reject], list[Skipped]]:
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
            results = sorted(results + normalize_batch(stale, self.options.region), key=source_order)
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


def ingest(
    engine: Engine,
    batches: Iterable[Sequence[Item] | Page],
    options: IngestOptions,
    on_rejects: RejectSink | None = None,
    on_progress: ProgressSink | None = None,
) -> IngestResult:
    """Upsert every record; counts reconcile: read = inserted + updated + unchanged + deleted + rejected."""
    with Ingestor(engine, options, on_rejects, on_progress) as ingestor:
        return ingestor.run(batches)


def set_run_status(engine: Engine, run_id: str, status: str, message: str) -> None:
    """Record how a run really ended when its caller knows more than the ingest did (a sync stopped on the
    CRM's quota, a full resync that refused its deletions)."""
    with engine.begin() as conn:
        conn.execute(
            schema.import_runs.update()
            .where(schema.import_runs.c.id == uuid.UUID(run_id))
            .values(status=status, message=message[:2000], tm_end=datetime.now(UTC))
        )


def chunked(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    batch: list[Item] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
