"""Real export headers (shared fixtures, or label lists documented in shared/fixtures/csv/headers/SOURCES.md)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from connectors.csv_files import open_csv
from contacts_store.records import EmailType, PhoneType, RawEmail, RawPhone
from tests.connectors.csv_files.helpers import Writer, contacts, read_all


def _mapped(path: Path) -> tuple[dict[str, str], list[str]]:
    with open_csv(path) as source:
        return source.mapped, source.ignored_columns


def _header_file(write_csv: Writer, header: list[str], *rows: list[str]) -> Path:
    lines = [",".join(f'"{cell}"' for cell in row) for row in (header, *rows)]
    return write_csv("\r\n".join(lines) + "\r\n")


def test_google_contacts_current(csv_fixtures: Path) -> None:
    mapped, ignored = _mapped(csv_fixtures / "headers" / "google_contacts_current_header.csv")
    assert mapped == {
        "First Name": "first_name",
        "Last Name": "last_name",
        "Organization Name": "company",
        "Organization Title": "job_title",
        "Notes": "notes",
        "Labels": "tags",
        **{f"E-mail {n} - Label": "email_type" for n in range(1, 5)},
        **{f"E-mail {n} - Value": "email" for n in range(1, 5)},
        **{f"Phone {n} - Label": "phone_type" for n in range(1, 4)},
        **{f"Phone {n} - Value": "phone" for n in range(1, 4)},
    }
    assert "Middle Name" in ignored and "Name Prefix" in ignored and "Address 1 - Street" in ignored


def test_google_contacts_current_row(csv_fixtures: Path, write_csv: Writer) -> None:
    with (csv_fixtures / "headers" / "google_contacts_current_header.csv").open(newline="") as file:
        header = next(csv.reader(file))
    row = dict.fromkeys(header, "")
    row.update(
        {
            "First Name": "Ana",
            "Last Name": "Silva",
            "Labels": "* myContacts ::: Clients",
            "E-mail 1 - Label": "* Work",
            "E-mail 1 - Value": "ana@acme.example",
            "E-mail 2 - Label": "Home",
            "E-mail 2 - Value": "ana@home.example ::: ana2@home.example",
            "Phone 1 - Label": "Mobile",
            "Phone 1 - Value": "+351 912 345 678",
            "Phone 2 - Label": "Work Fax",
            "Phone 2 - Value": "+351 21 000 0000",
            "Phone 3 - Label": "Main",
            "Phone 3 - Value": "'+44 20 7946 0000",
        }
    )
    _, records = read_all(_header_file(write_csv, header, [row[h] for h in header]))
    (contact,) = contacts(records)
    assert (contact.first_name, contact.last_name) == ("Ana", "Silva")
    assert contact.tags == ["myContacts", "Clients"]
    assert contact.emails == [
        RawEmail("ana@acme.example", EmailType.WORK, True),
        RawEmail("ana@home.example", EmailType.PERSONAL, False),
        RawEmail("ana2@home.example", EmailType.PERSONAL, False),
    ]
    assert contact.phones == [
        RawPhone("+351 912 345 678", PhoneType.MOBILE, False),
        RawPhone("+351 21 000 0000", PhoneType.FAX, False),
        RawPhone("'+44 20 7946 0000", PhoneType.OTHER, False),
    ]


def test_google_contacts_legacy(csv_fixtures: Path) -> None:
    mapped, ignored = _mapped(csv_fixtures / "headers" / "google_contacts_legacy_header_from_roundcube_gmail.csv")
    assert mapped == {
        "Name": "display_name",
        "Given Name": "first_name",
        "Family Name": "last_name",
        "Notes": "notes",
        "Group Membership": "tags",
        **{f"E-mail {n} - Type": "email_type" for n in range(1, 5)},
        **{f"E-mail {n} - Value": "email" for n in range(1, 5)},
        **{f"Phone {n} - Type": "phone_type" for n in range(1, 8)},
        **{f"Phone {n} - Value": "phone" for n in range(1, 8)},
        "Organization 1 - Name": "company",
        "Organization 1 - Title": "job_title",
    }
    assert {"Additional Name", "Name Prefix", "Organization 1 - Type", "Website 1 - Value"} <= set(ignored)


def test_salesforce_describe_api_names(csv_fixtures: Path, write_csv: Writer) -> None:
    with (csv_fixtures / "headers" / "salesforce_contact_fields_from_describe.csv").open(newline="") as file:
        api_names = [row["api_name"] for row in csv.DictReader(file)]
    assert len(api_names) > 50
    mapped, ignored = _mapped(_header_file(write_csv, api_names))
    assert mapped == {
        "Id": "external_id",
        "LastName": "last_name",
        "FirstName": "first_name",
        "Name": "display_name",
        "Phone": "phone:work",
        "Fax": "phone:fax",
        "MobilePhone": "phone:mobile",
        "HomePhone": "phone:home",
        "OtherPhone": "phone:other",
        "AssistantPhone": "phone:other",
        "Email": "email:work",
        "Title": "job_title",
        "Description": "notes",
    }
    for reference in ("AccountId", "OwnerId", "MasterRecordId", "ReportsToId", "CreatedById", "IndividualId"):
        assert reference in ignored


def test_salesforce_account_name_columns(write_csv: Writer) -> None:
    mapped, _ = _mapped(_header_file(write_csv, ["Id", "AccountId", "Account.Name", "AccountName"]))
    assert mapped == {"Id": "external_id", "Account.Name": "company", "AccountName": "company"}


HUBSPOT = [
    "Record ID",
    "First Name",
    "Last Name",
    "Email",
    "Phone Number",
    "Mobile Phone Number",
    "Fax Number",
    "Company Name",
    "Associated Company",
    "Job Title",
    "Additional email addresses",
    "Contact owner",
    "Primary Associated Company ID",
    "Last Activity Date",
    "Lead Status",
    "Marketing contact status",
    "Create Date",
]


def test_hubspot_export_labels(write_csv: Writer) -> None:
    row = [
        "901",
        "Ana",
        "Silva",
        "ana@acme.example",
        "+1 212 555 0100",
        "+1 917 555 0101",
        "+1 212 555 0102",
        "Acme",
        "Acme Holdings",
        "CFO",
        "ana@old.example;ana@other.example",
        "Bob Owner",
        "77",
        "2024-01-01",
        "Open",
        "Marketing contact",
        "2023-05-05",
    ]
    path = _header_file(write_csv, HUBSPOT, row)
    source, records = read_all(path)
    assert source.mapped == {
        "Record ID": "external_id",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Email": "email:work",
        "Phone Number": "phone:work",
        "Mobile Phone Number": "phone:mobile",
        "Fax Number": "phone:fax",
        "Company Name": "company",
        "Associated Company": "company",
        "Job Title": "job_title",
        "Additional email addresses": "email:other",
    }
    assert source.has_id_column
    (contact,) = contacts(records)
    assert (contact.external_id, contact.company, contact.job_title) == ("901", "Acme", "CFO")
    assert contact.phones == [
        RawPhone("+1 212 555 0100", PhoneType.WORK),
        RawPhone("+1 917 555 0101", PhoneType.MOBILE),
        RawPhone("+1 212 555 0102", PhoneType.FAX),
    ]
    assert contact.emails == [
        RawEmail("ana@acme.example", EmailType.WORK, True),
        RawEmail("ana@old.example", EmailType.OTHER),
        RawEmail("ana@other.example", EmailType.OTHER),
    ]


ZOHO = [
    "Record Id",
    "Contact Owner",
    "First Name",
    "Last Name",
    "Email",
    "Secondary Email",
    "Phone",
    "Mobile",
    "Home Phone",
    "Other Phone",
    "Fax",
    "Account Name",
    "Title",
    "Department",
    "Tag",
    "Description",
]


def test_zoho_export_labels(write_csv: Writer) -> None:
    row = [
        "zcrm_1",
        "Owner",
        "Ana",
        "Silva",
        "ana@acme.example",
        "ana@home.example",
        "1",
        "2",
        "3",
        "4",
        "5",
        "Acme",
        "CFO",
        "Finance",
        "vip,partner",
        "Met at expo",
    ]
    source, records = read_all(_header_file(write_csv, ZOHO, row))
    assert source.mapped == {
        "Record Id": "external_id",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Email": "email:work",
        "Secondary Email": "email:other",
        "Phone": "phone:work",
        "Mobile": "phone:mobile",
        "Home Phone": "phone:home",
        "Other Phone": "phone:other",
        "Fax": "phone:fax",
        "Account Name": "company",
        "Title": "job_title",
        "Tag": "tags",
        "Description": "notes",
    }
    assert source.ignored_columns == ["Contact Owner", "Department"]
    (contact,) = contacts(records)
    assert [(p.value, p.type) for p in contact.phones] == [
        ("1", PhoneType.WORK),
        ("2", PhoneType.MOBILE),
        ("3", PhoneType.HOME),
        ("4", PhoneType.OTHER),
        ("5", PhoneType.FAX),
    ]
    assert (contact.company, contact.job_title, contact.notes, contact.tags) == (
        "Acme",
        "CFO",
        "Met at expo",
        ["vip", "partner"],
    )


# Roundcube's vCard field for a column → what we expect the column to map to. Phone and email types go through the
# same vCard-type table as the roundcube fixture tests.
_VCARD_PHONE = {"cell": "mobile", "mobile": "mobile", "work": "work", "work2": "work", "home": "home", "home2": "home"}
_VCARD_PHONE |= {"homefax": "fax", "workfax": "fax"}
_VCARD_EMAIL = {"home": "personal", "work": "work"}
_VCARD_SCALAR = {
    "firstname": "first_name",
    "surname": "last_name",
    "name": "display_name",
    "organization": "company",
    "jobtitle": "job_title",
    "notes": "notes",
    "groups": "tags",
}
# Where we knowingly differ from Roundcube: a fax is a fax, a work mobile is a mobile, and a bare "Email" column
# is the primary (work) email as in every CRM export.
_DELIBERATE = {"Other Fax": "phone:fax", "Work Mobile": "phone:mobile", "Email": "email:work"}


def _expected_label(column: str, field: str) -> str | None:
    if column in _DELIBERATE:
        return _DELIBERATE[column]
    kind, _, subtype = field.partition(":")
    if kind == "phone":
        return f"phone:{_VCARD_PHONE.get(subtype, 'other')}"
    if kind == "email":
        return f"email:{_VCARD_EMAIL.get(subtype, 'other')}"
    return _VCARD_SCALAR.get(field)


def test_outlook_thunderbird_columns(csv_fixtures: Path, write_csv: Writer) -> None:
    data = json.loads((csv_fixtures / "headers" / "outlook_thunderbird_columns_roundcube.json").read_text())
    columns = {entry["csv_column"]: entry["roundcube_field"] for entry in data["columns"]}
    assert len(columns) == 108
    mapped, ignored = _mapped(_header_file(write_csv, list(columns)))
    expected = {column: label for column, field in columns.items() if (label := _expected_label(column, field))}
    assert mapped == expected
    # Outlook's "Title" is a name prefix; with "Job Title" in the same file it must not become the job title.
    assert "Title" in ignored and mapped["Job Title"] == "job_title"
    assert set(mapped) | set(ignored) == set(columns)
