"""Quality measures and masking: what the checks and run reports show must be right and must not leak."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.engine import Engine

from contacts_store.ingest import IngestOptions, ingest
from contacts_store.quality import (
    duplicate_external_ids,
    live_contacts,
    mask_quoted,
    mask_value,
    reject_reasons,
    shared_phone_numbers,
)
from contacts_store.records import RawEmail, RawPhone, SourceContact


@pytest.mark.parametrize(
    ("value", "field", "masked"),
    [
        ("+1 (201) 555-0123", "phone", "+• (•••) •••-••23"),
        ("12", "phone", "12"),
        ("jane.doe@example.com", "email", "j••••••@example.com"),
        ("@example.com", "email", "@example.com"),
        ("n/a", "phone", "n••"),
        ("", "phone", ""),
        (None, "phone", None),
        ("Call 555 0100 ext 12", None, "Call ••• •••• ext 12"),
    ],
)
def test_mask_value(value: str | None, field: str | None, masked: str | None) -> None:
    assert mask_value(value, field) == masked


def test_mask_quoted_keeps_the_wording() -> None:
    message = "no name, valid phone or valid email (phone '555-0199': invalid phone: too short; at most 255)"
    assert mask_quoted(message) == (
        "no name, valid phone or valid email (phone '•••-••99': invalid phone: too short; at most 255)"
    )


def person(external_id: str, phone: str, email: str = "", row: int = 1) -> SourceContact:
    return SourceContact(
        external_id=external_id,
        first_name="P" + external_id,
        phones=[RawPhone(phone, "work")] if phone else [],
        emails=[RawEmail(email, "work")] if email else [],
        row_number=row,
    )


def test_counts_and_shared_numbers_per_customer(engine: Engine) -> None:
    mine, other = uuid.uuid4(), uuid.uuid4()
    board = "+1 201 555 0100"
    ingest(engine, [[person(str(i), board, row=i) for i in range(5)]], IngestOptions(mine, "crm"))
    ingest(engine, [[person(str(i), board, row=i) for i in range(9)]], IngestOptions(other, "crm"))
    with engine.connect() as conn:
        assert live_contacts(conn, mine) == 5 and live_contacts(conn, mine, "crm") == 5
        assert live_contacts(conn, mine, "csv") == 0
        total, top = shared_phone_numbers(conn, mine, more_than=4)
        assert total == 1 and [(k.key, k.contacts) for k in top] == [("+12015550100", 5)]
        assert shared_phone_numbers(conn, mine, more_than=5) == (0, [])
        assert duplicate_external_ids(conn, mine, "crm") == (0, [])


def test_reject_reasons_are_ranked_with_a_first_example(engine: Engine) -> None:
    customer = uuid.uuid4()
    records = [
        person("1", "12", "a@example.com", row=2),
        person("2", "34", "b@example.com", row=3),
        person("3", "+12015550123", "not-an-address", row=4),
    ]
    result = ingest(engine, [records], IngestOptions(customer, "crm"))
    with engine.connect() as conn:
        reasons = reject_reasons(conn, result.run_id)
    assert [(r.reason, r.count, r.row_number, r.example) for r in reasons] == [
        ("invalid_phone", 2, 2, "12"),
        ("invalid_email", 1, 4, "n••••••"),
    ]
