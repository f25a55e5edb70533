"""Zoho CRM contact records to `SourceContact`.

Zoho writes text fields as strings or null, lookups as `{"name", "id"}` objects (`Account_Name`), tags as a list of
`{"name", "id"}` objects, multi-select picklists as lists of strings, and datetimes with the organisation's offset
(`2026-05-14T11:36:18+03:00`). Mapped fields are read through `field_value`, which reduces each of those shapes to
text, so any field can be mapped to any target.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from connectors.errors import ConfigurationError, SourceError
from connectors.field_map import FieldMap as BaseFieldMap
from connectors.field_map import FieldRules, put
from connectors.field_map import parse_field_specs as parse_field_specs
from contacts_store.records import SourceContact

# Fields every sync reads, whatever the mapping says: identity comes back without asking, the cursor does not.
SYSTEM_FIELDS = ("id", "Modified_Time")
# Zoho takes at most this many names in `fields`.
MAX_FIELDS = 50

DEFAULT_FIELD_MAP: dict[str, str] = {
    "First_Name": "first_name",
    "Last_Name": "last_name",
    "Account_Name": "company",
    "Title": "job_title",
    "Email": "email:work",
    "Secondary_Email": "email:other",
    "Phone": "phone:work",
    "Mobile": "phone:mobile",
    "Home_Phone": "phone:home",
    "Other_Phone": "phone:other",
    "Fax": "phone:fax",
    "Tag": "tag",
}
# Zoho names this one the contact's primary email; the store makes it primary even when it is not first.
PRIMARY = frozenset({"Email"})


@dataclass(frozen=True)
class FieldMap(BaseFieldMap):
    """Which Zoho field (its API name) fills which contact field."""

    DEFAULTS: ClassVar[Mapping[str, str]] = DEFAULT_FIELD_MAP
    # API names reach a query string: nothing but letters, digits and _ is accepted.
    RULES: ClassVar[FieldRules] = FieldRules(
        re.compile(r"^[A-Za-z][A-Za-z0-9_]*$"),
        SYSTEM_FIELDS,
        "a Zoho field API name (letters, digits and _, e.g. Department or Lead_Source)",
    )

    @property
    def fields(self) -> list[str]:
        """The `fields` parameter: the mapped fields and Modified_Time (`id` always comes back)."""
        return [name for name in self.names if name != "id"]


def check_field_count(field_map: FieldMap) -> None:
    if len(field_map.fields) > MAX_FIELDS:
        raise ConfigurationError(
            f"Zoho reads at most {MAX_FIELDS} fields per request; the mapping names {len(field_map.fields)}"
        )


def parse_stamp(value: Any, what: str = "Modified_Time") -> datetime:
    """A Zoho datetime (any offset, or `Z`) as an aware UTC datetime."""
    if not isinstance(value, str) or not value.strip():
        raise SourceError(f"Zoho returned a record without {what}")
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise SourceError(f"Zoho returned an unreadable {what} {value!r}") from None
    if moment.tzinfo is None:  # Zoho always writes an offset; a bare time is taken as UTC rather than refused
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def field_values(value: Any) -> list[str]:
    """A field's value as text items: a lookup or tag by its name, a list item by item, null as nothing."""
    if value is None or value == "":
        return []
    if isinstance(value, dict):
        name = value.get("name")
        return [str(name)] if name not in (None, "") else []
    if isinstance(value, list):
        return [text for item in value for text in field_values(item)]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    return [str(value)]


def record_id(record: Mapping[str, Any]) -> str:
    value = record.get("id")
    if value in (None, "") or isinstance(value, (dict, list, bool)):
        raise SourceError("Zoho returned a record without an id")
    return str(value)


def to_contact(record: Mapping[str, Any], field_map: FieldMap, row_number: int) -> SourceContact:
    """One live contact. Phones keep the map's order (the first usable one becomes primary); `Email` is primary."""
    contact = SourceContact(
        external_id=record_id(record),
        updated_at=parse_stamp(record.get("Modified_Time")),
        row_number=row_number,
        raw={key: "; ".join(field_values(value)) for key, value in record.items() if field_values(value)},
    )
    for name, kind, subtype in field_map.plan:
        values = [text.strip() for text in field_values(record.get(name)) if text.strip()]
        if values:
            put(contact, kind, subtype, values, name in PRIMARY)
    return contact


def to_deletion(entry: Mapping[str, Any], row_number: int) -> SourceContact:
    """An entry of the deleted-records list (recycle bin or permanent): the contact is deleted as of then."""
    return SourceContact(
        external_id=record_id(entry),
        updated_at=parse_stamp(entry.get("deleted_time"), "deleted_time"),
        deleted=True,
        row_number=row_number,
        raw={"id": record_id(entry), "type": str(entry.get("type") or ""), "deleted": "true"},
    )
