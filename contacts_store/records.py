"""Record types that travel through the ingest path.

A connector produces `SourceContact` (raw, as the source gave it); normalization turns each one into either a
`NormalizedContact` or a row-level `Reject`. They are plain slotted dataclasses so that batches pickle cheaply
to worker processes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple


class PhoneType(enum.StrEnum):
    MOBILE = "mobile"
    WORK = "work"
    HOME = "home"
    FAX = "fax"
    OTHER = "other"


class EmailType(enum.StrEnum):
    WORK = "work"
    PERSONAL = "personal"
    OTHER = "other"


class Source(enum.StrEnum):
    MANUAL = "manual"
    IMPORT = "import"
    API = "api"
    SYNC = "sync"


class RawPhone(NamedTuple):
    """A phone as the source gave it; `primary` marks a source that names its main number explicitly."""

    value: str
    type: PhoneType = PhoneType.OTHER
    primary: bool = False


class RawEmail(NamedTuple):
    value: str
    type: EmailType = EmailType.OTHER
    primary: bool = False


@dataclass(slots=True)
class SourceContact:
    """One record of a source, before any cleaning.

    `row_number` is the 1-based position in the source (the CSV line of the record's first physical line, or the
    record's index in a CRM page stream); `raw` keeps the source's own field names and values for reject reports.
    """

    external_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    display_name: str | None = None
    company: str | None = None
    job_title: str | None = None
    notes: str | None = None
    phones: list[RawPhone] = field(default_factory=list)
    emails: list[RawEmail] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    updated_at: datetime | None = None
    deleted: bool = False
    row_number: int | None = None
    raw: dict[str, str] | None = None


class Phone(NamedTuple):
    """A usable number. `type` is a `PhoneType` value as a plain string, so batches pickle cheaply."""

    number: str
    number_e164: str
    type: str
    is_primary: bool
    extension: str | None = None


class Email(NamedTuple):
    address: str
    type: str
    is_primary: bool


class ValueReject(NamedTuple):
    """A single unusable value inside an otherwise usable record (the record is kept without it)."""

    field: str
    value: str
    reason: str


@dataclass(slots=True)
class NormalizedContact:
    external_id: str | None
    first_name: str | None
    last_name: str | None
    display_name: str | None
    company: str | None
    job_title: str | None
    notes: str | None
    phones: list[Phone]
    emails: list[Email]
    tags: list[str]
    deleted: bool
    row_number: int | None
    source_hash: str
    content_hash: str
    value_rejects: list[ValueReject] = field(default_factory=list)
    raw: dict[str, str] | None = None

    @property
    def primary_email(self) -> str | None:
        return next((e.address for e in self.emails if e.is_primary), None)

    @property
    def primary_phone(self) -> str | None:
        return next((p.number_e164 for p in self.phones if p.is_primary), None)


@dataclass(slots=True)
class Reject:
    """Something the store could not use, kept with the reason.

    `field` is None when the whole record was rejected, or the field whose single value was dropped.
    """

    reason: str
    message: str
    row_number: int | None = None
    external_id: str | None = None
    field: str | None = None
    value: str | None = None
    raw: dict[str, str] | None = None
