"""Salesforce sync end to end: fake org over HTTP -> simple-salesforce -> connector -> store (SQLite and PostgreSQL).

Every scenario ends by comparing the store with the org: a perfect sync holds exactly the org's live records.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from connectors.errors import AuthenticationError, ConfigurationError, SourceError
from connectors.salesforce.settings import SalesforceCredentials
from connectors.sync import MassDeleteError
from contacts_store import schema
from tests.connectors.salesforce.conftest import Org


def soql_of(org: Org) -> list[str]:
    """The SOQL of every query request the fake received."""
    found = []
    for request in org.fake.requests:
        if "/query" in request.path and "q=" in (request.query or ""):
            found.append(parse_qs(request.query)["q"][0])
    return found


def test_first_sync_reads_every_record_and_pages(org: Org) -> None:
    org.fake.generate(450, step=timedelta(seconds=10))
    org.later(minutes=1)
    result = org.sync(source=org.source(page_size=200))
    assert result.status == "complete"
    assert (result.read, result.inserted, result.rejected) == (450, 450, 0)
    assert org.live_ids() == org.expected_live_ids()
    assert org.fake.api_requests == 3  # 450 records / 200 per page
    assert result.requests == 3
    cursor = org.cursor()
    assert cursor is not None and cursor["complete"] is True
    last = max(org.fake.get(i)["SystemModstamp"] for i in org.fake_ids())
    assert cursor["stamp"] == last.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    (soql,) = soql_of(org)
    assert "FROM Contact WHERE SystemModstamp < " in soql and soql.endswith("ORDER BY SystemModstamp ASC, Id ASC")


def test_incremental_sync_follows_inserts_updates_deletes_undeletes_and_merges(org: Org) -> None:
    ids = org.fake.generate(20, step=timedelta(seconds=30))
    org.later(minutes=1)
    org.sync()
    assert org.live_ids() == set(ids)

    org.later(hours=1)
    new = org.fake.add(FirstName="Nia", LastName="New", Email="nia@example.com", Phone="+1 415 555 0100")
    org.fake.update(ids[0], FirstName="Renamed", Phone="(212) 555-0199")
    org.fake.delete(ids[1])
    org.fake.delete(ids[2])
    org.fake.merge(ids[3], ids[4])
    org.later(minutes=1)
    result = org.sync()
    assert (result.inserted, result.updated, result.deleted) == (1, 1, 3)  # the merge master's content is unchanged
    stored = org.contacts()
    assert stored[new]["emails"] == ["nia@example.com"] and stored[new]["phones"] == ["+14155550100"]
    assert stored[ids[0]]["first_name"] == "Renamed" and "+12125550199" in stored[ids[0]]["phones"]
    assert stored[ids[1]]["deleted"] and stored[ids[3]]["deleted"] and not stored[ids[4]]["deleted"]

    org.later(hours=1)
    org.fake.undelete(ids[1])
    org.later(minutes=1)
    result = org.sync()
    assert result.updated == 1 and org.contacts()[ids[1]]["deleted"] is False
    assert org.live_ids() == org.expected_live_ids()

    # Nothing changed: the lookback re-reads a few records and writes none of them.
    org.later(hours=1)
    result = org.sync()
    assert result.inserted == result.updated == result.deleted == 0
    assert result.writes == 0


def test_incremental_query_starts_a_lookback_before_the_cursor(org: Org) -> None:
    org.fake.generate(5, step=timedelta(minutes=1))
    org.later(minutes=1)
    org.sync()
    stamp = org.cursor()["stamp"]  # type: ignore[index]
    org.later(hours=1)
    org.sync(source=org.source(lookback_seconds=120))
    soql = soql_of(org)[-1]
    # 2 minutes before the last record's stamp, floored to the second.
    assert soql.count("SystemModstamp >= ") == 1
    lower = soql.split("SystemModstamp >= ")[1].split(" ")[0]
    assert lower < stamp and lower.endswith("Z")


def test_many_records_sharing_one_stamp_across_page_boundaries(org: Org) -> None:
    same = org.now - timedelta(minutes=5)
    ids = [org.fake.add(LastName=f"Tie {n:04d}", stamp=same) for n in range(650)]
    org.later(minutes=1)
    result = org.sync(source=org.source(page_size=200))
    assert result.inserted == 650 and org.live_ids() == set(ids)

    # A bulk update stamps 650 more with one instant; an interrupted read must neither skip nor duplicate them.
    org.later(hours=1)
    second = org.now
    more = [org.fake.add(LastName=f"Tie2 {n:04d}", stamp=second) for n in range(650)]
    org.later(minutes=1)
    # Pages 1-4 hold the 650 re-read ties of the cursor's stamp and 150 new ones; the fifth request hits the quota.
    org.fake.inject("limit", at=5)
    stopped = org.sync(source=org.source(page_size=200, lookback_seconds=0))
    assert stopped.status == "stopped"
    assert len(org.live_ids() - set(ids)) == 150
    resumed = org.sync(source=org.source(page_size=200, lookback_seconds=0))
    assert resumed.status == "complete"
    assert org.live_ids() == set(ids) | set(more)
    assert stopped.inserted + resumed.inserted == 650


def test_a_record_that_commits_late_inside_the_lookback_is_still_read(org: Org) -> None:
    org.fake.generate(10, step=timedelta(seconds=5))
    org.later(minutes=1)
    org.sync(source=org.source(lookback_seconds=300))
    cursor_stamp = org.cursor()["stamp"]  # type: ignore[index]

    # A long transaction stamped 2 minutes before the last sync's newest record commits only now.
    org.later(minutes=10)
    from connectors.salesforce.mapping import parse_stamp

    late = org.fake.add(
        LastName="Late", Email="late@example.com", stamp=parse_stamp(cursor_stamp) - timedelta(minutes=2)
    )
    org.later(minutes=1)
    result = org.sync(source=org.source(lookback_seconds=300))
    assert result.inserted == 1 and late in org.live_ids()

    # Outside the window it is missed by incremental syncs: that is what the lookback is sized for, and what a
    # full resync repairs.
    org.later(minutes=10)
    very_late = org.fake.add(LastName="Very late", stamp=parse_stamp(cursor_stamp) - timedelta(hours=2))
    org.later(minutes=1)
    assert org.sync(source=org.source(lookback_seconds=300)).inserted == 0
    assert very_late not in org.live_ids()
    assert org.sync(full=True).inserted == 1 and very_late in org.live_ids()


def test_records_stamped_during_the_sync_wait_for_the_next_run(org: Org) -> None:
    org.fake.generate(3, step=timedelta(seconds=5))
    org.later(minutes=1)
    # Stamped after the sync's start (the sync's clock reads `now + 1 s`): excluded by `SystemModstamp < start`.
    in_flight = org.fake.add(LastName="In flight", stamp=org.now + timedelta(seconds=2))
    org.sync()
    assert in_flight not in org.live_ids()
    org.later(minutes=5)
    org.sync()
    assert in_flight in org.live_ids()


@pytest.mark.parametrize("kind", ["500", "502", "503", "reset", "timeout"])
def test_transient_faults_are_retried_and_lose_nothing(org: Org, kind: str) -> None:
    org.fake.timeout_hold = 1.5
    org.fake.generate(500, step=timedelta(seconds=1))
    org.later(minutes=1)
    org.fake.inject(kind, at=2)
    result = org.sync(source=org.source(page_size=200))
    assert result.status == "complete" and result.inserted == 500
    assert org.live_ids() == org.expected_live_ids()
    statuses = [r.status for r in org.fake.requests if r.path.startswith("/services/data/")]
    assert len(statuses) == 4  # three pages plus the one retry


def test_faults_that_outlast_the_retries_fail_with_the_cursor_at_the_stored_data(org: Org) -> None:
    ids = org.fake.generate(600, step=timedelta(seconds=1))
    org.later(minutes=1)
    org.fake.inject("503", at=2, times=10)
    with pytest.raises(SourceError, match="HTTP 503"):
        org.sync(source=org.source(page_size=200))
    stored = org.live_ids()
    assert len(stored) == 200  # the first page, committed with its cursor
    cursor = org.cursor()
    assert cursor is not None and cursor["complete"] is False
    newest_stored = max(org.fake.get(i)["SystemModstamp"] for i in stored)
    assert cursor["stamp"] == newest_stored.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    org.fake.clear_faults()
    org.sync(source=org.source(page_size=200))
    assert org.live_ids() == set(ids)


def test_a_malformed_body_fails_the_run_without_moving_the_cursor(org: Org) -> None:
    org.fake.generate(300, step=timedelta(seconds=1))
    org.later(minutes=1)
    org.sync()
    before = org.cursor()
    org.later(hours=1)
    org.fake.generate(300, step=timedelta(seconds=1))
    org.later(minutes=1)
    org.fake.inject("malformed", at=1)
    with pytest.raises(SourceError, match="malformed"):
        org.sync()
    assert org.cursor() == before
    assert org.sync().inserted == 300
    assert org.live_ids() == org.expected_live_ids()


def test_expired_session_is_refreshed_once_with_client_credentials(org: Org) -> None:
    org.fake.set_credentials(client_id="app", client_secret="s3cret")
    org.fake.generate(500, step=timedelta(seconds=1))
    org.later(minutes=1)
    creds = SalesforceCredentials(
        instance_url=org.fake.url,
        access_token="00Dfake!token",
        login_url=org.fake.url,
        client_id="app",
        client_secret="s3cret",
    )
    source = org.source(creds, page_size=200)
    org.fake.inject("expired", at=2)
    result = org.sync(source=source)
    assert result.inserted == 500 and source.client.refreshes == 1
    assert [r.path for r in org.fake.requests].count("/services/oauth2/token") == 1


def test_username_password_flow_gets_the_first_token(org: Org) -> None:
    org.fake.set_credentials(client_id="app", client_secret="s3cret", username="ops@acme.com", password="pw+token")
    org.fake.generate(5)
    org.later(minutes=1)
    creds = SalesforceCredentials(
        login_url=org.fake.url, client_id="app", client_secret="s3cret", username="ops@acme.com", password="pw+token"
    )
    assert org.sync(source=org.source(creds)).inserted == 5


def test_an_expired_token_without_credentials_to_refresh_is_a_clear_error(org: Org) -> None:
    org.fake.generate(5)
    org.later(minutes=1)
    org.fake.expire_tokens()
    with pytest.raises(AuthenticationError, match="cannot be refreshed"):
        org.sync()


def test_refused_credentials_are_a_clear_error(org: Org) -> None:
    org.fake.set_credentials(client_id="app", client_secret="s3cret")
    creds = SalesforceCredentials(login_url=org.fake.url, client_id="app", client_secret="wrong")
    with pytest.raises(AuthenticationError, match="refused the client_credentials login"):
        org.sync(source=org.source(creds))


def test_request_limit_stops_cleanly_and_the_next_run_resumes(org: Org) -> None:
    ids = org.fake.generate(1000, step=timedelta(seconds=1))
    org.later(minutes=1)
    org.fake.inject("limit", at=3)
    stopped = org.sync(source=org.source(page_size=200))
    assert stopped.status == "stopped" and "API request limit" in (stopped.message or "")
    assert stopped.inserted == 400
    with org.engine.connect() as conn:
        run = conn.execute(
            sa.select(schema.import_runs).where(schema.import_runs.c.id == uuid.UUID(stopped.run_id))
        ).one()
    assert run.status == "stopped" and "API request limit" in run.message
    assert org.cursor()["complete"] is False  # type: ignore[index]
    resumed = org.sync(source=org.source(page_size=200))
    assert resumed.status == "complete"
    assert org.live_ids() == set(ids)
    # The rerun starts at the stored cursor (minus the lookback), not from the beginning.
    assert resumed.read < 1000


def test_sync_stops_before_the_org_quota_is_spent(org: Org) -> None:
    org.fake.generate(1000, step=timedelta(seconds=1))
    org.later(minutes=1)
    org.fake.daily_limit = 100
    org.fake.api_used = 88
    result = org.sync(source=org.source(page_size=200, max_api_usage=0.9))
    assert result.status == "stopped" and "daily API requests" in (result.message or "")
    assert result.inserted == 400  # 89th and 90th requests; the sync stops at 90 %


def test_crash_between_batches_then_rerun_converges(org: Org) -> None:
    ids = org.fake.generate(800, step=timedelta(seconds=1))
    org.later(minutes=1)
    source = org.source(page_size=200)
    original = source.pages

    def crashing(cursor, *, full=False):  # type: ignore[no-untyped-def]
        for n, page in enumerate(original(cursor, full=full)):
            if n == 2:
                raise KeyboardInterrupt  # the process is killed between two batches
            yield page

    source.pages = crashing  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        org.sync(source=source)
    partial = org.live_ids()
    assert 0 < len(partial) < 800  # the batches written before the crash
    cursor = org.cursor()
    assert cursor is not None
    # Never ahead of the data: every record stamped at or before the cursor is stored.
    at_or_before = {
        i for i in ids if org.fake.get(i)["SystemModstamp"].isoformat() <= cursor["stamp"].replace("Z", "+00:00")
    }
    assert at_or_before <= partial
    org.sync(source=org.source(page_size=200))
    assert org.live_ids() == set(ids)
    assert len(org.contacts()) == 800  # nothing duplicated


def test_rejects_are_kept_and_the_cursor_moves_past_them(org: Org) -> None:
    good = org.fake.add(LastName="Good", Email="good@example.com")
    bad = org.fake.add(Email="not-an-email", Phone="n/a")
    org.later(minutes=1)
    result = org.sync()
    assert result.inserted == 1 and result.rejected == 1
    assert result.reject_reasons == {"no_usable_fields": 1}
    assert good in org.live_ids() and bad not in org.live_ids()
    assert result.read == result.inserted + result.updated + result.unchanged + result.deleted + result.rejected


def test_extra_field_mappings_reach_the_store(org: Org) -> None:
    org.fake.add_field("Extension__c")
    record = org.fake.add(LastName="Ext", Extension__c="+44 20 7946 0958")
    org.later(minutes=1)
    org.sync(source=org.source(fields={"Extension__c": "phone:other"}))
    assert org.contacts()[record]["phones"] == ["+442079460958"]


def test_an_unknown_extra_field_is_a_configuration_error(org: Org) -> None:
    org.fake.generate(3)
    org.later(minutes=1)
    with pytest.raises(ConfigurationError, match="field list"):
        org.sync(source=org.source(fields={"NoSuchField__c": "notes"}))


def test_full_resync_deletes_contacts_the_org_no_longer_has(org: Org) -> None:
    ids = org.fake.generate(50, step=timedelta(seconds=1))
    org.later(minutes=1)
    org.sync()
    for record_id in ids[:5]:
        org.fake.purge(record_id)  # hard deletes never show up in queryAll
    org.later(hours=1)
    assert org.sync().deleted == 0
    result = org.sync(full=True)
    assert result.deleted_missing == 5
    assert org.live_ids() == set(ids[5:])


def test_full_resync_refuses_a_mass_delete(org: Org) -> None:
    ids = org.fake.generate(20, step=timedelta(seconds=1))
    org.later(minutes=1)
    org.sync()
    for record_id in ids[:15]:
        org.fake.purge(record_id)
    org.later(hours=1)
    with pytest.raises(MassDeleteError, match="safety limit"):
        org.sync(full=True)
    assert len(org.live_ids()) == 20
    assert org.sync(full=True, max_delete_fraction=None).deleted_missing == 15


def test_first_sync_of_a_large_org_uses_bulk_api_2(org: Org) -> None:
    ids = org.fake.generate(1200, step=timedelta(seconds=1))
    for record_id in ids[:10]:
        org.fake.delete(record_id)
    org.later(minutes=1)
    source = org.source(bulk_threshold=1000, bulk_page_size=500)
    result = org.sync(source=source)
    assert result.mode == "bulk" and result.status == "complete"
    assert org.live_ids() == set(ids[10:])
    # The first REST page (its totalSize is above the threshold), create, one status poll, three result pages.
    assert org.fake.api_requests == 6
    assert org.cursor()["stamp"] is not None  # type: ignore[index]
    paths = [r.path for r in org.fake.requests]
    assert any(p.endswith("/jobs/query") for p in paths)

    # The next run is an incremental REST query from the bulk run's newest stamp.
    org.later(hours=1)
    org.fake.update(ids[20], FirstName="After bulk")
    org.later(minutes=1)
    result = org.sync(source=org.source(bulk_threshold=1000))
    assert result.mode == "rest" and result.updated == 1


def test_bulk_and_rest_store_the_same_contacts(org: Org) -> None:
    org.fake.generate(300, step=timedelta(seconds=1), bad_rate=0.05)
    org.later(minutes=1)
    org.sync(source=org.source(bulk_threshold=100))
    via_bulk = org.contacts()
    again = org.sync(full=True, source=org.source(bulk_threshold=None))
    assert again.mode == "rest" and again.read == 300
    assert again.inserted == again.updated == again.deleted == 0
    assert again.writes == again.values_rejected  # only the reject rows that every run records again
    assert org.contacts() == via_bulk


def test_an_interrupted_bulk_read_resumes_the_same_job(org: Org) -> None:
    ids = org.fake.generate(1500, step=timedelta(seconds=1))
    org.later(minutes=1)
    org.fake.inject("limit", match="locator=")  # the second result page hits the quota
    stopped = org.sync(source=org.source(bulk_threshold=1000, bulk_page_size=500))
    assert stopped.status == "stopped" and stopped.mode == "bulk"
    assert len(org.live_ids()) == 500
    cursor = org.cursor()
    assert cursor is not None and cursor["bulk"]["locator"]
    jobs_before = sum(1 for r in org.fake.requests if r.path.endswith("/jobs/query"))
    resumed = org.sync(source=org.source(bulk_threshold=1000, bulk_page_size=500))
    assert resumed.status == "complete" and resumed.read == 1000
    assert sum(1 for r in org.fake.requests if r.path.endswith("/jobs/query")) == jobs_before  # no new job
    assert org.live_ids() == set(ids)


def test_http_instance_urls_are_honoured(org: Org) -> None:
    org.fake.generate(2)
    org.later(minutes=1)
    assert org.fake.url.startswith("http://")
    assert org.sync().inserted == 2  # simple-salesforce alone would have tried https:// and failed


def test_the_sync_is_recorded_as_a_run(org: Org) -> None:
    import sqlalchemy as sa

    from contacts_store import schema

    org.fake.generate(3)
    org.later(minutes=1)
    result = org.sync()
    with org.engine.connect() as conn:
        run = conn.execute(sa.select(schema.import_runs).where(schema.import_runs.c.kind == "sync")).one()
    assert run.status == "succeeded" and run.counts["inserted"] == 3
    assert str(run.id) == result.run_id


def test_urls_sent_are_what_salesforce_documents(org: Org) -> None:
    org.fake.generate(450)
    org.later(minutes=1)
    org.sync(source=org.source(page_size=200))
    first, second = [r for r in org.fake.requests if r.path.startswith("/services/data/")][:2]
    assert first.path == "/services/data/v59.0/queryAll/"
    assert urlsplit(second.path).path.startswith("/services/data/v59.0/query/")


def test_recorded_org_syncs_every_contact(org: Org, fixtures_dir: Path) -> None:
    ids = org.fake.load_fixture(fixtures_dir / "crm/salesforce/nango_contacts__get_services_data_v59_0_query.json")
    org.at(max(org.fake.get(i)["SystemModstamp"] for i in ids) + timedelta(minutes=1))
    result = org.sync(source=org.source(page_size=200))
    assert result.read == len(ids) == 213 and result.rejected == 0
    assert org.live_ids() == set(ids)
    rose = org.contacts()["003dM00001vWOXJQA4"]
    assert rose["emails"] == ["rose@edge.com"] and rose["phones"] == ["+15127576000", "+15127579340"]
    rerun = org.sync()
    assert rerun.inserted == rerun.updated == rerun.deleted == rerun.writes == 0


def test_a_query_timeout_splits_the_window_and_loses_nothing(org: Org) -> None:
    ids = org.fake.generate(600, step=timedelta(seconds=10))
    org.later(minutes=1)
    org.fake.inject("query_timeout", at=1, times=2)  # the whole window, then its first half, time out
    result = org.sync(source=org.source(page_size=200))
    assert result.status == "complete" and result.inserted == 600
    assert org.live_ids() == set(ids)
    assert org.cursor()["complete"] is True  # type: ignore[index]
    windows = [q for q in soql_of(org) if "SystemModstamp" in q]
    assert len(windows) >= 4 and all("ORDER BY SystemModstamp ASC, Id ASC" in q for q in windows)

    # Incremental windows split the same way.
    org.later(hours=1)
    changed = org.fake.add(LastName="After the split", Email="split@example.com")
    org.later(minutes=1)
    org.fake.inject("query_timeout", at=1)
    assert org.sync().inserted == 1 and changed in org.live_ids()


def test_a_query_that_always_times_out_fails_with_the_reason(org: Org) -> None:
    org.fake.generate(10)
    org.later(minutes=1)
    org.sync()
    org.later(hours=1)
    before = org.cursor()
    org.fake.inject("query_timeout", match="queryAll", times=100)
    with pytest.raises(SourceError, match="QUERY_TIMEOUT"):
        org.sync()
    assert org.cursor() == before
