"""Read a Zoho CRM organisation's contacts as pages of `SourceContact`s, each with the cursor to save once stored.

Every run lists `GET /crm/v8/Contacts` by `Modified_Time` ascending: a first (or `--full`) run from the beginning,
later runs with `If-Modified-Since` (inclusive) set to the saved stamp minus a lookback, which covers late commits
and clock skew; the re-read records cost no write. Zoho serves the first 2,000 records of a listing by `page`, the
rest by `page_token`, up to 100,000; past that (or when a token expires) the listing starts again from the last
stamp read. Each page's cursor is the stamp of its last record, so a failed run resumes where it stopped; page
tokens are never saved (they expire and belong to one user).

Deletes come from `GET /crm/v8/Contacts/deleted` (recycle bin and permanent), from where the previous run's
deleted pass stopped, after the listing; a contact read in this run with a stamp newer than its deletion was
restored and stays.

Zoho pages are offsets into a live ordering: a record changed or deleted behind the read position moves out of it,
and the record at the next page boundary is skipped. A run therefore watches for records it read that changed
(read again with a newer stamp) or were deleted while it listed, and re-reads the tail from the page boundary
after the change (located by each answer's `Date`, within a margin; from the record's old stamp without one).

Cursor (JSON, saved in `sync_cursors`):
    {"stamp": ISO | None, "deleted_from": ISO, "complete": bool, "upper": ISO, "mode": "full" | "incremental"}
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from connectors.errors import SourceError
from connectors.source_base import SourceBase, utc_now
from connectors.zoho.client import PagingRestart, ZohoClient, ZohoPage
from connectors.zoho.mapping import FieldMap, check_field_count, parse_stamp, to_contact, to_deletion
from contacts_store.ingest_model import Page
from contacts_store.records import Reject, SourceContact
from contacts_store.sync_state import Cursor

log = logging.getLogger(__name__)

SYSTEM = "zoho"
MAX_PAGE = 200
DISCRETE_LIMIT = 2_000  # records a listing serves by `page`; page tokens beyond
TOKEN_LIMIT = 100_000  # records a listing serves with page tokens

Fetch = Callable[[int | None, str | None], ZohoPage]


@dataclass(frozen=True)
class ZohoSyncSettings:
    lookback_seconds: float = 300.0
    page_size: int = MAX_PAGE
    # Records one listing reads before it starts again from its last stamp.
    query_limit: int = TOKEN_LIMIT
    # Tail re-reads after a listing that records changed under, and how far before a change a page may have been
    # served and still be affected (Zoho's `Date` and `Modified_Time` come from different machines).
    settle_passes: int = 2
    settle_margin_seconds: float = 10.0
    field_map: FieldMap = field(default_factory=FieldMap.build)


@dataclass
class _Listing:
    """What one listing read: per page, when Zoho served it and the stamp reached before it; the last stamp."""

    floor: datetime | None
    pages: list[tuple[datetime | None, datetime | None]] = field(default_factory=list)
    last: datetime | None = None
    events: list[tuple[datetime, datetime]] = field(default_factory=list)  # (stamp read before, changed at)

    @property
    def position(self) -> datetime | None:
        return self.last if self.last is not None else self.floor


def iso(moment: datetime) -> str:
    return moment.isoformat()


class ZohoSource(SourceBase[ZohoClient, ZohoSyncSettings]):
    """Reads one organisation's contacts since a cursor (see `SourceBase` for `stopped` and `full_pass`)."""

    system = SYSTEM
    mode = "incremental"

    def __init__(
        self,
        client: ZohoClient,
        settings: ZohoSyncSettings | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(client, settings or ZohoSyncSettings(), clock)
        check_field_count(self.settings.field_map)
        self.tail_passes = 0
        self._stamps: dict[str, datetime] = {}  # id -> the newest stamp read in this run
        self._max_seen: datetime | None = None
        self._previous: datetime | None = None
        self._deleted_from: datetime | None = None
        self._upper: datetime | None = None
        self._deleted_asked: datetime | None = None

    @property
    def _size(self) -> int:
        return max(1, min(MAX_PAGE, self.settings.page_size))

    def _pages(self, cursor: Cursor, full: bool) -> Iterator[Page]:
        upper = self.clock().replace(microsecond=0)
        lookback = timedelta(seconds=self.settings.lookback_seconds)
        self._upper = upper
        self._previous = _stamp_of(cursor, "stamp") if not full else None
        self._deleted_from = _stamp_of(cursor, "deleted_from") or upper - lookback
        since = self._previous - lookback if self._previous is not None else None
        self.mode = "incremental" if since is not None else "full"
        listing = yield from self._list(since, self._previous)
        events = yield from self._deletions(self._deleted_from)
        events += listing.events
        for _ in range(self.settings.settle_passes):
            start = self._tail_start(listing, events)
            if start is None:
                break
            self.tail_passes += 1
            log.info("contacts changed behind the listing's position: reading again from %s", iso(start))
            listing = yield from self._list(start, start)
            events = listing.events
        else:
            if self._tail_start(listing, events) is not None:
                log.warning(
                    "contacts kept changing behind the listing; one may have been skipped until it changes again "
                    "or the next full resync"
                )
        self.full_pass = since is None
        # Deletions are next asked for from when this run asked, on Zoho's clock when its answer said (skew).
        asked = min(upper, self._deleted_asked) if self._deleted_asked is not None else upper
        yield Page([], self._cursor(self._final_stamp(), asked - lookback, complete=True))

    # -- reading ---------------------------------------------------------------------------------------------

    def _paged(self, fetch: Fetch) -> Iterator[ZohoPage]:
        """The pages of one listing: by `page` while under 2,000 records, then by `page_token`."""
        page_no, token = 1, None
        while True:
            answer = fetch(page_no if token is None else None, token)
            yield answer
            if not answer.more:
                return
            if not answer.records:
                raise SourceError("Zoho returned an empty page that claims more records")
            if token is not None or (page_no + 1) * self._size > DISCRETE_LIMIT:
                if not answer.next_token:
                    raise SourceError("Zoho claims more records past the first 2,000 but sent no next_page_token")
                token = answer.next_token
            page_no += 1

    def _list(self, since: datetime | None, floor: datetime | None) -> Generator[Page, None, _Listing]:
        """Every record changed at or after `since` (everything with None), restarting the listing from its last
        stamp when Zoho will not page it further."""
        listing = _Listing(floor)
        query_since = since
        fields = self.settings.field_map.fields
        while True:
            read = 0
            restart = False

            def fetch(page: int | None, token: str | None, since: datetime | None = query_since) -> ZohoPage:
                return self.client.list_contacts(
                    fields=fields, per_page=self._size, page=page, page_token=token, since=since
                )

            try:
                for answer in self._paged(fetch):
                    listing.pages.append((answer.served_at, listing.position))
                    contacts = [self._contact(record, listing) for record in answer.records]
                    read += len(contacts)
                    yield Page(list(contacts), self._cursor(listing.position, self._deleted_from, complete=False))
                    if answer.more and read + self._size > self.settings.query_limit:
                        restart = True
                        break
            except PagingRestart as stop:
                log.info("%s: listing again from the last stamp read", stop)
                restart = True
            if not restart:
                return listing
            if listing.last is None or (query_since is not None and listing.last <= query_since):
                raise SourceError(
                    f"Zoho cannot page past {read} contacts modified at the same second "
                    f"({iso(listing.last) if listing.last else 'unknown'}); no listing can reach the rest"
                )
            log.info("%d contacts read in one listing: starting a new one from %s", read, iso(listing.last))
            query_since = listing.last

    def _contact(self, record: dict[str, object], listing: _Listing) -> SourceContact:
        self._row += 1
        contact = to_contact(record, self.settings.field_map, self._row)
        stamp = contact.updated_at
        assert stamp is not None and contact.external_id is not None  # to_contact always sets them
        before = self._stamps.get(contact.external_id)
        if before is not None and stamp > before:
            listing.events.append((before, stamp))  # changed after it was read: it moved behind the position
        self._stamps[contact.external_id] = stamp
        if listing.last is None or stamp > listing.last:
            listing.last = stamp
        if self._max_seen is None or stamp > self._max_seen:
            self._max_seen = stamp
        return contact

    def _deletions(self, since: datetime) -> Generator[Page, None, list[tuple[datetime, datetime]]]:
        """The contacts deleted since `since`, except those read in this run with a newer stamp (restored)."""
        events: list[tuple[datetime, datetime]] = []

        def fetch(page: int | None, token: str | None) -> ZohoPage:
            return self.client.deleted_contacts(per_page=self._size, page=page, page_token=token, since=since)

        for answer in self._paged(fetch):
            if self._deleted_asked is None:
                self._deleted_asked = answer.served_at
            items: list[SourceContact | Reject] = []
            for entry in answer.records:
                self._row += 1
                deletion = to_deletion(entry, self._row)
                assert deletion.external_id is not None and deletion.updated_at is not None
                read = self._stamps.get(deletion.external_id)
                if read is not None:
                    if read > deletion.updated_at:
                        continue
                    events.append((read, deletion.updated_at))
                items.append(deletion)
            yield Page(items, self._cursor(self._final_stamp(), since, complete=False))
        return events

    # -- settling --------------------------------------------------------------------------------------------

    def _tail_start(self, listing: _Listing, events: list[tuple[datetime, datetime]]) -> datetime | None:
        """Where to read again so the record skipped after each change is read: the stamp before the first page
        served after the change (no earlier than the changed record's old stamp)."""
        margin = timedelta(seconds=self.settings.settle_margin_seconds)
        dated = all(served is not None for served, _ in listing.pages)
        starts: list[datetime] = []
        for read_at, changed_at in events:
            if not dated:
                starts.append(read_at)
                continue
            after = [before for served, before in listing.pages if served is not None and served >= changed_at - margin]
            if not after:
                continue  # changed after the listing's last page: nothing was skipped
            starts.append(max(after[0], read_at) if after[0] is not None else read_at)
        return min(starts) if starts else None

    # -- cursor ----------------------------------------------------------------------------------------------

    def _final_stamp(self) -> datetime | None:
        """min(newest stamp read, run start): a contact changed during the run is read again by the next one."""
        assert self._upper is not None
        newest = max((s for s in (self._max_seen, self._previous) if s is not None), default=None)
        return min(newest, self._upper) if newest is not None else None

    def _cursor(self, stamp: datetime | None, deleted_from: datetime | None, complete: bool) -> Cursor:
        assert self._upper is not None
        if stamp is not None:
            stamp = min(stamp, self._upper)
        return {
            "stamp": iso(stamp) if stamp is not None else None,
            "deleted_from": iso(deleted_from) if deleted_from is not None else None,
            "complete": complete,
            "upper": iso(self._upper),
            "mode": self.mode,
        }


def _stamp_of(cursor: Cursor, key: str) -> datetime | None:
    value = cursor.get(key)
    return parse_stamp(value, f"the saved cursor's {key}") if isinstance(value, str) and value else None
