"""Reading contacts: lookups by phone and email, and the contact document the API and CLI return.

Lookup order is deterministic: among live contacts holding the number (or address), the one where it is the
primary number comes first, then the oldest contact, then the smallest id. A number shared by several contacts
(a switchboard) is allowed; the lookup returns the first by that order.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from contacts_store import schema
from contacts_store.normalize import DEFAULT_REGION, normalize_email, normalize_phone


class InvalidLookupValue(ValueError):
    """The value to look up cannot be a phone number or an email address, so nothing can match it."""


def lookup_phone_key(value: str, region: str = DEFAULT_REGION) -> str:
    """The E.164 form of a phone as a caller may send it.

    A `+` that was not URL-encoded arrives as a space (`?phone= 15551234567`), so a value that starts with white
    space followed by digits is read as international.
    """
    if value[:1].isspace() and value.strip()[:1].isdigit():
        value = "+" + value.strip()
    result = normalize_phone(value, region)
    if result.e164 is None:
        raise InvalidLookupValue(f"{value.strip()!r} is not a valid phone number: {result.error}")
    return result.e164


def lookup_email_key(value: str) -> str:
    result = normalize_email(value)
    if result.address is None:
        raise InvalidLookupValue(f"{value.strip()!r} is not a valid email address: {result.error}")
    return result.address


def find_by_phone(
    conn: Connection, customer_id: uuid.UUID, phone: str, region: str = DEFAULT_REGION
) -> uuid.UUID | None:
    p, c = schema.contact_phone_numbers, schema.contacts
    query = (
        sa.select(c.c.id)
        .select_from(p.join(c, c.c.id == p.c.contact_id))
        .where(p.c.customer_id == customer_id, p.c.number_e164 == lookup_phone_key(phone, region))
        .where(c.c.customer_id == customer_id, c.c.tm_delete.is_(None))
        .order_by(p.c.is_primary.desc(), c.c.tm_create, c.c.id)
        .limit(1)
    )
    return conn.execute(query).scalar()


def find_by_email(conn: Connection, customer_id: uuid.UUID, email: str) -> uuid.UUID | None:
    e, c = schema.contact_emails, schema.contacts
    query = (
        sa.select(c.c.id)
        .select_from(e.join(c, c.c.id == e.c.contact_id))
        .where(e.c.customer_id == customer_id, e.c.address == lookup_email_key(email))
        .where(c.c.customer_id == customer_id, c.c.tm_delete.is_(None))
        .order_by(e.c.is_primary.desc(), c.c.tm_create, c.c.id)
        .limit(1)
    )
    return conn.execute(query).scalar()


def timestamp(value: datetime | None) -> str | None:
    """RFC 3339 in UTC; SQLite hands back naive datetimes, which the store always writes in UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def get_contact(
    conn: Connection, customer_id: uuid.UUID, contact_id: uuid.UUID, include_deleted: bool = False
) -> dict[str, Any] | None:
    """The contact document (as the API returns it), or None when it does not exist for this customer."""
    c = schema.contacts
    query = sa.select(c).where(c.c.customer_id == customer_id, c.c.id == contact_id)
    if not include_deleted:
        query = query.where(c.c.tm_delete.is_(None))
    row = conn.execute(query).mappings().first()
    if row is None:
        return None
    return documents(conn, [row])[0]


def documents(conn: Connection, rows: list[Any]) -> list[dict[str, Any]]:
    """Documents for contact rows (mappings), with every child loaded in one query per table for all of them.

    Children are selected by contact id alone: the rows were already found within the customer, and a
    `customer_id` condition would tempt SQLite into the (customer_id, number) index and a scan of the customer.
    """
    if not rows:
        return []
    ids = [row["id"] for row in rows]
    p, e, t = schema.contact_phone_numbers, schema.contact_emails, schema.contact_tags
    phones: dict[Any, list[Any]] = {contact_id: [] for contact_id in ids}
    emails: dict[Any, list[Any]] = {contact_id: [] for contact_id in ids}
    tags: dict[Any, list[str]] = {contact_id: [] for contact_id in ids}
    for phone in conn.execute(
        sa.select(p).where(p.c.contact_id.in_(ids)).order_by(p.c.is_primary.desc(), p.c.position, p.c.tm_create, p.c.id)
    ).mappings():
        phones[phone["contact_id"]].append(phone)
    for email in conn.execute(
        sa.select(e).where(e.c.contact_id.in_(ids)).order_by(e.c.is_primary.desc(), e.c.position, e.c.tm_create, e.c.id)
    ).mappings():
        emails[email["contact_id"]].append(email)
    for contact_id, tag in conn.execute(
        sa.select(t.c.contact_id, t.c.tag).where(t.c.contact_id.in_(ids)).order_by(t.c.position, t.c.tm_create, t.c.tag)
    ):
        tags[contact_id].append(tag)
    return [contact_document(row, phones[row["id"]], emails[row["id"]], tags[row["id"]]) for row in rows]


def contact_document(row: Any, phones: list[Any], emails: list[Any], tags: list[str]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "customer_id": str(row["customer_id"]),
        "first_name": row["first_name"] or "",
        "last_name": row["last_name"] or "",
        "display_name": row["display_name"] or "",
        "company": row["company"] or "",
        "job_title": row["job_title"] or "",
        "notes": row["notes"] or "",
        "source": row["source"],
        "external_system": row["external_system"] or "",
        "external_id": row["external_id"] or "",
        "phone_numbers": [
            {
                "id": str(p["id"]),
                "customer_id": str(p["customer_id"]),
                "contact_id": str(p["contact_id"]),
                "number": p["number"],
                "number_e164": p["number_e164"],
                "extension": p["extension"] or "",
                "type": p["type"],
                "is_primary": bool(p["is_primary"]),
                "tm_create": timestamp(p["tm_create"]),
            }
            for p in phones
        ],
        "emails": [
            {
                "id": str(e["id"]),
                "customer_id": str(e["customer_id"]),
                "contact_id": str(e["contact_id"]),
                "address": e["address"],
                "type": e["type"],
                "is_primary": bool(e["is_primary"]),
                "tm_create": timestamp(e["tm_create"]),
            }
            for e in emails
        ],
        "tags": tags,
        "tm_create": timestamp(row["tm_create"]),
        "tm_update": timestamp(row["tm_update"]),
        "tm_delete": timestamp(row["tm_delete"]),
    }


class InvalidPageToken(ValueError):
    """A page token this store did not hand out."""


@dataclass(frozen=True)
class ContactFilter:
    tag: str | None = None
    source: str | None = None
    external_id: str | None = None
    q: str | None = None


def list_contacts(
    conn: Connection, customer_id: uuid.UUID, page_size: int, page_token: str | None, where: ContactFilter
) -> tuple[list[dict[str, Any]], str]:
    """Live contacts, newest first, and the token of the next page ("" after the last one).

    The token is the last contact's (tm_create, id), so contacts created in the same instant are neither
    skipped nor repeated at a page boundary, and new contacts never shift later pages.
    """
    c, t = schema.contacts, schema.contact_tags
    query = sa.select(c).where(c.c.customer_id == customer_id, c.c.tm_delete.is_(None))
    if page_token:
        created, last_id = decode_page_token(page_token)
        query = query.where(
            sa.tuple_(c.c.tm_create, c.c.id)
            < sa.tuple_(sa.literal(created, c.c.tm_create.type), sa.literal(last_id, c.c.id.type))
        )
    if where.source:
        query = query.where(c.c.source == where.source)
    if where.external_id:
        query = query.where(c.c.external_id == where.external_id)
    if where.tag:
        query = query.where(
            sa.exists().where(t.c.customer_id == customer_id, t.c.contact_id == c.c.id, t.c.tag == where.tag)
        )
    if where.q and where.q.strip():
        pattern = "%" + where.q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            sa.or_(
                *(
                    column.ilike(pattern, escape="\\")
                    for column in (c.c.first_name, c.c.last_name, c.c.display_name, c.c.company)
                )
            )
        )
    rows = list(conn.execute(query.order_by(c.c.tm_create.desc(), c.c.id.desc()).limit(page_size + 1)).mappings())
    more = len(rows) > page_size
    rows = rows[:page_size]
    next_token = encode_page_token(rows[-1]["tm_create"], rows[-1]["id"]) if more else ""
    return documents(conn, rows), next_token


def encode_page_token(created: datetime, contact_id: uuid.UUID) -> str:
    raw = f"{timestamp(created)}|{contact_id.hex}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        created, _, contact_id = raw.partition("|")
        return datetime.fromisoformat(created.replace("Z", "+00:00")), uuid.UUID(hex=contact_id)
    except (ValueError, UnicodeDecodeError):
        raise InvalidPageToken("page_token is not a token this API returned") from None
