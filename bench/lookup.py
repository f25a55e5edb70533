"""Benchmark of the contacts API's lookups by phone and email against a trivial FastAPI endpoint.

The question this answers is whether a lookup over HTTP is close to what the web stack can serve at all: on a
store of 1M contacts, `GET /v1.0/contacts/lookup?phone=...` and `?email=...` are loaded for 30 s at 32
connections against SQLite and PostgreSQL, and in the same run a FastAPI app with one trivial `async def`
endpoint (bench/lookup_ceiling_app.py), served with the same uvicorn settings, gives the ceiling. Targets:
each lookup reaches at least 50% of the ceiling's requests/s, with a p99 latency under 10 ms. (The load is a
closed loop, so the mean latency is 32 / throughput: a p99 under 10 ms needs well over 3,200 requests/s.)

Each server is `contact-sync serve` with its default settings (only --host and --port given), started as a
subprocess on a free loopback port, one per measurement, and stopped (its whole process group) after it. The
load comes from a second process: wrk when it is installed (`apt-get install wrk`), else a Python asyncio
client, which on a small machine competes with the server for CPU and so understates what the server can do.
Each measurement follows a short warm-up with the same load. The lookup keys are 10,000 distinct phone
numbers and addresses of live contacts, sampled from the store itself, so requests should find a contact;
non-2xx answers are reported, and more than 1% of them makes the run invalid.

    python bench/lookup.py [--rows 1000000] [--duration 30] [--connections 32] [--threads 1] [--warmup 5]
                           [--keys 10000] [--pg-url URL] [--skip-pg] [--skip-sqlite] [--ceiling-only]
                           [--prepare-only] [--client auto|wrk|python] [--workdir DIR] [--seed N]

The stores are built once with the CSV import from the file bench/import_csv.py generates, and kept: the SQLite
file in the work directory, the PostgreSQL database (default `contacts_bench_lookup`, created when missing).
A marker table records what was loaded; a store whose marker or live-contact count does not match is rebuilt
from scratch. A first run takes about 10 minutes (two imports), later ones 3 to 4.
Exit status: 0 when every target passes, 1 when one fails or a measurement could not be made.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
for _path in (BENCH_DIR, PROJECT_ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import sqlalchemy as sa  # noqa: E402
from import_csv import GENERATOR_VERSION, SEED, admin_conninfo, generated_file, pg_server_version  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402

from contacts_store import schema  # noqa: E402
from contacts_store.db import create_engine, upgrade  # noqa: E402

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/contacts_bench_lookup"
DEFAULT_WORKDIR = Path(os.environ.get("TMPDIR", "/tmp")) / "contact-sync-bench"
CUSTOMER_ID = uuid.UUID("3b8e4f0a-5c21-4d9e-8a7b-1f2e3d4c5b6a")
REGION = "US"
CONTACT_SYNC = Path(sys.executable).with_name("contact-sync")
LOOKUP_PATH = "/v1.0/contacts/lookup"
CEILING_PATH = "/ping"
MARKER_TABLE = "bench_lookup_store"

# Targets.
MIN_SHARE_OF_CEILING = 0.50
MAX_P99_MS = 10.0
# More non-2xx answers than this to keys sampled from the store means the run measured errors, not lookups.
MAX_NON_2XX_SHARE = 0.01
# Share of a core used by processes outside the benchmark above which a measurement is flagged.
OTHER_LOAD = 0.25

# wrk: rotate through pre-formatted requests (each thread from its own offset), one JSON summary line at the end.
WRK_SCRIPT = r"""
local requests = {}
local index = 0
local next_thread = 0

function setup(thread)
  thread:set("thread_number", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  if args[2] and #args[2] > 0 then
    wrk.headers["Authorization"] = "Bearer " .. args[2]
  end
  local file = assert(io.open(args[1], "r"))
  for line in file:lines() do
    if #line > 0 then
      requests[#requests + 1] = wrk.format("GET", line)
    end
  end
  file:close()
  index = ((thread_number or 0) * 7919) % #requests
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f, '
      .. '"status_errors": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max, latency.mean,
    e.status, e.connect, e.read, e.write, e.timeout))
end
"""


# --------------------------------------------------------------------------------------------------------------
# Stores
# --------------------------------------------------------------------------------------------------------------


@dataclass
class Store:
    kind: str  # "SQLite" or "PostgreSQL"
    url: str
    live_contacts: int = 0
    phones: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    build_seconds: float | None = None  # None when the cached store was reused
    built_at: str = ""  # from the marker: identifies one build of the store


def _marker() -> sa.Table:
    return sa.Table(
        MARKER_TABLE,
        sa.MetaData(),
        sa.Column("customer_id", sa.String(36), primary_key=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("live_contacts", sa.Integer, nullable=False),
        sa.Column("built_at", sa.Text, nullable=False),
    )


def count_live_contacts(engine: Engine) -> int:
    c = schema.contacts
    query = sa.select(sa.func.count()).where(c.c.customer_id == CUSTOMER_ID, c.c.tm_delete.is_(None))
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def cached_store(url: str, source: str) -> tuple[int, str] | None:
    """Live contacts and build time of a store built earlier from `source`, or None when it must be (re)built."""
    engine = create_engine(url)
    try:
        marker = _marker()
        if not sa.inspect(engine).has_table(MARKER_TABLE):
            return None
        with engine.connect() as conn:
            row = conn.execute(sa.select(marker).where(marker.c.customer_id == str(CUSTOMER_ID))).first()
        if row is None or row.source != source:
            return None
        live = count_live_contacts(engine)
        return (live, str(row.built_at)) if live == row.live_contacts and live > 0 else None
    except sa.exc.SQLAlchemyError:
        return None
    finally:
        engine.dispose()


def write_marker(url: str, source: str) -> tuple[int, str]:
    engine = create_engine(url)
    try:
        live = count_live_contacts(engine)
        built_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        marker = _marker()
        with engine.begin() as conn:
            marker.create(conn, checkfirst=True)
            conn.execute(marker.delete())
            conn.execute(
                marker.insert().values(
                    customer_id=str(CUSTOMER_ID),
                    source=source,
                    live_contacts=live,
                    built_at=built_at,
                )
            )
        return live, built_at
    finally:
        engine.dispose()


def remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def pg_database_exists(url: str) -> bool:
    import psycopg

    conninfo, name = admin_conninfo(url)
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def recreate_pg_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    conninfo, name = admin_conninfo(url)
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def import_into(url: str, csv_path: Path) -> None:
    from pipelines.csv_import import import_csv

    result = import_csv(csv_path, url, customer_id=CUSTOMER_ID, region=REGION)
    counts = {name: getattr(result, name, None) for name in ("read", "inserted", "updated", "rejected")}
    print(f"    import: {', '.join(f'{k} {v:,}' for k, v in counts.items() if isinstance(v, int))}", flush=True)


def prepare_store(kind: str, url: str, csv_path: Path, rebuild: Any) -> Store:
    """Reuse the store when its marker says it holds this file's contacts; else rebuild it and mark it."""
    source = csv_path.name
    print(f"  {kind}: ", end="", flush=True)
    cached = cached_store(url, source)
    store = Store(kind=kind, url=url)
    if cached is not None:
        live, store.built_at = cached
        print(f"reusing the store built {store.built_at} ({live:,} live contacts)", flush=True)
    else:
        print(f"building the store from {csv_path} (a few minutes) ...", flush=True)
        started = time.perf_counter()
        rebuild()
        import_into(url, csv_path)
        live, store.built_at = write_marker(url, source)
        store.build_seconds = time.perf_counter() - started
        print(f"    built in {store.build_seconds:.0f} s, {live:,} live contacts", flush=True)
    # Migrations added since the store was built (the API's, say) apply here; a no-op when it is current.
    upgrade(url)
    store.live_contacts = live
    return store


def sample_keys(store: Store, count: int, seed: int, workdir: Path) -> None:
    """Distinct phone numbers and addresses of live contacts, sampled reproducibly (same keys for equal stores).

    Reading all of them takes half a minute on SQLite, so the sample is kept next to the stores for the next run
    on the same build of the same store.
    """
    cache = workdir / f"lookup_keys_{store.kind.lower()}_n{count}_s{seed}.json"
    identity = {"url": make_url(store.url).render_as_string(), "built_at": store.built_at}
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        data = json.loads(cache.read_text())
        if data["identity"] == identity and data["phones"] and data["emails"]:
            store.phones, store.emails = list(data["phones"]), list(data["emails"])
            print(f"    reusing {len(store.phones):,} phone numbers and {len(store.emails):,} addresses from {cache}")
            return
    p, e, c = schema.contact_phone_numbers, schema.contact_emails, schema.contacts
    live = sa.and_(c.c.customer_id == CUSTOMER_ID, c.c.tm_delete.is_(None))
    phones = (
        sa.select(p.c.number_e164)
        .distinct()
        .select_from(p.join(c, c.c.id == p.c.contact_id))
        .where(p.c.customer_id == CUSTOMER_ID, live)
    )
    emails = (
        sa.select(e.c.address)
        .distinct()
        .select_from(e.join(c, c.c.id == e.c.contact_id))
        .where(e.c.customer_id == CUSTOMER_ID, live)
    )
    started = time.perf_counter()
    engine = create_engine(store.url)
    try:
        with engine.connect() as conn:
            all_phones = sorted(conn.execute(phones).scalars())
            all_emails = sorted(conn.execute(emails).scalars())
    finally:
        engine.dispose()
    rng = random.Random(seed)
    store.phones = rng.sample(all_phones, min(count, len(all_phones)))
    store.emails = rng.sample(all_emails, min(count, len(all_emails)))
    print(
        f"    sampled {len(store.phones):,} of {len(all_phones):,} distinct phone numbers and {len(store.emails):,} "
        f"of {len(all_emails):,} addresses in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    cache.write_text(json.dumps({"identity": identity, "phones": store.phones, "emails": store.emails}))


def lookup_paths(kind: str, keys: Sequence[str]) -> list[str]:
    return [f"{LOOKUP_PATH}?{kind}={quote(key, safe='')}" for key in keys]


# --------------------------------------------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(port: int, path: str, token: str | None = None, timeout: float = 5.0) -> tuple[int, bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read()


class ServerFailed(RuntimeError):
    pass


class Server:
    """A server subprocess in its own process group, on a free loopback port, logging to a file."""

    def __init__(self, name: str, command: Sequence[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.port = free_port()
        self.command = [*command, "--host", "127.0.0.1", "--port", str(self.port)]
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command,
                env=self.env,
                cwd=PROJECT_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_healthy(timeout=60.0)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _wait_healthy(self, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerFailed(f"{self.name} exited with status {self.process.returncode}: {self.log_tail()}")
            with contextlib.suppress(OSError):
                if http_get(self.port, "/health", timeout=1.0)[0] == 200:
                    return
            time.sleep(0.1)
        raise ServerFailed(f"{self.name} did not answer /health within {timeout:.0f} s: {self.log_tail()}")

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(text[-lines:]) or "(empty log)"

    def stop(self) -> None:
        """SIGTERM to the process group, SIGKILL after 10 s; then SIGKILL to whatever is left of the group."""
        process, self.process = self.process, None
        if process is None:
            return
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            if process.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=wait)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    @property
    def pgid(self) -> int | None:
        return self.process.pid if self.process is not None else None


def api_server(store: Store, kind: str, workdir: Path) -> Server:
    env = {**os.environ, "CONTACTS_DATABASE_URL": store.url}
    log = workdir / f"lookup_server_{store.kind.lower()}_{kind}.log"
    return Server(f"contact-sync serve ({store.kind})", [str(CONTACT_SYNC), "serve"], env, log)


def ceiling_server(workdir: Path) -> Server:
    command = [sys.executable, str(BENCH_DIR / "lookup_ceiling_app.py")]
    return Server("ceiling app", command, dict(os.environ), workdir / "lookup_server_ceiling.log")


def create_token(store: Store) -> str:
    env = {**os.environ, "CONTACTS_DATABASE_URL": store.url}
    command = [str(CONTACT_SYNC), "token", "create", "--customer", str(CUSTOMER_ID), "--name", "bench", "--json"]
    done = subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise ServerFailed(f"`contact-sync token create` failed ({done.returncode}): {done.stderr or done.stdout}")
    for line in reversed(done.stdout.strip().splitlines()):
        with contextlib.suppress(json.JSONDecodeError):
            data = json.loads(line)
            token = data.get("token") if isinstance(data, dict) else None
            if isinstance(token, str):
                return token
    raise ServerFailed(f"`contact-sync token create --json` printed no token: {done.stdout!r}")


# --------------------------------------------------------------------------------------------------------------
# CPU accounting: on 2 cores, who used the CPU during a measurement explains most results
# --------------------------------------------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _proc_stat(pid: str) -> tuple[str, int, float] | None:
    """(command name, process group, CPU seconds) of one process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    return name, int(fields[2]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def cpu_snapshot(pgid: int | None) -> dict[str, float]:
    """CPU seconds used so far by the server's process group, by PostgreSQL, by waited-for children and in all."""
    server = postgres = 0.0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        stat = _proc_stat(entry.name)
        if stat is None:
            continue
        name, group, seconds = stat
        if pgid is not None and group == pgid:
            server += seconds
        elif name == "postgres":
            postgres += seconds
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = resource.getrusage(resource.RUSAGE_SELF)
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    busy = (sum(values[:8]) - values[3] - values[4]) / CLOCK_TICKS  # all but idle and iowait
    return {
        "server": server,
        "postgres": postgres,
        "client": children.ru_utime + children.ru_stime + own.ru_utime + own.ru_stime,
        "machine": busy,
        "wall": time.monotonic(),
    }


def cpu_shares(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Share of one core each used between two snapshots (the machine's is out of all its cores)."""
    wall = max(after["wall"] - before["wall"], 1e-9)
    shares = {key: (after[key] - before[key]) / wall for key in ("server", "postgres", "client")}
    busy = (after["machine"] - before["machine"]) / wall
    shares["other"] = max(0.0, busy - sum(shares.values()))
    shares["machine"] = busy / (os.cpu_count() or 1)
    return shares


# --------------------------------------------------------------------------------------------------------------
# Load generation
# --------------------------------------------------------------------------------------------------------------


@dataclass
class Load:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def non_2xx_share(self) -> float:
        return self.non_2xx / self.requests if self.requests else 1.0

    def latency_ms(self, value: float) -> str:
        return f"{value:.2f}" if self.requests else "n/a"

    def errors(self) -> str:
        text = f"{self.non_2xx_share:.2%}" if self.requests else "no answer"
        if self.socket_errors:
            text += f" (+{self.socket_errors:,} socket errors/timeouts)"
        return text


@dataclass
class LoadSettings:
    client: str  # "wrk" or "python"
    duration: float
    warmup: float
    connections: int
    threads: int
    workdir: Path


def run_wrk(port: int, paths_file: Path, token: str, seconds: float, settings: LoadSettings, log: Path) -> Load:
    script = settings.workdir / "lookup_wrk.lua"
    script.write_text(WRK_SCRIPT)
    command = [
        "wrk",
        f"-t{settings.threads}",
        f"-c{settings.connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}",
        "--",
        str(paths_file),
        token,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    with log.open("a") as handle:
        handle.write(f"$ {' '.join(command[:-1])} <token>\n{done.stdout}{done.stderr}\n")
    match = re.search(r"^WRK_JSON (\{.*\})$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    data = json.loads(match.group(1))
    return Load(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        non_2xx=data["status_errors"],
        socket_errors=data["connect_errors"] + data["read_errors"] + data["write_errors"] + data["timeouts"],
    )


async def _python_load(port: int, paths: Sequence[str], token: str, seconds: float, connections: int) -> Load:
    """Closed-loop HTTP/1.1 keep-alive client: each connection sends its next request when the answer is in."""
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    requests = [f"GET {p} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}\r\n".encode() for p in paths]
    latencies: list[float] = []
    counts = {"non_2xx": 0, "errors": 0}
    started = time.perf_counter()
    deadline = started + seconds

    async def connection(offset: int) -> None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            counts["errors"] += 1
            return
        index = offset
        try:
            while True:
                sent = time.perf_counter()
                if sent >= deadline:
                    break
                writer.write(requests[index % len(requests)])
                index += 1
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                if length is None:
                    raise ValueError("answer without Content-Length")
                await reader.readexactly(int(length.group(1)))
                latencies.append(time.perf_counter() - sent)
                if not 200 <= status < 300:
                    counts["non_2xx"] += 1
        except (OSError, asyncio.IncompleteReadError, ValueError):
            counts["errors"] += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection(i * 7919) for i in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def percentile(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else float("nan")

    return Load(len(latencies), elapsed, percentile(0.50), percentile(0.99), counts["non_2xx"], counts["errors"])


def run_python_client(port: int, paths: Sequence[str], token: str, seconds: float, settings: LoadSettings) -> Load:
    with contextlib.suppress(ImportError):
        import uvloop

        return uvloop.run(_python_load(port, paths, token, seconds, settings.connections))
    return asyncio.run(_python_load(port, paths, token, seconds, settings.connections))


def measure(label: str, server: Server, paths: Sequence[str], token: str, settings: LoadSettings) -> Load:
    paths_file = settings.workdir / f"lookup_paths_{re.sub(r'[^a-z0-9]+', '_', label.lower())}.txt"
    paths_file.write_text("\n".join(paths) + "\n")
    log = settings.workdir / "lookup_wrk.log"

    def load(seconds: float) -> Load:
        if settings.client == "wrk":
            return run_wrk(server.port, paths_file, token, seconds, settings, log)
        return run_python_client(server.port, paths, token, seconds, settings)

    print(f"  {label}: warm-up {settings.warmup:.0f} s, then {settings.duration:.0f} s ...", end="", flush=True)
    if settings.warmup > 0:
        load(settings.warmup)
    before = cpu_snapshot(server.pgid)
    result = load(settings.duration)
    result.cpu = cpu_shares(before, cpu_snapshot(server.pgid))
    print(
        f" {result.rps:,.0f} req/s, p50 {result.latency_ms(result.p50_ms)} ms, "
        f"p99 {result.latency_ms(result.p99_ms)} ms, non-2xx {result.errors()}",
        flush=True,
    )
    return result


# --------------------------------------------------------------------------------------------------------------
# Runs
# --------------------------------------------------------------------------------------------------------------


@dataclass
class Report:
    rows: dict[str, Load | str] = field(default_factory=dict)  # label -> result, or why there is none
    notes: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)


CEILING = "ceiling (trivial FastAPI endpoint)"


def bench_ceiling(report: Report, settings: LoadSettings) -> None:
    try:
        with ceiling_server(settings.workdir) as server:
            report.rows[CEILING] = measure(CEILING, server, [CEILING_PATH], "", settings)
    except (ServerFailed, RuntimeError, subprocess.TimeoutExpired) as exc:
        report.rows[CEILING] = f"failed: {exc}"
        print(f"  {CEILING}: {report.rows[CEILING]}")


# A single lookup on an idle server slower than this is worth a note: it bounds what any load can get.
SLOW_SINGLE_LOOKUP_S = 0.1


def probe(port: int, paths: Sequence[str], token: str) -> str | None:
    """What is wrong with single lookups on the idle server (not 200, or slow), or None.

    The first request pays for connections and caches; the time of the second one is the one reported.
    """
    if not paths:
        return "no lookup keys"
    for path in paths[:2]:
        started = time.perf_counter()
        try:
            status, body = http_get(port, path, token, timeout=60.0)
        except OSError as exc:
            return f"a single lookup ({path}) failed after {time.perf_counter() - started:.1f} s: {exc}"
        seconds = time.perf_counter() - started
        if status != 200:
            text = body[:300].decode(errors="replace")
            return f"a single lookup ({path}) answered {status} in {seconds:.2f} s: {text}"
    if seconds > SLOW_SINGLE_LOOKUP_S:
        return f"a single lookup on the idle server ({path}) took {seconds:.2f} s"
    return None


def bench_store(report: Report, store: Store, settings: LoadSettings) -> None:
    """Phone, then email lookups, each on a server of its own: a backlog left by one never delays the other."""
    labels = [f"{store.kind} phone", f"{store.kind} email"]
    try:
        token = create_token(store)
    except (ServerFailed, subprocess.TimeoutExpired) as exc:
        for label in labels:
            report.rows[label] = f"failed: {exc}"
        print(f"  {store.kind}: failed: {exc}")
        return
    for label, kind, keys in zip(labels, ("phone", "email"), (store.phones, store.emails), strict=True):
        paths = lookup_paths(kind, keys)
        try:
            with api_server(store, kind, settings.workdir) as server:
                problem = probe(server.port, paths, token)
                if problem:
                    report.notes.append(f"{label}: {problem}")
                    print(f"  {report.notes[-1]}")
                report.rows[label] = measure(label, server, paths, token, settings)
                if server.process is not None and server.process.poll() is not None:
                    report.notes.append(f"{label}: the server exited during the run: {server.log_tail()}")
        except (ServerFailed, RuntimeError, subprocess.TimeoutExpired) as exc:
            report.rows[label] = f"failed: {exc}"
            print(f"  {label}: failed: {exc}")


def prepare_stores(args: argparse.Namespace, workdir: Path, report: Report) -> list[Store]:
    stores: list[Store] = []
    if args.ceiling_only:
        return stores
    data = generated_file(workdir, args.rows, args.seed)
    csv_path = Path(data.path)
    if args.skip_sqlite:
        report.notes.append("SQLite skipped (--skip-sqlite)")
    else:
        path = workdir / f"lookup_{args.rows}_s{args.seed}_v{GENERATOR_VERSION}.db"
        url = f"sqlite:///{path}"
        stores.append(prepare_store("SQLite", url, csv_path, lambda: remove_sqlite(path)))
    if args.skip_pg:
        report.notes.append("PostgreSQL skipped (--skip-pg)")
    else:
        try:
            exists = pg_database_exists(args.pg_url)
        except Exception as exc:  # unreachable server: a note, not a crash
            report.notes.append(f"PostgreSQL skipped: {make_url(args.pg_url).render_as_string()} unreachable ({exc})")
            print(f"  {report.notes[-1]}")
        else:
            if not exists:
                recreate_pg_database(args.pg_url)
            stores.append(prepare_store("PostgreSQL", args.pg_url, csv_path, lambda: recreate_pg_database(args.pg_url)))
    for store in stores:
        print(f"  {store.kind}: sampling lookup keys ...", flush=True)
        sample_keys(store, args.keys, args.seed, workdir)
    return stores


# --------------------------------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------------------------------


def machine_line() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return f"{cpu}, {cores} cores ({usable} usable), load average at start {load_average()}"


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def client_line(settings: LoadSettings) -> str:
    if settings.client == "wrk":
        version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.strip().splitlines()
        name = version[0].split(" [")[0] if version else "wrk"
        return f"{name}, {settings.threads} thread(s)"
    why = "" if shutil.which("wrk") else "wrk is not installed; "
    return f"Python asyncio client in the benchmark process ({why}it competes with the server for CPU)"


def results_lines(report: Report, settings: LoadSettings) -> list[str]:
    ceiling = report.rows.get(CEILING)
    ceiling_rps = ceiling.rps if isinstance(ceiling, Load) else None
    lines = [
        "| target | requests/s | p50 ms | p99 ms | % of ceiling | non-2xx |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, result in report.rows.items():
        if isinstance(result, str):
            lines.append(f"| {label} | {result} | | | | |")
            continue
        share = f"{result.rps / ceiling_rps:.0%}" if ceiling_rps else "n/a"
        p50, p99 = result.latency_ms(result.p50_ms), result.latency_ms(result.p99_ms)
        lines.append(f"| {label} | {result.rps:,.0f} | {p50} | {p99} | {share} | {result.errors()} |")
    lines += [
        "",
        "CPU during each measurement, as a share of one core (machine: of all cores; other: processes outside",
        "this benchmark, which skew every number here):",
        "",
        "| target | server | PostgreSQL | load client | other | machine |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, result in report.rows.items():
        if isinstance(result, Load) and result.cpu:
            cpu = result.cpu
            shares = " | ".join(f"{cpu[key]:.0%}" for key in ("server", "postgres", "client", "other", "machine"))
            lines.append(f"| {label} | {shares} |")
    return lines


def verdict_lines(report: Report) -> tuple[list[str], bool]:
    ceiling = report.rows.get(CEILING)
    lookups = {label: result for label, result in report.rows.items() if label != CEILING}
    measured = {label: r for label, r in lookups.items() if isinstance(r, Load)}
    missing = [label for label, r in lookups.items() if isinstance(r, str)]
    lines: list[str] = []
    ok = True
    if not isinstance(ceiling, Load):
        lines.append("FAIL: no ceiling measurement")
        ok = False
    if not lookups:
        lines.append("FAIL: no lookup measured")
        return lines, False
    if isinstance(ceiling, Load):
        low = {
            label: r.rps / ceiling.rps for label, r in measured.items() if r.rps < MIN_SHARE_OF_CEILING * ceiling.rps
        }
        worst = min((r.rps / ceiling.rps for r in measured.values()), default=0.0)
        passed = not low and not missing
        ok &= passed
        detail = ", ".join(f"{label} {share:.0%}" for label, share in low.items()) or f"lowest {worst:.0%}"
        lines.append(
            f"{'PASS' if passed else 'FAIL'}: lookups reach >= {MIN_SHARE_OF_CEILING:.0%} of the ceiling's "
            f"requests/s ({ceiling.rps:,.0f}): {detail}"
        )
    p99s = {label: r.p99_ms if r.requests else float("inf") for label, r in measured.items()}
    slow = {label: p99 for label, p99 in p99s.items() if not p99 < MAX_P99_MS}
    passed = not slow and not missing
    ok &= passed
    detail = (
        ", ".join(
            f"{label} {p99:.1f} ms" if p99 != float("inf") else f"{label} no answer" for label, p99 in slow.items()
        )
        or f"highest {max(p99s.values(), default=float('nan')):.2f} ms"
    )
    lines.append(f"{'PASS' if passed else 'FAIL'}: lookup p99 < {MAX_P99_MS:.0f} ms: {detail}")
    invalid = {
        label: r
        for label, r in measured.items()
        if r.non_2xx_share > MAX_NON_2XX_SHARE or r.socket_errors > MAX_NON_2XX_SHARE * r.requests
    }
    if invalid:
        ok = False
        detail = ", ".join(
            f"{label} {r.requests:,} answers, {r.non_2xx:,} non-2xx, {r.socket_errors:,} socket errors/timeouts"
            for label, r in invalid.items()
        )
        lines.append(
            f"FAIL: not a measurement of lookups (more than {MAX_NON_2XX_SHARE:.0%} errors, or no answer): {detail}"
        )
    if missing:
        lines.append(f"FAIL: not measured: {', '.join(missing)}")
    return lines, ok


def print_report(report: Report, settings: LoadSettings, stores: Sequence[Store], args: argparse.Namespace) -> bool:
    print()
    print(
        f"# Contact lookups over HTTP, {args.rows:,} contacts, {settings.connections} connections, "
        f"{settings.duration:.0f} s each (after {settings.warmup:.0f} s warm-up)"
    )
    print()
    for line in results_lines(report, settings):
        print(line)
    print()
    if args.ceiling_only:
        verdict, ok = ["ceiling only (--ceiling-only): no target evaluated"], isinstance(report.rows.get(CEILING), Load)
    else:
        verdict, ok = verdict_lines(report)
    for line in verdict:
        print(line)
    print()
    print(f"- machine: {machine_line()}")
    print(f"- Python {platform.python_version()} ({platform.python_implementation()}), {platform.platform()}")
    print(f"- {', '.join(report.versions)}")
    print(f"- load: {client_line(settings)}, {settings.connections} connections, loopback")
    print(f"- servers: {servers_line()}")
    for store in stores:
        built = f"built in {store.build_seconds:.0f} s" if store.build_seconds is not None else "reused"
        print(
            f"- {store.kind} store: {store.live_contacts:,} live contacts ({built}); keys: {len(store.phones):,} "
            f"phone numbers, {len(store.emails):,} addresses"
        )
    busy = [label for label, r in report.rows.items() if isinstance(r, Load) and r.cpu.get("other", 0.0) > OTHER_LOAD]
    if busy:
        report.notes.append(
            f"other processes used more than {OTHER_LOAD:.0%} of a core during: {', '.join(busy)}; "
            "on a small machine that lowers every number here, run again on an idle machine to compare"
        )
    for note in report.notes:
        print(f"- note: {note}")
    return ok


def servers_line() -> str:
    from lookup_ceiling_app import SettingsUnavailable, serve_settings

    try:
        settings = serve_settings()
    except SettingsUnavailable as exc:
        return f"uvicorn settings of `contact-sync serve` unknown ({exc})"
    shown = ", ".join(f"{key}={value}" for key, value in sorted(settings.items()) if key not in ("host", "port"))
    return (
        "`contact-sync serve --host 127.0.0.1 --port PORT` and bench/lookup_ceiling_app.py, both calling "
        f"uvicorn.run with {shown}"
    )


def library_versions(args: argparse.Namespace) -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for name in ("fastapi", "starlette", "uvicorn", "uvloop", "httptools", "SQLAlchemy", "psycopg"):
        with contextlib.suppress(PackageNotFoundError):
            parts.append(f"{name} {version(name)}")
    parts.append(f"SQLite {sqlite3.sqlite_version}")
    if not args.skip_pg:
        server = pg_server_version(args.pg_url)
        parts.append(f"PostgreSQL {server}" if server else "PostgreSQL unreachable")
    return parts


# --------------------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="contacts in the store (default 1,000,000)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of each measurement (default 30)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (default 32)")
    parser.add_argument("--threads", type=int, default=1, choices=(1, 2), help="wrk threads (default 1)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of warm-up before each measurement")
    parser.add_argument("--keys", type=int, default=10_000, help="distinct phone numbers and addresses to look up")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("CONTACTS_BENCH_LOOKUP_DATABASE_URL", DEFAULT_PG_URL),
        help=f"PostgreSQL store (default $CONTACTS_BENCH_LOOKUP_DATABASE_URL, else {DEFAULT_PG_URL})",
    )
    parser.add_argument("--skip-pg", action="store_true", help="no PostgreSQL store")
    parser.add_argument("--skip-sqlite", action="store_true", help="no SQLite store")
    parser.add_argument("--ceiling-only", action="store_true", help="measure the ceiling only (no store, no API)")
    parser.add_argument("--prepare-only", action="store_true", help="build the stores and sample keys, then stop")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto", help="load generator")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help="cache of files and SQLite stores")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the generated file and of key sampling")
    return parser.parse_args(argv)


@contextlib.contextmanager
def stopped_on_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP raise, so that the servers' `finally` blocks stop them."""

    def interrupt(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    workdir: Path = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "python"
    elif client == "wrk" and not shutil.which("wrk"):
        print("wrk is not installed (apt-get install wrk); use --client python", file=sys.stderr)
        return 2
    settings = LoadSettings(client, args.duration, args.warmup, args.connections, args.threads, workdir)
    report = Report()
    started = time.perf_counter()
    with stopped_on_signals():
        print("== stores ==")
        stores = prepare_stores(args, workdir, report)
        if args.prepare_only:
            print(f"stores ready in {time.perf_counter() - started:.0f} s")
            return 0
        if not args.ceiling_only and not CONTACT_SYNC.exists():
            print(f"{CONTACT_SYNC} not found: run this with the project's virtualenv Python", file=sys.stderr)
            return 2
        report.versions = library_versions(args)
        print(f"== load: {client_line(settings)} ==")
        bench_ceiling(report, settings)
        for store in stores:
            bench_store(report, store, settings)
    ok = print_report(report, settings, stores, args)
    print(f"- run time: {time.perf_counter() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
