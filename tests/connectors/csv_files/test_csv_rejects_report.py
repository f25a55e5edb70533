from __future__ import annotations

import csv
from pathlib import Path

import pytest

from connectors.csv_files import open_csv, write_rejects_report
from connectors.csv_files.rejects_report import spreadsheet_safe
from contacts_store.records import Reject
from tests.connectors.csv_files.helpers import Writer


def _read(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as file:
        return list(csv.reader(file))


def test_bom_crlf_and_columns(tmp_path: Path) -> None:
    path = tmp_path / "rejects.csv"
    with write_rejects_report(path, ["first_name", "email"]) as report:
        report.write(
            [
                Reject("invalid_email", "not an email", 3, "C-1", "email", "ana@", {"first_name": "Ana", "email": "x"}),
                Reject("malformed_row", "bad row", None),
            ]
        )
    assert report.count == 2
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfrow,reason,field,value,message,first_name,email\r\n")
    assert data.count(b"\r\n") == 3
    assert _read(path)[1:] == [
        ["3", "invalid_email", "email", "ana@", "not an email", "Ana", "x"],
        ["", "malformed_row", "", "", "bad row", "", ""],
    ]


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1 212 555 0100", "'+1 212 555 0100"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Ana", "Ana"),
        ("'already quoted", "'already quoted"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_spreadsheet_safe(cell: str, safe: str) -> None:
    assert spreadsheet_safe(cell) == safe


def test_every_cell_is_escaped_in_the_report(tmp_path: Path) -> None:
    path = tmp_path / "rejects.csv"
    with write_rejects_report(path, ["=cmd", "phone"]) as report:
        report.write([Reject("bad", "-oops", 2, None, "phone", "+44 20", {"=cmd": "@x", "phone": "+44 20"})])
    assert _read(path) == [
        ["row", "reason", "field", "value", "message", "'=cmd", "phone"],
        ["2", "bad", "phone", "'+44 20", "'-oops", "'@x", "'+44 20"],
    ]


def test_duplicate_and_blank_source_columns(tmp_path: Path) -> None:
    path = tmp_path / "rejects.csv"
    with write_rejects_report(path, ["Phone", "Phone", ""]) as report:
        report.write([Reject("bad", "m", 2, raw={"Phone": "1", "Phone (2)": "2", "column 3": "z"})])
    assert _read(path)[1] == ["2", "bad", "", "", "m", "1", "2", "z"]


def test_malformed_rows_end_to_end(write_csv: Writer, tmp_path: Path) -> None:
    source_path = write_csv("first_name,notes\nAna,ok\nBo,=1+1,surplus\n")
    report_path = tmp_path / "rejects.csv"
    with open_csv(source_path) as source, write_rejects_report(report_path, source.columns) as report:
        for batch in source.batches():
            report.write(r for r in batch if isinstance(r, Reject))
    assert report.count == 1
    rows = _read(report_path)
    assert rows[0] == ["row", "reason", "field", "value", "message", "first_name", "notes"]
    assert rows[1][:4] == ["3", "malformed_row", "", "surplus"]
    assert rows[1][5:] == ["Bo", "'=1+1"]
