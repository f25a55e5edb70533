"""The CSV asset in-process on SQLite and PostgreSQL: counts, metadata, masking, checks and failure handling."""

from __future__ import annotations

import csv
import time
import uuid
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa

from contacts_store import schema
from contacts_store.db import create_engine
from pipelines.checks import (
    DUPLICATE_EXTERNAL_IDS,
    LIVE_CONTACTS_DROP,
    REJECT_RATE,
    SHARED_PHONE_NUMBERS,
    CheckInput,
    QualityThresholds,
    check_live_drop,
)
from pipelines.csv_assets import csv_contacts
from pipelines.csv_import import import_csv
from pipelines.resources import ContactStoreResource
from tests.conftest import REPO, count_rows

EXAMPLE = REPO / "examples" / "contacts.csv"
HEADER = ["id", "first_name", "last_name", "mobile_phone", "email"]


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([HEADER, *rows])
    return path


def materialize(db_url: str, path: Path, **config: Any) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [csv_contacts],
        resources={"contact_store": ContactStoreResource(database_url=db_url)},
        run_config={"ops": {"csv_contacts": {"config": {"path": str(path), **config}}}},
        raise_on_error=False,
    )


def metadata_of(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    (event,) = result.asset_materializations_for_node("csv_contacts")
    return {key: value.value for key, value in event.metadata.items()}


def checks_of(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {check.check_name: check for check in result.get_asset_check_evaluations()}


def test_materializes_the_same_counts_as_the_cli_import(db_url: str, tmp_path: Path) -> None:
    customer = uuid.uuid4()
    result = materialize(db_url, EXAMPLE, customer_id=str(customer), rejects_path=str(tmp_path / "r.csv"))
    assert result.success
    meta = metadata_of(result)

    # The same file through the CLI's function, for another customer, gives the same counts.
    reference = import_csv(EXAMPLE, db_url, customer_id=uuid.uuid4())
    for key in ("read", "inserted", "updated", "unchanged", "deleted", "rejected", "values_rejected"):
        assert meta[key] == getattr(reference, key), key
    assert meta["read"] == meta["inserted"] + meta["updated"] + meta["unchanged"] + meta["rejected"]
    engine = create_engine(db_url)
    try:
        live = count_rows(engine, schema.contacts, customer_id=customer)
    finally:
        engine.dispose()
    assert meta["dagster/row_count"] == meta["live_contacts"] == live == reference.inserted
    assert meta["duration_seconds"] > 0 and meta["rows_per_second"] > 0
    assert meta["customer_id"] == str(customer)
    assert meta["rejects_report"] == str(tmp_path / "r.csv")
    assert (tmp_path / "r.csv").exists()
    assert all(check.passed for check in checks_of(result).values())
    assert set(checks_of(result)) == {REJECT_RATE, DUPLICATE_EXTERNAL_IDS, SHARED_PHONE_NUMBERS, LIVE_CONTACTS_DROP}


def test_second_run_of_the_same_file_changes_nothing(db_url: str) -> None:
    customer = str(uuid.uuid4())
    assert materialize(db_url, EXAMPLE, customer_id=customer).success
    again = metadata_of(materialize(db_url, EXAMPLE, customer_id=customer))
    assert again["inserted"] == 0 and again["updated"] == 0
    assert again["unchanged"] == again["read"] - again["rejected"]


def test_reject_reasons_table_masks_personal_data(db_url: str, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "bad.csv",
        [
            ["1", "Ann", "Lee", "+1 201 555 0123", "ann@example.com"],
            ["2", "Bob", "Ray", "12345", "bob.ray@example"],
            ["3", "", "", "555 019", "not-an-email"],
        ],
    )
    result = materialize(db_url, path)
    assert result.success
    table = metadata_of(result)["top_reject_reasons"]
    assert "| invalid_phone | 1 |" in table and "| invalid_email | 1 |" in table
    assert "| no_usable_fields | 1 | row 4 |" in table
    for secret in ("12345", "bob.ray", "555 019", "not-an-email"):
        assert secret not in table
    assert "•••45" in table and "b••••••@example" in table


def test_reject_rate_warns_then_fails_above_the_second_threshold(db_url: str, tmp_path: Path) -> None:
    rows = [[str(i), f"N{i}", "X", "+12015550123", f"n{i}@example.com"] for i in range(8)]
    rows += [[str(i), "", "", "1", "x"] for i in range(8, 10)]  # 2 of 10 rejected: 20 %
    path = write_csv(tmp_path / "some-bad.csv", rows)

    warned = materialize(db_url, path, checks={"reject_rate_warn": 0.1, "reject_rate_fail": 0.5})
    assert warned.success
    check = checks_of(warned)[REJECT_RATE]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["reject_rate"].value == pytest.approx(0.2)

    failed = materialize(db_url, path, checks={"reject_rate_warn": 0.05, "reject_rate_fail": 0.15})
    assert not failed.success  # a blocking check failing with ERROR severity fails the run
    check = checks_of(failed)[REJECT_RATE]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR


def test_shared_phone_numbers_warn_without_failing(db_url: str, tmp_path: Path) -> None:
    rows = [[str(i), f"Desk {i}", "Corp", "+1 201 555 0100", ""] for i in range(4)]
    result = materialize(db_url, write_csv(tmp_path / "switchboard.csv", rows), checks={"shared_phone_max_contacts": 3})
    assert result.success
    check = checks_of(result)[SHARED_PHONE_NUMBERS]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["numbers_over_limit"].value == 1
    assert "0100" not in check.metadata["most_shared"].value  # masked: only the last two digits show
    assert "| 4 |" in check.metadata["most_shared"].value

    fine = materialize(db_url, write_csv(tmp_path / "switchboard.csv", rows), checks={"shared_phone_max_contacts": 4})
    assert checks_of(fine)[SHARED_PHONE_NUMBERS].passed


def test_duplicate_live_external_ids_fail_the_run(db_url: str, tmp_path: Path) -> None:
    customer = uuid.uuid4()
    path = write_csv(tmp_path / "people.csv", [["7", "Ann", "Lee", "+12015550123", "ann@example.com"]])
    assert materialize(db_url, path, customer_id=str(customer)).success

    # Simulate a store whose unique index was lost: a second live contact with the same external id.
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP INDEX uq_contacts_live_external_id"))
            row = conn.execute(sa.select(schema.contacts).where(schema.contacts.c.customer_id == customer)).one()
            conn.execute(schema.contacts.insert().values({**row._asdict(), "id": uuid.uuid4(), "source_hash": None}))
        result = materialize(db_url, path, customer_id=str(customer))
    finally:
        with engine.begin() as conn:
            conn.execute(schema.contacts.delete().where(schema.contacts.c.customer_id == customer))
        from contacts_store.db import repair_indexes

        repair_indexes(engine)
        engine.dispose()
    assert not result.success
    check = checks_of(result)[DUPLICATE_EXTERNAL_IDS]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["duplicated_external_ids"].value == 1
    assert "| 7 | 2 |" in check.metadata["worst"].value


def test_live_drop_check_fails_past_its_threshold() -> None:
    from contacts_store.ingest_model import IngestCounts

    thresholds = QualityThresholds(live_drop_max=0.2)
    small = check_live_drop("a", CheckInput(uuid.uuid4(), "crm", IngestCounts(), 100, 85), thresholds)
    big = check_live_drop("a", CheckInput(uuid.uuid4(), "crm", IngestCounts(), 100, 70), thresholds)
    growth = check_live_drop("a", CheckInput(uuid.uuid4(), "crm", IngestCounts(), 0, 70), thresholds)
    assert small.passed and growth.passed
    assert not big.passed and big.severity == dg.AssetCheckSeverity.ERROR
    assert big.metadata["dropped_share"].value == pytest.approx(0.3)


def test_bad_input_fails_at_once_without_retries(db_url: str, tmp_path: Path) -> None:
    started = time.monotonic()
    result = materialize(db_url, tmp_path / "missing.csv")
    assert not result.success
    assert time.monotonic() - started < 10  # the retry policy waits 10 s before a first retry
    failures = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert len(failures) == 1
    assert "missing.csv not found" in str(failures[0].step_failure_data.error)
    assert not [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]


def test_a_bad_customer_id_is_a_clear_failure(db_url: str) -> None:
    result = materialize(db_url, EXAMPLE, customer_id="acme")
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    assert "customer_id 'acme' is not a UUID" in str(failure.step_failure_data.error)


def test_metadata_never_shows_the_database_password(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    resource = ContactStoreResource(database_url="postgresql://app:s3cret@db.internal/contacts")
    assert resource.database_url is not None and "s3cret" in resource.database_url
    with dg.build_resources({"store": ContactStoreResource(database_url=url)}) as resources:
        assert resources.store.display_url() == url
    from sqlalchemy.engine import make_url

    assert "s3cret" not in make_url(resource.database_url).render_as_string(hide_password=True)
