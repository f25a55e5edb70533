"""Normalization: raw source values to E.164 phones and validated, lower-cased emails.

Validation is the most expensive step of an import, so each distinct value is validated once per process: phone
numbers are cached under a formatting-insensitive key (``(555) 123-4567`` and ``555.123.4567`` share one entry),
emails under their trimmed (and, for ASCII, lower-cased) text. The caches are bounded so that memory stays flat
however large the input is.
"""

from __future__ import annotations

import hashlib
import importlib
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, Generic, NamedTuple, TypeVar

import email_validator
import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

from contacts_store.records import (
    Email,
    EmailType,
    NormalizedContact,
    Phone,
    PhoneType,
    RawEmail,
    RawPhone,
    Reject,
    SourceContact,
    ValueReject,
)

# Bump when normalization rules change: stored source hashes then no longer match and the next import
# re-normalizes every record instead of skipping it as unchanged.
NORMALIZATION_VERSION = "1"

DEFAULT_REGION = "US"
# Accepts members and their plain string values alike; a mapping is much cheaper than an enum call.
_PHONE_TYPES: dict[str, str] = {t.value: t.value for t in PhoneType}
_EMAIL_TYPES: dict[str, str] = {t.value: t.value for t in EmailType}
MAX_EXTERNAL_ID = 255
MAX_TAG = 255
_CACHE_SIZE = 1 << 15

# Characters that only format a number; a value made of digits and these normalizes the same whatever the layout.
_FORMATTING_ONLY = re.compile(r"\+?[\d\s().\-/]+")
_NON_DIGITS = re.compile(r"\D")
_SCIENTIFIC = re.compile(r"\d(?:[.,]\d+)?[eE]\+?\d+")
_TRAILING_LABEL = re.compile(r"(.*\d)[\s,;:\-]*(?:\([^\d()]*\)|[^\W\d_][^\d]*)")
# Separators people put between two numbers in one cell; tried only when the whole cell is not one number, since
# "030 / 901820" is a single German number.
_NUMBER_SEPARATORS = re.compile(r"\s+(?:/|or|oder|ou|o)\s+|\s*\|\s*", re.IGNORECASE)
_EMAIL_TRAILING_NOISE = re.compile(r"(?:\s*\([^()@]*\))?[\s.,;:]*$")
_MULTI_SEPARATORS = re.compile(r"\s*(?:[;\n\r]|\s:::\s)\s*")
_INTERNATIONAL_PREFIXES = ("00", "011")

_PARSE_ERRORS = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country calling code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}
_POSSIBILITY_ERRORS = {
    ValidationResult.INVALID_COUNTRY_CODE: "unknown country calling code",
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
    ValidationResult.INVALID_LENGTH: "wrong number of digits",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "a local number without its area code",
}


class PhoneResult(NamedTuple):
    """Either `e164` (with an optional extension) or `error` is set."""

    e164: str | None
    extension: str | None = None
    error: str | None = None


class EmailResult(NamedTuple):
    address: str | None
    error: str | None = None


def phone_cache_key(value: str) -> str:
    """The formatting-insensitive form of a phone value (digits, with a leading + kept), or the value itself."""
    value = value.strip().lstrip("'").strip()
    if _FORMATTING_ONLY.fullmatch(value):
        digits = _NON_DIGITS.sub("", value)
        return "+" + digits if value.startswith("+") else digits
    return value


def normalize_phone(value: str, region: str = DEFAULT_REGION) -> PhoneResult:
    """E.164 for a phone number as written by a person, read in `region` unless it carries a country code."""
    return _normalize_phone_key(phone_cache_key(value), region.upper())


@lru_cache(maxsize=_CACHE_SIZE)
def _normalize_phone_key(key: str, region: str) -> PhoneResult:
    if not key:
        return PhoneResult(None, error="empty")
    if _SCIENTIFIC.fullmatch(key):
        return PhoneResult(
            None,
            error="looks like a spreadsheet number in scientific notation (digits were lost)",
        )
    result = _parse_phone(key, region)
    if result.e164 is not None:
        return result
    if key.startswith(_INTERNATIONAL_PREFIXES):
        # "00 44 20 7946 0958" is international in most of the world even when the default region dials 011.
        prefix = "011" if key.startswith("011") else "00"
        retry = _parse_phone("+" + key[len(prefix) :], region)
        if retry.e164 is not None:
            return retry
    labelled = _TRAILING_LABEL.fullmatch(key)
    if labelled:
        # "201-555-0123 (mobile)": phonenumbers would read the label's letters as vanity digits.
        retry = _normalize_phone_key(labelled.group(1), region)
        if retry.e164 is not None:
            return retry
    return result


def _parse_phone(key: str, region: str) -> PhoneResult:
    try:
        number = phonenumbers.parse(key, region)
    except NumberParseException as exc:
        return PhoneResult(None, error=_PARSE_ERRORS.get(exc.error_type, "not a phone number"))
    if not phonenumbers.is_valid_number(number):
        reason = phonenumbers.is_possible_number_with_reason(number)
        detail = _POSSIBILITY_ERRORS.get(reason)
        if detail is None:
            where = phonenumbers.region_code_for_country_code(number.country_code or 0)
            detail = f"not a valid number in {where}"
        return PhoneResult(None, error=detail)
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return PhoneResult(e164, extension=number.extension or None)


def _cache_domain_validation() -> None:
    """Validate each distinct email domain once.

    email-validator spends about two thirds of its time on the domain (IDNA and UTS-46 checks per character), and
    a contact file has few distinct domains. Its `validate_email` looks the domain check up in its own module
    namespace, so a memoizing wrapper there changes nothing but the cost; failures are memoized and re-raised too.
    """
    module = importlib.import_module("email_validator.validate_email")
    original = getattr(module, "validate_email_domain_name", None)
    if original is None or getattr(original, "_contact_sync_cached", False):
        return

    @lru_cache(maxsize=_CACHE_SIZE)
    def check(domain: str, test_environment: bool, globally_deliverable: bool) -> tuple[Any, tuple[Any, ...] | None]:
        try:
            return original(domain, test_environment=test_environment, globally_deliverable=globally_deliverable), None
        except email_validator.EmailSyntaxError as error:
            # Keep the message only: the exception's traceback would pin every frame (and batch) above it.
            return None, error.args

    def validate_email_domain_name(
        domain: str, test_environment: bool = False, globally_deliverable: bool = True
    ) -> Any:
        info, error_args = check(domain, test_environment, globally_deliverable)
        if error_args is not None:
            raise email_validator.EmailSyntaxError(*error_args)
        return dict(info)

    validate_email_domain_name._contact_sync_cached = True  # type: ignore[attr-defined]
    setattr(module, "validate_email_domain_name", validate_email_domain_name)  # noqa: B010


_cache_domain_validation()


def email_cache_key(value: str) -> str:
    """The address as people meant it: without `mailto:` (and its `?subject=`), wrapping quotes, a trailing
    `(label)` or a sentence's final period or comma. None of these can be part of a valid address, so removing
    them only rescues values that would otherwise be rejected."""
    value = value.strip()
    if value[:7].lower() == "mailto:":
        value = value[7:].split("?", 1)[0].strip()
    if len(value) > 1 and value[0] == value[-1] and value[0] in "\"'" and value.count(value[0]) == 2:
        value = value[1:-1].strip()
    value = _EMAIL_TRAILING_NOISE.sub("", value)
    return value.lower() if value.isascii() else value


def normalize_email(value: str) -> EmailResult:
    """A syntactically valid address, lower-cased; international domains are kept in their Unicode form."""
    return _normalize_email_key(email_cache_key(value))


@lru_cache(maxsize=_CACHE_SIZE)
def _normalize_email_key(key: str) -> EmailResult:
    if not key:
        return EmailResult(None, "empty")
    try:
        info = email_validator.validate_email(key, check_deliverability=False, allow_display_name=True)
    except email_validator.EmailNotValidError as exc:
        return EmailResult(None, str(exc))
    return EmailResult(info.normalized.lower())


def split_values(value: str, *, allow_commas: bool) -> list[str]:
    """Cells sometimes hold several values ("555-1234; 555-5678", Google's " ::: ")."""
    parts = _MULTI_SEPARATORS.split(value)
    if allow_commas:
        parts = [piece for part in parts for piece in part.split(",")]
    return [p.strip() for p in parts if p.strip()]


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def source_hash(contact: SourceContact, region: str) -> str:
    """Fingerprint of a raw record as the source gave it, so an unchanged record skips normalization entirely."""
    # repr() of plain strings and bools (not of the named tuples holding enums) keeps this cheap: it runs for every
    # record of every import, before anything else.
    key = (
        NORMALIZATION_VERSION,
        region,
        contact.external_id,
        contact.first_name,
        contact.last_name,
        contact.display_name,
        contact.company,
        contact.job_title,
        contact.notes,
        [(p[0], str(p[1]), p[2]) for p in contact.phones],
        [(e[0], str(e[1]), e[2]) for e in contact.emails],
        contact.tags,
        contact.deleted,
    )
    return hashlib.blake2b(repr(key).encode(), digest_size=16).hexdigest()


def content_hash(contact: NormalizedContact) -> str:
    """Fingerprint of a contact's meaning; equal hashes mean an update would change nothing that matters.

    A phone's original text is left out: "(201) 555-0123" and "201.555.0123" are the same number, and a record
    exported twice with different layouts must not rewrite the contact each time (the first text is kept).
    """
    key = (
        contact.first_name,
        contact.last_name,
        contact.display_name,
        contact.company,
        contact.job_title,
        contact.notes,
        tuple((p.number_e164, p.extension, p.type, p.is_primary) for p in contact.phones),
        tuple(contact.emails),
        tuple(contact.tags),
    )
    return hashlib.blake2b(repr(key).encode(), digest_size=16).hexdigest()


def _several_numbers(value: str, region: str) -> list[tuple[str, str, str | None]]:
    """("201-555-0188 or 201-555-0177" → both) when every piece is a valid number, else nothing."""
    out: list[tuple[str, str, str | None]] = []
    pieces = [piece.strip() for piece in _NUMBER_SEPARATORS.split(value) if piece.strip()]
    if len(pieces) < 2:
        return out
    for piece in pieces:
        result = normalize_phone(piece, region)
        if result.e164 is None:
            return []
        out.append((piece, result.e164, result.extension))
    return out


_Value = TypeVar("_Value", Phone, Email)


class _Unique(Generic[_Value]):
    """Values in first-seen order without duplicates; the first one the source marks primary (else the first
    value) becomes the primary one."""

    def __init__(self) -> None:
        self.items: list[_Value] = []
        self.seen: dict[str, int] = {}
        self.primary: int | None = None

    def add(self, key: str, item: _Value, primary: bool) -> None:
        index = self.seen.get(key)
        if index is None:
            index = self.seen[key] = len(self.items)
            self.items.append(item)
        if primary and self.primary is None:
            self.primary = index

    def finish(self) -> list[_Value]:
        if self.items:
            index = self.primary or 0
            self.items[index] = self.items[index]._replace(is_primary=True)
        return self.items


def _normalize_phones(raw: Iterable[RawPhone], region: str, rejects: list[ValueReject]) -> list[Phone]:
    phones: _Unique[Phone] = _Unique()
    for value, type_, primary in raw:
        for part in split_values(value, allow_commas=True) if value else ():
            result = normalize_phone(part, region)
            if result.e164 is not None:
                phones.add(result.e164, Phone(part, result.e164, _PHONE_TYPES[type_], False, result.extension), primary)
                continue
            several = _several_numbers(part, region)
            for piece, e164, extension in several:
                phones.add(e164, Phone(piece, e164, _PHONE_TYPES[type_], False, extension), primary)
            if not several:
                rejects.append(ValueReject("phone", part, f"invalid phone: {result.error}"))
    return phones.finish()


def _normalize_emails(raw: Iterable[RawEmail], rejects: list[ValueReject]) -> list[Email]:
    emails: _Unique[Email] = _Unique()
    for value, type_, primary in raw:
        for part in split_values(value, allow_commas=value.count("@") > 1) if value else ():
            result = normalize_email(part)
            if result.address is None:
                rejects.append(ValueReject("email", part, f"invalid email: {result.error}"))
            else:
                emails.add(result.address, Email(result.address, _EMAIL_TYPES[type_], False), primary)
    return emails.finish()


def normalize_tags(tags: Iterable[str], rejects: list[ValueReject] | None = None) -> list[str]:
    """Trimmed, de-duplicated without regard to case, first spelling and order kept."""
    out: list[str] = []
    seen: set[str] = set()
    for tag in tags:
        tag = " ".join(tag.split())
        if len(tag) > MAX_TAG:
            if rejects is not None:
                rejects.append(ValueReject("tag", tag, f"a tag is at most {MAX_TAG} characters long"))
            continue
        folded = tag.casefold()
        if tag and folded not in seen:
            seen.add(folded)
            out.append(tag)
    return out


def normalize_contact(
    contact: SourceContact, region: str = DEFAULT_REGION, raw_hash: str | None = None
) -> NormalizedContact | Reject:
    """Clean one record; a record with no name, valid phone or valid email is rejected whole."""
    raw_hash = raw_hash or source_hash(contact, region)
    external_id = _clean(contact.external_id)
    if external_id is not None and len(external_id) > MAX_EXTERNAL_ID:
        message = f"the record id is {len(external_id)} characters long; at most {MAX_EXTERNAL_ID} are kept"
        return Reject(
            "invalid_external_id", message, contact.row_number, external_id[:MAX_EXTERNAL_ID], raw=contact.raw
        )
    if contact.deleted:
        return NormalizedContact(
            external_id,
            None,
            None,
            None,
            None,
            None,
            None,
            [],
            [],
            [],
            True,
            contact.row_number,
            raw_hash,
            "",
            [],
            contact.raw,
        )
    value_rejects: list[ValueReject] = []
    phones = _normalize_phones(contact.phones, region, value_rejects)
    emails = _normalize_emails(contact.emails, value_rejects)
    first_name = _clean(contact.first_name)
    last_name = _clean(contact.last_name)
    display_name = _clean(contact.display_name)
    if not (phones or emails or first_name or last_name or display_name):
        problems = [f"{r.field} {r.value!r}: {r.reason}" for r in value_rejects]
        message = "no name, valid phone or valid email" + (f" ({'; '.join(problems)})" if problems else "")
        return Reject(
            "no_usable_fields",
            message,
            contact.row_number,
            external_id,
            None,
            None,
            contact.raw,
        )
    normalized = NormalizedContact(
        external_id=external_id,
        first_name=first_name,
        last_name=last_name,
        display_name=display_name,
        company=_clean(contact.company),
        job_title=_clean(contact.job_title),
        notes=_clean(contact.notes),
        phones=phones,
        emails=emails,
        tags=normalize_tags(contact.tags, value_rejects),
        deleted=False,
        row_number=contact.row_number,
        source_hash=raw_hash,
        content_hash="",
        value_rejects=value_rejects,
        raw=contact.raw,
    )
    normalized.content_hash = content_hash(normalized)
    return normalized


def value_rejects_of(contact: NormalizedContact) -> list[Reject]:
    """The dropped values of a kept contact, as reject rows for the report and the rejects table."""
    return [
        Reject(
            reason="invalid_" + r.field,
            message=r.reason,
            row_number=contact.row_number,
            external_id=contact.external_id,
            field=r.field,
            value=r.value,
            raw=contact.raw,
        )
        for r in contact.value_rejects
    ]
