"""Which CRM field fills which contact field: the part of every connector's mapping that is not CRM-specific.

A map starts from the connector's defaults; `extra` (the command line's `--field F=target`, a connection's
`fields:`) adds or re-targets a field, or drops one with an empty target. Field names are checked against the CRM's
naming rule before they can reach a query.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar, Self

from connectors.errors import ConfigurationError
from contacts_store.records import EmailType, PhoneType, RawEmail, RawPhone, SourceContact

NAME_TARGETS = ("first_name", "last_name", "display_name", "company", "job_title", "notes")

Step = tuple[str, str, PhoneType | EmailType | None]


@dataclass(frozen=True)
class FieldRules:
    """A CRM's naming rule for fields, the fields every sync reads itself, and how to name them in messages."""

    pattern: re.Pattern[str]
    reserved: tuple[str, ...]
    what: str  # e.g. "a Salesforce field name (e.g. Department, Account.Name)"


@dataclass(frozen=True)
class FieldMap:
    """Field -> target pairs; phones and emails keep the map's order. A connector subclasses it with its
    `DEFAULTS` and `RULES`."""

    DEFAULTS: ClassVar[Mapping[str, str]] = {}
    RULES: ClassVar[FieldRules]

    targets: tuple[tuple[str, str], ...]

    @classmethod
    def build(cls, extra: Mapping[str, str | None] | None = None) -> Self:
        """The defaults with `extra` applied. Targets: first_name, last_name, display_name, company, job_title,
        notes, tag, phone:<mobile|work|home|fax|other>, email:<work|personal|other>."""
        rules = cls.RULES
        merged: dict[str, str] = dict(cls.DEFAULTS)
        for field, target in (extra or {}).items():
            name = field.strip()
            if not rules.pattern.match(name):
                raise ConfigurationError(f"{field!r} is not {rules.what}")
            if name in rules.reserved:
                raise ConfigurationError(f"{name} is read by every sync and cannot be mapped")
            if not target:
                merged.pop(name, None)
                continue
            merged[name] = check_target(name, target.strip().lower())
        return cls(tuple(merged.items()))

    @cached_property
    def plan(self) -> tuple[Step, ...]:
        """The targets parsed once: (field, kind, phone or email type)."""
        steps: list[Step] = []
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
    def names(self) -> list[str]:
        """What to request: the mapped fields, then the reserved ones the map does not name."""
        mapped = [field for field, _ in self.targets]
        return mapped + [f for f in self.RULES.reserved if f not in mapped]


def parse_field_specs(specs: Iterable[str]) -> dict[str, str | None]:
    """`field=target` pairs from the command line or a connections file; `field=` drops a default."""
    mapping: dict[str, str | None] = {}
    for spec in specs:
        field, sep, target = spec.partition("=")
        if not sep:
            raise ConfigurationError(f"field mapping {spec!r} must look like field=target (e.g. Department=notes)")
        mapping[field.strip()] = target.strip() or None
    return mapping


def check_target(field: str, target: str) -> str:
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


def put(
    contact: SourceContact, kind: str, subtype: PhoneType | EmailType | None, values: Sequence[str], primary: bool
) -> None:
    """One mapped field's values (several for a list or a multi-value field) into the contact: phones and emails
    appended in order, tags added, notes appended on a new line, name fields set (several values joined)."""
    if kind == "email":
        contact.emails.extend(RawEmail(value, subtype, primary) for value in values)  # type: ignore[arg-type]
    elif kind == "phone":
        contact.phones.extend(RawPhone(value, subtype) for value in values)  # type: ignore[arg-type]
    elif kind == "tag":
        contact.tags.extend(values)
    elif kind == "notes" and contact.notes:
        contact.notes = f"{contact.notes}\n{'; '.join(values)}"
    else:
        setattr(contact, kind, "; ".join(values))
