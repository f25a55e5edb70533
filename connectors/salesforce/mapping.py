"""Salesforce Contact fields to `SourceContact`.

A REST record (nested relationship objects, JSON booleans) and a Bulk 2.0 CSV row (dotted column names, text
booleans, empty strings for nulls) are first flattened to the same `{field: text | None}` form, so both paths map
through one function and produce identical records and fingerprints.
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

# Fields every sync reads, whatever the mapping says: identity, deletion, merge and the cursor.
SYSTEM_FIELDS = ("Id", "IsDeleted", "MasterRecordId", "SystemModstamp")

DEFAULT_FIELD_MAP: dict[str, str] = {
    "FirstName": "first_name",
    "LastName": "last_name",
    "Title": "job_title",
    "Account.Name": "company",
    "Email": "email:work",
    "Phone": "phone:work",
    "MobilePhone": "phone:mobile",
    "HomePhone": "phone:home",
    "OtherPhone": "phone:other",
    "Fax": "phone:fax",
}

Flat = dict[str, str | None]


@dataclass(frozen=True)
class FieldMap(BaseFieldMap):
    """Which Salesforce field fills which contact field."""

    DEFAULTS: ClassVar[Mapping[str, str]] = DEFAULT_FIELD_MAP
    # A field or one parent-relationship hop (Account.Name), as SOQL spells them; nothing else reaches a query.
    RULES: ClassVar[FieldRules] = FieldRules(
        re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?$"),
        SYSTEM_FIELDS,
        "a Salesforce field name (e.g. Department, Account.Name)",
    )

    @property
    def fields(self) -> list[str]:
        """The SOQL select list: the mapped fields, then the system fields."""
        return self.names


def flatten_rest(record: Mapping[str, Any]) -> Flat:
    """A REST query record as text, with `Account: {Name: x}` as `Account.Name`."""
    # Runs for every record of every sync: checks against concrete types, not ABCs. simple-salesforce decodes
    # into OrderedDicts, hence isinstance(dict) and not an exact type check.
    flat: Flat = {}
    for key, value in record.items():
        kind = type(value)
        if kind is str or value is None:
            flat[key] = value
        elif isinstance(value, dict):
            if key != "attributes":
                for sub_key, sub_value in flatten_rest(value).items():
                    flat[f"{key}.{sub_key}"] = sub_value
        elif kind is bool:
            flat[key] = "true" if value else "false"
        else:
            flat[key] = str(value)
    return flat


def flatten_csv(row: Mapping[str, str | None]) -> Flat:
    """A Bulk 2.0 CSV row: an empty cell is a null."""
    return {key: (value if value else None) for key, value in row.items()}


def parse_stamp(value: str | None) -> datetime:
    """`SystemModstamp` as an aware UTC datetime (REST: `...000+0000`, Bulk CSV: `...000Z`)."""
    if not value:
        raise SourceError("Salesforce returned a contact without SystemModstamp")
    try:
        return datetime.fromisoformat(value).astimezone(UTC)
    except ValueError:
        raise SourceError(f"Salesforce returned an unreadable SystemModstamp {value!r}") from None


def to_contact(flat: Flat, field_map: FieldMap, row_number: int) -> SourceContact:
    """One flattened Contact; a record in the recycle bin or merged into another is a deletion.

    No value is marked primary: the store makes the first usable one primary, so the map's order (Email before
    any extra email field, Phone before MobilePhone) decides.
    """
    record_id = flat.get("Id")
    if not record_id:
        raise SourceError("Salesforce returned a contact without an Id")
    contact = SourceContact(
        external_id=record_id,
        updated_at=parse_stamp(flat.get("SystemModstamp")),
        deleted=flat.get("IsDeleted") == "true" or bool(flat.get("MasterRecordId")),
        row_number=row_number,
        raw={key: value for key, value in flat.items() if value is not None},
    )
    for field, kind, subtype in field_map.plan:
        value = flat.get(field)
        if not value or value.isspace():
            continue
        put(contact, kind, subtype, [value], primary=False)
    return contact
