"""Benchmark of the HubSpot sync against the local fake portal (the same wire format and client library).

1. A first sync of a 100,000-contact portal: the list endpoint, 100 contacts a page, then the archived list.
   Minimum requests: records / 100 plus one archived page.
2. An incremental sync of 1% changes (80% updates, 10% archived, 10% new): the search endpoint, 200 a page, then
   the archived list. Minimum: changes / 200 plus the archived pages.

    python bench/sync_hubspot.py [--records 100000] [--latency 0.1] [--pg-url URL] [--skip-pg] [--workers N]

Each timed sync runs in a fresh process and the fake portal in its own process, answering each request after
`--latency` seconds. Exit status: 0 when requests stay within 1.05x the minimum, 1 otherwise.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from bench.import_csv import DEFAULT_PG_URL, PG_URL_ENV, machine_lines, pg_server_version, recreate_pg_database  # noqa: E402
from bench.remote_fake import RemoteFake  # noqa: E402
from bench.sync_salesforce import in_child  # noqa: E402
from connectors.http import RetrySettings  # noqa: E402
from connectors.hubspot.client import HubSpotClient  # noqa: E402
from connectors.hubspot.settings import HubSpotCredentials  # noqa: E402
from connectors.hubspot.source import HubSpotSource, HubSpotSyncSettings  # noqa: E402
from connectors.sync import SyncOptions, sync  # noqa: E402
from contacts_store.db import create_engine, upgrade  # noqa: E402

CUSTOMER = uuid.UUID("5a7d2c1e-0b3f-4e6a-8c9d-1f2e3a4b5c6d")
TOKEN = "pat-bench"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MAX_REQUEST_RATIO = 1.05


def timed_sync(spec: dict[str, Any]) -> dict[str, Any]:
    """One sync in a fresh process (cold caches, as a scheduled run starts): its result and time."""
    engine = create_engine(spec["url"])
    client = HubSpotClient(
        HubSpotCredentials(access_token=TOKEN, base_url=spec["fake_url"]), RetrySettings(attempts=3, backoff=0.1)
    )
    clock = spec["clock"]
    source = HubSpotSource(client, HubSpotSyncSettings(), clock=lambda: clock)
    started = time.perf_counter()
    try:
        result = sync(engine, source, SyncOptions(CUSTOMER, workers=spec["workers"]))
    finally:
        client.close()
        engine.dispose()
    return {"seconds": time.perf_counter() - started, "result": result.to_dict()}


def run(
    label: str, database: str, url: str, fake: RemoteFake, clock: datetime, minimum: int, workers: int | None
) -> dict[str, Any]:
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
    }
    print(f"  {database:10} {label:36} {row['seconds']:8.2f} s  {requests:5} requests (minimum {minimum})", flush=True)
    return row


def scenario(
    database: str, url: str, records: int, latency: float, seed: int, workers: int | None
) -> list[dict[str, Any]]:
    fake = RemoteFake("hubspot")
    try:
        fake.call("add_token", TOKEN)
        fake.set("latency", latency)
        fake.call("set_clock", T0 - timedelta(minutes=1))
        fake.call("generate", records, seed=seed, bad_rate=0.01, step=timedelta(minutes=1))
        rows = [run("first sync (list)", database, url, fake, T0, math.ceil(records / 100) + 1, workers)]
        at = T0 + timedelta(hours=1)
        fake.call("set_clock", at)
        changes = max(10, records // 100)
        picked = random.Random(seed).sample(fake.call("ids"), changes - changes // 10)
        archived = 0
        for n, contact_id in enumerate(picked):
            if n % 9 == 8:
                fake.call("archive", contact_id)
                archived += 1
            else:
                fake.call("update", contact_id, firstname=f"Changed{n}", mobilephone=f"+1 415 555 {n % 10_000:04d}")
        for n in range(changes // 10):
            fake.call("add", firstname="New", lastname=f"Contact {n}", email=f"new{n}@example.org")
        searched = changes - archived
        minimum = math.ceil(searched / 200) + max(1, math.ceil(archived / 100))
        rows.append(
            run(
                f"incremental, {changes:,} changes (1%)",
                database,
                url,
                fake,
                at + timedelta(minutes=1),
                minimum,
                workers,
            )
        )
        return rows
    finally:
        fake.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds the fake takes per API answer")
    parser.add_argument("--pg-url", default=None)
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="contact-sync-hsbench-"))
    targets: list[tuple[str, str]] = []
    sqlite_url = f"sqlite:///{workdir / 'hubspot.db'}"
    upgrade(sqlite_url)
    targets.append(("SQLite", sqlite_url))
    pg_note = "skipped (--skip-pg)"
    if not args.skip_pg:
        base = args.pg_url or os.environ.get(PG_URL_ENV) or DEFAULT_PG_URL
        pg_url = base.rsplit("/", 1)[0] + "/contacts_bench_hubspot"
        error = recreate_pg_database(pg_url)
        if error:
            pg_note = f"skipped ({error})"
        else:
            upgrade(pg_url)
            targets.append(("PostgreSQL", pg_url))
            pg_note = pg_server_version(pg_url) or "PostgreSQL"
    rows: list[dict[str, Any]] = []
    for database, url in targets:
        print(f"{database}: first sync of {args.records:,} and a 1% incremental", flush=True)
        rows += scenario(database, url, args.records, args.latency, args.seed, args.workers)
    print()
    print("\n".join(machine_lines()))
    print(f"- PostgreSQL: {pg_note}")
    print(f"- fake portal: its own process, {args.latency:.2f} s per API answer")
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


if __name__ == "__main__":
    sys.exit(main())
