"""CRM connections: which customer's account in which CRM, and where its secrets are.

Where several customers each connect their own CRM account, a YAML file (`CONTACTS_CONNECTIONS_FILE`) lists them.
The file holds no secret: each connection names the environment variables that hold its own. Without a file there
is one connection per CRM, named after it, read from the default variables (`SALESFORCE_*`) for the default
customer.

    connections:
      - name: acme
        system: salesforce
        customer_id: 6f1c1f5e-5d8a-4a7e-9a53-0d1c7f1f2b10
        region: GB                  # for numbers written without a country code
        env:                        # setting -> variable holding it
          instance_url: ACME_SF_INSTANCE_URL
          client_id: ACME_SF_CLIENT_ID
          client_secret: ACME_SF_CLIENT_SECRET
        fields: {Department: notes, AssistantPhone: "phone:other"}
        lookback_seconds: 600
        bulk_threshold: 50000
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.errors import ConfigurationError
from contacts_store.settings import default_customer_id

CONNECTIONS_ENV = "CONTACTS_CONNECTIONS_FILE"
SYSTEMS = ("salesforce", "hubspot", "zoho")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
# Every connector's options; each connector refuses those it does not know.
_OPTIONS = {
    "lookback_seconds",
    "page_size",
    "bulk_threshold",
    "bulk_page_size",
    "max_api_usage",
    "search_page_size",
    "search_rps",
}
_SECRET_KEYS = {"access_token", "client_secret", "password", "token", "secret", "api_key", "refresh_token"}


@dataclass(frozen=True)
class Connection:
    name: str
    system: str
    customer_id: uuid.UUID
    region: str = "US"
    env: dict[str, str] = field(default_factory=dict)
    fields: dict[str, str | None] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def tag(self) -> str:
        """The value of the run tag that keeps two syncs of one connection from running at once."""
        return f"{self.customer_id}:{self.system}"

    def overridden(
        self, options: Mapping[str, Any] | None = None, fields: Mapping[str, str | None] | None = None
    ) -> tuple[dict[str, Any], dict[str, str | None]]:
        """The file's options and field mappings with the command line's (or a run config's) on top."""
        return {**self.options, **(options or {})}, {**self.fields, **(fields or {})}


def default_connection(system: str, customer_id: uuid.UUID | None = None) -> Connection:
    return Connection(name=system, system=system, customer_id=customer_id or default_customer_id())


def connections_path() -> Path | None:
    value = os.environ.get(CONNECTIONS_ENV, "").strip()
    return Path(value) if value else None


def load_connections(path: Path | None = None, system: str | None = None) -> list[Connection]:
    """The connections of the file (or the defaults without one), optionally only those of one CRM."""
    path = path or connections_path()
    found = [default_connection(name) for name in SYSTEMS] if path is None else _read(path)
    return [c for c in found if system is None or c.system == system]


def find_connection(name: str, path: Path | None = None) -> Connection:
    for connection in load_connections(path):
        if connection.name == name:
            return connection
    where = path or connections_path()
    raise ConfigurationError(f"no connection named {name!r} in {where or 'the defaults'}")


def _read(path: Path) -> list[Connection]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigurationError(f"cannot read the connections file {path}: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        raise ConfigurationError(f"the connections file {path} is not valid YAML: {error}") from None
    items = data.get("connections") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ConfigurationError(f"{path}: expected a top-level `connections:` list")
    connections = [_parse(item, f"{path}: connection {index + 1}") for index, item in enumerate(items)]
    _check_unique(connections, path)
    return connections


def _parse(item: Any, where: str) -> Connection:
    if not isinstance(item, dict):
        raise ConfigurationError(f"{where}: expected a mapping")
    secrets = sorted(set(item) & _SECRET_KEYS)
    if secrets:
        raise ConfigurationError(
            f"{where}: {', '.join(secrets)} must not be written in the file; name the environment variable that "
            "holds it under `env:`"
        )
    name = str(item.get("name", "")).strip()
    if not _NAME.match(name):
        raise ConfigurationError(f"{where}: name {name!r} must be lower-case letters, digits, - or _")
    system = str(item.get("system", "")).strip().lower()
    if system not in SYSTEMS:
        raise ConfigurationError(f"{where} ({name}): system must be one of {', '.join(SYSTEMS)}")
    try:
        customer_id = uuid.UUID(str(item.get("customer_id")))
    except ValueError:
        raise ConfigurationError(f"{where} ({name}): customer_id must be a UUID") from None
    env = item.get("env") or {}
    fields = item.get("fields") or {}
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise ConfigurationError(f"{where} ({name}): env maps setting names to environment variable names")
    if not isinstance(fields, dict):
        raise ConfigurationError(f"{where} ({name}): fields maps CRM field names to contact fields")
    unknown = sorted(set(item) - {"name", "system", "customer_id", "region", "env", "fields"} - _OPTIONS)
    if unknown:
        raise ConfigurationError(f"{where} ({name}): unknown key(s) {', '.join(unknown)}")
    return Connection(
        name=name,
        system=system,
        customer_id=customer_id,
        region=str(item.get("region") or "US"),
        env={str(k): v for k, v in env.items()},
        fields={str(k): (str(v) if v else None) for k, v in fields.items()},
        options={k: item[k] for k in _OPTIONS if k in item},
    )


def _check_unique(connections: list[Connection], path: Path) -> None:
    names: set[str] = set()
    scopes: set[str] = set()
    for connection in connections:
        if connection.name in names:
            raise ConfigurationError(f"{path}: two connections are named {connection.name!r}")
        if connection.tag in scopes:
            # Contacts upsert per (customer, system, id): two accounts of one CRM would overwrite each other.
            raise ConfigurationError(
                f"{path}: customer {connection.customer_id} has two {connection.system} connections"
            )
        names.add(connection.name)
        scopes.add(connection.tag)
