"""The Zoho CRM asset in-process against the fake organisation, built by the same builder as the other CRMs'."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pytest

from pipelines.resources import ContactStoreResource
from pipelines.zoho_assets import ZohoResource, zoho_contacts, zoho_sync_schedule
from tests.connectors.zoho.conftest import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, T0
from tests.fakes.zoho import FakeZoho


@pytest.fixture
def org(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeZoho]:
    monkeypatch.delenv("CONTACTS_CONNECTIONS_FILE", raising=False)
    monkeypatch.delenv("CONTACTS_CUSTOMER_ID", raising=False)
    monkeypatch.setenv("CONTACTS_HTTP_BACKOFF", "0.01")
    with FakeZoho() as fake:
        fake.add_client(CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN)
        fake.set_clock(T0)
        yield fake


def materialize(db_url: str, org: FakeZoho, refresh_token: str = REFRESH_TOKEN) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [zoho_contacts],
        partition_key="zoho",
        resources={
            "contact_store": ContactStoreResource(database_url=db_url),
            "zoho": ZohoResource(
                client_id=CLIENT_ID, client_secret=CLIENT_SECRET, refresh_token=refresh_token, accounts_url=org.url
            ),
        },
        raise_on_error=False,
    )


def metadata_of(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    (event,) = result.asset_materializations_for_node("zoho_contacts")
    return {key: value.value for key, value in event.metadata.items()}


def test_sync_reports_counts_cursor_and_checks_without_secrets(db_url: str, org: FakeZoho) -> None:
    org.generate(250)
    result = materialize(db_url, org)
    assert result.success
    metadata = metadata_of(result)
    assert metadata["read"] == 250 and metadata["system"] == "zoho" and metadata["status"] == "complete"
    assert metadata["mode"] == "full" and metadata["cursor_after"]["complete"] is True
    assert metadata["api_requests"] == 1 + 2 + 1  # the token, two pages, the deleted list
    assert all(check.passed for check in result.get_asset_check_evaluations())
    shown = json.dumps(metadata, default=str)
    assert REFRESH_TOKEN not in shown and CLIENT_SECRET not in shown


def test_a_revoked_refresh_token_fails_without_retries(db_url: str, org: FakeZoho) -> None:
    result = materialize(db_url, org, refresh_token="1000.revoked-secret")
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.step_failure_data.error.message  # type: ignore[union-attr]
    assert "invalid_code" in message and "revoked-secret" not in message
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]


def test_the_schedule_requests_one_run_per_connection() -> None:
    requests = zoho_sync_schedule(dg.build_schedule_context(scheduled_execution_time=T0))
    assert [r.partition_key for r in requests] == ["zoho"]  # type: ignore[union-attr]
    assert requests[0].run_config == {}  # type: ignore[index,union-attr]
