"""HubSpot contact properties to `SourceContact`.

HubSpot writes every property as a string or null (an emptied property may come back as ""), names the primary
email `email` and keeps the secondary ones `;`-separated in `hs_additional_emails`. A record is first reduced to a
`HubSpotRecord` (id, properties, archived, updatedAt), so list and search answers map through one function.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from connectors.errors import SourceError
from connectors.field_map import FieldMap as BaseFieldMap
from connectors.field_map import FieldRules, put
from connectors.field_map import parse_field_specs as parse_field_specs
from contacts_store.records import SourceContact

# Properties every sync reads, whatever the mapping says: identity and the cursor.
SYSTEM_PROPERTIES = ("hs_object_id", "lastmodifieddate")

DEFAULT_FIELD_MAP: dict[str, str] = {
    "firstname": "first_name",
    "lastname": "last_name",
    "company": "company",
    "jobtitle": "job_title",
    "email": "email:work",
    "hs_additional_emails": "email:other",
    "phone": "phone:work",
    "mobilephone": "phone:mobile",
    "fax": "phone:fax",
}

# Properties holding several values, `;`-separated (HubSpot's multi-value convention).
MULTI_VALUE = frozenset({"hs_additional_emails"})
# HubSpot names this one the contact's primary email; the store makes it primary even when it is not first.
PRIMARY = frozenset({"email"})


@dataclass(frozen=True)
class FieldMap(BaseFieldMap):
    """Which HubSpot property fills which contact field."""

    DEFAULTS: ClassVar[Mapping[str, str]] = DEFAULT_FIELD_MAP
    # Internal property names: they reach a query string and a search body, so nothing else is accepted.
    RULES: ClassVar[FieldRules] = FieldRules(
        re.compile(r"^[a-z0-9_]+$"),
        SYSTEM_PROPERTIES,
        "a HubSpot property name (its internal name: lower-case letters, digits and _, e.g. hs_lead_status)",
    )

    @property
    def properties(self) -> list[str]:
        """The properties to request: the mapped ones, then the system ones."""
        return self.names


@dataclass(frozen=True, slots=True)
class HubSpotRecord:
    """One contact as the API gave it, reduced to what the mapping reads."""

    id: str
    properties: Mapping[str, str | None]
    archived: bool = False
    updated_at: datetime | None = None

    @classmethod
    def from_api(cls, obj: Any) -> HubSpotRecord:
        """From the SDK's `SimplePublicObject(WithAssociations)`; anything else is a malformed answer."""
        record_id = getattr(obj, "id", None)
        properties = getattr(obj, "properties", None)
        if not isinstance(record_id, str) or not record_id:
            raise SourceError("HubSpot returned a contact without an id")
        if not isinstance(properties, dict):
            raise SourceError(f"HubSpot returned contact {record_id} without properties")
        updated = getattr(obj, "updated_at", None)
        return cls(
            id=record_id,
            properties=properties,
            archived=getattr(obj, "archived", None) is True,
            updated_at=updated if isinstance(updated, datetime) else None,
        )


def parse_stamp(value: str | None) -> datetime:
    """A HubSpot datetime (`2024-01-01T00:00:00.000Z`, or epoch milliseconds) as an aware UTC datetime."""
    if not value:
        raise SourceError("HubSpot returned a contact without lastmodifieddate")
    text = value.strip()
    try:
        if text.isdigit():
            return datetime.fromtimestamp(int(text) / 1000, UTC)
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except (ValueError, OverflowError):
        raise SourceError(f"HubSpot returned an unreadable lastmodifieddate {value!r}") from None


def stamp_of(record: HubSpotRecord) -> datetime:
    """`lastmodifieddate`, else the object's `updatedAt` (the same instant, but not every answer has the property)."""
    value = record.properties.get("lastmodifieddate")
    if value:
        return parse_stamp(value)
    if record.updated_at is not None:
        moment = record.updated_at
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    raise SourceError(f"HubSpot returned contact {record.id} without lastmodifieddate or updatedAt")


def to_contact(record: HubSpotRecord, field_map: FieldMap, row_number: int) -> SourceContact:
    """One contact; an archived one (HubSpot's delete) is a deletion.

    Order decides which phone the store makes primary (the map's order: phone before mobilephone); `email` is
    marked primary because HubSpot says it is.
    """
    props = record.properties
    contact = SourceContact(
        external_id=record.id,
        updated_at=stamp_of(record),
        deleted=record.archived,
        row_number=row_number,
        raw={key: value for key, value in props.items() if value is not None},
    )
    for prop, kind, subtype in field_map.plan:
        value = props.get(prop)
        if not value or value.isspace():
            continue
        if kind == "email":
            parts = value.split(";") if prop in MULTI_VALUE else [value]
            put(contact, kind, subtype, [part.strip() for part in parts if part.strip()], prop in PRIMARY)
        else:
            put(contact, kind, subtype, [value], primary=False)
    return contact
