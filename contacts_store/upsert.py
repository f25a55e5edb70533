"""Resolving one batch of normalized records against the store and writing only the differences."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from contacts_store import schema
from contacts_store.bulk import Writer
from contacts_store.handoff import normalize_batch
from contacts_store.ids import new_ids_hex
from contacts_store.ingest_model import IngestCounts, IngestOptions
from contacts_store.records import NormalizedContact, Reject, SourceContact


@dataclass(slots=True)
class Target:
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


class Skipped(NamedTuple):
    contact: SourceContact
    raw_hash: str
    contact_id: str


def source_order(record: NormalizedContact | Reject) -> int:
    return record.row_number or 0


class BatchWriter:
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
        self.by_external_id: dict[str, Target] = {}
        self.by_email: dict[str, Target] = {}
        self.by_phone: dict[str, Target] = {}
        self.inserts: dict[str, NormalizedContact] = {}
        self.updates: dict[str, NormalizedContact] = {}
        self.update_targets: dict[str, Target] = {}
        self.deletes: set[str] = set()
        self.targets: dict[str, Target] = {}

    def apply(self, records: list[NormalizedContact], skipped: list[Skipped], counts: IngestCounts) -> None:
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
            records = sorted(records + extra_records, key=source_order)
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
        # The phone decides only for records whose email matched nothing (or that have none).
        phones = {r.primary_phone for r in keyless if r.primary_phone and r.primary_email not in self.by_email}
        self._load_by_child(
            schema.contact_phone_numbers,
            schema.contact_phone_numbers.c.number_e164,
            list(phones),
            self.by_phone,
        )

    def _load_by_child(
        self,
        table: sa.Table,
        column: sa.Column[Any],
        values: list[str],
        into: dict[str, Target],
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

    def _target(self, contact_id: str, content_hash: str | None, live: bool) -> Target:
        """One `Target` per contact, however many keys lead to it, so the batch's changes to it add up."""
        target = self.targets.get(contact_id)
        if target is None:
            target = self.targets[contact_id] = Target(contact_id, content_hash, live)
        return target

    def _find(self, record: NormalizedContact) -> Target | None:
        if record.external_id:
            return self.by_external_id.get(record.external_id)
        email, phone = record.primary_email, record.primary_phone
        if email and email in self.by_email:
            return self.by_email[email]
        if phone and phone in self.by_phone:
            return self.by_phone[phone]
        return None

    def _remember(self, record: NormalizedContact, target: Target) -> None:
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
            target = Target(next(self.new_ids), record.content_hash, True, pending_insert=True)
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
        rewrite: dict[str, dict[str, NormalizedContact]] = {table: dict(self.inserts) for table in CHILD_TABLES}
        if self.updates:
            for table, changed in self._changed_children().items():
                writer.delete_where_in(table, "contact_id", list(changed))
                rewrite[table].update(changed)
            writer.execute_many(
                "UPDATE contacts SET first_name = ?, last_name = ?, display_name = ?, company = ?, job_title = ?, "
                "notes = ?, source_hash = ?, content_hash = ?, rejected_values = ?, tm_update = ?, tm_delete = NULL "
                "WHERE id = ?",
                [
                    (*_named_fields(r), r.source_hash, r.content_hash, len(r.value_rejects), now, contact_id)
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
                    *_named_fields(r),
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
        self._insert_children(rewrite, now)

    def _changed_children(self) -> dict[str, dict[str, NormalizedContact]]:
        """Per child table, the updated contacts whose rows there differ from the record's.

        An update rewrites only those: a contact whose name changed keeps its phone, email and tag rows, with their
        ids (which the API hands out) and creation times, and a large store is spared random writes.
        """
        changed: dict[str, dict[str, NormalizedContact]] = {}
        ids = list(self.updates)
        for table, (columns, wanted) in _CHILD_VALUES.items():
            stored: dict[str, list[tuple[Any, ...]]] = {}
            for row in self.writer.select_where_in(table, ("contact_id", *columns), "contact_id", ids, _ORDER):
                key = row[0].hex if isinstance(row[0], uuid.UUID) else str(row[0])
                stored.setdefault(key, []).append(
                    tuple(bool(v) if c == "is_primary" else v for c, v in zip(columns, row[1:], strict=True))
                )
            changed[table] = {
                contact_id: record
                for contact_id, record in self.updates.items()
                if stored.get(contact_id, []) != wanted(record)
            }
        return changed

    def _insert_children(self, records_by_table: dict[str, dict[str, NormalizedContact]], now: Any) -> None:
        customer = self.customer
        phones, emails, tags = [], [], []
        phone_records = records_by_table["contact_phone_numbers"]
        email_records = records_by_table["contact_emails"]
        phone_ids = iter(new_ids_hex(sum(len(r.phones) for r in phone_records.values())))
        email_ids = iter(new_ids_hex(sum(len(r.emails) for r in email_records.values())))
        for contact_id, r in phone_records.items():
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
        for contact_id, r in email_records.items():
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
        for contact_id, r in records_by_table["contact_tags"].items():
            for position, tag in enumerate(r.tags):
                tags.append((contact_id, tag, customer, position, now))
        self.writer.insert("contact_phone_numbers", PHONE_COLUMNS, phones)
        self.writer.insert("contact_emails", EMAIL_COLUMNS, emails)
        self.writer.insert("contact_tags", TAG_COLUMNS, tags)


def _named_fields(record: NormalizedContact) -> tuple[str | None, ...]:
    """The contact's own columns, in the order CONTACT_COLUMNS and the UPDATE statement list them."""
    return (
        record.first_name,
        record.last_name,
        record.display_name,
        record.company,
        record.job_title,
        record.notes,
    )


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
CHILD_TABLES = ("contact_phone_numbers", "contact_emails", "contact_tags")
_ORDER = "contact_id, position"
# Per child table: the stored columns that make up a record's value, and those values from a record, in order.
_CHILD_VALUES: dict[str, tuple[tuple[str, ...], Callable[[NormalizedContact], list[tuple[Any, ...]]]]] = {
    "contact_phone_numbers": (
        ("number", "number_e164", "extension", "type", "is_primary"),
        lambda r: [(p.number, p.number_e164, p.extension, p.type, p.is_primary) for p in r.phones],
    ),
    "contact_emails": (
        ("address", "type", "is_primary"),
        lambda r: [(e.address, e.type, e.is_primary) for e in r.emails],
    ),
    "contact_tags": (("tag",), lambda r: [(tag,) for tag in r.tags]),
}
