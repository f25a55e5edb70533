"""The HubSpot asset in-process against the fake portal, built by the same builder as Salesforce's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pytest

from pipelines.hubspot_assets import HubSpotResource, hubspot_contacts, hubspot_full_resync_schedule
from pipelines.resources import ContactStoreResource
from tests.connectors.hubspot.conftest import T0, TOKEN
from tests.fakes.hubspot import FakeHubSpot


@pytest.fixture
def portal(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHubSpot]:
    monkeypatch.delenv("CONTACTS_CONNECTIONS_FILE", raising=False)
    monkeypatch.delenv("CONTACTS_CUSTOMER_ID", raising=False)
    monkeypatch.setenv("CONTACTS_HTTP_BACKOFF", "0.01")
    with FakeHubSpot() as fake:
        fake.add_token(TOKEN)
        fake.set_clock(T0)
        yield fake


def materialize(db_url: str, portal: FakeHubSpot, token: str = TOKEN) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [hubspot_contacts],
        partition_key="hubspot",
        resources={
            "contact_store": ContactStoreResource(database_url=db_url),
            "hubspot": HubSpotResource(access_token=token, base_url=portal.url),
        },
        raise_on_error=False,
    )


def metadata_of(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    (event,) = result.asset_materializations_for_node("hubspot_contacts")
    return {key: value.value for key, value in event.metadata.items()}


def test_sync_reports_counts_cursor_and_checks(db_url: str, portal: FakeHubSpot) -> None:
    portal.generate(250)
    result = materialize(db_url, portal)
    assert result.success
    metadata = metadata_of(result)
    assert metadata["read"] == 250 and metadata["system"] == "hubspot" and metadata["status"] == "complete"
    assert metadata["dagster/row_count"] == metadata["inserted"]
    assert metadata["cursor_after"]["complete"] is True
    assert all(check.passed for check in result.get_asset_check_evaluations())
    assert TOKEN not in json.dumps(metadata, default=str)


def test_a_refused_token_fails_without_retries(db_url: str, portal: FakeHubSpot) -> None:
    result = materialize(db_url, portal, token="pat-revoked-secret")
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.step_failure_data.error.message  # type: ignore[union-attr]
    assert "HubSpot refused" in message and "pat-revoked-secret" not in message
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]


def test_weekly_full_resync_runs_every_connection_with_full_true() -> None:
    requests = hubspot_full_resync_schedule(dg.build_schedule_context(scheduled_execution_time=T0))
    assert [r.partition_key for r in requests] == ["hubspot"]  # type: ignore[union-attr]
    assert requests[0].run_config == {"ops": {"hubspot_contacts": {"config": {"full": True}}}}  # type: ignore[index,union-attr]
