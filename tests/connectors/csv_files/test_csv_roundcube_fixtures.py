"""Roundcube's CSV→vCard test pairs: what we extract from each CSV must agree with the vCard Roundcube expects."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from contacts_store.records import SourceContact
from tests.connectors.csv_files.helpers import contacts, read_all

# vCard TYPE → our type. Anything not listed, or no TYPE at all, is "other".
VCARD_PHONE_TYPES = {
    "cell": "mobile",
    "work": "work",
    "work2": "work",
    "home": "home",
    "home2": "home",
    "homefax": "fax",
    "workfax": "fax",
}
VCARD_EMAIL_TYPES = {"home": "personal", "work": "work"}


@dataclass
class VCard:
    fn: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    org: str | None = None
    title: str | None = None
    note: str | None = None
    categories: list[str] = field(default_factory=list)
    phones: list[tuple[str, str]] = field(default_factory=list)
    emails: list[tuple[str, str]] = field(default_factory=list)


def parse_vcard(path: Path) -> VCard:
    card = VCard()
    for line in path.read_text(encoding="utf-8").splitlines():
        head, _, value = line.partition(":")
        name, *params = head.split(";")
        types = [p.split("=", 1)[1].lower() for p in params if p.upper().startswith("TYPE=")]
        vcard_type = types[0] if types else ""
        if name == "FN":
            card.fn = value
        elif name == "N":
            last, first = value.split(";")[:2]
            card.first_name, card.last_name = first or None, last or None
        elif name == "ORG":
            card.org = value
        elif name == "TITLE":
            card.title = value
        elif name == "NOTE":
            card.note = value
        elif name == "CATEGORIES":
            card.categories = value.split(",")
        elif name == "TEL":
            card.phones.append((value, VCARD_PHONE_TYPES.get(vcard_type, "other")))
        elif name == "EMAIL":
            card.emails.append((value, VCARD_EMAIL_TYPES.get(vcard_type, "other")))
    return card


@pytest.mark.parametrize("name", ["gmail", "all", "outlook", "tb_plain"])
def test_csv_matches_roundcube_vcard(csv_fixtures: Path, name: str) -> None:
    source, records = read_all(csv_fixtures / "roundcube" / f"{name}.csv")
    (contact,) = contacts(records)
    card = parse_vcard(csv_fixtures / "roundcube" / f"{name}.vcf")
    assert card.phones or card.emails, "the vCard parser found nothing; the fixture changed?"

    assert [(p.value, str(p.type)) for p in contact.phones] == card.phones
    assert [(e.value, str(e.type)) for e in contact.emails] == card.emails
    assert contact.first_name == card.first_name
    assert contact.last_name == card.last_name
    assert contact.company == card.org
    assert contact.job_title == card.title
    assert contact.notes == card.note
    assert contact.tags == card.categories
    if "display_name" in source.mapped.values():
        assert contact.display_name == card.fn
    else:
        assert contact.display_name is None  # Roundcube derives FN; we leave that to normalization


def _only(records: list[SourceContact]) -> SourceContact:
    assert len(records) == 1
    return records[0]


def test_gmail_primary_marks_and_tags(csv_fixtures: Path) -> None:
    source, records = read_all(csv_fixtures / "roundcube" / "gmail.csv")
    contact = _only(contacts(records))
    assert [e.primary for e in contact.emails] == [True, False, False, False]
    assert contact.tags == ["My Contacts", "Test"]
    assert contact.notes == 'note"note'
    assert contact.row_number == 2
    assert source.encoding == "utf-8" and source.delimiter == ","


def test_outlook_all_columns(csv_fixtures: Path) -> None:
    source, records = read_all(csv_fixtures / "roundcube" / "all.csv")
    contact = _only(contacts(records))
    assert source.encoding == "utf-8-sig"
    assert source.columns[0] == "Display Name"
    assert "Title" in source.ignored_columns  # a name prefix in Outlook ("Prefix" here), not the job title
    assert contact.job_title == "Job Title"
    primary = [p.value for p in contact.phones if p.primary]
    assert primary == ["600"]  # "Primary Phone"
    assert contact.raw is not None and contact.raw["Title"] == "Prefix"


def test_thunderbird_trailing_empty_column(csv_fixtures: Path) -> None:
    source, records = read_all(csv_fixtures / "roundcube" / "tb_plain.csv")
    assert source.columns[-1] == ""
    assert "" not in source.ignored_columns
    contact = _only(contacts(records))
    assert contact.emails[0].value == "test@domain.tld" and contact.emails[0].primary
