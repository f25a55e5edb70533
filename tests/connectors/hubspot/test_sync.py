"""HubSpot sync end to end: fake portal over HTTP -> hubspot-api-client -> connector -> store (SQLite and PostgreSQL).

Every scenario ends by comparing the store with the portal: a perfect sync holds exactly the portal's live contacts.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from connectors.errors import AuthenticationError, SourceError
from connectors.hubspot.client import RateLimiter
from connectors.hubspot.settings import HubSpotCredentials
from tests.connectors.hubspot.conftest import Portal
from tests.fakes.hubspot import SEARCH_PATH, to_ms


def searches(portal: Portal, since: int = 0) -> list[dict[str, Any]]:
    return [r.body for r in portal.fake.requests[since:] if r.path == SEARCH_PATH and r.status == 200]


def iso_of(portal: Portal, record_id: str) -> str:
    return str(portal.fake.get(record_id)["properties"]["lastmodifieddate"])


def test_first_sync_lists_every_contact_then_the_archived_ones(portal: Portal) -> None:
    ids = portal.fake.generate(250, step=timedelta(seconds=10))
    portal.fake.archive(ids[0])
    portal.later(minutes=1)
    result = portal.sync()
    assert result.status == "complete" and result.mode == "list"
    assert result.inserted == 249 and result.read == 250
    portal.assert_converged()
    # Three live pages of 100 (249 contacts), one archived page; no search.
    paths = [(r.path, r.params.get("archived")) for r in portal.fake.requests]
    assert paths.count(("/crm/v3/objects/contacts", ["False"])) == 3
    assert paths.count(("/crm/v3/objects/contacts", ["True"])) == 1
    assert result.requests == 4 and not searches(portal)
    first = portal.fake.requests[0].params
    assert first["limit"] == ["100"] and "hs_additional_emails" in first["properties"]
    cursor = portal.cursor()
    assert cursor is not None and cursor["complete"] is True and cursor["stamp"] == iso_of(portal, ids[-1])
    stored = portal.contacts()
    record = portal.fake.get(ids[5])["properties"]
    assert stored[ids[5]]["last_name"] == record["lastname"]


def test_incremental_sync_follows_inserts_updates_archives_and_restores(portal: Portal) -> None:
    ids = portal.fake.generate(20, step=timedelta(seconds=30))
    portal.later(minutes=1)
    portal.sync()
    portal.assert_converged()

    portal.later(hours=1)
    new = portal.fake.add(firstname="Nia", lastname="New", email="nia@example.com", phone="+1 415 555 0100")
    portal.fake.update(ids[0], firstname="Renamed", phone="(212) 555-0199", hs_additional_emails="a@x.com;b@y.org")
    portal.fake.archive(ids[1])
    portal.fake.archive(ids[2])
    portal.later(minutes=1)
    result = portal.sync()
    assert result.mode == "search"
    assert (result.inserted, result.updated, result.deleted) == (1, 1, 2)
    stored = portal.contacts()
    assert stored[new]["emails"] == ["nia@example.com"] and stored[new]["phones"] == ["+14155550100"]
    assert stored[ids[0]]["first_name"] == "Renamed" and "+12125550199" in stored[ids[0]]["phones"]
    assert {"a@x.com", "b@y.org"} <= set(stored[ids[0]]["emails"])
    assert stored[ids[1]]["deleted"] and stored[ids[2]]["deleted"]
    (body,) = searches(portal, since=len(portal.fake.requests) - 2)
    filters = body["filterGroups"][0]["filters"]
    assert [f["operator"] for f in filters] == ["GTE", "LT"] and all(f["value"].isdigit() for f in filters)
    assert filters[1]["value"] == str(to_ms(portal.now + timedelta(seconds=1)))
    assert body["sorts"] == [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}] and body["limit"] == 200
    portal.assert_converged()

    portal.later(hours=1)
    portal.fake.restore(ids[1])
    portal.later(minutes=1)
    result = portal.sync()
    assert result.updated == 1 and portal.contacts()[ids[1]]["deleted"] is False
    portal.assert_converged()

    # Nothing changed: the lookback re-reads a few records and the archived list repeats; no write.
    portal.later(hours=1)
    result = portal.sync()
    assert result.inserted == result.updated == result.deleted == result.writes == 0
    portal.assert_converged()


def test_the_search_starts_a_lookback_before_the_cursor(portal: Portal) -> None:
    portal.fake.generate(5, step=timedelta(minutes=1))
    portal.later(minutes=1)
    portal.sync()
    stamp = portal.cursor()["stamp"]  # type: ignore[index]
    portal.later(hours=1)
    portal.sync(source=portal.source(lookback_seconds=120))
    gte = searches(portal)[-1]["filterGroups"][0]["filters"][0]
    from connectors.hubspot.mapping import parse_stamp

    assert gte == {
        "propertyName": "lastmodifieddate",
        "operator": "GTE",
        "value": str(to_ms(parse_stamp(stamp)) - 120_000),
    }
    portal.assert_converged()


def test_a_record_stamped_exactly_at_the_cursor_is_read(portal: Portal) -> None:
    ids = portal.fake.generate(5, step=timedelta(seconds=5))
    portal.later(minutes=1)
    portal.sync()
    from connectors.hubspot.mapping import parse_stamp

    stamp = parse_stamp(portal.cursor()["stamp"])  # type: ignore[index]
    tie = portal.fake.add(lastname="Tie", email="tie@example.com", stamp=stamp)
    portal.fake.update(ids[-1], jobtitle="Changed", stamp=stamp)  # an edit landing in the same millisecond
    portal.later(minutes=1)
    result = portal.sync(source=portal.source(lookback_seconds=0))
    assert result.inserted == 1 and result.updated == 1 and tie in portal.live_ids()
    assert portal.contacts()[ids[-1]]["job_title"] == "Changed"
    portal.assert_converged()


# The connector's paging around the cap is what these test; writing 10,500 contacts is the store's part, covered on
# both databases elsewhere, and takes half a minute on PostgreSQL. So they run on SQLite only.
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@SQLITE_ONLY
def test_more_than_10k_changes_in_one_window_are_read_in_halves(portal: Portal) -> None:
    portal.fake.generate(3)
    portal.later(minutes=1)
    portal.sync()
    portal.later(hours=4)
    more = portal.fake.generate(10_500, step=timedelta(seconds=1), seed=1)
    portal.later(minutes=1)
    since = len(portal.fake.requests)
    result = portal.sync()
    assert result.status == "complete" and result.inserted == 10_500
    bodies = searches(portal, since)
    assert all(int(b.get("after") or 0) + b["limit"] <= 10_000 for b in bodies)
    assert sum(1 for b in bodies if not b.get("after")) >= 3  # the whole window, then its two halves
    assert set(more) <= portal.live_ids()
    portal.assert_converged()


@SQLITE_ONLY
def test_more_than_10k_contacts_in_one_millisecond_are_read_by_id(portal: Portal) -> None:
    portal.fake.generate(3)
    portal.later(minutes=1)
    portal.sync()
    portal.later(minutes=10)
    bulk = portal.fake.generate(10_500, stamp=portal.now, seed=2)  # one import, one stamp
    portal.later(minutes=1)
    since = len(portal.fake.requests)
    result = portal.sync()
    assert result.status == "complete" and result.inserted == 10_500 and result.read >= 10_500
    by_id = [b for b in searches(portal, since) if b["sorts"][0]["propertyName"] == "hs_object_id"]
    restarts = [b for b in by_id if any(f["operator"] == "GT" for f in b["filterGroups"][0]["filters"])]
    assert restarts and not restarts[0].get("after")  # restarted after the last id, from offset 0
    assert result.read < 10_500 + 200  # nothing read twice beyond the few records of the lookback
    assert set(bulk) <= portal.live_ids()
    cursor = portal.cursor()
    assert cursor is not None and cursor["complete"] is True and cursor["stamp"] == iso_of(portal, bulk[-1])
    portal.assert_converged()


@pytest.mark.parametrize("kind", ["429", "429_no_retry_after", "500", "502", "503", "reset", "timeout"])
@pytest.mark.parametrize("where", ["list", "search"])
def test_transient_faults_are_retried_and_lose_nothing(portal: Portal, kind: str, where: str) -> None:
    portal.fake.timeout_hold = 1.5
    if where == "search":
        portal.fake.generate(5)
        portal.later(minutes=1)
        portal.sync()
        portal.later(hours=1)
    portal.fake.generate(450, step=timedelta(seconds=1), seed=3)
    portal.later(minutes=1)
    since = len(portal.fake.requests)
    if where == "search":
        portal.fake.inject(kind, match="lastmodifieddate", times=1)
    else:
        portal.fake.inject(kind, at=2)
    result = portal.sync()
    assert result.status == "complete" and result.inserted == 450
    logged = portal.fake.requests[since:]
    faulted = [r for r in logged if r.status is None or r.status >= 429]
    assert len(faulted) == 1 and (faulted[0].path == SEARCH_PATH) == (where == "search")
    portal.assert_converged()


def test_faults_that_outlast_the_retries_fail_with_the_cursor_at_the_stored_data(portal: Portal) -> None:
    ids = portal.fake.generate(300, step=timedelta(seconds=1))
    portal.later(minutes=1)
    portal.fake.inject("503", at=2, times=10)
    with pytest.raises(SourceError, match="HTTP 503"):
        portal.sync()
    assert len(portal.live_ids()) == 100  # the first page, committed with its progress
    cursor = portal.cursor()
    assert cursor is not None and cursor["complete"] is False and cursor["phase"] == "list"
    portal.fake.clear_faults()
    portal.sync()
    assert portal.live_ids() == set(ids)
    portal.assert_converged()


def test_resets_that_outlast_the_retries_are_a_source_error(portal: Portal) -> None:
    portal.fake.generate(5)
    portal.later(minutes=1)
    portal.fake.inject("reset", times=10)
    with pytest.raises(SourceError, match="could not be reached"):
        portal.sync()
    assert portal.cursor() is None
    portal.fake.clear_faults()
    portal.sync()
    portal.assert_converged()


@pytest.mark.parametrize("where", ["list", "search"])
def test_a_malformed_body_fails_the_run_without_moving_the_cursor(portal: Portal, where: str) -> None:
    portal.fake.generate(150, step=timedelta(seconds=1))
    portal.later(minutes=1)
    portal.sync()
    before = portal.cursor()
    portal.later(hours=1)
    portal.fake.generate(300, step=timedelta(seconds=1), seed=4)
    portal.later(minutes=1)
    portal.fake.inject("malformed", match="lastmodifieddate" if where == "search" else "archived=True")
    with pytest.raises(SourceError, match="malformed"):
        portal.sync()
    if where == "search":
        assert portal.cursor() == before
    else:  # the archived list comes after the search pages, which were stored with their cursors
        cursor = portal.cursor()
        assert cursor is not None and cursor["complete"] is False
    assert portal.sync().status == "complete"
    portal.assert_converged()


def test_a_refused_token_is_a_clear_error(portal: Portal) -> None:
    portal.fake.generate(5)
    portal.later(minutes=1)
    creds = HubSpotCredentials(access_token="pat-wrong", base_url=portal.fake.url)
    with pytest.raises(AuthenticationError, match="HubSpot refused the access token"):
        portal.sync(source=portal.source(creds))
    portal.fake.inject("401")
    with pytest.raises(AuthenticationError, match="HTTP 401"):
        portal.sync()
    assert portal.cursor() is None
    portal.sync()
    portal.assert_converged()


def test_crash_between_pages_then_rerun_converges(portal: Portal) -> None:
    ids = portal.fake.generate(800, step=timedelta(seconds=1))
    for record_id in ids[:30]:
        portal.fake.archive(record_id)
    portal.later(minutes=1)
    source = portal.source()
    original = source.pages

    def crashing(cursor, *, full=False):  # type: ignore[no-untyped-def]
        for n, page in enumerate(original(cursor, full=full)):
            if n == 3:
                raise KeyboardInterrupt  # the process is killed between two pages
            yield page

    source.pages = crashing  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        portal.sync(source=source)
    partial = portal.live_ids()
    assert 0 < len(partial) < 770
    cursor = portal.cursor()
    assert cursor is not None and cursor["phase"] == "list" and cursor["after"]
    # The rerun lists on from where the crash left it, then the archived contacts.
    portal.fake.update(ids[40], firstname="Edited meanwhile")
    new = portal.fake.add(lastname="Added meanwhile", email="meanwhile@example.com")
    portal.later(minutes=1)
    resumed = portal.sync()
    assert resumed.status == "complete" and resumed.read < 800
    assert portal.cursor()["complete"] is True  # type: ignore[index]
    # The edit on an already-listed page is stamped after the first run's start: the next search reads it.
    portal.later(minutes=1)
    portal.sync()
    assert portal.contacts()[ids[40]]["first_name"] == "Edited meanwhile" and new in portal.live_ids()
    # Nothing duplicated; the 30 contacts archived before the first sync were never stored.
    assert len(portal.contacts()) == 771 and not set(ids[:30]) & set(portal.contacts())
    portal.assert_converged()


def test_crash_during_a_search_then_rerun_converges(portal: Portal) -> None:
    portal.fake.generate(10)
    portal.later(minutes=1)
    portal.sync()
    portal.later(hours=1)
    portal.fake.generate(1000, step=timedelta(seconds=1), seed=5)
    portal.later(minutes=1)
    source = portal.source()
    original = source.pages

    def crashing(cursor, *, full=False):  # type: ignore[no-untyped-def]
        for n, page in enumerate(original(cursor, full=full)):
            if n == 2:
                raise KeyboardInterrupt
            yield page

    source.pages = crashing  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        portal.sync(source=source)
    cursor = portal.cursor()
    assert cursor is not None and cursor["complete"] is False and cursor["id"]
    portal.sync()
    assert len(portal.contacts()) == 1010
    portal.assert_converged()


def test_rejects_are_counted_and_the_cursor_moves_past_them(portal: Portal) -> None:
    good = portal.fake.add(lastname="Good", email="good@example.com")
    bad = portal.fake.add(email="not-an-email", phone="n/a")
    portal.later(minutes=1)
    result = portal.sync()
    assert result.inserted == 1 and result.rejected == 1
    assert result.reject_reasons == {"no_usable_fields": 1}
    assert good in portal.live_ids() and bad not in portal.live_ids()
    assert portal.cursor()["complete"] is True  # type: ignore[index]
    portal.assert_converged(rejected={bad})


def test_extra_property_mappings_reach_the_store(portal: Portal) -> None:
    record = portal.fake.add(lastname="Ext", assistant_phone="+44 20 7946 0958")
    portal.later(minutes=1)
    portal.sync(source=portal.source(fields={"assistant_phone": "phone:other"}))
    assert portal.contacts()[record]["phones"] == ["+442079460958"]
    portal.assert_converged()


def test_full_resync_deletes_contacts_the_portal_no_longer_has(portal: Portal) -> None:
    ids = portal.fake.generate(50, step=timedelta(seconds=1))
    portal.later(minutes=1)
    portal.sync()
    for record_id in ids[:5]:
        portal.fake.gdpr_delete(record_id)  # permanent: never listed, never searched
    portal.later(hours=1)
    assert portal.sync().deleted == 0
    result = portal.sync(full=True)
    assert result.deleted_missing == 5
    portal.assert_converged()


def test_searches_are_paced_on_the_client_side() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(4.0, sleep, lambda: now[0])
    for _ in range(5):
        limiter.wait()
    assert slept == [0.25, 0.25, 0.25, 0.25]
    RateLimiter(None, sleep).wait()
    assert len(slept) == 4


def test_the_default_pacing_keeps_under_the_portal_search_limit(portal: Portal) -> None:
    portal.fake.generate(5)
    portal.later(minutes=1)
    portal.sync()
    portal.later(hours=1)
    portal.fake.generate(600, step=timedelta(seconds=1), seed=6)
    portal.later(minutes=1)
    portal.fake.search_rps = 4
    source = portal.source(search_rps=3.5, search_page_size=100)  # a little under the portal's 4 per second
    result = portal.sync(source=source)
    assert result.inserted == 600
    assert not [r for r in portal.fake.requests if r.status == 429]
    assert source.client.limiter.waited > 1.0
    portal.assert_converged()


def test_the_daily_limit_stops_cleanly_and_the_next_run_resumes(portal: Portal) -> None:
    portal.fake.generate(450, step=timedelta(seconds=1))
    portal.later(minutes=1)
    portal.fake.inject("429_daily", at=3, times=10)  # the third request and all its retries
    stopped = portal.sync(source=portal.source(page_size=100))
    assert stopped.status == "stopped" and "daily API limit" in (stopped.message or "")
    assert len(portal.live_ids()) == 200  # the two pages read before the limit, stored with their progress
    portal.fake.clear_faults()
    resumed = portal.sync(source=portal.source(page_size=100))
    assert resumed.status == "complete" and resumed.inserted == 250
    portal.assert_converged()
