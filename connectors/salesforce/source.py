"""Salesforce Contacts as pages of `SourceContact`, each with the cursor to save once it is stored.

The query runs through `queryAll` (so the recycle bin and merged-away rows come back as deletions) on
`SystemModstamp >= cursor - lookback` and `< sync start`, ordered by `SystemModstamp, Id`: every page ends at a
point the next run can restart from, ties across page boundaries cannot be skipped, and a record that commits late
with an older stamp is still read by the next run as long as it lands inside the lookback window. Re-read records
are unchanged and cost no write.

A first or `--full` sync whose first page reports (`totalSize`) more contacts than `bulk_threshold` switches to a
Bulk API 2.0 `queryAll` job: a handful of requests instead of one per 2,000 records. Bulk results come unordered,
so its progress is the job and result locator; an interrupted run resumes the same job.

Cursor (JSON, saved in `sync_cursors`):
  {"stamp": ISO | None, "id": str | None, "complete": bool, "upper": ISO, "mode": "rest" | "bulk",
   "bulk": {"job", "locator", "max_stamp", "full"} (only while a bulk job is being read)}
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from simple_salesforce.api import Salesforce
from simple_salesforce.bulk2 import Operation

from connectors.errors import QueryTimeout, QuotaExhausted, SourceError
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.mapping import FieldMap, flatten_csv, flatten_rest, parse_stamp, to_contact
from connectors.source_base import SourceBase, utc_now
from contacts_store.ingest_model import Page
from contacts_store.records import SourceContact
from contacts_store.sync_state import Cursor

log = logging.getLogger(__name__)

MAX_PAGE_SIZE = 2000
# Before any Salesforce record: the lower bound of a first sync's window when it has to be split.
ORG_EPOCH = datetime(1999, 1, 1, tzinfo=UTC)
MIN_WINDOW = timedelta(minutes=1)
SYSTEM = "salesforce"


@dataclass(frozen=True)
class SalesforceSyncSettings:
    lookback_seconds: float = 300.0
    page_size: int = MAX_PAGE_SIZE
    # A first or full sync of more contacts than this switches to Bulk API 2.0 (None: never).
    bulk_threshold: int | None = 50_000
    bulk_page_size: int = 50_000
    bulk_poll_seconds: float = 2.0
    # Stop cleanly once the org has used this share of its daily API requests (other integrations need some).
    max_api_usage: float = 0.9
    field_map: FieldMap = field(default_factory=FieldMap.build)


def soql_datetime(moment: datetime) -> str:
    """A SOQL datetime literal (whole seconds, UTC)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SalesforceSource(SourceBase[SalesforceClient, SalesforceSyncSettings]):
    """Reads one org's contacts since a cursor (see `SourceBase` for `stopped` and `full_pass`)."""

    system = SYSTEM
    mode = "rest"

    def __init__(
        self,
        client: SalesforceClient,
        settings: SalesforceSyncSettings | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(client, settings or SalesforceSyncSettings(), clock)

    def _pages(self, cursor: Cursor, full: bool) -> Iterator[Page]:
        # Whole seconds: SOQL literals have no fraction, and a sub-second upper bound would be rounded anyway.
        upper = self.clock().astimezone(UTC).replace(microsecond=0)
        stamp = _stamp_of(cursor)
        bulk = cursor.get("bulk")
        if isinstance(bulk, dict) and not full:
            resumed = yield from self._resume_bulk(bulk, cursor)
            if resumed:
                return
        if full or stamp is None:
            too_large = yield from self._rest(None, upper, previous=stamp, bulk_above=self.settings.bulk_threshold)
            if too_large:
                yield from self._bulk(upper, previous=stamp, full=full or stamp is None)
            else:
                self.full_pass = True
            return
        lower = stamp - timedelta(seconds=self.settings.lookback_seconds)
        yield from self._rest(lower, upper, previous=stamp)

    # -- REST ------------------------------------------------------------------------------------------------

    def _soql(self, where: list[str], ordered: bool) -> str:
        soql = f"SELECT {', '.join(self.settings.field_map.fields)} FROM Contact"
        if where:
            soql += " WHERE " + " AND ".join(where)
        return soql + (" ORDER BY SystemModstamp ASC, Id ASC" if ordered else "")

    def _rest(
        self, lower: datetime | None, upper: datetime, previous: datetime | None, bulk_above: int | None = None
    ) -> Generator[Page, None, bool]:
        """Page through `[lower, upper)`; True (before yielding anything) when it matches more than `bulk_above`
        records, which a Bulk API 2.0 job reads in far fewer requests.

        A query Salesforce gives up on (`QUERY_TIMEOUT`, a busy org or a wide first window) is split into two
        halves read one after the other: windows stay in stamp order, so each page's cursor stays valid.
        """
        windows: list[tuple[datetime | None, datetime]] = [(lower, upper)]
        last: tuple[datetime | None, str | None] = (previous, None)
        first = True
        while windows:
            low, high = windows.pop(0)
            try:
                result, headers = self._query(low, high)
            except QueryTimeout:
                windows[:0] = _halves(low, high)
                log.info("query timed out; reading %s..%s in two halves", low, high)
                continue
            total = result.get("totalSize") if isinstance(result, dict) else None
            if first and bulk_above is not None and isinstance(total, int) and total > bulk_above:
                log.info("%d contacts to read: switching to Bulk API 2.0", total)
                return True
            first = False
            last = yield from self._read_query(result, headers, last, upper, final=not windows)
        return False

    def _query(self, lower: datetime | None, upper: datetime) -> tuple[Any, dict[str, str]]:
        where = [f"SystemModstamp < {soql_datetime(upper)}"]
        if lower is not None:
            # Floor to the second: the literal has no fraction, and reading a little more is harmless.
            where.insert(0, f"SystemModstamp >= {soql_datetime(lower)}")
        soql = self._soql(where, ordered=True)
        page_size = max(200, min(MAX_PAGE_SIZE, self.settings.page_size))
        headers = {"Sforce-Query-Options": f"batchSize={page_size}"} if page_size < MAX_PAGE_SIZE else {}
        return self.client.call(lambda sf: sf.query(soql, include_deleted=True, headers=headers), "the query"), headers

    def _read_query(
        self,
        result: Any,
        headers: dict[str, str],
        last: tuple[datetime | None, str | None],
        upper: datetime,
        final: bool,
    ) -> Generator[Page, None, tuple[datetime | None, str | None]]:
        """Yield one query's pages, each with the cursor after it; the last page of the `final` window completes."""
        last_stamp, last_id = last
        while True:
            records = _records_of(result)
            contacts = [self._contact(flatten_rest(record)) for record in records]
            if contacts:
                last_stamp, last_id = contacts[-1].updated_at, contacts[-1].external_id
            done = result.get("done") is True
            next_url = result.get("nextRecordsUrl")
            if not done and not isinstance(next_url, str):
                raise SourceError("Salesforce returned an unfinished query page without nextRecordsUrl")
            yield Page(list(contacts), _cursor(last_stamp or upper, last_id, upper, complete=done and final))
            if done:
                return last_stamp, last_id
            self._check_quota()
            result = self.client.call(
                partial(_query_more, url=str(next_url), headers=headers),
                "the next query page",
            )

    # -- Bulk API 2.0 ----------------------------------------------------------------------------------------

    def _bulk(self, upper: datetime, previous: datetime | None, full: bool) -> Iterator[Page]:
        soql = self._soql([f"SystemModstamp < {soql_datetime(upper)}"], ordered=False)
        job = self.client.call(lambda sf: self.client.bulk().create_job(Operation.query_all, soql), "a bulk job")
        job_id = job.get("id") if isinstance(job, dict) else None
        if not isinstance(job_id, str):
            raise SourceError("Salesforce returned a bulk job without an id")
        progress = {"job": job_id, "locator": "", "max_stamp": None, "full": full, "upper": iso(upper)}
        yield from self._read_bulk(progress, previous)

    def _resume_bulk(self, progress: dict[str, Any], cursor: Cursor) -> Generator[Page, None, bool]:
        """Go on reading an interrupted run's bulk job; False when it is gone and the sync must start over."""
        job_id = str(progress.get("job"))
        try:
            self.client.call(lambda sf: self.client.bulk().get_job(job_id, True), "the bulk job")
        except SourceError as error:
            log.warning("cannot resume bulk job %s (%s); starting again", job_id, error)
            return False
        log.info("resuming bulk job %s at locator %r", job_id, progress.get("locator"))
        yield from self._read_bulk(dict(progress), _stamp_of(cursor), resumed=True)
        return True

    def _read_bulk(self, progress: dict[str, Any], previous: datetime | None, resumed: bool = False) -> Iterator[Page]:
        self.mode = "bulk"
        client = self.client
        job_id = str(progress["job"])
        wait = self.settings.bulk_poll_seconds
        client.call(lambda sf: client.bulk().wait_for_job(job_id, True, wait), "the bulk job")
        upper = parse_stamp(str(progress["upper"]))
        max_stamp = parse_stamp(progress["max_stamp"]) if progress.get("max_stamp") else None
        while True:
            locator = str(progress.get("locator") or "")
            result = client.call(
                partial(_bulk_results, client, job_id, locator, self.settings.bulk_page_size),
                "the bulk results",
            )
            contacts = [self._contact(flatten_csv(row)) for row in _csv_rows(result.get("records"))]
            for contact in contacts:
                if contact.updated_at is not None and (max_stamp is None or contact.updated_at > max_stamp):
                    max_stamp = contact.updated_at
            next_locator = str(result.get("locator") or "")
            if next_locator:
                progress = {**progress, "locator": next_locator, "max_stamp": max_stamp and iso(max_stamp)}
                cursor = {**_cursor(previous, None, upper, complete=False), "mode": "bulk", "bulk": progress}
            else:
                self.full_pass = bool(progress.get("full")) and not resumed
                cursor = {**_cursor(max_stamp or previous or upper, None, upper, complete=True), "mode": "bulk"}
            yield from self._split(contacts, cursor)
            if not next_locator:
                return
            self._check_quota()

    def _split(self, contacts: list[SourceContact], cursor: Cursor) -> Iterator[Page]:
        """A bulk result page in ingest-sized batches; only the last one carries the cursor."""
        size = MAX_PAGE_SIZE
        for start in range(0, max(len(contacts), 1), size):
            last = start + size >= len(contacts)
            yield Page(list(contacts[start : start + size]), cursor if last else None)

    # -- helpers ---------------------------------------------------------------------------------------------

    def _contact(self, flat: dict[str, str | None]) -> SourceContact:
        self._row += 1
        return to_contact(flat, self.settings.field_map, self._row)

    def _check_quota(self) -> None:
        usage = self.client.api_usage()
        if usage is not None and usage.fraction >= self.settings.max_api_usage:
            raise QuotaExhausted(
                f"the org has used {usage.used:,} of its {usage.limit:,} daily API requests "
                f"(the sync stops at {self.settings.max_api_usage:.0%})"
            )


def _halves(lower: datetime | None, upper: datetime) -> list[tuple[datetime | None, datetime]]:
    """Two consecutive halves of a window; a window already narrower than a minute cannot be helped."""
    start = lower or ORG_EPOCH
    if upper - start <= MIN_WINDOW:
        raise SourceError(
            f"Salesforce timed out (QUERY_TIMEOUT) even on the window {iso(start)} to {iso(upper)}; try again later"
        )
    middle = (start + (upper - start) / 2).replace(microsecond=0)
    return [(lower, middle), (middle, upper)]


def _query_more(sf: Salesforce, url: str, headers: dict[str, str]) -> Any:
    return sf.query_more(url, identifier_is_url=True, headers=headers)


def _bulk_results(client: SalesforceClient, job_id: str, locator: str, size: int, _sf: Salesforce) -> Any:
    return client.bulk().get_query_results(job_id, locator, size)


def _stamp_of(cursor: Cursor) -> datetime | None:
    value = cursor.get("stamp")
    return parse_stamp(value) if isinstance(value, str) and value else None


def _cursor(stamp: datetime | None, record_id: str | None, upper: datetime, complete: bool) -> Cursor:
    return {
        "stamp": iso(stamp) if stamp is not None else None,
        "id": record_id,
        "upper": iso(upper),
        "complete": complete,
        "mode": "rest",
    }


def _records_of(result: Any) -> list[dict[str, Any]]:
    records = result.get("records") if isinstance(result, dict) else None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise SourceError("Salesforce returned a query page without a records list")
    return records


def _csv_rows(text: Any) -> Iterator[dict[str, str | None]]:
    if not isinstance(text, str):
        raise SourceError("Salesforce returned bulk results that are not CSV text")
    reader = csv.DictReader(io.StringIO(text))
    for row in reader:
        if None in row:
            raise SourceError("Salesforce returned a bulk result row with more cells than columns")
        yield dict(row)
