"""How to reach one HubSpot portal.

Secrets come from the environment only. A connection names the variables that hold its secrets (the defaults are
the `HUBSPOT_*` ones), so several customers' portals can be configured side by side without a secret in a file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from connectors.errors import ConfigurationError
from connectors.options import require_http_url

DEFAULT_BASE_URL = "https://api.hubapi.com"

# Setting name -> the environment variable it is read from by default.
DEFAULT_ENV_NAMES: dict[str, str] = {
    "access_token": "HUBSPOT_ACCESS_TOKEN",
    "base_url": "HUBSPOT_BASE_URL",
}


@dataclass(frozen=True)
class HubSpotCredentials:
    """A private-app token or an OAuth access token, and the API's base URL (`http://` is honoured, for sandboxes
    and test servers). HubSpot tokens are bearer tokens: whoever reads one can use it, so it never shows in repr."""

    access_token: str = field(repr=False)
    base_url: str = DEFAULT_BASE_URL

    @classmethod
    def from_env(
        cls, env_names: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None
    ) -> HubSpotCredentials:
        """Read each setting from its variable (`env_names` overrides the `HUBSPOT_*` defaults)."""
        names = {**DEFAULT_ENV_NAMES, **(env_names or {})}
        unknown = sorted(set(names) - set(DEFAULT_ENV_NAMES))
        if unknown:
            raise ConfigurationError(f"unknown HubSpot setting(s): {', '.join(unknown)}")
        source = os.environ if environ is None else environ
        token = (source.get(names["access_token"]) or "").strip()
        base_url = (source.get(names["base_url"]) or "").strip() or DEFAULT_BASE_URL
        if not token:
            raise ConfigurationError(
                f"no HubSpot credentials: set {names['access_token']} to a private-app token (pat-...) or an OAuth "
                "access token with the crm.objects.contacts.read scope"
            )
        return cls(access_token=token, base_url=base_url).checked()

    def checked(self) -> HubSpotCredentials:
        if not self.access_token.strip():
            raise ConfigurationError("the HubSpot access token is empty")
        require_http_url("the HubSpot base URL", self.base_url, DEFAULT_BASE_URL)
        return self

    @property
    def host(self) -> str:
        """The base URL as the SDK's `host` wants it: without a trailing slash (paths are appended to it)."""
        return self.base_url.rstrip("/")

    def describe(self) -> dict[str, str]:
        """What a run's metadata may show: where and how, never the token."""
        kind = "private app token" if self.access_token.startswith("pat-") else "access token"
        return {"base_url": self.base_url, "auth": kind}
