"""The CSV report of records and values an import could not use.

People open it in Excel or Google Sheets to fix their data, so it is written for spreadsheets: UTF-8 with a BOM
(without one Excel reads UTF-8 as the local code page), CRLF line ends, and every cell that a spreadsheet would
run as a formula neutralized with a leading `'` (the OWASP CSV-injection rule). Contact data comes from outside;
a "name" of `=HYPERLINK(...)` must stay text.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Self

from connectors.csv_files.errors import CsvImportError
from connectors.csv_files.headers import raw_keys
from contacts_store.records import Reject

REPORT_COLUMNS = ("row", "reason", "field", "value", "message")
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """Prefix a cell that a spreadsheet would treat as a formula with `'`, so it is shown as text."""
    if text.startswith(_FORMULA_TRIGGERS):
        return "'" + text
    return text


class RejectsReport:
    """A rejects report being written; rows go to disk as they come, so any number of rejects fits."""

    def __init__(self, path: Path, columns: list[str]) -> None:
        self.path = Path(path)
        self.count = 0
        self._keys = raw_keys(columns)
        try:
            self._file = open(self.path, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed by close()
        except OSError as error:
            raise CsvImportError(f"cannot write rejects report {self.path}: {error.strerror or error}") from None
        self._writer = csv.writer(self._file, lineterminator="\r\n")
        self._writer.writerow([spreadsheet_safe(name) for name in (*REPORT_COLUMNS, *columns)])

    def write(self, rejects: Iterable[Reject]) -> None:
        """Append rejects; `count` keeps the running total. Fits the ingest step's reject sink as it is."""
        keys = self._keys
        rows = []
        for reject in rejects:
            raw = reject.raw or {}
            cells = [
                "" if reject.row_number is None else str(reject.row_number),
                reject.reason,
                reject.field or "",
                reject.value or "",
                reject.message,
                *(raw.get(key, "") for key in keys),
            ]
            rows.append([spreadsheet_safe(cell) for cell in cells])
        self._writer.writerows(rows)
        self.count += len(rows)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def write_rejects_report(path: Path, columns: list[str]) -> RejectsReport:
    """Start a rejects report at `path`; `columns` (the source file's header) follow the report's own columns."""
    return RejectsReport(path, columns)
