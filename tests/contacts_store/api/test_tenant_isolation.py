"""Every request is scoped to the customer its token belongs to, on every endpoint and method.

One customer must never read, change or learn of another customer's contacts: any attempt on another customer's
contact (or on its phone numbers, emails or tags, even with their real ids) answers 404 with the error envelope,
exactly as for an id that does not exist, never 403 and never a 409 that would confirm a value, and leaves the
contact as it was. Child ids are scoped to their contact too, within one customer. Requests without a valid
token (none, unknown, revoked) answer 401 before anything else happens.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from contacts_store import schema
from contacts_store.api import auth
from contacts_store.api.app import create_app
from contacts_store.tokens import create_token, revoke_token
from tests.contacts_store.api.conftest import Tenant

ALICE_CONTACT = {
    "first_name": "Alice",
    "last_name": "Liddell",
    "company": "Wonderland Ltd",
    "external_id": "crm-alice-1",
    "phone_numbers": [{"number": "+1 415 555 0101", "type": "mobile"}],
    "emails": [{"address": "alice@example.com"}],
    "tags": ["vip"],
}
BOB_CONTACT = {
    "first_name": "Bob",
    "company": "Builders Ltd",
    "phone_numbers": [{"number": "+1 415 555 0202"}],
    "emails": [{"address": "bob@example.com"}],
    "tags": ["vip"],
}
# What a response to someone else must never contain (besides the contact's and its children's ids).
ALICE_VALUES = ("Alice", "Liddell", "Wonderland", "crm-alice-1", "+14155550101", "555 0101", "alice@example.com")
OTHER_NUMBER = "+1 415 555 0177"
OTHER_EMAIL = "other@example.com"


@dataclass
class World:
    """Alice's contact (a phone, an email, a tag) and Bob's own contact, in the same store and app."""

    alice: Tenant
    bob: Tenant
    engine: Engine
    contact: dict[str, Any]
    bob_contact: dict[str, Any]

    def ids(self) -> dict[str, str]:
        """The values the path templates of the tables below refer to."""
        return {
            "contact": self.contact["id"],
            "phone": self.contact["phone_numbers"][0]["id"],
            "email": self.contact["emails"][0]["id"],
            "own": self.bob_contact["id"],
            "own_phone": self.bob_contact["phone_numbers"][0]["id"],
            "own_email": self.bob_contact["emails"][0]["id"],
            "random": str(uuid.uuid4()),
        }

    def secrets(self) -> list[str]:
        """Alice's ids and values, none of which may appear in an answer to Bob."""
        document = self.contact
        ids = [document["id"], document["customer_id"]]
        ids += [child["id"] for child in document["phone_numbers"] + document["emails"]]
        return ids + list(ALICE_VALUES)


@pytest.fixture
def world(alice: Tenant, bob: Tenant, engine: Engine) -> World:
    return World(alice, bob, engine, alice.create(**ALICE_CONTACT), bob.create(**BOB_CONTACT))


def store_rows(engine: Engine, contact_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every stored row of one contact, whichever customer it is filed under (the API only shows its own)."""
    key = uuid.UUID(contact_id)
    c, p, e, t = schema.contacts, schema.contact_phone_numbers, schema.contact_emails, schema.contact_tags
    queries = {
        "contact": sa.select(c).where(c.c.id == key),
        "phones": sa.select(p).where(p.c.contact_id == key).order_by(p.c.id),
        "emails": sa.select(e).where(e.c.contact_id == key).order_by(e.c.id),
        "tags": sa.select(t).where(t.c.contact_id == key).order_by(t.c.tag),
    }
    with engine.connect() as conn:
        return {name: [dict(row) for row in conn.execute(query).mappings()] for name, query in queries.items()}


def assert_error(response: Any, status_code: int, status: str) -> dict[str, str]:
    """The response is the error envelope with this HTTP status and status name; its `error` object."""
    assert response.status_code == status_code, response.text
    body = response.json()
    assert list(body) == ["error"], body
    error: dict[str, str] = body["error"]
    assert sorted(error) == ["message", "reason", "request_id", "status"], body
    assert error["status"] == status, body
    assert all(isinstance(value, str) and value for value in error.values()), body
    assert response.headers["x-request-id"] == error["request_id"]
    return error


def send(client: TestClient, method: str, url: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    return client.request(method, url, json=body, headers=headers or {})


# -- another customer's contact -------------------------------------------------------------------------------------

C = "/v1.0/contacts/{contact}"
CROSS_TENANT = [
    pytest.param("GET", C, None, id="GET contact"),
    pytest.param("PUT", C, {"first_name": "Mallory"}, id="PUT contact"),
    pytest.param("PUT", C, {"first_name": None, "notes": ""}, id="PUT contact clearing fields"),
    pytest.param("PUT", C, {}, id="PUT contact without changes"),
    pytest.param("PUT", C, {"external_id": "crm-alice-1"}, id="PUT contact with its own external_id"),
    pytest.param("DELETE", C, None, id="DELETE contact"),
    pytest.param("POST", C + "/phone-numbers", {"number": OTHER_NUMBER}, id="POST phone-numbers"),
    pytest.param(
        "POST", C + "/phone-numbers", {"number": "+1 415 555 0101"}, id="POST phone-numbers with the number it has"
    ),
    pytest.param(
        "POST", C + "/phone-numbers", {"number": OTHER_NUMBER, "is_primary": True}, id="POST primary phone-numbers"
    ),
    pytest.param("PUT", C + "/phone-numbers/{phone}", {"number": OTHER_NUMBER}, id="PUT its phone-number"),
    pytest.param("PUT", C + "/phone-numbers/{phone}", {"is_primary": False}, id="PUT its phone-number unprimary"),
    pytest.param("PUT", C + "/phone-numbers/{phone}", {}, id="PUT its phone-number without changes"),
    pytest.param("PUT", C + "/phone-numbers/{own_phone}", {"type": "work"}, id="PUT phone-numbers with own phone id"),
    pytest.param("PUT", C + "/phone-numbers/{random}", {"type": "work"}, id="PUT phone-numbers with unknown id"),
    pytest.param("DELETE", C + "/phone-numbers/{phone}", None, id="DELETE its phone-number"),
    pytest.param("DELETE", C + "/phone-numbers/{random}", None, id="DELETE phone-numbers with unknown id"),
    pytest.param("POST", C + "/emails", {"address": OTHER_EMAIL}, id="POST emails"),
    pytest.param("POST", C + "/emails", {"address": "Alice@Example.com"}, id="POST emails with the address it has"),
    pytest.param("POST", C + "/emails", {"address": OTHER_EMAIL, "is_primary": True}, id="POST primary emails"),
    pytest.param("PUT", C + "/emails/{email}", {"address": OTHER_EMAIL}, id="PUT its email"),
    pytest.param("PUT", C + "/emails/{email}", {"type": "personal", "is_primary": True}, id="PUT its email type"),
    pytest.param("PUT", C + "/emails/{own_email}", {"type": "personal"}, id="PUT emails with own email id"),
    pytest.param("PUT", C + "/emails/{random}", {"type": "personal"}, id="PUT emails with unknown id"),
    pytest.param("DELETE", C + "/emails/{email}", None, id="DELETE its email"),
    pytest.param("DELETE", C + "/emails/{random}", None, id="DELETE emails with unknown id"),
    pytest.param("POST", C + "/tags", {"tag": "stolen"}, id="POST tags"),
    pytest.param("POST", C + "/tags", {"tag": "vip"}, id="POST tags with the tag it has"),
    pytest.param("DELETE", C + "/tags/vip", None, id="DELETE its tag"),
    pytest.param("DELETE", C + "/tags/unknown", None, id="DELETE tags with unknown tag"),
    # Alice's child ids on Bob's own contact: found neither there nor anywhere else.
    pytest.param("PUT", "/v1.0/contacts/{own}/phone-numbers/{phone}", {"number": OTHER_NUMBER}, id="PUT own/her phone"),
    pytest.param("DELETE", "/v1.0/contacts/{own}/phone-numbers/{phone}", None, id="DELETE own/her phone"),
    pytest.param("PUT", "/v1.0/contacts/{own}/emails/{email}", {"address": OTHER_EMAIL}, id="PUT own/her email"),
    pytest.param("DELETE", "/v1.0/contacts/{own}/emails/{email}", None, id="DELETE own/her email"),
    # Lookups by her values, in the spellings that find her contact for Alice herself.
    pytest.param("GET", "/v1.0/contacts/lookup?phone=%2B14155550101", None, id="lookup phone E.164"),
    pytest.param("GET", "/v1.0/contacts/lookup?phone=(415) 555-0101", None, id="lookup phone national"),
    pytest.param("GET", "/v1.0/contacts/lookup?phone= 14155550101", None, id="lookup phone + as space"),
    pytest.param("GET", "/v1.0/contacts/lookup?email=alice@example.com", None, id="lookup email"),
    pytest.param("GET", "/v1.0/contacts/lookup?email=ALICE@Example.COM", None, id="lookup email other case"),
    pytest.param(
        "GET", "/v1.0/contacts/lookup?phone=%2B14155550101&email=alice@example.com", None, id="lookup phone and email"
    ),
]


@pytest.mark.parametrize(("method", "path", "body"), CROSS_TENANT)
def test_another_customers_contact_is_not_found_and_unchanged(
    world: World, method: str, path: str, body: dict[str, Any] | None
) -> None:
    url = path.format(**world.ids())
    if "lookup" in url:  # Alice's own lookup finds her contact: the 404 below is the tenant boundary, not the value
        assert world.alice.get(url).json()["id"] == world.contact["id"]
    before = store_rows(world.engine, world.contact["id"]), store_rows(world.engine, world.bob_contact["id"])

    response = send(world.bob.client, method, url, body, world.bob.auth)

    error = assert_error(response, 404, "NOT_FOUND")
    assert error["reason"].endswith("_NOT_FOUND"), error
    for secret in world.secrets():
        assert secret not in response.text, f"the answer to Bob reveals {secret!r}: {response.text}"
    assert (store_rows(world.engine, world.contact["id"]), store_rows(world.engine, world.bob_contact["id"])) == before
    assert world.alice.get(f"/v1.0/contacts/{world.contact['id']}").json() == world.contact
    assert world.bob.get(f"/v1.0/contacts/{world.bob_contact['id']}").json() == world.bob_contact


def test_every_attempt_in_a_row_leaves_the_contact_as_it_was(world: World) -> None:
    """The table above once more, one request after another on the same contact, as an attacker would go."""
    before = store_rows(world.engine, world.contact["id"])
    for param in CROSS_TENANT:
        method, path, body = param.values
        response = send(world.bob.client, str(method), str(path).format(**world.ids()), body, world.bob.auth)
        assert response.status_code == 404, (param.id, response.text)
    assert store_rows(world.engine, world.contact["id"]) == before
    assert world.alice.get(f"/v1.0/contacts/{world.contact['id']}").json() == world.contact


def test_the_query_token_is_scoped_like_the_header(world: World) -> None:
    url = f"/v1.0/contacts/{world.contact['id']}"
    assert_error(world.bob.client.get(url, params={"token": world.bob.token}), 404, "NOT_FOUND")
    assert_error(world.bob.client.delete(url, params={"token": world.bob.token}), 404, "NOT_FOUND")
    assert world.alice.client.get(url, params={"token": world.alice.token}).json() == world.contact


@pytest.mark.parametrize(
    "query",
    [
        pytest.param({}, id="all"),
        pytest.param({"page_size": 1}, id="page_size=1"),
        pytest.param({"tag": "vip"}, id="tag"),
        pytest.param({"external_id": "crm-alice-1"}, id="external_id"),
        pytest.param({"q": "Alice"}, id="q first name"),
        pytest.param({"q": "liddell"}, id="q last name"),
        pytest.param({"q": "Wonderland"}, id="q company"),
        pytest.param({"q": "Ltd"}, id="q shared by both"),
        pytest.param({"source": "manual"}, id="source"),
        pytest.param({"tag": "vip", "external_id": "crm-alice-1", "q": "Alice"}, id="all filters"),
    ],
)
def test_a_customers_list_holds_only_its_own_contacts(world: World, query: dict[str, Any]) -> None:
    alice_page = world.alice.get("/v1.0/contacts", params=query).json()
    assert world.contact["id"] in [item["id"] for item in alice_page["result"]]  # the filter matches her contact

    response = world.bob.get("/v1.0/contacts", params=query)

    assert response.status_code == 200, response.text
    page = response.json()
    assert {item["customer_id"] for item in page["result"]} <= {str(world.bob.customer_id)}
    assert world.contact["id"] not in [item["id"] for item in page["result"]]
    for secret in world.secrets():
        assert secret not in response.text


def test_another_customers_page_token_pages_through_ones_own_contacts_only(world: World) -> None:
    second = world.alice.create(first_name="Alice", last_name="Second")
    first_page = world.alice.get("/v1.0/contacts", params={"page_size": 1}).json()
    assert [item["id"] for item in first_page["result"]] == [second["id"]]
    assert first_page["next_page_token"]

    response = world.bob.get("/v1.0/contacts", params={"page_token": first_page["next_page_token"]})

    assert response.status_code == 200, response.text
    ids = [item["id"] for item in response.json()["result"]]
    assert world.contact["id"] not in ids
    assert second["id"] not in ids
    assert set(ids) <= {world.bob_contact["id"]}


def test_a_shared_number_looks_up_each_customers_own_contact(world: World) -> None:
    """Bob has a contact with Alice's number and address: each lookup answers with the caller's own contact."""
    bobs = world.bob.create(phone_numbers=[{"number": "+14155550101"}], emails=[{"address": "alice@example.com"}])
    for query in ({"phone": "+14155550101"}, {"email": "alice@example.com"}):
        assert world.bob.get("/v1.0/contacts/lookup", params=query).json()["id"] == bobs["id"]
        assert world.alice.get("/v1.0/contacts/lookup", params=query).json()["id"] == world.contact["id"]


def test_uniqueness_is_per_customer(world: World) -> None:
    """Bob can use Alice's external id: a 409 here would tell him it exists in her store."""
    created = world.bob.post("/v1.0/contacts", json={"first_name": "Bob", "external_id": "crm-alice-1"})
    assert created.status_code == 201, created.text
    # Now it is in use in his own store, and only that conflicts.
    changed = world.bob.put(f"/v1.0/contacts/{world.bob_contact['id']}", json={"external_id": "crm-alice-1"})
    assert assert_error(changed, 409, "ALREADY_EXISTS")["reason"] == "ALREADY_EXISTS"
    assert world.alice.get(f"/v1.0/contacts/{world.contact['id']}").json() == world.contact


# -- another contact of the same customer ---------------------------------------------------------------------------

B = "/v1.0/contacts/{other}"
CROSS_CONTACT = [
    pytest.param("PUT", B + "/phone-numbers/{phone}", {"number": OTHER_NUMBER}, "PHONE_NUMBER", id="PUT phone"),
    pytest.param("PUT", B + "/phone-numbers/{phone}", {"is_primary": True}, "PHONE_NUMBER", id="PUT phone primary"),
    pytest.param("PUT", B + "/phone-numbers/{phone}", {}, "PHONE_NUMBER", id="PUT phone without changes"),
    pytest.param("DELETE", B + "/phone-numbers/{phone}", None, "PHONE_NUMBER", id="DELETE phone"),
    pytest.param("PUT", B + "/emails/{email}", {"address": OTHER_EMAIL}, "EMAIL", id="PUT email"),
    pytest.param("PUT", B + "/emails/{email}", {"is_primary": True}, "EMAIL", id="PUT email primary"),
    pytest.param("PUT", B + "/emails/{email}", {}, "EMAIL", id="PUT email without changes"),
    pytest.param("DELETE", B + "/emails/{email}", None, "EMAIL", id="DELETE email"),
    pytest.param("DELETE", B + "/tags/only-first", None, "TAG", id="DELETE tag"),
]


@pytest.mark.parametrize(("method", "path", "body", "what"), CROSS_CONTACT)
def test_a_child_of_another_contact_is_not_found_on_this_contacts_url(
    world: World, method: str, path: str, body: dict[str, Any] | None, what: str
) -> None:
    alice = world.alice
    first = alice.post(f"/v1.0/contacts/{world.contact['id']}/tags", json={"tag": "only-first"}).json()
    other = alice.create(
        first_name="Other",
        phone_numbers=[{"number": "+1 415 555 0303"}],
        emails=[{"address": "other.contact@example.com"}],
    )
    url = path.format(**world.ids(), other=other["id"])
    before = store_rows(world.engine, first["id"]), store_rows(world.engine, other["id"])

    response = send(alice.client, method, url, body, alice.auth)

    assert assert_error(response, 404, "NOT_FOUND")["reason"] == f"{what}_NOT_FOUND"
    assert (store_rows(world.engine, first["id"]), store_rows(world.engine, other["id"])) == before
    assert alice.get(f"/v1.0/contacts/{first['id']}").json() == first
    assert alice.get(f"/v1.0/contacts/{other['id']}").json() == other


# -- no valid token -------------------------------------------------------------------------------------------------

ENDPOINTS = [
    pytest.param("GET", "/v1.0/contacts", None, id="GET contacts"),
    pytest.param("POST", "/v1.0/contacts", {"first_name": "Eve"}, id="POST contacts"),
    pytest.param("GET", "/v1.0/contacts/lookup?phone=%2B14155550101", None, id="GET lookup"),
    pytest.param("GET", C, None, id="GET contact"),
    pytest.param("PUT", C, {"first_name": "Eve"}, id="PUT contact"),
    pytest.param("DELETE", C, None, id="DELETE contact"),
    pytest.param("POST", C + "/phone-numbers", {"number": OTHER_NUMBER}, id="POST phone-numbers"),
    pytest.param("PUT", C + "/phone-numbers/{phone}", {"number": OTHER_NUMBER}, id="PUT phone-number"),
    pytest.param("DELETE", C + "/phone-numbers/{phone}", None, id="DELETE phone-number"),
    pytest.param("POST", C + "/emails", {"address": OTHER_EMAIL}, id="POST emails"),
    pytest.param("PUT", C + "/emails/{email}", {"address": OTHER_EMAIL}, id="PUT email"),
    pytest.param("DELETE", C + "/emails/{email}", None, id="DELETE email"),
    pytest.param("POST", C + "/tags", {"tag": "stolen"}, id="POST tags"),
    pytest.param("DELETE", C + "/tags/vip", None, id="DELETE tag"),
]
# Each: the headers sent, a ?token= to add ("{token}" is a valid one), and the reason the answer gives.
CREDENTIALS = [
    ({}, "", "AUTHENTICATION_REQUIRED"),
    ({"Authorization": "Bearer "}, "", "AUTHENTICATION_REQUIRED"),
    ({"Authorization": "Basic YWxpY2U6c2VjcmV0"}, "", "AUTHENTICATION_REQUIRED"),
    ({"Authorization": "Bearer cs_not-a-token"}, "", "INVALID_TOKEN"),
    ({}, "cs_not-a-token", "INVALID_TOKEN"),
    ({"Authorization": "Bearer cs_not-a-token"}, "{token}", "INVALID_TOKEN"),  # the header wins over ?token=
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_without_a_valid_token_every_endpoint_answers_401(
    world: World, method: str, path: str, body: dict[str, Any] | None
) -> None:
    before = store_rows(world.engine, world.contact["id"])
    for headers, query_token, reason in CREDENTIALS:
        url = path.format(**world.ids())
        if query_token:
            url += ("&" if "?" in url else "?") + "token=" + query_token.format(token=world.alice.token)

        response = send(world.alice.client, method, url, body, headers)

        sent = f"{method} {url} with {headers}"
        assert response.status_code == 401, (sent, response.text)
        assert assert_error(response, 401, "UNAUTHENTICATED")["reason"] == reason, sent
        for secret in world.secrets():
            assert secret not in response.text, sent
    assert store_rows(world.engine, world.contact["id"]) == before


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_a_revoked_token_is_refused_on_every_endpoint(
    world: World, method: str, path: str, body: dict[str, Any] | None
) -> None:
    """Revoked before its first use, so no app has it cached."""
    with world.engine.begin() as conn:
        token, info = create_token(conn, world.alice.customer_id, "revoked")
        assert revoke_token(conn, info.id)
    before = store_rows(world.engine, world.contact["id"])

    response = send(world.alice.client, method, path.format(**world.ids()), body, {"Authorization": f"Bearer {token}"})

    assert assert_error(response, 401, "UNAUTHENTICATED")["reason"] == "INVALID_TOKEN"
    assert store_rows(world.engine, world.contact["id"]) == before


class Clock:
    """Stands in for `time` in the auth module, so that the token cache expires without waiting for it."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(auth, "time", clock)
    return clock


def test_a_token_revoked_after_use_is_refused_once_no_cache_holds_it(world: World, db_url: str, clock: Clock) -> None:
    with world.engine.begin() as conn:
        token, info = create_token(conn, world.alice.customer_id, "revoked later")
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/v1.0/contacts/{world.contact['id']}"
    assert world.alice.client.get(url, headers=headers).status_code == 200  # now cached by this app
    with world.engine.begin() as conn:
        assert revoke_token(conn, info.id)

    with TestClient(create_app(db_url, region="US"), raise_server_exceptions=False) as fresh:
        assert_error(fresh.get(url, headers=headers), 401, "UNAUTHENTICATED")
        assert_error(fresh.put(url, headers=headers, json={"first_name": "Eve"}), 401, "UNAUTHENTICATED")

    # The app that verified it before may accept it for up to CACHE_SECONDS (as documented), no longer.
    clock.now += auth.CACHE_SECONDS + 1
    assert_error(world.alice.client.get(url, headers=headers), 401, "UNAUTHENTICATED")
    assert_error(world.alice.client.delete(url, headers=headers), 401, "UNAUTHENTICATED")
    assert world.alice.get(url).json() == world.contact
