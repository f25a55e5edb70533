"""Benchmark of the Zoho CRM sync against the local fake organisation (the same wire format, over HTTP).

1. A first sync of a 100,000-contact organisation: the contacts list by Modified_Time, 200 a page (`page` for the
   first 2,000, `page_token` after), then the deleted list. Minimum: records / 200 plus one deleted page.
2. An incremental sync of 1% changes (80% updates, 10% deleted, 10% new): the list with If-Modified-Since, then the
   deleted list. Minimum: changed records / 200 plus deleted / 200.

    python bench/sync_zoho.py [--records 100000] [--latency 0.2] [--pg-url URL] [--skip-pg] [--workers N]

Each timed sync runs in a fresh process and the fake in its own process, answering each API request after
`--latency` seconds. Requests count CRM API calls; the token request is shown apart. Exit status: 0 when API
requests stay within 1.05x the minimum, 1 otherwise.
"""

from __future__ import annotations

import math
import random
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from bench.crm_bench import arguments, databases, measure, report, timed  # noqa: E402
from bench.remote_fake import RemoteFake  # noqa: E402
from connectors.http import RetrySettings  # noqa: E402
from connectors.zoho.client import ZohoClient  # noqa: E402
from connectors.zoho.settings import ZohoCredentials  # noqa: E402
from connectors.zoho.source import ZohoSource  # noqa: E402

CUSTOMER = uuid.UUID("8e1f3a2b-6c4d-4f5e-9a7b-2c3d4e5f6a7b")
CLIENT = ("1000.BENCH", "bench-secret", "1000.bench-refresh")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PAGE = 200


def timed_sync(spec: dict[str, Any]) -> dict[str, Any]:
    """One sync in a fresh process (cold caches, as a scheduled run starts): its result and time."""
    client_id, secret, refresh = CLIENT
    credentials = ZohoCredentials(client_id, secret, refresh, accounts_url=spec["fake_url"])
    client = ZohoClient(credentials, RetrySettings(attempts=3, backoff=0.1))
    clock = spec["clock"]
    source = ZohoSource(client, clock=lambda: clock)
    return timed(spec["url"], source, CUSTOMER, spec["workers"])


def scenario(
    database: str, url: str, records: int, latency: float, seed: int, workers: int | None
) -> list[dict[str, Any]]:
    fake = RemoteFake("zoho")
    try:
        fake.call("add_client", *CLIENT)
        fake.set("token_rate_limit", None)
        fake.set("latency", latency)
        fake.call("set_clock", T0 - timedelta(minutes=1))
        fake.call("generate", records, seed=seed, bad_rate=0.01, step=timedelta(minutes=1))
        minimum = math.ceil(records / PAGE) + 1
        rows = [measure(timed_sync, "first sync", database, url, fake, T0, minimum, workers)]
        at = T0 + timedelta(hours=1)
        fake.call("set_clock", at)
        changes = max(10, records // 100)
        picked = random.Random(seed).sample(fake.call("ids"), changes - changes // 10)
        deleted = 0
        for n, contact_id in enumerate(picked):
            if n % 9 == 8:
                fake.call("delete", contact_id)
                deleted += 1
            else:
                fake.call("update", contact_id, First_Name=f"Changed{n}", Mobile=f"+1 415 555 {n % 10_000:04d}")
        for n in range(changes // 10):
            fake.call("add", First_Name="New", Last_Name=f"Contact {n}", Email=f"new{n}@example.org")
        listed = changes - deleted
        minimum = math.ceil(listed / PAGE) + max(1, math.ceil(deleted / PAGE))
        label = f"incremental, {changes:,} changes (1%)"
        rows.append(measure(timed_sync, label, database, url, fake, at + timedelta(minutes=1), minimum, workers))
        return rows
    finally:
        fake.stop()


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(__doc__, latency=0.2, seed=13).parse_args(argv)
    targets, pg_note = databases(args, "zoho")
    rows: list[dict[str, Any]] = []
    for database, url in targets:
        print(f"{database}: first sync of {args.records:,} and a 1% incremental", flush=True)
        rows += scenario(database, url, args.records, args.latency, args.seed, args.workers)
    tokens = sorted({r["client_requests"] - r["requests"] for r in rows})
    notes = [
        f"PostgreSQL: {pg_note}",
        f"fake Zoho: its own process, {args.latency:.2f} s per answer (token requests included)",
        f"token requests per run: {', '.join(map(str, tokens))} (not counted as API requests)",
    ]
    return report(rows, notes)


if __name__ == "__main__":
    sys.exit(main())
