"""The lookup hot path: a contact document in two round trips on the driver's own connection.

An incoming call waits for this. Through SQLAlchemy Core the same answer took five statements and about a
millisecond of Python per request, mostly building and wrapping statements; here the SQL is written once per
dialect and run on the DBAPI cursor: one statement finds the contact row (by id, phone or email, in the store's
documented order), one fetches its phone numbers, emails and tags together. The document is the same as
`contacts.contact_document` builds (a test compares the two on both databases).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection

from contacts_store.contacts import lookup_email_key, lookup_phone_key
from contacts_store.normalize import DEFAULT_REGION

_NAMED = re.compile(r":(\w+)")
_CONTACT_COLUMNS = (
    "c.id, c.customer_id, c.first_name, c.last_name, c.display_name, c.company, c.job_title, c.notes, c.source, "
    "c.external_system, c.external_id, c.tm_create, c.tm_update, c.tm_delete"
)
_BY_ID = f"SELECT {_CONTACT_COLUMNS} FROM contacts c WHERE c.customer_id = :customer AND c.id = :key"
_LIVE = " AND c.tm_delete IS NULL"
_BY_PHONE = (
    f"SELECT {_CONTACT_COLUMNS} FROM contact_phone_numbers k JOIN contacts c ON c.id = k.contact_id "
    "WHERE k.customer_id = :customer AND k.number_e164 = :key AND c.customer_id = :customer AND c.tm_delete IS NULL "
    "ORDER BY k.is_primary DESC, c.tm_create, c.id LIMIT 1"
)
_BY_EMAIL = _BY_PHONE.replace("contact_phone_numbers", "contact_emails").replace("k.number_e164", "k.address")
# Children by contact id alone: the contact row was already found within the customer, and a condition on
# `customer_id` here would tempt SQLite into the (customer_id, number) index and a scan of the whole customer.
_CHILDREN = (
    "SELECT 0, id, number, number_e164, extension, type, is_primary, position, tm_create "
    "FROM contact_phone_numbers WHERE contact_id = :contact "
    "UNION ALL SELECT 1, id, address, NULL, NULL, type, is_primary, position, tm_create "
    "FROM contact_emails WHERE contact_id = :contact "
    "UNION ALL SELECT 2, NULL, tag, NULL, NULL, NULL, NULL, position, tm_create "
    "FROM contact_tags WHERE contact_id = :contact"
)


class _Dialect:
    """Placeholders and value forms of one driver: sqlite3 stores UUIDs as 32 hex digits and timestamps as text,
    psycopg hands back `uuid.UUID` and `datetime`."""

    def __init__(self, name: str) -> None:
        self.sqlite = name == "sqlite"
        mark = "?" if self.sqlite else "%s"
        self.sql = {
            key: _positional(text, mark)
            for key, text in (
                ("id", _BY_ID),
                ("live_id", _BY_ID + _LIVE),
                ("phone", _BY_PHONE),
                ("email", _BY_EMAIL),
                ("children", _CHILDREN),
            )
        }

    def param(self, value: uuid.UUID) -> Any:
        return value.hex if self.sqlite else value

    def uuid_text(self, value: Any) -> str:
        if isinstance(value, str):
            return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
        return str(value)

    def time_text(self, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLAlchemy's SQLite form: "YYYY-MM-DD HH:MM:SS.ffffff", always UTC
            return value.replace(" ", "T") + "Z"
        stamp: datetime = value if value.tzinfo else value.replace(tzinfo=UTC)
        return stamp.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _positional(text: str, mark: str) -> tuple[str, tuple[str, ...]]:
    """`:name` placeholders to the driver's positional ones, with the names in binding order."""
    return _NAMED.sub(mark, text), tuple(_NAMED.findall(text))


_DIALECTS: dict[str, _Dialect] = {}


def _dialect(conn: Connection) -> _Dialect:
    name = conn.dialect.name
    if name not in _DIALECTS:
        _DIALECTS[name] = _Dialect(name)
    return _DIALECTS[name]


def contact_by_id(
    conn: Connection, customer_id: uuid.UUID, contact_id: uuid.UUID, include_deleted: bool = False
) -> dict[str, Any] | None:
    return _document(conn, "id" if include_deleted else "live_id", customer_id, _dialect(conn).param(contact_id))


def contact_by_phone(
    conn: Connection, customer_id: uuid.UUID, phone: str, region: str = DEFAULT_REGION
) -> dict[str, Any] | None:
    return _document(conn, "phone", customer_id, lookup_phone_key(phone, region))


def contact_by_email(conn: Connection, customer_id: uuid.UUID, email: str) -> dict[str, Any] | None:
    return _document(conn, "email", customer_id, lookup_email_key(email))


def _document(conn: Connection, query: str, customer_id: uuid.UUID, key: Any) -> dict[str, Any] | None:
    dialect = _dialect(conn)
    customer = dialect.param(customer_id)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        sql, names = dialect.sql[query]
        cursor.execute(sql, [customer if name == "customer" else key for name in names])
        row = cursor.fetchone()
        if row is None:
            return None
        sql, names = dialect.sql["children"]
        cursor.execute(sql, [customer if name == "customer" else row[0] for name in names])
        children = cursor.fetchall()
    finally:
        cursor.close()
    return _build(dialect, row, children)


def _build(dialect: _Dialect, row: Any, children: list[Any]) -> dict[str, Any]:
    contact_id, customer = dialect.uuid_text(row[0]), dialect.uuid_text(row[1])
    # Same order as contacts.documents: primary first, then position, creation and id; tags by position.
    phones = sorted((c for c in children if c[0] == 0), key=lambda c: (not c[6], c[7], str(c[8]), str(c[1])))
    emails = sorted((c for c in children if c[0] == 1), key=lambda c: (not c[6], c[7], str(c[8]), str(c[1])))
    tags = sorted((c for c in children if c[0] == 2), key=lambda c: (c[7], str(c[8]), c[2]))
    return {
        "id": contact_id,
        "customer_id": customer,
        "first_name": row[2] or "",
        "last_name": row[3] or "",
        "display_name": row[4] or "",
        "company": row[5] or "",
        "job_title": row[6] or "",
        "notes": row[7] or "",
        "source": row[8],
        "external_system": row[9] or "",
        "external_id": row[10] or "",
        "phone_numbers": [
            {
                "id": dialect.uuid_text(p[1]),
                "customer_id": customer,
                "contact_id": contact_id,
                "number": p[2],
                "number_e164": p[3],
                "extension": p[4] or "",
                "type": p[5],
                "is_primary": bool(p[6]),
                "tm_create": dialect.time_text(p[8]),
            }
            for p in phones
        ],
        "emails": [
            {
                "id": dialect.uuid_text(e[1]),
                "customer_id": customer,
                "contact_id": contact_id,
                "address": e[2],
                "type": e[5],
                "is_primary": bool(e[6]),
                "tm_create": dialect.time_text(e[8]),
            }
            for e in emails
        ],
        "tags": [t[2] for t in tags],
        "tm_create": dialect.time_text(row[11]),
        "tm_update": dialect.time_text(row[12]),
        "tm_delete": dialect.time_text(row[13]),
    }
