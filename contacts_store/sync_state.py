"""Where each CRM connection's sync cursor lives.

The cursor is written by the same transaction as the batch of contacts that reached it (see `Ingestor`), so a
crash can never leave it ahead of the data: a rerun starts from what was really stored.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from contacts_store import schema

Cursor = dict[str, Any]


@dataclass(frozen=True)
class CursorKey:
    """One connection: a customer's account in one CRM."""

    customer_id: uuid.UUID
    external_system: str
    connection: str = ""

    def _where(self) -> tuple[sa.ColumnElement[bool], ...]:
        c = schema.sync_cursors.c
        return (
            c.customer_id == self.customer_id,
            c.external_system == self.external_system,
            c.connection == self.connection,
        )


def load_cursor(conn: Connection, key: CursorKey) -> Cursor | None:
    row = conn.execute(sa.select(schema.sync_cursors.c.cursor).where(*key._where())).first()
    return dict(row.cursor) if row is not None else None


def read_cursor(engine: Engine, key: CursorKey) -> Cursor | None:
    with engine.connect() as conn:
        return load_cursor(conn, key)


def save_cursor(conn: Connection, key: CursorKey, cursor: Cursor) -> None:
    """Replace the connection's cursor inside the caller's transaction."""
    now = datetime.now(UTC)
    updated = conn.execute(schema.sync_cursors.update().where(*key._where()).values(cursor=cursor, tm_update=now))
    if updated.rowcount == 0:
        conn.execute(
            schema.sync_cursors.insert().values(
                customer_id=key.customer_id,
                external_system=key.external_system,
                connection=key.connection,
                cursor=cursor,
                tm_update=now,
            )
        )


def reset_cursor(engine: Engine, key: CursorKey) -> bool:
    with engine.begin() as conn:
        return bool(conn.execute(schema.sync_cursors.delete().where(*key._where())).rowcount)
