"""The Salesforce asset in-process against the fake org: metadata, checks, failures, partitions and schedule."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from contacts_store.settings import NIL_CUSTOMER
from pipelines.resources import ContactStoreResource
from pipelines.run_policy import CONNECTION_TAG
from pipelines.salesforce_assets import (
    SalesforceResource,
    salesforce_contacts,
    salesforce_full_resync_schedule,
    salesforce_sync_schedule,
)
from tests.conftest import REPO
from tests.connectors.salesforce.conftest import T0, TOKEN
from tests.fakes.salesforce import FakeSalesforce


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSalesforce]:
    monkeypatch.delenv("CONTACTS_CONNECTIONS_FILE", raising=False)
    monkeypatch.delenv("CONTACTS_CUSTOMER_ID", raising=False)
    monkeypatch.setenv("CONTACTS_HTTP_BACKOFF", "0.01")
    with FakeSalesforce() as fake:
        fake.add_token(TOKEN)
        fake.set_clock(T0)
        yield fake


def materialize(db_url: str, fake: FakeSalesforce, token: str = TOKEN, **config: Any) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [salesforce_contacts],
        partition_key="salesforce",
        resources={
            "contact_store": ContactStoreResource(database_url=db_url),
            "salesforce": SalesforceResource(instance_url=fake.url, access_token=token),
        },
        run_config={"ops": {"salesforce_contacts": {"config": config}}},
        raise_on_error=False,
    )


def metadata_of(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    (event,) = result.asset_materializations_for_node("salesforce_contacts")
    return {key: value.value for key, value in event.metadata.items()}


def test_sync_reports_counts_cursor_and_requests(db_url: str, fake: FakeSalesforce) -> None:
    fake.generate(300, step=timedelta(seconds=1), bad_rate=0.02)
    result = materialize(db_url, fake)
    assert result.success
    metadata = metadata_of(result)
    assert metadata["read"] == 300 and metadata["inserted"] + metadata["rejected"] == 300
    assert metadata["dagster/row_count"] == metadata["inserted"]
    assert metadata["api_requests"] == 1 and metadata["status"] == "complete" and metadata["mode"] == "rest"
    assert metadata["cursor_before"] == {} and metadata["cursor_after"]["complete"] is True
    assert metadata["customer_id"] == str(NIL_CUSTOMER) and metadata["connection"] == "salesforce"
    assert {check.check_name for check in result.get_asset_check_evaluations()} >= {"reject_rate"}
    assert all(check.passed for check in result.get_asset_check_evaluations())
    assert TOKEN not in json.dumps(metadata, default=str)

    fake.update(fake.generate(1)[0], FirstName="Changed")
    again = metadata_of(materialize(db_url, fake))
    assert again["inserted"] == 1 and again["cursor_before"] == metadata["cursor_after"]


def test_a_refused_token_fails_without_retries(db_url: str, fake: FakeSalesforce) -> None:
    fake.generate(3)
    result = materialize(db_url, fake, token="00Dstale!secret")
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.step_failure_data.error.message  # type: ignore[union-attr]
    assert "cannot be refreshed" in message and "00Dstale!secret" not in message
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]


def test_quota_stop_fails_the_run_with_progress_saved(db_url: str, fake: FakeSalesforce) -> None:
    fake.generate(3000, step=timedelta(seconds=1))
    fake.inject("limit", at=2)
    result = materialize(db_url, fake)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "API request limit" in failure.step_failure_data.error.message  # type: ignore[union-attr]
    resumed = materialize(db_url, fake)
    assert resumed.success and metadata_of(resumed)["dagster/row_count"] == 3000


def test_schedule_asks_for_one_run_per_connection_with_its_tag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    customers = [uuid.uuid4(), uuid.uuid4()]
    path = tmp_path / "connections.yaml"
    path.write_text(
        "connections:\n"
        + "".join(f"  - {{name: c{n}, system: salesforce, customer_id: {c}}}\n" for n, c in enumerate(customers))
    )
    monkeypatch.setenv("CONTACTS_CONNECTIONS_FILE", str(path))
    context = dg.build_schedule_context(scheduled_execution_time=T0)
    requests = salesforce_sync_schedule(context)
    assert [r.partition_key for r in requests] == ["c0", "c1"]  # type: ignore[union-attr]
    assert [r.tags[CONNECTION_TAG] for r in requests] == [f"{c}:salesforce" for c in customers]  # type: ignore[union-attr]
    assert len({r.run_key for r in requests}) == 2  # type: ignore[union-attr]
    assert all(not r.run_config for r in requests)  # type: ignore[union-attr]

    weekly = salesforce_full_resync_schedule(context)
    assert [r.partition_key for r in weekly] == ["c0", "c1"]  # type: ignore[union-attr]
    assert all(r.run_config == {"ops": {"salesforce_contacts": {"config": {"full": True}}}} for r in weekly)  # type: ignore[union-attr]
    assert not {r.run_key for r in weekly} & {r.run_key for r in requests}  # type: ignore[union-attr]


def test_connections_file_defines_the_partitions(tmp_path: Path) -> None:
    path = tmp_path / "connections.yaml"
    path.write_text(
        f"connections:\n  - {{name: acme, system: salesforce, customer_id: {uuid.uuid4()}}}\n"
        f"  - {{name: globex, system: salesforce, customer_id: {uuid.uuid4()}}}\n"
    )
    env = {**os.environ, "CONTACTS_CONNECTIONS_FILE": str(path)}
    code = "from pipelines.salesforce_assets import connections_partitions as p; print(p.get_partition_keys())"
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['acme', 'globex']"
