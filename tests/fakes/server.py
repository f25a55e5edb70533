"""A small base for fake HTTP servers (the fake CRMs) served over local HTTP in a daemon thread.

A subclass answers requests in `handle()` and describes its faults in `fault_response()`; the base serves,
logs every request, applies injected faults and latency, turns handler exceptions into 500 answers (recorded in
`server_errors` so a test can fail on them) and, on `stop()`, closes idle keep-alive connections so no socket
outlives the fake: the suite turns warnings into errors, and a leaked socket is a ResourceWarning.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Self
from urllib.parse import parse_qs, unquote_plus, urlsplit

JSON_TYPE = "application/json;charset=UTF-8"
# Dropping the connection is the same for every fake; the other kinds are answers a subclass writes.
DROP_FAULTS = frozenset({"reset", "timeout"})


@dataclass(frozen=True)
class LoggedRequest:
    """One request the fake served; status is None when a fault dropped the connection without answering.

    `query` is the raw query string, `headers` has lower-case names and `body` is the request body as text.
    """

    method: str
    path: str
    query: str
    headers: dict[str, str]
    status: int | None
    body: str = ""

    @property
    def params(self) -> dict[str, list[str]]:
        """The query string parsed, repeated parameters kept in order."""
        return parse_qs(self.query, keep_blank_values=True)


@dataclass
class Fault:
    kind: str
    at_seq: int | None  # the API request sequence number from which it fires; None: any matching request
    match: str | None
    remaining: int


@dataclass
class Request:
    """An incoming request as handlers see it; `params` keeps the last value of each query parameter."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes = b""

    @property
    def params(self) -> dict[str, str]:
        return {name: values[-1] for name, values in parse_qs(self.query, keep_blank_values=True).items()}

    @property
    def target(self) -> str:
        return self.path + ("?" + self.query if self.query else "")


@dataclass
class Response:
    """An answer; `content_type` None sends no Content-Type (the empty 204/304 answers)."""

    status: int
    body: bytes = b""
    content_type: str | None = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    """Compact UTF-8 JSON, as the real APIs send it (accented names stay readable in the log)."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(status, body, JSON_TYPE, dict(headers or {}))


class TrackingHTTPServer(ThreadingHTTPServer):
    """Tracks open connections so stop() can close idle keep-alive sockets instead of leaking them."""

    daemon_threads = True

    def __init__(self, fake: FakeServer) -> None:
        self.fake = fake
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Condition()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        with self.connections_lock:
            self.connections.discard(request)
            self.connections_lock.notify_all()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Connections torn down by stop() or by a client timeout are expected; stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: without this each waits ~40 ms for an ACK
    sys_version = ""
    server: TrackingHTTPServer

    def version_string(self) -> str:
        return self.server.fake.server_name

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The `Date` header on the fake's own clock, as a real server's follows the service's."""
        return format_datetime(self.server.fake.served_at(), usegmt=True)

    def log_message(self, format: str, *args: Any) -> None:
        """The fake keeps its own request log; keep stderr clean."""

    def _serve(self) -> None:
        self.server.fake._dispatch(self)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _serve


class FakeServer:
    """The serving, logging and fault machinery shared by the fakes; subclasses supply the API."""

    fault_kinds: ClassVar[frozenset[str]] = DROP_FAULTS
    api_prefix: ClassVar[str] = "/"  # requests under it count for `inject(at=...)` and `api_requests`
    server_name: ClassVar[str] = "FakeServer/1.0"
    latency_api_only: ClassVar[bool] = False  # True: `latency` slows only the API, not token or unknown paths
    fault_match_body: ClassVar[bool] = False  # True: `inject(match=...)` also looks in the request body

    def __init__(self) -> None:
        self.latency = 0.0  # seconds added to every answer (benchmarks)
        self.timeout_hold = 2.0  # how long a "timeout" fault holds the connection before closing it
        self.requests: list[LoggedRequest] = []
        self.server_errors: list[str] = []
        self._lock = threading.RLock()
        self._faults: list[Fault] = []
        self._api_seen = 0
        self._server: TrackingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # -- to override -----------------------------------------------------------------------------------------------

    def served_at(self) -> datetime:
        """What the `Date` header says: real time, unless the fake keeps a clock of its own."""
        return datetime.now(UTC)

    def handle(self, request: Request) -> Response:
        """Answer one request that no fault intercepted."""
        raise NotImplementedError

    def fault_response(self, kind: str, request: Request) -> Response:
        """The answer for an injected fault other than the connection drops ("reset", "timeout")."""
        raise NotImplementedError(kind)

    def internal_error_response(self) -> Response:
        """What a handler exception is answered with; subclasses use their API's error shape."""
        return json_response(500, {"error": "the fake failed; see server_errors"})

    def arrived(self, request: Request, is_api: bool) -> None:
        """Called under the lock as each request arrives, before a fault is drawn: for usage counters that
        faulted requests move too, as they do on the real service."""

    def finish_response(self, request: Request, response: Response) -> Response:
        """The last look at every answer (handled, faulted or failed; not dropped connections), for what the API
        adds to all of them, such as usage or correlation headers."""
        return response

    def log_entry(self, request: Request, status: int | None) -> LoggedRequest:
        """The request-log entry of one request; a fake whose tests read the log differently returns a subclass."""
        body = request.body.decode("utf-8", "replace")
        return LoggedRequest(request.method, request.path, request.query, request.headers, status, body)

    # -- lifecycle -------------------------------------------------------------------------------------------------

    def start(self) -> Self:
        """Serve on 127.0.0.1 at a free port in a daemon thread; returns self for chaining."""
        if self._server is not None:
            raise RuntimeError("the fake is already started")
        self._stopping.clear()
        self._server = TrackingHTTPServer(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every connection, so no socket outlives the fake (no ResourceWarning)."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()  # wakes handlers holding a "timeout" fault or sleeping out `latency`
        server.shutdown()
        with server.connections_lock:
            for conn in list(server.connections):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
            server.connections_lock.wait_for(lambda: not server.connections, timeout=5)
        server.server_close()
        thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>`."""
        if self._server is None:
            raise RuntimeError("the fake is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_requests(self) -> int:
        """How many API requests reached the fake (faulted and refused ones included)."""
        return sum(1 for r in self.requests if r.path.startswith(self.api_prefix))

    # -- faults ----------------------------------------------------------------------------------------------------

    def inject(self, kind: str, *, at: int | None = None, match: str | None = None, times: int = 1) -> None:
        """Fault `times` requests: from the `at`-th API request from now (the next is 1), and/or those whose
        path+query contains `match` (which can target non-API paths); with neither, the next API request.
        A faulted request consumes nothing: the API never sees it."""
        if kind not in self.fault_kinds:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(self.fault_kinds)}")
        if at is not None and at < 1:
            raise ValueError("at counts from 1 (the next request)")
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            at_seq = None
            if at is not None:
                at_seq = self._api_seen + at
            elif match is None:
                at_seq = self._api_seen + 1
            self._faults.append(Fault(kind, at_seq, match, times))

    def clear_faults(self) -> None:
        """Drop faults not yet triggered, e.g. between phases of one test."""
        with self._lock:
            self._faults.clear()

    def _take_fault(self, is_api: bool, seq: int, target: str, body: str = "") -> str | None:
        """The first armed fault this request triggers; called under the lock."""
        decoded = unquote_plus(target)
        for fault in self._faults:
            if fault.at_seq is not None and (not is_api or seq < fault.at_seq):
                continue
            if fault.match is not None and all(fault.match not in text for text in (target, decoded, body)):
                continue
            fault.remaining -= 1
            if fault.at_seq is not None:
                fault.at_seq = seq + 1  # `times` consecutive API requests
            if fault.remaining <= 0:
                self._faults.remove(fault)
            return fault.kind
        return None

    # -- serving ---------------------------------------------------------------------------------------------------

    def _dispatch(self, handler: _Handler) -> None:
        split = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in handler.headers.items()}
        request = Request(handler.command, split.path, split.query, headers, raw)
        is_api = split.path.startswith(self.api_prefix)
        searched_body = raw.decode("utf-8", "replace") if self.fault_match_body else ""
        with self._lock:
            if is_api:
                self._api_seen += 1
            self.arrived(request, is_api)
            fault = self._take_fault(is_api, self._api_seen, request.target, searched_body)
        if self.latency and (is_api or not self.latency_api_only):
            self._stopping.wait(self.latency)
        if fault in DROP_FAULTS:
            self.requests.append(self.log_entry(request, None))
            if fault == "timeout":
                self._stopping.wait(self.timeout_hold)
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
            handler.connection.close()
            return
        try:
            response = self.fault_response(fault, request) if fault is not None else self.handle(request)
        except Exception:
            self.server_errors.append(traceback.format_exc())
            response = self.internal_error_response()
        response = self.finish_response(request, response)
        self.requests.append(self.log_entry(request, response.status))
        handler.send_response(response.status)
        if response.content_type is not None:
            handler.send_header("Content-Type", response.content_type)
        if response.status not in (204, 304):  # they have no body, and a Content-Length on a 204 is a violation
            handler.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        if request.method != "HEAD" and response.body and response.status not in (204, 304):
            handler.wfile.write(response.body)
