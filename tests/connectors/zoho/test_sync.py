"""Zoho sync end to end: fake accounts server and CRM API over HTTP -> requests -> connector -> store (SQLite and
PostgreSQL).

Every scenario ends by comparing the store with the organisation: a perfect sync holds exactly its live contacts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.errors import AuthenticationError, SourceError
from connectors.zoho.client import ZohoClient
from connectors.zoho.mapping import parse_stamp
from tests.connectors.zoho.conftest import FAST_RETRY, Org, after_page
from tests.fakes.server import LoggedRequest

LIST_PATH = "/crm/v8/Contacts"
DELETED_PATH = "/crm/v8/Contacts/deleted"
TOKEN_PATH = "/oauth/v2/token"

# The connector's paging is what these test; writing thousands of contacts is the store's part, covered on both
# databases elsewhere. So they run on SQLite only.
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def logged(org: Org, path: str, since: int = 0) -> list[LoggedRequest]:
    return [r for r in org.fake.requests[since:] if r.path == path]


def stamp_of(org: Org, record_id: str) -> datetime:
    return parse_stamp(org.fake.get(record_id)["Modified_Time"])


def test_first_sync_lists_every_contact_by_modification_time(org: Org) -> None:
    ids = org.fake.generate(450, step=timedelta(seconds=10))
    org.later(minutes=1)
    result = org.sync()
    assert result.status == "complete" and result.mode == "full"
    assert (result.read, result.inserted) == (450, 450)
    org.assert_converged()
    pages = logged(org, LIST_PATH)
    assert [r.params.get("page") for r in pages] == [["1"], ["2"], ["3"]]
    first = pages[0].params
    assert first["per_page"] == ["200"] and first["sort_by"] == ["Modified_Time"] and first["sort_order"] == ["asc"]
    fields = first["fields"][0].split(",")
    assert {"First_Name", "Account_Name", "Home_Phone", "Tag", "Modified_Time"} <= set(fields) and "id" not in fields
    assert all("if-modified-since" not in r.headers for r in pages)
    assert all(r.headers["authorization"].startswith("Zoho-oauthtoken ") for r in pages)
    # One token for the whole run; deletions asked for since shortly before the run.
    assert org.fake.token_requests == 1 and result.requests == 1 + 3 + 1
    (deleted,) = logged(org, DELETED_PATH)
    assert deleted.params["type"] == ["all"] and "if-modified-since" in deleted.headers
    cursor = org.cursor()
    assert cursor is not None and cursor["complete"] is True
    assert parse_stamp(cursor["stamp"]) == stamp_of(org, ids[-1])
    record = org.fake.get(ids[7])
    stored = org.contacts()[ids[7]]
    assert (stored["first_name"], stored["last_name"]) == (record.get("First_Name"), record.get("Last_Name"))


def test_incremental_sync_follows_inserts_updates_and_deletes(org: Org) -> None:
    ids = org.fake.generate(20, step=timedelta(seconds=30))
    org.later(minutes=1)
    org.sync()
    org.assert_converged()

    org.later(hours=1)
    new = org.fake.add(First_Name="Nia", Last_Name="New", Email="nia@example.com", Phone="+1 415 555 0100")
    org.fake.update(ids[0], First_Name="Renamed", Mobile="(212) 555-0199", Secondary_Email="b@y.org")
    org.fake.delete(ids[1])
    org.fake.purge(ids[2])
    org.later(minutes=1)
    since = len(org.fake.requests)
    result = org.sync()
    assert result.mode == "incremental"
    assert (result.inserted, result.updated, result.deleted) == (1, 1, 2)
    stored = org.contacts()
    assert stored[new]["emails"] == ["nia@example.com"] and stored[new]["phones"] == ["+14155550100"]
    assert stored[ids[0]]["first_name"] == "Renamed" and "+12125550199" in stored[ids[0]]["phones"]
    assert "b@y.org" in stored[ids[0]]["emails"]
    assert stored[ids[1]]["deleted"] and stored[ids[2]]["deleted"]
    (listing,) = logged(org, LIST_PATH, since)
    before = parse_stamp(org.cursor()["stamp"])  # type: ignore[index]
    assert before == stamp_of(org, ids[0])
    assert "if-modified-since" in listing.headers
    org.assert_converged()

    org.later(hours=1)
    org.fake.restore(ids[1])
    org.later(minutes=1)
    result = org.sync()
    assert result.updated == 1 and org.contacts()[ids[1]]["deleted"] is False
    org.assert_converged()

    # Nothing changed: the lookback re-reads a few records, the deleted list answers 304; no write.
    org.later(hours=1)
    result = org.sync()
    assert result.inserted == result.updated == result.deleted == result.writes == 0
    org.assert_converged()


def test_if_modified_since_is_the_cursor_minus_the_lookback(org: Org) -> None:
    org.fake.generate(5, step=timedelta(minutes=1))
    org.later(minutes=1)
    org.sync()
    stamp = parse_stamp(org.cursor()["stamp"])  # type: ignore[index]
    org.later(hours=1)
    since = len(org.fake.requests)
    org.sync(source=org.source(lookback_seconds=120))
    (listing,) = logged(org, LIST_PATH, since)
    sent = datetime.fromisoformat(listing.headers["if-modified-since"])
    assert sent.utcoffset() is not None and sent == stamp - timedelta(seconds=120)


def test_nothing_new_is_a_304_and_an_empty_org_a_204(org: Org) -> None:
    result = org.sync()
    assert result.status == "complete" and result.read == 0
    assert [r.status for r in logged(org, LIST_PATH)] == [204]
    ids = org.fake.generate(3, step=timedelta(seconds=1))
    org.later(minutes=1)
    org.sync()
    org.fake.delete(ids[-1])  # the newest: no contact is stamped at or after the cursor any more
    org.later(hours=2)
    since = len(org.fake.requests)
    result = org.sync(source=org.source(lookback_seconds=0))
    assert (result.read, result.deleted) == (1, 1)
    assert [(r.path, r.status) for r in org.fake.requests[since:] if r.path.startswith("/crm/")] == [
        (LIST_PATH, 304),
        (DELETED_PATH, 200),
    ]
    org.later(hours=1)
    since = len(org.fake.requests)
    result = org.sync(source=org.source(lookback_seconds=0))
    assert result.read == 0 and result.writes == 0
    assert [r.status for r in org.fake.requests[since:] if r.path.startswith("/crm/")] == [304, 304]
    org.assert_converged()


def test_a_record_stamped_exactly_at_the_cursor_is_read(org: Org) -> None:
    ids = org.fake.generate(5, step=timedelta(seconds=5))
    org.later(minutes=1)
    org.sync()
    stamp = parse_stamp(org.cursor()["stamp"])  # type: ignore[index]
    tie = org.fake.add(Last_Name="Tie", Email="tie@example.com", stamp=stamp)
    org.fake.update(ids[-1], Title="Changed", stamp=stamp)  # an edit landing in the same second
    org.later(minutes=1)
    result = org.sync(source=org.source(lookback_seconds=0))
    assert result.inserted == 1 and result.updated == 1 and tie in org.live_ids()
    assert org.contacts()[ids[-1]]["job_title"] == "Changed"
    org.assert_converged()


@SQLITE_ONLY
@pytest.mark.parametrize("page_size", [200, 150])
def test_past_2000_records_the_listing_switches_to_page_tokens(org: Org, page_size: int) -> None:
    ids = org.fake.generate(2_600, step=timedelta(seconds=1))
    org.later(minutes=1)
    result = org.sync(source=org.source(page_size=page_size))
    assert result.status == "complete" and result.inserted == 2_600
    pages = logged(org, LIST_PATH)
    by_page = [r for r in pages if "page" in r.params]
    by_token = [r for r in pages if "page_token" in r.params]
    assert len(by_page) == 2_000 // page_size and by_page[-1].params["page"] == [str(2_000 // page_size)]
    assert len(by_token) == -(-(2_600 - len(by_page) * page_size) // page_size)
    assert all(r.status == 200 for r in pages)
    assert parse_stamp(org.cursor()["stamp"]) == stamp_of(org, ids[-1])  # type: ignore[index]
    org.assert_converged()


@SQLITE_ONLY
@pytest.mark.parametrize("how", ["zoho_limit", "our_limit", "expired_token"])
def test_a_listing_zoho_will_not_page_further_starts_again_from_its_last_stamp(org: Org, how: str) -> None:
    org.fake.generate(2_600, step=timedelta(seconds=1))
    org.later(minutes=1)
    source = org.source()
    if how == "zoho_limit":
        org.fake.page_token_limit = 2_200  # Zoho answers LIMIT_REACHED past this
    elif how == "our_limit":
        source = org.source(query_limit=2_200)  # the connector starts a new listing before asking
    else:
        after_page(source, 11, lambda: org.fake.advance(timedelta(days=2)))  # the token of page 11 expires
    result = org.sync(source=source)
    assert result.status == "complete" and result.inserted == 2_600
    pages = logged(org, LIST_PATH)
    restarts = [r for r in pages if "if-modified-since" in r.headers and r.params.get("page") == ["1"]]
    assert len(restarts) == 1
    refused = [r for r in pages if r.status == 400]
    assert len(refused) == (0 if how == "our_limit" else 1)
    org.assert_converged()


def test_a_change_behind_the_listing_position_is_read_again(org: Org) -> None:
    ids = org.fake.generate(600, step=timedelta(seconds=1))
    org.later(minutes=1)
    source = org.source()

    def meanwhile() -> None:  # after page 1: one record of it moves to the end, another is deleted
        org.fake.update(ids[3], Title="Edited during the sync")
        org.fake.delete(ids[4])

    after_page(source, 1, meanwhile)
    result = org.sync(source=source)
    assert result.status == "complete" and source.tail_passes == 1
    # Offsets shifted by two after page 1: without the tail read, two contacts would be missing until they change.
    org.assert_converged()
    assert org.contacts()[ids[3]]["job_title"] == "Edited during the sync"
    assert org.contacts()[ids[4]]["deleted"] is True


def test_the_tail_read_starts_at_the_first_page_served_after_the_change(org: Org) -> None:
    ids = org.fake.generate(1_000, step=timedelta(seconds=1))
    org.later(minutes=1)
    source = org.source()
    original = source.client.list_contacts
    served = [0]

    def listing_with_a_clock(**kwargs: Any) -> Any:  # each page a minute after the last; an edit after page 3
        page = original(**kwargs)
        served[0] += 1
        org.fake.advance(timedelta(minutes=1))
        if served[0] == 3:
            org.fake.update(ids[3], Title="Edited during the sync")
        return page

    source.client.list_contacts = listing_with_a_clock  # type: ignore[method-assign]
    since = len(org.fake.requests)
    result = org.sync(source=source)
    assert result.status == "complete" and source.tail_passes == 1
    tail = [r for r in logged(org, LIST_PATH, since) if "if-modified-since" in r.headers]
    # Pages 1-3 were served before the edit: the tail starts after the last record of page 3, not at the start.
    assert datetime.fromisoformat(tail[0].headers["if-modified-since"]) == stamp_of(org, ids[599])
    assert result.read < 1_000 + 450
    org.assert_converged()


def test_a_quiet_listing_is_not_read_twice(org: Org) -> None:
    org.fake.generate(450, step=timedelta(seconds=1))
    org.later(minutes=1)
    source = org.source()
    result = org.sync(source=source)
    assert source.tail_passes == 0 and result.read == 450 and len(logged(org, LIST_PATH)) == 3


def test_the_token_is_refreshed_once_when_zoho_refuses_it(org: Org) -> None:
    org.fake.generate(450, step=timedelta(seconds=1))
    org.later(minutes=1)
    source = org.source()
    after_page(source, 1, org.fake.expire_tokens)
    result = org.sync(source=source)
    assert result.status == "complete" and org.fake.token_requests == 2
    assert [r.status for r in logged(org, LIST_PATH)] == [200, 401, 200, 200]
    org.assert_converged()


def test_a_token_refused_twice_is_an_authentication_error(org: Org) -> None:
    org.fake.generate(5)
    org.later(minutes=1)
    org.fake.inject("invalid_token", times=2)
    with pytest.raises(AuthenticationError, match="INVALID_TOKEN"):
        org.sync()
    assert org.cursor() is None
    org.sync()
    org.assert_converged()


def test_the_token_is_cached_until_shortly_before_it_expires(org: Org) -> None:
    org.fake.generate(3)
    org.later(minutes=1)
    clock = [0.0]
    client = ZohoClient(org.credentials(), FAST_RETRY, monotonic=lambda: clock[0])
    try:
        for _ in range(3):
            client.list_contacts(fields=["Last_Name", "Modified_Time"], per_page=200)
        assert client.refreshes == 1
        clock[0] = 3600 - 119  # within two minutes of the hour: refresh before Zoho refuses it
        client.list_contacts(fields=["Last_Name", "Modified_Time"], per_page=200)
        assert client.refreshes == 2 and org.fake.token_requests == 2
        org.fake.token_ttl = 60  # a short-lived token is kept for half its life, not refreshed on every call
        client._token = None
        client.list_contacts(fields=["Last_Name", "Modified_Time"], per_page=200)
        client.list_contacts(fields=["Last_Name", "Modified_Time"], per_page=200)
        assert client.refreshes == 3
        clock[0] += 31
        client.list_contacts(fields=["Last_Name", "Modified_Time"], per_page=200)
        assert client.refreshes == 4
    finally:
        client.close()


@pytest.mark.parametrize(
    ("credentials", "message"),
    [
        ({"client_secret": "wrong"}, "error invalid_client"),
        ({"refresh_token": "1000.revoked"}, "error invalid_code"),
    ],
)
def test_token_errors_in_a_200_answer_are_clear_errors(org: Org, credentials: dict[str, str], message: str) -> None:
    org.fake.generate(3)
    with pytest.raises(AuthenticationError, match=message):
        org.sync(source=org.source(org.credentials(**credentials)))
    assert org.cursor() is None and org.fake.api_requests == 0


def test_too_many_token_requests_stop_the_run_cleanly(org: Org) -> None:
    org.fake.generate(3)
    org.fake.token_rate_limit = 2
    org.later(minutes=1)
    org.sync()
    org.sync()
    result = org.sync()
    assert result.status == "stopped" and "refuses new access tokens" in (result.message or "")
    org.later(minutes=11)
    assert org.sync().status == "complete"
    org.assert_converged()


def test_api_calls_go_to_the_api_domain_unless_overridden(org: Org) -> None:
    org.fake.generate(3)
    org.later(minutes=1)
    org.fake.api_domain = "http://127.0.0.1:9"  # where the token answer sends us: nothing listens there
    with pytest.raises(SourceError, match="could not be reached"):
        org.sync()
    result = org.sync(source=org.source(org.credentials(api_domain=org.fake.url)))
    assert result.status == "complete"
    org.assert_converged()


FAULTS = [
    ("429", LIST_PATH),
    ("500", LIST_PATH),
    ("502", LIST_PATH),
    ("503", LIST_PATH),
    ("504", LIST_PATH),
    ("reset", LIST_PATH),
    ("timeout", LIST_PATH),
    ("503", DELETED_PATH),
    ("500", TOKEN_PATH),
    ("reset", TOKEN_PATH),
]


@pytest.mark.parametrize(("kind", "path"), FAULTS)
def test_transient_faults_are_retried_and_lose_nothing(org: Org, kind: str, path: str) -> None:
    org.fake.timeout_hold = 1.5
    org.fake.generate(450, step=timedelta(seconds=1), seed=3)
    org.later(minutes=1)
    since = len(org.fake.requests)
    if path == LIST_PATH:
        org.fake.inject(kind, at=2)
    else:
        org.fake.inject(kind, match=path)
    result = org.sync()
    assert result.status == "complete" and result.inserted == 450
    faulted = [r for r in org.fake.requests[since:] if r.status is None or r.status >= 429]
    assert len(faulted) == 1 and faulted[0].path == path
    org.assert_converged()


def test_429_that_outlasts_the_retries_stops_cleanly_and_the_next_run_resumes(org: Org) -> None:
    org.fake.generate(450, step=timedelta(seconds=1))
    org.later(minutes=1)
    org.fake.inject("429", at=3, times=10)
    stopped = org.sync()
    assert stopped.status == "stopped" and "API credits" in (stopped.message or "")
    assert len(org.live_ids()) == 400  # two pages, stored with their progress
    org.fake.clear_faults()
    resumed = org.sync()
    assert resumed.status == "complete" and resumed.inserted == 50
    org.assert_converged()


def test_faults_that_outlast_the_retries_fail_with_the_cursor_at_the_stored_data(org: Org) -> None:
    ids = org.fake.generate(500, step=timedelta(seconds=1))
    org.later(minutes=1)
    org.fake.inject("503", at=2, times=10)
    with pytest.raises(SourceError, match="HTTP 503"):
        org.sync()
    assert len(org.live_ids()) == 200
    cursor = org.cursor()
    assert cursor is not None and cursor["complete"] is False
    assert parse_stamp(cursor["stamp"]) == stamp_of(org, ids[199])
    org.fake.clear_faults()
    org.sync()
    org.assert_converged()


@pytest.mark.parametrize("path", [LIST_PATH, DELETED_PATH])
def test_a_malformed_body_fails_the_run_and_the_rerun_converges(org: Org, path: str) -> None:
    org.fake.generate(300, step=timedelta(seconds=1))
    org.later(minutes=1)
    org.fake.inject("malformed", match=path + "?" if path == LIST_PATH else path)
    with pytest.raises(SourceError, match="malformed"):
        org.sync()
    assert org.sync().status == "complete"
    org.assert_converged()


def test_crash_between_pages_then_rerun_converges(org: Org) -> None:
    ids = org.fake.generate(800, step=timedelta(seconds=1))
    org.later(minutes=1)
    source = org.source()
    original = source.pages

    def crashing(cursor: Any, *, full: bool = False) -> Any:
        for n, page in enumerate(original(cursor, full=full)):
            if n == 2:
                raise KeyboardInterrupt  # the process is killed between two pages
            yield page

    source.pages = crashing  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        org.sync(source=source)
    stored = len(org.live_ids())
    assert stored in (200, 400)  # the ingest writes a page while the next is read: the last may be lost
    cursor = org.cursor()
    assert cursor is not None and cursor["complete"] is False
    assert parse_stamp(cursor["stamp"]) == stamp_of(org, ids[stored - 1])  # never ahead of the stored data
    # Meanwhile: an edit on a stored page, a new contact, a deletion of a stored one.
    org.fake.update(ids[10], First_Name="Edited meanwhile")
    new = org.fake.add(Last_Name="Added meanwhile", Email="meanwhile@example.com")
    org.fake.delete(ids[20])
    org.later(minutes=1)
    resumed = org.sync()
    assert resumed.status == "complete" and resumed.inserted == 800 - stored + 1
    assert org.contacts()[ids[10]]["first_name"] == "Edited meanwhile" and new in org.live_ids()
    assert org.contacts()[ids[20]]["deleted"] is True
    assert len(org.contacts()) == 801
    org.assert_converged()


def test_rejects_are_counted_and_the_cursor_moves_past_them(org: Org) -> None:
    good = org.fake.add(Last_Name="Good", Email="good@example.com")
    bad = org.fake.add(Email="not-an-email", Phone="n/a")
    org.later(minutes=1)
    result = org.sync()
    assert result.inserted == 1 and result.rejected == 1
    assert result.reject_reasons == {"no_usable_fields": 1}
    assert good in org.live_ids() and bad not in org.live_ids()
    assert org.cursor()["complete"] is True  # type: ignore[index]
    org.assert_converged(rejected={bad})


def test_extra_field_mappings_reach_the_store(org: Org) -> None:
    record = org.fake.add(Last_Name="Ext", Asst_Phone="+44 20 7946 0958", Department="ICU")
    org.later(minutes=1)
    org.sync(source=org.source(fields={"Asst_Phone": "phone:other", "Department": "job_title", "Title": None}))
    stored = org.contacts()[record]
    assert stored["phones"] == ["+442079460958"] and stored["job_title"] == "ICU"
    assert "Asst_Phone" in logged(org, LIST_PATH)[0].params["fields"][0]
    org.assert_converged()


def test_full_resync_deletes_contacts_zoho_no_longer_lists(org: Org) -> None:
    ids = org.fake.generate(50, step=timedelta(seconds=1))
    org.later(minutes=1)
    org.sync()
    for record_id in ids[:5]:
        org.fake.purge(record_id, stamp=datetime(2020, 1, 1, tzinfo=UTC))  # long ago: outside any deleted query
    org.later(hours=1)
    assert org.sync().deleted == 0
    result = org.sync(full=True)
    assert result.deleted_missing == 5
    org.assert_converged()


def test_the_recorded_contacts_sync(org: Org, fixtures_dir: Path) -> None:
    ids = org.fake.load_fixture(fixtures_dir / "crm/zoho/nango_contacts__get_crm_v2_Contacts.json")
    org.at(datetime(2026, 6, 1, tzinfo=UTC))
    result = org.sync()
    assert result.status == "complete" and result.read == len(ids) > 0
    stored = org.contacts()["7328395000000680151"]
    assert stored["company"] == "Printing Dimensions (Sample)"
    # `.invalid` is a reserved domain: the address is a rejected value, the contact is kept.
    assert stored["first_name"] == "Donette" and stored["emails"] == []
    assert "no_usable_fields" not in result.reject_reasons
    org.assert_converged()
