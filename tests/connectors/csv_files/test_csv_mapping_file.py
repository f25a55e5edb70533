from __future__ import annotations

from pathlib import Path

import pytest

from connectors.csv_files import ColumnMapping, CsvImportError, load_mapping
from connectors.csv_files.headers import Role, Split
from contacts_store.records import EmailType, PhoneType


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_mapping(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "map.yaml",
        "columns:\n"
        "  Kontakt-Telefon: phone:work\n"
        "  Handy: Phone:Mobile\n"
        "  Privat: email:personal\n"
        "  Nr: external_id\n"
        "  Schlagworte: tags\n"
        "  Intern: ignore\n"
        'delimiter: ";"\n'
        "encoding: windows-1252\n",
    )
    mapping = load_mapping(path)
    assert mapping.columns == {
        "Kontakt-Telefon": Role("phone", PhoneType.WORK),
        "Handy": Role("phone", PhoneType.MOBILE),
        "Privat": Role("email", EmailType.PERSONAL),
        "Nr": Role("external_id"),
        "Schlagworte": Role("tags", split=Split.LIST),
        "Intern": None,
    }
    assert mapping.delimiter == ";"
    assert mapping.encoding == "cp1252"


def test_json_mapping(tmp_path: Path) -> None:
    path = _write(tmp_path, "map.json", '{"columns": {"column1": "first_name"}, "delimiter": "tab"}')
    mapping = load_mapping(path)
    assert mapping.columns == {"column1": Role("first_name")}
    assert mapping.delimiter == "\t"
    assert mapping.encoding is None


def test_other_extensions_parse_as_json_or_yaml(tmp_path: Path) -> None:
    assert load_mapping(_write(tmp_path, "a.map", '{"columns": {"x": "notes"}}')).columns == {"x": Role("notes")}
    assert load_mapping(_write(tmp_path, "b.map", "columns:\n  x: notes\n")).columns == {"x": Role("notes")}


def test_lookup_is_insensitive_to_case_and_punctuation() -> None:
    mapping = ColumnMapping.from_dict({"columns": {"E-Mail privat": "email:personal"}})
    assert mapping.lookup("e-mail Privat") == ("E-Mail privat", Role("email", EmailType.PERSONAL))
    assert mapping.lookup("Telefon") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"columns": {"Handy": "phone:cell"}}', r"column 'Handy': unknown phone type 'cell'; use one of mobile"),
        ('{"columns": {"Mail": "email:home"}}', r"column 'Mail': unknown email type 'home'; use one of work"),
        ('{"columns": {"Geburtstag": "birthday"}}', r"column 'Geburtstag': unknown target 'birthday'; use one of"),
        ('{"columns": {"X": ""}}', r"column 'X' needs a target"),
        ('{"columns": {"X": 3}}', r"column 'X' needs a target"),
        ('{"columns": ["a", "b"]}', r"'columns' must map each CSV header to a target"),
        ('{"column": {}}', r"unknown setting 'column'"),
        ('{"delimiter": ";;"}', r"delimiter must be a single character"),
        ('{"encoding": "klingon-8"}', r"unknown encoding 'klingon-8'"),
        ('["columns"]', r"expected a mapping"),
        ('{"columns": {', r"is not valid JSON"),
    ],
)
def test_bad_json_mapping_names_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(CsvImportError, match=message):
        load_mapping(_write(tmp_path, "map.json", text))


def test_bad_yaml_mapping(tmp_path: Path) -> None:
    with pytest.raises(CsvImportError, match=r"is not valid YAML \(line 2: mapping values are not allowed here\)"):
        load_mapping(_write(tmp_path, "map.yml", "columns:\n  a: b: c\n"))


def test_missing_mapping_file(tmp_path: Path) -> None:
    with pytest.raises(CsvImportError, match=r"mapping file .*missing\.yaml not found"):
        load_mapping(tmp_path / "missing.yaml")


def test_empty_mapping_file_is_no_override(tmp_path: Path) -> None:
    assert load_mapping(_write(tmp_path, "empty.yaml", "")) == ColumnMapping()
