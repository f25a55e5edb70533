"""What an ingest run is told (options) and what it reports (counts, result)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from contacts_store.normalize import DEFAULT_REGION
from contacts_store.records import Reject, Source, SourceContact
from contacts_store.sync_state import Cursor, CursorKey


@dataclass
class IngestOptions:
    customer_id: uuid.UUID
    external_system: str
    source: Source = Source.IMPORT
    region: str = DEFAULT_REGION
    kind: str = "import"
    origin: str | None = None
    # None: decide by input size (a pool only once a second batch arrives); 0: normalize in this process.
    workers: int | None = None
    # Into an empty store, build the random-key secondary indexes after the load (see schema).
    bulk_load: bool = True
    # Where a `Page`'s cursor is saved, in the transaction that writes the page.
    cursor_key: CursorKey | None = None


@dataclass(slots=True)
class Page:
    """A batch from a CRM source, with the cursor to save once the batch is stored (None: keep the last one)."""

    items: list[SourceContact | Reject]
    cursor: Cursor | None = None


@dataclass
class IngestCounts:
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    rejected: int = 0
    values_rejected: int = 0
    writes: int = 0

    def add(self, other: IngestCounts) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


@dataclass
class IngestResult(IngestCounts):
    run_id: str = ""
    seconds: float = 0.0
    reject_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.read / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        data["rows_per_second"] = round(self.rows_per_second, 1)
        return data


@dataclass
class IngestReport:
    """What a run reports: its ingest result (whose counts read straight through) plus the caller's details."""

    ingest: IngestResult

    def __getattr__(self, name: str) -> Any:
        # read, inserted, seconds... come straight from the ingest result.
        return getattr(self.ingest, name)

    def details(self) -> dict[str, Any]:
        return {}

    def to_dict(self) -> dict[str, Any]:
        data = self.ingest.to_dict()
        data.update(self.details())
        return data
