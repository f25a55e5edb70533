"""The fake Salesforce org, driven through the real simple-salesforce client the way the connector drives it."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.bulk2 import Operation
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)
from simple_salesforce.util import Usage

from tests.fakes import soql
from tests.fakes.salesforce import FakeSalesforce, LoggedRequest, sf_id

T0 = datetime(2024, 1, 1, tzinfo=UTC)
FIELDS = (
    "Id, FirstName, LastName, Title, Account.Name, Email, Phone, MobilePhone, HomePhone, OtherPhone, Fax, "
    "IsDeleted, MasterRecordId, SystemModstamp"
)
ORDERED = f"SELECT {FIELDS} FROM Contact ORDER BY SystemModstamp ASC, Id ASC"
JSON_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000")


class HttpRewriteSession(requests.Session):
    """simple-salesforce always builds https:// URLs; send the ones aimed at the fake over plain http."""

    def __init__(self, fake_url: str) -> None:
        super().__init__()
        self._https_prefix = "https://" + fake_url.removeprefix("http://")

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        if isinstance(url, str) and url.startswith(self._https_prefix):
            url = "http://" + url.removeprefix("https://")
        return super().request(method, url, *args, **kwargs)


@pytest.fixture
def fake() -> Iterator[FakeSalesforce]:
    with FakeSalesforce() as fake:
        fake.add_token("TOKEN")
        fake.set_clock(T0)
        yield fake
    assert not fake.server_errors, "\n".join(fake.server_errors)


def connect(fake: FakeSalesforce, session: requests.Session, token: str = "TOKEN") -> Salesforce:
    return Salesforce(instance_url=fake.url, session_id=token, version="59.0", session=session)


@pytest.fixture
def session(fake: FakeSalesforce) -> Iterator[requests.Session]:
    with HttpRewriteSession(fake.url) as session:
        yield session


@pytest.fixture
def sf(fake: FakeSalesforce, session: requests.Session) -> Salesforce:
    return connect(fake, session)


def ids_of(records: list[Any]) -> list[str]:
    return [record["Id"] for record in records]


def query_paths(fake: FakeSalesforce) -> list[str]:
    return [r.path for r in fake.requests if "/query" in r.path and "/jobs/" not in r.path]


def error_code(error: Exception) -> str:
    content = getattr(error, "content", None)
    assert isinstance(content, list), content
    return str(content[0]["errorCode"])


# -- REST query ------------------------------------------------------------------------------------------------


def test_query_all_follows_next_records_url(fake: FakeSalesforce, sf: Salesforce) -> None:
    fake.page_size = 4
    ids = fake.generate(10)

    first = sf.query(ORDERED)
    assert (first["totalSize"], first["done"], len(first["records"])) == (10, False, 4)
    assert re.fullmatch(r"/services/data/v59\.0/query/01g\w{15}-4", first["nextRecordsUrl"])
    record = first["records"][0]
    assert list(record) == ["attributes", *FIELDS.replace("Account.Name", "Account").split(", ")]
    assert record["attributes"] == {"type": "Contact", "url": f"/services/data/v59.0/sobjects/Contact/{ids[0]}"}
    assert JSON_DATETIME.fullmatch(record["SystemModstamp"])

    everything = sf.query_all(ORDERED)
    assert ids_of(everything["records"]) == ids
    new_query, second, third = query_paths(fake)[-3:]
    assert new_query == "/services/data/v59.0/query/"
    assert re.fullmatch(r"/services/data/v59\.0/query/01g\w{15}-4", second) and third == second[:-1] + "8"
    last = sf.query_more(first["nextRecordsUrl"][:-1] + "8", identifier_is_url=True)
    assert last["done"] is True and "nextRecordsUrl" not in last and ids_of(last["records"]) == ids[8:]


def test_query_all_iter_pages_by_the_batch_size_header(fake: FakeSalesforce, sf: Salesforce) -> None:
    ids = fake.generate(450)
    records = sf.query_all_iter(ORDERED, headers={"Sforce-Query-Options": "batchSize=200"})
    assert ids_of(list(records)) == ids
    assert len(query_paths(fake)) == 3  # 200 + 200 + 50

    fake.page_size = 100  # the org may answer with fewer than asked for
    assert len(sf.query(ORDERED, headers={"Sforce-Query-Options": "batchSize=300"})["records"]) == 100


def test_query_hides_deleted_and_merged_rows_that_query_all_returns(fake: FakeSalesforce, sf: Salesforce) -> None:
    kept = fake.add(FirstName="Ada", LastName="Lovelace", Account="Analytical Engines")
    merged = fake.add(FirstName="Ada", LastName="Lovelace")
    deleted = fake.add(LastName="Gone")
    fake.merge(merged, kept, stamp=T0 + timedelta(minutes=1))
    fake.delete(deleted, stamp=T0 + timedelta(minutes=2))

    assert ids_of(sf.query_all(ORDERED)["records"]) == [kept]
    rows = {r["Id"]: r for r in sf.query_all(ORDERED, include_deleted=True)["records"]}
    assert set(rows) == {kept, merged, deleted}
    assert rows[merged]["IsDeleted"] is True and rows[merged]["MasterRecordId"] == kept
    assert rows[deleted]["IsDeleted"] is True and rows[deleted]["MasterRecordId"] is None
    assert rows[deleted]["SystemModstamp"] == "2024-01-01T00:02:00.000+0000"
    assert rows[kept]["Account"]["Name"] == "Analytical Engines"
    assert rows[deleted]["Account"] is None
    assert sf.query("SELECT Id FROM Contact WHERE IsDeleted = true")["totalSize"] == 0
    assert sf.query("SELECT Id FROM Contact WHERE IsDeleted = true", include_deleted=True)["totalSize"] == 2

    fake.undelete(deleted)
    fake.purge(merged)
    assert set(ids_of(sf.query_all(ORDERED, include_deleted=True)["records"])) == {kept, deleted}


def test_a_query_pages_through_a_snapshot(fake: FakeSalesforce, sf: Salesforce) -> None:
    fake.page_size = 2
    ids = fake.generate(5)
    names = {r["Id"]: r["LastName"] for r in sf.query_all(ORDERED)["records"]}

    page = sf.query(ORDERED)
    fake.update(ids[4], LastName="Changed")
    fake.purge(ids[3])
    fake.add(LastName="Newcomer")
    seen = list(page["records"])
    while not page["done"]:
        page = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True)
        assert page["totalSize"] == 5
        seen += page["records"]
    assert {r["Id"]: r["LastName"] for r in seen} == names

    fresh = sf.query_all(ORDERED)["records"]
    assert len(fresh) == 5 and fresh[-1]["LastName"] == "Newcomer" and fresh[-2]["LastName"] == "Changed"


def test_order_by_with_ties_and_the_tie_safe_where(fake: FakeSalesforce, sf: Salesforce) -> None:
    tied = T0 + timedelta(hours=1)
    late = [fake.add(LastName=f"Late{i}", stamp=tied + timedelta(hours=1)) for i in range(2)]
    same = [fake.add(LastName=f"Tied{i}", stamp=tied) for i in range(7)]
    early = fake.add(LastName="Early", stamp=T0)

    def window(where: str) -> list[str]:
        soql_text = f"SELECT Id, SystemModstamp FROM Contact WHERE {where} ORDER BY SystemModstamp ASC, Id ASC LIMIT 3"
        return ids_of(sf.query_all(soql_text, include_deleted=True)["records"])

    walked = window("SystemModstamp >= 2024-01-01T00:00:01Z")
    while True:
        last = fake.get(walked[-1])
        since = last["SystemModstamp"].strftime("%Y-%m-%dT%H:%M:%S.000Z")
        batch = window(f"(SystemModstamp = {since} AND Id > '{last['Id']}') OR SystemModstamp > {since}")
        if not batch:
            break
        walked += batch
    assert walked == sorted(same) + late
    assert early not in walked

    descending = sf.query_all("SELECT Id FROM Contact ORDER BY SystemModstamp DESC, Id DESC")["records"]
    assert ids_of(descending) == list(reversed([early, *sorted(same), *late]))


def test_order_by_places_nulls(fake: FakeSalesforce, sf: Salesforce) -> None:
    b = fake.add(LastName="B", Email="b@example.com")
    none = fake.add(LastName="None")
    a = fake.add(LastName="A", Email="a@example.com")
    assert ids_of(sf.query_all("SELECT Id FROM Contact ORDER BY Email")["records"]) == [none, a, b]
    assert ids_of(sf.query_all("SELECT Id FROM Contact ORDER BY Email DESC")["records"]) == [b, a, none]
    assert ids_of(sf.query_all("SELECT Id FROM Contact ORDER BY Email ASC NULLS LAST")["records"]) == [a, b, none]
    assert ids_of(sf.query_all("SELECT Id FROM Contact ORDER BY LastName LIMIT 2 OFFSET 1")["records"]) == [b, none]


def test_count(fake: FakeSalesforce, sf: Salesforce) -> None:
    fake.page_size = 2
    ids = fake.generate(5, stamp=T0)
    fake.delete(ids[0], stamp=T0)
    assert sf.query("SELECT COUNT() FROM Contact") == {"totalSize": 4, "done": True, "records": []}
    assert sf.query("select count() from contact", include_deleted=True)["totalSize"] == 5
    assert sf.query("SELECT COUNT() FROM Contact WHERE SystemModstamp > 2024-01-01T00:00:00Z")["totalSize"] == 0


@pytest.mark.parametrize(
    "literal",
    ["2024-01-01T00:00:00Z", "2024-01-01T00:00:00.000Z", "2024-01-01T00:00:00+00:00", "2023-12-31T19:00:00-05:00"],
)
def test_datetime_literal_forms(fake: FakeSalesforce, sf: Salesforce, literal: str) -> None:
    fake.add(LastName="Before", stamp=T0 - timedelta(milliseconds=1))
    at = fake.add(LastName="At", stamp=T0)
    assert ids_of(sf.query_all(f"SELECT Id FROM Contact WHERE SystemModstamp >= {literal}")["records"]) == [at]


def test_where_operators_and_case_insensitive_names(fake: FakeSalesforce, sf: Salesforce) -> None:
    ada = fake.add(FirstName="Ada", LastName="O'Hara", Email="ADA@example.com", Account="Acme")
    bob = fake.add(FirstName="Bob", LastName="Smith", Email=None)
    cy = fake.add(FirstName="Cy", LastName="Smith", Email="cy@acme.com")

    def found(where: str) -> set[str]:
        return set(ids_of(sf.query_all(f"SELECT Id FROM Contact WHERE {where}")["records"]))

    assert found("email = 'ada@EXAMPLE.com'") == {ada}
    assert found("Email != null") == {ada, cy}
    assert found("Email = null") == {bob}
    assert found("Email != 'cy@acme.com'") == {ada, bob}
    assert found("LastName = 'O\\'Hara'") == {ada}
    assert found("LastName IN ('smith', 'Nobody')") == {bob, cy}
    assert found("LastName NOT IN ('Smith')") == {ada}
    assert found("Email LIKE '%@acme.com'") == {cy}
    assert found("Name LIKE 'ada o_hara'") == {ada}
    assert found("NOT (LastName = 'Smith' AND FirstName = 'Bob')") == {ada, cy}
    assert found("(FirstName = 'Bob' OR FirstName = 'Cy') AND Email != null") == {cy}
    assert found("Account.Name = 'acme'") == {ada}
    assert found("IsDeleted = FALSE") == {ada, bob, cy}

    record = sf.query("select id, EMAIL, account.name, NAME from CONTACT where lastname = 'o\\'hara'")["records"][0]
    assert list(record) == ["attributes", "Id", "Email", "Account", "Name"]
    assert record["Account"]["Name"] == "Acme" and record["Name"] == "Ada O'Hara"


@pytest.mark.parametrize(
    ("query", "code", "text"),
    [
        ("SELECT Id, Foo FROM Contact", "INVALID_FIELD", "No such column 'Foo' on entity 'Contact'"),
        ("SELECT Id, Owner.Name FROM Contact", "INVALID_FIELD", "Didn't understand relationship 'Owner'"),
        ("SELECT Id FROM Contact WHERE", "MALFORMED_QUERY", "unexpected token: '<EOF>'"),
        ("SELECT Id FROM Contact WHERE Email = 'a' AND Phone = 'b' OR Fax = 'c'", "MALFORMED_QUERY", "'OR'"),
        ("SELECT Id FROM Contact WHERE SystemModstamp > '2024-01-01T00:00:00Z'", "INVALID_FIELD", "dateTime"),
        ("SELECT Id FROM Contact WHERE SystemModstamp > 2024-01-01T00:00:00", "MALFORMED_QUERY", "ERROR at Row:1"),
        ("SELECT Id FROM Contact WHERE Email = 2024-01-01T00:00:00Z", "INVALID_FIELD", "enclosed in quotes"),
        ("SELECT Id FROM Account", "INVALID_TYPE", "sObject type 'Account' is not supported"),
        ("SELECT Id, Id FROM Contact", "MALFORMED_QUERY", "duplicate field selected: Id"),
        ("SELECT Id FROM Contact WHERE LastName = 'a\\qb'", "MALFORMED_QUERY", "Illegal character sequence"),
    ],
)
def test_bad_soql_is_refused_like_salesforce(sf: Salesforce, query: str, code: str, text: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query(query)
    assert error_code(caught.value) == code
    assert text in caught.value.content[0]["message"]


def test_custom_fields_must_be_declared(fake: FakeSalesforce, sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query("SELECT Id, Extension__c FROM Contact")
    assert error_code(caught.value) == "INVALID_FIELD"
    fake.add_field("Extension__c")
    fake.add_field("Opted_In__c", "boolean")
    record_id = fake.add(LastName="Ext", Extension__c="204")
    records = sf.query("SELECT Id, extension__c, Opted_In__c FROM Contact")["records"]
    assert [(r["Id"], r["Extension__c"], r["Opted_In__c"]) for r in records] == [(record_id, "204", False)]
    described = {f["name"]: f for f in sf.Contact.describe()["fields"]}
    assert described["Extension__c"]["custom"] is True and described["Opted_In__c"]["type"] == "boolean"
    assert {"Email", "Phone", "SystemModstamp", "MasterRecordId"} <= set(described)


# -- Bulk API 2.0 ----------------------------------------------------------------------------------------------


def read_csv(page: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(page)))


def test_bulk2_query_returns_csv_pages(fake: FakeSalesforce, sf: Salesforce) -> None:
    ids = fake.generate(25)
    fake.delete(ids[0])
    soql_text = f"SELECT {FIELDS} FROM Contact"

    pages = list(sf.bulk2.Contact.query(soql_text, max_records=10, wait=0.01))
    assert [len(read_csv(str(page))) for page in pages] == [10, 10, 4]
    assert str(pages[0]).splitlines()[0] == ",".join(f'"{name}"' for name in FIELDS.split(", "))
    rows = [row for page in pages for row in read_csv(str(page))]
    assert [row["Id"] for row in rows] == ids[1:]
    assert {row["IsDeleted"] for row in rows} == {"false"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", rows[0]["SystemModstamp"])
    by_id = {row["Id"]: row for row in rows}
    for record_id in ids[1:]:
        stored = fake.get(record_id)
        assert by_id[record_id]["Account.Name"] == (stored["Account"] or "")
        assert by_id[record_id]["MasterRecordId"] == ""

    everything = [row for page in sf.bulk2.Contact.query_all(soql_text, wait=0.01) for row in read_csv(str(page))]
    assert len(everything) == 25
    assert {row["Id"]: row["IsDeleted"] for row in everything}[ids[0]] == "true"
    results = [r for r in fake.requests if r.path.endswith("/results")]
    assert len(results) == 4  # three pages of 10, then one default-sized page


def test_bulk2_polls_until_the_job_completes(fake: FakeSalesforce, sf: Salesforce) -> None:
    fake.generate(3)
    fake.bulk_polls_before_complete = 2
    pages = list(sf.bulk2.Contact.query("SELECT Id FROM Contact", wait=0.01))
    assert len(read_csv(str(pages[0]))) == 3
    polls = [r for r in fake.requests if re.fullmatch(r"/services/data/v59\.0/jobs/query/750\w+", r.path)]
    assert len(polls) == 3


@pytest.mark.parametrize("clause", ["ORDER BY Id", "LIMIT 5"])
def test_bulk2_refuses_order_by_and_limit(sf: Salesforce, clause: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        list(sf.bulk2.Contact.query(f"SELECT Id FROM Contact {clause}", wait=0.01))
    assert error_code(caught.value) == "INVALIDJOB"


def test_bulk2_refuses_count_and_reports_soql_errors(sf: Salesforce) -> None:
    for query in ("SELECT COUNT() FROM Contact", "SELECT Nope FROM Contact"):
        with pytest.raises(SalesforceMalformedRequest) as caught:
            list(sf.bulk2.Contact.query(query, wait=0.01))
        assert error_code(caught.value) == "INVALIDJOB"
    assert "INVALID_FIELD" in caught.value.content[0]["message"]


def test_bulk2_locators_survive_a_new_client(fake: FakeSalesforce, sf: Salesforce) -> None:
    ids = fake.generate(7)
    client = sf.bulk2.Contact._client
    job = client.create_job(Operation.query_all, "SELECT Id FROM Contact")
    client.wait_for_job(job["id"], True, 0.01)
    first = client.get_query_results(job["id"], "", 3)
    assert first["number_of_records"] == 3 and first["locator"]

    with HttpRewriteSession(fake.url) as other_session:
        other = connect(fake, other_session).bulk2.Contact._client
        second = other.get_query_results(job["id"], first["locator"], 3)
        again = other.get_query_results(job["id"], first["locator"], 3)
        rest = other.get_query_results(job["id"], second["locator"], 100)
    assert second == again
    assert [row["Id"] for row in read_csv(second["records"])] == ids[3:6]
    assert rest["locator"] == "" and [row["Id"] for row in read_csv(rest["records"])] == ids[6:]


# -- sessions, limits and faults -------------------------------------------------------------------------------


def test_expired_or_unknown_tokens_get_invalid_session_id(
    fake: FakeSalesforce, sf: Salesforce, session: requests.Session
) -> None:
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 0
    fake.expire_tokens()
    with pytest.raises(SalesforceExpiredSession) as caught:
        sf.query("SELECT COUNT() FROM Contact")
    assert caught.value.content == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    with pytest.raises(SalesforceExpiredSession):
        connect(fake, session, token="made-up").limits()


def test_daily_limit_and_api_usage(fake: FakeSalesforce, sf: Salesforce) -> None:
    fake.daily_limit = 3
    for _ in range(3):
        sf.query("SELECT COUNT() FROM Contact")
    assert sf.api_usage == {"api-usage": Usage(used=3, total=3)}
    with pytest.raises(SalesforceRefusedRequest) as caught:
        sf.query("SELECT COUNT() FROM Contact")
    assert caught.value.content == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    assert sf.api_usage == {"api-usage": Usage(used=3, total=3)}  # simple-salesforce skips it on errors

    fake.daily_limit = 100
    assert sf.limits()["DailyApiRequests"] == {"Max": 100, "Remaining": 95}
    raw = requests.get(f"{fake.url}/services/data/v58.0/limits/", headers={"Authorization": "Bearer TOKEN"})
    assert raw.headers["Sforce-Limit-Info"] == "api-usage=6/100"
    assert raw.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert fake.api_requests == 6


FAULTS: list[tuple[str, type[Exception], str | None]] = [
    ("500", SalesforceGeneralError, "UNKNOWN_EXCEPTION"),
    ("502", SalesforceGeneralError, None),
    ("503", SalesforceGeneralError, None),
    ("reset", requests.ConnectionError, None),
    ("timeout", requests.ReadTimeout, None),
    ("malformed", requests.exceptions.JSONDecodeError, None),
    ("expired", SalesforceExpiredSession, "INVALID_SESSION_ID"),
    ("limit", SalesforceRefusedRequest, "REQUEST_LIMIT_EXCEEDED"),
    ("query_timeout", SalesforceMalformedRequest, "QUERY_TIMEOUT"),
]


@pytest.mark.parametrize(("kind", "raised", "code"), FAULTS, ids=[f[0] for f in FAULTS])
def test_a_fault_does_not_consume_the_page(
    fake: FakeSalesforce, sf: Salesforce, kind: str, raised: type[Exception], code: str | None
) -> None:
    fake.page_size = 2
    fake.timeout_hold = 10  # released when the fake stops
    ids = fake.generate(5)
    first = sf.query(ORDERED)
    fake.inject(kind)
    with pytest.raises(raised) as caught:
        sf.query_more(first["nextRecordsUrl"], identifier_is_url=True, timeout=0.3)
    if code is not None:
        assert error_code(caught.value) == code
    logged = fake.requests[-1]
    assert logged.path == first["nextRecordsUrl"]
    assert logged.status == (None if kind in ("reset", "timeout") else getattr(caught.value, "status", 200))

    retried = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True, timeout=5)
    assert ids_of(retried["records"]) == ids[2:4]


def test_inject_at_match_and_times(fake: FakeSalesforce, sf: Salesforce) -> None:
    count = "SELECT COUNT() FROM Contact"
    fake.inject("503", at=2, times=2)
    sf.query(count)
    for _ in range(2):
        with pytest.raises(SalesforceGeneralError):
            sf.query(count)
    sf.query(count)

    fake.inject("500", match="queryAll")
    sf.query(count)
    with pytest.raises(SalesforceGeneralError):
        sf.query(count, include_deleted=True)
    sf.query(count, include_deleted=True)

    fake.inject("expired", match="SystemModstamp >")  # matches the decoded query string too
    sf.query(count)
    with pytest.raises(SalesforceExpiredSession):
        sf.query(f"{count} WHERE SystemModstamp > 2024-01-01T00:00:00Z")
    assert [r.status for r in fake.requests] == [200, 503, 503, 200, 200, 500, 200, 200, 401]


def test_request_log_and_unknown_resources(fake: FakeSalesforce, sf: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound):
        sf.restful("sobjects/Contact/nothing/here")
    sf.query("SELECT COUNT() FROM Contact")
    assert fake.requests == [
        LoggedRequest("GET", "/services/data/v59.0/sobjects/Contact/nothing/here", 404),
        ("GET", "/services/data/v59.0/query/", 200),
    ]
    assert fake.api_requests == 2
    method, path, status = fake.requests[-1]
    assert (method, path, status) == ("GET", "/services/data/v59.0/query/", 200)
    assert fake.requests[-1].query == "q=SELECT+COUNT%28%29+FROM+Contact"


# -- OAuth -----------------------------------------------------------------------------------------------------


def test_oauth_token_endpoint(fake: FakeSalesforce, session: requests.Session) -> None:
    fake.set_credentials(client_id="cid", client_secret="secret", username="ada@example.com", password="pw")
    token_url = f"{fake.url}/services/oauth2/token"
    form = {"grant_type": "password", "client_id": "cid", "client_secret": "secret"}

    ok = requests.post(token_url, data={**form, "username": "ada@example.com", "password": "pw"})
    assert ok.status_code == 200
    body = ok.json()
    assert body["instance_url"] == fake.url and body["token_type"] == "Bearer"
    assert re.fullmatch(re.escape(fake.url) + r"/id/00D\w{15}/005\w{15}", body["id"])
    assert body["issued_at"].isdigit() and body["signature"]
    assert connect(fake, session, body["access_token"]).query("SELECT COUNT() FROM Contact")["totalSize"] == 0

    wrong_password = requests.post(token_url, data={**form, "username": "ada@example.com", "password": "no"})
    assert (wrong_password.status_code, wrong_password.json()) == (
        400,
        {"error": "invalid_grant", "error_description": "authentication failure"},
    )
    wrong_client = requests.post(token_url, data={**form, "client_secret": "nope", "username": "ada@example.com"})
    assert wrong_client.status_code == 400 and wrong_client.json()["error"] == "invalid_client"

    basic = requests.post(token_url, data={"grant_type": "client_credentials"}, auth=("cid", "secret"))
    in_form = requests.post(token_url, data={**form, "grant_type": "client_credentials"})
    assert basic.status_code == in_form.status_code == 200
    assert basic.json()["access_token"] != in_form.json()["access_token"]

    fake.expire_tokens()
    with pytest.raises(SalesforceExpiredSession):
        connect(fake, session, basic.json()["access_token"]).query("SELECT COUNT() FROM Contact")
    assert fake.api_requests == 2  # token requests are not API calls


# -- seeding ---------------------------------------------------------------------------------------------------


def test_load_the_recorded_nango_response(fake: FakeSalesforce, sf: Salesforce, fixtures_dir: Path) -> None:
    path = fixtures_dir / "crm" / "salesforce" / "nango_contacts__get_services_data_v59_0_query.json"
    recorded = json.loads(path.read_text(encoding="utf-8"))
    ids = fake.load_fixture(path)
    assert len(ids) == recorded["response"]["totalSize"] == 213

    served = sf.query_all(recorded["request"]["params"]["q"])["records"]
    assert sorted(served, key=lambda r: r["Id"]) == sorted(recorded["response"]["records"], key=lambda r: r["Id"])
    stamps = [r["SystemModstamp"] for r in served]
    assert stamps == sorted(stamps)


def test_generate_realistic_contacts(fake: FakeSalesforce) -> None:
    ids = fake.generate(3000, seed=7, bad_rate=0.1)
    rows = [fake.get(record_id) for record_id in ids]
    assert len(set(ids)) == 3000 and all(re.fullmatch(r"003\w{15}", i) for i in ids)
    assert ids[0] == sf_id("003", 1)
    assert 0.6 < sum(r["Account"] is not None for r in rows) / 3000 < 0.8
    assert all((r["Account"] is None) == (r["AccountId"] is None) for r in rows)
    phones = [r["Phone"] for r in rows if r["Phone"]]
    assert any(p.startswith("(") for p in phones) and any(re.fullmatch(r"\d{3}\.\d{3}\.\d{4}", p) for p in phones)
    assert any(p.startswith("+44 ") for p in phones)
    assert any(p in ("n/a", "call me", "TBD") for p in phones)
    assert any(r["Email"] in ("n/a", "not-an-email") for r in rows)
    stamps = [r["SystemModstamp"] for r in rows]
    assert stamps == sorted(stamps) and stamps[-1] == T0 and stamps[0] == T0 - timedelta(seconds=2999)

    with FakeSalesforce() as twin:
        twin.set_clock(T0)
        assert [twin.get(i) for i in twin.generate(3000, seed=7, bad_rate=0.1)] == rows

    same = fake.generate(5, stamp=T0 + timedelta(days=1))
    assert {fake.get(i)["SystemModstamp"] for i in same} == {T0 + timedelta(days=1)}


def test_mutations_stamp_with_the_clock_or_an_explicit_stamp(fake: FakeSalesforce, sf: Salesforce) -> None:
    record_id = fake.add(LastName="Clock")
    assert fake.get(record_id)["SystemModstamp"] == T0 == fake.get(record_id)["CreatedDate"]
    fake.set_clock(T0 + timedelta(hours=1))
    fake.update(record_id, Title="CTO")
    assert fake.get(record_id)["LastModifiedDate"] == T0 + timedelta(hours=1)
    late = fake.add(LastName="Committed late", stamp=T0 - timedelta(days=1))
    found = sf.query_all("SELECT Id FROM Contact WHERE SystemModstamp < 2024-01-01T00:00:00Z")["records"]
    assert ids_of(found) == [late]
    fake.set_clock(None)
    assert abs(fake.now() - datetime.now(UTC)) < timedelta(seconds=5) and fake.now().microsecond % 1000 == 0
    fake.delete(late)
    with pytest.raises(ValueError, match="deleted"):
        fake.update(late, Title="x")


def test_get_updated_and_get_deleted(fake: FakeSalesforce, sf: Salesforce) -> None:
    kept = fake.add(LastName="Kept", stamp=T0 + timedelta(minutes=5))
    gone = fake.add(LastName="Gone", stamp=T0 + timedelta(minutes=5))
    fake.delete(gone, stamp=T0 + timedelta(minutes=10))
    updated = sf.Contact.updated(T0, T0 + timedelta(hours=1))
    assert updated == {"ids": [kept], "latestDateCovered": "2024-01-01T01:00:00.000+0000"}
    deleted = sf.Contact.deleted(T0, T0 + timedelta(hours=1))
    assert deleted["deletedRecords"] == [{"id": gone, "deletedDate": "2024-01-01T00:10:00.000+0000"}]


# -- the SOQL module on its own --------------------------------------------------------------------------------


def test_soql_bounds_of_the_incremental_where() -> None:
    fields = {
        "systemmodstamp": soql.Field("SystemModstamp", "datetime", lambda row: row["SystemModstamp"]),
        "id": soql.Field("Id", "string", lambda row: row["Id"]),
    }

    def resolve(path: str) -> soql.Field:
        if path.lower() not in fields:
            raise soql.UnknownField(f"No such column '{path}'")
        return fields[path.lower()]

    window = "SystemModstamp >= 2024-01-01T00:00:00Z AND SystemModstamp < 2024-01-02T00:00:00Z"
    tie_safe = "(SystemModstamp = 2024-01-01T00:00:00Z AND Id > '003') OR SystemModstamp > 2024-01-01T00:00:00Z"
    day = datetime(2024, 1, 2, tzinfo=UTC)
    assert soql.compile_query(soql.parse(f"SELECT Id FROM Contact WHERE {window}"), resolve).bounds(
        "SystemModstamp"
    ) == soql.Bounds(T0, True, day, False)
    plan = soql.compile_query(soql.parse(f"SELECT Id FROM Contact WHERE {tie_safe}"), resolve)
    assert plan.bounds("SystemModstamp") == soql.Bounds(T0, True, None, True)
    assert plan.predicate is not None
    assert plan.predicate({"SystemModstamp": T0, "Id": "003B"}) is True
    assert plan.predicate({"SystemModstamp": T0, "Id": "002"}) is False
    either = soql.parse("SELECT Id FROM Contact WHERE SystemModstamp > 2024-01-01T00:00:00Z OR Id = 'x'")
    assert soql.compile_query(either, resolve).bounds("SystemModstamp") == soql.Bounds()
