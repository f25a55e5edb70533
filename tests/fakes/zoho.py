"""A fake Zoho CRM (the OAuth accounts server and CRM REST API v8, Contacts only) served over local HTTP, for connector
tests and benchmarks.

It answers what a hand-rolled `requests` client sends: the refresh-token grant (query string or form body) with
Zoho's rules (HTTP 200 error bodies, 10 tokens per refresh token per 10 minutes, 15 active tokens, one-hour
expiry, `api_domain`), and `GET /crm/v8/Contacts` with its quirks: `fields` mandatory (at most 50), `per_page` up
to 200, `page` only up to the 2,000th record, then opaque expiring `page_token`s, `If-Modified-Since` inclusive,
204/304 with empty bodies. `GET /crm/v8/Contacts/deleted` lists the recycle bin and permanent deletes, and any
request can be faulted (429 without Retry-After, 5xx, resets, hangs, truncated bodies, dead tokens).

Contacts live in sorted indexes of (Modified_Time, id), (Created_Time, id), ids, and deletions by (deleted_time, id)
per type; each key is one int, `stamp * 2**64 + id`, which sorts like the tuple at half the memory. A page is a
slice, so a million-contact org pages in O(page size + log n). There is no snapshot: `page_token` carries an offset
into the live ordering, so writes between pages shift later records, as offset paging does. Sorting by id or
Created_Time while filtering on If-Modified-Since has no index: those matches are sorted once per write and cached.
A generated million costs about 6 s and 1 GB.

Inferences (behaviour the reference does not confirm):
- An expired `page_token` answers 400 EXPIRED_VALUE (the code is documented for page_token, the exact body is not),
  and one past `page_token_limit` records answers 400 LIMIT_REACHED; the message texts are ours.
- A `page_token` is bound to the query that made it (fields, sort_by, sort_order, If-Modified-Since and, for
  /deleted, type) and to the OAuth client; a request that differs, or a token that does not decode, is answered
  400 INVALID_DATA. `per_page` may change between pages (the token's is used when the request gives none).
- /deleted follows the list's paging rules (2,000 without a token, then page_token), filters deleted_time by
  If-Modified-Since (inclusive), and lists newest first. Its `info` has no sort_by/sort_order. A purged
  recycle-bin entry becomes one "permanent" entry at the purge time, display_name null.
- Equal stamps are ordered by id descending whichever the sort order: the recorded response (sort_by=Modified_Time,
  asc) lists two runs of records sharing a Modified_Time with ids descending in each; that desc sorts, Created_Time
  and /deleted (newest first) follow the same rule is our inference.
- `previous_page_token` is given only to requests that came with a page_token (and not on the first page).
- If-Modified-Since without an offset is refused (400 INVALID_DATA), as is anything `fromisoformat` cannot read.
- Unknown or other-client refresh tokens answer `invalid_code`; revoking a refresh token also kills its access
  tokens; the checks run grant_type, then client, then refresh token, then the rate limit.
- Every record carries every field the org knows (null, or [] for Tag, when unset); Owner, Created_By and
  Modified_By default to one admin user; Full_Name follows First_Name/Last_Name unless given.
- The 429/5xx/malformed bodies' messages and the 405 body are ours; 502/503/504 answer an HTML gateway page.
- Paths are routed before authentication: a wrong URL is 404 even without a token.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import json
import math
import os
import random
import re
import uuid
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs

from tests.fakes.people import BAD_PHONES, FREE_MAIL, PEOPLE, TITLES, gc_paused, phone, spoil, us_phone
from tests.fakes.server import DROP_FAULTS, FakeServer, Request, Response, json_response

TOKEN_PATH = "/oauth/v2/token"
API_VERSION = "v8"
CONTACTS_PATH = f"/crm/{API_VERSION}/Contacts"
DELETED_PATH = CONTACTS_PATH + "/deleted"
FAULT_KINDS = DROP_FAULTS | frozenset({"429", "500", "502", "503", "504", "malformed", "invalid_token", "token_error"})

MAX_PER_PAGE = 200
MAX_FIELDS = 50
DISCRETE_LIMIT = 2000
RATE_WINDOW = 600  # seconds (org clock) over which token_rate_limit counts
SORT_FIELDS = ("id", "Created_Time", "Modified_Time")
DELETED_TYPES = ("all", "recycle", "permanent")
SCOPE = "ZohoCRM.modules.contacts.READ"

DEFAULT_USER: dict[str, str] = {"name": "Fake Admin", "id": "7328395000000605001", "email": "admin@fake-zoho.test"}
# Every record carries these (null when unset); fields added or loaded later join them, as a custom field would.
STANDARD_FIELDS = (
    "Owner",
    "First_Name",
    "Last_Name",
    "Full_Name",
    "Email",
    "Secondary_Email",
    "Phone",
    "Mobile",
    "Home_Phone",
    "Other_Phone",
    "Fax",
    "Title",
    "Account_Name",
    "Tag",
    "Created_By",
    "Modified_By",
    "Created_Time",
    "Modified_Time",
)
_DEFAULTS: dict[str, Any] = {"Owner": DEFAULT_USER, "Created_By": DEFAULT_USER, "Modified_By": DEFAULT_USER, "Tag": []}
_COMPUTED = frozenset({"id", "Created_Time", "Modified_Time"})
_TAG_NAMES = ("VIP", "Newsletter", "Partner", "Trade Show 2024", "Churn Risk", "Webinar", "Referral", "Évènement")

_KEY = 2**64  # index keys are stamp * _KEY + id; ids are below 2**63
_MASK = _KEY - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# -- time ------------------------------------------------------------------------------------------------------------


def to_seconds(moment: datetime) -> int:
    """Epoch seconds (floored) of an aware datetime; naive datetimes are refused to catch test bugs."""
    if moment.tzinfo is None:
        raise ValueError(f"datetime must be timezone-aware: {moment!r}")
    return (moment - _EPOCH) // timedelta(seconds=1)


def from_seconds(seconds: int) -> datetime:
    return _EPOCH + timedelta(seconds=seconds)


def write_time(seconds: int, zone: timezone) -> str:
    """`2024-01-01T05:30:00+05:30`: Zoho writes datetimes in the org's offset, to the second."""
    return datetime.fromtimestamp(seconds, zone).isoformat()


def parse_time(value: Any) -> int:
    """Epoch seconds of a datetime or an ISO 8601 string with an offset (the recorded responses have them)."""
    if isinstance(value, datetime):
        return to_seconds(value)
    moment = datetime.fromisoformat(str(value).strip())
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset")
    return to_seconds(moment)


# -- storage ---------------------------------------------------------------------------------------------------------


class _Contact:
    """One stored contact; `fields` holds only what differs from the defaults (null, [] or the admin user)."""

    __slots__ = ("created", "fields", "id", "modified")

    def __init__(self, contact_id: int, fields: dict[str, Any], created: int, modified: int) -> None:
        self.id = contact_id
        self.fields = fields
        self.created = created
        self.modified = modified


class _Deleted:
    __slots__ = ("created_by", "display_name", "id", "kind", "time")

    def __init__(self, contact_id: int, kind: str, time: int, display_name: str | None, created_by: Any) -> None:
        self.id = contact_id
        self.kind = kind
        self.time = time
        self.display_name = display_name
        self.created_by = created_by


@dataclass
class _Token:
    refresh_token: str
    client_id: str
    expires: int  # org-clock seconds


def _remove(index: list[int], key: int) -> None:
    i = bisect_left(index, key)
    if i >= len(index) or index[i] != key:
        raise RuntimeError(f"index out of step with the store for {key!r}")
    del index[i]


def _insert(index: list[int], key: int) -> None:
    if not index or key > index[-1]:
        index.append(key)
    else:
        insort(index, key)


def _ties_reversed(index: list[int], start: int, stop: int, hi: int) -> list[int]:
    """Ranks start..stop-1 of index[:hi] ordered by stamp ascending but equal stamps by id descending, as Zoho
    orders them, in O(page + log n): a run of equal stamps holds the same ranks in either order, reversed."""
    keys: list[int] = []
    rank = start
    while rank < stop:
        stamp = index[rank] >> 64
        run_start = bisect_left(index, stamp * _KEY, 0, rank + 1)
        run_stop = bisect_left(index, (stamp + 1) * _KEY, rank, hi)
        end = min(stop, run_stop)
        mirror = run_start + run_stop - 1
        keys.extend(index[mirror - r] for r in range(rank, end))
        rank = end
    return keys


def _user_ref(user: Any) -> dict[str, Any]:
    """`{name, id}`: how /deleted writes users (no email)."""
    if isinstance(user, Mapping):
        return {"name": user.get("name"), "id": user.get("id")}
    return {"name": DEFAULT_USER["name"], "id": DEFAULT_USER["id"]}


class ZohoError(Exception):
    """A Zoho error answer: `{"code", "details", "message", "status": "error"}` with an HTTP status."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}

    def response(self) -> Response:
        return json_response(self.status, error_body(self.code, self.message, self.details))


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "details": details or {}, "message": message, "status": "error"}


def _invalid(param: str) -> ZohoError:
    return ZohoError(400, "INVALID_DATA", "invalid data", {"param_name": param})


_AUTH_FAILURE = ZohoError(401, "AUTHENTICATION_FAILURE", "Authentication failed")
_INVALID_TOKEN = ZohoError(401, "INVALID_TOKEN", "invalid oauth token")
_TOKEN_RATE_BODY = {
    "error_description": "You have made too many requests continuously. Please try again after some time.",
    "error": "Access Denied",
    "status": "failure",
}


@dataclass(frozen=True)
class _Query:
    """What a listing's order and filter depend on; a page_token must be used with the same one."""

    kind: str  # "list" or "deleted"
    sort_by: str
    sort_order: str
    since: float | None  # If-Modified-Since, epoch seconds
    fields: tuple[str, ...]  # sorted; empty for /deleted
    deleted_type: str

    def binding(self) -> list[Any]:
        return [self.kind, self.sort_by, self.sort_order, self.since, list(self.fields), self.deleted_type]


@dataclass(frozen=True)
class _Position:
    offset: int
    per_page: int
    page: int  # as `info.page` reports it
    from_token: bool


# -- the org ---------------------------------------------------------------------------------------------------------


class FakeZoho(FakeServer):
    """An in-memory Zoho CRM org of contacts with the accounts server and the CRM v8 Contacts API on one port."""

    fault_kinds: ClassVar[frozenset[str]] = FAULT_KINDS
    api_prefix: ClassVar[str] = "/crm/"
    server_name: ClassVar[str] = "ZGS"

    def __init__(self, *, first_id: int = 7328395000000700001) -> None:
        super().__init__()
        self.tz_offset = timedelta(hours=5, minutes=30)  # the offset datetimes are written in
        self.api_domain: str | None = None  # the token answer's api_domain; None: this server's url
        self.token_ttl = 3600  # seconds (org clock)
        self.token_rate_limit: int | None = 10  # access tokens per refresh token per 600 s (org clock)
        self.max_active_tokens = 15
        self.page_token_ttl = 86400  # seconds (org clock)
        self.page_token_limit = 100_000  # records reachable with page_token
        self._next_id = first_id
        self._contacts: dict[int, _Contact] = {}  # live and recycle-bin contacts
        self._deleted: dict[int, _Deleted] = {}
        self._live_ids: list[int] = []
        self._by_modified: list[int] = []  # live contacts, modified * _KEY + id
        self._by_created: list[int] = []  # live contacts, created * _KEY + id
        self._deleted_index: dict[str, list[int]] = {kind: [] for kind in DELETED_TYPES}  # time * _KEY + id
        self._known: dict[str, None] = dict.fromkeys(STANDARD_FIELDS)  # ordered set of field API names
        self._lookup_ids: dict[tuple[str, str], str] = {}  # (kind, name) -> id for accounts and tags
        self._next_lookup_id = first_id + 10**9
        self._version = 0  # bumped by every write; keys the cache of unindexed orderings
        self._ordering_cache: tuple[tuple[Any, ...], list[int]] | None = None
        self._clock: int | None = None
        self._clients: dict[str, str] = {}
        self._refresh: dict[str, str] = {}  # refresh token -> client id
        self._access: dict[str, _Token] = {}
        self._active: dict[str, deque[str]] = {}  # refresh token -> its access tokens, oldest first
        self._minted: dict[str, deque[int]] = {}  # refresh token -> when its tokens were issued (org clock)
        self._secret = os.urandom(16)

    # -- clock and OAuth ---------------------------------------------------------------------------------------------

    @property
    def token_requests(self) -> int:
        """How many requests reached the token endpoint (faulted and refused ones included)."""
        return sum(1 for r in self.requests if r.path == TOKEN_PATH)

    def now(self) -> datetime:
        """The org clock: the fixed time from set_clock, else real UTC now, to the second."""
        return from_seconds(self._now())

    def served_at(self) -> datetime:
        """Zoho's `Date` headers follow its clock, which Modified_Time and deleted_time are written from."""
        return self.now()

    def _now(self) -> int:
        return self._clock if self._clock is not None else to_seconds(datetime.now(UTC))

    def set_clock(self, moment: datetime | None) -> None:
        """Fix the org clock (None: follow real time again)."""
        self._clock = to_seconds(moment) if moment is not None else None

    def advance(self, delta: timedelta | float) -> datetime:
        """Move the clock forward (seconds or a timedelta), fixing it if it followed real time; returns it."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        self._clock = self._now() + int(step.total_seconds())
        return self.now()

    def add_client(self, client_id: str, client_secret: str, refresh_token: str) -> None:
        """Register an OAuth client and a refresh token of it (a client may have several)."""
        with self._lock:
            self._clients[client_id] = client_secret
            self._refresh[refresh_token] = client_id

    def revoke_refresh_token(self, refresh_token: str) -> None:
        """The refresh token stops minting (invalid_code) and its access tokens stop working."""
        with self._lock:
            self._refresh.pop(refresh_token, None)
            for token in self._active.pop(refresh_token, deque()):
                self._access.pop(token, None)

    def expire_tokens(self) -> None:
        """Every access token issued so far becomes invalid (401 INVALID_TOKEN), as after an hour."""
        with self._lock:
            self._access.clear()
            self._active.clear()

    # -- contacts ----------------------------------------------------------------------------------------------------

    def _stamp(self, stamp: datetime | None) -> int:
        return to_seconds(stamp) if stamp is not None else self._now()

    def _lookup_id(self, kind: str, name: str) -> str:
        key = (kind, name)
        found = self._lookup_ids.get(key)
        if found is None:
            found = self._lookup_ids[key] = str(self._next_lookup_id)
            self._next_lookup_id += 1
        return found

    def _zone(self) -> timezone:
        return timezone(self.tz_offset)

    def _set_fields(self, stored: dict[str, Any], values: Mapping[str, Any]) -> None:
        """Store values as the API writes them; None clears. Called under the lock."""
        for name, value in values.items():
            if name in _COMPUTED:
                raise ValueError(f"{name} is set by the org: pass stamp=... (Created_Time only when adding)")
            self._known.setdefault(name, None)
            if value is None:
                stored.pop(name, None)
            elif name == "Account_Name" and isinstance(value, str):
                stored[name] = {"name": value, "id": self._lookup_id("account", value)}
            elif name == "Tag" and isinstance(value, list | tuple):
                tags = [t if isinstance(t, Mapping) else {"name": t, "id": self._lookup_id("tag", t)} for t in value]
                if tags:
                    stored[name] = [dict(t) for t in tags]
                else:
                    stored.pop(name, None)
            elif isinstance(value, datetime):
                stored[name] = write_time(to_seconds(value), self._zone())
            else:
                stored[name] = copy.deepcopy(value)
        if ("First_Name" in values or "Last_Name" in values) and "Full_Name" not in values:
            full = " ".join(part for part in (stored.get("First_Name"), stored.get("Last_Name")) if part)
            if full:
                stored["Full_Name"] = full
            else:
                stored.pop("Full_Name", None)

    def _contact(self, contact_id: str | int) -> _Contact:
        try:
            contact = self._contacts.get(int(contact_id))
        except ValueError:
            contact = None
        if contact is None:
            raise KeyError(f"no contact {contact_id}")
        return contact

    def _live(self, contact_id: str | int) -> _Contact:
        contact = self._contact(contact_id)
        if contact.id in self._deleted:
            raise ValueError(f"contact {contact_id} is in the recycle bin: restore it first")
        return contact

    def _index_live(self, contact: _Contact) -> None:
        _insert(self._live_ids, contact.id)
        _insert(self._by_modified, contact.modified * _KEY + contact.id)
        _insert(self._by_created, contact.created * _KEY + contact.id)
        self._version += 1

    def _unindex_live(self, contact: _Contact) -> None:
        _remove(self._live_ids, contact.id)
        _remove(self._by_modified, contact.modified * _KEY + contact.id)
        _remove(self._by_created, contact.created * _KEY + contact.id)
        self._version += 1

    def _index_deleted(self, entry: _Deleted) -> None:
        key = entry.time * _KEY + entry.id
        _insert(self._deleted_index["all"], key)
        _insert(self._deleted_index[entry.kind], key)
        self._deleted[entry.id] = entry
        self._version += 1

    def _unindex_deleted(self, entry: _Deleted) -> None:
        key = entry.time * _KEY + entry.id
        _remove(self._deleted_index["all"], key)
        _remove(self._deleted_index[entry.kind], key)
        del self._deleted[entry.id]
        self._version += 1

    def add(self, *, stamp: datetime | None = None, **fields: Any) -> str:
        """Create a contact with the next id; Created_Time and Modified_Time are `stamp` or the clock
        (`Created_Time=` may set an earlier creation). Returns the id."""
        moment = self._stamp(stamp)
        created = fields.pop("Created_Time", None)
        with self._lock:
            stored: dict[str, Any] = {}
            self._set_fields(stored, fields)
            contact_id = self._next_id
            self._next_id += 1
            contact = _Contact(contact_id, stored, parse_time(created) if created is not None else moment, moment)
            self._contacts[contact_id] = contact
            self._index_live(contact)
            return str(contact_id)

    def update(self, contact_id: str | int, *, stamp: datetime | None = None, **fields: Any) -> None:
        """Set (None clears) fields of a live contact; Modified_Time moves to `stamp` or the clock."""
        moment = self._stamp(stamp)
        with self._lock:
            contact = self._live(contact_id)
            self._set_fields(contact.fields, fields)
            self._unindex_live(contact)
            contact.modified = moment
            self._index_live(contact)

    def delete(self, contact_id: str | int, *, stamp: datetime | None = None) -> None:
        """Move a live contact to the recycle bin: gone from the list, on /deleted as "recycle" at `stamp` or the
        clock. Modified_Time does not move."""
        moment = self._stamp(stamp)
        with self._lock:
            contact = self._live(contact_id)
            self._unindex_live(contact)
            name = contact.fields.get("Full_Name")
            created_by = contact.fields.get("Created_By", DEFAULT_USER)
            self._index_deleted(_Deleted(contact.id, "recycle", moment, name, created_by))

    def purge(self, contact_id: str | int, *, stamp: datetime | None = None) -> None:
        """Delete permanently, from the live list or the recycle bin: one "permanent" entry on /deleted at `stamp`
        or the clock, with no display_name; the record is gone for good."""
        moment = self._stamp(stamp)
        with self._lock:
            contact = self._contact(contact_id)
            previous = self._deleted.get(contact.id)
            if previous is None:
                self._unindex_live(contact)
            else:
                self._unindex_deleted(previous)
            created_by = contact.fields.get("Created_By", DEFAULT_USER)
            del self._contacts[contact.id]
            self._index_deleted(_Deleted(contact.id, "permanent", moment, None, created_by))

    def restore(self, contact_id: str | int, *, stamp: datetime | None = None, touch: bool = True) -> None:
        """Bring a contact back from the recycle bin (its /deleted entry goes). With `touch` (the default, an
        inference) Modified_Time moves to `stamp` or the clock so incremental reads see it again; `touch=False`
        keeps the old Modified_Time (the harsher case: only a full read notices the restore)."""
        moment = self._stamp(stamp)
        with self._lock:
            contact = self._contact(contact_id)
            entry = self._deleted.get(contact.id)
            if entry is None:
                raise ValueError(f"contact {contact_id} is not in the recycle bin")
            self._unindex_deleted(entry)
            if touch:
                contact.modified = moment
            self._index_live(contact)

    def get(self, contact_id: str | int) -> dict[str, Any]:
        """The record as the API writes it, every field (a copy; recycle-bin contacts too, for assertions)."""
        with self._lock:
            contact = self._contact(contact_id)
            return copy.deepcopy(self._record(contact, list(self._known), self._zone()))

    def ids(self, *, deleted: bool = False) -> list[str]:
        """Live ids, or deleted ones (recycle bin and permanent), in id order."""
        with self._lock:
            if deleted:
                return [str(i) for i in sorted(self._deleted)]
            return [str(i) for i in self._live_ids]

    def count(self) -> int:
        """How many contacts the list endpoint would return."""
        with self._lock:
            return len(self._live_ids)

    def _add_seeded(self, contacts: list[_Contact]) -> None:
        """Bulk insert: append to the indexes, sorting each once if needed. Called under the lock."""
        for contact in contacts:
            if contact.id in self._contacts or contact.id in self._deleted:
                raise ValueError(f"duplicate id {contact.id}")
        for contact in contacts:
            self._contacts[contact.id] = contact
            self._next_id = max(self._next_id, contact.id + 1)
        indexes = (
            (self._live_ids, [c.id for c in contacts]),
            (self._by_modified, [c.modified * _KEY + c.id for c in contacts]),
            (self._by_created, [c.created * _KEY + c.id for c in contacts]),
        )
        for index, keys in indexes:
            in_order = not index or not keys or keys[0] > index[-1]
            index.extend(keys)
            if not in_order or any(keys[i] > keys[i + 1] for i in range(len(keys) - 1)):
                index.sort()
        self._version += 1

    def load_fixture(self, path: str | Path) -> list[str]:
        """Load the records of a recorded response (`response.data`, or a bare `{"data": [...]}`), keeping ids,
        every field, Created_Time and Modified_Time; their field names join the org's. Returns the ids in the
        recorded order."""
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
        response = payload.get("response", payload) if isinstance(payload, dict) else payload
        records: Iterable[dict[str, Any]] = response["data"] if isinstance(response, dict) else response
        contacts: list[_Contact] = []
        with self._lock:
            for record in records:
                fields = dict(record)
                contact_id = int(fields.pop("id"))
                created_text = fields.pop("Created_Time", None)
                modified_text = fields.pop("Modified_Time", None) or created_text
                created = parse_time(created_text) if created_text else self._now()
                modified = parse_time(modified_text) if modified_text else created
                for name in fields:
                    self._known.setdefault(name, None)
                stored = {name: value for name, value in fields.items() if value is not None}
                contacts.append(_Contact(contact_id, stored, created, modified))
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
        """Create `n` realistic contacts fast: accented names, work and free-mail emails, mixed-format US and
        international phones, ~70% with an account, some Secondary_Email, Mobile, Home/Other phones, Fax and Tags;
        `bad_rate` makes that share of emails and phones unusable. Modified_Time (and Created_Time) ascend with
        the id, `step` apart and ending at the clock, unless `stamp` fixes them all. Deterministic per seed."""
        rnd = random.Random(seed).random
        fixed = to_seconds(stamp) if stamp is not None else None
        end = self._now()
        step_s = int(step.total_seconds())
        people, nt, nm = PEOPLE, len(TITLES), len(FREE_MAIL)
        contacts: list[_Contact] = []
        append = contacts.append
        with gc_paused():
            with self._lock:
                self._known.update(dict.fromkeys(STANDARD_FIELDS))
                accounts = [{"name": c, "id": self._lookup_id("account", c)} for c in people.companies]
                tags = [{"name": t, "id": self._lookup_id("tag", t)} for t in _TAG_NAMES]
                first_id = self._next_id
                self._next_id += n
            for i in range(n):
                first, first_ascii, last, last_ascii, company = people.person(rnd)
                fields: dict[str, Any] = {"First_Name": first, "Last_Name": last, "Full_Name": f"{first} {last}"}
                if rnd() < 0.7:
                    fields["Title"] = TITLES[int(rnd() * nt)]
                if company >= 0:
                    fields["Account_Name"] = accounts[company]
                if rnd() < 0.92:
                    fields["Email"] = people.email(rnd, first_ascii, last_ascii, company, bad_rate)
                    if rnd() < 0.1:
                        fields["Secondary_Email"] = f"{first_ascii}{last_ascii}@{FREE_MAIL[int(rnd() * nm)]}"
                if rnd() < 0.85:
                    fields["Phone"] = spoil(rnd, phone(rnd), BAD_PHONES, bad_rate)
                if rnd() < 0.5:
                    fields["Mobile"] = phone(rnd)
                if rnd() < 0.1:
                    fields["Home_Phone"] = phone(rnd)
                if rnd() < 0.1:
                    fields["Other_Phone"] = phone(rnd)
                if rnd() < 0.1:
                    fields["Fax"] = us_phone(rnd)
                if rnd() < 0.2:
                    first_tag = int(rnd() * len(tags))
                    chosen = [tags[first_tag]]
                    if rnd() < 0.3:
                        chosen.append(tags[(first_tag + 1 + int(rnd() * (len(tags) - 1))) % len(tags)])
                    fields["Tag"] = chosen
                moment = fixed if fixed is not None else end - step_s * (n - 1 - i)
                append(_Contact(first_id + i, fields, moment, moment))
            with self._lock:
                self._add_seeded(contacts)
        return [str(c.id) for c in contacts]

    # -- serialisation -----------------------------------------------------------------------------------------------

    def _record(self, contact: _Contact, names: list[str], zone: timezone) -> dict[str, Any]:
        """The requested fields the org knows, plus id; unknown names are simply absent."""
        record: dict[str, Any] = {}
        stored = contact.fields
        for name in names:
            if name == "Modified_Time":
                record[name] = write_time(contact.modified, zone)
            elif name == "Created_Time":
                record[name] = write_time(contact.created, zone)
            elif name == "id":
                continue
            elif name in self._known:
                record[name] = stored.get(name, _DEFAULTS.get(name))
        record["id"] = str(contact.id)
        return record

    def _deleted_json(self, entry: _Deleted, zone: timezone) -> dict[str, Any]:
        return {
            "id": str(entry.id),
            "display_name": entry.display_name,
            "type": entry.kind,
            "deleted_by": _user_ref(DEFAULT_USER),
            "deleted_time": write_time(entry.time, zone),
            "created_by": _user_ref(entry.created_by),
        }

    # -- HTTP --------------------------------------------------------------------------------------------------------

    def internal_error_response(self) -> Response:
        return json_response(500, error_body("INTERNAL_ERROR", "Internal Server Error (the fake failed)"))

    def fault_response(self, kind: str, request: Request) -> Response:
        if kind == "429":
            return json_response(429, error_body("TOO_MANY_REQUESTS", "too many requests, try again later"))
        if kind == "500":
            return self.internal_error_response()
        if kind in ("502", "503", "504"):
            title = {"502": "Bad Gateway", "503": "Service Unavailable", "504": "Gateway Time-out"}[kind]
            html = f"<html><head><title>{kind} {title}</title></head><body><h1>{kind} {title}</h1></body></html>\n"
            return Response(int(kind), html.encode(), "text/html; charset=UTF-8")
        if kind == "malformed":
            return Response(200, b'{"data":[{"Email":"trunc')
        if kind == "invalid_token":
            return _INVALID_TOKEN.response()
        return json_response(200, {"error": "invalid_code"})  # "token_error"

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        try:
            if path == TOKEN_PATH:
                if request.method != "POST":
                    raise _method_not_allowed()
                return self._token(request)
            if path == DELETED_PATH:
                route: Callable[[Request, _Token], Response] = self._list_deleted
            elif path == CONTACTS_PATH:
                route = self._list
            elif re.fullmatch(re.escape(CONTACTS_PATH) + r"/[^/]+", path):
                route = self._read
            else:
                raise ZohoError(404, "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one")
            if request.method not in ("GET", "HEAD"):
                raise _method_not_allowed()
            return route(request, self._authenticate(request))
        except ZohoError as error:
            return error.response()

    # -- OAuth -------------------------------------------------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        params = request.params
        if request.body:
            form = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
            params.update({name: values[-1] for name, values in form.items()})
        if params.get("grant_type") != "refresh_token":
            return json_response(200, {"error": "unsupported_grant_type"})
        client_id, secret = params.get("client_id", ""), params.get("client_secret", "")
        refresh_token = params.get("refresh_token", "")
        now = self._now()
        with self._lock:
            if client_id not in self._clients or not hmac.compare_digest(self._clients[client_id], secret):
                return json_response(200, {"error": "invalid_client"})
            if self._refresh.get(refresh_token) != client_id:
                return json_response(200, {"error": "invalid_code"})
            minted = self._minted.setdefault(refresh_token, deque())
            while minted and minted[0] <= now - RATE_WINDOW:
                minted.popleft()
            if self.token_rate_limit is not None and len(minted) >= self.token_rate_limit:
                return json_response(400, _TOKEN_RATE_BODY)
            minted.append(now)
            active = self._active.setdefault(refresh_token, deque())
            for token in [t for t in active if self._access.get(t) is None or self._access[t].expires <= now]:
                active.remove(token)
                self._access.pop(token, None)
            while len(active) >= self.max_active_tokens:
                self._access.pop(active.popleft(), None)
            token = f"1000.{uuid.uuid4().hex}.{uuid.uuid4().hex}"
            self._access[token] = _Token(refresh_token, client_id, now + self.token_ttl)
            active.append(token)
        return json_response(
            200,
            {
                "access_token": token,
                "scope": SCOPE,
                "api_domain": self.api_domain or self.url,
                "token_type": "Bearer",
                "expires_in": self.token_ttl,
            },
        )

    def _authenticate(self, request: Request) -> _Token:
        scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
        if scheme != "Zoho-oauthtoken" or not token.strip():
            raise _AUTH_FAILURE
        with self._lock:
            found = self._access.get(token.strip())
            if found is None or found.expires <= self._now():
                raise _INVALID_TOKEN
            return found

    # -- listing -----------------------------------------------------------------------------------------------------

    def _since(self, request: Request) -> float | None:
        text = request.headers.get("if-modified-since")
        if text is None:
            return None
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError:
            raise _invalid("If-Modified-Since") from None
        if moment.tzinfo is None:
            raise _invalid("If-Modified-Since")
        return (moment - _EPOCH).total_seconds()

    @staticmethod
    def _int_param(params: dict[str, str], name: str, low: int, high: int | None) -> int | None:
        """The parameter as an int in [low, high]; None when absent: with a page_token, per_page defaults to the
        token's."""
        text = params.get(name)
        if text is None:
            return None
        text = text.strip()
        if not re.fullmatch(r"\d+", text) or int(text) < low or (high is not None and int(text) > high):
            raise _invalid(name)
        return int(text)

    def _fields(self, params: dict[str, str]) -> list[str]:
        names = list(dict.fromkeys(n.strip() for n in params.get("fields", "").split(",") if n.strip()))
        if not names:
            raise ZohoError(
                400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param_name": "fields"}
            )
        if len(names) > MAX_FIELDS:
            raise ZohoError(
                400,
                "LIMIT_EXCEEDED",
                f"the number of fields exceeds the limit of {MAX_FIELDS}",
                {"limit": MAX_FIELDS, "param_name": "fields"},
            )
        return names

    def _position(self, params: dict[str, str], query: _Query, auth: _Token) -> _Position:
        """Where a request reads from, after checking the paging rules."""
        per_page = self._int_param(params, "per_page", 1, MAX_PER_PAGE)
        token_text = params.get("page_token")
        page_text = params.get("page")
        if token_text is not None and page_text is not None:
            raise ZohoError(
                400,
                "AMBIGUITY_DURING_PROCESSING",
                "page and page_token cannot be given together",
                {"ambiguity_due_to": ["page", "page_token"]},
            )
        if token_text is None:
            page = self._int_param(params, "page", 1, None) or 1
            size = per_page or MAX_PER_PAGE
            if page * size > DISCRETE_LIMIT:
                raise ZohoError(
                    400,
                    "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                    f"You can only get the first {DISCRETE_LIMIT} records without using page_token param",
                    {"limit": DISCRETE_LIMIT},
                )
            return _Position((page - 1) * size, size, page, from_token=False)
        state = self._decode_page_token(token_text)
        if state["x"] <= self._now():
            raise ZohoError(400, "EXPIRED_VALUE", "the given page_token has expired", {"param_name": "page_token"})
        if state["q"] != query.binding() or state["u"] != auth.client_id:
            raise _invalid("page_token")
        offset = int(state["o"])
        if offset >= self.page_token_limit:
            raise ZohoError(
                400,
                "LIMIT_REACHED",
                f"only the first {self.page_token_limit} records can be fetched with page_token",
                {"limit": self.page_token_limit},
            )
        size = per_page or int(state["n"])
        return _Position(offset, size, offset // size + 1, from_token=True)

    def _encode_page_token(self, query: _Query, offset: int, per_page: int, auth: _Token) -> tuple[str, int]:
        """An opaque token (signed base64 JSON of the query and offset) and its expiry (org clock)."""
        expires = self._now() + self.page_token_ttl
        state = {"q": query.binding(), "o": offset, "n": per_page, "u": auth.client_id, "x": expires}
        raw = json.dumps(state, separators=(",", ":")).encode()
        signature = hmac.new(self._secret, raw, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(signature + raw).decode().rstrip("="), expires

    def _decode_page_token(self, text: str) -> dict[str, Any]:
        text = text.strip()
        try:
            blob = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            signature, raw = blob[:12], blob[12:]
            if not hmac.compare_digest(signature, hmac.new(self._secret, raw, hashlib.sha256).digest()[:12]):
                raise ValueError("bad signature")
            state = json.loads(raw)
        except (binascii.Error, ValueError):
            raise _invalid("page_token") from None
        if not isinstance(state, dict):
            raise _invalid("page_token")
        return state

    def _window(self, query: _Query) -> tuple[list[int], int, int, bool]:
        """(index, lo, hi, keyed): the matching records are index[lo:hi] in ascending order; `keyed` says the
        entries are stamp * _KEY + id rather than bare ids. Called under the lock."""
        since = query.since
        bound = math.ceil(since) if since is not None else None  # stamps are whole seconds: >= ceil(since)
        if query.kind == "deleted":
            index = self._deleted_index[query.deleted_type]
            lo = bisect_left(index, bound * _KEY) if bound is not None else 0
            return index, lo, len(index), True
        if query.sort_by == "Modified_Time":
            lo = bisect_left(self._by_modified, bound * _KEY) if bound is not None else 0
            return self._by_modified, lo, len(self._by_modified), True
        if bound is None:
            if query.sort_by == "id":
                return self._live_ids, 0, len(self._live_ids), False
            return self._by_created, 0, len(self._by_created), True
        # Sorting by id or Created_Time while filtering on Modified_Time has no index: sort the matches once per
        # store version and query, so paging through them costs a slice per page.
        cache_key = (self._version, query.sort_by, bound)
        if self._ordering_cache is None or self._ordering_cache[0] != cache_key:
            start = bisect_left(self._by_modified, bound * _KEY)
            ids = [key & _MASK for key in self._by_modified[start:]]
            if query.sort_by == "id":
                ordered = sorted(ids)
            else:
                contacts = self._contacts
                ordered = sorted(contacts[i].created * _KEY + i for i in ids)
            self._ordering_cache = (cache_key, ordered)
        ordered = self._ordering_cache[1]
        return ordered, 0, len(ordered), query.sort_by != "id"

    def _page(self, query: _Query, position: _Position) -> tuple[list[int], bool]:
        """The ids of one page and whether more follow. Called under the lock."""
        offset, size = position.offset, position.per_page
        index, lo, hi, keyed = self._window(query)
        if query.sort_order == "asc" and keyed:
            keys = _ties_reversed(index, lo + offset, min(hi, lo + offset + size), hi)
        elif query.sort_order == "asc":
            keys = index[lo + offset : min(hi, lo + offset + size)]
        else:
            stop = hi - offset
            keys = index[max(lo, stop - size) : stop][::-1] if stop > lo else []
        ids = [key & _MASK for key in keys] if keyed else keys
        return ids, offset + len(ids) < hi - lo

    def _answer(
        self, query: _Query, data: list[dict[str, Any]], more: bool, position: _Position, auth: _Token
    ) -> Response:
        """The page's body, or the empty 204 (no If-Modified-Since) / 304 (with it) when nothing is left."""
        if not data:
            return Response(304 if query.since is not None else 204, b"", None)
        offset, size = position.offset, position.per_page
        next_token = expiry_text = previous_token = None
        zone = self._zone()
        if more:
            next_token, expiry = self._encode_page_token(query, offset + len(data), size, auth)
            expiry_text = write_time(expiry, zone)
        if position.from_token and offset > 0:
            previous_token = self._encode_page_token(query, max(0, offset - size), size, auth)[0]
        info: dict[str, Any] = {"per_page": size, "count": len(data), "page": position.page}
        if query.kind == "list":
            info.update(sort_by=query.sort_by, sort_order=query.sort_order)
        info.update(
            more_records=more,
            next_page_token=next_token,
            previous_page_token=previous_token,
            page_token_expiry=expiry_text,
        )
        return json_response(200, {"data": data, "info": info})

    def _list(self, request: Request, auth: _Token) -> Response:
        params = request.params
        names = self._fields(params)
        sort_by = params.get("sort_by") or "id"
        if sort_by not in SORT_FIELDS:
            raise _invalid("sort_by")
        sort_order = params.get("sort_order") or "desc"
        if sort_order not in ("asc", "desc"):
            raise _invalid("sort_order")
        query = _Query("list", sort_by, sort_order, self._since(request), tuple(sorted(names)), "")
        position = self._position(params, query, auth)
        zone = self._zone()
        with self._lock:
            ids, more = self._page(query, position)
            data = [self._record(self._contacts[i], names, zone) for i in ids]
        return self._answer(query, data, more, position, auth)

    def _list_deleted(self, request: Request, auth: _Token) -> Response:
        params = request.params
        kind = params.get("type") or "all"
        if kind not in DELETED_TYPES:
            raise _invalid("type")
        query = _Query("deleted", "deleted_time", "desc", self._since(request), (), kind)
        position = self._position(params, query, auth)
        zone = self._zone()
        with self._lock:
            ids, more = self._page(query, position)
            data = [self._deleted_json(self._deleted[i], zone) for i in ids]
        return self._answer(query, data, more, position, auth)

    def _read(self, request: Request, auth: _Token) -> Response:
        contact_id = request.path.rstrip("/").rsplit("/", 1)[1]
        params = request.params
        zone = self._zone()
        with self._lock:
            contact = self._contacts.get(int(contact_id)) if contact_id.isdigit() else None
            if contact is None or contact.id in self._deleted:
                return Response(204, b"", None)
            names = self._fields(params) if params.get("fields") else list(self._known)
            return json_response(200, {"data": [self._record(contact, names, zone)]})


def _method_not_allowed() -> ZohoError:
    return ZohoError(405, "INVALID_REQUEST_METHOD", "The http request method type is not a valid one")
