"""What the CRM sync benchmarks share: the databases to run on, one timed sync against a fake in its own process,
and the report table."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.import_csv import DEFAULT_PG_URL, PG_URL_ENV, machine_lines, pg_server_version, recreate_pg_database
from bench.remote_fake import RemoteFake
from connectors.sync import CrmSource, SyncOptions, sync
from contacts_store.db import create_engine, upgrade

MAX_REQUEST_RATIO = 1.05


def timed(url: str, source: CrmSource, customer: uuid.UUID, workers: int | None) -> dict[str, Any]:
    """One sync of `source` into the store at `url`: its result and time (the source's client closed after)."""
    engine = create_engine(url)
    started = time.perf_counter()
    try:
        result = sync(engine, source, SyncOptions(customer, workers=workers))
    finally:
        source.client.close()  # type: ignore[attr-defined]
        engine.dispose()
    return {"seconds": time.perf_counter() - started, "result": result.to_dict()}


def _child(function: Callable[[dict[str, Any]], dict[str, Any]], spec: dict[str, Any], pipe: Any) -> None:
    pipe.send(function(spec))


def in_child(function: Callable[[dict[str, Any]], dict[str, Any]], spec: dict[str, Any]) -> dict[str, Any]:
    """`function(spec)` in a fresh (spawned, non-daemon: it forks its own normalization workers) process."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(function, spec, send))
    process.start()
    try:
        outcome: dict[str, Any] = receive.recv()
    except EOFError:
        raise RuntimeError(f"the benchmark child failed (exit status {process.exitcode})") from None
    finally:
        process.join()
    return outcome


def arguments(doc: str, latency: float, seed: int) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--latency", type=float, default=latency, help="seconds the fake takes per API answer")
    parser.add_argument("--pg-url", default=None)
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--seed", type=int, default=seed)
    return parser


def databases(args: argparse.Namespace, name: str) -> tuple[list[tuple[str, str]], str]:
    """A fresh SQLite file and, unless skipped or unreachable, a fresh PostgreSQL database; and a note on the
    latter for the report."""
    workdir = Path(tempfile.mkdtemp(prefix=f"contact-sync-{name}-"))
    sqlite_url = f"sqlite:///{workdir / f'{name}.db'}"
    upgrade(sqlite_url)
    targets = [("SQLite", sqlite_url)]
    if args.skip_pg:
        return targets, "skipped (--skip-pg)"
    base = args.pg_url or os.environ.get(PG_URL_ENV) or DEFAULT_PG_URL
    pg_url = base.rsplit("/", 1)[0] + f"/contacts_bench_{name}"
    error = recreate_pg_database(pg_url)
    if error:
        return targets, f"skipped ({error})"
    upgrade(pg_url)
    targets.append(("PostgreSQL", pg_url))
    return targets, pg_server_version(pg_url) or "PostgreSQL"


def measure(
    timed_sync: Callable[[dict[str, Any]], dict[str, Any]],
    label: str,
    database: str,
    url: str,
    fake: RemoteFake,
    clock: datetime,
    minimum: int,
    workers: int | None,
) -> dict[str, Any]:
    """`timed_sync` in a fresh process (cold caches, as a scheduled run starts), with the fake's count of the API
    requests it made."""
    fake.settle()
    before = fake.attr("api_requests")
    outcome = in_child(timed_sync, {"url": url, "fake_url": fake.attr("url"), "clock": clock, "workers": workers})
    result = outcome["result"]
    requests = fake.attr("api_requests") - before
    row = {
        "label": label,
        "database": database,
        "seconds": outcome["seconds"],
        "read": result["read"],
        "requests": requests,
        "minimum": minimum,
        "writes": result["inserted"] + result["updated"] + result["deleted"],
        "mode": result["mode"],
        "client_requests": result["requests"],
    }
    print(f"  {database:10} {label:36} {row['seconds']:8.2f} s  {requests:5} requests (minimum {minimum})", flush=True)
    return row


def report(rows: list[dict[str, Any]], notes: list[str]) -> int:
    """The table; 0 when every run's API requests stay within `MAX_REQUEST_RATIO` of the minimum, else 1."""
    print()
    print("\n".join(machine_lines()))
    for note in notes:
        print(f"- {note}")
    print()
    print("| database | run | records read | seconds | records/s | API requests | minimum | ratio | contact writes |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    ok = True
    for r in rows:
        ratio = r["requests"] / r["minimum"]
        ok = ok and ratio <= MAX_REQUEST_RATIO
        print(
            f"| {r['database']} | {r['label']} | {r['read']:,} | {r['seconds']:.2f} | {r['read'] / r['seconds']:,.0f} "
            f"| {r['requests']} | {r['minimum']} | {ratio:.3f} | {r['writes']:,} |"
        )
    print()
    print(f"- {'PASS' if ok else 'FAIL'} API requests <= {MAX_REQUEST_RATIO}x the minimum in every run")
    return 0 if ok else 1
