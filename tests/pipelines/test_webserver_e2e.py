"""The deployed stack end to end: dagster-webserver and dagster-daemon on the shipped instance config.

The test then drops a file into the drop folder and waits for the daemon's sensors to import it and file it
under done/: sensor tick, run key, queued run, run-status sensor, all in the real processes.

The other pipeline tests execute the asset in process. This one launches `csv_import_job` through the
webserver's GraphQL API the way the UI does, so the run goes through the queued run coordinator, the daemon and
a separate run worker, against the instance config that is deployed (deploy/dagster.yaml with PostgreSQL when
CONTACTS_TEST_DATABASE_URL is set, deploy/dagster.local.yaml with SQLite otherwise). It then checks the
contacts in the store and the materialization and check results the webserver reports.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.engine import make_url

from contacts_store.db import create_engine, upgrade
from contacts_store.schema import contacts
from tests.conftest import PG_ENV, REPO, truncate_store

EXAMPLE = REPO / "examples" / "contacts.csv"
LOCATION = "contact_sync"
REPOSITORY = "__repository__"
JOB = "csv_import_job"
ASSET = "csv_contacts"
CHECKS = {
    "reject_rate",
    "no_duplicate_live_external_ids",
    "shared_phone_numbers",
    "no_sudden_drop_in_live_contacts",
}
STARTUP_TIMEOUT = 90.0
RUN_TIMEOUT = 120.0
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}
# The webserver is on 127.0.0.1: never send its requests through a proxy named in the environment.
HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Stack:
    """A running webserver and daemon on one Dagster instance, and the contact store their runs write to."""

    graphql_url: str
    contacts_url: str
    drop_dir: Path
    processes: dict[str, subprocess.Popen[bytes]]
    logs: dict[str, Path]

    def tails(self, chars: int = 4000) -> str:
        parts = []
        for name, path in self.logs.items():
            text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
            parts.append(f"--- {name} ({path}), last {chars} characters ---\n{text[-chars:]}")
        return "\n".join(parts)

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            code = process.poll()
            assert code is None, f"{name} exited with status {code}\n{self.tails()}"

    def query(self, query: str, variables: dict[str, Any] | None = None, timeout: float = 30.0) -> dict[str, Any]:
        """POST one GraphQL request; the response's `data`, or an assertion error with its `errors`."""
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            self.graphql_url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with HTTP.open(request, timeout=timeout) as response:
                payload = json.loads(response.read())
        except urllib.error.HTTPError as error:
            with error:
                detail = error.read().decode(errors="replace")
            raise AssertionError(f"GraphQL HTTP {error.code}: {detail}\n{self.tails()}") from None
        assert not payload.get("errors"), f"GraphQL errors: {json.dumps(payload, indent=2)}\n{self.tails()}"
        return dict(payload["data"])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fresh_dagster_database(contacts_url: str) -> str:
    """Drop and create `<contact store db>_dagster` on the same server; its psycopg2 URL for DAGSTER_PG_URL."""
    url = make_url(contacts_url)
    name = f"{url.database}_dagster"
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return url.set(drivername="postgresql+psycopg2", database=name).render_as_string(hide_password=False)


def drop_dagster_database(dagster_url: str) -> None:
    url = make_url(dagster_url)
    assert url.database
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(url.database)))


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate the process and everything in its session (code servers, run workers)."""
    for sig, wait in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=wait)
            break
    # The leader is gone; no child it left behind may keep running.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    drop_dir = tmp_path / "drop"
    drop_dir.mkdir()
    env = dict(os.environ)
    env.update(
        DAGSTER_HOME=str(home), CONTACTS_DROP_DIR=str(drop_dir), CONTACTS_DROP_SETTLE_SECONDS="1", PYTHONUNBUFFERED="1"
    )
    dagster_url: str | None = None
    if os.environ.get(PG_ENV):
        contacts_url = str(request.getfixturevalue("pg_url"))
        upgrade(contacts_url)
        engine = create_engine(contacts_url)
        truncate_store(engine)
        engine.dispose()
        dagster_url = fresh_dagster_database(contacts_url)
        env["DAGSTER_PG_URL"] = dagster_url
        shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
    else:
        contacts_url = f"sqlite:///{tmp_path / 'contacts.db'}"
        env.pop("DAGSTER_PG_URL", None)
        shutil.copy(REPO / "deploy" / "dagster.local.yaml", home / "dagster.yaml")
    env["CONTACTS_DATABASE_URL"] = contacts_url

    bin_dir = Path(sys.executable).parent
    port = free_port()
    commands = {
        "dagster-daemon": [str(bin_dir / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        "dagster-webserver": [
            str(bin_dir / "dagster-webserver"),
            *("-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)),
        ],
    }
    logs = {name: tmp_path / f"{name}.log" for name in commands}
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        # Create the instance's storage before the services start: the webserver, the daemon and their code
        # servers would otherwise create a fresh SQLite instance concurrently and can stamp its alembic_version
        # table twice ("Version table 'alembic_version' has more than one head present").
        migrate_log = tmp_path / "dagster-instance-migrate.log"
        with migrate_log.open("wb") as log:
            migrate = subprocess.run(
                [str(bin_dir / "dagster"), "instance", "migrate"],
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=STARTUP_TIMEOUT,
                check=False,
            )
        assert migrate.returncode == 0, f"dagster instance migrate failed:\n{migrate_log.read_text(errors='replace')}"
        for name, command in commands.items():
            with logs[name].open("wb") as log:
                processes[name] = subprocess.Popen(
                    command,
                    cwd=REPO,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        yield Stack(f"http://127.0.0.1:{port}/graphql", contacts_url, drop_dir, processes, logs)
    finally:
        for process in processes.values():
            stop(process)
        if dagster_url is not None:
            drop_dagster_database(dagster_url)


WORKSPACE_QUERY = """
query {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on PythonError { message stack }
          ... on RepositoryLocation { repositories { name jobs { name } } }
        }
      }
    }
    ... on PythonError { message stack }
  }
}
"""

LAUNCH_MUTATION = """
mutation Launch($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on RunConfigValidationInvalid { errors { message reason } }
    ... on PythonError { message stack }
    ... on Error { message }
  }
}
"""

RUN_QUERY = """
query Run($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { status }
    ... on Error { message }
  }
}
"""

LOGS_QUERY = """
query Logs($runId: ID!) {
  logsForRun(runId: $runId, limit: 1000) {
    __typename
    ... on EventConnection {
      events {
        __typename
        ... on MessageEvent { message level stepKey }
        ... on ExecutionStepFailureEvent { error { message stack } }
        ... on RunFailureEvent { error { message stack } }
        ... on EngineEvent { error { message stack } }
      }
    }
    ... on Error { message }
  }
}
"""

ASSET_QUERY = """
query Asset($path: [String!]!) {
  assetOrError(assetKey: {path: $path}) {
    __typename
    ... on Asset {
      assetMaterializations(limit: 1) {
        runId
        metadataEntries {
          label
          ... on IntMetadataEntry { intValue }
        }
      }
      definition {
        assetChecksOrError {
          __typename
          ... on AssetChecks {
            checks {
              name
              executionForLatestMaterialization { runId status evaluation { success severity } }
            }
          }
        }
      }
    }
    ... on Error { message }
  }
}
"""


def wait_for_location(stack: Stack) -> None:
    """Until the webserver answers GraphQL and has loaded the code location with the job."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last = "no answer yet"
    while time.monotonic() < deadline:
        stack.check_alive()
        try:
            data = stack.query(WORKSPACE_QUERY, timeout=5.0)
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            last = repr(error)
            time.sleep(0.5)
            continue
        workspace = data["workspaceOrError"]
        assert workspace["__typename"] == "Workspace", f"workspace failed to load: {workspace}\n{stack.tails()}"
        entries = {entry["name"]: entry for entry in workspace["locationEntries"]}
        entry = entries.get(LOCATION)
        last = json.dumps(entry or workspace)
        if entry is not None and entry["loadStatus"] == "LOADED":
            location = entry["locationOrLoadError"]
            assert location and location["__typename"] == "RepositoryLocation", (
                f"{LOCATION} failed to load: {json.dumps(location, indent=2)}\n{stack.tails()}"
            )
            jobs = {job["name"] for repo in location["repositories"] for job in repo["jobs"]}
            assert JOB in jobs, f"{JOB} not in {LOCATION}: {sorted(jobs)}"
            return
        time.sleep(0.5)
    raise AssertionError(f"{LOCATION} not loaded after {STARTUP_TIMEOUT:.0f} s: {last}\n{stack.tails()}")


def run_events(stack: Stack, run_id: str) -> str:
    data = stack.query(LOGS_QUERY, {"runId": run_id})["logsForRun"]
    lines = []
    for event in data.get("events", []):
        line = f"{event['__typename']} [{event.get('level')}] {event.get('stepKey') or ''}: {event.get('message')}"
        if event.get("error"):
            line += f"\n{event['error']['message']}{''.join(event['error'].get('stack') or [])}"
        lines.append(line)
    return "\n".join(lines) or json.dumps(data)


def wait_for_run(stack: Stack, run_id: str) -> str:
    deadline = time.monotonic() + RUN_TIMEOUT
    status = "unknown"
    while time.monotonic() < deadline:
        result = stack.query(RUN_QUERY, {"runId": run_id})["runOrError"]
        assert result["__typename"] == "Run", f"run {run_id}: {result}"
        status = result["status"]
        if status in FINISHED:
            return str(status)
        stack.check_alive()
        time.sleep(1.0)
    raise AssertionError(
        f"run {run_id} still {status} after {RUN_TIMEOUT:.0f} s\n{run_events(stack, run_id)}\n{stack.tails()}"
    )


def live_contacts(url: str, customer: uuid.UUID) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            query = sa.select(sa.func.count()).where(contacts.c.customer_id == customer, contacts.c.tm_delete.is_(None))
            return int(conn.execute(query).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.slow
def test_csv_import_launched_through_the_webserver(stack: Stack, tmp_path: Path) -> None:
    wait_for_location(stack)
    customer = uuid.uuid4()
    config = {
        "path": str(EXAMPLE),
        "customer_id": str(customer),
        "system": "csv",
        "region": "US",
        "rejects_path": str(tmp_path / "rejects.csv"),
    }
    params = {
        "selector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "jobName": JOB},
        "runConfigData": {"ops": {ASSET: {"config": config}}},
    }
    launched = stack.query(LAUNCH_MUTATION, {"executionParams": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", f"launchRun: {json.dumps(launched, indent=2)}"
    run_id = launched["run"]["runId"]
    assert run_id, f"launchRun returned no run id: {launched}"

    status = wait_for_run(stack, run_id)
    assert status == "SUCCESS", f"run {run_id} ended {status}\n{run_events(stack, run_id)}\n{stack.tails()}"

    live = live_contacts(stack.contacts_url, customer)
    assert live == 380, f"{live} live contacts for {customer}\n{run_events(stack, run_id)}"
    assert (tmp_path / "rejects.csv").is_file()

    asset = stack.query(ASSET_QUERY, {"path": [ASSET]})["assetOrError"]
    assert asset["__typename"] == "Asset", f"assetOrError: {asset}"
    [materialization] = asset["assetMaterializations"]
    assert materialization["runId"] == run_id
    metadata = {entry["label"]: entry.get("intValue") for entry in materialization["metadataEntries"]}
    assert (metadata.get("inserted"), metadata.get("rejected")) == (380, 6), metadata

    checks_or_error = asset["definition"]["assetChecksOrError"]
    assert checks_or_error["__typename"] == "AssetChecks", checks_or_error
    executions = {check["name"]: check["executionForLatestMaterialization"] for check in checks_or_error["checks"]}
    assert set(executions) == CHECKS
    for name, execution in executions.items():
        assert execution is not None, f"check {name} has no execution for the latest materialization"
        assert (execution["runId"], execution["status"]) == (run_id, "SUCCEEDED"), f"check {name}: {execution}"

    # The drop folder, through the daemon: the sensor launches a run, the success sensor files the file away.
    dropped_for = uuid.uuid4()
    folder = stack.drop_dir / str(dropped_for)
    folder.mkdir()
    dropped = folder / "export.csv"
    shutil.copy(EXAMPLE, dropped)
    os.utime(dropped, (time.time() - 5, time.time() - 5))
    done = folder / "done" / "export.csv"
    deadline = time.monotonic() + RUN_TIMEOUT
    while not done.exists() and time.monotonic() < deadline:
        stack.check_alive()
        time.sleep(1.0)
    assert done.exists(), f"{dropped} was not filed under done/: {sorted(map(str, folder.rglob('*')))}\n{stack.tails()}"
    assert (folder / "done" / "export.rejects.csv").is_file() and not dropped.exists()
    assert live_contacts(stack.contacts_url, dropped_for) == 380
