"""Zoho credentials and sync options come from the environment and the connection, checked before any request."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from connectors.connections import Connection
from connectors.errors import ConfigurationError
from connectors.zoho.factory import build_source, sync_settings
from connectors.zoho.settings import ZohoCredentials

ENV = {"ZOHO_CLIENT_ID": "1000.ABC", "ZOHO_CLIENT_SECRET": "s3cr3t-value", "ZOHO_REFRESH_TOKEN": "1000.rt-value"}


def test_credentials_and_default_data_centre_from_the_default_variables() -> None:
    creds = ZohoCredentials.from_env(environ=ENV)
    assert (creds.client_id, creds.client_secret, creds.refresh_token) == ("1000.ABC", "s3cr3t-value", "1000.rt-value")
    assert creds.accounts_url == "https://accounts.zoho.com" and creds.api_domain is None
    assert creds.token_url == "https://accounts.zoho.com/oauth/v2/token"


def test_other_data_centres_api_domain_override_and_http() -> None:
    creds = ZohoCredentials.from_env(
        environ={**ENV, "ZOHO_ACCOUNTS_URL": "http://127.0.0.1:9/", "ZOHO_API_DOMAIN": "https://www.zohoapis.eu"}
    )
    assert creds.token_url == "http://127.0.0.1:9/oauth/v2/token" and creds.api_domain == "https://www.zohoapis.eu"


def test_a_connection_names_its_own_variables() -> None:
    names = {"client_id": "ACME_ZID", "client_secret": "ACME_ZSECRET", "refresh_token": "ACME_ZRT"}
    creds = ZohoCredentials.from_env(names, environ={"ACME_ZID": "a", "ACME_ZSECRET": "b", "ACME_ZRT": "c"})
    assert (creds.client_id, creds.client_secret, creds.refresh_token) == ("a", "b", "c")


def test_secrets_never_appear_in_repr_or_description() -> None:
    creds = ZohoCredentials.from_env(environ=ENV)
    shown = repr(creds) + repr(creds.describe())
    assert "s3cr3t" not in shown and "rt-value" not in shown


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "no Zoho credentials: set ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_REFRESH_TOKEN"),
        ({**ENV, "ZOHO_REFRESH_TOKEN": " "}, "set ZOHO_REFRESH_TOKEN"),
        ({**ENV, "ZOHO_ACCOUNTS_URL": "accounts.zoho.eu"}, "accounts URL must start with https://"),
        ({**ENV, "ZOHO_API_DOMAIN": "ftp://x"}, "API domain must start with https://"),
    ],
)
def test_incomplete_settings_are_refused_with_the_reason(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ZohoCredentials.from_env(environ=environ)


def test_unknown_setting_names_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="unknown Zoho setting"):
        ZohoCredentials.from_env({"refreshtoken": "X"}, environ=ENV)


def test_sync_options_are_checked() -> None:
    settings = sync_settings({"lookback_seconds": "60", "page_size": 50})
    assert (settings.lookback_seconds, settings.page_size) == (60.0, 50)
    with pytest.raises(ConfigurationError, match="unknown Zoho sync option"):
        sync_settings({"search_rps": 5})
    with pytest.raises(ConfigurationError, match="between 1 and 200"):
        sync_settings({"page_size": 500})


def test_build_source_from_a_connection() -> None:
    connection = Connection(
        name="acme",
        system="zoho",
        customer_id=uuid.uuid4(),
        env={"refresh_token": "ACME_ZRT"},
        fields={"Lead_Source": "tag"},
        options={"lookback_seconds": 30},
    )
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    environ = {**ENV, "ACME_ZRT": "other-token"}
    source = build_source(connection, options={"page_size": 100}, environ=environ, clock=lambda: moment)
    try:
        assert source.system == "zoho" and source.clock() == moment
        assert (source.settings.lookback_seconds, source.settings.page_size) == (30.0, 100)
        assert ("Lead_Source", "tag") in source.settings.field_map.targets
        assert source.client.credentials.refresh_token == "other-token"
    finally:
        source.client.close()
