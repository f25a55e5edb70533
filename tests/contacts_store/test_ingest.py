"""Batch upsert on SQLite and PostgreSQL: counts, idempotence, matching, deletes, tenancy, transactions."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from contacts_store import schema
from contacts_store.contacts import find_by_email, find_by_phone, get_contact
from contacts_store.ingest import IngestOptions, IngestResult, chunked, ingest
from contacts_store.records import EmailType, PhoneType, RawEmail, RawPhone, Reject, Source, SourceContact
from tests.conftest import count_rows


def person(
    n: int,
    external_id: str | None = None,
    *,
    name: str | None = None,
    phone: str | None = None,
    email: str | None = None,
) -> SourceContact:
    return SourceContact(
        external_id=external_id,
        first_name=name or f"Person{n}",
        last_name="Test",
        company="Acme",
        phones=[RawPhone(phone or f"+1 201 555 {n:04d}", PhoneType.MOBILE)],
        emails=[RawEmail(email or f"Person{n}@Example.com", EmailType.WORK)],
        tags=["imported"],
        row_number=n + 1,
    )


def run(
    engine: Engine, records: Sequence[SourceContact | Reject], customer: uuid.UUID, batch: int = 100, **kw: object
) -> IngestResult:
    options = IngestOptions(customer_id=customer, external_system=str(kw.pop("system", "csv")), **kw)  # type: ignore[arg-type]
    return ingest(engine, chunked(records, batch), options)


def reconciles(result: IngestResult) -> bool:
    parts = result.inserted + result.updated + result.unchanged + result.deleted + result.rejected
    return result.read == parts


def snapshot(engine: Engine, customer: uuid.UUID) -> list[tuple[object, ...]]:
    """The store's content for a customer without ids or timestamps, to compare two runs."""
    c, p, e, t = schema.contacts, schema.contact_phone_numbers, schema.contact_emails, schema.contact_tags
    with engine.connect() as conn:
        contacts = conn.execute(
            sa.select(c.c.id, c.c.external_id, c.c.first_name, c.c.tm_delete.is_(None)).where(
                c.c.customer_id == customer
            )
        ).all()
        out = []
        for cid, ext, first, live in contacts:
            phones = conn.execute(
                sa.select(p.c.number_e164, p.c.is_primary).where(p.c.contact_id == cid).order_by(p.c.position)
            ).all()
            emails = conn.execute(
                sa.select(e.c.address, e.c.is_primary).where(e.c.contact_id == cid).order_by(e.c.position)
            ).all()
            tags = conn.execute(sa.select(t.c.tag).where(t.c.contact_id == cid).order_by(t.c.position)).scalars().all()
            out.append((ext, first, live, tuple(map(tuple, phones)), tuple(map(tuple, emails)), tuple(tags)))
    return sorted(out, key=repr)


def test_insert_then_reimport_is_unchanged(engine: Engine, customer: uuid.UUID) -> None:
    records = [person(i, f"id-{i}") for i in range(250)]
    first = run(engine, records, customer)
    assert (first.read, first.inserted, first.updated, first.unchanged) == (250, 250, 0, 0)
    assert reconciles(first)
    before = snapshot(engine, customer)
    second = run(engine, records, customer)
    assert (second.read, second.inserted, second.updated, second.unchanged) == (250, 0, 0, 250)
    assert second.writes == 0
    assert snapshot(engine, customer) == before
    assert count_rows(engine, schema.contacts, customer_id=customer) == 250
    assert count_rows(engine, schema.contact_phone_numbers, customer_id=customer) == 250


def test_changed_records_update_and_others_cost_nothing(engine: Engine, customer: uuid.UUID) -> None:
    records = [person(i, f"id-{i}") for i in range(50)]
    run(engine, records, customer)
    records[3] = person(3, "id-3", name="Renamed")
    records[7] = person(7, "id-7", phone="+44 20 7946 0958")
    result = run(engine, records, customer)
    assert (result.inserted, result.updated, result.unchanged) == (0, 2, 48)
    with engine.connect() as conn:
        contact_id = find_by_phone(conn, customer, "+442079460958")
        assert contact_id is not None
        doc = get_contact(conn, customer, contact_id)
    assert doc is not None and doc["external_id"] == "id-7"
    assert [p["number_e164"] for p in doc["phone_numbers"]] == ["+442079460958"]
    assert doc["tm_update"] is not None


def test_an_update_rewrites_only_the_child_rows_that_changed(engine: Engine, customer: uuid.UUID) -> None:
    run(engine, [person(1, "a"), person(2, "b")], customer)

    def child_ids() -> dict[str, set[object]]:
        with engine.connect() as conn:
            return {
                table.name: set(conn.execute(sa.select(table.c[key])).scalars())
                for table, key in (
                    (schema.contact_phone_numbers, "id"),
                    (schema.contact_emails, "id"),
                    (schema.contact_tags, "tag"),
                )
            }

    before = child_ids()
    result = run(engine, [person(1, "a", name="Renamed"), person(2, "b", phone="+1 201 555 9999")], customer)
    assert result.updated == 2
    after = child_ids()
    # The renamed contact keeps its rows and their ids; only the changed phone is a new row.
    assert after["contact_emails"] == before["contact_emails"]
    assert after["contact_tags"] == before["contact_tags"]
    assert len(after["contact_phone_numbers"] - before["contact_phone_numbers"]) == 1
    a = get_contact_by_external(engine, customer, "a")
    b = get_contact_by_external(engine, customer, "b")
    assert a["first_name"] == "Renamed" and [p["number_e164"] for p in b["phone_numbers"]] == ["+12015559999"]


def get_contact_by_external(engine: Engine, customer: uuid.UUID, external_id: str) -> dict[str, object]:
    c = schema.contacts.c
    with engine.connect() as conn:
        contact_id = conn.execute(
            sa.select(c.id).where(c.customer_id == customer, c.external_id == external_id, c.tm_delete.is_(None))
        ).scalar_one()
        found = get_contact(conn, customer, contact_id)
    assert found is not None
    return found


def test_same_content_written_differently_is_unchanged(engine: Engine, customer: uuid.UUID) -> None:
    run(engine, [person(1, "a", phone="+12015550001", email="x@example.com")], customer)
    again = person(1, "a", phone="+12015550001", email="  X@EXAMPLE.COM ")
    result = run(engine, [again], customer)
    assert (result.updated, result.unchanged, result.writes) == (0, 1, 0)


def test_records_without_id_match_by_primary_email_then_phone(engine: Engine, customer: uuid.UUID) -> None:
    first = [
        person(1, email="ann@example.com", phone="+12015550001"),
        person(2, email="bob@example.com", phone="+12015550002"),
    ]
    assert run(engine, first, customer).inserted == 2
    # Same email, new phone: matches Ann by email. No email but Bob's phone: matches Bob by phone.
    second = [
        person(1, name="Ann B", email="ANN@example.com", phone="+12015550009"),
        SourceContact(first_name="Bobby", phones=[RawPhone("(201) 555-0002")], row_number=3),
        person(3, email="cy@example.com", phone="+12015550003"),
    ]
    result = run(engine, second, customer)
    assert (result.inserted, result.updated, result.unchanged) == (1, 2, 0)
    assert count_rows(engine, schema.contacts, customer_id=customer) == 3
    again = run(engine, second, customer)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)


def test_duplicates_inside_one_input_last_wins_and_rerun_converges(engine: Engine, customer: uuid.UUID) -> None:
    records: list[SourceContact | Reject] = [person(i, f"id-{i % 40}", name=f"v{i}") for i in range(120)]
    first = run(engine, records, customer, batch=25, workers=2)
    assert first.inserted == 40 and reconciles(first)
    state = snapshot(engine, customer)
    assert {row[1] for row in state} == {f"v{i}" for i in range(80, 120)}
    second = run(engine, records, customer, batch=25, workers=2)
    assert reconciles(second)
    assert snapshot(engine, customer) == state


def test_rejects_are_counted_and_stored(engine: Engine, customer: uuid.UUID) -> None:
    records: list[SourceContact | Reject] = [
        person(1, "a"),
        SourceContact(external_id="b", company="Only a company", phones=[RawPhone("12")], row_number=3),
        Reject("malformed_row", "3 cells, header has 2", row_number=4, raw={"a": "1"}),
        SourceContact(
            external_id="c", first_name="C", phones=[RawPhone("nope")], emails=[RawEmail("c@")], row_number=5
        ),
    ]
    result = run(engine, records, customer)
    assert (result.read, result.inserted, result.rejected, result.values_rejected) == (4, 2, 2, 2)
    assert reconciles(result)
    assert result.reject_reasons == {"no_usable_fields": 1, "malformed_row": 1, "invalid_phone": 1, "invalid_email": 1}
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(schema.rejects.c.reason, schema.rejects.c.row_number, schema.rejects.c.value)
            .where(schema.rejects.c.customer_id == customer)
            .order_by(schema.rejects.c.row_number, schema.rejects.c.reason)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("no_usable_fields", 3, None),
        ("malformed_row", 4, None),
        ("invalid_email", 5, "c@"),
        ("invalid_phone", 5, "nope"),
    ]
    # Bad values inside kept contacts are reported again on a re-import of the same input.
    assert run(engine, records, customer).values_rejected == 2


def test_delete_and_restore(engine: Engine, customer: uuid.UUID) -> None:
    run(engine, [person(1, "a"), person(2, "b")], customer, source=Source.SYNC, system="crm")
    gone = SourceContact(external_id="a", deleted=True, row_number=1)
    result = run(engine, [gone], customer, source=Source.SYNC, system="crm")
    assert (result.deleted, result.unchanged) == (1, 0)
    with engine.connect() as conn:
        assert find_by_email(conn, customer, "person1@example.com") is None
    assert run(engine, [gone], customer, system="crm").unchanged == 1
    restored = run(engine, [person(1, "a")], customer, source=Source.SYNC, system="crm")
    assert (restored.inserted, restored.updated) == (0, 1)
    with engine.connect() as conn:
        contact_id = find_by_email(conn, customer, "person1@example.com")
        assert contact_id is not None
        doc = get_contact(conn, customer, contact_id)
    assert doc is not None and doc["tm_delete"] is None and doc["source"] == "sync"
    assert count_rows(engine, schema.contacts, customer_id=customer) == 2


def test_customers_and_systems_are_isolated(engine: Engine) -> None:
    one, two = uuid.uuid4(), uuid.uuid4()
    run(engine, [person(1, "same-id")], one)
    result = run(engine, [person(1, "same-id")], two)
    assert result.inserted == 1
    assert run(engine, [person(1, "same-id")], one, system="hubspot").inserted == 1
    with engine.connect() as conn:
        a = find_by_phone(conn, one, "+12015550001")
        b = find_by_phone(conn, two, "+12015550001")
        assert a is not None and b is not None and a != b
        assert get_contact(conn, two, a) is None


def test_lookup_prefers_primary_then_oldest(engine: Engine, customer: uuid.UUID) -> None:
    switchboard = "+12015550100"
    older = SourceContact("x1", first_name="Older", phones=[RawPhone("+12015550111"), RawPhone(switchboard)])
    run(engine, [older], customer)
    newer = SourceContact("x2", first_name="Newer", phones=[RawPhone(switchboard)])
    newest = SourceContact("x3", first_name="Newest", phones=[RawPhone(switchboard)])
    run(engine, [newer], customer)
    run(engine, [newest], customer)
    with engine.connect() as conn:
        found = find_by_phone(conn, customer, " 12015550100")
        assert found is not None
        doc = get_contact(conn, customer, found)
    assert doc is not None and doc["first_name"] == "Newer"


class Boom(RuntimeError):
    pass


def test_each_batch_is_one_transaction(engine: Engine, customer: uuid.UUID) -> None:
    def batches() -> Iterator[list[SourceContact | Reject]]:
        yield [person(i, f"id-{i}") for i in range(10)]
        yield [person(i, f"id-{i}") for i in range(10, 20)]
        raise Boom("source failed mid-way")

    with pytest.raises(Boom):
        ingest(engine, batches(), IngestOptions(customer_id=customer, external_system="csv", workers=0))
    assert count_rows(engine, schema.contacts, customer_id=customer) == 20
    with engine.connect() as conn:
        status = conn.execute(
            sa.select(schema.import_runs.c.status).where(schema.import_runs.c.customer_id == customer)
        ).scalar()
    assert status == "failed"


def test_failed_batch_leaves_nothing_behind(
    engine: Engine, customer: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    from contacts_store import bulk

    real_insert = bulk.Writer.insert

    def failing_insert(self: bulk.Writer, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        real_insert(self, table, columns, rows)
        if table == "contact_emails":
            raise Boom("disk full")

    monkeypatch.setattr(bulk.Writer, "insert", failing_insert)
    with pytest.raises(Boom):
        run(engine, [person(1, "a"), person(2, "b")], customer)
    assert count_rows(engine, schema.contacts, customer_id=customer) == 0
    assert count_rows(engine, schema.contact_phone_numbers, customer_id=customer) == 0


def test_overlong_ids_and_tags_are_rejected_not_fatal(engine: Engine, customer: uuid.UUID) -> None:
    long_tag = person(2, "ok")
    long_tag.tags = ["t" * 300, "fine"]
    result = run(engine, [person(1, "x" * 300), long_tag], customer)
    assert (result.inserted, result.rejected, result.values_rejected) == (1, 1, 1)
    assert set(result.reject_reasons) == {"invalid_external_id", "invalid_tag"}


def test_duplicates_that_cancel_out_in_a_batch_write_nothing(engine: Engine, customer: uuid.UUID) -> None:
    x = SourceContact(
        first_name="Xavier", phones=[RawPhone("+1 201 555 0150")], emails=[RawEmail("x@example.com")], row_number=3
    )
    run(engine, [x], customer)
    # Y has no email and matches X's contact by phone; X follows unchanged. Last wins: the store stays as it was.
    y = SourceContact(first_name="Y", phones=[RawPhone("+1 201 555 0150")], row_number=2)
    x_again = SourceContact(
        first_name="Xavier", phones=[RawPhone("+1 201 555 0150")], emails=[RawEmail("x@example.com")], row_number=3
    )
    result = run(engine, [y, x_again], customer)
    assert (result.inserted, result.updated, result.unchanged, result.writes) == (0, 0, 2, 0)
    assert count_rows(engine, schema.contacts, customer_id=customer) == 1
    with engine.connect() as conn:
        found = find_by_phone(conn, customer, "+12015550150")
        assert found is not None
        doc = get_contact(conn, customer, found)
    assert doc is not None and doc["first_name"] == "Xavier"


def index_names(engine: Engine) -> set[str]:
    inspector = sa.inspect(engine)
    return {
        index["name"]
        for table in schema.metadata.sorted_tables
        for index in inspector.get_indexes(table.name)
        if index["name"]
    }


def test_first_load_builds_random_key_indexes_at_the_end(
    engine: Engine, customer: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    from contacts_store import ingest as ingest_module

    seen: list[set[str]] = []
    real_write = ingest_module.Ingestor._write

    def spying_write(self: ingest_module.Ingestor, batch: object) -> None:
        seen.append(index_names(engine))
        real_write(self, batch)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest_module.Ingestor, "_write", spying_write)
    result = run(engine, [person(i, f"id-{i}") for i in range(30)], customer, batch=10)
    assert result.inserted == 30
    assert all(not set(schema.BULK_DEFERRED_INDEXES) & names for names in seen)
    assert set(schema.BULK_DEFERRED_INDEXES) <= index_names(engine)
    # The second import finds a non-empty store and keeps every index throughout.
    seen.clear()
    run(engine, [person(i, f"id-{i}") for i in range(30, 40)], customer, batch=10)
    assert all(set(schema.BULK_DEFERRED_INDEXES) <= names for names in seen)


def test_first_load_restores_indexes_for_records_without_id_and_on_failure(engine: Engine, customer: uuid.UUID) -> None:
    records: list[SourceContact | Reject] = [
        person(1, "a"),
        person(2, email="keyless@example.com"),
        person(3, email="KEYLESS@example.com"),
    ]
    result = run(engine, records, customer, batch=1)
    assert (result.inserted, result.updated) == (2, 1)
    assert set(schema.BULK_DEFERRED_INDEXES) <= index_names(engine)

    def failing() -> Iterator[list[SourceContact | Reject]]:
        yield [person(9, "z")]
        raise Boom("source failed")

    other = uuid.uuid4()
    with engine.begin() as conn:
        for table in reversed(schema.metadata.sorted_tables):
            conn.execute(table.delete())
    with pytest.raises(Boom):
        ingest(engine, failing(), IngestOptions(customer_id=other, external_system="csv"))
    assert set(schema.BULK_DEFERRED_INDEXES) <= index_names(engine)


def test_missing_indexes_are_repaired(engine: Engine) -> None:
    from contacts_store.db import repair_indexes

    with engine.begin() as conn:
        schema.index_named("ix_contact_emails_lookup").drop(conn)
    assert "ix_contact_emails_lookup" not in index_names(engine)
    repair_indexes(engine)
    assert "ix_contact_emails_lookup" in index_names(engine)
