"""One sync run of any CRM source into the store: the function behind `contact-sync sync` and the Dagster assets.

A source yields `Page`s (records plus the cursor reached after them); the store's ingest path writes each page and
its cursor in one transaction. A source that runs out of API quota ends its pages early and says so in `stopped`:
the run is then reported as stopped, with everything read so far stored, and the next run resumes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from connectors.errors import SyncError
from connectors.prefetch import prefetched
from contacts_store.ingest import Ingestor, ProgressSink, set_run_status
from contacts_store.ingest_model import IngestOptions, IngestReport, Page
from contacts_store.records import Source
from contacts_store.resync import MassDeleteRefused, delete_missing
from contacts_store.sync_state import Cursor, CursorKey, read_cursor


class CrmSource(Protocol):
    system: str
    stopped: str | None
    full_pass: bool
    mode: str

    @property
    def requests(self) -> int: ...

    def pages(self, cursor: Cursor | None, *, full: bool = False) -> Iterator[Page]: ...


@dataclass
class SyncOptions:
    customer_id: uuid.UUID
    region: str = "US"
    full: bool = False
    connection: str = ""
    workers: int | None = None
    # A full resync refuses to delete more than this share of the live contacts (None: no limit).
    max_delete_fraction: float | None = 0.5


@dataclass
class SyncResult(IngestReport):
    system: str
    status: str  # "complete" or "stopped"
    cursor_before: Cursor | None
    cursor: Cursor | None
    requests: int
    mode: str
    full: bool
    deleted_missing: int = 0
    message: str | None = None

    def details(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "status": self.status,
            "message": self.message,
            "mode": self.mode,
            "full": self.full,
            "deleted_missing": self.deleted_missing,
            "requests": self.requests,
            "cursor_before": self.cursor_before,
            "cursor": self.cursor,
        }


class MassDeleteError(SyncError):
    """A full resync stored its records but refused to delete the contacts it did not see."""


def sync(
    engine: Engine, source: CrmSource, options: SyncOptions, on_progress: ProgressSink | None = None
) -> SyncResult:
    key = CursorKey(options.customer_id, source.system, options.connection)
    before = read_cursor(engine, key)
    seen: set[str] = set()

    def pages() -> Iterator[Page]:
        for page in prefetched(source.pages(before, full=options.full)):
            if options.full:
                seen.update(item.external_id for item in page.items if item.external_id)
            yield page

    ingest_options = IngestOptions(
        customer_id=options.customer_id,
        external_system=source.system,
        source=Source.SYNC,
        region=options.region,
        kind="sync",
        origin=options.connection or None,
        workers=options.workers,
        cursor_key=key,
    )
    with Ingestor(engine, ingest_options, on_progress=on_progress) as ingestor:
        ingested = ingestor.run(pages())
    result = SyncResult(
        ingest=ingested,
        system=source.system,
        status="stopped" if source.stopped else "complete",
        cursor_before=before,
        cursor=read_cursor(engine, key),
        requests=source.requests,
        mode=source.mode,
        full=options.full,
        message=source.stopped,
    )
    if source.stopped:
        set_run_status(engine, ingested.run_id, "stopped", source.stopped)
    elif options.full and source.full_pass:
        try:
            result.deleted_missing = delete_missing(
                engine, options.customer_id, source.system, seen, options.max_delete_fraction
            )
        except MassDeleteRefused as refused:
            set_run_status(engine, ingested.run_id, "failed", str(refused))
            raise MassDeleteError(str(refused)) from None
    return result
