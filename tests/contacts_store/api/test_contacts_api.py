"""Every endpoint's behaviour on SQLite and PostgreSQL: shapes, status codes, the primary rule, lookups, paging."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.contacts_store.api.conftest import Tenant

ERROR_KEYS = {"status", "reason", "message", "request_id"}


def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()["error"]
    assert set(body) == ERROR_KEYS
    return body


def test_create_returns_201_with_the_whole_contact(alice: Tenant) -> None:
    doc = alice.create(
        first_name=" Jane ",
        last_name="Doe",
        company="Acme",
        external_id="sf-1",
        phone_numbers=[{"number": "(415) 555-0123", "type": "mobile"}, {"number": "+44 20 7946 0958", "type": "work"}],
        emails=[{"address": " Jane@Example.COM ", "type": "work"}],
        tags=["vip", "vip", "enterprise"],
    )
    assert doc["customer_id"] == str(alice.customer_id)
    assert (doc["first_name"], doc["source"], doc["external_system"], doc["external_id"]) == (
        "Jane",
        "manual",
        "api",
        "sf-1",
    )
    phones = doc["phone_numbers"]
    assert [(p["number"], p["number_e164"], p["type"], p["is_primary"]) for p in phones] == [
        ("(415) 555-0123", "+14155550123", "mobile", True),
        ("+44 20 7946 0958", "+442079460958", "work", False),
    ]
    assert doc["emails"][0]["address"] == "jane@example.com" and doc["emails"][0]["is_primary"]
    assert doc["tags"] == ["vip", "enterprise"]
    assert doc["tm_create"].endswith("Z") and doc["tm_update"] is None and doc["tm_delete"] is None
    assert alice.get(f"/v1.0/contacts/{doc['id']}").json() == doc


def test_create_is_one_transaction(alice: Tenant) -> None:
    bad = alice.post(
        "/v1.0/contacts",
        json={"first_name": "Half", "phone_numbers": [{"number": "+14155550123"}, {"number": "12"}]},
    )
    assert "12" in error_of(bad, 400)["message"]
    assert alice.get("/v1.0/contacts", params={"q": "Half"}).json()["result"] == []
    assert alice.get("/v1.0/contacts/lookup", params={"phone": "+14155550123"}).status_code == 404


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"phone_numbers": [{"number": "+14155550123", "type": "pager"}]}, "INVALID_JSON_BODY"),
        ({"emails": [{"address": "nobody"}]}, "INVALID_ARGUMENT"),
        ({"source": "telepathy"}, "INVALID_JSON_BODY"),
        ({"first_name": "x", "unknown": 1}, "INVALID_JSON_BODY"),
        (
            {
                "phone_numbers": [
                    {"number": "+14155550123", "is_primary": True},
                    {"number": "+14155550124", "is_primary": True},
                ]
            },
            "INVALID_ARGUMENT",
        ),
    ],
)
def test_bad_create_bodies_are_400(alice: Tenant, body: dict[str, Any], reason: str) -> None:
    assert error_of(alice.post("/v1.0/contacts", json=body), 400)["reason"] == reason


def test_malformed_json_and_bad_ids_are_400(alice: Tenant) -> None:
    bad_json = alice.post("/v1.0/contacts", content=b'{"first_name": ', headers={"Content-Type": "application/json"})
    assert error_of(bad_json, 400)["reason"] == "INVALID_JSON_BODY"
    assert error_of(alice.get("/v1.0/contacts/not-a-uuid"), 400)["reason"] == "INVALID_ID"
    assert error_of(alice.get("/v1.0/contacts", params={"page_size": 0}), 400)["status"] == "INVALID_ARGUMENT"
    assert error_of(alice.get("/v1.0/contacts", params={"page_size": 101}), 400)["status"] == "INVALID_ARGUMENT"
    assert error_of(alice.get("/v1.0/contacts", params={"page_token": "garbage"}), 400)["status"] == "INVALID_ARGUMENT"


def test_external_id_in_use_is_409_until_the_holder_is_deleted(alice: Tenant) -> None:
    first = alice.create(first_name="A", external_id="crm-7")
    assert error_of(alice.post("/v1.0/contacts", json={"external_id": "crm-7"}), 409)["status"] == "ALREADY_EXISTS"
    other_system = alice.post("/v1.0/contacts", json={"external_id": "crm-7", "external_system": "hubspot"})
    assert other_system.status_code == 201
    second = alice.create(first_name="B")
    assert error_of(alice.put(f"/v1.0/contacts/{second['id']}", json={"external_id": "crm-7"}), 409)
    assert alice.delete(f"/v1.0/contacts/{first['id']}").status_code == 200
    assert alice.put(f"/v1.0/contacts/{second['id']}", json={"external_id": "crm-7"}).json()["external_id"] == "crm-7"


def test_put_changes_only_the_fields_sent(alice: Tenant) -> None:
    doc = alice.create(first_name="Jane", last_name="Doe", company="Acme", notes="n")
    changed = alice.put(f"/v1.0/contacts/{doc['id']}", json={"company": "Globex", "notes": None}).json()
    assert (changed["first_name"], changed["last_name"], changed["company"], changed["notes"]) == (
        "Jane",
        "Doe",
        "Globex",
        "",
    )
    assert changed["tm_update"] is not None
    assert error_of(alice.put(f"/v1.0/contacts/{doc['id']}", json={"source": "api"}), 400)


def test_delete_is_soft_and_returns_the_contact(alice: Tenant) -> None:
    doc = alice.create(first_name="Gone", phone_numbers=[{"number": "+14155550199"}])
    deleted = alice.delete(f"/v1.0/contacts/{doc['id']}")
    assert deleted.status_code == 200 and deleted.json()["tm_delete"] is not None
    assert deleted.json()["phone_numbers"][0]["number_e164"] == "+14155550199"
    for response in (
        alice.get(f"/v1.0/contacts/{doc['id']}"),
        alice.delete(f"/v1.0/contacts/{doc['id']}"),
        alice.put(f"/v1.0/contacts/{doc['id']}", json={"first_name": "Back"}),
        alice.post(f"/v1.0/contacts/{doc['id']}/tags", json={"tag": "x"}),
        alice.get("/v1.0/contacts/lookup", params={"phone": "+14155550199"}),
    ):
        assert error_of(response, 404)["reason"] == "CONTACT_NOT_FOUND"


def test_phone_numbers_keep_exactly_one_primary(alice: Tenant) -> None:
    doc = alice.create(first_name="P")
    url = f"/v1.0/contacts/{doc['id']}/phone-numbers"
    first = alice.post(url, json={"number": "415 555 0101", "type": "work"})
    assert first.status_code == 201 and first.json()["phone_numbers"][0]["is_primary"]
    second = alice.post(url, json={"number": "415 555 0102", "type": "mobile", "is_primary": True}).json()
    primary = [p["number_e164"] for p in second["phone_numbers"] if p["is_primary"]]
    assert primary == ["+14155550102"] and second["phone_numbers"][0]["number_e164"] == "+14155550102"
    assert error_of(alice.post(url, json={"number": "(415) 555-0102"}), 409)["status"] == "ALREADY_EXISTS"
    assert error_of(alice.post(url, json={"number": "not a number"}), 400)

    phone_id = next(p["id"] for p in second["phone_numbers"] if p["is_primary"])
    unmarked = alice.put(f"{url}/{phone_id}", json={"is_primary": False}).json()
    assert [p["number_e164"] for p in unmarked["phone_numbers"] if p["is_primary"]] == ["+14155550101"]
    moved = alice.put(f"{url}/{phone_id}", json={"number": "+1 415 555 0109", "type": "home"}).json()
    changed = next(p for p in moved["phone_numbers"] if p["id"] == phone_id)
    assert (changed["number_e164"], changed["type"]) == ("+14155550109", "home")

    other_id = next(p["id"] for p in moved["phone_numbers"] if p["id"] != phone_id)
    after = alice.delete(f"{url}/{other_id}").json()
    assert [(p["id"], p["is_primary"]) for p in after["phone_numbers"]] == [(phone_id, True)]
    assert error_of(alice.delete(f"{url}/{other_id}"), 404)["reason"] == "PHONE_NUMBER_NOT_FOUND"
    assert alice.get("/v1.0/contacts/lookup", params={"phone": "+14155550109"}).json()["id"] == doc["id"]


def test_emails_and_tags(alice: Tenant) -> None:
    doc = alice.create(first_name="E", emails=[{"address": "a@example.com"}])
    url = f"/v1.0/contacts/{doc['id']}"
    added = alice.post(f"{url}/emails", json={"address": "B@Example.com", "type": "personal", "is_primary": True})
    assert added.status_code == 201
    emails = added.json()["emails"]
    assert [(e["address"], e["is_primary"]) for e in emails] == [("b@example.com", True), ("a@example.com", False)]
    email_id = emails[1]["id"]
    assert alice.put(f"{url}/emails/{email_id}", json={"address": "c@example.com"}).json()["emails"][1]["address"] == (
        "c@example.com"
    )
    assert error_of(alice.put(f"{url}/emails/{email_id}", json={"address": "no"}), 400)
    assert alice.delete(f"{url}/emails/{email_id}").json()["emails"][0]["address"] == "b@example.com"

    tagged = alice.post(f"{url}/tags", json={"tag": "vip"})
    assert tagged.status_code == 201 and tagged.json()["tags"] == ["vip"]
    assert alice.post(f"{url}/tags", json={"tag": "vip"}).json()["tags"] == ["vip"]
    assert alice.get("/v1.0/contacts", params={"tag": "vip"}).json()["result"][0]["id"] == doc["id"]
    assert alice.delete(f"{url}/tags/vip").json()["tags"] == []
    assert error_of(alice.delete(f"{url}/tags/vip"), 404)["reason"] == "TAG_NOT_FOUND"


@pytest.mark.parametrize(
    "phone",
    ["+14155550123", "%2B14155550123", "+1 (415) 555-0123", " 14155550123", "4155550123", "001 415 555 0123"],
)
def test_lookup_by_phone_accepts_any_spelling(alice: Tenant, phone: str) -> None:
    doc = alice.create(first_name="L", phone_numbers=[{"number": "415-555-0123"}])
    from urllib.parse import unquote

    found = alice.get("/v1.0/contacts/lookup", params={"phone": unquote(phone)})
    assert found.status_code == 200, found.text
    assert found.json()["id"] == doc["id"]


def test_lookup_with_a_raw_plus_in_the_query_string(alice: Tenant) -> None:
    doc = alice.create(first_name="L", phone_numbers=[{"number": "415-555-0123"}])
    assert alice.get("/v1.0/contacts/lookup?phone=+14155550123").json()["id"] == doc["id"]
    assert alice.get("/v1.0/contacts/lookup?phone=%2B14155550123").json()["id"] == doc["id"]
    assert alice.client.get(f"/v1.0/contacts/lookup?phone=%2B14155550123&token={alice.token}").status_code == 200


def test_lookup_by_email_order_and_errors(alice: Tenant) -> None:
    older = alice.create(first_name="Old", emails=[{"address": "o@example.com"}, {"address": "desk@example.com"}])
    newer = alice.create(first_name="New", emails=[{"address": "n@example.com"}, {"address": "desk@example.com"}])
    # Both hold desk@: it is primary for neither, so the older contact comes first ...
    assert alice.get("/v1.0/contacts/lookup", params={"email": "DESK@example.com"}).json()["id"] == older["id"]
    # ... until it becomes the newer contact's primary address.
    desk = next(e for e in newer["emails"] if e["address"] == "desk@example.com")
    alice.put(f"/v1.0/contacts/{newer['id']}/emails/{desk['id']}", json={"is_primary": True})
    assert alice.get("/v1.0/contacts/lookup", params={"email": "desk@example.com"}).json()["id"] == newer["id"]
    # Phone first, email when the phone matches nothing.
    assert (
        alice.get("/v1.0/contacts/lookup", params={"phone": "+14155550999", "email": "o@example.com"}).json()["id"]
        == older["id"]
    )
    assert error_of(alice.get("/v1.0/contacts/lookup", params={"email": "x@example.com"}), 404)["status"] == "NOT_FOUND"
    assert error_of(alice.get("/v1.0/contacts/lookup"), 400)
    assert error_of(alice.get("/v1.0/contacts/lookup", params={"email": "not an email"}), 400)


def test_list_pages_through_everything_once(alice: Tenant) -> None:
    created = {alice.create(first_name=f"N{i}", company="Initech" if i % 2 else "Hooli")["id"] for i in range(7)}
    seen: list[str] = []
    token = ""
    for _ in range(10):
        params: dict[str, Any] = {"page_size": 3}
        if token:
            params["page_token"] = token
        page = alice.get("/v1.0/contacts", params=params).json()
        seen += [c["id"] for c in page["result"]]
        token = page["next_page_token"]
        if not token:
            break
    assert len(seen) == len(set(seen)) == 7 and set(seen) == created
    assert seen == sorted(seen, reverse=True)  # newest first (ids are time-ordered)
    assert len(alice.get("/v1.0/contacts", params={"q": "initech"}).json()["result"]) == 3
    assert len(alice.get("/v1.0/contacts", params={"q": "ooli"}).json()["result"]) == 4
    assert alice.get("/v1.0/contacts", params={"q": "%"}).json()["result"] == []
    assert len(alice.get("/v1.0/contacts", params={"source": "manual"}).json()["result"]) == 7
    assert alice.get("/v1.0/contacts", params={"source": "sync"}).json()["result"] == []


def test_health_and_unknown_routes(alice: Tenant) -> None:
    assert alice.client.get("/health").json() == {"status": "ok"}
    assert error_of(alice.get("/v1.0/nothing-here"), 404)["reason"] == "NOT_FOUND"
    assert error_of(alice.client.patch(f"/v1.0/contacts/{uuid.uuid4()}", headers=alice.auth), 405)


def test_changing_a_child_into_a_sibling_is_a_conflict(alice: Tenant) -> None:
    doc = alice.create(
        phone_numbers=[{"number": "+14155550101"}, {"number": "+14155550102"}],
        emails=[{"address": "a@example.com"}, {"address": "b@example.com"}],
    )
    url = f"/v1.0/contacts/{doc['id']}"
    phone_id, email_id = doc["phone_numbers"][1]["id"], doc["emails"][1]["id"]
    assert error_of(alice.put(f"{url}/phone-numbers/{phone_id}", json={"number": "(415) 555-0101"}), 409)
    assert error_of(alice.put(f"{url}/emails/{email_id}", json={"address": "A@example.com"}), 409)
    assert alice.get(url).json() == alice.get(url).json() == {**doc, "tm_update": doc["tm_update"]}


def test_nul_characters_are_refused_on_both_stores(alice: Tenant) -> None:
    assert error_of(alice.post("/v1.0/contacts", json={"first_name": "a\x00b"}), 400)
    doc = alice.create(first_name="Ok")
    url = f"/v1.0/contacts/{doc['id']}"
    assert error_of(alice.put(url, json={"notes": "x\x00"}), 400)
    assert error_of(alice.post(f"{url}/phone-numbers", json={"number": "+1 415 555 0100\x00"}), 400)
    assert error_of(alice.post(f"{url}/tags", json={"tag": "x\x00"}), 400)
    assert error_of(alice.delete(f"{url}/tags/x%00"), 400)
    for name in ("q", "tag", "external_id"):
        assert error_of(alice.get("/v1.0/contacts", params={name: "a\x00"}), 400)
    assert alice.get(url).json() == doc


def test_errors_carry_the_headers_http_asks_for(alice: Tenant) -> None:
    unauthenticated = alice.client.get("/v1.0/contacts")
    assert unauthenticated.status_code == 401 and unauthenticated.headers["WWW-Authenticate"] == "Bearer"
    not_allowed = alice.client.patch(f"/v1.0/contacts/{uuid.uuid4()}", headers=alice.auth)
    assert not_allowed.status_code == 405 and not_allowed.headers["Allow"]
    assert not_allowed.headers["X-Request-ID"] == not_allowed.json()["error"]["request_id"]
    strict = alice.post("/v1.0/contacts", json={"emails": [{"address": "c@example.com", "is_primary": "yes"}]})
    assert error_of(strict, 400)
    schema = alice.client.get("/openapi.json").json()
    assert not any("422" in op["responses"] for path in schema["paths"].values() for op in path.values())


def test_a_read_on_a_connection_the_server_dropped_is_retried(alice: Tenant, engine: Any) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL connections can be dropped by the server")
    doc = alice.create(phone_numbers=[{"number": "+14155550123"}])
    assert alice.get("/v1.0/contacts/lookup", params={"phone": "+14155550123"}).status_code == 200
    read_engine = alice.client.app.state.read_engine  # type: ignore[attr-defined]
    with read_engine.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    with engine.connect() as conn:
        conn.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
    found = alice.get("/v1.0/contacts/lookup", params={"phone": "+14155550123"})
    assert found.status_code == 200 and found.json()["id"] == doc["id"]
