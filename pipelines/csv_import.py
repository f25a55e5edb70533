"""One CSV file into the store: the function behind `contact-sync import` and the Dagster CSV asset."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import phonenumbers
from sqlalchemy.engine import Engine

from connectors.csv_files import CsvImportError, CsvSource, load_mapping, open_csv, write_rejects_report
from contacts_store.db import create_engine, ensure_schema
from contacts_store.ingest import IngestCounts, IngestOptions, ingest
from contacts_store.ingest_model import IngestReport
from contacts_store.records import Source
from contacts_store.settings import NIL_CUSTOMER
from contacts_store.settings import database_url as configured_database_url

BATCH_SIZE = 5000


class ImportOptionError(ValueError):
    """An option the user gave cannot work (unknown region, bad system name)."""


@dataclass
class CsvImportResult(IngestReport):
    path: str
    encoding: str
    delimiter: str
    mapped_columns: dict[str, str]
    ignored_columns: list[str]
    rejects_path: str | None = None

    def details(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "mapped_columns": self.mapped_columns,
            "ignored_columns": self.ignored_columns,
            "rejects_path": self.rejects_path,
        }


def check_region(region: str) -> str:
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ImportOptionError(f"unknown region {region!r}: use a two-letter country code such as US, GB or DE")
    return code


def check_system(system: str) -> str:
    name = system.strip()
    if not name or len(name) > 64:
        raise ImportOptionError("the system name must be 1 to 64 characters")
    return name


def import_csv(
    path: Path,
    database_url: str | None = None,
    customer_id: uuid.UUID = NIL_CUSTOMER,
    system: str = "csv",
    region: str = "US",
    mapping_path: Path | None = None,
    rejects_path: Path | None = None,
    workers: int | None = None,
    on_progress: Callable[[CsvSource, IngestCounts], None] | None = None,
    engine: Engine | None = None,
) -> CsvImportResult:
    """Import one file; raises `CsvImportError` or `ImportOptionError` with a one-line message for bad input.

    Pass `engine` to reuse one the caller owns (a Dagster resource); otherwise one is made and disposed here.
    """
    options = IngestOptions(
        customer_id=customer_id,
        external_system=check_system(system),
        source=Source.IMPORT,
        region=check_region(region),
        kind="csv",
        origin=str(path),
        workers=workers,
    )
    mapping = load_mapping(mapping_path) if mapping_path is not None else None
    own_engine = engine is None
    if engine is None:
        engine = create_engine(database_url or configured_database_url())
    try:
        with open_csv(path, mapping) as source:
            ensure_schema(engine)
            progress = (lambda counts: on_progress(source, counts)) if on_progress else None
            if rejects_path is None:
                result = ingest(engine, source.batches(BATCH_SIZE), options, None, progress)
            else:
                with write_rejects_report(rejects_path, source.columns) as report:
                    result = ingest(engine, source.batches(BATCH_SIZE), options, report.write, progress)
            return CsvImportResult(
                ingest=result,
                path=str(path),
                encoding=source.encoding,
                delimiter=source.delimiter,
                mapped_columns=dict(source.mapped),
                ignored_columns=list(source.ignored_columns),
                rejects_path=str(rejects_path) if rejects_path is not None else None,
            )
    finally:
        if own_engine:
            engine.dispose()


__all__ = ["CsvImportError", "CsvImportResult", "ImportOptionError", "import_csv"]
