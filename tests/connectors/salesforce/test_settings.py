"""Salesforce credentials come from environment variables and are checked before any request is made."""

from __future__ import annotations

import pytest

from connectors.errors import ConfigurationError
from connectors.salesforce.settings import SalesforceCredentials


def test_access_token_and_instance_url_from_the_default_variables() -> None:
    creds = SalesforceCredentials.from_env(
        environ={"SALESFORCE_INSTANCE_URL": "https://acme.my.salesforce.com", "SALESFORCE_ACCESS_TOKEN": "00D!tok"}
    )
    assert creds.instance_url == "https://acme.my.salesforce.com"
    assert creds.access_token == "00D!tok"
    assert creds.login_url == "https://login.salesforce.com"
    assert not creds.can_refresh


def test_a_connection_names_its_own_variables() -> None:
    creds = SalesforceCredentials.from_env(
        {"client_id": "ACME_ID", "client_secret": "ACME_SECRET", "login_url": "ACME_LOGIN"},
        environ={"ACME_ID": "id", "ACME_SECRET": "s3cret", "ACME_LOGIN": "http://127.0.0.1:9"},
    )
    assert (creds.client_id, creds.client_secret, creds.login_url) == ("id", "s3cret", "http://127.0.0.1:9")
    assert creds.grant_type == "client_credentials"


def test_secrets_never_appear_in_repr_or_description() -> None:
    creds = SalesforceCredentials(
        instance_url="https://x.my.salesforce.com",
        access_token="TOKEN-123",
        client_id="id",
        client_secret="SECRET-456",
        username="u@x.com",
        password="PASSWORD-789",
    )
    shown = repr(creds) + repr(creds.describe())
    for secret in ("TOKEN-123", "SECRET-456", "PASSWORD-789"):
        assert secret not in shown
    assert creds.describe()["auth"] == "oauth password"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "no Salesforce credentials"),
        ({"SALESFORCE_ACCESS_TOKEN": "t"}, "needs its instance URL"),
        ({"SALESFORCE_INSTANCE_URL": "acme.my.salesforce.com", "SALESFORCE_ACCESS_TOKEN": "t"}, "must start with"),
        (
            {"SALESFORCE_CLIENT_ID": "i", "SALESFORCE_CLIENT_SECRET": "s", "SALESFORCE_USERNAME": "u"},
            "needs both",
        ),
        (
            {"SALESFORCE_CLIENT_ID": "i", "SALESFORCE_CLIENT_SECRET": "s", "SALESFORCE_API_VERSION": "v59.0"},
            "not 'v59.0'",
        ),
    ],
)
def test_incomplete_settings_are_refused_with_the_reason(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        SalesforceCredentials.from_env(environ=environ)


def test_unknown_setting_names_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="unknown Salesforce setting"):
        SalesforceCredentials.from_env({"tokne": "X"}, environ={})
