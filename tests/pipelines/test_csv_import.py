"""CSV files end to end into SQLite and PostgreSQL: real exports, idempotence, counts, rejects report."""

from __future__ import annotations

import csv
import shutil
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from contacts_store import schema
from contacts_store.contacts import find_by_email, find_by_phone, get_contact
from contacts_store.db import create_engine
from pipelines.csv_import import CsvImportError, ImportOptionError, import_csv
from tests.conftest import REPO, count_rows

EXAMPLE = REPO / "examples" / "contacts.csv"


def reconciles(result: object) -> bool:
    r = result
    return r.read == r.inserted + r.updated + r.unchanged + r.deleted + r.rejected  # type: ignore[attr-defined]


def contacts_of(engine: Engine, customer: uuid.UUID) -> list[dict[str, object]]:
    with engine.connect() as conn:
        ids = conn.execute(
            sa.select(schema.contacts.c.id)
            .where(schema.contacts.c.customer_id == customer)
            .order_by(schema.contacts.c.external_id)
        ).scalars()
        docs = [get_contact(conn, customer, contact_id) for contact_id in ids]
    return [d for d in docs if d is not None]


def comparable(docs: list[dict[str, object]]) -> list[tuple[object, ...]]:
    """Contact content without ids and timestamps."""
    out = []
    for d in docs:
        phones = tuple((p["number_e164"], p["type"], p["is_primary"]) for p in d["phone_numbers"])  # type: ignore[attr-defined,index]
        emails = tuple((e["address"], e["type"], e["is_primary"]) for e in d["emails"])  # type: ignore[attr-defined,index]
        out.append((d["external_id"], d["first_name"], d["last_name"], d["company"], phones, emails, tuple(d["tags"])))  # type: ignore[arg-type]
    return sorted(out, key=repr)


def test_example_import_counts_reconcile_and_reimport_is_unchanged(
    db_url: str, customer: uuid.UUID, tmp_path: Path
) -> None:
    rejects = tmp_path / "rejects.csv"
    first = import_csv(EXAMPLE, db_url, customer, rejects_path=rejects)
    assert first.read == 400 and reconciles(first)
    assert first.inserted > 350 and first.rejected > 0 and first.values_rejected > 0
    engine = create_engine(db_url)
    before = comparable(contacts_of(engine, customer))
    second = import_csv(EXAMPLE, db_url, customer)
    assert (second.inserted, second.updated) == (0, 0)
    assert second.unchanged == first.read - first.rejected
    assert second.rejected == first.rejected and second.values_rejected == first.values_rejected
    assert comparable(contacts_of(engine, customer)) == before
    with rejects.open(encoding="utf-8-sig", newline="") as handle:
        report = list(csv.DictReader(handle))
    assert len(report) == first.rejected + first.values_rejected
    assert {row["reason"] for row in report} >= {"invalid_phone", "invalid_email", "no_usable_fields"}
    assert all(row["row"].isdigit() for row in report)
    engine.dispose()


def test_example_lookups_find_messy_numbers(db_url: str, customer: uuid.UUID) -> None:
    import_csv(EXAMPLE, db_url, customer)
    engine = create_engine(db_url)
    with engine.connect() as conn:
        # "+49.15061.964631" and "müller@bücher.de" in the file, looked up in other spellings.
        by_phone = find_by_phone(conn, customer, "0049 1506 1964631")
        by_email = find_by_email(conn, customer, "MÜLLER@xn--bcher-kva.de")
        assert by_phone is not None and by_phone == by_email
        doc = get_contact(conn, customer, by_phone)
    assert doc is not None and doc["last_name"] == "Müller"
    assert doc["tags"] == ["vip", "enterprise"]
    engine.dispose()


def test_file_without_id_column_does_not_duplicate_on_reimport(
    db_url: str, customer: uuid.UUID, tmp_path: Path
) -> None:
    path = tmp_path / "no_ids.csv"
    path.write_text(
        "Name,E-mail,Phone\n"
        "Ann Lee,ann@example.com,(201) 555-0101\n"
        "Bob Roe,,+1 201 555 0102\n"
        "ANN LEE,ANN@EXAMPLE.COM,201.555.0101\n",
        encoding="utf-8",
    )
    first = import_csv(path, db_url, customer)
    assert (first.inserted, first.updated) == (2, 1)
    path.write_text(
        "Name,E-mail,Phone\nAnn Lee,ann@example.com,(201) 555-0109\nBob Roe,bob@example.com,201-555-0102\n",
        encoding="utf-8",
    )
    second = import_csv(path, db_url, customer)
    assert (second.inserted, second.updated, second.unchanged) == (0, 2, 0)
    engine = create_engine(db_url)
    assert count_rows(engine, schema.contacts, customer_id=customer) == 2
    engine.dispose()


def test_google_and_outlook_exports(db_url: str, customer: uuid.UUID, fixtures_dir: Path) -> None:
    folder = fixtures_dir / "csv" / "roundcube"
    result = import_csv(folder / "outlook.csv", db_url, customer, system="outlook")
    assert (result.read, result.inserted) == (1, 1)
    engine = create_engine(db_url)
    with engine.connect() as conn:
        contact_id = find_by_email(conn, customer, "test2@domain.tld")
        assert contact_id is not None
        doc = get_contact(conn, customer, contact_id)
    assert doc is not None
    assert [e["address"] for e in doc["emails"]] == ["test1@domain.tld", "test2@domain.tld", "test3@domain.tld"]
    # The Google sample's phones are placeholders ("mobile", "homephone"): the contact is kept with its emails,
    # and every placeholder is reported as an invalid phone.
    google = import_csv(folder / "gmail.csv", db_url, customer, system="google")
    assert (google.inserted, google.values_rejected) == (1, 7)
    with engine.connect() as conn:
        contact_id = find_by_email(conn, customer, "work@email.pl")
        assert contact_id is not None
        doc = get_contact(conn, customer, contact_id)
    assert doc is not None and doc["first_name"] == "Firstname" and doc["company"] == "company"
    assert [e["address"] for e in doc["emails"]] == [
        "home@aaa.pl",
        "work@email.pl",
        "unknown@email.com",
        "other@email.com",
    ]
    assert doc["tags"] == ["My Contacts", "Test"]
    engine.dispose()


def test_dataloader_encodings_import_identically(db_url: str, fixtures_dir: Path, tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("columns:\n  column1: first_name\n  column2: last_name\n  column3: company\n", encoding="utf-8")
    folder = fixtures_dir / "csv" / "salesforce_dataloader"
    names = [
        "csvtext.csv",
        "csvtext_BOM_UTF8.csv",
        "csvtext_BOM_UTF16LE.csv",
        "csvtext_BOM_UTF16BE.csv",
        "csvtext_BOM_UTF32LE.csv",
        "csvtext_BOM_UTF32BE.csv",
    ]
    engine = create_engine(db_url)
    stores = []
    for name in names:
        customer = uuid.uuid4()
        result = import_csv(folder / name, db_url, customer, mapping_path=mapping)
        assert (result.read, result.inserted) == (2, 2), name
        stores.append(comparable(contacts_of(engine, customer)))
    assert stores[0] == [
        ("", "row1-1", "row1-2", "row1-3", (), (), ()),
        ("", "row2-1", "row2-2", "row2-3", (), (), ()),
    ]
    assert all(store == stores[0] for store in stores)
    engine.dispose()


def test_bad_input_is_refused_with_a_reason(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    binary = tmp_path / "photo.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20)
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("foo,bar\n1,2\n", encoding="utf-8")
    for path in (tmp_path / "missing.csv", tmp_path, empty, binary, unknown):
        with pytest.raises(CsvImportError):
            import_csv(path, url)
    with pytest.raises(ImportOptionError):
        import_csv(EXAMPLE, url, region="XX")


def test_large_file_streams_through_several_batches_and_workers(
    db_url: str, customer: uuid.UUID, tmp_path: Path
) -> None:
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["external_id", "first_name", "mobile_phone", "email"])
        for i in range(12_000):
            writer.writerow([f"id{i}", f"P{i}", f"+1 201 555 {i % 10000:04d}", f"p{i}@example.com"])
        writer.writerow(["id3", "Changed", "+1 201 555 0003", "p3@example.com"])  # a later duplicate: last wins
    first = import_csv(path, db_url, customer, workers=2)
    assert (first.read, first.inserted, first.updated) == (12_001, 12_000, 1)
    second = import_csv(path, db_url, customer, workers=2)
    # The two versions of id3 are 12,000 rows (several batches) apart: the re-import writes both again, in order,
    # and ends where the first import ended.
    assert (second.inserted, second.updated, second.unchanged) == (0, 2, 11_999)
    engine = create_engine(db_url)
    with engine.connect() as conn:
        contact_id = find_by_email(conn, customer, "p3@example.com")
        assert contact_id is not None
        doc = get_contact(conn, customer, contact_id)
    assert doc is not None and doc["first_name"] == "Changed"
    engine.dispose()


def test_example_file_is_untouched(tmp_path: Path) -> None:
    copy = tmp_path / "contacts.csv"
    shutil.copy(EXAMPLE, copy)
    import_csv(copy, f"sqlite:///{tmp_path / 'x.db'}")
    assert copy.read_bytes() == EXAMPLE.read_bytes()
