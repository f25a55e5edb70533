"""A fake Salesforce org (Contacts only) served over local HTTP, for connector tests and benchmarks.

It answers what simple-salesforce sends and expects: REST query/queryAll with nextRecordsUrl paging over a
snapshot, Bulk API 2.0 query jobs with CSV result pages, describe, limits, getUpdated/getDeleted and the OAuth
token endpoint, with Salesforce's error arrays, the `Sforce-Limit-Info` header, a daily request limit and
injectable faults (5xx, resets, hangs, truncated bodies, expired sessions, the limit, query timeouts).

Records are immutable named tuples, so a query's snapshot is a list of references that later mutations cannot
change; a list sorted by (SystemModstamp, Id) lets an incremental query bisect a million-record org.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import itertools
import json
import os
import random
import re
from bisect import bisect_left, bisect_right, insort
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any, ClassVar, NamedTuple
from urllib.parse import parse_qs

from tests.fakes import server, soql
from tests.fakes.people import BAD_PHONES, People, gc_paused, spoil, words
from tests.fakes.server import JSON_TYPE, FakeServer, Request, Response

API_VERSION_RE = re.compile(r"/services/data/v(\d+\.\d+)(/.*)?")
FAULT_KINDS = frozenset({"500", "502", "503", "reset", "timeout", "malformed", "expired", "limit", "query_timeout"})
DEFAULT_FIXTURES = Path(
    os.environ.get("CONTACTS_FIXTURES_DIR") or Path(__file__).resolve().parents[3] / "shared/fixtures"
)
DESCRIBE_FIXTURE = DEFAULT_FIXTURES / "crm" / "salesforce" / "cumulusci" / "Contact_describe.json"

_CHECKSUM_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def sf_id(prefix: str, n: int) -> str:
    """An 18-character Salesforce-style id: key prefix, a fixed pod, a 10-digit counter and the case checksum.

    The counter is digits only, so string order equals creation order and the checksum of the last two chunks
    is always "AA".
    """
    body = f"{prefix}FK{n:010d}"
    bits = sum(1 << j for j, ch in enumerate(body[:5]) if ch.isupper())
    return body + _CHECKSUM_CHARS[bits] + "AA"


ORG_ID = sf_id("00D", 1)
USER_ID = sf_id("005", 1)


def utc_ms(moment: datetime) -> datetime:
    """Salesforce keeps datetimes in UTC to the millisecond; naive datetimes are refused to catch test bugs."""
    if moment.tzinfo is None:
        raise ValueError(f"datetime must be timezone-aware: {moment!r}")
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def json_datetime(moment: datetime) -> str:
    """`2024-01-01T00:00:00.000+0000`, as the REST API writes datetimes."""
    return moment.isoformat(timespec="milliseconds")[:-6] + "+0000"


def csv_datetime(moment: datetime) -> str:
    """`2024-01-01T00:00:00.000Z`, as Bulk API 2.0 result CSVs write datetimes."""
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_sf_datetime(text: str) -> datetime:
    """A datetime as Salesforce serves it (`...000+0000`, `...000Z`) or any ISO 8601 string with an offset."""
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    return utc_ms(datetime.fromisoformat(text))


# -- the Contact object ----------------------------------------------------------------------------------------


class ContactRow(NamedTuple):
    """One stored Contact. Immutable: a mutation stores a new row, so query snapshots stay as they were."""

    Id: str
    FirstName: str | None
    LastName: str | None
    Email: str | None
    Phone: str | None
    MobilePhone: str | None
    HomePhone: str | None
    OtherPhone: str | None
    Fax: str | None
    Title: str | None
    Department: str | None
    AccountId: str | None
    Account: str | None  # the parent Account's Name
    IsDeleted: bool
    MasterRecordId: str | None
    CreatedDate: datetime
    LastModifiedDate: datetime
    SystemModstamp: datetime
    extra: Mapping[str, Any] | None  # every other standard or custom field that has a value


_CORE = frozenset(ContactRow._fields) - {"extra"}
_SETTABLE_CORE = _CORE - {"Id", "SystemModstamp"}
_STAMP = itemgetter(ContactRow._fields.index("SystemModstamp"))


def _index_key(row: ContactRow) -> tuple[datetime, str]:
    return row.SystemModstamp, row.Id


# Contact's standard fields (the recorded describe) and their value kinds; every other one is a string.
_STANDARD_FIELDS = words(
    """
Id IsDeleted MasterRecordId AccountId LastName FirstName Salutation Name OtherStreet OtherCity OtherState
OtherPostalCode OtherCountry OtherLatitude OtherLongitude OtherGeocodeAccuracy OtherAddress MailingStreet
MailingCity MailingState MailingPostalCode MailingCountry MailingLatitude MailingLongitude MailingGeocodeAccuracy
MailingAddress Phone Fax MobilePhone HomePhone OtherPhone AssistantPhone ReportsToId Email Title Department
AssistantName LeadSource Birthdate Description OwnerId CreatedDate CreatedById LastModifiedDate LastModifiedById
SystemModstamp LastActivityDate LastCURequestDate LastCUUpdateDate LastViewedDate LastReferencedDate
EmailBouncedReason EmailBouncedDate IsEmailBounced PhotoUrl Jigsaw JigsawContactId CleanStatus IndividualId
"""
)
_FIELD_KINDS = {
    "IsDeleted": "boolean",
    "IsEmailBounced": "boolean",
    "OtherLatitude": "number",
    "OtherLongitude": "number",
    "MailingLatitude": "number",
    "MailingLongitude": "number",
    "OtherAddress": "address",
    "MailingAddress": "address",
    "Birthdate": "date",
    "LastActivityDate": "date",
    "CreatedDate": "datetime",
    "LastModifiedDate": "datetime",
    "SystemModstamp": "datetime",
    "LastCURequestDate": "datetime",
    "LastCUUpdateDate": "datetime",
    "LastViewedDate": "datetime",
    "LastReferencedDate": "datetime",
    "EmailBouncedDate": "datetime",
}
_DESCRIBE_TYPES = {"string": "string", "boolean": "boolean", "datetime": "datetime", "date": "date", "number": "double"}
_EXTRA_DEFAULTS: dict[str, Any] = {"OwnerId": USER_ID, "CreatedById": USER_ID, "LastModifiedById": USER_ID}


def _full_name(row: ContactRow) -> str | None:
    return " ".join(part for part in (row.FirstName, row.LastName) if part) or None


def _extra_getter(name: str, default: Any) -> Callable[[ContactRow], Any]:
    def get(row: ContactRow) -> Any:
        return row.extra.get(name, default) if row.extra else default

    return get


# -- generated data ----------------------------------------------------------------------------------------------

_FIRST_NAMES = words(
    """
James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph Jessica
Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Sandra Mark Margaret Donald Ashley
Steven Kimberly Andrew Emily Paul Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah
Timothy Stephanie Ronald Rebecca Jason Laura Edward Sharon Jeffrey Cynthia Ryan Kathleen Jacob Amy Gary Angela
Nicholas Shirley Eric Anna Jonathan Brenda Stephen Pamela Larry Emma Justin Nicole Scott Helen Brandon Samantha
Benjamin Katherine Samuel Christine Gregory Debra Alexander Rachel Patrick Carolyn Frank Janet Raymond Maria Jack
Heather Dennis Diane Jerry Julie Tyler Joyce Aaron Victoria José Zoë Renée François Søren Mei Hiroshi Priya Arjun
Fatima Omar Chen Wei Olga Ivan Lucía Mateo Aisha Kwame Ngozi Lars Ingrid Björn Siobhan Declan Giulia Marco
"""
)
_LAST_NAMES = words(
    """
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson Anderson
Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young
Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter
Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers
Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez
Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez
Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero
Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson
Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald Woods Washington
Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez
Silva Shaw Snyder Mason Dixon Muñoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox
O'Brien Müller Schmidt Dubois Rossi Novak Kowalski Yamamoto Sato Singh Kumar Okafor Mensah Larsen Johansson
"""
)
_COMPANY_WORDS = words(
    """
Acme Globex Initech Umbrella Stark Wayne Hooli Vandelay Soylent Tyrell Cyberdyne Wonka Gringotts Pied Aperture Massive
Dynamic Oscorp Nakatomi Virtucon Monarch Sterling Blue Summit Edge Grand Pyramid Burlington Express Dickenson Genepoint
United Northwind Contoso Fabrikam Litware Adventure Tailspin Proseware Alpine Coho
"""
)
_COMPANY_SUFFIXES = words("Corp Inc. LLC Group Partners Holdings Labs Systems Logistics Health Energy Media Foods")
_FREE_MAIL = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "proton.me", "aol.com")
_TITLES = words(
    "CEO|CFO|CTO|COO|VP, Sales|VP, Marketing|SVP, Procurement|SVP, Operations|Director of Finance|Sales Manager|"
    "Account Executive|Office Manager|Buyer|Senior Buyer|Procurement Specialist|Software Engineer|Engineering Manager|"
    "Product Manager|Marketing Coordinator|HR Generalist|Recruiter|Controller|Accountant|Customer Success Manager|"
    "Operations Analyst|Regional Manager|Head of IT|IT Administrator|Executive Assistant|Consultant",
    sep="|",
)
_DEPARTMENTS = words("Sales Marketing Finance Procurement Engineering Operations IT HR Legal Support Executive")
_AREA_CODES = [int(code) for code in words("212 213 214 206 303 305 310 312 404 415 469 503 512 602 612 617 646")]
_AREA_CODES += [int(code) for code in words("702 713 720 773 818 917 919 952 971 480 615 704 801")]
_PEOPLE = People.of(
    _FIRST_NAMES,
    _LAST_NAMES,
    _COMPANY_WORDS,
    _COMPANY_SUFFIXES,
    _FREE_MAIL,
    local_cuts=(0.4, 0.6, 0.75, 0.85),
    work_share=0.85,
)


def _us_phone(rnd: Callable[[], float]) -> str:
    area = _AREA_CODES[int(rnd() * len(_AREA_CODES))]
    exchange = 200 + int(rnd() * 800)
    if exchange == 555 or exchange % 100 == 11:
        exchange += 1
    line = int(rnd() * 10000)
    style = rnd()
    if style < 0.35:
        return f"({area}) {exchange}-{line:04d}"
    if style < 0.55:
        return f"{area}.{exchange}.{line:04d}"
    if style < 0.72:
        return f"{area}-{exchange}-{line:04d}"
    if style < 0.82:
        return f"+1 {area} {exchange} {line:04d}"
    if style < 0.88:
        return f"1-{area}-{exchange}-{line:04d}"
    if style < 0.95:
        return f"{area}{exchange}{line:04d}"
    return f"({area}) {exchange}-{line:04d} x{100 + int(rnd() * 900)}"


def _intl_phone(rnd: Callable[[], float]) -> str:
    def d(k: int) -> str:
        return str(int(rnd() * 10**k)).zfill(k)

    style = int(rnd() * 6)
    if style == 0:
        return f"+44 20 7{d(3)} {d(4)}"
    if style == 1:
        return f"+49 30 {int(1000000 + rnd() * 8999999)}"
    if style == 2:
        return f"+33 1 {d(2)} {d(2)} {d(2)} {d(2)}"
    if style == 3:
        return f"+61 2 9{d(3)} {d(4)}"
    if style == 4:
        return f"+91 98{d(3)} {d(5)}"
    return f"+52 55 {d(4)} {d(4)}"


def _phone(rnd: Callable[[], float]) -> str:
    return _intl_phone(rnd) if rnd() < 0.08 else _us_phone(rnd)


# -- HTTP plumbing -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, init=False, eq=False)
class LoggedRequest(server.LoggedRequest):
    """One request the fake served; status is None when a fault dropped the connection without answering.

    It unpacks and compares as the tuple `(method, path, status)`, so tests can list the requests they expect;
    `query`, `headers` and `body` (as text) stay aside.
    """

    def __init__(
        self,
        method: str,
        path: str,
        status: int | None,
        query: str = "",
        headers: dict[str, str] | None = None,
        body: str = "",
    ) -> None:
        super().__init__(method, path, query, {} if headers is None else headers, status, body)

    def _key(self) -> tuple[str, str, int | None]:
        return self.method, self.path, self.status

    def __iter__(self) -> Iterator[Any]:
        return iter(self._key())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LoggedRequest):
            return self._key() == other._key()
        if isinstance(other, tuple):
            return self._key() == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._key())


@dataclass
class _Cursor:
    rows: list[ContactRow]
    fields: tuple[soql.Field, ...]
    page_size: int


@dataclass
class _BulkJob:
    id: str
    operation: str
    rows: list[ContactRow]
    fields: tuple[soql.Field, ...]
    delimiter: str
    line_ending: str
    column_delimiter: str
    line_ending_name: str
    api_version: str
    created: datetime
    polls_left: int
    state: str = "UploadComplete"


class _HttpError(Exception):
    """A Salesforce error answer: status plus the `[{"message", "errorCode"}]` body."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message


def _json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    """Salesforce escapes non-ASCII characters in its JSON."""
    return Response(status, json.dumps(payload, separators=(",", ":")).encode(), JSON_TYPE, headers or {})


def _error_response(status: int, error_code: str, message: str) -> Response:
    return _json_response(status, [{"message": message, "errorCode": error_code}])


def _params(request: Request) -> dict[str, str]:
    """The query parameters; of a repeated one, Salesforce reads the first."""
    return {name: values[0] for name, values in parse_qs(request.query, keep_blank_values=True).items()}


# -- the org -----------------------------------------------------------------------------------------------------


class FakeSalesforce(FakeServer):
    """An in-memory Salesforce org of Contacts with an HTTP server speaking the REST, Bulk 2.0 and OAuth APIs.

    `latency` is the time each /services/data answer takes, as a real org's network and query time would
    (benchmarks); the token endpoint answers at once. Every /services/data request counts in `api_used`, faulted
    ones included.
    """

    fault_kinds: ClassVar[frozenset[str]] = FAULT_KINDS
    api_prefix: ClassVar[str] = "/services/data/"
    server_name: ClassVar[str] = "FakeSalesforce/1.0"
    latency_api_only: ClassVar[bool] = True

    def __init__(self, *, describe_path: Path | None = None) -> None:
        super().__init__()
        self.page_size = 2000
        self.daily_limit = 100_000
        self.api_used = 0
        self.bulk_polls_before_complete = 0
        self.max_cursors = 10  # Salesforce keeps 10 open query cursors per user and releases the oldest
        self.earliest_date_available: datetime | None = None
        self._describe_path = describe_path or DESCRIBE_FIXTURE
        self._rows: dict[str, ContactRow] = {}
        self._index: list[ContactRow] = []  # sorted by (SystemModstamp, Id)
        self._seq = 0
        self._clock: datetime | None = None
        self._accounts: dict[str, str] = {}  # name -> id
        self._account_names: dict[str, str] = {}  # id -> name
        self._fields: dict[str, soql.Field] = {}
        self._custom: dict[str, str] = {}  # name -> kind
        self._cursors: OrderedDict[str, _Cursor] = OrderedDict()
        self._jobs: dict[str, _BulkJob] = {}
        self._tokens: set[str] = set()
        self._client: tuple[str, str] | None = None
        self._user: tuple[str, str] | None = None
        self._counter = 0
        self._build_fields()

    # -- clock and auth ----------------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The org clock: the fixed time from set_clock, else real UTC now, to the millisecond."""
        return self._clock or utc_ms(datetime.now(UTC))

    def set_clock(self, moment: datetime | None) -> None:
        """Fix the org clock (None: follow real time again)."""
        self._clock = utc_ms(moment) if moment is not None else None

    def set_credentials(
        self, *, client_id: str, client_secret: str, username: str | None = None, password: str | None = None
    ) -> None:
        """The connected app (and user) the token endpoint accepts; without a username the password grant fails."""
        self._client = (client_id, client_secret)
        self._user = (username, password or "") if username is not None else None

    def add_token(self, token: str) -> None:
        """Accept a static bearer token, as if issued earlier."""
        with self._lock:
            self._tokens.add(token)

    def expire_tokens(self) -> None:
        """Every token issued or added so far stops working (401 INVALID_SESSION_ID)."""
        with self._lock:
            self._tokens.clear()

    # -- schema ------------------------------------------------------------------------------------------------

    def _build_fields(self) -> None:
        positions = {name: i for i, name in enumerate(ContactRow._fields)}
        for name in _STANDARD_FIELDS:
            kind = _FIELD_KINDS.get(name, "string")
            if name == "Name":
                get: Callable[[ContactRow], Any] = _full_name
            elif name in positions and name != "Account":
                get = itemgetter(positions[name])
            else:
                get = _extra_getter(name, False if kind == "boolean" else _EXTRA_DEFAULTS.get(name))
            self._fields[name.lower()] = soql.Field(name, kind, get)

    def add_field(self, name: str, kind: str = "string") -> None:
        """Declare a custom field (e.g. `Extension__c`); kind is string, boolean, datetime, date or number."""
        if kind not in _DESCRIBE_TYPES:
            raise ValueError(f"unknown field kind {kind!r}")
        if name.lower() in self._fields:
            raise ValueError(f"Contact already has a field {name!r}")
        with self._lock:
            self._custom[name] = kind
            default = False if kind == "boolean" else None
            self._fields[name.lower()] = soql.Field(name, kind, _extra_getter(name, default))

    def _resolve(self, path: str) -> soql.Field:
        if "." in path:
            relationship, _, sub = path.partition(".")
            if relationship.lower() != "account" or "." in sub:
                raise soql.UnknownField(
                    f"Didn't understand relationship '{relationship}' in field path. If you are attempting to use "
                    "a custom relationship, be sure to append the '__r' after the custom relationship name. Please "
                    "reference your WSDL or the describe call for the appropriate names."
                )
            if sub.lower() == "name":
                return soql.Field("Account.Name", "string", itemgetter(ContactRow._fields.index("Account")))
            if sub.lower() == "id":
                return soql.Field("Account.Id", "string", itemgetter(ContactRow._fields.index("AccountId")))
            raise soql.UnknownField(f"No such column '{sub}' on entity 'Account'. {_FIELD_HINT}")
        found = self._fields.get(path.lower())
        if found is None:
            raise soql.UnknownField(f"No such column '{path}' on entity 'Contact'. {_FIELD_HINT}")
        return found

    def _plan(self, text: str) -> soql.Plan:
        query = soql.parse(text)
        if query.sobject.lower() != "contact":
            raise soql.SoqlError(
                "INVALID_TYPE",
                f"\n{text}\n{' ' * query.sobject_pos}^\nERROR at Row:1:Column:{query.sobject_pos + 1}\n"
                f"sObject type '{query.sobject}' is not supported. If you are attempting to use a custom object, "
                "be sure to append the '__c' after the entity name. Please reference your WSDL or the describe "
                "call for the appropriate names.",
            )
        return soql.compile_query(query, self._resolve)

    # -- records -----------------------------------------------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _account_id(self, name: str) -> str:
        with self._lock:
            account_id = self._accounts.get(name)
            if account_id is None:
                account_id = sf_id("001", len(self._accounts) + 1)
                self._accounts[name] = account_id
                self._account_names[account_id] = name
            return account_id

    def _stamp(self, stamp: datetime | None) -> datetime:
        return utc_ms(stamp) if stamp is not None else self.now()

    def _apply(self, base: ContactRow, fields: Mapping[str, Any]) -> ContactRow:
        """A copy of `base` with `fields` set: core fields in place, others in `extra`, the Account kept coherent."""
        core: dict[str, Any] = {}
        extra = dict(base.extra or {})
        for name, value in fields.items():
            if name == "Name":
                raise ValueError("Name is computed from FirstName and LastName")
            if name == "SystemModstamp":
                raise ValueError("SystemModstamp is set by the org: pass stamp=... instead")
            if isinstance(value, datetime):
                value = utc_ms(value)
            if name in _SETTABLE_CORE:
                core[name] = value
                continue
            known = self._fields.get(name.lower())
            if known is None or known.name != name or name in _CORE:
                raise ValueError(f"Contact has no field {name!r} (declare custom fields with add_field)")
            if value is None:
                extra.pop(name, None)
            else:
                extra[name] = value
        if "Account" in core and "AccountId" not in core:
            core["AccountId"] = self._account_id(core["Account"]) if core["Account"] is not None else None
        elif "AccountId" in core and "Account" not in core:
            core["Account"] = self._account_names.get(core["AccountId"]) if core["AccountId"] is not None else None
        elif core.get("Account") is not None and core.get("AccountId") is not None:
            with self._lock:
                self._accounts.setdefault(core["Account"], core["AccountId"])
                self._account_names.setdefault(core["AccountId"], core["Account"])
        if "IsDeleted" in core:
            core["IsDeleted"] = bool(core["IsDeleted"])
        return base._replace(**core, extra=extra or None)

    def _blank(self, row_id: str, stamp: datetime) -> ContactRow:
        return ContactRow(
            row_id,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            False,
            None,
            stamp,
            stamp,
            stamp,
            None,
        )

    def _index_add(self, row: ContactRow) -> None:
        if not self._index or _index_key(row) > _index_key(self._index[-1]):
            self._index.append(row)
        else:
            insort(self._index, row, key=_index_key)

    def _index_remove(self, row: ContactRow) -> None:
        i = bisect_left(self._index, _index_key(row), key=_index_key)
        if i >= len(self._index) or self._index[i] is not row:
            raise RuntimeError(f"index out of step with the store for {row.Id}")
        del self._index[i]

    def _store(self, row: ContactRow, old: ContactRow | None) -> None:
        if old is not None:
            self._index_remove(old)
        self._rows[row.Id] = row
        self._index_add(row)

    def _get_row(self, record_id: str) -> ContactRow:
        row = self._rows.get(record_id)
        if row is None:
            raise KeyError(f"no Contact {record_id}")
        return row

    def add(self, *, stamp: datetime | None = None, **fields: Any) -> str:
        """Create a Contact; `Account="Acme"` links a (deterministic) Account. Returns the new Id."""
        moment = self._stamp(stamp)
        with self._lock:
            row_id = fields.pop("Id", None) or sf_id("003", self._next_seq())
            if row_id in self._rows:
                raise ValueError(f"duplicate Id {row_id}")
            fields.setdefault("CreatedDate", moment)
            fields.setdefault("LastModifiedDate", moment)
            row = self._apply(self._blank(row_id, moment), fields)
            self._store(row, None)
            return row_id

    def update(self, record_id: str, *, stamp: datetime | None = None, **fields: Any) -> None:
        """Change fields of a live Contact; SystemModstamp and LastModifiedDate move to `stamp` or the clock."""
        moment = self._stamp(stamp)
        with self._lock:
            old = self._get_row(record_id)
            if old.IsDeleted:
                raise ValueError(f"{record_id} is deleted (ENTITY_IS_DELETED): undelete it first")
            row = self._apply(old, fields)._replace(LastModifiedDate=moment, SystemModstamp=moment)
            self._store(row, old)

    def delete(self, record_id: str, *, stamp: datetime | None = None) -> None:
        """Soft delete: the row moves to the recycle bin, visible to queryAll with IsDeleted=true."""
        moment = self._stamp(stamp)
        with self._lock:
            old = self._get_row(record_id)
            if old.IsDeleted:
                raise ValueError(f"{record_id} is already deleted")
            self._store(old._replace(IsDeleted=True, LastModifiedDate=moment, SystemModstamp=moment), old)

    def undelete(self, record_id: str, *, stamp: datetime | None = None) -> None:
        """Restore a soft-deleted row (clearing MasterRecordId if it was merged away)."""
        moment = self._stamp(stamp)
        with self._lock:
            old = self._get_row(record_id)
            if not old.IsDeleted:
                raise ValueError(f"{record_id} is not deleted")
            row = old._replace(IsDeleted=False, MasterRecordId=None, LastModifiedDate=moment, SystemModstamp=moment)
            self._store(row, old)

    def merge(self, loser_id: str, master_id: str, *, stamp: datetime | None = None) -> None:
        """Merge `loser_id` into `master_id`: the loser is deleted with MasterRecordId set; the master is touched."""
        moment = self._stamp(stamp)
        with self._lock:
            loser, master = self._get_row(loser_id), self._get_row(master_id)
            if loser_id == master_id or loser.IsDeleted or master.IsDeleted:
                raise ValueError("merge needs two different live records")
            self._store(master._replace(LastModifiedDate=moment, SystemModstamp=moment), master)
            merged = loser._replace(
                IsDeleted=True, MasterRecordId=master_id, LastModifiedDate=moment, SystemModstamp=moment
            )
            self._store(merged, loser)

    def purge(self, record_id: str) -> None:
        """Hard delete: gone from query, queryAll and getDeleted alike."""
        with self._lock:
            row = self._get_row(record_id)
            self._index_remove(row)
            del self._rows[record_id]

    def get(self, record_id: str) -> dict[str, Any]:
        """The stored record as a plain dict (Python values, Account as its name), for assertions."""
        with self._lock:
            row = self._get_row(record_id)
        record = {name: getattr(row, name) for name in ContactRow._fields if name != "extra"}
        record["Name"] = _full_name(row)
        record.update(row.extra or {})
        return record

    def ids(self) -> list[str]:
        """Every record id the org holds (deleted ones included), in (SystemModstamp, Id) order."""
        with self._lock:
            return [row.Id for row in self._index]

    def count(self, *, include_deleted: bool = False) -> int:
        """How many Contacts a query (or, with include_deleted, a queryAll) would see."""
        with self._lock:
            if include_deleted:
                return len(self._rows)
            return sum(1 for row in self._index if not row.IsDeleted)

    def _add_many(self, rows: Iterable[ContactRow]) -> None:
        """Bulk insert: append, then sort the index once if the new rows did not arrive in order."""
        with self._lock:
            start = len(self._index)
            for row in rows:
                if row.Id in self._rows:
                    raise ValueError(f"duplicate Id {row.Id}")
                self._rows[row.Id] = row
                self._index.append(row)
            new = self._index[start:]
            in_order = all(_index_key(a) < _index_key(b) for a, b in itertools.pairwise(new))
            if not in_order or (start and new and _index_key(new[0]) < _index_key(self._index[start - 1])):
                self._index.sort(key=_index_key)

    def load_fixture(self, path: str | Path) -> list[str]:
        """Load the records of a recorded query response (keeping Ids and stamps); unknown fields get declared."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        response = data.get("response", data) if isinstance(data, dict) else data
        records = response["records"] if isinstance(response, dict) else response
        rows: list[ContactRow] = []
        for record in records:
            fields = {k: v for k, v in record.items() if k != "attributes"}
            account = fields.pop("Account", None)
            if isinstance(account, dict):
                fields["Account"] = account.get("Name")
                if account.get("Id") and "AccountId" not in fields:
                    fields["AccountId"] = account["Id"]
            fields.pop("Name", None)
            for name, value in list(fields.items()):
                if name in _CORE:
                    if name in ("CreatedDate", "LastModifiedDate", "SystemModstamp") and isinstance(value, str):
                        fields[name] = parse_sf_datetime(value)
                    continue
                known = self._fields.get(name.lower())
                if known is None:
                    kind = (
                        "boolean"
                        if isinstance(value, bool)
                        else "number"
                        if isinstance(value, int | float)
                        else "string"
                    )
                    self.add_field(name, kind)
                    known = self._fields[name.lower()]
                elif known.name != name:
                    fields[known.name] = fields.pop(name)
                if known.kind == "datetime" and isinstance(value, str):
                    fields[known.name] = parse_sf_datetime(value)
                elif known.kind == "date" and isinstance(value, str):
                    fields[known.name] = date.fromisoformat(value)
            stamp = fields.pop("SystemModstamp", None) or self.now()
            fields.setdefault("CreatedDate", stamp)
            fields.setdefault("LastModifiedDate", stamp)
            row_id = fields.pop("Id", None) or sf_id("003", self._next_seq())
            rows.append(self._apply(self._blank(row_id, stamp), fields))
        self._add_many(rows)
        return [row.Id for row in rows]

    def generate(
        self,
        n: int,
        *,
        seed: int = 0,
        stamp: datetime | None = None,
        bad_rate: float = 0.0,
        step: timedelta = timedelta(seconds=1),
    ) -> list[str]:
        """Create `n` realistic Contacts fast (names, mixed-format US and some international phones, emails,
        titles, ~70% with an Account); `bad_rate` makes that share of emails and of phones unusable.

        Stamps ascend with the counter, one `step` apart and ending at the clock, unless `stamp` fixes them all.
        Deterministic for a given seed and org state.
        """
        rnd = random.Random(seed).random
        fixed = utc_ms(stamp) if stamp is not None else None
        end = self.now()
        people = _PEOPLE
        companies = people.companies
        account_ids = [self._account_id(name) for name in companies]
        main_lines = [_us_phone(random.Random(f"{seed}:{name}").random) for name in companies]
        with self._lock:
            first_seq = self._seq + 1
            self._seq += n
        nt, nd = len(_TITLES), len(_DEPARTMENTS)
        rows: list[ContactRow] = []
        append = rows.append
        with gc_paused():
            for i in range(n):
                first, first_ascii, last, last_ascii, company = people.person(rnd)
                email = people.email(rnd, first_ascii, last_ascii, company, bad_rate) if rnd() < 0.9 else None
                phone: str | None = None
                if rnd() < 0.85:
                    phone = main_lines[company] if company >= 0 and rnd() < 0.3 else _phone(rnd)
                    phone = spoil(rnd, phone, BAD_PHONES, bad_rate)
                mobile = _phone(rnd) if rnd() < 0.55 else None
                home = _us_phone(rnd) if rnd() < 0.12 else None
                other = _phone(rnd) if rnd() < 0.05 else None
                fax = _us_phone(rnd) if rnd() < 0.06 else None
                title = _TITLES[int(rnd() * nt)] if rnd() < 0.8 else None
                department = _DEPARTMENTS[int(rnd() * nd)] if rnd() < 0.5 else None
                moment = fixed or end - step * (n - 1 - i)
                append(
                    ContactRow(
                        f"003FK{first_seq + i:010d}YAA",
                        first if rnd() < 0.97 else None,
                        last,
                        email,
                        phone,
                        mobile,
                        home,
                        other,
                        fax,
                        title,
                        department,
                        account_ids[company] if company >= 0 else None,
                        companies[company] if company >= 0 else None,
                        False,
                        None,
                        moment,
                        moment,
                        moment,
                        None,
                    )
                )
            self._add_many(rows)
        return [row.Id for row in rows]

    # -- query execution ---------------------------------------------------------------------------------------

    def _execute(self, plan: soql.Plan, include_deleted: bool) -> list[ContactRow]:
        """Matching rows in result order: bisect the (SystemModstamp, Id) index on the WHERE's stamp range,
        filter, sort unless the index order already is the ORDER BY, then OFFSET/LIMIT."""
        bounds = plan.bounds("SystemModstamp")
        with self._lock:
            lo, hi = 0, len(self._index)
            if bounds.lower is not None:
                find = bisect_left if bounds.lower_inclusive else bisect_right
                lo = find(self._index, bounds.lower, key=_STAMP)
            if bounds.upper is not None:
                find = bisect_right if bounds.upper_inclusive else bisect_left
                hi = find(self._index, bounds.upper, key=_STAMP)
            candidates = self._index[lo:hi]
        predicate = plan.predicate
        matches: Iterable[ContactRow]
        if include_deleted:
            matches = (r for r in candidates if predicate(r)) if predicate else candidates
        elif predicate:
            matches = (r for r in candidates if not r.IsDeleted and predicate(r))
        else:
            matches = (r for r in candidates if not r.IsDeleted)
        offset, limit = plan.query.offset or 0, plan.query.limit
        stop = offset + limit if limit is not None else None
        order = [(f.name, desc) for f, desc, _ in plan.order]
        if order in ([], [("SystemModstamp", False)], [("SystemModstamp", False), ("Id", False)]):
            # The index order already is the result order: stop scanning once LIMIT is reached.
            return list(itertools.islice(matches, offset, stop))
        rows = list(matches)
        plan.sort(rows)
        return rows[offset:stop] if offset or stop is not None else rows

    def _batch_size(self, request: Request) -> int:
        options = request.headers.get("sforce-query-options") or ""
        m = re.search(r"batchSize\s*=\s*(\d+)", options)
        size = self.page_size
        if m:
            size = min(size, max(200, min(2000, int(m.group(1)))))
        return max(1, size)

    def _json_plan(self, fields: tuple[soql.Field, ...]) -> list[tuple[str, Callable[[ContactRow, str], Any]]]:
        """Per selected field, how to write it into a record; Account.* fields share one nested Account object."""
        plan: list[tuple[str, Callable[[ContactRow, str], Any]]] = []
        account_subs = [(f.name.split(".", 1)[1], f.get) for f in fields if f.name.startswith("Account.")]
        account_added = False
        for f in fields:
            if f.name.startswith("Account."):
                if account_added:
                    continue
                account_added = True

                def account(row: ContactRow, version: str, subs: list[Any] = account_subs) -> Any:
                    if row.AccountId is None:
                        return None
                    obj: dict[str, Any] = {
                        "attributes": {
                            "type": "Account",
                            "url": f"/services/data/v{version}/sobjects/Account/{row.AccountId}",
                        }
                    }
                    for sub, get in subs:
                        obj[sub] = get(row)
                    return obj

                plan.append(("Account", account))
                continue
            get = f.get
            if f.kind == "datetime":

                def fmt(row: ContactRow, version: str, get: Callable[[ContactRow], Any] = get) -> Any:
                    value = get(row)
                    return json_datetime(value) if value is not None else None

            elif f.kind == "date":

                def fmt(row: ContactRow, version: str, get: Callable[[ContactRow], Any] = get) -> Any:
                    value = get(row)
                    return value.isoformat() if value is not None else None

            else:

                def fmt(row: ContactRow, version: str, get: Callable[[ContactRow], Any] = get) -> Any:
                    return get(row)

            plan.append((f.name, fmt))
        return plan

    def _records_json(self, rows: list[ContactRow], fields: tuple[soql.Field, ...], version: str) -> list[Any]:
        plan = self._json_plan(fields)
        prefix = f"/services/data/v{version}/sobjects/Contact/"
        out = []
        for row in rows:
            record: dict[str, Any] = {"attributes": {"type": "Contact", "url": prefix + row.Id}}
            for key, fmt in plan:
                record[key] = fmt(row, version)
            out.append(record)
        return out

    # -- HTTP --------------------------------------------------------------------------------------------------

    def arrived(self, request: Request, is_api: bool) -> None:
        if is_api:
            self.api_used += 1

    def handle(self, request: Request) -> Response:
        try:
            return self._route(request)
        except _HttpError as error:
            return _error_response(error.status, error.error_code, error.message)

    def internal_error_response(self) -> Response:
        return _error_response(500, "UNKNOWN_EXCEPTION", "the fake Salesforce failed; see server_errors")

    def finish_response(self, request: Request, response: Response) -> Response:
        """Every /services/data answer reports the day's API usage, as the org does."""
        if request.path.startswith(self.api_prefix):
            response.headers["Sforce-Limit-Info"] = f"api-usage={self.api_used}/{self.daily_limit}"
        return response

    def log_entry(self, request: Request, status: int | None) -> LoggedRequest:
        body = request.body.decode("utf-8", "replace")
        return LoggedRequest(request.method, request.path, status, request.query, request.headers, body)

    def fault_response(self, kind: str, request: Request) -> Response:
        if kind == "500":
            return _error_response(
                500,
                "UNKNOWN_EXCEPTION",
                "An unexpected error occurred. Please include this ErrorId if you contact support: "
                "1234567890-12345 (-1234567890)",
            )
        if kind in ("502", "503"):
            title = "Bad Gateway" if kind == "502" else "Service Unavailable"
            html = f"<html><head><title>{kind} {title}</title></head><body><h1>{title}</h1></body></html>\n"
            return Response(int(kind), html.encode(), "text/html;charset=UTF-8")
        if kind == "malformed":
            return Response(200, b'{"totalSize":2,"done":true,"records":[{"attributes":{"type":"Contact","ur')
        if kind == "expired":
            return _error_response(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if kind == "limit":
            return _error_response(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        return _error_response(400, "QUERY_TIMEOUT", "Your query request was running for too long.")

    def _route(self, request: Request) -> Response:
        if request.path.rstrip("/") == "/services/oauth2/token":
            if request.method != "POST":
                raise _HttpError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed")
            return self._token(request)
        m = API_VERSION_RE.fullmatch(request.path)
        if not request.path.startswith(self.api_prefix) or not m:
            raise _HttpError(404, "NOT_FOUND", "The requested resource does not exist")
        version, rest = m.group(1), m.group(2) or "/"
        self._authenticate(request)
        if self.api_used > self.daily_limit:
            raise _HttpError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        routes: list[tuple[str, str, Callable[..., Response]]] = [
            (r"/(query|queryAll)/?", "GET", self._query),
            (r"/(query|queryAll)/([^/]+)-(\d+)/?", "GET", self._query_more),
            (r"/sobjects/(\w+)/describe/?", "GET", self._describe),
            (r"/sobjects/(\w+)/(updated|deleted)/?", "GET", self._updated_deleted),
            (r"/limits/?", "GET", self._limits),
            (r"/jobs/query/?", "POST", self._bulk_create),
            (r"/jobs/query/(\w+)/?", "GET|PATCH|DELETE", self._bulk_job),
            (r"/jobs/query/(\w+)/results/?", "GET", self._bulk_results),
        ]
        for pattern, methods, handler in routes:
            route = re.fullmatch(pattern, rest)
            if route:
                if request.method not in methods.split("|"):
                    raise _HttpError(
                        405,
                        "METHOD_NOT_ALLOWED",
                        f"HTTP Method '{request.method}' not allowed. Allowed are {methods.replace('|', ',')}",
                    )
                return handler(request, version, *route.groups())
        raise _HttpError(404, "NOT_FOUND", "The requested resource does not exist")

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("authorization") or ""
        scheme, _, token = header.partition(" ")
        with self._lock:
            valid = scheme.lower() in ("bearer", "oauth") and token.strip() in self._tokens
        if not valid:
            raise _HttpError(401, "INVALID_SESSION_ID", "Session expired or invalid")

    def _token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        scheme, _, credentials = (request.headers.get("authorization") or "").partition(" ")
        if scheme.lower() == "basic":
            try:
                client_id, _, client_secret = base64.b64decode(credentials).decode().partition(":")
            except ValueError:
                client_id = client_secret = None
        grant = form.get("grant_type")
        if grant not in ("password", "client_credentials"):
            return _json_response(
                400, {"error": "unsupported_grant_type", "error_description": "grant type not supported"}
            )
        if self._client is None or (client_id, client_secret) != self._client:
            return _json_response(400, {"error": "invalid_client", "error_description": "invalid client credentials"})
        if grant == "password" and (self._user is None or (form.get("username"), form.get("password")) != self._user):
            return _json_response(400, {"error": "invalid_grant", "error_description": "authentication failure"})
        with self._lock:
            self._counter += 1
            issued = self._counter
        secret = self._client[1]
        token = f"{ORG_ID[:15]}!AQ{hashlib.sha256(f'{secret}:{issued}'.encode()).hexdigest()[:48]}"
        self.add_token(token)
        identity = f"{self.url}/id/{ORG_ID}/{USER_ID}"
        issued_at = str(int(datetime.now(UTC).timestamp() * 1000))
        signature = base64.b64encode(hmac.new(secret.encode(), (identity + issued_at).encode(), "sha256").digest())
        payload = {
            "access_token": token,
            "instance_url": self.url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
            "signature": signature.decode(),
            "scope": "api",
        }
        if grant == "client_credentials":
            payload["api_instance_url"] = self.url
        return _json_response(200, payload)

    def _query(self, request: Request, version: str, endpoint: str) -> Response:
        text = _params(request).get("q")
        if not text:
            raise _HttpError(400, "MALFORMED_QUERY", "A query string has to be specified")
        try:
            plan = self._plan(text)
        except soql.SoqlError as error:
            raise _HttpError(400, error.error_code, error.message) from None
        rows = self._execute(plan, include_deleted=endpoint == "queryAll")
        if plan.count:
            return _json_response(200, {"totalSize": len(rows), "done": True, "records": []})
        size = self._batch_size(request)
        cursor = _Cursor(rows, plan.fields, size)
        cursor_id = ""
        if len(rows) > size:
            with self._lock:
                self._counter += 1
                cursor_id = sf_id("01g", self._counter)
                self._cursors[cursor_id] = cursor
                while len(self._cursors) > self.max_cursors:
                    self._cursors.popitem(last=False)
        return self._page(cursor, cursor_id, 0, version)

    def _query_more(self, request: Request, version: str, endpoint: str, cursor_id: str, offset: str) -> Response:
        with self._lock:
            cursor = self._cursors.get(cursor_id)
        start = int(offset)
        if cursor is None or start > len(cursor.rows):
            raise _HttpError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(cursor, cursor_id, start, version)

    def _page(self, cursor: _Cursor, cursor_id: str, start: int, version: str) -> Response:
        end = start + cursor.page_size
        done = end >= len(cursor.rows)
        payload: dict[str, Any] = {"totalSize": len(cursor.rows), "done": done}
        if not done:
            payload["nextRecordsUrl"] = f"/services/data/v{version}/query/{cursor_id}-{end}"
        payload["records"] = self._records_json(cursor.rows[start:end], cursor.fields, version)
        return _json_response(200, payload)

    def _describe(self, request: Request, version: str, sobject: str) -> Response:
        if sobject.lower() != "contact":
            raise _HttpError(404, "NOT_FOUND", "The requested resource does not exist")
        return _json_response(200, self.describe())

    def describe(self) -> dict[str, Any]:
        """The Contact describe: the recorded one (or a minimal stand-in) plus the declared custom fields."""
        if self._describe_path.is_file():
            described: dict[str, Any] = json.loads(self._describe_path.read_text(encoding="utf-8"))
        else:
            described = {
                "name": "Contact",
                "label": "Contact",
                "labelPlural": "Contacts",
                "keyPrefix": "003",
                "custom": False,
                "queryable": True,
                "fields": [
                    {
                        "name": name,
                        "label": name,
                        "type": _DESCRIBE_TYPES.get(_FIELD_KINDS.get(name, "string"), "string"),
                    }
                    for name in _STANDARD_FIELDS
                ],
            }
        template: dict[str, Any] = next((f for f in described["fields"] if f.get("name") == "Department"), {})
        for name, kind in self._custom.items():
            label = name.removesuffix("__c").replace("_", " ")
            described["fields"].append(
                {
                    **template,
                    "name": name,
                    "label": label,
                    "custom": True,
                    "type": _DESCRIBE_TYPES[kind],
                    "length": 255 if kind == "string" else 0,
                    "soapType": {"string": "xsd:string", "boolean": "xsd:boolean", "datetime": "xsd:dateTime"}.get(
                        kind, "xsd:string" if kind != "number" else "xsd:double"
                    ),
                }
            )
        return described

    def _updated_deleted(self, request: Request, version: str, sobject: str, which: str) -> Response:
        if sobject.lower() != "contact":
            raise _HttpError(404, "NOT_FOUND", "The requested resource does not exist")
        params = _params(request)
        try:
            start = parse_sf_datetime(params["start"])
            end = parse_sf_datetime(params["end"])
        except (KeyError, ValueError):
            raise _HttpError(400, "MISSING_ARGUMENT", "start and end are required ISO 8601 datetimes") from None
        with self._lock:
            lo = bisect_left(self._index, start, key=_STAMP)
            hi = bisect_left(self._index, end, key=_STAMP)
            rows = self._index[lo:hi]
            earliest = self.earliest_date_available or (self._index[0].SystemModstamp if self._index else start)
        covered = json_datetime(end.replace(second=0, microsecond=0))
        if which == "updated":
            return _json_response(200, {"ids": [r.Id for r in rows if not r.IsDeleted], "latestDateCovered": covered})
        deleted = [{"id": r.Id, "deletedDate": json_datetime(r.SystemModstamp)} for r in rows if r.IsDeleted]
        return _json_response(
            200,
            {"deletedRecords": deleted, "earliestDateAvailable": json_datetime(earliest), "latestDateCovered": covered},
        )

    def _limits(self, request: Request, version: str) -> Response:
        jobs = len(self._jobs)
        return _json_response(
            200,
            {
                "DailyApiRequests": {"Max": self.daily_limit, "Remaining": max(0, self.daily_limit - self.api_used)},
                "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": max(0, 10000 - jobs)},
                "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
            },
        )

    # -- Bulk API 2.0 ------------------------------------------------------------------------------------------

    def _bulk_create(self, request: Request, version: str) -> Response:
        try:
            payload = json.loads(request.body or b"{}")
        except ValueError:
            raise _HttpError(400, "JSON_PARSER_ERROR", "the request body is not JSON") from None
        operation = payload.get("operation")
        if operation not in ("query", "queryAll"):
            raise _HttpError(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
        text = payload.get("query")
        if not text:
            raise _HttpError(400, "INVALIDJOB", "InvalidJob : Query is required for query jobs")
        column_delimiter = payload.get("columnDelimiter") or "COMMA"
        line_ending = payload.get("lineEnding") or "LF"
        if column_delimiter not in _BULK_DELIMITERS or line_ending not in _BULK_LINE_ENDINGS:
            raise _HttpError(400, "INVALIDJOB", "InvalidJob : invalid columnDelimiter or lineEnding")
        try:
            plan = self._plan(text)
        except soql.SoqlError as error:
            raise _HttpError(
                400, "INVALIDJOB", f"Failed to process query: {error.error_code}: {error.message}"
            ) from None
        for clause, present in (
            ("COUNT()", plan.count),
            ("ORDER BY", bool(plan.query.order_by)),
            ("LIMIT", plan.query.limit is not None),
            ("OFFSET", plan.query.offset is not None),
        ):
            if present:
                raise _HttpError(
                    400, "INVALIDJOB", f"Failed to process query: the {clause} clause isn't supported by Bulk API 2.0"
                )
        rows = self._execute(plan, include_deleted=operation == "queryAll")
        with self._lock:
            self._counter += 1
            job = _BulkJob(
                id=sf_id("750", self._counter),
                operation=operation,
                rows=rows,
                fields=plan.fields,
                delimiter=_BULK_DELIMITERS[column_delimiter],
                line_ending=_BULK_LINE_ENDINGS[line_ending],
                column_delimiter=column_delimiter,
                line_ending_name=line_ending,
                api_version=version,
                created=self.now(),
                polls_left=self.bulk_polls_before_complete,
            )
            self._jobs[job.id] = job
        return _json_response(200, self._job_info(job))

    def _job_info(self, job: _BulkJob) -> dict[str, Any]:
        info: dict[str, Any] = {
            "id": job.id,
            "operation": job.operation,
            "object": "Contact",
            "createdById": USER_ID,
            "createdDate": json_datetime(job.created),
            "systemModstamp": json_datetime(job.created),
            "state": job.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(job.api_version),
            "lineEnding": job.line_ending_name,
            "columnDelimiter": job.column_delimiter,
        }
        if job.state == "JobComplete":
            info.update(jobType="V2Query", numberRecordsProcessed=len(job.rows), retries=0, totalProcessingTime=0)
        return info

    def _get_job(self, job_id: str) -> _BulkJob:
        job = self._jobs.get(job_id)
        if job is None:
            raise _HttpError(404, "NOT_FOUND", f"Job not found: {job_id}")
        return job

    def _bulk_job(self, request: Request, version: str, job_id: str) -> Response:
        with self._lock:
            job = self._get_job(job_id)
            if request.method == "DELETE":
                del self._jobs[job_id]
                return Response(204)
            if request.method == "PATCH":
                try:
                    state = json.loads(request.body or b"{}").get("state")
                except ValueError:
                    state = None
                if state != "Aborted":
                    raise _HttpError(400, "INVALIDJOB", f"InvalidJob : cannot set state {state!r} on a query job")
                if job.state != "JobComplete":
                    job.state = "Aborted"
                return _json_response(200, self._job_info(job))
            if job.state in ("UploadComplete", "InProgress"):
                if job.polls_left > 0:
                    job.polls_left -= 1
                    job.state = "InProgress"
                else:
                    job.state = "JobComplete"
            return _json_response(200, self._job_info(job))

    def _bulk_results(self, request: Request, version: str, job_id: str) -> Response:
        with self._lock:
            job = self._get_job(job_id)
        if job.state != "JobComplete":
            raise _HttpError(412, "JOB_NOT_COMPLETE", f"Job {job_id} is not complete (state {job.state})")
        params = _params(request)
        try:
            max_records = int(params.get("maxRecords") or 0) or None
            locator = params.get("locator") or ""
            start = int(base64.b64decode(locator + "=" * (-len(locator) % 4)).decode()) if locator else 0
        except ValueError:
            raise _HttpError(400, "INVALIDJOB", "InvalidJob : invalid maxRecords or locator") from None
        if (max_records is not None and max_records < 1) or not 0 <= start <= len(job.rows):
            raise _HttpError(400, "INVALIDJOB", "InvalidJob : invalid maxRecords or locator")
        end = len(job.rows) if max_records is None else min(len(job.rows), start + max_records)
        out = io.StringIO()
        writer = csv.writer(out, delimiter=job.delimiter, lineterminator=job.line_ending, quoting=csv.QUOTE_ALL)
        writer.writerow([f.name for f in job.fields])
        getters = [(f.get, f.kind) for f in job.fields]
        for row in job.rows[start:end]:
            writer.writerow([_csv_value(get(row), kind) for get, kind in getters])
        next_locator = base64.b64encode(str(end).encode()).decode().rstrip("=") if end < len(job.rows) else "null"
        headers = {"Sforce-NumberOfRecords": str(end - start), "Sforce-Locator": next_locator}
        return Response(200, out.getvalue().encode(), "text/csv", headers)


_FIELD_HINT = (
    "If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. "
    "Please reference your WSDL or the describe call for the appropriate names."
)
_BULK_DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
_BULK_LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}


def _csv_value(value: Any, kind: str) -> str | None:
    if value is None:
        return None
    if kind == "datetime":
        return csv_datetime(value)
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "date":
        return str(value.isoformat())
    return str(value)
