"""Changing one contact at a time: what the API's create, update and delete calls do, each in one transaction.

Every function takes the caller's connection inside a transaction and the customer id, and touches only rows of
that customer: the contact is found within the customer first, and its children are then selected by contact
id alone (which keeps SQLite on the contact-id indexes). A contact, phone number or email of another customer,
or of another contact, is `NotFound`, never a hint that it exists. Values are normalized exactly as imports
normalize them, so a number added here is found by the same lookups.

Primary rule: a contact with phone numbers has exactly one primary number (the same for emails). Marking one
primary clears the others; removing or un-marking the primary promotes the first remaining one.

An edit does not touch the import fingerprints: a later import of an unchanged source record leaves the edit in
place, and a source record that changed overwrites it (the source system stays the source of truth).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from contacts_store import schema
from contacts_store.ids import new_id
from contacts_store.normalize import DEFAULT_REGION, MAX_TAG, normalize_email, normalize_phone
from contacts_store.records import EmailType, PhoneType, Source

CONTACT_FIELDS = ("first_name", "last_name", "display_name", "company", "job_title", "notes", "external_id")
API_SYSTEM = "api"


class NotFound(LookupError):
    """The contact (or its phone number, email or tag) does not exist for this customer, or is deleted."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")
        self.what = what


class Conflict(Exception):
    """The change would break a uniqueness rule (an external id in use, a value the contact already has)."""


class InvalidValue(ValueError):
    """A value that cannot be stored: an invalid phone number or email address, an over-long tag."""


@dataclass
class PhoneInput:
    number: str
    type: PhoneType = PhoneType.OTHER
    is_primary: bool = False


@dataclass
class EmailInput:
    address: str
    type: EmailType = EmailType.WORK
    is_primary: bool = False


@dataclass
class ContactInput:
    first_name: str | None = None
    last_name: str | None = None
    display_name: str | None = None
    company: str | None = None
    job_title: str | None = None
    notes: str | None = None
    source: Source = Source.MANUAL
    external_system: str | None = None
    external_id: str | None = None
    phone_numbers: list[PhoneInput] = field(default_factory=list)
    emails: list[EmailInput] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


def _now() -> datetime:
    return datetime.now(UTC)


def create_contact(
    conn: Connection, customer_id: uuid.UUID, data: ContactInput, region: str = DEFAULT_REGION
) -> uuid.UUID:
    """Insert a contact with its children; all or nothing (the caller's transaction)."""
    for kind, items in (("phone number", data.phone_numbers), ("email", data.emails)):
        if sum(item.is_primary for item in items) > 1:
            raise InvalidValue(f"at most one {kind} can be primary")
    system = (data.external_system or API_SYSTEM) if data.external_id else data.external_system
    if data.external_id:
        _check_external_id_free(conn, customer_id, system or API_SYSTEM, data.external_id, None)
    contact_id, now = new_id(), _now()
    conn.execute(
        schema.contacts.insert().values(
            id=contact_id,
            customer_id=customer_id,
            **{name: _text(getattr(data, name)) for name in CONTACT_FIELDS},
            source=str(data.source),
            external_system=system,
            tm_create=now,
        )
    )
    for phone in data.phone_numbers:
        add_phone(conn, customer_id, contact_id, phone, region, now=now)
    for email in data.emails:
        add_email(conn, customer_id, contact_id, email, now=now)
    for tag in data.tags:
        add_tag(conn, customer_id, contact_id, tag, now=now)
    return contact_id


def update_contact(conn: Connection, customer_id: uuid.UUID, contact_id: uuid.UUID, changes: dict[str, Any]) -> None:
    """Change only the given fields (names from CONTACT_FIELDS; None or "" clears a field)."""
    row = _live_contact(conn, customer_id, contact_id)
    unknown = set(changes) - set(CONTACT_FIELDS)
    if unknown:
        raise InvalidValue(f"cannot update {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {name: _text(value) for name, value in changes.items()}
    new_external_id = values.get("external_id")
    if new_external_id and new_external_id != row.external_id:
        system = row.external_system or API_SYSTEM
        _check_external_id_free(conn, customer_id, system, new_external_id, contact_id)
        values["external_system"] = system
    _touch(conn, customer_id, contact_id, **values)


def delete_contact(conn: Connection, customer_id: uuid.UUID, contact_id: uuid.UUID) -> None:
    """Soft delete: the contact stops matching lookups; its rows stay for history."""
    _live_contact(conn, customer_id, contact_id)
    now = _now()
    _touch(conn, customer_id, contact_id, tm_delete=now, now=now)


def add_phone(
    conn: Connection,
    customer_id: uuid.UUID,
    contact_id: uuid.UUID,
    phone: PhoneInput,
    region: str = DEFAULT_REGION,
    now: datetime | None = None,
) -> uuid.UUID:
    if now is None:  # a child added on its own: the contact must be live, and it changes
        _live_contact(conn, customer_id, contact_id)
    e164, extension = _phone(phone.number, region)
    values = {"number": phone.number.strip(), "number_e164": e164, "extension": extension, "type": str(phone.type)}
    return _add_child(conn, schema.contact_phone_numbers, customer_id, contact_id, values, phone.is_primary, now)


def update_phone(
    conn: Connection,
    customer_id: uuid.UUID,
    contact_id: uuid.UUID,
    phone_id: uuid.UUID,
    number: str | None = None,
    type: PhoneType | None = None,
    is_primary: bool | None = None,
    region: str = DEFAULT_REGION,
) -> None:
    p = schema.contact_phone_numbers
    _live_contact(conn, customer_id, contact_id)
    _child(conn, p, customer_id, contact_id, phone_id, "phone number")
    values: dict[str, Any] = {}
    if number is not None:
        e164, extension = _phone(number, region)
        values.update(number=number.strip(), number_e164=e164, extension=extension)
        _refuse_twin(p, values, _siblings(conn, p, contact_id, phone_id))
    if type is not None:
        values["type"] = str(type)
    _update_child(conn, p, customer_id, contact_id, phone_id, values, is_primary)


def remove_phone(conn: Connection, customer_id: uuid.UUID, contact_id: uuid.UUID, phone_id: uuid.UUID) -> None:
    _remove_child(conn, schema.contact_phone_numbers, customer_id, contact_id, phone_id, "phone number")


def add_email(
    conn: Connection,
    customer_id: uuid.UUID,
    contact_id: uuid.UUID,
    email: EmailInput,
    now: datetime | None = None,
) -> uuid.UUID:
    if now is None:
        _live_contact(conn, customer_id, contact_id)
    values = {"address": _email(email.address), "type": str(email.type)}
    return _add_child(conn, schema.contact_emails, customer_id, contact_id, values, email.is_primary, now)


def update_email(
    conn: Connection,
    customer_id: uuid.UUID,
    contact_id: uuid.UUID,
    email_id: uuid.UUID,
    address: str | None = None,
    type: EmailType | None = None,
    is_primary: bool | None = None,
) -> None:
    e = schema.contact_emails
    _live_contact(conn, customer_id, contact_id)
    _child(conn, e, customer_id, contact_id, email_id, "email")
    values: dict[str, Any] = {}
    if address is not None:
        values["address"] = _email(address)
        _refuse_twin(e, values, _siblings(conn, e, contact_id, email_id))
    if type is not None:
        values["type"] = str(type)
    _update_child(conn, e, customer_id, contact_id, email_id, values, is_primary)


def remove_email(conn: Connection, customer_id: uuid.UUID, contact_id: uuid.UUID, email_id: uuid.UUID) -> None:
    _remove_child(conn, schema.contact_emails, customer_id, contact_id, email_id, "email")


def add_tag(
    conn: Connection, customer_id: uuid.UUID, contact_id: uuid.UUID, tag: str, now: datetime | None = None
) -> None:
    """Adding a tag the contact already has changes nothing (tags are a set)."""
    t = schema.contact_tags
    if now is None:
        _live_contact(conn, customer_id, contact_id)
    label = tag.strip()
    if not label or len(label) > MAX_TAG:
        raise InvalidValue(f"a tag is 1 to {MAX_TAG} characters long")
    existing = list(conn.execute(sa.select(t.c.tag, t.c.position).where(t.c.contact_id == contact_id)))
    if any(row.tag == label for row in existing):
        return
    conn.execute(
        t.insert().values(
            contact_id=contact_id,
            tag=label,
            customer_id=customer_id,
            position=_next_position(existing),
            tm_create=now or _now(),
        )
    )
    if now is None:
        _touch(conn, customer_id, contact_id)


def remove_tag(conn: Connection, customer_id: uuid.UUID, contact_id: uuid.UUID, tag: str) -> None:
    t = schema.contact_tags
    _live_contact(conn, customer_id, contact_id)
    removed = conn.execute(
        t.delete().where(t.c.customer_id == customer_id, t.c.contact_id == contact_id, t.c.tag == tag.strip())
    ).rowcount
    if not removed:
        raise NotFound("tag")
    _touch(conn, customer_id, contact_id)


# -- helpers ------------------------------------------------------------------------------------------------------


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _phone(number: str, region: str) -> tuple[str, str | None]:
    result = normalize_phone(number, region)
    if result.e164 is None:
        raise InvalidValue(f"{number.strip()!r} is not a valid phone number: {result.error}")
    return result.e164, result.extension


def _email(address: str) -> str:
    result = normalize_email(address)
    if result.address is None:
        raise InvalidValue(f"{address.strip()!r} is not a valid email address: {result.error}")
    return result.address


def _live_contact(conn: Connection, customer_id: uuid.UUID, contact_id: uuid.UUID) -> Any:
    c = schema.contacts
    row = conn.execute(
        sa.select(c.c.id, c.c.external_system, c.c.external_id).where(
            c.c.customer_id == customer_id, c.c.id == contact_id, c.c.tm_delete.is_(None)
        )
    ).first()
    if row is None:
        raise NotFound("contact")
    return row


def _check_external_id_free(
    conn: Connection, customer_id: uuid.UUID, system: str, external_id: str, own_id: uuid.UUID | None
) -> None:
    c = schema.contacts
    holder = conn.execute(
        sa.select(c.c.id).where(
            c.c.customer_id == customer_id,
            c.c.external_system == system,
            c.c.external_id == external_id.strip(),
            c.c.tm_delete.is_(None),
        )
    ).scalar()
    if holder is not None and holder != own_id:
        raise Conflict(f"external_id {external_id.strip()!r} is already used by another contact of system {system!r}")


def _touch(
    conn: Connection, customer_id: uuid.UUID, contact_id: uuid.UUID, now: datetime | None = None, **values: Any
) -> None:
    c = schema.contacts
    conn.execute(
        c.update().where(c.c.customer_id == customer_id, c.c.id == contact_id).values(tm_update=now or _now(), **values)
    )


def _children(conn: Connection, table: sa.Table, contact_id: uuid.UUID) -> list[Any]:
    return list(conn.execute(sa.select(table).where(table.c.contact_id == contact_id)).all())


def _child(
    conn: Connection, table: sa.Table, customer_id: uuid.UUID, contact_id: uuid.UUID, child_id: uuid.UUID, what: str
) -> Any:
    row = conn.execute(
        sa.select(table).where(
            table.c.customer_id == customer_id, table.c.contact_id == contact_id, table.c.id == child_id
        )
    ).first()
    if row is None:
        raise NotFound(what)
    return row


# What makes two children of one contact the same: the number (with its extension), or the address.
_IDENTITY = {
    "contact_phone_numbers": ("the phone number", ("number_e164", "extension")),
    "contact_emails": ("the email", ("address",)),
}


def _refuse_twin(table: sa.Table, values: dict[str, Any], rows: list[Any]) -> None:
    """Conflict when `values` would duplicate one of `rows` (an absent extension equals an empty one)."""
    label, columns = _IDENTITY[table.name]
    key = tuple(values.get(column) or "" for column in columns)
    if any(tuple(getattr(row, column) or "" for column in columns) == key for row in rows):
        raise Conflict(f"the contact already has {label} {values[columns[0]]}")


def _siblings(conn: Connection, table: sa.Table, contact_id: uuid.UUID, child_id: uuid.UUID) -> list[Any]:
    return [row for row in _children(conn, table, contact_id) if row.id != child_id]


def _add_child(
    conn: Connection,
    table: sa.Table,
    customer_id: uuid.UUID,
    contact_id: uuid.UUID,
    values: dict[str, Any],
    is_primary: bool,
    now: datetime | None,
) -> uuid.UUID:
    """Insert a phone number or email; the first child is primary whatever was asked."""
    existing = _children(conn, table, contact_id)
    _refuse_twin(table, values, existing)
    if is_primary:
        _clear_primary(conn, table, contact_id)
    child_id = new_id()
    conn.execute(
        table.insert().values(
            id=child_id,
            customer_id=customer_id,
            contact_id=contact_id,
            **values,
            is_primary=is_primary or not existing,
            position=_next_position(existing),
            tm_create=now or _now(),
        )
    )
    if now is None:
        _touch(conn, customer_id, contact_id)
    return child_id


def _next_position(existing: list[Any]) -> int:
    return max((row.position for row in existing), default=-1) + 1


def _clear_primary(conn: Connection, table: sa.Table, contact_id: uuid.UUID) -> None:
    conn.execute(
        table.update().where(table.c.contact_id == contact_id, table.c.is_primary.is_(True)).values(is_primary=False)
    )


def _ensure_primary(conn: Connection, table: sa.Table, contact_id: uuid.UUID) -> None:
    """If the contact has children but none is primary, the first by position becomes primary."""
    rows = conn.execute(
        sa.select(table.c.id, table.c.is_primary)
        .where(table.c.contact_id == contact_id)
        .order_by(table.c.position, table.c.tm_create, table.c.id)
    ).all()
    if rows and not any(row.is_primary for row in rows):
        conn.execute(table.update().where(table.c.id == rows[0].id).values(is_primary=True))


def _update_child(
    conn: Connection,
    table: sa.Table,
    customer_id: uuid.UUID,
    contact_id: uuid.UUID,
    child_id: uuid.UUID,
    values: dict[str, Any],
    is_primary: bool | None,
) -> None:
    if is_primary:
        _clear_primary(conn, table, contact_id)
    if is_primary is not None:
        values["is_primary"] = is_primary
    if values:
        conn.execute(table.update().where(table.c.id == child_id, table.c.customer_id == customer_id).values(**values))
    _ensure_primary(conn, table, contact_id)
    _touch(conn, customer_id, contact_id)


def _remove_child(
    conn: Connection, table: sa.Table, customer_id: uuid.UUID, contact_id: uuid.UUID, child_id: uuid.UUID, what: str
) -> None:
    _live_contact(conn, customer_id, contact_id)
    _child(conn, table, customer_id, contact_id, child_id, what)
    conn.execute(table.delete().where(table.c.id == child_id, table.c.customer_id == customer_id))
    _ensure_primary(conn, table, contact_id)
    _touch(conn, customer_id, contact_id)
