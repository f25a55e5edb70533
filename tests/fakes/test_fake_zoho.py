"""The fake Zoho CRM, driven with plain `requests` the way the connector drives it."""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.fakes.hubspot import _BAD_EMAILS, _BAD_PHONES
from tests.fakes.server import LoggedRequest
from tests.fakes.zoho import CONTACTS_PATH, DELETED_PATH, TOKEN_PATH, FakeZoho

T0 = datetime(2024, 1, 1, tzinfo=UTC)
IST = timezone(timedelta(hours=5, minutes=30))
CLIENT_ID, SECRET, REFRESH = "1000.CLIENT", "s3cret", "1000.refresh.token"
ZOHO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+05:30")
JSON_TYPE = "application/json;charset=UTF-8"
FIELDS = "First_Name,Last_Name,Email,Phone,Modified_Time"
MINT = {"grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": SECRET, "refresh_token": REFRESH}


@pytest.fixture
def fake() -> Iterator[FakeZoho]:
    with FakeZoho() as fake:
        fake.set_clock(T0)
        fake.add_client(CLIENT_ID, SECRET, REFRESH)
        yield fake
    assert not fake.server_errors, "\n".join(fake.server_errors)


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


class Api:
    """A minimal client: one token, GETs with Zoho's auth header and an optional If-Modified-Since."""

    def __init__(self, fake: FakeZoho, http: requests.Session) -> None:
        self.fake, self.http = fake, http
        self.token = mint(fake, http).json()["access_token"]

    def get(
        self, path: str = CONTACTS_PATH, *, since: str | None = None, token: str | None = None, **params: Any
    ) -> requests.Response:
        headers = {"Authorization": f"Zoho-oauthtoken {token or self.token}"}
        if since is not None:
            headers["If-Modified-Since"] = since
        return self.http.get(self.fake.url + path, params=params, headers=headers, timeout=5)

    def list_all(self, **params: Any) -> list[str]:
        """Every id of a listing: by page up to the 2,000th record, then by next_page_token, as the connector."""
        ids: list[str] = []
        response = self.get(page=1, **params)
        while response.status_code == 200:
            body = response.json()
            ids += [r["id"] for r in body["data"]]
            if not body["info"]["more_records"]:
                break
            info = body["info"]
            if info.get("page") and len(ids) + info["per_page"] <= 2000 and "page_token" not in response.url:
                response = self.get(page=info["page"] + 1, **params)
            else:
                response = self.get(page_token=info["next_page_token"], **params)
        return ids


@pytest.fixture
def api(fake: FakeZoho, http: requests.Session) -> Api:
    return Api(fake, http)


def mint(fake: FakeZoho, http: requests.Session, **overrides: str) -> requests.Response:
    return http.post(fake.url + TOKEN_PATH, data={**MINT, **overrides}, timeout=5)


def error(code: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """Zoho's error envelope without the message (asserted separately where the text matters)."""
    return {"code": code, "details": details or {}, "status": "error"}


def without_message(response: requests.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    body.pop("message")
    return body


def ist(moment: datetime) -> str:
    return moment.astimezone(IST).isoformat()


def untimed(record: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in record.items() if not name.endswith("_Time")}


def statuses(fake: FakeZoho, since: int) -> list[int | None]:
    return [r.status for r in fake.requests[since:]]


# -- OAuth ---------------------------------------------------------------------------------------------------------


def test_token_from_a_form_body_or_the_query_string(fake: FakeZoho, http: requests.Session) -> None:
    response = mint(fake, http)
    assert response.status_code == 200 and response.headers["Content-Type"] == JSON_TYPE
    body = response.json()
    assert re.fullmatch(r"1000\.[0-9a-f]{32}\.[0-9a-f]{32}", body["access_token"])
    assert body == {
        "access_token": body["access_token"],
        "expires_in": 3600,
        "api_domain": fake.url,
        "token_type": "Bearer",
        "scope": "ZohoCRM.modules.contacts.READ",
    }
    fake.api_domain = "https://www.zohoapis.eu"
    by_query = http.post(fake.url + TOKEN_PATH, params=MINT, timeout=5).json()
    assert by_query["api_domain"] == "https://www.zohoapis.eu" and by_query["access_token"] != body["access_token"]
    assert fake.token_requests == 2 and fake.api_requests == 0
    logged = fake.requests[-1]
    assert logged.method == "POST" and logged.params["grant_type"] == ["refresh_token"] and logged.status == 200


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"grant_type": "authorization_code"}, "unsupported_grant_type"),
        ({"grant_type": ""}, "unsupported_grant_type"),
        ({"client_id": "1000.OTHER"}, "invalid_client"),
        ({"client_secret": "wrong"}, "invalid_client"),
        ({"refresh_token": "1000.unknown"}, "invalid_code"),
    ],
)
def test_token_failures_are_http_200_error_bodies(
    fake: FakeZoho, http: requests.Session, overrides: dict[str, str], expected: str
) -> None:
    response = mint(fake, http, **overrides)
    assert response.status_code == 200 and response.json() == {"error": expected}


def test_a_revoked_or_foreign_refresh_token_is_invalid_code_and_kills_its_access_tokens(
    fake: FakeZoho, api: Api, http: requests.Session
) -> None:
    fake.add_client("1000.OTHER", "other", "1000.other.refresh")
    assert mint(fake, http, refresh_token="1000.other.refresh").json() == {"error": "invalid_code"}
    assert api.get(fields="Email").status_code == 204
    fake.revoke_refresh_token(REFRESH)
    assert mint(fake, http).json() == {"error": "invalid_code"}
    assert without_message(api.get(fields="Email")) == error("INVALID_TOKEN")


def test_ten_tokens_per_refresh_token_per_ten_minutes(fake: FakeZoho, http: requests.Session) -> None:
    assert all("access_token" in mint(fake, http).json() for _ in range(10))
    refused = mint(fake, http)
    assert refused.status_code == 400
    assert refused.json() == {
        "error_description": "You have made too many requests continuously. Please try again after some time.",
        "error": "Access Denied",
        "status": "failure",
    }
    fake.advance(599)
    assert mint(fake, http).status_code == 400
    fake.advance(1)  # the first token was minted 600 s ago: the window has room again
    assert "access_token" in mint(fake, http).json()


def test_the_sixteenth_active_token_displaces_the_oldest(fake: FakeZoho, api: Api, http: requests.Session) -> None:
    fake.token_rate_limit = None
    tokens = [api.token] + [mint(fake, http).json()["access_token"] for _ in range(14)]
    assert all(api.get(fields="Email", token=t).status_code == 204 for t in tokens)
    tokens.append(mint(fake, http).json()["access_token"])
    assert api.get(fields="Email", token=tokens[0]).json() == {
        "code": "INVALID_TOKEN",
        "details": {},
        "message": "invalid oauth token",
        "status": "error",
    }
    assert all(api.get(fields="Email", token=t).status_code == 204 for t in tokens[1:])


def test_tokens_expire_on_the_org_clock_and_on_demand(fake: FakeZoho, api: Api, http: requests.Session) -> None:
    fake.advance(3599)
    assert api.get(fields="Email").status_code == 204
    fake.advance(1)
    assert api.get(fields="Email").status_code == 401
    fresh = mint(fake, http).json()["access_token"]
    assert api.get(fields="Email", token=fresh).status_code == 204
    fake.expire_tokens()
    assert without_message(api.get(fields="Email", token=fresh)) == error("INVALID_TOKEN")


def test_authentication_failures(fake: FakeZoho, api: Api, http: requests.Session) -> None:
    failure = {"code": "AUTHENTICATION_FAILURE", "details": {}, "message": "Authentication failed", "status": "error"}
    url = fake.url + CONTACTS_PATH + "?fields=Email"
    assert http.get(url, timeout=5).json() == failure
    response = http.get(url, headers={"Authorization": f"Bearer {api.token}"}, timeout=5)
    assert response.status_code == 401 and response.json() == failure
    unknown = api.get(fields="Email", token="1000.nope.nope")
    assert unknown.status_code == 401 and without_message(unknown) == error("INVALID_TOKEN")


# -- the list ------------------------------------------------------------------------------------------------------


def test_fields_are_mandatory_and_at_most_fifty(fake: FakeZoho, api: Api) -> None:
    fake.add(First_Name="Zoë", Last_Name="Muñoz")
    missing = api.get()
    assert missing.status_code == 400 and missing.json() == {
        "code": "REQUIRED_PARAM_MISSING",
        "details": {"param_name": "fields"},
        "message": "One of the expected parameter is missing",
        "status": "error",
    }
    assert api.get(fields="").status_code == 400
    too_many = api.get(fields=",".join(f"Field_{i}" for i in range(51)))
    assert too_many.status_code == 400
    assert without_message(too_many) == error("LIMIT_EXCEEDED", {"limit": 50, "param_name": "fields"})
    assert api.get(fields=",".join(f"Field_{i}" for i in range(50))).json()["data"] == [{"id": fake.ids()[0]}]


def test_records_carry_the_requested_fields_and_id_with_datetimes_in_the_org_offset(fake: FakeZoho, api: Api) -> None:
    contact = fake.add(
        First_Name="Zoë", Last_Name="Muñoz", Email="zoe@example.com", Account_Name="Acme Inc.", Tag=["VIP"]
    )
    response = api.get(fields="Full_Name,Email,Account_Name,Tag,Mobile,No_Such_Field,Modified_Time,Created_Time")
    assert response.status_code == 200 and response.headers["Content-Type"] == JSON_TYPE
    (record,) = response.json()["data"]
    assert record == {
        "Full_Name": "Zoë Muñoz",
        "Email": "zoe@example.com",
        "Account_Name": {"name": "Acme Inc.", "id": record["Account_Name"]["id"]},
        "Tag": [{"name": "VIP", "id": record["Tag"][0]["id"]}],
        "Mobile": None,
        "Modified_Time": "2024-01-01T05:30:00+05:30",
        "Created_Time": "2024-01-01T05:30:00+05:30",
        "id": contact,
    }
    fake.tz_offset = timedelta(hours=-5)
    (record,) = api.get(fields="Modified_Time").json()["data"]
    assert record["Modified_Time"] == "2023-12-31T19:00:00-05:00"


@pytest.mark.parametrize(
    ("params", "param_name"),
    [
        ({"per_page": "0"}, "per_page"),
        ({"per_page": "201"}, "per_page"),
        ({"per_page": "ten"}, "per_page"),
        ({"page": "0"}, "page"),
        ({"sort_by": "Email"}, "sort_by"),
        ({"sort_order": "up"}, "sort_order"),
    ],
)
def test_invalid_parameters(api: Api, params: dict[str, str], param_name: str) -> None:
    response = api.get(fields="Email", **params)
    assert response.status_code == 400
    assert without_message(response) == error("INVALID_DATA", {"param_name": param_name})


def test_page_and_page_token_are_exclusive(fake: FakeZoho, api: Api) -> None:
    fake.generate(3)
    token = api.get(fields="Email", per_page=1).json()["info"]["next_page_token"]
    response = api.get(fields="Email", page=2, page_token=token)
    assert response.status_code == 400 and response.json() == {
        "code": "AMBIGUITY_DURING_PROCESSING",
        "details": {"ambiguity_due_to": ["page", "page_token"]},
        "message": "page and page_token cannot be given together",
        "status": "error",
    }


def test_no_records_is_204_with_an_empty_body(fake: FakeZoho, api: Api) -> None:
    response = api.get(fields="Email")
    assert response.status_code == 204 and response.content == b"" and "Content-Type" not in response.headers
    fake.generate(3)
    past_the_end = api.get(fields="Email", per_page=2, page=3)
    assert past_the_end.status_code == 204 and past_the_end.content == b""


def test_sort_orders(fake: FakeZoho, api: Api) -> None:
    tied = [fake.add(Last_Name="T", stamp=T0) for _ in range(3)]
    listed = api.get(fields="Last_Name", sort_by="Modified_Time", sort_order="asc").json()["data"]
    assert [r["id"] for r in listed] == tied[::-1]  # equal stamps by id descending, as the recorded response has them
    for contact in tied:
        fake.purge(contact)
    a = fake.add(Last_Name="A", stamp=T0 + timedelta(seconds=30))
    b = fake.add(Last_Name="B", stamp=T0 + timedelta(seconds=10))
    c = fake.add(Last_Name="C", stamp=T0 + timedelta(seconds=20))
    fake.update(a, stamp=T0 + timedelta(seconds=5), Title="CEO")

    def ids(**params: str) -> list[str]:
        return [r["id"] for r in api.get(fields="Last_Name", **params).json()["data"]]

    body = api.get(fields="Last_Name").json()
    assert (body["info"]["sort_by"], body["info"]["sort_order"]) == ("id", "desc")
    assert [r["id"] for r in body["data"]] == [c, b, a]
    assert ids(sort_order="asc") == [a, b, c]
    assert ids(sort_by="Modified_Time", sort_order="asc") == [a, b, c]
    assert ids(sort_by="Created_Time", sort_order="asc") == [b, c, a]
    assert ids(sort_by="Created_Time") == [a, c, b]
    since = ist(T0 + timedelta(seconds=10))
    assert [r["id"] for r in api.get(fields="Last_Name", since=since, sort_order="asc").json()["data"]] == [b, c]
    assert [r["id"] for r in api.get(fields="Last_Name", since=since, sort_by="Created_Time").json()["data"]] == [c, b]


@pytest.mark.parametrize("sort_by", ["id", "Created_Time", "Modified_Time"])
@pytest.mark.parametrize("sort_order", ["asc", "desc"])
@pytest.mark.parametrize("since", [None, T0 + timedelta(seconds=4)])
def test_paging_matches_a_brute_force_order(
    fake: FakeZoho, api: Api, sort_by: str, sort_order: str, since: datetime | None
) -> None:
    """Many equal stamps, pages cutting through runs of them, and the unindexed id/Created_Time + since orders."""
    rnd = random.Random(f"{sort_by}{sort_order}{since}")
    for _ in range(60):
        contact = fake.add(Last_Name="X", stamp=T0 + timedelta(seconds=rnd.randrange(10)))
        if rnd.random() < 0.5:
            fake.update(contact, stamp=T0 + timedelta(seconds=rnd.randrange(10)), Title="Y")
        if rnd.random() < 0.1:
            fake.delete(contact)
    records = [fake.get(i) for i in fake.ids()]
    if since is not None:
        records = [r for r in records if datetime.fromisoformat(r["Modified_Time"]) >= since]

    def stamp(record: dict[str, Any]) -> tuple[datetime, int]:
        return datetime.fromisoformat(record[sort_by]), int(record["id"])

    if sort_by == "id":
        expected = sorted((r["id"] for r in records), key=int, reverse=sort_order == "desc")
    elif sort_order == "asc":
        expected = [r["id"] for r in sorted(records, key=lambda r: (stamp(r)[0], -stamp(r)[1]))]
    else:
        expected = [r["id"] for r in sorted(records, key=stamp, reverse=True)]
    params: dict[str, Any] = {"fields": "Last_Name", "sort_by": sort_by, "sort_order": sort_order, "per_page": 7}
    seen: list[str] = []
    page = 1
    response = api.get(since=ist(since) if since else None, page=page, **params)
    while response.status_code == 200:
        info = response.json()["info"]
        seen += [r["id"] for r in response.json()["data"]]
        if not info["more_records"]:
            break
        page += 1
        if page <= 3:
            response = api.get(since=ist(since) if since else None, page=page, **params)
        else:
            response = api.get(since=ist(since) if since else None, page_token=info["next_page_token"], **params)
    assert seen == expected


def test_page_stops_at_2000_records_and_page_token_goes_on(fake: FakeZoho, api: Api) -> None:
    ids = fake.generate(2600)
    params: dict[str, Any] = {"fields": FIELDS, "sort_by": "Modified_Time", "sort_order": "asc", "per_page": 200}
    seen: list[str] = []
    for page in range(1, 11):
        body = api.get(page=page, **params).json()
        assert body["info"]["page"] == page and body["info"]["more_records"] is True
        assert body["info"]["next_page_token"] and ZOHO_TIME.fullmatch(body["info"]["page_token_expiry"])
        assert body["info"]["previous_page_token"] is None
        seen += [r["id"] for r in body["data"]]
    refused = api.get(page=11, **params)
    assert refused.status_code == 400 and refused.json() == {
        "code": "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
        "details": {"limit": 2000},
        "message": "You can only get the first 2000 records without using page_token param",
        "status": "error",
    }
    assert api.get(fields="Email", per_page=100, page=20).status_code == 200
    assert api.get(fields="Email", per_page=100, page=21).status_code == 400

    token = body["info"]["next_page_token"]
    pages = []
    while token:
        body = api.get(page_token=token, **params).json()
        pages.append(body["info"])
        seen += [r["id"] for r in body["data"]]
        token = body["info"]["next_page_token"]
    assert seen == ids
    assert [(p["page"], p["count"], p["more_records"]) for p in pages] == [
        (11, 200, True),
        (12, 200, True),
        (13, 200, False),
    ]
    assert pages[-1]["page_token_expiry"] is None and pages[0]["previous_page_token"]
    assert api.list_all(**params) == ids


def test_page_token_keeps_its_per_page_unless_the_request_gives_one(fake: FakeZoho, api: Api) -> None:
    ids = fake.generate(10)
    first = api.get(fields="Email", sort_order="asc", per_page=3).json()
    token = first["info"]["next_page_token"]
    assert [r["id"] for r in api.get(fields="Email", sort_order="asc", page_token=token).json()["data"]] == ids[3:6]
    second = api.get(fields="Email", sort_order="asc", page_token=token, per_page=5).json()
    assert [r["id"] for r in second["data"]] == ids[3:8] and second["info"]["per_page"] == 5


def test_page_token_is_an_offset_into_the_live_ordering(fake: FakeZoho, api: Api) -> None:
    """A record edited behind the read position moves to the end and the next page starts one record later."""
    ids = fake.generate(6)
    params: dict[str, Any] = {"fields": "Email", "sort_by": "Modified_Time", "sort_order": "asc", "per_page": 3}
    first = api.get(**params).json()
    assert [r["id"] for r in first["data"]] == ids[:3]
    fake.advance(1)
    fake.update(ids[0], Email="new@example.com")
    second = api.get(page_token=first["info"]["next_page_token"], **params).json()
    assert [r["id"] for r in second["data"]] == [ids[4], ids[5], ids[0]]


def test_bad_page_tokens(fake: FakeZoho, api: Api, http: requests.Session) -> None:
    fake.generate(10)
    params: dict[str, Any] = {"fields": "Email", "sort_by": "Modified_Time", "sort_order": "asc", "per_page": 2}
    since = ist(T0 - timedelta(days=1))
    token = api.get(since=since, **params).json()["info"]["next_page_token"]
    assert api.get(since=since, page_token=token, **params).status_code == 200
    bad = error("INVALID_DATA", {"param_name": "page_token"})
    assert without_message(api.get(page_token=token, **params)) == bad  # If-Modified-Since dropped
    assert without_message(api.get(since=ist(T0 - timedelta(days=2)), page_token=token, **params)) == bad
    assert without_message(api.get(since=since, page_token=token, **{**params, "sort_order": "desc"})) == bad
    assert without_message(api.get(since=since, page_token=token, **{**params, "fields": "Phone"})) == bad
    assert without_message(api.get(since=since, page_token="garbage!", **params)) == bad
    assert without_message(api.get(since=since, page_token=token[:-4] + "AAAA", **params)) == bad

    fake.add_client("1000.OTHER", "other", "1000.other.refresh")
    other = mint(fake, http, client_id="1000.OTHER", client_secret="other", refresh_token="1000.other.refresh")
    foreign = api.get(since=since, page_token=token, token=other.json()["access_token"], **params)
    assert without_message(foreign) == bad  # tokens are user-specific

    fake.advance(timedelta(days=1))  # page_token_ttl; the access token is long gone too
    fresh = mint(fake, http).json()["access_token"]
    expired = api.get(since=since, page_token=token, token=fresh, **params)
    assert expired.status_code == 400 and expired.json() == {
        "code": "EXPIRED_VALUE",
        "details": {"param_name": "page_token"},
        "message": "the given page_token has expired",
        "status": "error",
    }


def test_page_token_limit(fake: FakeZoho, api: Api) -> None:
    fake.page_token_limit = 4
    fake.generate(10)
    params: dict[str, Any] = {"fields": "Email", "per_page": 2}
    body = api.get(**params).json()
    body = api.get(page_token=body["info"]["next_page_token"], **params).json()
    assert body["info"]["more_records"] is True  # the token is issued; using it is refused
    refused = api.get(page_token=body["info"]["next_page_token"], **params)
    assert refused.status_code == 400 and without_message(refused) == error("LIMIT_REACHED", {"limit": 4})


def test_if_modified_since_is_inclusive_then_304(fake: FakeZoho, api: Api) -> None:
    ids = [fake.add(Last_Name=str(i), stamp=T0 + timedelta(seconds=i)) for i in range(3)]
    params: dict[str, Any] = {"fields": "Last_Name,Modified_Time", "sort_by": "Modified_Time", "sort_order": "asc"}
    for since in (ist(T0 + timedelta(seconds=1)), "2024-01-01T00:00:01Z", "2024-01-01T00:00:01+00:00"):
        body = api.get(since=since, **params).json()
        assert [r["id"] for r in body["data"]] == ids[1:], since
    assert [r["id"] for r in api.get(since="2024-01-01T00:00:00.500Z", **params).json()["data"]] == ids[1:]
    nothing = api.get(since="2024-01-01T00:00:03Z", **params)
    assert nothing.status_code == 304 and nothing.content == b"" and "Content-Type" not in nothing.headers
    for unreadable in ("yesterday", "2024-01-01T00:00:00", "Mon, 01 Jan 2024 00:00:00 GMT"):
        response = api.get(since=unreadable, **params)
        assert response.status_code == 400, unreadable
        assert without_message(response) == error("INVALID_DATA", {"param_name": "If-Modified-Since"})


def test_read_one_record(fake: FakeZoho, api: Api) -> None:
    contact = fake.add(First_Name="Ann", Last_Name="Lee", Phone="415.555.0134")
    body = api.get(f"{CONTACTS_PATH}/{contact}").json()
    assert body == {"data": [fake.get(contact)]}
    record = body["data"][0]
    assert record["Full_Name"] == "Ann Lee" and record["Owner"]["email"] and record["Tag"] == []
    assert {"Secondary_Email", "Fax", "Created_By", "Modified_By"} <= record.keys()
    assert api.get(f"{CONTACTS_PATH}/12345").status_code == 204
    fake.delete(contact)
    gone = api.get(f"{CONTACTS_PATH}/{contact}")
    assert gone.status_code == 204 and gone.content == b""


# -- deleted -------------------------------------------------------------------------------------------------------


def test_deleted_records_by_type_newest_first(fake: FakeZoho, api: Api) -> None:
    a, b, c, d = (fake.add(First_Name=n, Last_Name="X") for n in ("A", "B", "C", "D"))
    assert api.get(DELETED_PATH).status_code == 204
    fake.delete(a, stamp=T0 + timedelta(minutes=1))
    fake.purge(b, stamp=T0 + timedelta(minutes=2))
    fake.delete(c, stamp=T0 + timedelta(minutes=3))
    fake.purge(c, stamp=T0 + timedelta(minutes=4))
    fake.delete(d, stamp=T0 + timedelta(minutes=5))
    assert fake.ids() == [] and fake.ids(deleted=True) == [a, b, c, d] and fake.count() == 0

    body = api.get(DELETED_PATH).json()
    assert [(e["id"], e["type"]) for e in body["data"]] == [
        (d, "recycle"),
        (c, "permanent"),
        (b, "permanent"),
        (a, "recycle"),
    ]
    first = body["data"][0]
    assert first == {
        "id": d,
        "display_name": "D X",
        "type": "recycle",
        "deleted_by": {"name": first["deleted_by"]["name"], "id": first["deleted_by"]["id"]},
        "deleted_time": "2024-01-01T05:35:00+05:30",
        "created_by": {"name": first["created_by"]["name"], "id": first["created_by"]["id"]},
    }
    assert body["data"][1]["display_name"] is None
    assert body["info"]["more_records"] is False and "sort_by" not in body["info"]
    assert [e["id"] for e in api.get(DELETED_PATH, type="recycle").json()["data"]] == [d, a]
    assert [e["id"] for e in api.get(DELETED_PATH, type="permanent").json()["data"]] == [c, b]
    assert without_message(api.get(DELETED_PATH, type="gone")) == error("INVALID_DATA", {"param_name": "type"})

    since = ist(T0 + timedelta(minutes=4))
    assert [e["id"] for e in api.get(DELETED_PATH, since=since).json()["data"]] == [d, c]
    later = api.get(DELETED_PATH, since=ist(T0 + timedelta(minutes=6)))
    assert later.status_code == 304 and later.content == b""

    fake.restore(d, stamp=T0 + timedelta(minutes=6))
    assert fake.ids() == [d] and [e["id"] for e in api.get(DELETED_PATH, type="recycle").json()["data"]] == [a]
    assert api.get(fields="Modified_Time").json()["data"][0]["Modified_Time"] == "2024-01-01T05:36:00+05:30"
    fake.restore(a, touch=False)
    assert api.get(fields="Modified_Time", since=ist(T0 + timedelta(seconds=1))).json()["data"] == [
        {"Modified_Time": "2024-01-01T05:36:00+05:30", "id": d}
    ]


def test_deleted_pages_like_the_list(fake: FakeZoho, api: Api) -> None:
    ids = fake.generate(7)
    for i, contact in enumerate(ids):
        fake.delete(contact, stamp=T0 + timedelta(seconds=i))
    body = api.get(DELETED_PATH, per_page=3).json()
    seen = [e["id"] for e in body["data"]]
    while body["info"]["more_records"]:
        body = api.get(DELETED_PATH, per_page=3, page_token=body["info"]["next_page_token"]).json()
        seen += [e["id"] for e in body["data"]]
    assert seen == ids[::-1]
    assert api.get(DELETED_PATH, per_page=201).status_code == 400
    assert api.get(DELETED_PATH, page=11).json()["code"] == "DISCRETE_PAGINATION_LIMIT_EXCEEDED"


# -- routing and the server ----------------------------------------------------------------------------------------


def test_unknown_urls_and_methods(fake: FakeZoho, api: Api, http: requests.Session) -> None:
    wrong = http.get(fake.url + "/crm/v8/Leads", timeout=5)
    assert wrong.status_code == 404 and wrong.json() == {
        "code": "INVALID_URL_PATTERN",
        "details": {},
        "message": "Please check if the URL trying to access is a correct one",
        "status": "error",
    }
    assert http.get(fake.url + "/crm/v2/Contacts", timeout=5).status_code == 404
    posted = http.post(fake.url + CONTACTS_PATH, headers={"Authorization": f"Zoho-oauthtoken {api.token}"}, timeout=5)
    assert posted.status_code == 405 and posted.json()["code"] == "INVALID_REQUEST_METHOD"
    assert http.get(fake.url + TOKEN_PATH, timeout=5).status_code == 405


def test_the_request_log(fake: FakeZoho, api: Api) -> None:
    api.get(fields="Email,Phone", since="2024-01-01T00:00:00Z", per_page=5)
    logged = fake.requests[-1]
    assert isinstance(logged, LoggedRequest)
    assert (logged.method, logged.path, logged.status) == ("GET", CONTACTS_PATH, 304)
    assert logged.query == "fields=Email%2CPhone&per_page=5"
    assert logged.params == {"fields": ["Email,Phone"], "per_page": ["5"]}
    assert logged.headers["if-modified-since"] == "2024-01-01T00:00:00Z"
    assert logged.headers["authorization"] == f"Zoho-oauthtoken {api.token}"
    assert (fake.api_requests, fake.token_requests) == (1, 1)


def test_handler_exceptions_answer_500_and_are_recorded(fake: FakeZoho, api: Api, monkeypatch: Any) -> None:
    def broken(*args: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(fake, "_list", broken)
    response = api.get(fields="Email")
    assert response.status_code == 500 and response.json()["code"] == "INTERNAL_ERROR"
    assert len(fake.server_errors) == 1 and "RuntimeError: boom" in fake.server_errors[0]
    fake.server_errors.clear()


def test_latency_and_stop_closing_idle_keep_alive_connections(fake: FakeZoho, api: Api) -> None:
    fake.latency = 0.1
    started = time.perf_counter()
    api.get(fields="Email")
    assert time.perf_counter() - started >= 0.1
    server = fake._server
    assert server is not None and server.connections  # the session keeps its connection open
    fake.stop()
    assert not server.connections
    with pytest.raises(RuntimeError):
        _ = fake.url


# -- faults --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("429", 429, "TOO_MANY_REQUESTS"),
        ("500", 500, "INTERNAL_ERROR"),
        ("invalid_token", 401, "INVALID_TOKEN"),
    ],
)
def test_json_faults(fake: FakeZoho, api: Api, kind: str, status: int, code: str) -> None:
    fake.generate(4)
    params: dict[str, Any] = {"fields": "Email", "per_page": 2}
    token = api.get(**params).json()["info"]["next_page_token"]
    fake.inject(kind)
    faulted = api.get(page_token=token, **params)
    assert faulted.status_code == status and faulted.headers["Content-Type"] == JSON_TYPE
    assert without_message(faulted) == error(code) and "Retry-After" not in faulted.headers
    assert api.get(page_token=token, **params).json()["info"]["count"] == 2  # the faulted request consumed nothing
    assert statuses(fake, -2) == [status, 200]


@pytest.mark.parametrize("kind", ["502", "503", "504"])
def test_gateway_faults(fake: FakeZoho, api: Api, kind: str) -> None:
    fake.inject(kind)
    response = api.get(fields="Email")
    assert response.status_code == int(kind) and response.headers["Content-Type"].startswith("text/html")
    assert api.get(fields="Email").status_code == 204


def test_malformed_fault_truncates_the_body(fake: FakeZoho, api: Api) -> None:
    fake.inject("malformed")
    response = api.get(fields="Email")
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_reset_and_timeout_faults_drop_the_connection(fake: FakeZoho, api: Api) -> None:
    fake.timeout_hold = 0.3
    fake.inject("reset")
    with pytest.raises(requests.ConnectionError):
        api.get(fields="Email")
    fake.inject("timeout")
    started = time.perf_counter()
    with pytest.raises(requests.ConnectionError):
        api.get(fields="Email")
    assert time.perf_counter() - started >= 0.3
    fake.inject("timeout")
    with pytest.raises(requests.ReadTimeout):
        api.http.get(fake.url + CONTACTS_PATH, params={"fields": "Email"}, timeout=0.1)
    assert statuses(fake, -3) == [None, None, None]
    assert api.get(fields="Email").status_code == 204


def test_fault_targeting_by_position_match_and_times(fake: FakeZoho, api: Api) -> None:
    fake.inject("503", at=2, times=2)
    assert [api.get(fields="Email").status_code for _ in range(4)] == [204, 503, 503, 204]
    fake.inject("429", match="Phone")
    assert [api.get(fields=f).status_code for f in ("Email", "Phone", "Phone")] == [204, 429, 204]
    fake.inject("500", match="/crm/v8/Contacts/deleted", times=5)
    fake.clear_faults()
    assert api.get(DELETED_PATH).status_code == 204
    with pytest.raises(ValueError):
        fake.inject("teapot")


def test_token_request_faults_issue_nothing(fake: FakeZoho, http: requests.Session) -> None:
    fake.token_rate_limit = 1
    fake.inject("token_error", match="/oauth/")
    fake.inject("500", match="/oauth/")
    assert mint(fake, http).json() == {"error": "invalid_code"}
    assert mint(fake, http).status_code == 500
    assert "access_token" in mint(fake, http).json()  # neither faulted request used up the one allowed mint
    assert fake.token_requests == 3 and fake.api_requests == 0


# -- seeding -------------------------------------------------------------------------------------------------------


def test_add_and_update_write_fields_as_the_api_does(fake: FakeZoho) -> None:
    contact = fake.add(First_Name="Ann", Last_Name="Lee", Account_Name="Acme", Tag=["VIP", "Partner"])
    record = fake.get(contact)
    assert record["Full_Name"] == "Ann Lee" and record["Account_Name"]["name"] == "Acme"
    assert [t["name"] for t in record["Tag"]] == ["VIP", "Partner"] and record["Account_Name"]["id"].isdigit()
    assert fake.get(fake.add(Account_Name="Acme"))["Account_Name"] == record["Account_Name"]  # one id per account
    fake.update(contact, stamp=T0 + timedelta(hours=1), Last_Name="Li", Account_Name=None, Custom_Field__c="x")
    record = fake.get(contact)
    assert record["Full_Name"] == "Ann Li" and record["Account_Name"] is None and record["Custom_Field__c"] == "x"
    assert record["Modified_Time"] == "2024-01-01T06:30:00+05:30" and record["Created_Time"] != record["Modified_Time"]
    with pytest.raises(ValueError):
        fake.update(contact, Modified_Time=T0)
    fake.delete(contact)
    with pytest.raises(ValueError):
        fake.update(contact, Title="x")
    with pytest.raises(KeyError):
        fake.get("999")


def test_load_the_recorded_nango_response(fake: FakeZoho, api: Api, fixtures_dir: Path) -> None:
    zoho_dir = fixtures_dir / "crm" / "zoho"
    if not zoho_dir.is_dir():
        pytest.skip(f"the recorded Zoho responses are not at {zoho_dir}")
    path = zoho_dir / "nango_contacts__get_crm_v2_Contacts.json"
    recorded = json.loads(path.read_text(encoding="utf-8"))["response"]["data"]
    ids = fake.load_fixture(path)
    assert ids == [r["id"] for r in recorded] and fake.count() == len(recorded)
    first = recorded[0]
    stored = fake.get(first["id"])
    kept = [name for name in first if name not in ("Created_Time", "Modified_Time")]
    assert {name: stored[name] for name in kept} == {name: first[name] for name in kept}
    for name in ("Created_Time", "Modified_Time"):
        assert datetime.fromisoformat(stored[name]) == datetime.fromisoformat(first[name])
        assert ZOHO_TIME.fullmatch(stored[name])
    body = api.get(fields="Email,Account_Name,Department", sort_by="Modified_Time", sort_order="asc").json()
    assert [r["id"] for r in body["data"]] == ids  # equal stamps by id descending, as recorded
    assert body["data"][0] == {
        "Email": first["Email"],
        "Account_Name": first["Account_Name"],
        "Department": first["Department"],
        "id": first["id"],
    }
    assert int(fake.add()) > max(int(i) for i in ids)
    single_path = zoho_dir / "nango_get-contact__get_crm_v2_Contacts_7328395000000687002.json"
    with pytest.raises(ValueError, match="duplicate id"):
        fake.load_fixture(single_path)  # the same contact is in the list response
    with FakeZoho() as other:
        assert other.load_fixture(single_path) == ["7328395000000687002"]
        assert other.get("7328395000000687002")["Email"] == "test@example.com"


def test_generate_is_realistic_deterministic_and_fast(fake: FakeZoho) -> None:
    started = time.perf_counter()
    ids = fake.generate(20_000, seed=7)
    assert time.perf_counter() - started < 1.5
    records = [fake.get(i) for i in ids[:2000]]
    with FakeZoho() as other:
        other.set_clock(T0)
        assert [untimed(other.get(i)) for i in other.generate(2000, seed=7)] == [untimed(r) for r in records]
        assert [untimed(other.get(i)) for i in other.generate(5, seed=8)] != [untimed(r) for r in records[:5]]

    def share(test: Any) -> float:
        return sum(1 for r in records if test(r)) / len(records)

    assert 0.6 < share(lambda r: r["Account_Name"]) < 0.8
    assert 0.05 < share(lambda r: r["Secondary_Email"]) < 0.15
    assert 0.4 < share(lambda r: r["Mobile"]) < 0.6
    assert 0.05 < share(lambda r: r["Fax"]) < 0.15 and 0.05 < share(lambda r: r["Home_Phone"]) < 0.15
    assert 0.15 < share(lambda r: r["Tag"]) < 0.25 and all(1 <= len(r["Tag"]) <= 2 for r in records if r["Tag"])
    assert share(lambda r: not r["First_Name"].isascii() or not r["Last_Name"].isascii()) > 0.02
    assert share(lambda r: r["Email"] and "@gmail.com" in r["Email"]) > 0.02
    phones = [r["Phone"] for r in records if r["Phone"]]
    assert any(p.startswith("(") for p in phones) and any(p.startswith("+44") for p in phones)
    assert any(re.fullmatch(r"\d{3}\.\d{3}\.\d{4}", p) for p in phones)
    assert all(r["Full_Name"] == f"{r['First_Name']} {r['Last_Name']}" for r in records)

    stamps = [datetime.fromisoformat(fake.get(i)["Modified_Time"]) for i in ids[-3:]]
    assert stamps == [T0 - timedelta(seconds=2), T0 - timedelta(seconds=1), T0]
    fixed = fake.generate(3, stamp=T0 - timedelta(days=1))
    assert {fake.get(i)["Modified_Time"] for i in fixed} == {ist(T0 - timedelta(days=1))}

    bad = [fake.get(i) for i in fake.generate(300, seed=1, bad_rate=1.0)]
    assert all(r["Email"] in _BAD_EMAILS for r in bad if r["Email"])
    assert all(r["Phone"] in _BAD_PHONES for r in bad if r["Phone"])
