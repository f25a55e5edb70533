"""A `ZohoSource` for one connection: its credentials from the environment, its options checked."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from connectors.connections import Connection
from connectors.http import RetrySettings
from connectors.options import parse_numbers
from connectors.source_base import utc_now
from connectors.zoho.client import ZohoClient
from connectors.zoho.mapping import FieldMap
from connectors.zoho.settings import ZohoCredentials
from connectors.zoho.source import MAX_PAGE, ZohoSource, ZohoSyncSettings

_NUMBERS: dict[str, type] = {"lookback_seconds": float, "page_size": int}
_MAXIMA = {"page_size": MAX_PAGE}


def sync_settings(options: Mapping[str, Any], field_map: Mapping[str, str | None] | None = None) -> ZohoSyncSettings:
    """Settings from a connection's options (numbers as YAML or the command line gave them)."""
    values = parse_numbers(options, _NUMBERS, "Zoho", _MAXIMA)
    return ZohoSyncSettings(**values, field_map=FieldMap.build(field_map))


def build_source(
    connection: Connection,
    options: Mapping[str, Any] | None = None,
    fields: Mapping[str, str | None] | None = None,
    environ: Mapping[str, str] | None = None,
    retry: RetrySettings | None = None,
    clock: Callable[[], datetime] | None = None,
) -> ZohoSource:
    """The connection's file options, overridden by `options` and `fields` (the command line's)."""
    credentials = ZohoCredentials.from_env(connection.env, environ)
    settings = sync_settings(*connection.overridden(options, fields))
    return ZohoSource(ZohoClient(credentials, retry), settings, clock or utc_now)
