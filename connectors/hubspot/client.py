"""A hubspot-api-client wrapper that retries what HubSpot throttles, paces searches and speaks our exceptions.

The SDK builds a new `ApiClient` (and connection pool) on every `client.crm.contacts.basic_api` access, so the two
APIs are built once here. Its default urllib3 `Retry` never retries a POST, and every search is one: the `Retry`
given here allows every method and adds 429 to the retried statuses (`Retry-After` is honoured when HubSpot sends
it, which it does not always do). Searches are also paced on this side (HubSpot allows about 4-5 per second per
account, shared by every app installed in it), because a 429 that is retried still costs a request and a wait.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import requests
import urllib3
from hubspot import HubSpot  # type: ignore[import-untyped]
from hubspot.crm.contacts import PublicObjectSearchRequest  # type: ignore[import-untyped]
from hubspot.crm.contacts.exceptions import ApiException  # type: ignore[import-untyped]

from connectors.errors import AuthenticationError, QuotaExhausted, SourceError
from connectors.http import RETRY_STATUSES, RetrySettings
from connectors.hubspot.settings import HubSpotCredentials

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_SEARCH_RPS = 4.0
HUBSPOT_RETRY_STATUSES = RETRY_STATUSES | {429}


class RateLimiter:
    """Spaces calls at least `1 / per_second` seconds apart (None or 0: no limit). `sleep` and `monotonic` are
    injectable so tests can check the pacing without waiting."""

    def __init__(
        self,
        per_second: float | None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_second = per_second
        self.sleep = sleep
        self.monotonic = monotonic
        self.waited = 0.0
        self._next: float | None = None

    def wait(self) -> None:
        if not self.per_second:
            return
        now = self.monotonic()
        if self._next is not None and self._next > now:
            pause = self._next - now
            self.waited += pause
            self.sleep(pause)
            now = self._next
        self._next = now + 1.0 / self.per_second


class HubSpotClient:
    """One portal. `list_page` and `search` are the two calls a sync makes; `call(fn, what)` runs any SDK call and
    translates its failures. `requests_sent` counts logical calls (a retried one counts once)."""

    def __init__(
        self,
        credentials: HubSpotCredentials,
        retry: RetrySettings | None = None,
        search_rps: float | None = DEFAULT_SEARCH_RPS,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.credentials = credentials
        self.retry = retry or RetrySettings.from_env()
        self.hubspot = HubSpot(
            access_token=credentials.access_token,
            host=credentials.host,
            retry=self.retry.retry(HUBSPOT_RETRY_STATUSES),
        )
        self.limiter = RateLimiter(search_rps, sleep, monotonic)
        self.requests_sent = 0
        self._basic: Any = None
        self._search: Any = None

    # -- the SDK's APIs, built once ----------------------------------------------------------------------------

    @property
    def basic_api(self) -> Any:
        if self._basic is None:
            self._basic = self.hubspot.crm.contacts.basic_api
        return self._basic

    @property
    def search_api(self) -> Any:
        if self._search is None:
            self._search = self.hubspot.crm.contacts.search_api
        return self._search

    # -- calls -------------------------------------------------------------------------------------------------

    def list_page(self, *, after: str | None, limit: int, properties: list[str], archived: bool) -> Any:
        """One page of `GET /crm/v3/objects/contacts` (live or archived contacts, in id order)."""
        what = "the archived contacts list" if archived else "the contacts list"
        timeout = self.retry.timeout
        api = self.basic_api
        return self.call(
            lambda: api.get_page(
                limit=limit, after=after, properties=list(properties), archived=archived, _request_timeout=timeout
            ),
            what,
        )

    def search(
        self,
        filter_groups: list[dict[str, Any]],
        sort: dict[str, str],
        properties: list[str],
        limit: int,
        after: int,
    ) -> Any:
        """One page of `POST /crm/v3/objects/contacts/search`, paced by the client-side limiter."""
        body = PublicObjectSearchRequest(
            filter_groups=filter_groups,
            sorts=[sort],
            properties=list(properties),
            limit=limit,
            after=str(after) if after else None,
        )
        timeout = self.retry.timeout
        api = self.search_api
        self.limiter.wait()
        return self.call(lambda: api.do_search(body, _request_timeout=timeout), "the contacts search")

    def call(self, fn: Callable[[], T], what: str) -> T:
        """`fn()`; `what` names the call in error messages. An answer whose `results` did not parse (a truncated
        body becomes a model with `results=None`) is malformed."""
        self.requests_sent += 1
        try:
            result = fn()
        except ApiException as error:
            _raise_translated(error, what)
        except urllib3.exceptions.MaxRetryError as error:
            raise SourceError(f"HubSpot could not be reached for {what} after retries: {error.reason}") from None
        except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as error:
            raise SourceError(f"HubSpot could not be reached for {what}: {error}") from None
        except ValueError as error:  # the SDK's models refuse a body missing required values
            raise SourceError(f"HubSpot sent a malformed response to {what}: {error}") from None
        if hasattr(result, "results") and result.results is None:
            raise SourceError(f"HubSpot sent a malformed response to {what} (no results list; truncated body?)")
        return result

    def close(self) -> None:
        for api in (self._basic, self._search):
            api_client = getattr(api, "api_client", None)
            if api_client is None:
                continue
            api_client.close()
            pool = getattr(getattr(api_client, "rest_client", None), "pool_manager", None)
            if pool is not None:
                pool.clear()
        self._basic = self._search = None


def _error_body(error: ApiException) -> dict[str, Any]:
    body = error.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        parsed = json.loads(body) if isinstance(body, str) else None
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _raise_translated(error: ApiException, what: str) -> NoReturn:
    status = int(error.status or 0)
    body = _error_body(error)
    message = str(body.get("message") or error.reason or "").strip()
    detail = f"HTTP {status}" + (f": {message}" if message else "")
    if status == 401:
        raise AuthenticationError(
            f"HubSpot refused the access token for {what} ({detail}); set a valid private-app or OAuth token in "
            "HUBSPOT_ACCESS_TOKEN (or the connection's variable)"
        ) from None
    if status == 403:
        raise AuthenticationError(
            f"HubSpot refused {what} ({detail}): the token needs the crm.objects.contacts.read scope"
        ) from None
    if status == 429:
        policy = str(body.get("policyName") or "")
        if policy.upper() == "DAILY":
            raise QuotaExhausted(f"the HubSpot portal's daily API limit is used up ({message or policy})") from None
        raise SourceError(
            f"HubSpot kept rate-limiting {what} after retries ({detail}; policy {policy or 'unknown'})"
        ) from None
    if status >= 500:
        raise SourceError(f"HubSpot failed {what} after retries ({detail})") from None
    category = str(body.get("category") or "")
    raise SourceError(f"HubSpot refused {what} ({detail}{'; ' + category if category else ''})") from None
