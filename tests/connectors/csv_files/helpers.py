"""Helpers shared by the CSV connector tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from connectors.csv_files import ColumnMapping, CsvSource, open_csv
from contacts_store.records import Reject, SourceContact
from tests.conftest import FIXTURES

CSV_FIXTURES = FIXTURES / "csv"

Records = list[SourceContact | Reject]
Writer = Callable[..., Path]


def read_all(path: Path, mapping: ColumnMapping | None = None, size: int = 5000) -> tuple[CsvSource, Records]:
    """Open, read every record, close; the returned source keeps its detected attributes."""
    with open_csv(path, mapping) as source:
        records = [record for batch in source.batches(size) for record in batch]
    return source, records


def contacts(records: Records) -> list[SourceContact]:
    """The records, asserting that none of them was rejected."""
    assert all(isinstance(record, SourceContact) for record in records), records
    return [record for record in records if isinstance(record, SourceContact)]
