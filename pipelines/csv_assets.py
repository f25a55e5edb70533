"""The CSV import asset: the same `import_csv` as `contact-sync import`, launched from the UI or the drop folder.

Dagster reads the config and resource annotations at decoration time, so the glue modules do not use
`from __future__ import annotations`.
"""

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

import dagster as dg
from pydantic import Field

from connectors.csv_files import CsvSource
from contacts_store.ingest_model import IngestCounts
from contacts_store.quality import live_contacts, reject_reasons
from contacts_store.settings import default_customer_id
from pipelines.checks import CheckInput, QualityThresholds, contact_check_specs, evaluate_checks
from pipelines.csv_import import CsvImportError, ImportOptionError, check_system, import_csv
from pipelines.resources import ContactStoreResource
from pipelines.run_policy import CONNECTION_TAG, TRANSIENT_RETRY
from pipelines.run_report import ingest_metadata

ASSET = "csv_contacts"


class CsvImportConfig(dg.Config):
    path: str = Field(description="CSV file to import, as seen by the run's process.")
    customer_id: str = Field(default="", description="Customer UUID; empty: $CONTACTS_CUSTOMER_ID, else nil UUID.")
    system: str = Field(default="csv", description="Name of the import system; external ids are unique within it.")
    region: str = Field(default="US", description="Region for numbers written without a country code.")
    mapping_path: str | None = Field(default=None, description="Optional YAML/JSON column mapping file.")
    rejects_path: str | None = Field(default=None, description="Where to write the rejects report (CSV).")
    checks: QualityThresholds = Field(default_factory=QualityThresholds)


@dg.asset(
    name=ASSET,
    group_name="contacts",
    kinds={"csv", "sql"},
    check_specs=contact_check_specs(ASSET),
    retry_policy=TRANSIENT_RETRY,
    description="Contacts imported from CSV files into the contact store (one customer and system per run).",
)
def csv_contacts(
    context: dg.AssetExecutionContext, config: CsvImportConfig, contact_store: ContactStoreResource
) -> dg.MaterializeResult:  # type: ignore[type-arg]  # Dagster rejects a subscripted annotation
    customer = _customer(config.customer_id)
    system = _bad_input(check_system, config.system)
    engine = contact_store.engine
    with engine.connect() as conn:
        live_before = live_contacts(conn, customer, system)
    rejects_path = Path(config.rejects_path) if config.rejects_path else None
    if rejects_path is not None:
        rejects_path.parent.mkdir(parents=True, exist_ok=True)
    context.log.info(f"importing {config.path} for customer {customer} ({system})")
    result = _bad_input(
        import_csv,
        Path(config.path),
        customer_id=customer,
        system=system,
        region=config.region,
        mapping_path=Path(config.mapping_path) if config.mapping_path else None,
        rejects_path=rejects_path,
        engine=engine,
        on_progress=_progress_logger(context),
    )
    with engine.connect() as conn:
        live_after = live_contacts(conn, customer, system)
        reasons = reject_reasons(conn, result.run_id)
        checks = evaluate_checks(
            conn, ASSET, CheckInput(customer, system, result.ingest, live_before, live_after), config.checks
        )
    metadata = ingest_metadata(result.ingest, live_after, reasons)
    metadata.update(
        file=dg.MetadataValue.path(result.path),
        customer_id=str(customer),
        system=system,
        encoding=result.encoding,
        delimiter=repr(result.delimiter),
        mapped_columns=dg.MetadataValue.json(result.mapped_columns),
        ignored_columns=dg.MetadataValue.json(result.ignored_columns),
        store=contact_store.display_url(),
    )
    if result.rejects_path:
        metadata["rejects_report"] = dg.MetadataValue.path(result.rejects_path)
    context.log.info(
        f"read {result.read}: {result.inserted} inserted, {result.updated} updated, {result.unchanged} unchanged, "
        f"{result.rejected} rejected in {result.seconds:.1f} s"
    )
    return dg.MaterializeResult(metadata=metadata, check_results=checks)


def _progress_logger(
    context: dg.AssetExecutionContext, every_seconds: float = 15.0
) -> Callable[[CsvSource, IngestCounts], None]:
    """Log how far a long import has come, at most every `every_seconds`, for whoever watches the run."""
    last = time.monotonic()

    def log(source: CsvSource, counts: IngestCounts) -> None:
        nonlocal last
        if time.monotonic() - last < every_seconds:
            return
        last = time.monotonic()
        share = source.bytes_read() / source.total_bytes if source.total_bytes else 1.0
        context.log.info(f"{counts.read:,} records read ({share:.0%} of the file), {counts.rejected:,} rejected")

    return log


def _customer(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value) if value.strip() else default_customer_id()
    except ValueError:
        raise dg.Failure(f"customer_id {value!r} is not a UUID", allow_retries=False) from None


P = ParamSpec("P")
R = TypeVar("R")


def _bad_input(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Call `function`; bad input (a missing file, an unreadable CSV, a bad option) fails without retries."""
    try:
        return function(*args, **kwargs)
    except (CsvImportError, ImportOptionError) as error:
        raise dg.Failure(str(error), allow_retries=False) from None


csv_import_job = dg.define_asset_job(
    "csv_import_job",
    selection=[ASSET],
    description="Import one CSV file into the contact store. Launch it from the Launchpad with the file's path.",
    # Runs launched by hand share one queue slot; the drop-folder sensor tags each run with its own connection.
    tags={CONNECTION_TAG: "csv:manual"},
)
