"""HubSpot contacts to `SourceContact`: default properties, additional emails, nulls, archives, extra mappings."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from connectors.errors import ConfigurationError, SourceError
from connectors.hubspot.mapping import FieldMap, HubSpotRecord, parse_field_specs, parse_stamp, to_contact
from contacts_store.records import EmailType, PhoneType, RawEmail, RawPhone

PROPS: dict[str, str | None] = {
    "firstname": "Maria",
    "lastname": "Johnson (Sample Contact)",
    "company": "HubSpot",
    "jobtitle": "Salesperson",
    "email": "emailmaria@hubspot.com",
    "hs_additional_emails": "maria@personal.example;;m.j@other.example ",
    "phone": "+1 617-555-0100",
    "mobilephone": "",
    "fax": None,
    "hs_object_id": "501",
    "lastmodifieddate": "2026-05-01T07:25:37.123Z",
    "createdate": "2026-01-01T00:00:00.000Z",
}


def test_default_properties_map_to_contact_fields() -> None:
    contact = to_contact(HubSpotRecord("501", PROPS), FieldMap.build(), row_number=3)
    assert contact.external_id == "501" and contact.row_number == 3 and not contact.deleted
    assert (contact.first_name, contact.last_name, contact.company, contact.job_title) == (
        "Maria",
        "Johnson (Sample Contact)",
        "HubSpot",
        "Salesperson",
    )
    assert contact.emails == [
        RawEmail("emailmaria@hubspot.com", EmailType.WORK, True),
        RawEmail("maria@personal.example", EmailType.OTHER),
        RawEmail("m.j@other.example", EmailType.OTHER),
    ]
    assert contact.phones == [RawPhone("+1 617-555-0100", PhoneType.WORK)]
    assert contact.updated_at == datetime(2026, 5, 1, 7, 25, 37, 123000, tzinfo=UTC)
    assert contact.raw is not None and "fax" not in contact.raw and contact.raw["mobilephone"] == ""


def test_archived_is_a_deletion_and_updated_at_falls_back_to_updatedAt() -> None:
    moment = datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC)
    record = HubSpotRecord("7", {"email": "x@example.com"}, archived=True, updated_at=moment)
    contact = to_contact(record, FieldMap.build(), 1)
    assert contact.deleted and contact.updated_at == moment


def test_from_api_reads_the_sdk_object_and_refuses_broken_ones() -> None:
    obj = SimpleNamespace(id="9", properties={"lastname": "X"}, archived=False, updated_at=None)
    assert HubSpotRecord.from_api(obj) == HubSpotRecord("9", {"lastname": "X"})
    with pytest.raises(SourceError, match="without an id"):
        HubSpotRecord.from_api(SimpleNamespace(id=None, properties={}))
    with pytest.raises(SourceError, match="without lastmodifieddate"):
        to_contact(HubSpotRecord("9", {"lastname": "X"}), FieldMap.build(), 1)


def test_stamps_in_iso_or_epoch_milliseconds() -> None:
    assert parse_stamp("1700000000123") == datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)
    assert parse_stamp("2024-01-01T00:00:00Z") == datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(SourceError, match="unreadable"):
        parse_stamp("yesterday")


def test_extra_mappings_add_retarget_and_drop() -> None:
    field_map = FieldMap.build({"hs_lead_status": "tag", "phone": "phone:other", "fax": None, "notes_x": "notes"})
    props = {**PROPS, "hs_lead_status": "NEW", "fax": "+1 617 555 0199", "notes_x": "call back"}
    contact = to_contact(HubSpotRecord("501", props), field_map, 1)
    assert contact.tags == ["NEW"] and contact.notes == "call back"
    assert contact.phones == [RawPhone("+1 617-555-0100", PhoneType.OTHER)]
    assert "hs_lead_status" in field_map.properties and "fax" not in field_map.properties
    assert field_map.properties[-2:] == ["hs_object_id", "lastmodifieddate"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"First Name": "first_name"}, "not a HubSpot property name"),
        ({"FirstName": "first_name"}, "not a HubSpot property name"),
        ({"lastmodifieddate": "notes"}, "cannot be mapped"),
        ({"hs_object_id": "notes"}, "cannot be mapped"),
        ({"industry": "phone:pager"}, "the target must be one of"),
    ],
)
def test_bad_mappings_are_configuration_errors(extra: dict[str, str | None], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        FieldMap.build(extra)


def test_field_specs() -> None:
    assert parse_field_specs(["hs_lead_status=tag", "fax="]) == {"hs_lead_status": "tag", "fax": None}
    with pytest.raises(ConfigurationError, match="field=target"):
        parse_field_specs(["hs_lead_status"])
