from __future__ import annotations

import pytest

from connectors.csv_files.columns import plan_columns
from connectors.csv_files.headers import (
    classify,
    google_email_type,
    google_phone_type,
    normalize_header,
    raw_keys,
    split_tags,
)
from connectors.csv_files.mapping_file import ColumnMapping
from contacts_store.records import EmailType, PhoneType


@pytest.mark.parametrize(
    ("header", "normal"),
    [
        ("FirstName", "first name"),
        ("MobilePhone", "mobile phone"),
        ("E-mail 2 Address", "e mail 2 address"),
        ("first_name", "first name"),
        ("\ufeff  Display Name ", "display name"),
        ('"Company"', "company"),
        ("Account.Name", "account name"),
        ("Phone 1 - Value", "phone 1 value"),
        ("AccountID", "account id"),
        ("URLValue", "url value"),
        ("TTY/TDD Phone", "tty tdd phone"),
    ],
)
def test_normalize_header(header: str, normal: str) -> None:
    assert normalize_header(header) == normal


def _label(header: str) -> str | None:
    role = classify(header)
    return None if role is None else role.label


@pytest.mark.parametrize(
    ("header", "label"),
    [
        ("external_id", "external_id"),
        ("ID", "external_id"),
        ("display_name", "display_name"),
        ("Full Name", "display_name"),
        ("organization", "company"),
        ("phone", "phone:work"),
        ("cell", "phone:mobile"),
        ("mobile_phone", "phone:mobile"),
        ("work_phone", "phone:work"),
        ("home_phone", "phone:home"),
        ("fax", "phone:fax"),
        ("other_phone", "phone:other"),
        ("email", "email:work"),
        ("E-Mail", "email:work"),
        ("work_email", "email:work"),
        ("personal_email", "email:personal"),
        ("other_email", "email:other"),
        ("tags", "tags"),
        ("Phone 3 - Label", "phone_type"),
        ("E-mail 1 - Value", "email"),
        ("Organization 2 - Name", "company"),
        ("Nickname", None),
        ("Name Prefix", None),
        ("Department", None),
        ("E-mail Display Name", None),
    ],
)
def test_classify(header: str, label: str | None) -> None:
    assert _label(header) == label


@pytest.mark.parametrize("header", ["AccountId", "OwnerId", "MasterRecordId", "ReportsToId", "CreatedById"])
def test_salesforce_reference_ids_are_not_the_record_id(header: str) -> None:
    assert classify(header) is None


def test_email_column_is_the_primary_email() -> None:
    role = classify("email")
    assert role is not None and role.primary and role.type == EmailType.WORK


def test_title_is_a_job_title_only_without_a_job_title_column() -> None:
    outlook = plan_columns(["Title", "First Name", "Job Title"])
    assert outlook.roles[0] is None
    assert outlook.scalars == {"first_name": [1], "job_title": [2]}
    salesforce = plan_columns(["LastName", "Title"])
    assert salesforce.scalars == {"last_name": [0], "job_title": [1]}


def test_title_with_job_title_from_the_mapping_file() -> None:
    mapping = ColumnMapping.from_dict({"columns": {"Position": "job_title"}})
    plan = plan_columns(["Title", "Position"], mapping)
    assert plan.scalars == {"job_title": [1]}
    assert plan.roles[0] is None


def test_google_type_cells_pair_with_their_value_cells() -> None:
    plan = plan_columns(["Phone 2 - Value", "Phone 1 - Type", "Phone 2 - Type", "Phone 1 - Value", "E-mail 1 - Type"])
    assert [(column.index, column.type_index) for column in plan.phones] == [(0, 2), (3, 1)]
    # A type cell with no value cell to type is ignored.
    assert plan.roles[4] is None and plan.emails == []


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("Mobile", (PhoneType.MOBILE, False)),
        ("* Mobile", (PhoneType.MOBILE, True)),
        ("Work", (PhoneType.WORK, False)),
        ("home", (PhoneType.HOME, False)),
        ("Home Fax", (PhoneType.FAX, False)),
        ("Work Fax", (PhoneType.FAX, False)),
        ("Fax", (PhoneType.FAX, False)),
        ("Main", (PhoneType.OTHER, False)),
        ("Pager", (PhoneType.OTHER, False)),
        ("Other", (PhoneType.OTHER, False)),
        ("Grandma's landline", (PhoneType.OTHER, False)),
        ("", (PhoneType.OTHER, False)),
        (None, (PhoneType.OTHER, False)),
    ],
)
def test_google_phone_labels(cell: str | None, expected: tuple[PhoneType, bool]) -> None:
    assert google_phone_type(cell) == expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("* Home", (EmailType.PERSONAL, True)),
        ("Home", (EmailType.PERSONAL, False)),
        ("Work", (EmailType.WORK, False)),
        ("Other", (EmailType.OTHER, False)),
        ("school", (EmailType.OTHER, False)),
        ("", (EmailType.OTHER, False)),
    ],
)
def test_google_email_labels(cell: str, expected: tuple[EmailType, bool]) -> None:
    assert google_email_type(cell) == expected


@pytest.mark.parametrize(
    ("cell", "tags"),
    [
        ("* My Contacts ::: Test", ["My Contacts", "Test"]),
        ("vip; enterprise", ["vip", "enterprise"]),
        ("a,b;;c , ", ["a", "b", "c"]),
        ("Friends", ["Friends"]),
        (" ; , ", []),
    ],
)
def test_split_tags(cell: str, tags: list[str]) -> None:
    assert split_tags(cell) == tags


def test_raw_keys_are_unique() -> None:
    assert raw_keys(["Name", "", "Name", "Phone", "Name"]) == ["Name", "column 2", "Name (2)", "Phone", "Name (3)"]


@pytest.mark.parametrize(
    ("header", "label"),
    [
        ("Vorname", "first_name"),
        ("Nachname", "last_name"),
        ("Firma", "company"),
        ("Telefon geschäftlich", "phone:work"),
        ("Mobiltelefon", "phone:mobile"),
        ("E-Mail-Adresse", "email:other"),
        ("E-Mail 2: Adresse", "email:other"),
        ("Kategorien", "tags"),
        ("Prénom", "first_name"),
        ("Nom", "last_name"),
        ("Téléphone mobile", "phone:mobile"),
        ("Adresse de messagerie", "email:other"),
        ("Teléfono del trabajo", "phone:work"),
        ("Dirección de correo electrónico", "email:other"),
        ("Mobiele telefoon", "phone:mobile"),
        ("E-mailadres", "email:other"),
        ("Haupttelefon", "phone:other"),
        ("E-Mail: Angezeigter Name", None),
    ],
)
def test_localized_outlook_headers(header: str, label: str | None) -> None:
    assert _label(header) == label
