"""What the Dagster layer costs on top of the import it runs.

The CSV asset runs the very same import as `contact-sync import`, then counts live contacts, ranks reject
reasons and evaluates four checks (one of which looks at every phone number of the customer). This measures
that extra work (the asset's wall time minus the import's own duration) on a store of the benchmark's size, on
SQLite and PostgreSQL, for a first import into an empty store and a re-import of the unchanged file, and times
each check query on its own.

    python bench/dagster_asset.py [--rows 1000000] [--pg-url URL] [--skip-pg] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import dagster as dg

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from import_csv import generated_file, recreate_pg_database

from contacts_store.db import create_engine, upgrade
from contacts_store.quality import (
    duplicate_external_ids,
    live_contacts,
    reject_reasons,
    shared_phone_numbers,
)
from pipelines.csv_assets import csv_contacts
from pipelines.resources import ContactStoreResource

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/contacts_bench_dagster"


def fresh_database(kind: str, workdir: Path, pg_url: str) -> str:
    if kind == "sqlite":
        path = workdir / "dagster_bench.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        problem = recreate_pg_database(pg_url)
        if problem:
            raise RuntimeError(problem)
        url = pg_url
    upgrade(url)
    return url


def run_asset(url: str, path: Path, customer: uuid.UUID) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    result = dg.materialize(
        [csv_contacts],
        resources={"contact_store": ContactStoreResource(database_url=url)},
        run_config={"ops": {"csv_contacts": {"config": {"path": str(path), "customer_id": str(customer)}}}},
    )
    seconds = time.perf_counter() - started
    (event,) = result.asset_materializations_for_node("csv_contacts")
    return seconds, {key: value.value for key, value in event.metadata.items()}


def time_checks(url: str, customer: uuid.UUID, run_id: str) -> dict[str, float]:
    engine = create_engine(url)
    timings: dict[str, float] = {}
    queries = {
        "live contacts count": lambda conn: live_contacts(conn, customer, "csv"),
        "duplicate external ids": lambda conn: duplicate_external_ids(conn, customer, "csv"),
        "shared phone numbers": lambda conn: shared_phone_numbers(conn, customer, 25),
        "top reject reasons": lambda conn: reject_reasons(conn, run_id),
    }
    with engine.connect() as conn:
        for name, query in queries.items():
            started = time.perf_counter()
            query(conn)
            timings[name] = time.perf_counter() - started
    engine.dispose()
    return timings


def bench(kind: str, url: str, path: Path) -> None:
    customer = uuid.uuid4()
    first_wall, first = run_asset(url, path, customer)
    again_wall, again = run_asset(url, path, customer)
    print(f"\n### {kind}\n")
    print("| asset run | import seconds (metadata) | asset wall seconds | Dagster, metadata and checks |")
    print("|---|---:|---:|---:|")
    for label, wall, meta in (("first import", first_wall, first), ("re-import, unchanged", again_wall, again)):
        overhead = wall - meta["duration_seconds"]
        print(f"| {label} | {meta['duration_seconds']:.1f} | {wall:.1f} | {overhead:.1f} s |")
    print(f"\nlive contacts of the customer: {first['live_contacts']:,}; each query on its own:\n")
    print("| query | seconds |")
    print("|---|---:|")
    for name, seconds in time_checks(url, customer, str(first["import_run_id"])).items():
        print(f"| {name} | {seconds:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg-url", default=os.environ.get("CONTACTS_BENCH_DATABASE_URL") or DEFAULT_PG)
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/contact-sync-bench"))
    parser.add_argument("--seed", type=int, default=20240611)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    data = generated_file(args.workdir, args.rows, args.seed)
    print(f"# CSV asset overhead, {args.rows:,} rows, Python {sys.version.split()[0]}, dagster {dg.__version__}")
    kinds = ["sqlite"] if args.skip_pg else ["sqlite", "postgresql"]
    for kind in kinds:
        try:
            url = fresh_database(kind, args.workdir, args.pg_url)
        except Exception as error:  # a missing server is reported, not fatal
            print(f"\n### {kind}\n\nskipped: {error}")
            continue
        bench(kind, url, Path(data.path))


if __name__ == "__main__":
    main()
