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
from connectors.hubspot.client import HubSpotClient  # noqa: E402
from connectors.hubspot.settings import HubSpotCredentials  # noqa: E402
from connectors.hubspot.source import HubSpotSource, HubSpotSyncSettings  # noqa: E402

CUSTOMER = uuid.UUID("5a7d2c1e-0b3f-4e6a-8c9d-1f2e3a4b5c6d")
TOKEN = "pat-bench"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def timed_sync(spec: dict[str, Any]) -> dict[str, Any]:
    """One sync in a fresh process (cold caches, as a scheduled run starts): its result and time."""
    client = HubSpotClient(
        HubSpotCredentials(access_token=TOKEN, base_url=spec["fake_url"]), RetrySettings(attempts=3, backoff=0.1)
    )
    clock = spec["clock"]
    source = HubSpotSource(client, HubSpotSyncSettings(), clock=lambda: clock)
    return timed(spec["url"], source, CUSTOMER, spec["workers"])


def scenario(
    database: str, url: str, records: int, latency: float, seed: int, workers: int | None
) -> list[dict[str, Any]]:
    fake = RemoteFake("hubspot")
    try:
        fake.call("add_token", TOKEN)
        fake.set("latency", latency)
        fake.call("set_clock", T0 - timedelta(minutes=1))
        fake.call("generate", records, seed=seed, bad_rate=0.01, step=timedelta(minutes=1))
        rows = [
            measure(timed_sync, "first sync (list)", database, url, fake, T0, math.ceil(records / 100) + 1, workers)
        ]
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
            measure(
                timed_sync,
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
    args = arguments(__doc__, latency=0.1, seed=11).parse_args(argv)
    targets, pg_note = databases(args, "hubspot")
    rows: list[dict[str, Any]] = []
    for database, url in targets:
        print(f"{database}: first sync of {args.records:,} and a 1% incremental", flush=True)
        rows += scenario(database, url, args.records, args.latency, args.seed, args.workers)
    return report(
        rows, [f"PostgreSQL: {pg_note}", f"fake portal: its own process, {args.latency:.2f} s per API answer"]
    )


if __name__ == "__main__":
    sys.exit(main())
