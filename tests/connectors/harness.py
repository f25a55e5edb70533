"""What every connector test harness shares: moving the fake CRM's clock, running a sync, and reading back the
contacts and cursor of one customer and system."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connectors.sync import SyncOptions, SyncResult, sync
from contacts_store import schema
from contacts_store.sync_state import CursorKey, read_cursor


class SyncHarness:
    """Mixed into a harness dataclass that has `fake`, `engine`, `customer`, `now` and `system`, and builds its
    connector's source with `source()`."""

    fake: Any
    engine: Engine
    customer: uuid.UUID
    system: str
    now: datetime

    def source(self) -> Any:
        raise NotImplementedError

    def at(self, moment: datetime) -> None:
        self.now = moment
        self.fake.set_clock(moment)

    def later(self, **delta: float) -> datetime:
        self.at(self.now + timedelta(**delta))
        return self.now

    def sync(self, full: bool = False, source: Any = None, max_delete_fraction: float | None = 0.5) -> SyncResult:
        source = source or self.source()
        try:
            options = SyncOptions(self.customer, full=full, workers=0, max_delete_fraction=max_delete_fraction)
            return sync(self.engine, source, options)
        finally:
            source.client.close()

    def cursor(self) -> dict[str, Any] | None:
        return read_cursor(self.engine, CursorKey(self.customer, self.system))

    def contacts(self) -> dict[str, dict[str, Any]]:
        """external id -> the stored contact (live or not), with its phone numbers and emails."""
        c = schema.contacts.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(c.id, c.external_id, c.first_name, c.last_name, c.company, c.job_title, c.tm_delete).where(
                    c.customer_id == self.customer, c.external_system == self.system
                )
            ).all()
            phones = conn.execute(
                sa.select(schema.contact_phone_numbers.c.contact_id, schema.contact_phone_numbers.c.number_e164)
            ).all()
            emails = conn.execute(sa.select(schema.contact_emails.c.contact_id, schema.contact_emails.c.address)).all()
        phones_of: dict[Any, list[str]] = defaultdict(list)
        emails_of: dict[Any, list[str]] = defaultdict(list)
        for phone in phones:
            phones_of[phone.contact_id].append(phone.number_e164)
        for email in emails:
            emails_of[email.contact_id].append(email.address)
        found: dict[str, dict[str, Any]] = {}
        for row in rows:
            assert row.external_id not in found or found[row.external_id]["deleted"], "two live rows for one id"
            found[row.external_id] = {
                "first_name": row.first_name,
                "last_name": row.last_name,
                "company": row.company,
                "job_title": row.job_title,
                "deleted": row.tm_delete is not None,
                "phones": sorted(phones_of[row.id]),
                "emails": sorted(emails_of[row.id]),
            }
        return found

    def live_ids(self) -> set[str]:
        return {key for key, value in self.contacts().items() if not value["deleted"]}
