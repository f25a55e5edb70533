"""HTTP sessions shared by the CRM connectors: timeouts, retries with backoff and jitter, request counting.

Retries live in urllib3's `Retry`, below the client libraries, so every call they make (paging, bulk jobs, token
requests) gets the same treatment: 5xx answers, timeouts and connection resets are retried with exponential
backoff and jitter, `Retry-After` is honoured, and the last answer is handed back when the retries run out so
that the client library raises its own error for it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

RETRY_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class RetrySettings:
    """How hard to try. `backoff` seconds doubles per attempt (the first retry is immediate), plus up to
    `backoff` seconds of jitter, capped at `backoff_max`."""

    attempts: int = 5
    backoff: float = 1.0
    backoff_max: float = 60.0
    timeout: float = 60.0

    @classmethod
    def from_env(cls) -> RetrySettings:
        """`CONTACTS_HTTP_RETRIES`, `CONTACTS_HTTP_BACKOFF` and `CONTACTS_HTTP_TIMEOUT` override the defaults."""
        defaults = cls()
        return cls(
            attempts=int(os.environ.get("CONTACTS_HTTP_RETRIES") or defaults.attempts),
            backoff=float(os.environ.get("CONTACTS_HTTP_BACKOFF") or defaults.backoff),
            backoff_max=defaults.backoff_max,
            timeout=float(os.environ.get("CONTACTS_HTTP_TIMEOUT") or defaults.timeout),
        )

    def retry(self, statuses: frozenset[int] = RETRY_STATUSES) -> Retry:
        return Retry(
            total=self.attempts,
            connect=self.attempts,
            read=self.attempts,
            status=self.attempts,
            other=0,
            # Every method: a repeated query or a duplicate bulk job costs a request, a lost page costs data.
            allowed_methods=None,
            status_forcelist=statuses,
            backoff_factor=self.backoff,
            backoff_jitter=self.backoff,
            backoff_max=self.backoff_max,
            respect_retry_after_header=True,
            raise_on_status=False,
            raise_on_redirect=False,
        )


class CrmSession(requests.Session):
    """A `requests` session with a default timeout, retries, a request count and, for one `http://` host, the
    scheme put back.

    Client libraries that hard-code `https://` (simple-salesforce builds every URL that way) still reach a sandbox
    or a test server on plain HTTP: requests to `https://<plain_host>` go out as `http://<plain_host>`.
    """

    def __init__(
        self,
        retry: RetrySettings,
        plain_http_hosts: tuple[str, ...] = (),
        statuses: frozenset[int] = RETRY_STATUSES,
    ) -> None:
        super().__init__()
        self.timeout = retry.timeout
        self.requests_sent = 0
        self._plain: tuple[str, ...] = ()
        for host in plain_http_hosts:
            self.keep_plain_http(host)
        adapter = HTTPAdapter(max_retries=retry.retry(statuses))
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def keep_plain_http(self, host: str) -> None:
        """Send requests for `https://<host>` as `http://<host>` (`host` is `name[:port]`)."""
        prefix = f"https://{host}"
        if prefix not in self._plain:
            self._plain = (*self._plain, prefix)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if isinstance(url, str) and any(_on_host(url, prefix) for prefix in self._plain):
            url = "http://" + url[len("https://") :]
        kwargs.setdefault("timeout", self.timeout)
        self.requests_sent += 1
        return super().request(method, url, *args, **kwargs)  # type: ignore[arg-type]


def json_or_none(response: requests.Response) -> Any:
    """The body as JSON, None when it is not (an HTML gateway page, a truncated answer)."""
    try:
        return response.json()
    except ValueError:
        return None


def _on_host(url: str, prefix: str) -> bool:
    return url.startswith(prefix) and url[len(prefix) : len(prefix) + 1] in ("", "/", "?")


def plain_http_host(url: str) -> str | None:
    """The `host[:port]` of an `http://` URL, else None."""
    parts = urlsplit(url)
    return parts.netloc if parts.scheme == "http" and parts.netloc else None
