"""Salesforce Contact fields to `SourceContact`.

A REST record (nested relationship objects, JSON booleans) and a Bulk 2.0 CSV row (dotted column names, text
booleans, empty strings for nulls) are first flattened to the same `{field: text | None}` form, so both paths map
through one function and produce identical records and fingerprints.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from connectors.errors import ConfigurationError, SourceError
from contacts_store.records import EmailType, PhoneType, RawEmail, RawPhone, SourceContact

# Fields every sync reads, whatever the mapping says: identity, deletion, merge and the cursor.
SYSTEM_FIELDS = ("Id", "IsDeleted", "MasterRecordId", "SystemModstamp")

NAME_TARGETS = ("first_name", "last_name", "display_name", "company", "job_title", "notes")

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

# A field or one parent-relationship hop (Account.Name), as SOQL spells them; nothing else reaches a query.
_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?$")

Flat = dict[str, str | None]


@dataclass(frozen=True)
class FieldMap:
    """Which Salesforce field fills which contact field; phones and emails keep the map's order."""

    targets: tuple[tuple[str, str], ...]

    @classmethod
    def build(cls, extra: Mapping[str, str | None] | None = None) -> FieldMap:
        """The defaults with `extra` applied: a field mapped to a target is added or re-targeted, to "" or None
        dropped. Targets: first_name, last_name, display_name, company, job_title, notes, tag,
        phone:<mobile|work|home|fax|other>, email:<work|personal|other>."""
        merged: dict[str, str] = dict(DEFAULT_FIELD_MAP)
        for field, target in (extra or {}).items():
            name = field.strip()
            if not _FIELD_NAME.match(name):
                raise ConfigurationError(f"{field!r} is not a Salesforce field name (e.g. Department, Account.Name)")
            if name in SYSTEM_FIELDS:
                raise ConfigurationError(f"{name} is read by every sync and cannot be mapped")
            if not target:
                merged.pop(name, None)
                continue
            merged[name] = _check_target(name, target.strip().lower())
        return cls(tuple(merged.items()))

    @cached_property
    def plan(self) -> tuple[tuple[str, str, PhoneType | EmailType | None], ...]:
        """The targets parsed once: (field, kind, phone or email type)."""
        steps: list[tuple[str, str, PhoneType | EmailType | None]] = []
        for field, target in self.targets:
            kind, _, subtype = target.partition(":")
            typed: PhoneType | EmailType | None = None
            if kind == "phone":
                typed = PhoneType(subtype)
            elif kind == "email":
                typed = EmailType(subtype)
            steps.append((field, kind, typed))
        return tuple(steps)

    @property
    def fields(self) -> list[str]:
        """The SOQL select list: the mapped fields, then the system fields."""
        return [field for field, _ in self.targets] + [f for f in SYSTEM_FIELDS if f not in dict(self.targets)]


def parse_field_specs(specs: Iterable[str]) -> dict[str, str | None]:
    """`Field=target` pairs from the command line or a connections file; `Field=` drops a default."""
    mapping: dict[str, str | None] = {}
    for spec in specs:
        field, sep, target = spec.partition("=")
        if not sep:
            raise ConfigurationError(f"field mapping {spec!r} must look like Field=target (e.g. Department=notes)")
        mapping[field.strip()] = target.strip() or None
    return mapping


def _check_target(field: str, target: str) -> str:
    kind, _, subtype = target.partition(":")
    valid = (
        (kind in NAME_TARGETS and not subtype)
        or (kind == "tag" and not subtype)
        or (kind == "phone" and subtype in PhoneType._value2member_map_)
        or (kind == "email" and subtype in EmailType._value2member_map_)
    )
    if not valid:
        raise ConfigurationError(
            f"{field}={target}: the target must be one of {', '.join(NAME_TARGETS)}, tag, "
            "phone:<mobile|work|home|fax|other> or email:<work|personal|other>"
        )
    return target


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
        if kind == "phone":
            contact.phones.append(RawPhone(value, subtype))  # type: ignore[arg-type]
        elif kind == "email":
            contact.emails.append(RawEmail(value, subtype))  # type: ignore[arg-type]
        elif kind == "tag":
            contact.tags.append(value)
        elif kind == "notes" and contact.notes:
            contact.notes = f"{contact.notes}\n{value}"
        else:
            setattr(contact, kind, value)
    return contact
