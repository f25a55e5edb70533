"""Zoho records to `SourceContact`: the default fields, lookups and tags, offsets, deletions, extra mappings."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.errors import ConfigurationError, SourceError
from connectors.zoho.mapping import (
    FieldMap,
    check_field_count,
    parse_field_specs,
    parse_stamp,
    to_contact,
    to_deletion,
)
from connectors.zoho.source import ZohoSource, ZohoSyncSettings
from contacts_store.records import EmailType, PhoneType, RawEmail, RawPhone

RECORD: dict[str, Any] = {
    "id": "7328395000000680151",
    "First_Name": "Donette",
    "Last_Name": "Foller (Sample)",
    "Title": "Nurse",
    "Account_Name": {"name": "Printing Dimensions (Sample)", "id": "7328395000000680050"},
    "Email": " Foller-Donette@noemail.invalid ",
    "Secondary_Email": None,
    "Phone": "555-555-5555",
    "Mobile": "(415) 555-0134",
    "Home_Phone": "",
    "Other_Phone": None,
    "Fax": "+44 20 7946 0958",
    "Tag": [{"name": "VIP", "id": "1"}, {"name": "Berlin", "id": "2"}],
    "Modified_Time": "2026-05-14T11:36:18+03:00",
}


def test_default_fields_map_to_contact_fields() -> None:
    contact = to_contact(RECORD, FieldMap.build(), row_number=4)
    assert contact.external_id == "7328395000000680151" and contact.row_number == 4 and not contact.deleted
    assert (contact.first_name, contact.last_name, contact.company, contact.job_title) == (
        "Donette",
        "Foller (Sample)",
        "Printing Dimensions (Sample)",
        "Nurse",
    )
    assert contact.emails == [RawEmail("Foller-Donette@noemail.invalid", EmailType.WORK, True)]
    assert contact.phones == [
        RawPhone("555-555-5555", PhoneType.WORK),
        RawPhone("(415) 555-0134", PhoneType.MOBILE),
        RawPhone("+44 20 7946 0958", PhoneType.FAX),
    ]
    assert contact.tags == ["VIP", "Berlin"]
    assert contact.updated_at == datetime(2026, 5, 14, 8, 36, 18, tzinfo=UTC)
    assert contact.raw is not None and contact.raw["Account_Name"] == "Printing Dimensions (Sample)"
    assert "Other_Phone" not in contact.raw


def test_every_recorded_contact_maps(fixtures_dir: Path) -> None:
    recorded = json.loads((fixtures_dir / "crm/zoho/nango_contacts__get_crm_v2_Contacts.json").read_text())
    records = recorded["response"]["data"]
    contacts = [to_contact(record, FieldMap.build(), index) for index, record in enumerate(records, 1)]
    assert len(contacts) == len(records) > 0
    assert all(c.external_id and c.updated_at and c.updated_at.tzinfo is UTC for c in contacts)
    donette = next(c for c in contacts if c.external_id == "7328395000000680151")
    assert donette.company == "Printing Dimensions (Sample)" and donette.emails[0].primary


def test_a_deleted_entry_is_a_deletion_at_its_time() -> None:
    entry = {
        "id": "7328395000000687002",
        "display_name": "Test",
        "type": "recycle",
        "deleted_by": {"name": "Nango Developer", "id": "1"},
        "deleted_time": "2026-05-14T13:00:00+05:30",
    }
    deletion = to_deletion(entry, 9)
    assert deletion.deleted and deletion.external_id == "7328395000000687002"
    assert deletion.updated_at == datetime(2026, 5, 14, 7, 30, tzinfo=UTC)
    with pytest.raises(SourceError, match="without deleted_time"):
        to_deletion({"id": "1", "type": "permanent"}, 1)


def test_stamps_with_any_offset_or_z() -> None:
    assert parse_stamp("2024-01-01T05:30:00+05:30") == datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_stamp("2024-01-01T00:00:00Z") == datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(SourceError, match="without Modified_Time"):
        to_contact({"id": "1"}, FieldMap.build(), 1)
    with pytest.raises(SourceError, match="unreadable"):
        parse_stamp("yesterday")
    with pytest.raises(SourceError, match="without an id"):
        to_contact({"Modified_Time": "2024-01-01T00:00:00Z"}, FieldMap.build(), 1)


def test_extra_mappings_add_retarget_and_drop_and_read_lists() -> None:
    field_map = FieldMap.build(
        {"Lead_Source": "tag", "Interests": "tag", "Phone": "phone:other", "Fax": None, "Department": "notes"}
    )
    record = {**RECORD, "Lead_Source": "Partner", "Interests": ["Golf", "Sailing"], "Department": "ICU"}
    contact = to_contact(record, field_map, 1)
    assert contact.tags == ["VIP", "Berlin", "Partner", "Golf", "Sailing"] and contact.notes == "ICU"
    assert RawPhone("555-555-5555", PhoneType.OTHER) in contact.phones
    assert all(phone.type != PhoneType.FAX for phone in contact.phones)
    assert "Fax" not in field_map.fields and "id" not in field_map.fields
    assert field_map.fields[-1] == "Modified_Time"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"First Name": "first_name"}, "not a Zoho field API name"),
        ({"Account_Name.name": "company"}, "not a Zoho field API name"),
        ({"Modified_Time": "notes"}, "cannot be mapped"),
        ({"id": "notes"}, "cannot be mapped"),
        ({"Department": "phone:pager"}, "the target must be one of"),
    ],
)
def test_bad_mappings_are_configuration_errors(extra: dict[str, str | None], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        FieldMap.build(extra)


def test_zoho_takes_at_most_50_fields() -> None:
    many = FieldMap.build({f"Custom_{n}": "notes" for n in range(40)})
    with pytest.raises(ConfigurationError, match="at most 50 fields"):
        check_field_count(many)
    with pytest.raises(ConfigurationError, match="at most 50 fields"):
        ZohoSource(client=None, settings=ZohoSyncSettings(field_map=many))  # type: ignore[arg-type]


def test_field_specs() -> None:
    assert parse_field_specs(["Lead_Source=tag", "Fax="]) == {"Lead_Source": "tag", "Fax": None}
