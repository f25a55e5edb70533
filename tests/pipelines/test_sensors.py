"""Sensor and schedule evaluation with built contexts, then the requested runs executed for real.

A dropped file goes: sensor tick -> run request -> CSV import run -> run-status sensor -> done/ or failed/.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from contacts_store import schema
from contacts_store.db import create_engine
from pipelines.csv_assets import csv_contacts, csv_import_job
from pipelines.maintenance import store_maintenance_job, store_maintenance_schedule
from pipelines.resources import ContactStoreResource
from pipelines.run_policy import CONNECTION_TAG
from pipelines.sensors import DROP_FILE_TAG, csv_drop_folder_sensor, drop_outcome_sensors, file_away
from tests.conftest import count_rows

GOOD = "first_name,last_name,mobile_phone,email\nAnn,Lee,+1 201 555 0123,ann@example.com\nBob,Ray,,bob@example.com\n"


@pytest.fixture
def drop_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "incoming"
    monkeypatch.setenv("CONTACTS_DROP_DIR", str(root))
    monkeypatch.setenv("CONTACTS_DROP_SETTLE_SECONDS", "5")
    monkeypatch.delenv("CONTACTS_CUSTOMER_ID", raising=False)
    return root


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


def drop(path: Path, text: str = GOOD, age: float = 60.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))
    return path


def tick(instance: dg.DagsterInstance) -> list[dg.RunRequest]:
    result = csv_drop_folder_sensor(dg.build_sensor_context(instance=instance))
    if isinstance(result, dg.SkipReason):
        return []
    assert isinstance(result, dg.SensorResult)
    return list(result.run_requests or [])


def run(request: dg.RunRequest, db_url: str, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    job = dg.Definitions(
        assets=[csv_contacts],
        jobs=[csv_import_job],
        resources={"contact_store": ContactStoreResource(database_url=db_url)},
    ).resolve_job_def("csv_import_job")
    return job.execute_in_process(
        run_config=request.run_config, tags=request.tags, instance=instance, raise_on_error=False
    )


def settle(result: dg.ExecuteInProcessResult, instance: dg.DagsterInstance) -> None:
    """What the run-status sensors do once the daemon sees the run end."""
    status = result.dagster_run.status
    sensor = next(s for s in drop_outcome_sensors if s.name == f"csv_drop_{status.value.lower()}_sensor")
    event = result.get_run_success_event() if result.success else result.get_run_failure_event()
    context = dg.build_run_status_sensor_context(
        sensor_name=sensor.name, dagster_event=event, dagster_instance=instance, dagster_run=result.dagster_run
    )
    sensor(context)


def test_new_file_is_imported_once_and_filed_under_done(
    db_url: str, drop_root: Path, instance: dg.DagsterInstance
) -> None:
    customer = uuid.uuid4()
    path = drop(drop_root / str(customer) / "crm-export.csv")

    (request,) = tick(instance)
    assert request.tags[CONNECTION_TAG] == f"{customer}:csv"
    assert request.tags[DROP_FILE_TAG] == str(path)
    config = request.run_config["ops"]["csv_contacts"]["config"]
    assert config["path"] == str(path) and config["customer_id"] == str(customer)
    (again,) = tick(instance)  # an unchanged file asks for the same run key: Dagster launches it once
    assert again.run_key == request.run_key

    result = run(request, db_url, instance)
    assert result.success
    engine = create_engine(db_url)
    try:
        assert count_rows(engine, schema.contacts, customer_id=customer) == 2
    finally:
        engine.dispose()
    settle(result, instance)
    assert (drop_root / str(customer) / "done" / "crm-export.csv").exists()
    assert not path.exists()
    assert not (drop_root / str(customer) / "done" / "crm-export.rejects.csv").exists()  # nothing rejected
    assert tick(instance) == []


def test_changed_file_gets_a_new_run_key(drop_root: Path, instance: dg.DagsterInstance) -> None:
    path = drop(drop_root / "a.csv", age=120)
    (first,) = tick(instance)
    drop(path, GOOD + "Cy,Do,,cy@example.com\n", age=30)
    (second,) = tick(instance)
    assert second.run_key != first.run_key


def test_half_written_file_is_left_alone_until_it_settles(drop_root: Path, instance: dg.DagsterInstance) -> None:
    path = drop(drop_root / "big.csv", text="first_name,email\nAnn,ann@exa", age=0)
    skipped = csv_drop_folder_sensor(dg.build_sensor_context(instance=instance))
    assert isinstance(skipped, dg.SkipReason)
    assert "1 still being written" in (skipped.skip_message or "")
    drop(path, text=GOOD, age=30)
    assert [r.tags[DROP_FILE_TAG] for r in tick(instance)] == [str(path)]


def test_bad_file_is_filed_under_failed_with_its_reason(
    db_url: str, drop_root: Path, instance: dg.DagsterInstance
) -> None:
    path = drop_root / "photo.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    os.utime(path, (time.time() - 60, time.time() - 60))
    (request,) = tick(instance)
    result = run(request, db_url, instance)
    assert not result.success
    settle(result, instance)
    assert (drop_root / "failed" / "photo.csv").exists()


def test_rejects_report_lands_beside_the_imported_file(
    db_url: str, drop_root: Path, instance: dg.DagsterInstance
) -> None:
    drop(drop_root / "mixed.csv", GOOD + "Cy,Do,12,\n")
    (request,) = tick(instance)
    result = run(request, db_url, instance)
    assert result.success
    settle(result, instance)
    report = drop_root / "done" / "mixed.rejects.csv"
    assert "invalid_phone" in report.read_text(encoding="utf-8-sig")
    assert not any((drop_root / ".work").iterdir())


def test_runs_launched_by_hand_are_ignored_by_the_outcome_sensors(
    db_url: str, tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    path = drop(tmp_path / "by-hand.csv")
    request = dg.RunRequest(run_config={"ops": {"csv_contacts": {"config": {"path": str(path)}}}})
    result = run(request, db_url, instance)
    assert result.success and result.dagster_run.tags[CONNECTION_TAG] == "csv:manual"
    settle(result, instance)
    assert path.exists()


def test_maintenance_schedule_prunes_old_run_history(
    db_url: str, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CONTACTS_RETENTION_DAYS", "30")
    when = datetime(2026, 11, 27, 3, 17, tzinfo=UTC)
    request = store_maintenance_schedule(dg.build_schedule_context(instance=instance, scheduled_execution_time=when))
    assert isinstance(request, dg.RunRequest)
    assert request.run_key == "2026-11-27"
    assert request.run_config == {"ops": {"prune_run_history_op": {"config": {"keep_days": 30}}}}

    # Two runs with rejects: one old, one recent.
    engine = create_engine(db_url)
    old, recent = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    try:
        with engine.begin() as conn:
            for run_id, ended in ((old, now - timedelta(days=45)), (recent, now - timedelta(days=3))):
                conn.execute(
                    schema.import_runs.insert().values(
                        id=run_id,
                        customer_id=uuid.uuid4(),
                        external_system="csv",
                        kind="csv",
                        status="succeeded",
                        tm_start=ended,
                        tm_end=ended,
                    )
                )
                conn.execute(
                    schema.rejects.insert(),
                    [
                        dict(
                            run_id=run_id,
                            customer_id=uuid.uuid4(),
                            external_system="csv",
                            reason="x",
                            message="m",
                            tm_create=ended,
                        )
                        for _ in range(3)
                    ],
                )
        result = store_maintenance_job.execute_in_process(
            run_config=request.run_config,
            resources={"contact_store": ContactStoreResource(database_url=db_url)},
            instance=instance,
        )
        assert result.success
        with engine.connect() as conn:
            runs = set(conn.execute(sa.select(schema.import_runs.c.id)).scalars())
            rejects = set(conn.execute(sa.select(schema.rejects.c.run_id)).scalars())
        assert runs == {recent} and rejects == {recent}
    finally:
        engine.dispose()


def test_a_failed_run_that_will_be_retried_leaves_the_file_for_its_retry(
    db_url: str, drop_root: Path, instance: dg.DagsterInstance
) -> None:
    path = drop_root / "flaky.csv"
    drop(path, "\x00\x01binary")
    (request,) = tick(instance)
    result = run(request, db_url, instance)
    assert not result.success
    retrying = result.dagster_run.with_tags({**result.dagster_run.tags, "dagster/will_retry": "true"})
    assert file_away(retrying, "failed") is None and path.exists()
    assert file_away(result.dagster_run, "failed") == drop_root / "failed" / "flaky.csv"
