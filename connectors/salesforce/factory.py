"""A `SalesforceSource` for one connection: its secrets from the environment, its options checked."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from datetime import datetime
from typing import Any

from connectors.connections import Connection
from connectors.errors import ConfigurationError
from connectors.http import RetrySettings
from connectors.options import parse_numbers
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.mapping import FieldMap
from connectors.salesforce.settings import SalesforceCredentials
from connectors.salesforce.source import SalesforceSource, SalesforceSyncSettings
from connectors.source_base import utc_now

_NUMBERS: dict[str, type] = {
    f.name: float if f.type == "float" else int for f in fields(SalesforceSyncSettings) if f.name != "field_map"
}


def sync_settings(
    options: Mapping[str, Any], field_map: Mapping[str, str | None] | None = None
) -> SalesforceSyncSettings:
    """Settings from a connection's options (numbers as YAML or the command line gave them)."""
    values = parse_numbers(options, _NUMBERS, "Salesforce")
    if "max_api_usage" in values and not 0 < values["max_api_usage"] <= 1:
        raise ConfigurationError("max_api_usage is a share of the daily quota, between 0 and 1 (e.g. 0.9)")
    return SalesforceSyncSettings(**values, field_map=FieldMap.build(field_map))


def build_source(
    connection: Connection,
    options: Mapping[str, Any] | None = None,
    fields: Mapping[str, str | None] | None = None,
    environ: Mapping[str, str] | None = None,
    retry: RetrySettings | None = None,
    clock: Callable[[], datetime] | None = None,
) -> SalesforceSource:
    """The connection's file options, overridden by `options` and `fields` (the command line's)."""
    credentials = SalesforceCredentials.from_env(connection.env, environ)
    settings = sync_settings(*connection.overridden(options, fields))
    return SalesforceSource(SalesforceClient(credentials, retry), settings, clock or utc_now)
