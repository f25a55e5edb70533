"""How to reach one Zoho CRM organisation.

Zoho keeps each customer in one data centre: its accounts server (`https://accounts.zoho.com`, `.eu`, `.in`,
`.com.au`, `.jp`, `.com.cn`, ...) mints the access tokens, and the token answer names the API domain to call. Secrets
come from the environment only; a connection names the variables that hold its own (the defaults are `ZOHO_*`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from connectors.errors import ConfigurationError
from connectors.options import require_http_url

DEFAULT_ACCOUNTS_URL = "https://accounts.zoho.com"

# Setting name -> the environment variable it is read from by default.
DEFAULT_ENV_NAMES: dict[str, str] = {
    "client_id": "ZOHO_CLIENT_ID",
    "client_secret": "ZOHO_CLIENT_SECRET",
    "refresh_token": "ZOHO_REFRESH_TOKEN",
    "accounts_url": "ZOHO_ACCOUNTS_URL",
    "api_domain": "ZOHO_API_DOMAIN",
}
_REQUIRED = ("client_id", "client_secret", "refresh_token")


@dataclass(frozen=True)
class ZohoCredentials:
    """A self-client or server-based OAuth client and a refresh token for it. `api_domain`, when set, overrides
    the API domain the token answer names (a sandbox, a proxy, a test server); `http://` URLs are honoured."""

    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)
    accounts_url: str = DEFAULT_ACCOUNTS_URL
    api_domain: str | None = None

    @classmethod
    def from_env(
        cls, env_names: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None
    ) -> ZohoCredentials:
        """Read each setting from its variable (`env_names` overrides the `ZOHO_*` defaults)."""
        names = {**DEFAULT_ENV_NAMES, **(env_names or {})}
        unknown = sorted(set(names) - set(DEFAULT_ENV_NAMES))
        if unknown:
            raise ConfigurationError(f"unknown Zoho setting(s): {', '.join(unknown)}")
        source = os.environ if environ is None else environ
        values = {key: (source.get(variable) or "").strip() for key, variable in names.items()}
        missing = [names[key] for key in _REQUIRED if not values[key]]
        if missing:
            raise ConfigurationError(
                f"no Zoho credentials: set {', '.join(missing)} (an OAuth client of the Zoho API console and a "
                "refresh token granted the ZohoCRM.modules.contacts.READ scope)"
            )
        return cls(
            client_id=values["client_id"],
            client_secret=values["client_secret"],
            refresh_token=values["refresh_token"],
            accounts_url=values["accounts_url"] or DEFAULT_ACCOUNTS_URL,
            api_domain=values["api_domain"] or None,
        ).checked()

    def checked(self) -> ZohoCredentials:
        for key in _REQUIRED:
            if not str(getattr(self, key)).strip():
                raise ConfigurationError(f"the Zoho {key.replace('_', ' ')} is empty")
        require_http_url("the Zoho accounts URL", self.accounts_url, DEFAULT_ACCOUNTS_URL)
        if self.api_domain is not None:
            require_http_url("the Zoho API domain", self.api_domain, "https://www.zohoapis.com")
        return self

    @property
    def token_url(self) -> str:
        return self.accounts_url.rstrip("/") + "/oauth/v2/token"

    def describe(self) -> dict[str, str]:
        """What a run's metadata may show: where, never the secrets."""
        info = {"accounts_url": self.accounts_url, "auth": "OAuth refresh token"}
        if self.api_domain:
            info["api_domain"] = self.api_domain
        return info
