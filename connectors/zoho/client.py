"""A thin `requests` client for the Zoho CRM REST API (v8): OAuth refresh, the two reads a sync makes, and Zoho's
answers turned into our exceptions.

Zoho's official SDK keeps a global initializer and token store and posts token requests outside any session, so
it is not used. Every request goes through a `CrmSession`: timeouts, connection resets, 5xx and 429 answers are
retried with exponential backoff and jitter (Zoho sends no `Retry-After`). A 429 that outlasts the retries means
the organisation's API credits or concurrency limit are used up: the run stops cleanly and the next one resumes.

Access tokens live an hour; one is cached until two minutes before it expires, and a call refused with
`INVALID_TOKEN` (expired early, or displaced: Zoho keeps at most 15 live tokens per refresh token) gets a new token
and is sent once more. Zoho reports token failures as HTTP 200 with an `error` body; they become clear errors.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, NoReturn

import requests

from connectors.errors import AuthenticationError, QuotaExhausted, SourceError
from connectors.http import RETRY_STATUSES, CrmSession, RetrySettings, json_or_none
from connectors.zoho.settings import ZohoCredentials

log = logging.getLogger(__name__)

API_VERSION = "v8"
MODULE = "Contacts"
TOKEN_MARGIN_SECONDS = 120.0
ZOHO_RETRY_STATUSES = RETRY_STATUSES | {429}
# Page-token answers that mean "this listing cannot go on": start a new one from the last record read.
RESTART_CODES = frozenset({"EXPIRED_VALUE", "LIMIT_REACHED"})
_AUTH_CODES = frozenset({"AUTHENTICATION_FAILURE", "OAUTH_SCOPE_MISMATCH", "NO_PERMISSION", "INVALID_TOKEN"})


class PagingRestart(SourceError):
    """Zoho will not serve the next page of this listing (its page token expired or reached Zoho's limit)."""


@dataclass(frozen=True)
class ZohoPage:
    """One answer: its records, whether more follow, the token for the next page and when Zoho served it (the
    answer's `Date`, on Zoho's clock)."""

    records: list[dict[str, Any]]
    more: bool
    next_token: str | None
    served_at: datetime | None


def if_modified_since(moment: datetime) -> str:
    """An `If-Modified-Since` value as Zoho documents it: ISO 8601 with an offset, to the second."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


class ZohoClient:
    """One organisation. `requests_sent` counts the requests made, token requests included (a request retried
    below the session counts once)."""

    def __init__(
        self,
        credentials: ZohoCredentials,
        retry: RetrySettings | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.credentials = credentials
        self.retry = retry or RetrySettings.from_env()
        self.session = CrmSession(self.retry, statuses=ZOHO_RETRY_STATUSES)
        self.monotonic = monotonic
        self.refreshes = 0
        self._token: str | None = None
        self._expires = 0.0
        self._api_domain: str | None = credentials.api_domain

    @property
    def requests_sent(self) -> int:
        return self.session.requests_sent

    # -- auth ------------------------------------------------------------------------------------------------

    def access_token(self) -> str:
        if self._token is None or self.monotonic() >= self._expires:
            self._refresh()
        assert self._token is not None
        return self._token

    @property
    def api_base(self) -> str:
        """`{api_domain}/crm/v8`; the domain comes from the first token answer unless configured."""
        if self._api_domain is None:
            self.access_token()
        assert self._api_domain is not None
        return self._api_domain.rstrip("/") + f"/crm/{API_VERSION}"

    def _refresh(self) -> None:
        creds = self.credentials
        form = {
            "grant_type": "refresh_token",
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
            "refresh_token": creds.refresh_token,
        }
        try:
            response = self.session.post(creds.token_url, data=form)
        except requests.RequestException as error:
            raise SourceError(f"cannot reach the Zoho accounts server {creds.accounts_url}: {error}") from None
        body = json_or_none(response)
        if not isinstance(body, dict):
            raise SourceError(
                f"the Zoho accounts server {creds.accounts_url} sent a malformed token answer "
                f"(HTTP {response.status_code})"
            )
        if "access_token" not in body:
            _raise_token_error(body, response.status_code, creds.accounts_url)
        try:
            lifetime = float(body.get("expires_in") or 3600)
        except (TypeError, ValueError):
            lifetime = 3600.0
        self._token = str(body["access_token"])
        # Two minutes early, or half-way through a token that lives less than four.
        self._expires = self.monotonic() + lifetime - min(TOKEN_MARGIN_SECONDS, lifetime / 2)
        self.refreshes += 1
        if self._api_domain is None:
            domain = str(body.get("api_domain") or "").strip()
            if not domain.startswith(("https://", "http://")):
                raise SourceError(
                    f"the Zoho token answer names no API domain ({domain!r}); set ZOHO_API_DOMAIN "
                    "(or the connection's variable), e.g. https://www.zohoapis.eu"
                )
            self._api_domain = domain

    # -- reads -----------------------------------------------------------------------------------------------

    def list_contacts(
        self,
        *,
        fields: list[str],
        per_page: int,
        page: int | None = None,
        page_token: str | None = None,
        since: datetime | None = None,
    ) -> ZohoPage:
        """One page of `GET /crm/v8/Contacts`, oldest change first; `since` is inclusive."""
        params: dict[str, str | int] = {
            "fields": ",".join(fields),
            "per_page": per_page,
            "sort_by": "Modified_Time",
            "sort_order": "asc",
        }
        _paging(params, page, page_token)
        return self._get(f"/{MODULE}", params, since, "the contacts list")

    def deleted_contacts(
        self, *, per_page: int, page: int | None = None, page_token: str | None = None, since: datetime | None = None
    ) -> ZohoPage:
        """One page of `GET /crm/v8/Contacts/deleted` (recycle bin and permanent deletes)."""
        params: dict[str, str | int] = {"type": "all", "per_page": per_page}
        _paging(params, page, page_token)
        return self._get(f"/{MODULE}/deleted", params, since, "the deleted contacts list")

    def _get(self, path: str, params: Mapping[str, str | int], since: datetime | None, what: str) -> ZohoPage:
        for attempt in (1, 2):
            headers = {"Authorization": f"Zoho-oauthtoken {self.access_token()}"}
            if since is not None:
                headers["If-Modified-Since"] = if_modified_since(since)
            try:
                response = self.session.get(self.api_base + path, params=dict(params), headers=headers)
            except requests.RequestException as error:
                raise SourceError(f"Zoho could not be reached for {what} after retries: {error}") from None
            if response.status_code == 401 and attempt == 1 and _code(response) == "INVALID_TOKEN":
                log.info("Zoho refused the access token (expired or displaced); requesting a new one")
                self._token = None
                continue
            return _page_of(response, what)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.session.close()


def _paging(params: dict[str, str | int], page: int | None, page_token: str | None) -> None:
    if page_token is not None:
        params["page_token"] = page_token
    else:
        params["page"] = page or 1


def _code(response: requests.Response) -> str:
    body = json_or_none(response)
    return str(body.get("code") or "") if isinstance(body, dict) else ""


def _served_at(response: requests.Response) -> datetime | None:
    value = response.headers.get("Date")
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def _page_of(response: requests.Response, what: str) -> ZohoPage:
    status = response.status_code
    served = _served_at(response)
    if status in (204, 304):  # no records at all / none changed since If-Modified-Since: empty bodies
        return ZohoPage([], False, None, served)
    if status != 200:
        _raise_api_error(response, what)
    body = json_or_none(response)
    data = body.get("data") if isinstance(body, dict) else None
    info = body.get("info") if isinstance(body, dict) else None
    if not isinstance(data, list) or not isinstance(info, dict) or not all(isinstance(r, dict) for r in data):
        raise SourceError(f"Zoho sent a malformed answer to {what} (no data list and info; truncated body?)")
    more = info.get("more_records") is True
    token = info.get("next_page_token")
    return ZohoPage(data, more, str(token) if token else None, served)


def _raise_api_error(response: requests.Response, what: str) -> NoReturn:
    status = response.status_code
    body = json_or_none(response)
    body = body if isinstance(body, dict) else {}
    code = str(body.get("code") or "")
    message = str(body.get("message") or response.reason or "").strip()
    detail = f"HTTP {status}" + (f" {code}" if code else "") + (f": {message}" if message else "")
    details = body.get("details")
    if details:
        detail += f" {details}"
    if status == 429:
        raise QuotaExhausted(
            f"Zoho kept refusing {what} with 429 after retries ({detail}): the organisation's API credits or "
            "concurrent-call limit are used up"
        )
    if code in RESTART_CODES:
        raise PagingRestart(f"Zoho will not page {what} further ({detail})")
    if status in (401, 403) or code in _AUTH_CODES:
        raise AuthenticationError(
            f"Zoho refused {what} ({detail}); the refresh token needs the ZohoCRM.modules.contacts.READ scope "
            "and a user allowed to read contacts"
        )
    if status >= 500:
        raise SourceError(f"Zoho failed {what} after retries ({detail})")
    raise SourceError(f"Zoho refused {what} ({detail})")


def _raise_token_error(body: Mapping[str, Any], status: int, accounts_url: str) -> NoReturn:
    error = str(body.get("error") or "no access_token")
    description = str(body.get("error_description") or "").strip()
    if "too many requests" in description.lower() or error.lower() == "access denied":
        raise QuotaExhausted(
            f"the Zoho accounts server {accounts_url} refuses new access tokens for now ({error}: {description}); "
            "Zoho allows 10 per refresh token per 10 minutes"
        )
    hint = {
        "invalid_client": "the client id or secret is wrong, or the client belongs to another data centre "
        "(set ZOHO_ACCOUNTS_URL, e.g. https://accounts.zoho.eu)",
        "invalid_code": "the refresh token is wrong, revoked or from another data centre; generate a new one",
        "invalid_client_secret": "the client secret is wrong",
        "unsupported_grant_type": "the accounts server did not accept a refresh_token grant",
    }.get(error, description or "see Zoho's OAuth error codes")
    raise AuthenticationError(
        f"Zoho refused the refresh token at {accounts_url} (HTTP {status}, error {error}): {hint}"
    )
