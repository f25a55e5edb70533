"""A `HubSpotSource` for one connection: its token from the environment, its options checked."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from connectors.connections import Connection
from connectors.http import RetrySettings
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.mapping import FieldMap
from connectors.hubspot.settings import HubSpotCredentials
from connectors.hubspot.source import MAX_LIST_PAGE, MAX_SEARCH_PAGE, HubSpotSource, HubSpotSyncSettings
from connectors.options import parse_numbers
from connectors.source_base import utc_now

_NUMBERS: dict[str, type] = {
    "lookback_seconds": float,
    "page_size": int,
    "search_page_size": int,
    "search_rps": float,
}
_MAXIMA = {"page_size": MAX_LIST_PAGE, "search_page_size": MAX_SEARCH_PAGE}


def sync_settings(options: Mapping[str, Any], field_map: Mapping[str, str | None] | None = None) -> HubSpotSyncSettings:
    """Settings from a connection's options (numbers as YAML or the command line gave them)."""
    values = parse_numbers(options, _NUMBERS, "HubSpot", _MAXIMA)
    return HubSpotSyncSettings(**values, field_map=FieldMap.build(field_map))


def build_source(
    connection: Connection,
    options: Mapping[str, Any] | None = None,
    fields: Mapping[str, str | None] | None = None,
    environ: Mapping[str, str] | None = None,
    retry: RetrySettings | None = None,
    clock: Callable[[], datetime] | None = None,
) -> HubSpotSource:
    """The connection's file options, overridden by `options` and `fields` (the command line's).

    `search_rps` 0 turns the client-side search pacing off (for a portal behind a proxy that paces itself)."""
    credentials = HubSpotCredentials.from_env(connection.env, environ)
    settings = sync_settings(*connection.overridden(options, fields))
    client = HubSpotClient(credentials, retry, search_rps=settings.search_rps or None)
    return HubSpotSource(client, settings, clock or utc_now)
