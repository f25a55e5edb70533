"""What every CRM source shares: its client, settings and clock, the request count, and a clean stop on quota."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Generic, Protocol, TypeVar

from connectors.errors import QuotaExhausted
from contacts_store.ingest_model import Page
from contacts_store.sync_state import Cursor

log = logging.getLogger(__name__)


class CountingClient(Protocol):
    @property
    def requests_sent(self) -> int: ...

    def close(self) -> None: ...


ClientT = TypeVar("ClientT", bound=CountingClient)
SettingsT = TypeVar("SettingsT")


def utc_now() -> datetime:
    return datetime.now(UTC)


class SourceBase(Generic[ClientT, SettingsT]):
    """After `pages()` is exhausted, `stopped` holds the reason when the run ended early on the CRM's API quota, and
    `full_pass` tells whether every record of the account was read in this run. Subclasses write `_pages`."""

    system = ""
    mode = ""

    def __init__(self, client: ClientT, settings: SettingsT, clock: Callable[[], datetime] = utc_now) -> None:
        self.client = client
        self.settings = settings
        self.clock = clock
        self.stopped: str | None = None
        self.full_pass = False
        self._row = 0

    @property
    def requests(self) -> int:
        return self.client.requests_sent

    def pages(self, cursor: Cursor | None, *, full: bool = False) -> Iterator[Page]:
        try:
            yield from self._pages(cursor or {}, full)
        except QuotaExhausted as stop:
            self.stopped = str(stop)
            log.info("stopping: %s; the next run resumes from the saved cursor", stop)

    def _pages(self, cursor: Cursor, full: bool) -> Iterator[Page]:
        raise NotImplementedError
