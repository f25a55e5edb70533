"""Benchmark of the Salesforce sync against the local fake org (the same HTTP wire format and client library).

The questions it answers:
1. How fast is a first sync of a large org, and how many API requests does it spend compared with the least
   possible (records / 2,000, the largest REST page)? Through REST `queryAll` and through Bulk API 2.0.
2. What does an incremental sync of 1% changes cost on that store (requests, writes, time)?
3. Does an incremental sync of 1,000 changes into a 1M-contact store cost at most 1,000 contact writes, and at most
   1.5x the time of syncing the same 1,000 records into an empty store?

    python bench/sync_salesforce.py [--records 100000] [--store-records 1000000] [--changes 1000]
                                    [--pg-url URL] [--skip-pg] [--skip-large] [--workers N]

"Contact writes" are contacts inserted, updated or deleted (one row each in `contacts`); "row writes" also count
the phone, email and tag rows rewritten with an updated contact. The PostgreSQL URL defaults to
$CONTACTS_BENCH_DATABASE_URL, else a local `contacts_bench` database, which the benchmark drops and creates.
Exit status: 0 when every target passes, 1 when one fails.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from bench.crm_bench import in_child, timed  # noqa: E402
from bench.import_csv import (  # noqa: E402
    DEFAULT_PG_URL,
    PG_URL_ENV,
    machine_lines,
    pg_server_version,
    recreate_pg_database,
)
from bench.remote_fake import RemoteFake  # noqa: E402
from connectors.http import RetrySettings  # noqa: E402
from connectors.salesforce.client import SalesforceClient  # noqa: E402
from connectors.salesforce.settings import SalesforceCredentials  # noqa: E402
from connectors.salesforce.source import SalesforceSource, SalesforceSyncSettings  # noqa: E402
from contacts_store.db import upgrade  # noqa: E402

CUSTOMER = uuid.UUID("0c2b1d5e-7a43-4f0e-9d61-3a8e5b7c9f20")
TOKEN = "00Dbench!token"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MAX_PAGE = 2000
MAX_REQUEST_RATIO = 1.05
MAX_INCREMENTAL_TIME_RATIO = 1.5


@dataclass
class Run:
    label: str
    database: str
    records: int
    seconds: float
    requests: int
    minimum_requests: int
    contact_writes: int
    row_writes: int
    mode: str
    result: dict[str, Any]

    @property
    def rate(self) -> float:
        return self.result["read"] / self.seconds if self.seconds else 0.0


def timed_sync(spec: dict[str, Any]) -> dict[str, Any]:
    """One sync in a fresh process, as a scheduled run starts (cold normalization caches): its result and time."""
    client = SalesforceClient(
        SalesforceCredentials(instance_url=spec["fake_url"], access_token=TOKEN),
        RetrySettings(attempts=3, backoff=0.1),
    )
    clock = spec["clock"]
    source = SalesforceSource(
        client, SalesforceSyncSettings(bulk_poll_seconds=0.05, **spec["settings"]), clock=lambda: clock
    )
    return timed(spec["url"], source, CUSTOMER, spec["workers"])


class Bench:
    """One database kind: stores are created fresh for each scenario."""

    def __init__(self, database: str, url_for: Callable[[str], str], workers: int | None) -> None:
        self.database = database
        self.url_for = url_for
        self.workers = workers

    def sync(
        self,
        label: str,
        fake: RemoteFake,
        store: str,
        clock: datetime,
        full_records: int | None = None,
        **settings: Any,
    ) -> Run:
        spec = {
            "url": self.url_for(store),
            "fake_url": fake.attr("url"),
            "clock": clock,
            "settings": settings,
            "workers": self.workers,
        }
        fake.settle()
        before = fake.attr("api_requests")
        outcome = in_child(timed_sync, spec)
        result, seconds = outcome["result"], outcome["seconds"]
        records = full_records if full_records is not None else result["read"]
        run = Run(
            label=label,
            database=self.database,
            records=records,
            seconds=seconds,
            requests=fake.attr("api_requests") - before,
            minimum_requests=max(1, math.ceil(records / MAX_PAGE)),
            contact_writes=result["inserted"] + result["updated"] + result["deleted"],
            row_writes=result["writes"],
            mode=result["mode"],
            result=result,
        )
        print(
            f"  {self.database:10} {label:42} {seconds:8.2f} s  {run.rate:9,.0f} rec/s  "
            f"{run.requests:4} requests  {run.contact_writes:8,} contact writes",
            flush=True,
        )
        return run


def new_org(records: int, seed: int, latency: float) -> RemoteFake:
    fake = RemoteFake()
    fake.call("add_token", TOKEN)
    fake.set("daily_limit", 10_000_000)
    fake.set("latency", latency)
    # One modification a minute on average, the newest a minute before T0: a million contacts span two years,
    # and the five-minute lookback re-reads a handful of records.
    fake.call("set_clock", T0 - timedelta(minutes=1))
    started = time.perf_counter()
    fake.call("generate", records, seed=seed, bad_rate=0.01, step=timedelta(minutes=1))
    print(f"  generated a fake org of {records:,} contacts in {time.perf_counter() - started:.1f} s", flush=True)
    return fake


def change(fake: RemoteFake, count: int, at: datetime, seed: int) -> list[str]:
    """`count` changes spread over the org: 80% updates, 10% deletes, 10% new contacts. Returns changed ids."""
    import random

    fake.call("set_clock", at)
    rng = random.Random(seed)
    picked = rng.sample(fake.call("ids"), count - count // 10)
    changed: list[str] = []
    for n, record_id in enumerate(picked):
        if n % 9 == 8:
            fake.call("delete", record_id)
        else:
            fake.call("update", record_id, FirstName=f"Changed{n}", MobilePhone=f"+1 415 555 {n % 10_000:04d}")
        changed.append(record_id)
    for n in range(count // 10):
        changed.append(fake.call("add", FirstName="New", LastName=f"Contact {n}", Email=f"new{seed}.{n}@example.org"))
    return changed


def copy_records(source: RemoteFake, ids: Sequence[str], latency: float) -> RemoteFake:
    """A fresh org holding only these records, as they are now (deleted ones stay deleted)."""
    fake = RemoteFake()
    fake.call("add_token", TOKEN)
    fake.set("latency", latency)
    for record_id in ids:
        record = source.call("get", record_id)
        stamp = record.pop("SystemModstamp")
        deleted = record.pop("IsDeleted")
        for name in ("Name", "MasterRecordId", "LastModifiedDate", "CreatedDate", "AccountId"):
            record.pop(name, None)
        fake.call("add", stamp=stamp, Id=record_id, **{k: v for k, v in record.items() if v is not None and k != "Id"})
        if deleted:
            fake.call("delete", record_id, stamp=stamp)
    return fake


def scenario_first_and_incremental(bench: Bench, records: int, seed: int, latency: float) -> list[Run]:
    runs: list[Run] = []
    fake = new_org(records, seed, latency)
    try:
        rest = bench.sync("first sync, REST queryAll", fake, "rest", T0, bulk_threshold=None)
        runs.append(rest)
        bulk = bench.sync("first sync, Bulk API 2.0", fake, "bulk", T0, full_records=records, bulk_threshold=1)
        runs.append(bulk)
        changes = max(1, records // 100)
        at = T0 + timedelta(hours=1)
        change(fake, changes, at, seed + 1)
        runs.append(bench.sync(f"incremental, {changes:,} changes (1%)", fake, "rest", at + timedelta(minutes=1)))
    finally:
        fake.stop()
    return runs


def scenario_large_store(bench: Bench, store_records: int, changes: int, seed: int, latency: float) -> list[Run]:
    runs: list[Run] = []
    fake = new_org(store_records, seed, latency)
    try:
        runs.append(
            bench.sync(
                f"first sync of {store_records:,}, Bulk API 2.0",
                fake,
                "large",
                T0,
                full_records=store_records,
                bulk_threshold=1,
            )
        )
        at = T0 + timedelta(hours=1)
        changed = change(fake, changes, at, seed + 2)
        runs.append(
            bench.sync(
                f"incremental, {changes:,} changes, {store_records:,} store", fake, "large", at + timedelta(minutes=1)
            )
        )
        alone = copy_records(fake, changed, latency)
        try:
            runs.append(
                bench.sync(f"the same {changes:,} into an empty store", alone, "empty", at + timedelta(minutes=1))
            )
        finally:
            alone.stop()
    finally:
        fake.stop()
    return runs


def table(runs: Sequence[Run]) -> list[str]:
    lines = [
        "| database | run | mode | records read | seconds | records/s | API requests | minimum | ratio "
        "| contact writes | row writes |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        lines.append(
            f"| {r.database} | {r.label} | {r.mode} | {r.result['read']:,} | {r.seconds:.2f} | {r.rate:,.0f} "
            f"| {r.requests} | {r.minimum_requests} | {r.requests / r.minimum_requests:.2f} "
            f"| {r.contact_writes:,} | {r.row_writes:,} |"
        )
    return lines


def checks(runs: Sequence[Run], changes: int) -> list[tuple[str, bool, str]]:
    found: list[tuple[str, bool, str]] = []
    for r in runs:
        if r.label.startswith("first sync") and r.mode == "rest":
            ratio = r.requests / r.minimum_requests
            found.append(
                (
                    f"{r.database}: REST first sync requests <= {MAX_REQUEST_RATIO}x minimum",
                    ratio <= MAX_REQUEST_RATIO,
                    f"{ratio:.3f}x",
                )
            )
    by_db: dict[str, dict[str, Run]] = {}
    for r in runs:
        by_db.setdefault(r.database, {})[r.label] = r
    for database, named in by_db.items():
        large = next((r for label, r in named.items() if label.startswith("incremental") and "store" in label), None)
        empty = next((r for label, r in named.items() if "empty store" in label), None)
        if large is None or empty is None:
            continue
        found.append(
            (
                f"{database}: {changes:,} changes cost <= {changes:,} contact writes",
                large.contact_writes <= changes,
                f"{large.contact_writes:,}",
            )
        )
        ratio = large.seconds / empty.seconds
        found.append(
            (
                f"{database}: incremental time <= {MAX_INCREMENTAL_TIME_RATIO}x empty-store time",
                ratio <= MAX_INCREMENTAL_TIME_RATIO,
                f"{ratio:.2f}x ({large.seconds:.2f} s vs {empty.seconds:.2f} s)",
            )
        )
    return found


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000, help="org size of the first-sync scenario")
    parser.add_argument("--store-records", type=int, default=1_000_000, help="store size of the incremental target")
    parser.add_argument("--changes", type=int, default=1000, help="changes of the incremental target")
    parser.add_argument("--pg-url", default=None, help=f"PostgreSQL URL (default ${PG_URL_ENV} or {DEFAULT_PG_URL})")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--skip-large", action="store_true", help="skip the 1M-store scenario")
    parser.add_argument("--workers", type=int, default=None, help="normalization processes (default: per core)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--latency", type=float, default=0.25, help="seconds the fake takes per API answer (a real org: 0.2-2 s)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    import os

    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="contact-sync-sfbench-"))
    benches: list[Bench] = []

    def sqlite_url(store: str) -> str:
        url = f"sqlite:///{workdir / store}.db"
        if not (workdir / f"{store}.db").exists():
            upgrade(url)
        return url

    benches.append(Bench("SQLite", sqlite_url, args.workers))
    pg_note = "skipped (--skip-pg)"
    if not args.skip_pg:
        base = args.pg_url or os.environ.get(PG_URL_ENV) or DEFAULT_PG_URL
        created: set[str] = set()

        def pg_url(store: str) -> str:
            url = base.rsplit("/", 1)[0] + f"/contacts_bench_sf_{store}"
            if store not in created:
                error = recreate_pg_database(url)
                if error:
                    raise RuntimeError(error)
                upgrade(url)
                created.add(store)
            return url

        try:
            pg_url("probe")
            benches.append(Bench("PostgreSQL", pg_url, args.workers))
            pg_note = pg_server_version(pg_url("probe")) or "PostgreSQL"
        except Exception as error:  # any failure to reach the server means: skip it, say why
            pg_note = f"skipped ({str(error).splitlines()[0]})"

    runs: list[Run] = []
    for bench in benches:
        print(f"{bench.database}: first sync of {args.records:,} and a 1% incremental", flush=True)
        runs += scenario_first_and_incremental(bench, args.records, args.seed, args.latency)
        if not args.skip_large:
            print(f"{bench.database}: {args.changes:,} changes into a {args.store_records:,}-contact store", flush=True)
            runs += scenario_large_store(bench, args.store_records, args.changes, args.seed, args.latency)

    print()
    print("\n".join(machine_lines()))
    print(f"- PostgreSQL: {pg_note}")
    print(f"- fake org: its own process, {args.latency:.2f} s per API answer")
    print()
    print("\n".join(table(runs)))
    print()
    results = checks(runs, args.changes)
    for name, ok, value in results:
        print(f"- {'PASS' if ok else 'FAIL'} {name}: {value}")
    return 0 if all(ok for _, ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
