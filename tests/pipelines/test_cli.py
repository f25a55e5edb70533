"""The `contact-sync` command as a user runs it: real processes, exit codes, one JSON object, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.fakes.hubspot import FakeHubSpot
from tests.fakes.salesforce import FakeSalesforce
from tests.fakes.zoho import FakeZoho

EXAMPLE = REPO / "examples" / "contacts.csv"
CLI = [sys.executable, "-m", "pipelines.cli"]


def run(
    *args: str, db: str, customer: str | None = None, check: bool = False, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONTACTS_", "SALESFORCE_", "HUBSPOT_"))}
    env.update(extra_env or {})
    env["CONTACTS_DATABASE_URL"] = db
    if customer:
        env["CONTACTS_CUSTOMER_ID"] = customer
    result = subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_import_json_then_lookup(db: str, tmp_path: Path) -> None:
    rejects = tmp_path / "rejects.csv"
    result = run("import", str(EXAMPLE), "--json", "--rejects", str(rejects), db=db, check=True)
    summary = json.loads(result.stdout)
    for key in ("read", "inserted", "updated", "unchanged", "rejected", "seconds"):
        assert key in summary
    assert summary["read"] == 400 and summary["inserted"] > 350
    assert rejects.exists()

    found = run("lookup", "--phone", "+49 1506 1964631", "--json", db=db, check=True)
    contact = json.loads(found.stdout)
    assert contact["last_name"] == "Müller" and contact["customer_id"] == str(uuid.UUID(int=0))
    assert contact["phone_numbers"][0]["number_e164"].startswith("+49")
    assert set(contact) >= {"id", "first_name", "company", "source", "external_id", "emails", "tags", "tm_create"}

    text = run("lookup", "--email", "MÜLLER@BÜCHER.DE", db=db, check=True)
    assert "Müller" in text.stdout


def test_lookup_miss_is_exit_1_with_an_error_object(db: str) -> None:
    run("db", "upgrade", db=db, check=True)
    result = run("lookup", "--phone", "+1 201 555 0199", "--json", db=db)
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"]["reason"] == "not_found"


def test_tenants_do_not_see_each_other(db: str) -> None:
    tenant = str(uuid.uuid4())
    run("import", str(EXAMPLE), "--json", db=db, customer=tenant, check=True)
    assert run("lookup", "--email", "james.smith1@icloud.com", "--json", db=db).returncode == 1
    assert run("lookup", "--email", "james.smith1@icloud.com", "--customer", tenant, db=db).returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["import", "missing.csv"], "not found"),
        (["import", "examples"], "directory"),
        (["import", "pyproject.toml"], "column"),
        (["import", "examples/contacts.csv", "--region", "Atlantis"], "region"),
        (["import", "examples/contacts.csv", "--customer", "not-a-uuid"], "UUID"),
        (["lookup"], "exactly one"),
        (["lookup", "--phone", "12"], "not a valid phone number"),
        (["lookup", "--email", "nobody@"], "not a valid email"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(db: str, args: list[str], message: str) -> None:
    result = run(*args, db=db)
    assert result.returncode not in (0, 1) or args[0] == "lookup"
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message.lower() in lines[0].lower(), result.stderr


def test_binary_and_empty_files(db: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    binary = tmp_path / "bin.csv"
    binary.write_bytes(bytes(range(256)) * 8)
    for path in (empty, binary):
        result = run("import", str(path), "--json", db=db)
        assert result.returncode == 2
        assert json.loads(result.stdout)["error"]["message"]


def test_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    result = run("lookup", "--email", "a@example.com", db="postgresql://nobody@127.0.0.1:1/none")
    assert result.returncode == 3
    assert result.stderr.startswith("error: database error")


def test_help_is_fast_and_lists_commands() -> None:
    result = subprocess.run([*CLI, "--help"], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0
    for command in ("import", "lookup", "db"):
        assert command in result.stdout
    modules = subprocess.run(
        [sys.executable, "-c", "import sys, pipelines.cli; print(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    ).stdout.split()
    for heavy in ("dagster", "pandas", "sqlalchemy", "phonenumbers", "rich.console"):
        assert heavy not in modules, heavy


def test_db_prune_keeps_recent_run_history(db: str) -> None:
    run("import", str(EXAMPLE), db=db, check=True)
    kept = json.loads(run("db", "prune", "--keep-days", "1", "--json", db=db, check=True).stdout)
    assert kept == {"runs": 0, "rejects": 0, "keep_days": 1}
    bad = run("db", "prune", "--keep-days", "0", db=db)
    assert bad.returncode == 2 and "--keep-days" in bad.stderr


def test_tokens_are_printed_once_listed_without_the_secret_and_revoked(db: str) -> None:
    customer = str(uuid.uuid4())
    created = json.loads(
        run("token", "create", "--name", "widget", "--customer", customer, "--json", db=db, check=True).stdout
    )
    assert created["token"].startswith("cs_") and created["customer_id"] == customer
    listed = json.loads(run("token", "list", "--json", db=db, check=True).stdout)["tokens"]
    assert [(t["id"], t["name"], t["tm_revoke"]) for t in listed] == [(created["id"], "widget", None)]
    assert created["token"] not in json.dumps(listed)
    run("token", "revoke", created["id"], db=db, check=True)
    assert json.loads(run("token", "list", "--json", db=db, check=True).stdout)["tokens"][0]["tm_revoke"]
    again = run("token", "revoke", created["id"], db=db)
    assert again.returncode == 1 and "no live token" in again.stderr


def test_serve_answers_lookups_over_http(db: str) -> None:
    import socket
    import time
    import urllib.request

    run("import", str(EXAMPLE), db=db, check=True)
    token = run("token", "create", db=db, check=True).stdout.strip()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTACTS_")}
    env["CONTACTS_DATABASE_URL"] = db
    server = subprocess.Popen(
        [*CLI, "serve", "--port", str(port)], env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        for _ in range(100):
            try:
                with opener.open(f"http://127.0.0.1:{port}/health", timeout=1) as response:
                    assert json.loads(response.read()) == {"status": "ok"}
                break
            except OSError:
                time.sleep(0.1)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1.0/contacts/lookup?phone=%2B4915061964631",
            headers={"Authorization": f"Bearer {token}"},
        )
        with opener.open(request, timeout=5) as response:
            assert json.loads(response.read())["last_name"] == "Müller"
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=10)
    assert b"Traceback" not in stderr


@pytest.fixture
def sf() -> Iterator[FakeSalesforce]:
    with FakeSalesforce() as fake:
        fake.add_token("00Dcli!token")
        fake.set_clock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
        yield fake


def run_sync(db: str, fake: FakeSalesforce, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"SALESFORCE_INSTANCE_URL": fake.url, "SALESFORCE_ACCESS_TOKEN": "00Dcli!token"}
    return run("sync", "salesforce", *args, db=db, extra_env=env)


def test_sync_salesforce_json_then_incremental(db: str, sf: FakeSalesforce) -> None:
    ids = sf.generate(120)
    first = run_sync(db, sf, "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert (report["read"], report["inserted"], report["status"]) == (120, 120, "complete")
    assert report["requests"] == 1 and report["cursor"]["complete"] is True
    assert "00Dcli!token" not in first.stdout + first.stderr

    sf.set_clock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    sf.update(ids[0], Email="moved@example.com")
    second = json.loads(run_sync(db, sf, "--json").stdout)
    assert second["updated"] == 1 and second["inserted"] == 0
    found = run("lookup", "--email", "moved@example.com", "--json", db=db, check=True)
    assert json.loads(found.stdout)["external_id"] == ids[0]


def test_sync_without_credentials_is_one_line(db: str) -> None:
    result = run("sync", "salesforce", db=db)
    assert result.returncode == 2
    assert result.stderr.startswith("error: no Salesforce credentials") and len(result.stderr.splitlines()) == 1


def test_sync_stopped_by_the_quota_exits_75_and_resumes(db: str, sf: FakeSalesforce) -> None:
    sf.generate(2500)
    sf.inject("limit", at=2)
    stopped = run_sync(db, sf, "--bulk-threshold", "100000")
    assert stopped.returncode == 75
    assert "API request limit" in stopped.stderr and "next run resumes" in stopped.stderr
    resumed = run_sync(db, sf, "--json")
    assert resumed.returncode == 0 and json.loads(resumed.stdout)["status"] == "complete"


def test_sync_a_named_connection_of_the_connections_file(db: str, sf: FakeSalesforce, tmp_path: Path) -> None:
    customer = uuid.uuid4()
    connections = tmp_path / "connections.yaml"
    connections.write_text(
        "connections:\n"
        f"  - name: acme\n    system: salesforce\n    customer_id: {customer}\n"
        "    env: {instance_url: ACME_SF_URL, access_token: ACME_SF_TOKEN}\n"
    )
    first = sf.generate(5)[0]
    env = {"CONTACTS_CONNECTIONS_FILE": str(connections), "ACME_SF_URL": sf.url, "ACME_SF_TOKEN": "00Dcli!token"}
    result = run("sync", "salesforce", "--connection", "acme", "--json", db=db, extra_env=env)
    unknown = run("sync", "salesforce", "--connection", "initech", db=db, extra_env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["inserted"] == 5
    email = sf.get(first)["Email"]
    assert run("lookup", "--email", email, "--customer", str(customer), db=db).returncode == 0  # the file's customer
    assert run("lookup", "--email", email, db=db).returncode == 1  # not the default one
    assert unknown.returncode == 2 and "no connection named 'initech'" in unknown.stderr


def test_sync_hubspot_json_then_incremental(db: str) -> None:
    with FakeHubSpot() as portal:
        portal.add_token("pat-cli")
        portal.set_clock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
        ids = portal.generate(150)
        env = {"HUBSPOT_ACCESS_TOKEN": "pat-cli", "HUBSPOT_BASE_URL": portal.url}
        first = run("sync", "hubspot", "--json", db=db, extra_env=env)
        assert first.returncode == 0, first.stderr
        report = json.loads(first.stdout)
        assert (report["read"], report["status"], report["system"]) == (150, "complete", "hubspot")
        assert report["inserted"] + report["rejected"] == 150 and "pat-cli" not in first.stdout
        portal.set_clock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
        portal.update(ids[0], email="moved@example.com")
        portal.archive(ids[1])
        second = json.loads(run("sync", "hubspot", "--json", db=db, extra_env=env).stdout)
        assert (second["updated"], second["deleted"], second["inserted"]) == (1, 1, 0)
        found = run("lookup", "--email", "moved@example.com", "--json", db=db, check=True)
        assert json.loads(found.stdout)["external_id"] == ids[0]
    missing = run("sync", "hubspot", db=db)
    assert missing.returncode == 2 and "HUBSPOT_ACCESS_TOKEN" in missing.stderr


def test_sync_zoho_json_then_incremental(db: str) -> None:
    with FakeZoho() as org:
        org.add_client("1000.CLI", "cli-secret", "1000.cli-refresh")
        org.set_clock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
        ids = org.generate(150)
        env = {
            "ZOHO_CLIENT_ID": "1000.CLI",
            "ZOHO_CLIENT_SECRET": "cli-secret",
            "ZOHO_REFRESH_TOKEN": "1000.cli-refresh",
            "ZOHO_ACCOUNTS_URL": org.url,
        }
        first = run("sync", "zoho", "--json", db=db, extra_env=env)
        assert first.returncode == 0, first.stderr
        report = json.loads(first.stdout)
        assert (report["read"], report["status"], report["system"], report["mode"]) == (150, "complete", "zoho", "full")
        assert report["inserted"] + report["rejected"] == 150 and "cli-refresh" not in first.stdout
        org.set_clock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
        org.update(ids[0], Email="moved@example.com")
        org.delete(ids[1])
        second = json.loads(run("sync", "zoho", "--json", db=db, extra_env=env).stdout)
        assert (second["updated"], second["deleted"], second["inserted"]) == (1, 1, 0)
        found = run("lookup", "--email", "moved@example.com", "--json", db=db, check=True)
        assert json.loads(found.stdout)["external_id"] == ids[0]
        refused = run("sync", "zoho", db=db, extra_env={**env, "ZOHO_REFRESH_TOKEN": "1000.revoked"})
        assert refused.returncode == 1 and "invalid_code" in refused.stderr
    missing = run("sync", "zoho", db=db)
    assert missing.returncode == 2 and "ZOHO_CLIENT_ID" in missing.stderr
