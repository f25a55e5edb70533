"""The code location loads and validates the way each Dagster entry point loads it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from pipelines.definitions import contact_store
from pipelines.definitions import defs as code_location
from tests.conftest import REPO

BIN = Path(sys.executable).parent


def test_code_location_holds_the_jobs_sensors_and_schedules() -> None:
    dg.Definitions.validate_loadable(code_location)
    repo = code_location.get_repository_def()
    assert {job.name for job in repo.get_all_jobs()} >= {
        "csv_import_job",
        "salesforce_sync_job",
        "hubspot_sync_job",
        "zoho_sync_job",
        "store_maintenance_job",
    }
    assert {sensor.name for sensor in repo.sensor_defs} == {
        "csv_drop_folder_sensor",
        "csv_drop_success_sensor",
        "csv_drop_failure_sensor",
        "csv_drop_canceled_sensor",
    }
    assert sorted(schedule.name for schedule in repo.schedule_defs) == [
        "hubspot_full_resync_schedule",
        "hubspot_sync_schedule",
        "salesforce_full_resync_schedule",
        "salesforce_sync_schedule",
        "store_maintenance_schedule",
        "zoho_full_resync_schedule",
        "zoho_sync_schedule",
    ]
    checks = {key.name for key in repo.asset_graph.asset_check_keys}
    assert checks == {
        "reject_rate",
        "no_duplicate_live_external_ids",
        "shared_phone_numbers",
        "no_sudden_drop_in_live_contacts",
    }


def test_the_store_url_comes_from_the_environment_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTACTS_DATABASE_URL", "postgresql://app:s3cret@db/contacts")
    resource = contact_store()
    assert isinstance(resource.database_url, dg.EnvVar)
    assert str.__str__(resource.database_url) == "CONTACTS_DATABASE_URL"  # the name, not the value
    monkeypatch.delenv("CONTACTS_DATABASE_URL")
    assert contact_store().database_url is None  # the embedded default


def cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONTACTS_", "DAGSTER_"))}
    env["VIRTUAL_ENV"] = str(BIN.parent)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.mark.parametrize(
    "command",
    [
        pytest.param([str(BIN / "dg"), "check", "defs"], id="dg-check-defs"),
        pytest.param([str(BIN / "dagster"), "definitions", "validate", "-w", "workspace.yaml"], id="workspace"),
    ],
)
def test_entry_points_load_the_code_location(command: list[str], tmp_path: Path) -> None:
    env = cli_env()
    env["DAGSTER_HOME"] = str(tmp_path)
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert "loaded successfully" in output or "passed validation" in output, output


def test_the_cli_never_imports_dagster() -> None:
    probe = "import sys, pipelines.cli; print(sorted(m for m in sys.modules if m.split('.')[0] == 'dagster'))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=True)
    assert result.stdout.strip() == "[]"
