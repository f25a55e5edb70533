"""Salesforce Data Loader's CSV parsing test files: BOMs in every Unicode encoding, escaped quotes, a custom
separator. Their headers are not contact fields, so a mapping names them."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.csv_files import ColumnMapping
from tests.connectors.csv_files.helpers import contacts, read_all

MAPPING = ColumnMapping.from_dict({"columns": {"column1": "first_name", "column2": "last_name", "column3": "company"}})
EXPECTED_ROWS = [(2, "row1-1", "row1-2", "row1-3"), (3, "row2-1", "row2-2", "row2-3")]


@pytest.mark.parametrize(
    ("name", "encoding"),
    [
        ("csvtext.csv", "utf-8"),
        ("csvtext_BOM_UTF8.csv", "utf-8-sig"),
        ("csvtext_BOM_UTF16LE.csv", "utf-16-le"),
        ("csvtext_BOM_UTF16BE.csv", "utf-16-be"),
        ("csvtext_BOM_UTF32LE.csv", "utf-32-le"),
        ("csvtext_BOM_UTF32BE.csv", "utf-32-be"),
    ],
)
def test_every_encoding_gives_the_same_rows(csv_fixtures: Path, name: str, encoding: str) -> None:
    source, records = read_all(csv_fixtures / "salesforce_dataloader" / name, MAPPING)
    assert source.encoding == encoding
    assert source.delimiter == ","
    assert source.columns == ["column1", "column2", "column3"]
    assert source.mapped == {"column1": "first_name", "column2": "last_name", "column3": "company"}
    rows = [(c.row_number, c.first_name, c.last_name, c.company) for c in contacts(records)]
    assert rows == EXPECTED_ROWS


def test_escaped_quotes(csv_fixtures: Path) -> None:
    _, records = read_all(csv_fixtures / "salesforce_dataloader" / "csvEscapedQuotes.csv", MAPPING)
    rows = [(c.first_name, c.last_name) for c in contacts(records)]
    assert rows == [('"The Best" Account', "bla"), ('The "Best" Account', "bla")]


def test_custom_separator_from_mapping(csv_fixtures: Path) -> None:
    mapping = ColumnMapping.from_dict(
        {"delimiter": "!", "columns": {"column1,column2": "first_name", "some,column3": "company"}}
    )
    source, records = read_all(csv_fixtures / "salesforce_dataloader" / "csvSeparator.csv", mapping)
    assert source.delimiter == "!"
    assert source.columns == ["column1,column2", "some,column3"]
    rows = [(c.row_number, c.first_name, c.company) for c in contacts(records)]
    assert rows == [(2, "col11,col12", "somev1,col13"), (3, "col21,col22", "somev2,col23")]


def test_without_a_mapping_the_headers_are_refused(csv_fixtures: Path) -> None:
    from connectors.csv_files import CsvImportError, open_csv

    with pytest.raises(CsvImportError, match=r"found 'column1', 'column2', 'column3'.*mapping file"):
        open_csv(csv_fixtures / "salesforce_dataloader" / "csvtext.csv")
