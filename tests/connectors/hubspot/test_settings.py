"""HubSpot credentials and sync options come from the environment and the connection, checked before any request."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from connectors.connections import Connection
from connectors.errors import ConfigurationError
from connectors.hubspot.factory import build_source, sync_settings
from connectors.hubspot.settings import HubSpotCredentials


def test_token_and_default_base_url_from_the_default_variables() -> None:
    creds = HubSpotCredentials.from_env(environ={"HUBSPOT_ACCESS_TOKEN": "pat-na1-123"})
    assert creds.access_token == "pat-na1-123"
    assert creds.base_url == "https://api.hubapi.com"


def test_a_connection_names_its_own_variables_and_http_is_honoured() -> None:
    creds = HubSpotCredentials.from_env(
        {"access_token": "ACME_HS_TOKEN", "base_url": "ACME_HS_URL"},
        environ={"ACME_HS_TOKEN": "oauth-tok", "ACME_HS_URL": "http://127.0.0.1:9/"},
    )
    assert creds.access_token == "oauth-tok" and creds.base_url == "http://127.0.0.1:9/"
    assert creds.host == "http://127.0.0.1:9"


def test_the_token_never_appears_in_repr_or_description() -> None:
    creds = HubSpotCredentials(access_token="pat-SECRET-123")
    shown = repr(creds) + repr(creds.describe())
    assert "SECRET" not in shown
    assert creds.describe()["auth"] == "private app token"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "no HubSpot credentials: set HUBSPOT_ACCESS_TOKEN"),
        ({"HUBSPOT_ACCESS_TOKEN": "  "}, "no HubSpot credentials"),
        ({"HUBSPOT_ACCESS_TOKEN": "t", "HUBSPOT_BASE_URL": "api.hubapi.com"}, "must start with https://"),
    ],
)
def test_incomplete_settings_are_refused_with_the_reason(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        HubSpotCredentials.from_env(environ=environ)


def test_unknown_setting_names_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="unknown HubSpot setting"):
        HubSpotCredentials.from_env({"tokne": "X"}, environ={})


def test_sync_options_are_checked() -> None:
    settings = sync_settings({"lookback_seconds": "60", "page_size": 50, "search_page_size": "100", "search_rps": 2})
    assert (settings.lookback_seconds, settings.page_size, settings.search_page_size, settings.search_rps) == (
        60.0,
        50,
        100,
        2.0,
    )
    with pytest.raises(ConfigurationError, match="unknown HubSpot sync option"):
        sync_settings({"bulk_threshold": 5})
    with pytest.raises(ConfigurationError, match="between 1 and 200"):
        sync_settings({"search_page_size": 500})
    with pytest.raises(ConfigurationError, match="must be a number"):
        sync_settings({"page_size": "many"})


def test_build_source_from_a_connection() -> None:
    connection = Connection(
        name="acme",
        system="hubspot",
        customer_id=uuid.uuid4(),
        env={"access_token": "ACME_TOKEN"},
        fields={"hs_lead_status": "tag"},
        options={"lookback_seconds": 30},
    )
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    source = build_source(connection, options={"search_rps": 0}, environ={"ACME_TOKEN": "pat-x"}, clock=lambda: moment)
    try:
        assert source.system == "hubspot" and source.clock() == moment
        assert source.settings.lookback_seconds == 30.0
        assert ("hs_lead_status", "tag") in source.settings.field_map.targets
        assert source.client.limiter.per_second is None
        assert source.client.credentials.base_url == "https://api.hubapi.com"
    finally:
        source.client.close()
