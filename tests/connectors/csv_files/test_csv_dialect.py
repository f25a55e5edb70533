from __future__ import annotations

import pytest

from connectors.csv_files import ColumnMapping
from connectors.csv_files.dialect import sniff_delimiter
from tests.connectors.csv_files.helpers import Writer, contacts, read_all


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_each_delimiter_is_detected(write_csv: Writer, delimiter: str) -> None:
    rows = [["first_name", "last_name", "email"], ["Ana", "Silva", "ana@example.com"], ["Bo", "Li", "bo@example.com"]]
    path = write_csv("".join(delimiter.join(row) + "\n" for row in rows))
    source, records = read_all(path)
    assert source.delimiter == delimiter
    assert [(c.first_name, c.last_name) for c in contacts(records)] == [("Ana", "Silva"), ("Bo", "Li")]


def test_quoted_commas_do_not_fool_a_semicolon_file() -> None:
    sample = 'name;company;notes\n"Roy, Renée";"Acme, Inc.";"a, b, c, d"\nBo;"X, Y";z\n'
    assert sniff_delimiter(sample, complete=True) == ";"


def test_decimal_commas_in_a_semicolon_file() -> None:
    sample = "name;amount;phone\nAna;1,5;555\nBo;2,75;556\n"
    assert sniff_delimiter(sample, complete=True) == ";"


def test_more_fields_wins_among_consistent_candidates() -> None:
    sample = "a|b,c|d\n1|2,3|4\n5|6,7|8\n"
    assert sniff_delimiter(sample, complete=True) == "|"


def test_one_column_file_falls_back_to_comma(write_csv: Writer) -> None:
    source, records = read_all(write_csv("email\nana@example.com\nbo@example.com\n"))
    assert source.delimiter == ","
    assert [c.emails[0].value for c in contacts(records)] == ["ana@example.com", "bo@example.com"]


def test_truncated_last_sample_record_is_not_counted() -> None:
    # The sample is cut inside the third record; a complete file with that cut would look inconsistent.
    assert sniff_delimiter("a;b;c\n1;2;3\n4;5", complete=False) == ";"
    assert sniff_delimiter("a;b;c\n1;2;3\n4;5;6\n", complete=True) == ";"


def test_mapping_file_forces_the_delimiter(write_csv: Writer) -> None:
    path = write_csv("first_name,x!last_name\nAna,1!Silva\n")
    source, records = read_all(path, ColumnMapping.from_dict({"delimiter": "!"}))
    assert source.delimiter == "!"
    assert source.columns == ["first_name,x", "last_name"]
    assert contacts(records)[0].last_name == "Silva"
