"""The shared HTTP session: retries every method on 5xx, honours http:// hosts, counts requests, times out."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from connectors.http import CrmSession, RetrySettings, plain_http_host


class _Flaky(BaseHTTPRequestHandler):
    failures_left = 0
    hits = 0

    def _answer(self) -> None:
        type(self).hits += 1
        status = 503 if type(self).failures_left > 0 else 200
        type(self).failures_left -= 1
        body = b'{"ok": true}'
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def server() -> Iterator[str]:
    _Flaky.failures_left, _Flaky.hits = 0, 0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


FAST = RetrySettings(attempts=3, backoff=0.01, backoff_max=0.02, timeout=2.0)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_5xx_is_retried_for_every_method(server: str, method: str) -> None:
    _Flaky.failures_left = 2
    with CrmSession(FAST) as session:
        response = session.request(method, f"http://{server}/x")
    assert response.status_code == 200 and _Flaky.hits == 3
    assert session.requests_sent == 1  # one logical request; the retries happen below it


def test_the_last_answer_is_returned_when_retries_run_out(server: str) -> None:
    _Flaky.failures_left = 10
    with CrmSession(FAST) as session:
        response = session.get(f"http://{server}/x")
    assert response.status_code == 503 and _Flaky.hits == 4  # the first try and three retries


def test_https_urls_of_a_plain_http_host_go_out_as_http(server: str) -> None:
    with CrmSession(FAST, plain_http_hosts=(server,)) as session:
        assert session.get(f"https://{server}/services/data/v59.0/").status_code == 200


def test_the_rewrite_matches_the_whole_host_and_port(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[str] = []
    monkeypatch.setattr(requests.Session, "request", lambda self, method, url, *a, **k: sent.append(url))
    session = CrmSession(FAST, plain_http_hosts=("127.0.0.1:80",))
    for url in ("https://127.0.0.1:8000/x", "https://127.0.0.1:80/x", "https://127.0.0.1:80", "https://127.0.0.1:80?q"):
        session.request("GET", url)
    assert sent == ["https://127.0.0.1:8000/x", "http://127.0.0.1:80/x", "http://127.0.0.1:80", "http://127.0.0.1:80?q"]


def test_plain_http_host() -> None:
    assert plain_http_host("http://127.0.0.1:8765") == "127.0.0.1:8765"
    assert plain_http_host("https://acme.my.salesforce.com") is None
    assert plain_http_host("") is None
