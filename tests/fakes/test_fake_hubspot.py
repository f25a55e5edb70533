"""The fake HubSpot portal, driven through the real hubspot-api-client the way a connector would drive it."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import urllib3
from hubspot import HubSpot
from hubspot.crm.contacts import ApiException, PublicObjectSearchRequest
from hubspot.crm.contacts.exceptions import NotFoundException, ServiceException, UnauthorizedException
from urllib3.util.retry import Retry

from tests.fakes.hubspot import (
    DEFAULT_PROPERTIES,
    SEARCH_PATH,
    FakeHubSpot,
    LoggedRequest,
    decode_after,
    to_ms,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)
TOKEN = "pat-test"
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
RATE_HEADERS = re.compile(r"x-hubspot-ratelimit-", re.IGNORECASE)


@pytest.fixture
def fake() -> Iterator[FakeHubSpot]:
    with FakeHubSpot() as fake:
        fake.add_token(TOKEN)
        fake.set_clock(T0)
        yield fake
    assert not fake.server_errors, "\n".join(fake.server_errors)


@pytest.fixture
def client(fake: FakeHubSpot) -> HubSpot:
    return HubSpot(access_token=TOKEN, host=fake.url)


@pytest.fixture
def basic(client: HubSpot) -> Any:
    """One BasicApi: every `client.crm.contacts.basic_api` access builds a new ApiClient and connection pool."""
    return client.crm.contacts.basic_api


@pytest.fixture
def search(client: HubSpot) -> Any:
    return client.crm.contacts.search_api


def ms(moment: datetime) -> str:
    return str(to_ms(moment))


def flt(name: str, operator: str, value: Any = None, **extra: Any) -> dict[str, Any]:
    f = {"propertyName": name, "operator": operator, **extra}
    if value is not None:
        f["value"] = value
    return f


def request(*groups: list[dict[str, Any]], sorts: list[Any] | None = None, **kwargs: Any) -> PublicObjectSearchRequest:
    """A search body; filter groups go in as plain dicts, which the SDK serialises as they are."""
    return PublicObjectSearchRequest(filter_groups=[{"filters": g} for g in groups], sorts=sorts, **kwargs)


def ids_of(page: Any) -> list[str]:
    return [record.id for record in page.results]


def search_all(search: Any, body: PublicObjectSearchRequest) -> list[str]:
    """Follow paging.next.after to the end, as a connector would."""
    out: list[str] = []
    while True:
        page = search.do_search(body)
        out += ids_of(page)
        if page.paging is None:
            return out
        body.after = page.paging.next.after


def error_json(error: ApiException) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(error.body)
    return payload


def statuses(fake: FakeHubSpot, since: int) -> list[int | None]:
    return [r.status for r in fake.requests[since:]]


ASC = [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]
DESC = [{"propertyName": "lastmodifieddate", "direction": "DESCENDING"}]
BY_ID = [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]


# -- list and read ---------------------------------------------------------------------------------------------


def test_get_page_pages_by_an_opaque_after_with_repeated_properties(fake: FakeHubSpot, basic: Any) -> None:
    ids = fake.generate(25)
    first = basic.get_page(limit=10, properties=["email", "phone", "no_such_property"])
    assert ids_of(first) == ids[:10]
    record = first.results[0]
    assert sorted(record.properties) == ["createdate", "email", "hs_object_id", "lastmodifieddate", "phone"]
    assert record.properties["hs_object_id"] == record.id and ISO.fullmatch(record.properties["lastmodifieddate"])
    assert record.archived is False and record.created_at.tzinfo is not None
    logged = fake.requests[-1]
    assert logged.query == "limit=10&properties=email&properties=phone&properties=no_such_property"

    after = first.paging.next.after
    assert not after.isdigit() and decode_after(after) == int(ids[10])  # opaque: base64 of the next id
    assert first.paging.next.link == f"{fake.url}/crm/v3/objects/contacts?{logged.query}&after={after}"
    second = basic.get_page(limit=10, after=after, properties=["email"])
    assert ids_of(second) == ids[10:20]
    last = basic.get_page(limit=10, after=second.paging.next.after)
    assert ids_of(last) == ids[20:] and last.paging is None


def test_default_and_comma_separated_properties(fake: FakeHubSpot, basic: Any) -> None:
    contact = fake.add(firstname="Ada", email="ada@example.com", phone="+1 212-555-0100")
    assert sorted(basic.get_page().results[0].properties) == sorted(DEFAULT_PROPERTIES)
    # A string is iterated character by character under the "multi" format: pass a list, here comma-joined.
    page = basic.get_page(properties=["phone,jobtitle"])
    assert page.results[0].properties == {
        "createdate": "2024-01-01T00:00:00.000Z",
        "hs_object_id": contact,
        "jobtitle": None,
        "lastmodifieddate": "2024-01-01T00:00:00.000Z",
        "phone": "+1 212-555-0100",
    }
    assert fake.requests[-1].params["properties"] == ["phone,jobtitle"]
    one = basic.get_by_id(contact, properties=["email"])
    assert one.properties["email"] == "ada@example.com" and "phone" not in one.properties


def test_get_all_fetches_every_live_contact_100_at_a_time(fake: FakeHubSpot, client: HubSpot) -> None:
    ids = fake.generate(250)
    fake.archive(ids[5])
    since = len(fake.requests)
    records = client.crm.contacts.get_all(properties=["email"])
    assert [r.id for r in records] == ids[:5] + ids[6:]
    assert [r.params["limit"] for r in fake.requests[since:]] == [["100"]] * 3
    assert fake.count() == 249 and fake.count(archived=True) == 1


def test_limits_and_bad_cursors_are_validation_errors(basic: Any, fake: FakeHubSpot) -> None:
    fake.generate(3)
    with pytest.raises(ApiException) as raised:
        basic.get_page(limit=101)
    assert raised.value.status == 400 and error_json(raised.value)["category"] == "VALIDATION_ERROR"
    with pytest.raises(ApiException) as raised:
        basic.get_page(after="2")  # a raw id is not a cursor
    assert raised.value.status == 400


def test_archived_listing_reads_restore_and_gdpr_delete(fake: FakeHubSpot, basic: Any) -> None:
    ids = fake.generate(6)
    before = fake.get(ids[1])["properties"]["lastmodifieddate"]
    fake.set_clock(T0 + timedelta(hours=1))
    fake.archive(ids[1])
    fake.archive(ids[3], stamp=T0 + timedelta(minutes=5))

    archived = basic.get_page(archived=True, properties=["email"])
    assert ids_of(archived) == [ids[1], ids[3]]
    assert fake.requests[-1].params["archived"] == ["True"]  # the SDK sends Python's bools
    record = archived.results[0]
    assert record.archived is True and record.archived_at == T0 + timedelta(hours=1)
    assert record.properties["lastmodifieddate"] == before  # archiving does not bump it
    assert ids_of(basic.get_page(archived=False)) == [ids[0], ids[2], ids[4], ids[5]]

    with pytest.raises(NotFoundException) as raised:
        basic.get_by_id(ids[1])
    assert error_json(raised.value)["category"] == "OBJECT_NOT_FOUND"
    assert basic.get_by_id(ids[1], archived=True).archived is True

    fake.restore(ids[1])  # touches lastmodifieddate: incremental searches see it again
    assert fake.get(ids[1])["properties"]["lastmodifieddate"] == "2024-01-01T01:00:00.000Z"
    fake.restore(ids[3], touch=False)  # keeps the old one: only a full list notices
    assert fake.get(ids[3])["updatedAt"] == fake.get(ids[3])["properties"]["lastmodifieddate"]
    assert fake.get(ids[3])["updatedAt"] == "2023-12-31T23:59:58.000Z"
    assert "archivedAt" not in fake.get(ids[3])

    fake.gdpr_delete(ids[0])
    fake.archive(ids[2])
    fake.gdpr_delete(ids[2])
    assert fake.ids() == [ids[1], ids[3], ids[4], ids[5]] and fake.ids(archived=True) == []
    assert ids_of(basic.get_page(archived=True)) == []
    with pytest.raises(NotFoundException):
        basic.get_by_id(ids[0], archived=True)
    with pytest.raises(KeyError):
        fake.get(ids[0])


def test_mutations_stamp_with_the_clock_or_an_explicit_stamp(fake: FakeHubSpot) -> None:
    first = fake.add(email="a@example.com")
    fake.advance(timedelta(seconds=30))
    second = fake.add(email="b@example.com", stamp=T0 - timedelta(days=1))
    assert int(second) == int(first) + 1
    assert fake.get(first)["properties"]["lastmodifieddate"] == "2024-01-01T00:00:00.000Z"
    assert fake.get(second)["createdAt"] == "2023-12-31T00:00:00.000Z"

    fake.update(first, phone="555-0100", email=None)
    record = fake.get(first)
    assert record["properties"]["lastmodifieddate"] == record["updatedAt"] == "2024-01-01T00:00:30.000Z"
    assert record["createdAt"] == "2024-01-01T00:00:00.000Z"
    assert "email" not in record["properties"] and record["properties"]["phone"] == "555-0100"
    with pytest.raises(ValueError, match="set by the portal"):
        fake.update(first, lastmodifieddate="2020-01-01T00:00:00Z")
    fake.archive(first)
    with pytest.raises(ValueError, match="archived"):
        fake.update(first, phone="1")


def test_properties_endpoint(fake: FakeHubSpot, client: HubSpot) -> None:
    fake.add(email="a@example.com", website="https://example.com")  # an unknown property gets declared
    described = {p.name: p for p in client.crm.properties.core_api.get_all("contacts").results}
    assert described["lastmodifieddate"].type == "datetime" and described["hs_object_id"].type == "number"
    assert described["website"].type == "string" and "hs_lastmodifieddate" not in described


# -- search ----------------------------------------------------------------------------------------------------


def test_search_gte_ascending_pages_by_offset_with_total(fake: FakeHubSpot, search: Any) -> None:
    ids = fake.generate(30)  # one second apart, the last at T0
    since = T0 - timedelta(seconds=19)
    body = request([flt("lastmodifieddate", "GTE", ms(since))], sorts=ASC, limit=8, properties=["email"])
    page = search.do_search(body)
    assert page.total == 20 and ids_of(page) == ids[10:18]
    assert page.paging.next.after == "8"
    assert sorted(page.results[0].properties) == ["createdate", "email", "hs_object_id", "lastmodifieddate"]
    assert search_all(search, body) == ids[10:]
    assert [r.body.get("after") for r in fake.requests if r.path == SEARCH_PATH] == [None, None, "8", "16"]

    # ISO values work too, and an incremental search never sees archived contacts.
    fake.archive(ids[29])
    iso_body = request([flt("lastmodifieddate", "GT", since.isoformat())], sorts=ASC, limit=100)
    assert ids_of(search.do_search(iso_body)) == ids[11:29]


def test_search_descending_breaks_ties_by_id_ascending(fake: FakeHubSpot, search: Any) -> None:
    old = fake.generate(3, stamp=T0 - timedelta(hours=1))
    tied = fake.generate(4, stamp=T0)
    body = request(sorts=DESC, limit=5)
    assert search_all(search, body) == tied + old
    assert search_all(search, request([flt("lastmodifieddate", "LTE", ms(T0))], sorts=DESC)) == tied + old
    assert search_all(search, request(sorts=["lastmodifieddate"])) == old + tied  # a bare name sorts ascending
    assert search_all(search, request(sorts=["-hs_object_id"])) == (old + tied)[::-1]
    by_email = request(sorts=[{"propertyName": "email", "direction": "DESCENDING"}])  # any property sorts
    assert sorted(search_all(search, by_email)) == sorted(old + tied)


def test_search_on_hs_object_id_compares_numbers(fake: FakeHubSpot, search: Any) -> None:
    ids = fake.generate(120)
    body = request([flt("hs_object_id", "GT", "99")], sorts=BY_ID, limit=100)
    assert search_all(search, body) == [str(i) for i in range(100, 121)]  # "100" > "99" as numbers
    mixed = request([flt("hs_object_id", "GT", "99"), flt("lastmodifieddate", "LT", ms(T0))], sorts=BY_ID)
    assert search_all(search, mixed) == ids[99:119]
    assert search_all(search, request()) == ids  # no sort: creation (id) order


def test_search_between_in_or_groups_and_string_operators(fake: FakeHubSpot, search: Any) -> None:
    ada = fake.add(email="Ada@Example.com", firstname="Ada", stamp=T0)
    bob = fake.add(email="bob@example.com", firstname="Bob", stamp=T0 + timedelta(minutes=1))
    cy = fake.add(firstname="Cy", stamp=T0 + timedelta(minutes=2))
    dee = fake.add(email="dee@other.org", hs_additional_emails="d@a.com;d@b.com", stamp=T0 + timedelta(minutes=3))

    def found(*groups: list[dict[str, Any]]) -> list[str]:
        return sorted(search_all(search, request(*groups)), key=int)

    window = flt("lastmodifieddate", "BETWEEN", ms(T0 + timedelta(minutes=1)), highValue=ms(T0 + timedelta(minutes=2)))
    assert found([window]) == [bob, cy]
    assert found([flt("email", "EQ", "ada@example.com")], [flt("firstname", "EQ", "Cy")]) == [ada, cy]  # OR
    assert found([flt("email", "HAS_PROPERTY"), flt("firstname", "NEQ", "bob")]) == [ada, dee]  # AND
    assert found([flt("email", "NOT_HAS_PROPERTY")]) == [cy]
    assert found([flt("firstname", "IN", values=["ada", "cy"])]) == [ada, cy]
    assert found([flt("email", "CONTAINS_TOKEN", "*@example.com")]) == [ada, bob]
    assert found([flt("hs_additional_emails", "CONTAINS_TOKEN", "d@b.com")]) == [dee]
    assert found([flt("hs_lastmodifieddate", "GTE", "0")]) == []  # not a contact property: silently nothing
    assert search.do_search(request(query="ada")).total == 1


@pytest.mark.parametrize(
    ("groups", "filters", "ok"),
    [(5, 5, True), (6, 1, False), (1, 10, True), (1, 11, False), (5, 6, False)],
    ids=["5x5", "6-groups", "1x10", "11-in-a-group", "30-in-all"],
)
def test_search_filter_limits(search: Any, groups: int, filters: int, ok: bool) -> None:
    body = request(*[[flt("email", "HAS_PROPERTY")] * filters for _ in range(groups)])
    if ok:
        assert search.do_search(body).total == 0
        return
    with pytest.raises(ApiException) as raised:
        search.do_search(body)
    assert raised.value.status == 400 and error_json(raised.value)["category"] == "VALIDATION_ERROR"


@pytest.mark.parametrize(
    "body",
    [
        {"filterGroups": [{"filters": [flt("email", "LIKE", "x")]}]},
        {"filterGroups": [{"filters": [flt("lastmodifieddate", "GTE", "yesterday")]}]},
        {"filterGroups": [{"filters": [flt("lastmodifieddate", "BETWEEN", "1")]}]},
        {"sorts": [{"propertyName": "email"}, {"propertyName": "firstname"}]},
        {"limit": 201},
        {"after": "page-2"},
    ],
    ids=["operator", "value", "high-value", "two-sorts", "limit", "after"],
)
def test_search_validation_errors(search: Any, body: dict[str, Any]) -> None:
    with pytest.raises(ApiException) as raised:
        search.do_search(body)  # a plain dict is sent as it is
    error = error_json(raised.value)
    assert raised.value.status == 400 and error["category"] == "VALIDATION_ERROR" and error["correlationId"]


def test_search_10k_cap_is_a_400_even_when_10k_contacts_share_a_stamp(fake: FakeHubSpot, search: Any) -> None:
    started = time.perf_counter()
    ids = fake.generate(10_050, stamp=T0)
    body = request([flt("lastmodifieddate", "GTE", ms(T0))], sorts=ASC, limit=200, after="9800")
    page = search.do_search(body)
    assert page.total == 10_050 and ids_of(page) == ids[9800:10_000]
    assert page.paging.next.after == "10000"  # HubSpot still offers the page it will refuse

    for after, limit in (("9900", 200), ("10000", 1), ("9801", 200)):
        with pytest.raises(ApiException) as raised:
            search.do_search(request(sorts=ASC, limit=limit, after=after))
        error = error_json(raised.value)
        assert raised.value.status == 400 and error["status"] == "error" and error["category"] == "VALIDATION_ERROR"
        assert "10000" in error["message"]
    # Re-basing on the shared stamp cannot get past it: GT skips all 50 that are left, GTE starts over.
    assert search.do_search(request([flt("lastmodifieddate", "GT", ms(T0))])).total == 0
    by_id = request([flt("lastmodifieddate", "GTE", ms(T0)), flt("hs_object_id", "GT", ids[9999])], sorts=BY_ID)
    assert search_all(search, by_id) == ids[10_000:]  # the tie-safe way: (stamp, id) keyset
    assert time.perf_counter() - started < 5


def test_search_lag_hides_recent_writes_until_the_clock_moves(fake: FakeHubSpot, search: Any) -> None:
    seeded = fake.generate(3, stamp=T0 - timedelta(hours=1))  # seeded history is already indexed
    fake.search_lag = 5.0
    fresh = fake.add(email="new@example.com")
    fake.update(seeded[0], phone="1", stamp=T0 - timedelta(minutes=1))  # a late write with an old stamp
    assert search_all(search, request()) == seeded[1:]
    fake.advance(4.999)
    assert search.do_search(request()).total == 2
    fake.advance(0.001)
    assert search_all(search, request()) == [*seeded, fresh]


# -- auth, rate limits and faults -------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["wrong", ""])
def test_missing_or_wrong_token_is_401(fake: FakeHubSpot, token: str) -> None:
    client = HubSpot(access_token=token or None, host=fake.url)
    for call in (
        lambda: client.crm.contacts.basic_api.get_page(),
        lambda: client.crm.contacts.search_api.do_search({}),
    ):
        with pytest.raises(UnauthorizedException) as raised:
            call()
        error = error_json(raised.value)
        assert error["category"] == "INVALID_AUTHENTICATION" and error["status"] == "error"
        assert error["message"].startswith("Authentication credentials not found.") and error["correlationId"]
    assert fake.api_requests == 2


def test_revoked_tokens_stop_working(fake: FakeHubSpot, basic: Any) -> None:
    basic.get_page()
    fake.revoke_tokens()
    with pytest.raises(UnauthorizedException):
        basic.get_page()
    fake.add_token(TOKEN)
    assert basic.get_page().results == []


def test_search_rate_limit_and_rate_limit_headers(fake: FakeHubSpot, basic: Any, search: Any) -> None:
    fake.generate(3)
    fake.search_rps = 2
    for _ in range(2):
        _, status, headers = search.do_search_with_http_info(request())
        assert status == 200 and not any(RATE_HEADERS.match(name) for name in headers)
        assert headers["X-HubSpot-Correlation-Id"]
    with pytest.raises(ApiException) as raised:
        search.do_search(request())  # the SDK's default retry never retries a POST
    error = error_json(raised.value)
    assert raised.value.status == 429 and "Retry-After" not in raised.value.headers
    assert error["errorType"] == "RATE_LIMIT" and error["policyName"] == "SECONDLY"
    assert error["message"] == "You have reached your secondly limit." and error["correlationId"]

    _, status, headers = basic.get_page_with_http_info()  # list calls are not limited by search_rps
    assert status == 200
    assert int(headers["X-HubSpot-RateLimit-Daily-Remaining"]) < int(headers["X-HubSpot-RateLimit-Daily"])
    assert {"X-HubSpot-RateLimit-Secondly-Remaining", "X-HubSpot-RateLimit-Remaining"} <= set(headers)


FAULTS: list[tuple[str, str, Any, list[int | None]]] = [
    # (kind, method, what the default client raises, or None when it recovers on its own; the statuses logged)
    ("429", "GET", None, [429, 200]),  # urllib3 honours Retry-After on GET even without status_forcelist
    ("429", "POST", ApiException, [429]),
    ("429_no_retry_after", "GET", ApiException, [429]),
    ("500", "GET", ServiceException, [500]),
    ("502", "POST", ServiceException, [502]),
    ("503", "GET", ServiceException, [503]),  # no Retry-After: not retried
    ("reset", "GET", None, [None, 200]),  # a read error: urllib3 retries idempotent methods
    ("reset", "POST", urllib3.exceptions.ProtocolError, [None]),  # not wrapped in ApiException
    ("timeout", "GET", None, [None, 200]),
    ("timeout", "POST", urllib3.exceptions.ReadTimeoutError, [None]),
    ("malformed", "GET", None, [200]),  # no error at all: see the assertion below
    ("401", "POST", UnauthorizedException, [401]),
]


@pytest.mark.parametrize(("kind", "method", "raised", "logged"), FAULTS, ids=[f"{f[0]}-{f[1]}" for f in FAULTS])
def test_a_fault_consumes_nothing(
    fake: FakeHubSpot, basic: Any, search: Any, kind: str, method: str, raised: Any, logged: list[int | None]
) -> None:
    ids = fake.generate(12)
    fake.timeout_hold = 0.5
    cursor = basic.get_page(limit=5).paging.next.after
    calls: dict[str, Callable[[], Any]] = {
        "GET": lambda: basic.get_page(limit=5, after=cursor, _request_timeout=0.2),
        "POST": lambda: search.do_search(request(limit=5, after="5"), _request_timeout=0.2),
    }
    since = len(fake.requests)
    fake.inject(kind)
    if raised is None:
        page = calls[method]()
        if kind == "malformed":
            assert page.results is None and page.paging is None  # a truncated body parses as an empty page
        else:
            assert ids_of(page) == ids[5:10]
    else:
        with pytest.raises(raised) as error:
            calls[method]()
        if kind.startswith("429"):
            assert error.value.headers.get("Retry-After") == ("1" if kind == "429" else None)
            assert error_json(error.value)["errorType"] == "RATE_LIMIT"
    assert statuses(fake, since) == logged
    assert ids_of(calls[method]()) == ids[5:10]  # the same page again: nothing was consumed


def test_a_retry_policy_that_allows_post_retries_search_429s(fake: FakeHubSpot) -> None:
    fake.generate(3)
    retry = Retry(total=2, backoff_factor=0, status_forcelist=(429, 502), allowed_methods=None)
    search = HubSpot(access_token=TOKEN, host=fake.url, retry=retry).crm.contacts.search_api
    since = len(fake.requests)
    fake.inject("429_no_retry_after", times=2)
    assert search.do_search(request()).total == 3
    assert statuses(fake, since) == [429, 429, 200]
    fake.inject("502", times=3)
    with pytest.raises(urllib3.exceptions.MaxRetryError):  # not an ApiException once retries run out
        search.do_search(request())


def test_inject_at_match_and_times(fake: FakeHubSpot, basic: Any, search: Any) -> None:
    fake.generate(3)
    fake.inject("500", at=2, times=2)
    basic.get_page()
    for _ in range(2):
        with pytest.raises(ServiceException):
            basic.get_page()
    basic.get_page()
    fake.inject("503", match='"after": "2"')  # matches the POST body as sent
    search.do_search(request(limit=2))
    with pytest.raises(ServiceException):
        search.do_search(request(limit=2, after="2"))
    assert [r.status for r in fake.requests] == [200, 500, 500, 200, 200, 503]
    with pytest.raises(ValueError, match="unknown fault"):
        fake.inject("418")


def test_request_log_and_latency(fake: FakeHubSpot, basic: Any, search: Any) -> None:
    contact = fake.add(email="a@example.com")
    fake.latency = 0.05
    started = time.perf_counter()
    basic.get_by_id(contact, properties=["email"])
    search.do_search(request([flt("email", "EQ", "a@example.com")], limit=1))
    assert time.perf_counter() - started >= 0.1
    read, searched = fake.requests
    assert read == LoggedRequest("GET", f"/crm/v3/objects/contacts/{contact}", "properties=email", 200)
    assert searched.method == "POST" and searched.path == SEARCH_PATH and searched.status == 200
    assert searched.body == {"limit": 1, "filterGroups": [{"filters": [flt("email", "EQ", "a@example.com")]}]}
    assert fake.api_requests == 2


# -- seeding ---------------------------------------------------------------------------------------------------


def test_load_the_recorded_nango_response(fake: FakeHubSpot, basic: Any, fixtures_dir: Path) -> None:
    path = fixtures_dir / "crm" / "hubspot" / "nango_contacts__get_crm_v3_objects_contacts.json"
    recorded = json.loads(path.read_text(encoding="utf-8"))["response"]["results"]
    ids = fake.load_fixture(path)
    assert ids == [r["id"] for r in recorded] and len(ids) == 26
    names = sorted(recorded[0]["properties"])
    served = basic.get_page(limit=100, properties=names).results
    assert [(r.id, r.properties) for r in served] == [(r["id"], r["properties"]) for r in recorded]
    assert served[0].updated_at == datetime.fromisoformat(recorded[0]["updatedAt"])
    assert int(fake.add(email="next@example.com")) == max(map(int, ids)) + 1


def test_generate_is_fast_and_realistic(fake: FakeHubSpot) -> None:
    started = time.perf_counter()
    ids = fake.generate(100_000, seed=7, bad_rate=0.02)
    elapsed = time.perf_counter() - started
    assert elapsed < 6, f"generate(100_000) took {elapsed:.1f} s"
    assert ids == [str(i) for i in range(1, 100_001)] and fake.count() == 100_000
    records = [fake.get(i) for i in ids[:2000]]
    props = [r["properties"] for r in records]
    phones = [p["phone"] for p in props if "phone" in p]
    assert len({re.sub(r"\d", "9", phone) for phone in phones}) >= 8  # many formats
    assert any(phone.startswith("+44") for phone in phones) and any(phone.startswith("(") for phone in phones)
    extra = [p["hs_additional_emails"] for p in props if "hs_additional_emails" in p]
    assert 100 < len(extra) < 400 and any(";" in value for value in extra)
    assert any(not p.get("firstname", "").isascii() for p in props)  # accents
    emails = [p.get("email", "") for p in props]
    assert sum("@" not in e for e in emails if e) > 0  # bad_rate made some unusable
    assert all(value is None or isinstance(value, str) for p in props for value in p.values())
    assert records[-1]["properties"]["lastmodifieddate"] < fake.get(ids[-1])["properties"]["lastmodifieddate"]
    assert fake.get(ids[-1])["updatedAt"] == "2024-01-01T00:00:00.000Z"
