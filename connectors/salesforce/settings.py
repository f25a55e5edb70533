"""How to reach one Salesforce org, and how to sync it.

Secrets come from the environment only. A connection names the variables that hold its secrets (the defaults are
the `SALESFORCE_*` ones), so several customers' orgs can be configured side by side without a secret in a file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from connectors.errors import ConfigurationError

DEFAULT_LOGIN_URL = "https://login.salesforce.com"
DEFAULT_API_VERSION = "59.0"

# Setting name -> the environment variable it is read from by default.
DEFAULT_ENV_NAMES: dict[str, str] = {
    "instance_url": "SALESFORCE_INSTANCE_URL",
    "access_token": "SALESFORCE_ACCESS_TOKEN",
    "login_url": "SALESFORCE_LOGIN_URL",
    "client_id": "SALESFORCE_CLIENT_ID",
    "client_secret": "SALESFORCE_CLIENT_SECRET",
    "username": "SALESFORCE_USERNAME",
    "password": "SALESFORCE_PASSWORD",
    "api_version": "SALESFORCE_API_VERSION",
}
SECRET_SETTINGS = frozenset({"access_token", "client_secret", "password"})


@dataclass(frozen=True)
class SalesforceCredentials:
    """An access token with its instance URL, or OAuth client credentials (plus a username and password for the
    username-password flow) to get one from `login_url`; with both, the token is used first and the OAuth flow
    refreshes it when it expires."""

    instance_url: str | None = None
    access_token: str | None = field(default=None, repr=False)
    login_url: str = DEFAULT_LOGIN_URL
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    api_version: str = DEFAULT_API_VERSION

    @classmethod
    def from_env(
        cls, env_names: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None
    ) -> SalesforceCredentials:
        """Read each setting from its variable (`env_names` overrides the `SALESFORCE_*` defaults)."""
        names = {**DEFAULT_ENV_NAMES, **(env_names or {})}
        unknown = sorted(set(names) - set(DEFAULT_ENV_NAMES))
        if unknown:
            raise ConfigurationError(f"unknown Salesforce setting(s): {', '.join(unknown)}")
        source = os.environ if environ is None else environ
        values: dict[str, str] = {}
        for name, var in names.items():
            value = (source.get(var) or "").strip()
            if value:
                values[name] = value
        return cls(**values).checked()

    def checked(self) -> SalesforceCredentials:
        if self.api_version.lower().startswith("v"):
            raise ConfigurationError(f"the API version is a number such as 59.0, not {self.api_version!r}")
        for name in ("instance_url", "login_url"):
            url = getattr(self, name)
            if url is not None and not url.startswith(("https://", "http://")):
                raise ConfigurationError(f"the Salesforce {name} must start with https:// (or http://): {url!r}")
        if self.access_token and not self.instance_url:
            raise ConfigurationError("an access token needs its instance URL (SALESFORCE_INSTANCE_URL)")
        if not self.access_token and not self.can_refresh:
            raise ConfigurationError(
                "no Salesforce credentials: set SALESFORCE_INSTANCE_URL and SALESFORCE_ACCESS_TOKEN, or "
                "SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET (client credentials; add SALESFORCE_USERNAME "
                "and SALESFORCE_PASSWORD for the username-password flow)"
            )
        if bool(self.username) != bool(self.password):
            raise ConfigurationError(
                "the username-password flow needs both SALESFORCE_USERNAME and SALESFORCE_PASSWORD"
            )
        return self

    @property
    def can_refresh(self) -> bool:
        return bool(self.client_id and self.client_secret)

    @property
    def grant_type(self) -> str:
        return "password" if self.username else "client_credentials"

    def describe(self) -> dict[str, str]:
        """What a run's metadata may show: where and how, never a secret."""
        shown = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in SECRET_SETTINGS}
        shown["auth"] = "access token" if self.access_token and not self.can_refresh else f"oauth {self.grant_type}"
        return {key: str(value) for key, value in shown.items() if value}
