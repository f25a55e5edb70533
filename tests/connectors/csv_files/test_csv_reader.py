from __future__ import annotations

import os
from pathlib import Path

import pytest

from connectors.csv_files import ColumnMapping, CsvImportError, open_csv
from contacts_store.records import EmailType, PhoneType, RawEmail, RawPhone, Reject, SourceContact
from tests.connectors.csv_files.helpers import Writer, contacts, read_all


def test_quoted_newlines_keep_editor_line_numbers(write_csv: Writer) -> None:
    text = (
        "external_id,first_name,notes\r\n"  # line 1
        '1,Ana,"first line\r\nsecond line"\r\n'  # lines 2-3
        "2,Bo,plain\r\n"  # line 4
        "\r\n"  # line 5, blank
        '3,Cy,"a\nb\nc"\n'  # lines 6-8
        "4,Di,\n"  # line 9
    )
    _, records = read_all(write_csv(text))
    rows = [(c.row_number, c.external_id, c.notes) for c in contacts(records)]
    assert rows == [(2, "1", "first line\r\nsecond line"), (4, "2", "plain"), (6, "3", "a\nb\nc"), (9, "4", None)]


def test_blank_lines_before_the_header(write_csv: Writer) -> None:
    source, records = read_all(write_csv("\n\n  \nfirst_name\nAna\n"))
    assert source.header_line == 4
    assert [(c.row_number, c.first_name) for c in contacts(records)] == [(5, "Ana")]


def test_rows_made_only_of_delimiters_are_skipped(write_csv: Writer) -> None:
    _, records = read_all(write_csv("first_name,last_name\n,\nAna,Silva\n , \n,,\n"))
    assert [(c.row_number, c.first_name) for c in contacts(records)] == [(3, "Ana")]


def test_cells_are_stripped_and_empty_is_none(write_csv: Writer) -> None:
    _, records = read_all(write_csv("first_name,last_name,company,mobile\n  Ana  ,,   ,'+44 7700 900123\n"))
    (contact,) = contacts(records)
    assert (contact.first_name, contact.last_name, contact.company) == ("Ana", None, None)
    assert contact.phones == [RawPhone("'+44 7700 900123", PhoneType.MOBILE, False)]  # the quote stays
    assert contact.raw == {"first_name": "Ana", "mobile": "'+44 7700 900123"}


def test_fewer_cells_than_the_header(write_csv: Writer) -> None:
    _, records = read_all(write_csv("first_name,last_name,email\nAna\nBo,Li\n"))
    assert [(c.first_name, c.last_name, c.emails) for c in contacts(records)] == [("Ana", None, []), ("Bo", "Li", [])]


def test_more_cells_than_the_header_is_a_reject(write_csv: Writer) -> None:
    text = "external_id,first_name,last_name\n1,Ana,Silva\n2,Roy, Renée,Extra,\n3,Bo,Li\n"
    _, records = read_all(write_csv(text))
    assert [type(r) for r in records] == [SourceContact, Reject, SourceContact]
    reject = records[1]
    assert isinstance(reject, Reject)
    assert reject.reason == "malformed_row"
    assert reject.row_number == 3
    assert reject.external_id == "2"
    assert reject.field is None
    assert reject.value == "Extra,"
    assert "5 cells but the header has 3" in reject.message
    assert reject.raw == {"external_id": "2", "first_name": "Roy", "last_name": " Renée", "_extra_1": "Extra"}
    assert records[2].row_number == 4


def test_trailing_empty_cells_beyond_the_header_are_not_an_error(write_csv: Writer) -> None:
    _, records = read_all(write_csv("first_name,last_name\nAna,Silva,,\nBo,Li, ,\t\n"))
    assert [(c.first_name, c.last_name, c.raw) for c in contacts(records)] == [
        ("Ana", "Silva", {"first_name": "Ana", "last_name": "Silva"}),
        ("Bo", "Li", {"first_name": "Bo", "last_name": "Li"}),
    ]


def test_nul_bytes_inside_a_text_file_reject_only_their_row(write_csv: Writer) -> None:
    good = "".join(f"{i},Name{i},Person\n" for i in range(30))
    data = b"external_id,first_name,last_name\n" + good.encode() + b"99,Bad\x00Name,X\n100,Last,Row\n"
    _, records = read_all(write_csv(data))
    assert len(records) == 32
    reject = records[30]
    assert isinstance(reject, Reject)
    assert (reject.reason, reject.row_number, reject.external_id) == ("malformed_row", 32, "99")
    assert "NUL" in reject.message
    assert reject.raw == {"external_id": "99", "first_name": "BadName", "last_name": "X"}
    last = records[31]
    assert isinstance(last, SourceContact) and last.first_name == "Last"


def test_first_non_empty_scalar_wins_and_values_accumulate(write_csv: Writer) -> None:
    text = (
        "Name,Display Name,mobile,work_phone,cell,email,Email Other,tags,Categories\n"
        ",Shown,111,222,333,a@x.example,b@x.example,vip; partner,Friends\n"
        "Named,Shown,,,,,,,\n"
    )
    _, records = read_all(write_csv(text))
    first, second = contacts(records)
    assert first.display_name == "Shown"
    assert second.display_name == "Named"
    assert first.phones == [
        RawPhone("111", PhoneType.MOBILE),
        RawPhone("222", PhoneType.WORK),
        RawPhone("333", PhoneType.MOBILE),
    ]
    assert first.emails == [RawEmail("a@x.example", EmailType.WORK, True), RawEmail("b@x.example", EmailType.OTHER)]
    assert first.tags == ["vip", "partner", "Friends"]
    assert second.phones == [] and second.emails == [] and second.tags == []


def test_duplicate_header_names_keep_both_values_in_raw(write_csv: Writer) -> None:
    source, records = read_all(write_csv("Name,Phone,Phone\nAna,1,2\n"))
    (contact,) = contacts(records)
    assert source.columns == ["Name", "Phone", "Phone"]
    assert contact.raw == {"Name": "Ana", "Phone": "1", "Phone (2)": "2"}
    assert [p.value for p in contact.phones] == ["1", "2"]


def test_batches_have_the_requested_size_and_can_be_read_again(write_csv: Writer) -> None:
    path = write_csv("first_name\n" + "".join(f"n{i}\n" for i in range(5)))
    with open_csv(path) as source:
        assert [len(batch) for batch in source.batches(2)] == [2, 2, 1]
        assert [c.first_name for batch in source.batches() for c in contacts(batch)] == [f"n{i}" for i in range(5)]
        with pytest.raises(ValueError):
            next(source.batches(0))


def test_source_attributes(write_csv: Writer) -> None:
    path = write_csv("Record ID;First Name;Birthday;Mobile\n7;Ana;1990-01-01;+1 555\n")
    with open_csv(path) as source:
        assert source.path == path
        assert source.encoding == "utf-8" and source.delimiter == ";"
        assert source.columns == ["Record ID", "First Name", "Birthday", "Mobile"]
        assert source.mapped == {"Record ID": "external_id", "First Name": "first_name", "Mobile": "phone:mobile"}
        assert source.ignored_columns == ["Birthday"]
        assert source.has_id_column
        assert source.total_bytes == os.path.getsize(path)
        assert source.bytes_read() == 0
        list(source.batches())
        assert source.bytes_read() == source.total_bytes
    assert source.bytes_read() == source.total_bytes


def test_without_id_column(write_csv: Writer) -> None:
    source, _ = read_all(write_csv("email\na@x.example\n"))
    assert not source.has_id_column


def test_mapping_file_overrides_automatic_matching(write_csv: Writer) -> None:
    path = write_csv("Name,Handy,Phone,Company\nAna,+49 151,+49 30,Acme\n")
    mapping = ColumnMapping.from_dict(
        {"columns": {"name": "first_name", "Handy": "phone:mobile", "Phone": "ignore", "Missing": "notes"}}
    )
    source, records = read_all(path, mapping)
    assert source.mapped == {"Name": "first_name", "Handy": "phone:mobile", "Company": "company"}
    assert source.ignored_columns == ["Phone"]
    assert source.unused_mapping_columns == ["Missing"]
    (contact,) = contacts(records)
    assert (contact.first_name, contact.display_name, contact.company) == ("Ana", None, "Acme")
    assert contact.phones == [RawPhone("+49 151", PhoneType.MOBILE)]


def test_records_survive_pickling(write_csv: Writer) -> None:
    import pickle

    _, records = read_all(write_csv("first_name,mobile,email\nAna,1,a@x.example\n"))
    assert pickle.loads(pickle.dumps(records)) == records


# --- files that cannot be imported -------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CsvImportError, match=r"nope\.csv not found"):
        open_csv(tmp_path / "nope.csv")


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(CsvImportError, match="is a directory"):
        open_csv(tmp_path)


@pytest.mark.parametrize("content", [b"", b"   \r\n\t\n\n", "\n \n".encode("utf-16")])
def test_empty_file(write_csv: Writer, content: bytes) -> None:
    with pytest.raises(CsvImportError, match="is empty"):
        open_csv(write_csv(content))


def test_header_only_file_has_no_records(write_csv: Writer) -> None:
    source, records = read_all(write_csv("first_name,last_name\n"))
    assert records == [] and source.columns == ["first_name", "last_name"]


def test_unknown_columns_are_refused_with_examples(write_csv: Writer) -> None:
    path = write_csv("Kundennummer,Geburtstag,Abteilung,Strasse,Ort,PLZ,Land\n1,1990-01-01,IT,X,Y,Z,DE\n")
    with pytest.raises(CsvImportError) as error:
        open_csv(path)
    message = str(error.value)
    assert "none of the columns is a contact field we know" in message
    assert "'Kundennummer', 'Geburtstag', 'Abteilung', 'Strasse', 'Ort' and 2 more" in message
    assert "mapping file" in message
    assert "\n" not in message


def test_data_in_the_first_line_means_no_header_row(write_csv: Writer) -> None:
    path = write_csv("Ana,Silva,ana@example.com,+1 212 555 0100\nBo,Li,bo@example.com,+1 212 555 0101\n")
    with pytest.raises(CsvImportError, match="has no header row: line 1 looks like data"):
        open_csv(path)


def test_unclosed_quote_is_reported_with_its_line(write_csv: Writer) -> None:
    path = write_csv('first_name,notes\nAna,ok\nBo,"never closed\n' + "x" * 140_000 + "\n")
    with open_csv(path) as source, pytest.raises(CsvImportError, match="line 3: a field is longer than"):
        list(source.batches())


def test_the_file_is_closed_after_an_error(write_csv: Writer) -> None:
    # With warnings as errors, a leaked file handle would fail this test with a ResourceWarning.
    path = write_csv("a,b\n1,2\n")
    for _ in range(3):
        with pytest.raises(CsvImportError):
            open_csv(path)


def test_garbage_collector_state_is_the_callers_between_batches(write_csv: Writer) -> None:
    import gc

    path = write_csv("first_name\n" + "".join(f"n{i}\n" for i in range(7)))
    assert gc.isenabled()
    with open_csv(path) as source:
        seen = []
        for _ in source.batches(3):
            seen.append(gc.isenabled())
        assert seen == [True, True, True]
        assert gc.isenabled()

        gc.disable()
        try:
            for _ in source.batches(3):
                assert not gc.isenabled()
            assert not gc.isenabled()
        finally:
            gc.enable()

        abandoned = source.batches(3)
        next(abandoned)
        abandoned.close()
        assert gc.isenabled()


def test_garbage_collector_is_resumed_after_a_parse_error(write_csv: Writer) -> None:
    import gc

    path = write_csv('first_name,notes\nAna,"never closed\n' + "x" * 140_000 + "\n")
    with open_csv(path) as source, pytest.raises(CsvImportError):
        list(source.batches())
    assert gc.isenabled()


def test_a_quote_never_closed_rejects_the_last_record_instead_of_swallowing_the_rest(write_csv: Writer) -> None:
    path = write_csv('first_name,notes\nAnn,"unclosed\nBob,hi\nCy,there\n')
    _, records = read_all(path)
    assert len(records) == 1
    reject = records[0]
    assert isinstance(reject, Reject)
    assert reject.reason == "malformed_row" and reject.row_number == 2
    assert "never closed" in reject.message
    assert reject.raw is not None and "Bob,hi" in reject.raw["notes"]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_closed_multi_line_last_record_is_kept(write_csv: Writer, newline: str) -> None:
    path = write_csv(f'first_name,notes{newline}Ann,x{newline}Bob,"two{newline}lines"{newline}')
    _, records = read_all(path)
    assert [r.first_name for r in records if isinstance(r, SourceContact)] == ["Ann", "Bob"]
    last = records[-1]
    assert isinstance(last, SourceContact) and last.notes == f"two{newline}lines" and last.row_number == 3


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_excel_separator_line_names_the_delimiter(write_csv: Writer, newline: str) -> None:
    path = write_csv(f"sep=;{newline}first_name;email{newline}Ann;ann@example.com{newline}")
    source, records = read_all(path)
    assert source.delimiter == ";" and source.header_line == 2
    assert [(r.first_name, r.emails[0].value) for r in contacts(records)] == [("Ann", "ann@example.com")]


def test_title_lines_above_the_header_are_skipped(write_csv: Writer) -> None:
    path = write_csv("Contacts exported 2024-05-01\n\nfirst_name;email;phone\nAnn;ann@example.com;+1 201 555 0123\n")
    source, records = read_all(path)
    assert (source.header_line, source.delimiter) == (3, ";")
    assert [(r.first_name, r.row_number) for r in contacts(records)] == [("Ann", 4)]
