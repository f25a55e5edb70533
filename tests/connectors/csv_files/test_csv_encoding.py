from __future__ import annotations

import io
from pathlib import Path

import pytest

from connectors.csv_files import CsvImportError, open_csv
from connectors.csv_files.encoding import SCAN_CHUNK_BYTES, detect_encoding
from tests.connectors.csv_files.helpers import Writer, contacts, read_all

HEADER = "first_name,last_name,company\n"
BODY = "Renée,Müller,Café € Ltd\nZoë,Ñúñez,Ærø AS\n"


def _detect(data: bytes) -> str:
    return detect_encoding(io.BytesIO(data), "test.csv").name


def _names(path: Path) -> list[tuple[str | None, str | None, str | None]]:
    _, records = read_all(path)
    return [(c.first_name, c.last_name, c.company) for c in contacts(records)]


EXPECTED = [("Renée", "Müller", "Café € Ltd"), ("Zoë", "Ñúñez", "Ærø AS")]


def test_utf8_without_bom(write_csv: Writer) -> None:
    path = write_csv(HEADER + BODY, encoding="utf-8")
    source, _ = read_all(path)
    assert source.encoding == "utf-8"
    assert _names(path) == EXPECTED


def test_utf8_with_bom_keeps_first_header_clean(write_csv: Writer) -> None:
    path = write_csv(HEADER + BODY, encoding="utf-8-sig")
    source, _ = read_all(path)
    assert source.encoding == "utf-8-sig"
    assert source.columns[0] == "first_name"
    assert _names(path) == EXPECTED


def test_cp1252_with_accents_and_euro(write_csv: Writer) -> None:
    path = write_csv(HEADER + BODY, encoding="cp1252")
    source, _ = read_all(path)
    assert source.encoding == "cp1252"
    assert _names(path) == EXPECTED


def test_cp1252_undefined_bytes_decode_as_latin1(write_csv: Writer) -> None:
    path = write_csv(b"first_name,notes\nAndr\xe9,x\x81\x8d\x8f\x90\x9dy\n")
    source, records = read_all(path)
    assert source.encoding == "cp1252"
    (contact,) = contacts(records)
    assert contact.first_name == "André"
    assert contact.notes == "x\x81\x8d\x8f\x90\x9dy"


def test_whole_file_is_scanned_before_choosing_utf8(write_csv: Writer) -> None:
    # Pure ASCII for more than a scan chunk, then one cp1252 byte on the last line.
    filler = "".join(f"Name{i},Smith\n" for i in range(SCAN_CHUNK_BYTES // 10))
    path = write_csv(("first_name,last_name\n" + filler).encode("ascii") + b"Ren\xe9e,Roy\n")
    source, records = read_all(path)
    assert source.encoding == "cp1252"
    assert contacts(records)[-1].first_name == "Renée"


def test_utf8_split_across_scan_chunks_stays_utf8(write_csv: Writer) -> None:
    head = "first_name\n"
    line = "a" * 99 + "\n"
    lines, rest = divmod(SCAN_CHUNK_BYTES - 1 - len(head), len(line))
    data = (head + line * lines + "b" * rest + "é\nZoë\n").encode("utf-8")
    assert data[SCAN_CHUNK_BYTES - 1 : SCAN_CHUNK_BYTES + 1] == "é".encode()
    source, records = read_all(write_csv(data))
    assert source.encoding == "utf-8"
    assert contacts(records)[-1].first_name == "Zoë"


@pytest.mark.parametrize(
    ("codec", "expected"),
    [("utf-16-le", "utf-16-le"), ("utf-16-be", "utf-16-be"), ("utf-32-le", "utf-32-le"), ("utf-32-be", "utf-32-be")],
)
def test_utf16_and_utf32_without_bom_by_nul_pattern(write_csv: Writer, codec: str, expected: str) -> None:
    path = write_csv(HEADER + BODY, encoding=codec)
    source, _ = read_all(path)
    assert source.encoding == expected
    assert _names(path) == EXPECTED


@pytest.mark.parametrize(
    ("bom", "codec", "expected"),
    [
        (b"\xff\xfe", "utf-16-le", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be", "utf-16-be"),
        (b"\xff\xfe\x00\x00", "utf-32-le", "utf-32-le"),
        (b"\x00\x00\xfe\xff", "utf-32-be", "utf-32-be"),
    ],
)
def test_byte_order_marks(write_csv: Writer, bom: bytes, codec: str, expected: str) -> None:
    path = write_csv(bom + (HEADER + BODY).encode(codec))
    source, _ = read_all(path)
    assert source.encoding == expected
    assert source.columns == ["first_name", "last_name", "company"]
    assert _names(path) == EXPECTED


def test_utf32_le_bom_is_not_taken_for_utf16() -> None:
    assert _detect(b"\xff\xfe\x00\x00" + "a,b\n".encode("utf-32-le")) == "utf-32-le"


def test_utf16_text_with_non_latin_letters_after_bom() -> None:
    assert _detect(b"\xff\xfe" + "名前,電話\n山田,03\n".encode("utf-16-le")) == "utf-16-le"


def test_binary_file_is_refused(write_csv: Writer) -> None:
    path = write_csv(bytes(range(256)) * 40)
    with pytest.raises(CsvImportError, match="looks like a binary file"):
        open_csv(path)


@pytest.mark.parametrize("signature", [b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"])
def test_excel_workbook_is_refused_with_advice(write_csv: Writer, signature: bytes) -> None:
    path = write_csv(signature + b"\x14\x00\x06\x00" + b"\x00" * 100, name="contacts.xlsx")
    with pytest.raises(CsvImportError, match="this looks like an Excel workbook; save it as CSV"):
        open_csv(path)


def test_forced_encoding_from_mapping_wins(write_csv: Writer) -> None:
    from connectors.csv_files import ColumnMapping

    path = write_csv("first_name\nRenée\n", encoding="utf-8")
    source, records = read_all(path, ColumnMapping(encoding="cp1252"))
    assert source.encoding == "cp1252"
    assert contacts(records)[0].first_name == "RenÃ©e"


def test_forced_encoding_that_does_not_fit_is_a_clean_error(write_csv: Writer) -> None:
    from connectors.csv_files import ColumnMapping

    path = write_csv(b"first_name\nok\nRen\xe9e\n")
    with pytest.raises(CsvImportError, match=r"is not valid utf-8 text \(line 3, byte 17\)"):
        read_all(path, ColumnMapping(encoding="utf-8"))
