"""Normalization against libphonenumber's and email-validator's own test vectors."""

from __future__ import annotations

import json
import random
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import phonenumbers
import pytest

from contacts_store.normalize import (
    email_cache_key,
    normalize_contact,
    normalize_email,
    normalize_phone,
    phone_cache_key,
    source_hash,
)
from contacts_store.records import EmailType, NormalizedContact, PhoneType, RawEmail, RawPhone, Reject, SourceContact


def _load(fixtures_dir: Path, name: str) -> Any:
    return json.loads((fixtures_dir / "vectors" / name).read_text(encoding="utf-8"))


def test_example_numbers_of_every_region_normalize_to_e164(fixtures_dir: Path) -> None:
    vectors = _load(fixtures_dir, "libphonenumber_example_numbers.json")["vectors"]
    checked = 0
    for vector in vectors:
        for text in vector["inputs"]:
            expected = vector["installed_phonenumbers"][text]
            result = normalize_phone(text, vector["region"])
            if expected["valid"]:
                assert result.e164 == vector["expected_e164"], (vector["region"], text, result)
            else:
                assert result.e164 is None, (vector["region"], text, result)
            checked += 1
        heuristic = vector.get("heuristic_national_prefix_input")
        nsn_valid = vector["installed_phonenumbers"][vector["inputs"][0]]["valid"]
        if heuristic and nsn_valid and vector.get("heuristic_input_result") == vector["expected_e164"]:
            # the number written nationally, with its trunk prefix ("020 ..." in GB)
            assert normalize_phone(heuristic, vector["region"]).e164 == vector["expected_e164"]
    assert checked > 2000


def test_parse_vectors_that_real_metadata_agrees_with(fixtures_dir: Path) -> None:
    vectors = _load(fixtures_dir, "libphonenumber_parse_vectors.json")["vectors"]
    valid = invalid = 0
    for vector in vectors:
        if not vector["agrees_with_real_metadata"] or vector["kwargs"]:
            continue
        real = vector["real_metadata"]
        result = normalize_phone(vector["input"], vector["region"] or "ZZ")
        if real.get("valid"):
            assert result.e164 == real["e164"], vector
            valid += 1
        elif real.get("error") or real.get("valid") is False:
            assert result.e164 is None, vector
            assert result.error
            invalid += 1
    assert valid > 50 and invalid > 30


def test_formatting_does_not_change_the_result(fixtures_dir: Path) -> None:
    """The cache key drops layout characters; this checks phonenumbers agrees on real numbers of every region."""
    vectors = _load(fixtures_dir, "libphonenumber_example_numbers.json")["vectors"]
    rng = random.Random(7)
    for vector in vectors[::3]:
        digits = vector["expected_e164"][1:]
        for _ in range(3):
            pieces, i = [], 0
            while i < len(digits):
                step = rng.randint(1, 4)
                pieces.append(digits[i : i + step])
                i += step
            text = "+" + rng.choice([" ", "-", ".", "/", ") ("]).join(pieces)
            direct = phonenumbers.parse(text, vector["region"])
            expected = phonenumbers.format_number(direct, 0) if phonenumbers.is_valid_number(direct) else None
            assert phone_cache_key(text) == "+" + digits
            assert normalize_phone(text, vector["region"]).e164 == expected, text


@pytest.mark.parametrize(
    ("text", "region", "e164"),
    [
        ("(201) 555-0123", "US", "+12015550123"),
        ("201.555.0123", "US", "+12015550123"),
        ("+1 201 555 0123", "DE", "+12015550123"),
        ("'+44 20 7946 0958", "US", "+442079460958"),
        ("00 44 20 7946 0958", "US", "+442079460958"),
        ("011 44 20 7946 0958", "GB", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+44 (0) 20 7946 0958", "US", "+442079460958"),
        ("030 901820", "DE", "+4930901820"),
    ],
)
def test_messy_phones(text: str, region: str, e164: str) -> None:
    assert normalize_phone(text, region).e164 == e164


def test_extension_is_kept_apart() -> None:
    result = normalize_phone("+1 201 555 0123 ext. 42", "US")
    assert (result.e164, result.extension) == ("+12015550123", "42")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("123", "too short"),
        ("not a number", "not a phone number"),
        ("1.2015550123E+10", "scientific notation"),
        ("555-0123", "local number"),
        ("+999 1234 5678", "country calling code"),
    ],
)
def test_bad_phones_say_why(text: str, reason: str) -> None:
    result = normalize_phone(text, "US")
    assert result.e164 is None
    assert reason in (result.error or "")


def repaired(address: str) -> bool:
    """Whether normalization deliberately cleans this value up before validating it."""
    return email_cache_key(address) != (address.lower() if address.isascii() else address)


def test_email_validator_vectors(fixtures_dir: Path) -> None:
    tables = _load(fixtures_dir, "email_validator_vectors.json")["tables"]
    for row in tables["test_email_valid"]["rows"] + tables["test_email_valid_intl_local_part"]["rows"]:
        result = normalize_email(row["email_input"])
        address = row["email_input"].rsplit("<", 1)[-1]
        if address.startswith('"'):
            # Quoted local parts are valid RFC 5322 but nearly always junk in contact data: rejected on purpose.
            assert result.address is None, row["email_input"]
        else:
            assert result.address == row["output"]["normalized"].lower(), row["email_input"]
    for row in tables["test_email_invalid_syntax"]["rows"]:
        if "display name" in row["error_msg"] or repaired(row["email_input"]):
            continue  # "Name <address>" is accepted, white space and a final period trimmed, on purpose
        assert normalize_email(row["email_input"]).address is None, row["email_input"]
    for row in tables["test_email_invalid_reserved_domain"]["rows"]:
        assert normalize_email(row["email_input"]).address is None


def test_isemail_hard_errors_are_rejected(fixtures_dir: Path) -> None:
    root = ET.parse(fixtures_dir / "vectors" / "isemail_tests.xml").getroot()
    rejected = 0
    for test in root.iter("test"):
        address = (test.findtext("address") or "").translate({c: c - 0x2400 for c in range(0x2400, 0x2420)})
        if repaired(address):
            continue  # surrounding white space and a final period are trimmed on purpose (see email_cache_key)
        if test.findtext("category") == "ISEMAIL_ERR":
            assert normalize_email(address).address is None, address
            rejected += 1
    assert rejected >= 40


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("  John.Doe@EXAMPLE.com ", "john.doe@example.com"),
        ("mailto:Sales@Example.org", "sales@example.org"),
        ("Jane Roe <JANE@example.org>", "jane@example.org"),
        ("Müller@Bücher.DE", "müller@bücher.de"),
        ("info@xn--bcher-kva.de", "info@bücher.de"),
    ],
)
def test_emails_are_trimmed_lowercased_and_idna_decoded(text: str, address: str) -> None:
    assert normalize_email(text).address == address


def test_a_bad_value_does_not_sink_a_good_contact() -> None:
    contact = SourceContact(
        external_id=" 42 ",
        first_name=" Ann ",
        phones=[RawPhone("123", PhoneType.MOBILE), RawPhone("(201) 555-0123", PhoneType.WORK)],
        emails=[RawEmail("ann@", EmailType.WORK), RawEmail("ANN@example.com", EmailType.PERSONAL)],
        tags=["VIP", "vip", " key  account "],
        row_number=7,
    )
    result = normalize_contact(contact, "US")
    assert isinstance(result, NormalizedContact)
    assert result.external_id == "42" and result.first_name == "Ann"
    assert [(p.number_e164, p.type, p.is_primary) for p in result.phones] == [("+12015550123", PhoneType.WORK, True)]
    assert [(e.address, e.is_primary) for e in result.emails] == [("ann@example.com", True)]
    assert result.tags == ["VIP", "key account"]
    assert sorted(r.field for r in result.value_rejects) == ["email", "phone"]


def test_marked_primary_wins_and_duplicates_collapse() -> None:
    contact = SourceContact(
        first_name="Bo",
        phones=[
            RawPhone("201-555-0123", PhoneType.WORK),
            RawPhone("+1 202 555 0199", PhoneType.MOBILE, primary=True),
            RawPhone("(201) 555 0123", PhoneType.HOME),
        ],
        emails=[RawEmail("a@example.com; b@example.com")],
    )
    result = normalize_contact(contact, "US")
    assert isinstance(result, NormalizedContact)
    assert [(p.number_e164, p.is_primary) for p in result.phones] == [("+12015550123", False), ("+12025550199", True)]
    assert [e.address for e in result.emails] == ["a@example.com", "b@example.com"]
    assert result.emails[0].is_primary


def test_nothing_usable_is_a_rejected_row() -> None:
    contact = SourceContact(company="Acme", phones=[RawPhone("12")], emails=[RawEmail("nope")], row_number=3)
    result = normalize_contact(contact, "US")
    assert isinstance(result, Reject)
    assert result.reason == "no_usable_fields" and result.row_number == 3
    assert "'12'" in result.message and "'nope'" in result.message


def test_source_hash_ignores_position_but_not_content_or_region() -> None:
    a = SourceContact(first_name="A", phones=[RawPhone("201 555 0123")], row_number=2)
    b = SourceContact(first_name="A", phones=[RawPhone("201 555 0123")], row_number=900)
    c = SourceContact(first_name="A", phones=[RawPhone("201 555 0124")], row_number=2)
    assert source_hash(a, "US") == source_hash(b, "US")
    assert source_hash(a, "US") != source_hash(c, "US")
    assert source_hash(a, "US") != source_hash(a, "CA")


@pytest.mark.parametrize(
    ("text", "region", "e164"),
    [
        ("201-555-0123 (mobile)", "US", "+12015550123"),
        ("201-555-0123 mobile", "US", "+12015550123"),
        ("+44 20 7946 0958 (UK office)", "US", "+442079460958"),
        ("tel:+1-201-555-0123", "US", "+12015550123"),
        ("030 / 901820", "DE", "+4930901820"),
        ("1-800-FLOWERS", "US", "+18003569377"),
    ],
)
def test_labels_and_layouts_people_write(text: str, region: str, e164: str) -> None:
    assert normalize_phone(text, region).e164 == e164


def test_a_cell_with_two_numbers_gives_both_or_a_reject() -> None:
    contact = SourceContact(
        first_name="Two",
        phones=[
            RawPhone("(201) 555-0123 / (201) 555-0199", PhoneType.WORK),
            RawPhone("201-555-0188 or 201-555-0177", PhoneType.MOBILE),
            RawPhone("201-555-0166 / 12", PhoneType.HOME),
        ],
    )
    result = normalize_contact(contact, "US")
    assert isinstance(result, NormalizedContact)
    assert [(p.number, p.number_e164, p.type) for p in result.phones] == [
        ("(201) 555-0123", "+12015550123", "work"),
        ("(201) 555-0199", "+12015550199", "work"),
        ("201-555-0188", "+12015550188", "mobile"),
        ("201-555-0177", "+12015550177", "mobile"),
    ]
    assert [r.value for r in result.value_rejects] == ["201-555-0166 / 12"]


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("john.doe@example.com (work)", "john.doe@example.com"),
        ("JOHN@EXAMPLE.COM.", "john@example.com"),
        ("john@example.com,", "john@example.com"),
        ('"john@example.com"', "john@example.com"),
        ("mailto:John@Example.com?subject=hi", "john@example.com"),
    ],
)
def test_email_noise_around_the_address_is_dropped(text: str, address: str) -> None:
    assert normalize_email(text).address == address


def test_quoted_local_parts_stay_refused() -> None:
    assert normalize_email('"john doe"@example.com').address is None
