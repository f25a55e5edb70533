"""Resolving a whole header into the plan the row loop follows.

Some decisions need the header as a whole rather than one column at a time: a mapping file overrides the
automatic match, Outlook's `Title` is a job title only when nothing else is, and Google's `Phone 2 - Value` needs
the position of its `Phone 2 - Type`. They are all made once here so that the per-row work is only indexing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from connectors.csv_files.headers import SCALAR_FIELDS, Role, Split, classify
from connectors.csv_files.mapping_file import ColumnMapping
from contacts_store.records import EmailType, PhoneType


@dataclass(frozen=True, slots=True)
class ValueColumn:
    """A phone or email column. `type` None means: read the type from the cell at `type_index` of the same row."""

    index: int
    type: PhoneType | EmailType | None
    primary: bool
    type_index: int | None
    split: Split


@dataclass(slots=True)
class ColumnPlan:
    """Per-field column positions, in file order, derived once from the header."""

    roles: list[Role | None]
    scalars: dict[str, list[int]] = field(default_factory=dict)
    phones: list[ValueColumn] = field(default_factory=list)
    emails: list[ValueColumn] = field(default_factory=list)
    tags: list[int] = field(default_factory=list)
    unused_mapping_columns: list[str] = field(default_factory=list)

    @property
    def maps_anything(self) -> bool:
        return bool(self.scalars or self.phones or self.emails or self.tags)


def plan_columns(columns: list[str], mapping: ColumnMapping | None = None) -> ColumnPlan:
    """Decide what every column feeds; a column the mapping file names is never matched automatically."""
    roles: list[Role | None] = []
    named_by_mapping: set[str] = set()
    for header in columns:
        entry = mapping.lookup(header) if mapping is not None else None
        if entry is not None:
            named_by_mapping.add(entry[0])
            roles.append(entry[1])
        else:
            roles.append(classify(header))

    _settle_weak_roles(roles)
    type_columns = _google_type_columns(roles)
    typed_groups = {(role.field, role.group) for role in roles if role is not None and role.type is None}
    plan = ColumnPlan(roles)
    for index, role in enumerate(roles):
        if role is None:
            continue
        if role.field in SCALAR_FIELDS:
            plan.scalars.setdefault(role.field, []).append(index)
        elif role.field == "tags":
            plan.tags.append(index)
        elif role.field in ("phone", "email"):
            type_index = type_columns.get((f"{role.field}_type", role.group)) if role.type is None else None
            target = plan.phones if role.field == "phone" else plan.emails
            target.append(ValueColumn(index, role.type, role.primary, type_index, role.split))
        elif (role.field.removesuffix("_type"), role.group) not in typed_groups:
            roles[index] = None  # a type cell with no value cell to type
    if mapping is not None:
        plan.unused_mapping_columns = [name for name in mapping.columns if name not in named_by_mapping]
    return plan


def _settle_weak_roles(roles: list[Role | None]) -> None:
    """A weak role (Outlook's `Title`) counts only when no other column feeds its field."""
    strong = {role.field for role in roles if role is not None and not role.weak}
    for index, role in enumerate(roles):
        if role is not None and role.weak:
            roles[index] = None if role.field in strong else Role(role.field, role.type, role.primary, role.split)


def _google_type_columns(roles: list[Role | None]) -> dict[tuple[str, int | None], int]:
    found: dict[tuple[str, int | None], int] = {}
    for index, role in enumerate(roles):
        if role is not None and role.field in ("phone_type", "email_type"):
            found.setdefault((role.field, role.group), index)
    return found
