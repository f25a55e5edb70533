"""Read a HubSpot portal's contacts as pages of `SourceContact`s, each with the cursor to save once it is stored.

A first (or `--full`) sync lists every contact (`GET /crm/v3/objects/contacts`, by id), then every archived one
(HubSpot's delete). The list is ordered by id, not by modification, so its per-page cursor is a progress marker
that lets an interrupted run go on listing where it stopped; the last page sets the incremental stamp to
min(newest lastmodifieddate seen, sync start): a contact changed while the list ran is stamped after the start and
read again by the next search.

Later syncs search `lastmodifieddate` in [cursor stamp - lookback, sync start), ascending. HubSpot search is
eventually consistent, which the lookback covers, and serves at most 10,000 results per query (paging further is an
HTTP 400). A window matching more is halved, the halves read one after the other so each page's cursor stays
valid; a single millisecond holding more (a bulk import) is read by `hs_object_id` instead, the search restarted
after the last id before its offset reaches the cap. Archiving does not touch lastmodifieddate, so every
incremental sync ends by listing the archived contacts too (those already deleted in the store cost no write);
a restored contact is stamped anew and comes back through the search.

Cursor (JSON, saved in `sync_cursors`):
  searching:  {"stamp": ISO, "id": str | None, "complete": bool, "upper": ISO, "mode": "search"}
  listing:    {"phase": "list" | "archived", "after": str | None, "max_stamp": ISO | None, "upper": ISO,
               "stamp": ISO | None (the previous run's), "id": None, "complete": False, "mode": "list"}
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.errors import SourceError
from connectors.hubspot.client import DEFAULT_SEARCH_RPS, HubSpotClient
from connectors.hubspot.mapping import FieldMap, HubSpotRecord, parse_stamp, to_contact
from connectors.source_base import SourceBase, utc_now
from contacts_store.ingest_model import Page
from contacts_store.records import SourceContact
from contacts_store.sync_state import Cursor

log = logging.getLogger(__name__)

SYSTEM = "hubspot"
MAX_LIST_PAGE = 100
MAX_SEARCH_PAGE = 200
SEARCH_RESULT_CAP = 10_000

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


@dataclass(frozen=True)
class HubSpotSyncSettings:
    lookback_seconds: float = 300.0
    page_size: int = MAX_LIST_PAGE
    search_page_size: int = MAX_SEARCH_PAGE
    # Searches per second this side allows itself (HubSpot: about 4-5 per account, shared by every app).
    search_rps: float = DEFAULT_SEARCH_RPS
    field_map: FieldMap = field(default_factory=FieldMap.build)


def to_ms(moment: datetime) -> int:
    return (moment.astimezone(UTC) - _EPOCH) // _MS


def from_ms(ms: int) -> datetime:
    return _EPOCH + ms * _MS


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class _Window:
    """Search `lastmodifieddate` in [low, high) ms by stamp, or (`by_id`) the one millisecond `low` by id, after
    `after_id`."""

    low: int
    high: int
    by_id: bool = False
    after_id: int | None = None


class HubSpotSource(SourceBase[HubSpotClient, HubSpotSyncSettings]):
    """Reads one portal's contacts since a cursor (see `SourceBase` for `stopped` and `full_pass`)."""

    system = SYSTEM
    mode = "search"

    def __init__(
        self,
        client: HubSpotClient,
        settings: HubSpotSyncSettings | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(client, settings or HubSpotSyncSettings(), clock)

    def _pages(self, cursor: Cursor, full: bool) -> Iterator[Page]:
        upper = from_ms(to_ms(self.clock()))  # HubSpot stamps have milliseconds: so does the upper bound
        previous = cursor.get("stamp") if isinstance(cursor.get("stamp"), str) else None
        if not full and cursor.get("phase") in ("list", "archived"):
            log.info("resuming the interrupted listing (%s pass)", cursor.get("phase"))
            yield from self._list_all(dict(cursor), fresh=False)
            return
        stamp = parse_stamp(previous) if previous else None
        if full or stamp is None:
            progress = {"phase": "list", "after": None, "max_stamp": None, "upper": iso(upper), "stamp": previous}
            yield from self._list_all(progress, fresh=True)
            return
        yield from self._incremental(stamp, upper)

    # -- listing ---------------------------------------------------------------------------------------------

    def _list_all(self, progress: dict[str, Any], fresh: bool) -> Iterator[Page]:
        """The live contacts, then the archived ones, each page with the progress reached after it."""
        self.mode = "list"
        upper = parse_stamp(str(progress["upper"]))
        max_stamp = parse_stamp(progress["max_stamp"]) if progress.get("max_stamp") else None
        phase = str(progress["phase"])
        after = progress.get("after") or None

        def marker(next_phase: str, next_after: str | None) -> Cursor:
            return {
                "phase": next_phase,
                "after": next_after,
                "max_stamp": max_stamp and iso(max_stamp),
                "upper": iso(upper),
                "stamp": progress.get("stamp"),
                "id": None,
                "complete": False,
                "mode": "list",
            }

        for current in ("list", "archived")[("list", "archived").index(phase) :]:
            archived = current == "archived"
            while True:
                contacts, after = self._list_page(after, archived)
                if not archived:
                    for contact in contacts:
                        if contact.updated_at is not None and (max_stamp is None or contact.updated_at > max_stamp):
                            max_stamp = contact.updated_at
                if after is not None:
                    cursor = marker(current, after)
                elif not archived:
                    cursor = marker("archived", None)
                else:
                    stamp = min(max_stamp, upper) if max_stamp is not None else upper
                    cursor = _cursor(stamp, None, upper, complete=True, mode="list")
                yield Page(list(contacts), cursor)
                if after is None:
                    break
        self.full_pass = fresh

    def _list_page(self, after: str | None, archived: bool) -> tuple[list[SourceContact], str | None]:
        size = max(1, min(MAX_LIST_PAGE, self.settings.page_size))
        properties = self.settings.field_map.properties
        page = self.client.list_page(after=after, limit=size, properties=properties, archived=archived)
        contacts = [self._contact(obj) for obj in page.results]
        next_after = _next_of(page)
        if next_after is not None and not contacts:
            # An empty page that claims more would loop forever on the same cursor.
            raise SourceError("HubSpot returned an empty contacts page with a next cursor")
        return contacts, next_after

    # -- searching -------------------------------------------------------------------------------------------

    def _incremental(self, stamp: datetime, upper: datetime) -> Iterator[Page]:
        self.mode = "search"
        lower = stamp - timedelta(seconds=self.settings.lookback_seconds)
        last: tuple[datetime, str | None] = (stamp, None)
        windows = [_Window(to_ms(lower), to_ms(upper))]
        while windows:
            window = windows.pop(0)
            if window.by_id:
                last = yield from self._read_by_id(window, last, upper)
            else:
                last = yield from self._read_window(window, windows, last, upper)
        # Archives leave lastmodifieddate alone: only the archived list shows them.
        after: str | None = None
        while True:
            contacts, after = self._list_page(after, archived=True)
            yield Page(list(contacts), _cursor(last[0], last[1], upper, complete=after is None))
            if after is None:
                return

    def _read_window(
        self, window: _Window, windows: list[_Window], last: tuple[datetime, str | None], upper: datetime
    ) -> Generator[Page, None, tuple[datetime, str | None]]:
        """Page through one time window; a window over the cap is replaced by its halves (or, one millisecond
        wide, by an id-ordered read) before anything of it is yielded."""
        groups = [
            {
                "filters": [
                    {"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(window.low)},
                    {"propertyName": "lastmodifieddate", "operator": "LT", "value": str(window.high)},
                ]
            }
        ]
        sort = {"propertyName": "lastmodifieddate", "direction": "ASCENDING"}
        offset = 0
        page = self._search(groups, sort, offset)
        total = _total_of(page)
        if total > SEARCH_RESULT_CAP:
            if window.high - window.low > 1:
                middle = window.low + (window.high - window.low) // 2
                windows[:0] = [_Window(window.low, middle), _Window(middle, window.high)]
                log.info("%d contacts changed in %s..%s: reading it in two halves", total, window.low, window.high)
            else:
                windows.insert(0, _Window(window.low, window.high, by_id=True))
                log.info("%d contacts share the stamp %s: reading them by id", total, iso(from_ms(window.low)))
            return last
        while True:
            contacts = [self._contact(obj) for obj in page.results]
            if contacts:
                last = (_stamp(contacts[-1]), contacts[-1].external_id)
            next_offset = _next_offset(page, offset, contacts)
            if next_offset is not None and next_offset >= SEARCH_RESULT_CAP:
                # The window grew past the cap while it was read: go on after the last record read, the rest of
                # its millisecond by id, then the remainder of the window by stamp.
                moment = to_ms(last[0])
                windows[:0] = [
                    _Window(moment, moment + 1, by_id=True, after_id=_int_id(last[1])),
                    _Window(moment + 1, window.high),
                ]
                next_offset = None
            yield Page(list(contacts), _cursor(last[0], last[1], upper, complete=False))
            if next_offset is None:
                return last
            offset = next_offset
            page = self._search(groups, sort, offset)

    def _read_by_id(
        self, window: _Window, last: tuple[datetime, str | None], upper: datetime
    ) -> Generator[Page, None, tuple[datetime, str | None]]:
        """Every contact stamped in the millisecond `window.low`, by id; the search restarts after the last id
        read before its offset reaches the cap, so nothing is skipped or read twice."""
        after_id = window.after_id
        offset = 0
        sort = {"propertyName": "hs_object_id", "direction": "ASCENDING"}
        while True:
            filters: list[dict[str, str]] = [
                {"propertyName": "lastmodifieddate", "operator": "EQ", "value": str(window.low)}
            ]
            if after_id is not None:
                filters.append({"propertyName": "hs_object_id", "operator": "GT", "value": str(after_id)})
            page = self._search([{"filters": filters}], sort, offset)
            contacts = [self._contact(obj) for obj in page.results]
            if contacts:
                last = (_stamp(contacts[-1]), contacts[-1].external_id)
            next_offset = _next_offset(page, offset, contacts)
            yield Page(list(contacts), _cursor(last[0], last[1], upper, complete=False))
            if next_offset is None:
                return last
            if next_offset >= SEARCH_RESULT_CAP:
                after_id, offset = _int_id(last[1]), 0
            else:
                offset = next_offset

    def _search(self, groups: list[dict[str, Any]], sort: dict[str, str], offset: int) -> Any:
        size = max(1, min(MAX_SEARCH_PAGE, self.settings.search_page_size))
        limit = min(size, SEARCH_RESULT_CAP - offset)
        return self.client.search(groups, sort, self.settings.field_map.properties, limit, offset)

    # -- helpers ---------------------------------------------------------------------------------------------

    def _contact(self, obj: Any) -> SourceContact:
        self._row += 1
        return to_contact(HubSpotRecord.from_api(obj), self.settings.field_map, self._row)


def _stamp(contact: SourceContact) -> datetime:
    assert contact.updated_at is not None  # to_contact always sets it
    return contact.updated_at


def _int_id(record_id: str | None) -> int:
    try:
        return int(str(record_id))
    except ValueError:
        raise SourceError(f"HubSpot returned a non-numeric contact id {record_id!r}") from None


def _next_of(page: Any) -> str | None:
    paging = getattr(page, "paging", None)
    next_link = getattr(paging, "next", None)
    after = getattr(next_link, "after", None)
    return str(after) if after else None


def _total_of(page: Any) -> int:
    total = getattr(page, "total", None)
    if not isinstance(total, int):
        raise SourceError("HubSpot returned a search page without a total")
    return total


def _next_offset(page: Any, offset: int, contacts: list[SourceContact]) -> int | None:
    """The offset of the next search page, None at the end. Search `after` is an offset: check it moves on."""
    after = _next_of(page)
    if after is None:
        return None
    if not contacts:
        raise SourceError("HubSpot returned an empty search page with a next offset")
    try:
        value = int(after)
    except ValueError:
        raise SourceError(f"HubSpot returned a search paging offset that is not a number: {after!r}") from None
    if value <= offset:
        raise SourceError(f"HubSpot returned a search paging offset that does not advance ({offset} -> {value})")
    return value


def _cursor(stamp: datetime, record_id: str | None, upper: datetime, complete: bool, mode: str = "search") -> Cursor:
    return {"stamp": iso(stamp), "id": record_id, "upper": iso(upper), "complete": complete, "mode": mode}
