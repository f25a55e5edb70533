"""A simple-salesforce client that refreshes its token, honours `http://` URLs and speaks our exceptions.

simple-salesforce can refresh an expired session only for the login flows it runs itself, and always builds
`https://` URLs from hard-coded login hosts. So the OAuth token request is made here, against the configured
`login_url`, and the library is handed the resulting session id, instance URL and a `CrmSession` that keeps the
scheme of `http://` hosts and retries transient failures.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn, TypeVar

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.bulk2 import _Bulk2Client
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from connectors.errors import AuthenticationError, ConfigurationError, QueryTimeout, QuotaExhausted, SourceError
from connectors.http import CrmSession, RetrySettings, json_or_none, plain_http_host
from connectors.salesforce.settings import SalesforceCredentials

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class ApiUsage:
    used: int
    limit: int

    @property
    def fraction(self) -> float:
        return self.used / self.limit if self.limit else 0.0


class SalesforceClient:
    """One org. `call(fn)` runs `fn(sf)` with the live `Salesforce` object and translates its failures."""

    def __init__(self, credentials: SalesforceCredentials, retry: RetrySettings | None = None) -> None:
        self.credentials = credentials
        self.retry = retry or RetrySettings.from_env()
        urls = (credentials.instance_url or "", credentials.login_url)
        self.session = CrmSession(self.retry, tuple(host for url in urls if (host := plain_http_host(url))))
        self._sf: Salesforce | None = None
        self.refreshes = 0

    # -- connection ------------------------------------------------------------------------------------------

    @property
    def sf(self) -> Salesforce:
        if self._sf is None:
            if self.credentials.access_token and self.credentials.instance_url:
                self._connect(self.credentials.access_token, self.credentials.instance_url)
            else:
                self._refresh()
        assert self._sf is not None
        return self._sf

    def _connect(self, token: str, instance_url: str) -> None:
        host = plain_http_host(instance_url)
        if host:
            self.session.keep_plain_http(host)
        self._sf = Salesforce(
            session_id=token,
            instance_url=instance_url,
            session=self.session,
            version=self.credentials.api_version,
        )

    def _refresh(self) -> None:
        token, instance_url = self._fetch_token()
        self.refreshes += 1
        self._connect(token, instance_url)

    def _fetch_token(self) -> tuple[str, str]:
        creds = self.credentials
        if not creds.can_refresh:
            raise AuthenticationError(
                "the Salesforce access token was refused (expired or revoked) and cannot be refreshed: set "
                "SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET, or a new SALESFORCE_ACCESS_TOKEN"
            )
        url = creds.login_url.rstrip("/") + "/services/oauth2/token"
        form = {"grant_type": creds.grant_type}
        auth = None
        if creds.grant_type == "password":
            form.update(
                client_id=creds.client_id or "",
                client_secret=creds.client_secret or "",
                username=creds.username or "",
                password=creds.password or "",
            )
        else:
            auth = (creds.client_id or "", creds.client_secret or "")
        try:
            response = self.session.post(url, data=form, auth=auth)
        except requests.RequestException as error:
            raise SourceError(f"cannot reach the Salesforce login URL {creds.login_url}: {error}") from None
        body = json_or_none(response)
        if response.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
            reason = ""
            if isinstance(body, dict) and "error" in body:
                reason = f": {body.get('error')}: {body.get('error_description', '')}".rstrip(": ")
            raise AuthenticationError(
                f"Salesforce refused the {creds.grant_type} login at {creds.login_url} "
                f"(HTTP {response.status_code}){reason}"
            )
        instance_url = str(body.get("instance_url") or creds.instance_url or "")
        if not instance_url:
            raise SourceError("the Salesforce token response has no instance_url")
        return str(body["access_token"]), instance_url

    # -- calls -----------------------------------------------------------------------------------------------

    def call(self, fn: Callable[[Salesforce], T], what: str) -> T:
        """`fn(sf)`, refreshing an expired session once; `what` names the call in error messages."""
        try:
            try:
                return fn(self.sf)
            except SalesforceExpiredSession:
                log.info("Salesforce session expired; requesting a new token")
                self._refresh()
                return fn(self.sf)
        except SalesforceError as error:
            _raise_translated(error, what)
        except requests.exceptions.JSONDecodeError as error:
            raise SourceError(f"Salesforce sent a malformed response to {what}: {error}") from None
        except requests.RequestException as error:
            raise SourceError(f"Salesforce could not be reached for {what} after retries: {error}") from None

    def bulk(self) -> _Bulk2Client:
        """The Bulk 2.0 client for Contact, bound to the current session (rebuilt after a refresh)."""
        sf = self.sf
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {sf.session_id}"}
        return _Bulk2Client("Contact", sf.bulk2_url, headers, self.session)

    def api_usage(self) -> ApiUsage | None:
        """The org's daily API usage from the last response's `Sforce-Limit-Info`."""
        if self._sf is None:
            return None
        usage = self._sf.api_usage.get("api-usage")
        return ApiUsage(int(usage.used), int(usage.total)) if usage is not None else None

    @property
    def requests_sent(self) -> int:
        return self.session.requests_sent

    def close(self) -> None:
        self.session.close()


def _raise_translated(error: SalesforceError, what: str) -> NoReturn:
    code, message = _first_error(error)
    detail = f"{code}: {message}" if code else str(error)
    if isinstance(error, SalesforceRefusedRequest) and code == "REQUEST_LIMIT_EXCEEDED":
        raise QuotaExhausted(f"the Salesforce org's API request limit is used up ({message})") from None
    if isinstance(error, SalesforceExpiredSession):
        raise AuthenticationError(f"Salesforce refused the session for {what} ({detail})") from None
    if isinstance(error, SalesforceRefusedRequest):
        raise AuthenticationError(f"Salesforce refused {what} ({detail}): check the user's permissions") from None
    if isinstance(error, SalesforceMalformedRequest) and code == "QUERY_TIMEOUT":
        raise QueryTimeout(f"Salesforce timed out on {what} ({message})") from None
    if isinstance(error, SalesforceMalformedRequest) and code in ("INVALID_FIELD", "INVALID_TYPE"):
        raise ConfigurationError(f"Salesforce rejected the field list for {what}: {message}") from None
    if isinstance(error, SalesforceResourceNotFound):
        raise SourceError(f"Salesforce has no resource for {what} ({detail})") from None
    status = getattr(error, "status", "")
    raise SourceError(f"Salesforce failed {what} (HTTP {status}; {detail})") from None


def _first_error(error: SalesforceError) -> tuple[str, str]:
    """The `errorCode` and `message` of Salesforce's error array, when the body is one."""
    content = getattr(error, "content", None)
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get("errorCode", "")), str(content[0].get("message", ""))
    if isinstance(content, dict):
        return str(content.get("errorCode", "")), str(content.get("message", ""))
    return "", str(content or "")
