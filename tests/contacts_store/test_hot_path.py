"""The lookup hot path builds exactly the document the SQLAlchemy path builds, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from contacts_store import edits, schema
from contacts_store.contacts import documents, find_by_email, find_by_phone
from contacts_store.hot_path import contact_by_email, contact_by_id, contact_by_phone
from contacts_store.records import EmailType, PhoneType


def reference(engine: Engine, customer: uuid.UUID, contact_id: uuid.UUID) -> dict[str, object]:
    with engine.connect() as conn:
        row = conn.execute(sa.select(schema.contacts).where(schema.contacts.c.id == contact_id)).mappings().one()
        return documents(conn, [row])[0]


def test_documents_match_the_reference(engine: Engine) -> None:
    customer = uuid.uuid4()
    with engine.begin() as conn:
        full = edits.create_contact(
            conn,
            customer,
            edits.ContactInput(
                first_name="Ann",
                company="Acme",
                notes="line one\nline two",
                external_id="x-1",
                phone_numbers=[
                    edits.PhoneInput("+1 201 555 0123 ext. 42", PhoneType.WORK),
                    edits.PhoneInput("+1 201 555 0124", PhoneType.MOBILE, is_primary=True),
                    edits.PhoneInput("+44 20 7946 0958", PhoneType.FAX),
                ],
                emails=[edits.EmailInput("b@example.com"), edits.EmailInput("a@example.com", EmailType.PERSONAL)],
                tags=["vip", "enterprise", "alpha"],
            ),
        )
        bare = edits.create_contact(conn, customer, edits.ContactInput(display_name="Bare"))
        edits.update_contact(conn, customer, full, {"job_title": "CTO"})
        gone = edits.create_contact(conn, customer, edits.ContactInput(first_name="Gone"))
        edits.delete_contact(conn, customer, gone)
    with engine.connect() as conn:
        for contact_id in (full, bare):
            assert contact_by_id(conn, customer, contact_id) == reference(engine, customer, contact_id)
        assert contact_by_id(conn, customer, gone) is None
        assert contact_by_id(conn, customer, gone, include_deleted=True) == reference(engine, customer, gone)
        assert contact_by_id(conn, uuid.uuid4(), full) is None  # another customer
        by_phone = contact_by_phone(conn, customer, "(201) 555-0124")
        assert by_phone is not None and by_phone["id"] == str(full) == str(find_by_phone(conn, customer, "2015550124"))
        by_email = contact_by_email(conn, customer, "A@EXAMPLE.COM")
        assert by_email is not None and by_email["id"] == str(find_by_email(conn, customer, "a@example.com"))
        assert contact_by_phone(conn, customer, "+1 201 555 0199") is None
        assert contact_by_email(conn, uuid.uuid4(), "a@example.com") is None
    document = reference(engine, customer, full)
    assert [p["number_e164"] for p in document["phone_numbers"]] == ["+12015550124", "+12015550123", "+442079460958"]  # type: ignore[index]
    assert document["tags"] == ["vip", "enterprise", "alpha"]
