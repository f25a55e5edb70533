"""The connections file: one entry per customer's CRM account, secrets only by variable name."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from connectors.connections import default_connection, find_connection, load_connections
from connectors.errors import ConfigurationError
from contacts_store.settings import NIL_CUSTOMER

ACME = "6f1c1f5e-5d8a-4a7e-9a53-0d1c7f1f2b10"
GLOBEX = "0b7cf3a2-93f6-4c3d-8d0e-51a8b2d1e7aa"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "connections.yaml"
    path.write_text(text)
    return path


def test_connections_are_read_with_their_options(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""
connections:
  - name: acme
    system: salesforce
    customer_id: {ACME}
    region: GB
    env: {{instance_url: ACME_SF_URL, access_token: ACME_SF_TOKEN}}
    fields: {{Department: notes}}
    lookback_seconds: 600
  - name: globex
    system: salesforce
    customer_id: {GLOBEX}
""",
    )
    acme, globex = load_connections(path)
    assert acme.customer_id == uuid.UUID(ACME) and acme.region == "GB"
    assert acme.env == {"instance_url": "ACME_SF_URL", "access_token": "ACME_SF_TOKEN"}
    assert acme.fields == {"Department": "notes"}
    assert acme.options == {"lookback_seconds": 600}
    assert acme.tag == f"{ACME}:salesforce"
    assert globex.region == "US" and globex.env == {}
    assert find_connection("globex", path) == globex
    with pytest.raises(ConfigurationError, match="no connection named 'initech'"):
        find_connection("initech", path)


def test_without_a_file_each_crm_has_one_default_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONTACTS_CONNECTIONS_FILE", raising=False)
    monkeypatch.delenv("CONTACTS_CUSTOMER_ID", raising=False)
    assert load_connections(system="salesforce") == [default_connection("salesforce")]
    assert default_connection("salesforce").customer_id == NIL_CUSTOMER


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (f"name: a\n    system: salesforce\n    customer_id: {ACME}\n    access_token: abc", "must not be written"),
        (f"name: A B\n    system: salesforce\n    customer_id: {ACME}", "must be lower-case"),
        (f"name: a\n    system: pipedrive\n    customer_id: {ACME}", "system must be one of"),
        ("name: a\n    system: salesforce\n    customer_id: acme", "customer_id must be a UUID"),
        (f"name: a\n    system: salesforce\n    customer_id: {ACME}\n    lookbak: 5", "unknown key"),
    ],
)
def test_bad_entries_are_refused_with_the_reason(tmp_path: Path, entry: str, message: str) -> None:
    path = write(tmp_path, f"connections:\n  - {entry}\n")
    with pytest.raises(ConfigurationError, match=message):
        load_connections(path)


def test_one_customer_cannot_connect_two_orgs_of_one_crm(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""
connections:
  - {{name: a, system: salesforce, customer_id: {ACME}}}
  - {{name: b, system: salesforce, customer_id: {ACME}}}
""",
    )
    with pytest.raises(ConfigurationError, match="two salesforce connections"):
        load_connections(path)


def test_unreadable_files_are_configuration_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_connections(tmp_path / "missing.yaml")
    with pytest.raises(ConfigurationError, match="not valid YAML"):
        load_connections(write(tmp_path, "connections: [\n"))
    with pytest.raises(ConfigurationError, match="top-level `connections:`"):
        load_connections(write(tmp_path, "- a\n"))
