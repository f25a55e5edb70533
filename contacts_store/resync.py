"""The last step of a full resync: contacts the CRM no longer has are soft-deleted.

Deletions a CRM reports (Salesforce's recycle bin, HubSpot's archive) age out after weeks, and hard deletes are
never reported at all; only a complete pass over the CRM can tell which contacts are gone. A pass that read far
fewer records than the store holds is more likely a misconfigured connection (the wrong org, a user who lost
access) than a real mass deletion, so it is refused above a configurable share.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from contacts_store import schema


class MassDeleteRefused(Exception):
    """Deleting the missing contacts would remove more than the allowed share of the live ones."""


def delete_missing(
    engine: Engine,
    customer_id: uuid.UUID,
    external_system: str,
    present: Collection[str],
    max_fraction: float | None = 0.5,
) -> int:
    """Soft-delete the live contacts of this customer and system whose external id is not in `present`."""
    c = schema.contacts.c
    with engine.begin() as conn:
        rows = conn.execute(
            sa.select(c.id, c.external_id).where(
                c.customer_id == customer_id,
                c.external_system == external_system,
                c.tm_delete.is_(None),
                c.external_id.is_not(None),
            )
        ).all()
        missing = [row.id for row in rows if row.external_id not in present]
        if max_fraction is not None and rows and len(missing) > max_fraction * len(rows):
            raise MassDeleteRefused(
                f"the full resync read {len(present):,} records but the store holds {len(rows):,} live contacts: "
                f"deleting the {len(missing):,} missing ones ({len(missing) / len(rows):.0%}) is above the "
                f"{max_fraction:.0%} safety limit; check the connection, or allow it explicitly"
            )
        now = datetime.now(UTC)
        for start in range(0, len(missing), 1000):
            conn.execute(
                schema.contacts.update()
                .where(c.id.in_(missing[start : start + 1000]))
                .values(tm_delete=now, tm_update=now)
            )
    return len(missing)
