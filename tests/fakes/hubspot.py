"""A fake HubSpot portal (CRM v3 contacts only) served over local HTTP, for connector tests and benchmarks.

It answers what hubspot-api-client 12 sends and expects: the contacts list with opaque `after` cursors, repeated
(or comma-separated) `properties` and `archived=True|False`, single reads, the property definitions and the search
endpoint with filterGroups, one sort, offset paging, `total` and the 10,000-result cap. Errors carry HubSpot's
bodies; list and read answers carry `X-HubSpot-RateLimit-*` headers and search answers none; search can be rate
limited, can lag behind writes, and any request can be faulted (429 with and without Retry-After, 5xx, resets,
hangs, truncated bodies, 401).

Contacts live in three sorted indexes (live ids, archived ids, and (lastmodifieddate, id) of live contacts), so
list pages are slices and an incremental search bisects a million-contact portal instead of scanning it. There is
no snapshot: search pages by offset over the live data, so writes between pages shift results as they do in
HubSpot.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import operator
import random
import re
import time
import uuid
from bisect import bisect_left, bisect_right, insort
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, parse_qsl, unquote, urlencode

from tests.fakes import server
from tests.fakes.people import BAD_EMAILS as _BAD_EMAILS  # noqa: F401 - the Zoho fake's tests import it from here
from tests.fakes.people import BAD_PHONES as _BAD_PHONES
from tests.fakes.people import FREE_MAIL, PEOPLE, TITLES, gc_paused, phone, spoil, us_phone
from tests.fakes.server import FakeServer, Request, Response

CONTACTS_PATH = "/crm/v3/objects/contacts"
SEARCH_PATH = CONTACTS_PATH + "/search"
PROPERTIES_PATH = "/crm/v3/properties/contacts"
JSON_TYPE = "application/json;charset=utf-8"
FAULT_KINDS = frozenset(
    {"429", "429_no_retry_after", "429_daily", "500", "502", "503", "reset", "timeout", "malformed", "401"}
)

LIST_DEFAULT_LIMIT = 10
LIST_MAX_LIMIT = 100
SEARCH_DEFAULT_LIMIT = 10
SEARCH_MAX_LIMIT = 200
SEARCH_RESULT_CAP = 10_000
MAX_FILTER_GROUPS = 5
MAX_FILTERS_PER_GROUP = 10
MAX_FILTERS = 25
OPERATORS = frozenset(
    {
        "EQ",
        "NEQ",
        "LT",
        "LTE",
        "GT",
        "GTE",
        "BETWEEN",
        "IN",
        "NOT_IN",
        "HAS_PROPERTY",
        "NOT_HAS_PROPERTY",
        "CONTAINS_TOKEN",
        "NOT_CONTAINS_TOKEN",
    }
)
_RANGE_OPERATORS = frozenset({"EQ", "LT", "LTE", "GT", "GTE", "BETWEEN"})

# Returned when a request names no properties (list, read and search alike).
DEFAULT_PROPERTIES = ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname")
# HubSpot adds these to every result even when `properties` does not name them (see the recorded responses).
ALWAYS_RETURNED = frozenset({"createdate", "hs_object_id", "lastmodifieddate"})
# The properties the org computes; tests set them through stamp= and the id counter, never as values.
COMPUTED = frozenset({"lastmodifieddate", "hs_object_id"})

# name: (label, type, fieldType). The types of hs_additional_emails are an inference (a ;-separated multi-value).
STANDARD_PROPERTIES: dict[str, tuple[str, str, str]] = {
    "firstname": ("First Name", "string", "text"),
    "lastname": ("Last Name", "string", "text"),
    "email": ("Email", "string", "text"),
    "phone": ("Phone Number", "string", "phonenumber"),
    "mobilephone": ("Mobile Phone Number", "string", "phonenumber"),
    "fax": ("Fax Number", "string", "phonenumber"),
    "company": ("Company Name", "string", "text"),
    "jobtitle": ("Job Title", "string", "text"),
    "hs_additional_emails": ("Additional email addresses", "enumeration", "checkbox"),
    "createdate": ("Create Date", "datetime", "date"),
    "lastmodifieddate": ("Last Modified Date", "datetime", "date"),
    "hs_object_id": ("Record ID", "number", "number"),
}
_FULL_TEXT_PROPERTIES = ("firstname", "lastname", "email", "phone", "mobilephone", "company")
_HISTORIC = -(2**62)  # `written` of seeded contacts: indexed long ago, so search lag never hides them

_AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more "
    "details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


# -- time --------------------------------------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime; naive datetimes are refused to catch test bugs."""
    if moment.tzinfo is None:
        raise ValueError(f"datetime must be timezone-aware: {moment!r}")
    return (moment - _EPOCH) // _MS


def from_ms(ms: int) -> datetime:
    return _EPOCH + ms * _MS


def iso(ms: int) -> str:
    """`2024-01-01T00:00:00.000Z`: how HubSpot writes datetime properties, createdAt, updatedAt and archivedAt."""
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def parse_instant(value: Any) -> int:
    """Epoch ms from epoch-ms digits, an ISO 8601 string (naive means UTC), a datetime or a number."""
    if isinstance(value, datetime):
        return to_ms(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    return to_ms(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


# -- contacts ----------------------------------------------------------------------------------------------------


class _Contact:
    """One stored contact. `props` holds the non-empty stored properties; the computed ones are attributes."""

    __slots__ = ("archived_at", "created", "id", "modified", "props", "written")

    def __init__(self, contact_id: int, props: dict[str, str], created: int, modified: int, written: int) -> None:
        self.id = contact_id
        self.props = props
        self.created = created
        self.modified = modified
        self.archived_at: int | None = None
        self.written = written  # the portal clock when it was last written, for search lag


def _value(contact: _Contact, name: str) -> Any:
    """A property as searches sort it: ms for datetimes, an int for the id, else the stored string or None."""
    if name == "lastmodifieddate":
        return contact.modified
    if name == "createdate":
        return contact.created
    if name == "hs_object_id":
        return contact.id
    return contact.props.get(name)


def _text(contact: _Contact, name: str) -> str | None:
    """A property as the API writes it: always a string or null."""
    if name == "lastmodifieddate":
        return iso(contact.modified)
    if name == "createdate":
        return iso(contact.created)
    if name == "hs_object_id":
        return str(contact.id)
    return contact.props.get(name)


def _remove(index: list[Any], key: Any) -> None:
    i = bisect_left(index, key)
    if i >= len(index) or index[i] != key:
        raise RuntimeError(f"index out of step with the store for {key!r}")
    del index[i]


def encode_after(contact_id: int) -> str:
    """List cursors are opaque (base64 of the next id, unpadded): a connector must not do arithmetic on them."""
    return base64.urlsafe_b64encode(str(contact_id).encode()).decode().rstrip("=")


def decode_after(cursor: str) -> int:
    text = unquote(cursor).strip()
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    if not re.fullmatch(r"\d+", raw.strip()):
        raise ValueError(cursor)
    return int(raw)


# -- search --------------------------------------------------------------------------------------------------------


@dataclass
class _Filter:
    name: str
    operator: str
    value: Any = None  # ms for datetimes, int for the id, lowercased str otherwise
    high: Any = None
    values: tuple[Any, ...] = ()

    def compile(self) -> Predicate:
        """A closure testing one contact; unset values match only the negative operators (NEQ, NOT_IN,
        NOT_CONTAINS_TOKEN, NOT_HAS_PROPERTY: an inference)."""
        op, value, high = self.operator, self.value, self.high
        get = _comparable_getter(self.name)
        if op == "HAS_PROPERTY":
            return lambda c: get(c) is not None
        if op == "NOT_HAS_PROPERTY":
            return lambda c: get(c) is None
        if op in _COMPARISONS:
            compare, unset = _COMPARISONS[op], op == "NEQ"

            def test(c: _Contact) -> bool:
                actual = get(c)
                return unset if actual is None else bool(compare(actual, value))

            return test
        if op == "BETWEEN":

            def between(c: _Contact) -> bool:
                actual = get(c)
                return actual is not None and bool(value <= actual <= high)

            return between
        if op in ("IN", "NOT_IN"):
            wanted, inside = frozenset(self.values), op == "IN"

            def member(c: _Contact) -> bool:
                actual = get(c)
                return not inside if actual is None else (actual in wanted) == inside

            return member
        contains = op == "CONTAINS_TOKEN"

        def token(c: _Contact) -> bool:
            actual = get(c)
            return not contains if actual is None else _contains_token(actual, value) == contains

        return token

    def bounds(self) -> tuple[Any, Any]:
        """The inclusive [low, high] range an ordered-index operator implies (None: open)."""
        op = self.operator
        if op == "EQ":
            return self.value, self.value
        if op == "GT":
            return self.value + 1, None
        if op == "GTE":
            return self.value, None
        if op == "LT":
            return None, self.value - 1
        if op == "LTE":
            return None, self.value
        return self.value, self.high  # BETWEEN


Predicate = Callable[[_Contact], bool]
_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "EQ": operator.eq,
    "NEQ": operator.ne,
    "LT": operator.lt,
    "LTE": operator.le,
    "GT": operator.gt,
    "GTE": operator.ge,
}


def _comparable_getter(name: str) -> Callable[[_Contact], Any]:
    """A property as filters compare it: ms for datetimes, an int for the id, else the lowercased string or None."""
    if name == "lastmodifieddate":
        return operator.attrgetter("modified")
    if name == "createdate":
        return operator.attrgetter("created")
    if name == "hs_object_id":
        return operator.attrgetter("id")

    def get(c: _Contact) -> str | None:
        value = c.props.get(name)
        return value.lower() if value is not None else None

    return get


def _all_of(tests: list[Predicate]) -> Predicate:
    if len(tests) == 1:
        return tests[0]

    def every(c: _Contact) -> bool:
        for test in tests:  # noqa: SIM110 - all() over a generator is ~3x slower in a million-contact scan
            if not test(c):
                return False
        return True

    return every


def _any_of(tests: list[Predicate]) -> Predicate:
    if len(tests) == 1:
        return tests[0]

    def some(c: _Contact) -> bool:
        for test in tests:  # noqa: SIM110 - as in _all_of
            if test(c):
                return True
        return False

    return some


def _contains_token(actual: str, pattern: str) -> bool:
    """CONTAINS_TOKEN: the whole value or one of its words matches, `*` being a wildcard."""
    if fnmatchcase(actual, pattern):
        return True
    return any(fnmatchcase(token, pattern) for token in re.findall(r"[\w.+@-]+", actual))


def _group_bounds(filters: list[_Filter], name: str) -> tuple[Any, Any]:
    low: Any = None
    high: Any = None
    for f in filters:
        if f.name != name or f.operator not in _RANGE_OPERATORS:
            continue
        lo, hi = f.bounds()
        if lo is not None and (low is None or lo > low):
            low = lo
        if hi is not None and (high is None or hi < high):
            high = hi
    return low, high


# -- HTTP plumbing -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, init=False, eq=False)
class LoggedRequest(server.LoggedRequest):
    """One request the fake served; status is None when a fault dropped the connection without answering.

    `query` is the raw query string; `body` is the parsed JSON of a POST (the raw text if it was not JSON), which
    is what tests of searches look at. Entries compare on method, path, query, status and body (not headers), so
    a test can write the one it expects.
    """

    body: Any = None

    def __init__(
        self,
        method: str,
        path: str,
        query: str,
        status: int | None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(method, path, query, {} if headers is None else headers, status, body)

    def _key(self) -> tuple[Any, ...]:
        return self.method, self.path, self.query, self.status, self.body

    def __eq__(self, other: object) -> bool:
        return self._key() == other._key() if isinstance(other, LoggedRequest) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._key())


class _HttpError(Exception):
    """A HubSpot error answer: status plus the `{"status": "error", "message", "category", ...}` body."""

    def __init__(self, status: int, category: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.message = message
        self.extra = extra


def correlation_id() -> str:
    return str(uuid.uuid4())


def error_body(category: str, message: str, **extra: Any) -> dict[str, Any]:
    """HubSpot's error shape; the SDK's Error model needs correlationId, message and category."""
    return {"status": "error", "message": message, "correlationId": correlation_id(), "category": category, **extra}


def rate_limit_body(policy: str = "SECONDLY") -> dict[str, Any]:
    """The 429 body: errorType RATE_LIMIT and the policy, not a category."""
    window = "secondly" if policy == "SECONDLY" else policy.lower()
    return {
        "status": "error",
        "message": f"You have reached your {window} limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id(),
        "policyName": policy,
        "requestId": correlation_id(),
    }


def _json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    """HubSpot escapes non-ASCII characters and writes `charset=utf-8` in lower case."""
    return Response(status, json.dumps(payload, separators=(",", ":")).encode(), JSON_TYPE, headers or {})


def _validation(message: str, **extra: Any) -> _HttpError:
    return _HttpError(400, "VALIDATION_ERROR", message, **extra)


def _params(request: Request) -> dict[str, list[str]]:
    """Every value of each query parameter: `properties` may repeat."""
    return parse_qs(request.query, keep_blank_values=True)


def _is_search(request: Request) -> bool:
    """Search has its own rate limit and answers without the rate-limit headers."""
    return request.path.rstrip("/") == SEARCH_PATH


# -- the portal --------------------------------------------------------------------------------------------------


class FakeHubSpot(FakeServer):
    """An in-memory HubSpot portal of contacts with an HTTP server speaking the CRM v3 contacts API.

    `latency` slows only /crm/ requests, and `inject(match=...)` also looks in request bodies, where a search's
    filters are.
    """

    fault_kinds: ClassVar[frozenset[str]] = FAULT_KINDS
    api_prefix: ClassVar[str] = "/crm/"
    server_name: ClassVar[str] = "FakeHubSpot/1.0"
    latency_api_only: ClassVar[bool] = True
    fault_match_body: ClassVar[bool] = True

    def __init__(self, *, first_id: int = 1) -> None:
        super().__init__()
        self.search_lag = 0.0  # seconds (org clock) before a write becomes visible to search
        self.search_rps: int | None = None  # search requests allowed per (real) second; None: unlimited
        self.daily_limit = 500_000  # reported in X-HubSpot-RateLimit-Daily*, not enforced
        self.burst_limit = 190  # per 10 s, reported in X-HubSpot-RateLimit-Max/-Remaining, not enforced
        self.max_url_length: int | None = None  # answer 414 past this many characters of path+query; None: off
        self.api_used = 0
        self._contacts: dict[int, _Contact] = {}
        self._live_ids: list[int] = []
        self._archived_ids: list[int] = []
        self._by_modified: list[tuple[int, int]] = []  # (lastmodifieddate ms, id) of live contacts
        self._next_id = first_id
        self._known: dict[str, tuple[str, str, str]] = dict(STANDARD_PROPERTIES)
        self._clock: datetime | None = None
        self._tokens: set[str] = set()
        self._search_times: deque[float] = deque()
        self._basic_times: deque[float] = deque()

    # -- clock and auth --------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The portal clock: the fixed time from set_clock, else real UTC now, to the millisecond."""
        return self._clock or from_ms(to_ms(datetime.now(UTC)))

    def set_clock(self, moment: datetime | None) -> None:
        """Fix the portal clock (None: follow real time again)."""
        self._clock = from_ms(to_ms(moment)) if moment is not None else None

    def advance(self, delta: timedelta | float) -> datetime:
        """Move the clock forward (seconds or a timedelta), fixing it if it followed real time; returns it."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        self.set_clock(self.now() + step)
        return self.now()

    def _now_ms(self) -> int:
        return to_ms(self.now())

    def add_token(self, token: str) -> None:
        """Accept a bearer token (a private-app token or an OAuth access token)."""
        with self._lock:
            self._tokens.add(token)

    def revoke_tokens(self) -> None:
        """Every token stops working (401 INVALID_AUTHENTICATION)."""
        with self._lock:
            self._tokens.clear()

    # -- contacts ----------------------------------------------------------------------------------------------

    def _stamp(self, stamp: datetime | None) -> int:
        return to_ms(stamp) if stamp is not None else self._now_ms()

    def _get(self, contact_id: str | int) -> _Contact:
        try:
            contact = self._contacts.get(int(contact_id))
        except ValueError:
            contact = None
        if contact is None:
            raise KeyError(f"no contact {contact_id}")
        return contact

    def _set_props(self, props: dict[str, str], values: Mapping[str, Any]) -> None:
        for name, value in values.items():
            if name in COMPUTED:
                raise ValueError(f"{name} is set by the portal: pass stamp=... (or a new contact gets the next id)")
            if name == "createdate":
                raise ValueError("createdate can only be given when adding a contact")
            if name not in self._known:
                self._known[name] = (name.replace("_", " ").title(), "string", "text")
            if value is None or value == "":
                props.pop(name, None)
            elif isinstance(value, datetime):
                props[name] = iso(to_ms(value))
            else:
                props[name] = str(value)

    def _index_live(self, contact: _Contact) -> None:
        insort(self._live_ids, contact.id)
        key = (contact.modified, contact.id)
        if not self._by_modified or key > self._by_modified[-1]:
            self._by_modified.append(key)
        else:
            insort(self._by_modified, key)

    def _unindex_live(self, contact: _Contact) -> None:
        _remove(self._live_ids, contact.id)
        _remove(self._by_modified, (contact.modified, contact.id))

    def add(self, *, stamp: datetime | None = None, **properties: Any) -> str:
        """Create a contact with the next id; createdate and lastmodifieddate are `stamp` or the clock
        (`createdate=` may set an earlier creation). Returns the id."""
        moment = self._stamp(stamp)
        created = properties.pop("createdate", None)
        with self._lock:
            props: dict[str, str] = {}
            self._set_props(props, properties)
            contact_id = self._next_id
            self._next_id += 1
            created_ms = parse_instant(created) if created is not None else moment
            contact = _Contact(contact_id, props, created_ms, moment, self._now_ms())
            self._contacts[contact_id] = contact
            self._index_live(contact)
            return str(contact_id)

    def update(self, contact_id: str | int, *, stamp: datetime | None = None, **properties: Any) -> None:
        """Set (None or "" clears) properties of a live contact; lastmodifieddate/updatedAt move to `stamp` or the
        clock."""
        moment = self._stamp(stamp)
        with self._lock:
            contact = self._get(contact_id)
            if contact.archived_at is not None:
                raise ValueError(f"contact {contact_id} is archived: restore it first")
            self._set_props(contact.props, properties)
            self._unindex_live(contact)
            contact.modified = moment
            contact.written = self._now_ms()
            self._index_live(contact)

    def archive(self, contact_id: str | int, *, stamp: datetime | None = None) -> None:
        """Archive (HubSpot's delete): archivedAt is `stamp` or the clock, and lastmodifieddate is NOT bumped, so
        an incremental search never sees it; only `archived=true` listing does. Gone from search at once."""
        moment = self._stamp(stamp)
        with self._lock:
            contact = self._get(contact_id)
            if contact.archived_at is not None:
                raise ValueError(f"contact {contact_id} is already archived")
            self._unindex_live(contact)
            contact.archived_at = moment
            insort(self._archived_ids, contact.id)

    def restore(self, contact_id: str | int, *, stamp: datetime | None = None, touch: bool = True) -> None:
        """Bring an archived contact back: archivedAt is cleared and, with `touch` (the default, an inference),
        lastmodifieddate moves to `stamp` or the clock so incremental searches see it again; `touch=False` keeps
        the old lastmodifieddate (the harsher case: only a full list notices the restore)."""
        moment = self._stamp(stamp)
        with self._lock:
            contact = self._get(contact_id)
            if contact.archived_at is None:
                raise ValueError(f"contact {contact_id} is not archived")
            _remove(self._archived_ids, contact.id)
            contact.archived_at = None
            if touch:
                contact.modified = moment
            contact.written = self._now_ms()
            self._index_live(contact)

    def gdpr_delete(self, contact_id: str | int) -> None:
        """Permanent delete: gone from list, archived list, search and reads alike."""
        with self._lock:
            contact = self._get(contact_id)
            if contact.archived_at is None:
                self._unindex_live(contact)
            else:
                _remove(self._archived_ids, contact.id)
            del self._contacts[contact.id]

    def get(self, contact_id: str | int) -> dict[str, Any]:
        """The contact as the API would write it with every property it has (for assertions)."""
        with self._lock:
            contact = self._get(contact_id)
            names = sorted(ALWAYS_RETURNED | contact.props.keys())
            return self._contact_json(contact, names)

    def ids(self, *, archived: bool | None = False) -> list[str]:
        """Ids in id order: live ones, archived ones (archived=True) or all (None)."""
        with self._lock:
            if archived is None:
                return [str(i) for i in sorted(self._contacts)]
            return [str(i) for i in (self._archived_ids if archived else self._live_ids)]

    def count(self, *, archived: bool = False) -> int:
        """How many contacts the list endpoint would return with that `archived`."""
        with self._lock:
            return len(self._archived_ids if archived else self._live_ids)

    def _add_seeded(self, contacts: list[_Contact]) -> None:
        """Bulk insert of seeded contacts: append to the indexes, sorting each once if needed."""
        with self._lock:
            for contact in contacts:
                if contact.id in self._contacts:
                    raise ValueError(f"duplicate id {contact.id}")
            for contact in contacts:
                self._contacts[contact.id] = contact
                self._next_id = max(self._next_id, contact.id + 1)
            live = [c for c in contacts if c.archived_at is None]
            archived = [c.id for c in contacts if c.archived_at is not None]
            indexes: list[tuple[list[Any], list[Any]]] = [
                (self._live_ids, [c.id for c in live]),
                (self._by_modified, [(c.modified, c.id) for c in live]),
                (self._archived_ids, archived),
            ]
            for index, keys in indexes:
                in_order = not index or not keys or keys[0] > index[-1]
                index.extend(keys)
                if not in_order or any(a > b for a, b in itertools.pairwise(keys)):
                    index.sort()

    def load_fixture(self, path: str | Path) -> list[str]:
        """Load the results of a recorded list (or search) response, keeping ids, properties and timestamps;
        properties the portal does not know yet get declared. Returns the ids in the recorded order."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        response = data.get("response", data) if isinstance(data, dict) else data
        records: Iterable[dict[str, Any]] = response["results"] if isinstance(response, dict) else response
        contacts: list[_Contact] = []
        with self._lock:
            for record in records:
                props = dict(record.get("properties") or {})
                contact_id = int(record.get("id") or props["hs_object_id"])
                created = props.pop("createdate", None) or record.get("createdAt")
                modified = props.pop("lastmodifieddate", None) or record.get("updatedAt") or created
                props.pop("hs_object_id", None)
                stored: dict[str, str] = {}
                self._set_props(stored, props)
                created_ms = parse_instant(created) if created else self._now_ms()
                modified_ms = parse_instant(modified) if modified else created_ms
                contact = _Contact(contact_id, stored, created_ms, modified_ms, _HISTORIC)
                if record.get("archived"):
                    archived_at = record.get("archivedAt")
                    contact.archived_at = parse_instant(archived_at) if archived_at else modified_ms
                contacts.append(contact)
            self._add_seeded(contacts)
        return [str(c.id) for c in contacts]

    def generate(
        self,
        n: int,
        *,
        seed: int = 0,
        step: timedelta = timedelta(seconds=1),
        stamp: datetime | None = None,
        bad_rate: float = 0.0,
    ) -> list[str]:
        """Create `n` realistic contacts fast: names with accents, work and free-mail emails, mixed-format US and
        international phones, ~10% with hs_additional_emails; `bad_rate` makes that share of emails and phones
        unusable. Stamps ascend with the id, `step` apart and ending at the clock, unless `stamp` fixes them all.

        Seeded contacts count as indexed long ago (search lag does not hide them). Deterministic per seed and
        portal state.
        """
        rnd = random.Random(seed).random
        fixed = to_ms(stamp) if stamp is not None else None
        end = self._now_ms()
        step_ms = step // _MS
        people, nt, nm = PEOPLE, len(TITLES), len(FREE_MAIL)
        with self._lock:
            first_id = self._next_id
            self._next_id += n
        contacts: list[_Contact] = []
        append = contacts.append
        with gc_paused():
            for i in range(n):
                first, first_ascii, last, last_ascii, company = people.person(rnd)
                props: dict[str, str] = {"lastname": last}
                if rnd() < 0.97:
                    props["firstname"] = first
                if rnd() < 0.92:
                    props["email"] = people.email(rnd, first_ascii, last_ascii, company, bad_rate)
                    if rnd() < 0.1:
                        extra = [f"{first_ascii}{last_ascii}{int(rnd() * 100)}@{FREE_MAIL[int(rnd() * nm)]}"]
                        if rnd() < 0.3:
                            extra.append(f"{first_ascii[:1]}.{last_ascii}@{FREE_MAIL[int(rnd() * nm)]}")
                        props["hs_additional_emails"] = ";".join(extra)
                if rnd() < 0.8:
                    props["phone"] = spoil(rnd, phone(rnd), _BAD_PHONES, bad_rate)
                if rnd() < 0.45:
                    props["mobilephone"] = phone(rnd)
                if rnd() < 0.05:
                    props["fax"] = us_phone(rnd)
                if company >= 0:
                    props["company"] = people.companies[company]
                if rnd() < 0.7:
                    props["jobtitle"] = TITLES[int(rnd() * nt)]
                moment = fixed if fixed is not None else end - step_ms * (n - 1 - i)
                append(_Contact(first_id + i, props, moment, moment, _HISTORIC))
            self._add_seeded(contacts)
        return [str(c.id) for c in contacts]

    # -- serialisation -----------------------------------------------------------------------------------------

    def _names(self, requested: list[str] | None) -> list[str]:
        """The properties to write: the requested ones the portal knows (all of them, null when unset) plus those
        HubSpot always adds; the defaults when nothing is requested."""
        if not requested:
            return list(DEFAULT_PROPERTIES)
        return sorted({name for name in requested if name in self._known} | ALWAYS_RETURNED)

    def _contact_json(self, contact: _Contact, names: list[str]) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": str(contact.id),
            "properties": {name: _text(contact, name) for name in names},
            "createdAt": iso(contact.created),
            "updatedAt": iso(contact.modified),
            "archived": contact.archived_at is not None,
        }
        if contact.archived_at is not None:
            record["archivedAt"] = iso(contact.archived_at)
        return record

    # -- HTTP --------------------------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        try:
            return self._route(request)
        except _HttpError as error:
            if error.category == "RATE_LIMIT":
                payload = rate_limit_body(error.extra.get("policyName", "SECONDLY"))
            else:
                payload = error_body(error.category, error.message, **error.extra)
            return _json_response(error.status, payload)

    def internal_error_response(self) -> Response:
        return _json_response(500, error_body("INTERNAL_ERROR", "the fake HubSpot failed; see server_errors"))

    def finish_response(self, request: Request, response: Response) -> Response:
        """Every answer carries a correlation id; JSON answers outside search report the rate limits."""
        response.headers.setdefault("X-HubSpot-Correlation-Id", correlation_id())
        is_api = request.path.startswith(self.api_prefix)
        if is_api and not _is_search(request) and response.content_type == JSON_TYPE:
            response.headers.update(self._rate_limit_headers())
        return response

    def log_entry(self, request: Request, status: int | None) -> LoggedRequest:
        body: Any = None
        if request.body:
            text = request.body.decode("utf-8", "replace")
            try:
                body = json.loads(text)
            except ValueError:
                body = text
        return LoggedRequest(request.method, request.path, request.query, status, body, request.headers)

    def _rate_limit_headers(self) -> dict[str, str]:
        """What list and read answers report (private-app style, daily included); the limits are not enforced."""
        now = time.monotonic()
        with self._lock:
            times = self._basic_times
            while times and times[0] <= now - 10:
                times.popleft()
            last_second = len(times) - bisect_right(times, now - 1)
            burst_remaining = max(0, self.burst_limit - len(times))
            secondly = max(1, self.burst_limit // 10)
            return {
                "X-HubSpot-RateLimit-Daily": str(self.daily_limit),
                "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, self.daily_limit - self.api_used)),
                "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
                "X-HubSpot-RateLimit-Max": str(self.burst_limit),
                "X-HubSpot-RateLimit-Remaining": str(burst_remaining),
                "X-HubSpot-RateLimit-Secondly": str(secondly),
                "X-HubSpot-RateLimit-Secondly-Remaining": str(max(0, secondly - last_second)),
            }

    def fault_response(self, kind: str, request: Request) -> Response:
        is_search = _is_search(request)
        if kind == "429_daily":
            return _json_response(429, rate_limit_body("DAILY"))
        if kind in ("429", "429_no_retry_after"):
            headers = {"Retry-After": "1"} if kind == "429" else {}
            return _json_response(429, rate_limit_body("SECONDLY" if is_search else "TEN_SECONDLY_ROLLING"), headers)
        if kind == "500":
            return _json_response(
                500, error_body("INTERNAL_ERROR", "internal error", subCategory="INTERNAL_ERROR.UNKNOWN")
            )
        if kind in ("502", "503"):
            title = "Bad Gateway" if kind == "502" else "Service Unavailable"
            html = f"<html><head><title>{kind} {title}</title></head><body><h1>{kind} {title}</h1></body></html>\n"
            return Response(int(kind), html.encode(), "text/html; charset=UTF-8")
        if kind == "malformed":
            start = b'{"total":2,"results":' if is_search else b'{"results":'
            return Response(200, start + b'[{"id":"1","properties":{"email":"trunc', JSON_TYPE)
        return _json_response(401, error_body("INVALID_AUTHENTICATION", _AUTH_MESSAGE))  # "401"

    def _route(self, request: Request) -> Response:
        if self.max_url_length is not None and len(request.target) > self.max_url_length:
            return Response(414, b"<html><body><h1>414 Request-URI Too Large</h1></body></html>\n", "text/html")
        path = request.path.rstrip("/")
        is_search = _is_search(request)
        if not request.path.startswith(self.api_prefix):
            raise _HttpError(404, "OBJECT_NOT_FOUND", f"Unable to route {request.method} {request.path}")
        self._authenticate(request)
        if is_search:
            self._check_search_rate()
        with self._lock:
            self.api_used += 1
            if not is_search:
                self._basic_times.append(time.monotonic())
        routes: list[tuple[str, str, Callable[..., Response]]] = [
            (re.escape(SEARCH_PATH), "POST", self._search),
            (re.escape(CONTACTS_PATH), "GET", self._list),
            (re.escape(CONTACTS_PATH) + r"/([^/]+)", "GET", self._read),
            (re.escape(PROPERTIES_PATH), "GET", self._properties),
        ]
        for pattern, method, handler in routes:
            route = re.fullmatch(pattern, path)
            if route:
                if request.method != method:
                    raise _HttpError(405, "VALIDATION_ERROR", f"HTTP method {request.method} is not supported")
                return handler(request, *route.groups())
        raise _HttpError(404, "OBJECT_NOT_FOUND", f"Unable to route {request.method} {request.path}")

    def _authenticate(self, request: Request) -> None:
        scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
        with self._lock:
            valid = scheme.lower() == "bearer" and token.strip() in self._tokens
        if not valid:
            raise _HttpError(401, "INVALID_AUTHENTICATION", _AUTH_MESSAGE)

    def _check_search_rate(self) -> None:
        """A sliding one-second window in real time; refused requests do not count."""
        if self.search_rps is None:
            return
        now = time.monotonic()
        with self._lock:
            times = self._search_times
            while times and times[0] <= now - 1.0:
                times.popleft()
            if len(times) >= self.search_rps:
                raise _HttpError(429, "RATE_LIMIT", "You have reached your secondly limit.", policyName="SECONDLY")
            times.append(now)

    # -- endpoints ---------------------------------------------------------------------------------------------

    @staticmethod
    def _requested_properties(values: Iterable[Any]) -> list[str]:
        """`properties` as repeated parameters, comma-separated values, or both."""
        names: list[str] = []
        for value in values:
            names.extend(part.strip() for part in str(value).split(",") if part.strip())
        return names

    @staticmethod
    def _bool_param(params: dict[str, list[str]], name: str) -> bool:
        """The SDK sends Python's `True`/`False`; HubSpot's docs write `true`/`false`."""
        value = (params.get(name) or ["false"])[-1].strip().lower()
        if value in ("true", "1"):
            return True
        if value in ("false", "0", ""):
            return False
        raise _validation(f"Invalid value for {name}: {value!r}; expected true or false")

    @staticmethod
    def _limit_param(params: dict[str, list[str]], default: int, maximum: int) -> int:
        text = (params.get("limit") or [""])[-1].strip()
        if not text:
            return default
        if not re.fullmatch(r"\d+", text) or not 1 <= int(text) <= maximum:
            raise _validation(f"limit must be an integer between 1 and {maximum}, got {text!r}")
        return int(text)

    def _list(self, request: Request) -> Response:
        params = _params(request)
        limit = self._limit_param(params, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT)
        archived = self._bool_param(params, "archived")
        after_text = (params.get("after") or [""])[-1]
        start_id = 0
        if after_text:
            try:
                start_id = decode_after(after_text)
            except ValueError:
                raise _validation(f"Invalid paging cursor after={after_text!r}") from None
        with self._lock:
            names = self._names(self._requested_properties(params.get("properties", [])))
            index = self._archived_ids if archived else self._live_ids
            start = bisect_left(index, start_id)
            page = index[start : start + limit]
            next_id = index[start + limit] if start + limit < len(index) else None
            results = [self._contact_json(self._contacts[i], names) for i in page]
        payload: dict[str, Any] = {"results": results}
        if next_id is not None:
            after = encode_after(next_id)
            pairs = [(k, v) for k, v in parse_qsl(request.query, keep_blank_values=True) if k != "after"]
            link = f"{self.url}{CONTACTS_PATH}?{urlencode([*pairs, ('after', after)])}"
            payload["paging"] = {"next": {"after": after, "link": link}}
        return _json_response(200, payload)

    def _read(self, request: Request, contact_id: str) -> Response:
        params = _params(request)
        archived = self._bool_param(params, "archived")
        with self._lock:
            contact = self._contacts.get(int(contact_id)) if contact_id.isdigit() else None
            if contact is None or (contact.archived_at is not None) != archived:
                raise _HttpError(404, "OBJECT_NOT_FOUND", "resource not found", context={"id": [contact_id]})
            names = self._names(self._requested_properties(params.get("properties", [])))
            return _json_response(200, self._contact_json(contact, names))

    def _properties(self, request: Request) -> Response:
        with self._lock:
            known = list(self._known.items())
        results = [
            {
                "name": name,
                "label": label,
                "type": kind,
                "fieldType": field_type,
                "description": "",
                "groupName": "contactinformation",
                "options": [],
                "displayOrder": -1,
                "calculated": name in COMPUTED,
                "externalOptions": False,
                "hasUniqueValue": False,
                "hidden": False,
                "hubspotDefined": name in STANDARD_PROPERTIES,
                "formField": kind == "string",
                "archived": False,
            }
            for name, (label, kind, field_type) in known
        ]
        return _json_response(200, {"results": results})

    def _search(self, request: Request) -> Response:
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            raise _validation("Invalid input JSON: the request body is not JSON") from None
        if not isinstance(body, dict):
            raise _validation("Invalid input JSON: expected an object")
        groups = self._compile_groups(body.get("filterGroups") or [])
        sort_name, descending = self._parse_sorts(body.get("sorts") or [])
        limit = body.get("limit", SEARCH_DEFAULT_LIMIT)
        if isinstance(limit, bool) or not isinstance(limit, int | str) or not re.fullmatch(r"\d+", str(limit)):
            raise _validation(f"limit must be an integer between 0 and {SEARCH_MAX_LIMIT}, got {limit!r}")
        limit = int(limit)
        if limit > SEARCH_MAX_LIMIT:
            raise _validation(f"limit must be an integer between 0 and {SEARCH_MAX_LIMIT}, got {limit}")
        after = body.get("after")
        if after is None or after == "":
            offset = 0
        elif isinstance(after, bool) or not re.fullmatch(r"\d+", str(after).strip()):
            raise _validation(f"after must be a non-negative integer offset, got {after!r}")
        else:
            offset = int(str(after).strip())
        if offset + limit > SEARCH_RESULT_CAP:
            # The shape is HubSpot's; the wording is ours (the real text is not recorded anywhere we could read).
            raise _validation(
                f"Paging past {SEARCH_RESULT_CAP} results is not supported: after ({offset}) + limit ({limit}) "
                f"must not exceed {SEARCH_RESULT_CAP}. Narrow the filters instead.",
                subCategory="SEARCH_RESULT_LIMIT_EXCEEDED",
            )
        query = body.get("query")
        requested = body.get("properties")
        requested_names = self._requested_properties(requested if isinstance(requested, list) else [requested or ""])
        with self._lock:
            names = self._names(requested_names)
            total, page = self._run_search(groups, sort_name, descending, offset, limit, str(query or ""))
            results = [self._contact_json(contact, names) for contact in page]
        payload: dict[str, Any] = {"total": total, "results": results}
        if page and offset + len(page) < total:
            payload["paging"] = {"next": {"after": str(offset + len(page))}}
        return _json_response(200, payload)

    def _compile_groups(self, raw_groups: Any) -> list[list[_Filter]]:
        if not isinstance(raw_groups, list):
            raise _validation("filterGroups must be a list")
        if len(raw_groups) > MAX_FILTER_GROUPS:
            raise _validation(
                f"Too many filter groups: {len(raw_groups)}; the maximum is {MAX_FILTER_GROUPS}",
                context={"filterGroups": [str(len(raw_groups))]},
            )
        total = 0
        groups: list[list[_Filter]] = []
        for raw_group in raw_groups:
            raw_filters = raw_group.get("filters") if isinstance(raw_group, dict) else None
            if not isinstance(raw_filters, list):
                raise _validation("each filter group needs a list of filters")
            if len(raw_filters) > MAX_FILTERS_PER_GROUP:
                raise _validation(
                    f"Too many filters in a filter group: {len(raw_filters)}; the maximum is {MAX_FILTERS_PER_GROUP}"
                )
            total += len(raw_filters)
            groups.append([self._compile_filter(raw) for raw in raw_filters])
        if total > MAX_FILTERS:
            raise _validation(f"Too many filters: {total}; the maximum across all filter groups is {MAX_FILTERS}")
        return groups

    def _compile_filter(self, raw: Any) -> _Filter:
        if not isinstance(raw, dict):
            raise _validation("a filter must be an object")
        name, operator = raw.get("propertyName"), raw.get("operator")
        if not isinstance(name, str) or not name:
            raise _validation("propertyName is required on every filter")
        if operator not in OPERATORS:
            raise _validation(f"Unknown operator {operator!r}; expected one of {sorted(OPERATORS)}")
        kind = self._known.get(name, ("", "string", ""))[1]

        def convert(value: Any, what: str) -> Any:
            if value is None:
                raise _validation(f"{what} is required for operator {operator} on {name}")
            try:
                if kind == "datetime":
                    return parse_instant(value)
                if kind == "number":
                    return int(str(value).strip())
            except ValueError:
                raise _validation(f"{value!r} is not a valid {kind} for {name}") from None
            return str(value).lower()

        f = _Filter(name, operator)
        if operator in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
            return f
        if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
            if raw.get("value") is None:
                raise _validation(f"value is required for operator {operator} on {name}")
            f.value = str(raw["value"]).lower()
            return f
        if operator in ("IN", "NOT_IN"):
            values = raw.get("values")
            if not isinstance(values, list) or not values:
                raise _validation(f"values (a non-empty list) is required for operator {operator} on {name}")
            f.values = tuple(convert(value, "values") for value in values)
            return f
        f.value = convert(raw.get("value"), "value")
        if operator == "BETWEEN":
            f.high = convert(raw.get("highValue"), "highValue")
        return f

    def _parse_sorts(self, sorts: Any) -> tuple[str, bool]:
        """One sort, as `{"propertyName", "direction"}` or a bare name (`-name` descending); default: by id, which
        is creation order."""
        if not isinstance(sorts, list):
            raise _validation("sorts must be a list")
        if len(sorts) > 1:
            raise _validation("Only one sort is supported per search")
        if not sorts:
            return "hs_object_id", False
        sort = sorts[0]
        if isinstance(sort, str):
            return sort.lstrip("-"), sort.startswith("-")
        if not isinstance(sort, dict) or not isinstance(sort.get("propertyName"), str):
            raise _validation("a sort needs a propertyName")
        direction = str(sort.get("direction") or "ASCENDING").upper()
        if direction not in ("ASCENDING", "DESCENDING"):
            raise _validation(f"Unknown sort direction {direction!r}")
        return sort["propertyName"], direction == "DESCENDING"

    def _run_search(
        self, groups: list[list[_Filter]], sort_name: str, descending: bool, offset: int, limit: int, query: str
    ) -> tuple[int, list[_Contact]]:
        """(total, page): bisect the cheaper index on the filters' bounds, filter unless the bounds say it all,
        order (ties by id ascending) and cut the page. Called under the lock."""
        contacts = self._contacts

        def hull(name: str) -> tuple[Any, Any]:
            if not groups:
                return None, None
            spans = [_group_bounds(group, name) for group in groups]
            low = None if any(lo is None for lo, _ in spans) else min(lo for lo, _ in spans)
            high = None if any(hi is None for _, hi in spans) else max(hi for _, hi in spans)
            return low, high

        mod_lo, mod_hi = hull("lastmodifieddate")
        id_lo, id_hi = hull("hs_object_id")
        by_mod = self._by_modified
        m_start = bisect_left(by_mod, (mod_lo, -1)) if mod_lo is not None else 0
        m_stop = bisect_right(by_mod, (mod_hi, 2**63)) if mod_hi is not None else len(by_mod)
        live = self._live_ids
        i_start = bisect_left(live, id_lo) if id_lo is not None else 0
        i_stop = bisect_right(live, id_hi) if id_hi is not None else len(live)
        use_ids = (i_stop - i_start) < (m_stop - m_start) or (
            (i_stop - i_start) == (m_stop - m_start) and sort_name == "hs_object_id"
        )
        indexed = "hs_object_id" if use_ids else "lastmodifieddate"

        lag_cutoff = self._now_ms() - round(self.search_lag * 1000) if self.search_lag > 0 else None
        exact = (
            lag_cutoff is None
            and not query.strip()
            and len(groups) <= 1
            and all(f.name == indexed and f.operator in _RANGE_OPERATORS for group in groups for f in group)
        )
        ordered = sort_name == indexed
        if exact and ordered:
            if use_ids:
                ids = live[i_start:i_stop]
                if descending:
                    ids = ids[::-1]
                return len(ids), [contacts[i] for i in ids[offset : offset + limit]]
            if descending:
                keys = list(itertools.islice(_desc_ties_asc(by_mod, m_start, m_stop), offset, offset + limit))
            else:
                keys = by_mod[m_start + offset : min(m_stop, m_start + offset + limit)]
            return m_stop - m_start, [contacts[i] for _, i in keys]

        if use_ids:
            candidates = [contacts[i] for i in live[i_start:i_stop]]
        else:
            candidates = [contacts[i] for _, i in by_mod[m_start:m_stop]]
        tests: list[Predicate] = []
        if lag_cutoff is not None:
            tests.append(lambda c: c.written <= lag_cutoff)
        # With one group, the slice already enforces that group's range filters on the indexed property.
        implied = len(groups) == 1
        compiled = [
            [f.compile() for f in group if not (implied and f.name == indexed and f.operator in _RANGE_OPERATORS)]
            for group in groups
        ]
        if compiled and all(compiled):  # a group left empty matches everything
            tests.append(_any_of([_all_of(group) for group in compiled]))
        words = [word.lower() for word in query.split()]
        if words:
            tests.append(lambda c: _full_text(c, words))
        matches = candidates
        if tests:
            where = _all_of(tests)
            matches = [c for c in candidates if where(c)]
        if not ordered or descending:
            if not use_ids:
                matches.sort(key=_by_id)
            if sort_name in ("hs_object_id", "lastmodifieddate", "createdate"):
                matches.sort(key=lambda c: _value(c, sort_name), reverse=descending)
            else:
                present = [c for c in matches if c.props.get(sort_name) is not None]
                absent = [c for c in matches if c.props.get(sort_name) is None]
                present.sort(key=lambda c: c.props[sort_name].lower(), reverse=descending)
                matches = present + absent  # no value sorts last either way (an inference)
        return len(matches), matches[offset : offset + limit]


def _by_id(contact: _Contact) -> int:
    return contact.id


def _desc_ties_asc(index: list[tuple[int, int]], start: int, stop: int) -> Iterator[tuple[int, int]]:
    """index[start:stop] by lastmodifieddate descending, equal stamps by id ascending, without sorting."""
    end = stop
    while end > start:
        stamp = index[end - 1][0]
        run_start = max(start, bisect_left(index, (stamp, -1), start, end))
        yield from index[run_start:end]
        end = run_start


def _full_text(contact: _Contact, words: list[str]) -> bool:
    """`query`: every word is a prefix of a word of a default searchable property (an approximation)."""
    haystack = " ".join(contact.props.get(name) or "" for name in _FULL_TEXT_PROPERTIES).lower()
    tokens = re.findall(r"[\w.@+-]+", haystack)
    return all(any(token.startswith(word) for token in tokens) for word in words)
