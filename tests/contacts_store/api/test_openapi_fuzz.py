"""Property-based requests against the app's own OpenAPI document, in process, on a SQLite store.

Clients are generated from that document, so it has to tell the truth: whatever a client sends, every operation
answers without a server error, only with a status code it documents, and with a body that matches the schema
documented for that status. Schemathesis generates the requests (valid and invalid ones) from the document.

Generated ids are random UUIDs and would only ever reach the 404 branch, so about half of the generated ids
(and lookup values) are swapped for those of a contact created just before the request: the 200 and 201 bodies
are checked too.
"""

from __future__ import annotations

import os
import tempfile
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.engine import Engine

from contacts_store import edits
from contacts_store.api.app import create_app
from contacts_store.contacts import get_contact
from contacts_store.db import create_engine, upgrade
from contacts_store.tokens import create_token

# The engine connects on first use, so nothing touches this file before the `store` fixture migrates it.
STORE_URL = f"sqlite:///{Path(tempfile.gettempdir()) / f'contacts-openapi-fuzz-{os.getpid()}-{uuid.uuid4().hex}.db'}"
SEED_PHONE = "+1 415 555 0199"  # not the document's example number, which POST phone-numbers then adds
SEED_EMAIL = "seed@example.com"
SEED_TAG = "vip"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


app = create_app(STORE_URL, region="US")
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@dataclass
class Store:
    engine: Engine
    customer_id: uuid.UUID
    token: str

    def seed(self) -> dict[str, Any]:
        """A new live contact with a phone number, an email and a tag; its document."""
        data = edits.ContactInput(
            first_name="Seed",
            last_name="Contact",
            company="Example Ltd",
            phone_numbers=[edits.PhoneInput(SEED_PHONE)],
            emails=[edits.EmailInput(SEED_EMAIL)],
            tags=[SEED_TAG],
        )
        with self.engine.begin() as conn:
            contact_id = edits.create_contact(conn, self.customer_id, data, "US")
            document = get_contact(conn, self.customer_id, contact_id)
        assert document is not None
        return document


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    upgrade(STORE_URL)
    engine = create_engine(STORE_URL)
    customer = uuid.uuid4()
    with engine.begin() as conn:
        token, _ = create_token(conn, customer, "openapi fuzz")
    store = Store(engine, customer, token)
    store.seed()
    yield store
    engine.dispose()
    app.state.engine.dispose()
    database = Path(STORE_URL.removeprefix("sqlite:///"))
    for path in (database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")):
        path.unlink(missing_ok=True)


def _swap(value: Any) -> bool:
    """Whether to replace a generated value by a real one: deterministic, so that Hypothesis can replay a case."""
    return zlib.crc32(repr(value).encode()) % 2 == 0


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _aim_at_a_real_contact(case: schemathesis.Case, store: Store) -> None:
    """Replace about half of the well-formed generated ids and lookup values by those of a new contact."""
    path = case.path_parameters
    contact_id = path.get("contact_id") if path else None
    if contact_id is not None and _is_uuid(contact_id) and _swap(contact_id):
        contact = store.seed()
        path["contact_id"] = contact["id"]
        if _is_uuid(path.get("phone_number_id")):
            path["phone_number_id"] = contact["phone_numbers"][0]["id"]
        if _is_uuid(path.get("email_id")):
            path["email_id"] = contact["emails"][0]["id"]
        if "tag" in path and _swap(path["tag"]):
            path["tag"] = SEED_TAG
    if case.path.endswith("/lookup") and case.query:
        swapped = False
        for name, real in (("phone", SEED_PHONE), ("email", SEED_EMAIL)):
            if isinstance(case.query.get(name), str) and _swap(case.query[name]):
                case.query[name] = real
                swapped = True
        if swapped:
            store.seed()


@schema.parametrize()
@hypothesis.settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.too_slow, hypothesis.HealthCheck.filter_too_much],
)
def test_every_operation_answers_as_documented(case: schemathesis.Case, store: Store) -> None:
    _aim_at_a_real_contact(case, store)
    response = case.call(headers={"Authorization": f"Bearer {store.token}"})
    assert response.status_code != 401, response.text  # every case is authenticated
    case.validate_response(response, checks=CHECKS)
