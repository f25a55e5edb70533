"""Salesforce records to `SourceContact`: REST and Bulk CSV give the same record; the field map is configurable."""

from __future__ import annotations

import json
from collections import OrderedDict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.errors import ConfigurationError, SourceError
from connectors.salesforce.mapping import (
    FieldMap,
    flatten_csv,
    flatten_rest,
    parse_field_specs,
    parse_stamp,
    to_contact,
)
from contacts_store.normalize import normalize_contact
from contacts_store.records import EmailType, NormalizedContact, PhoneType, RawEmail, RawPhone

REST_RECORD = {
    "attributes": {"type": "Contact", "url": "/services/data/v59.0/sobjects/Contact/003A"},
    "Id": "003A",
    "FirstName": "Rose",
    "LastName": "Gonzalez",
    "Title": "SVP, Procurement",
    "Account": {"attributes": {"type": "Account", "url": "/x"}, "Name": "Edge Communications"},
    "Email": "Rose@Edge.com ",
    "Phone": "(512) 757-6000",
    "MobilePhone": "(512) 757-9340",
    "HomePhone": None,
    "OtherPhone": "",
    "Fax": "(512) 757-9000",
    "IsDeleted": False,
    "MasterRecordId": None,
    "SystemModstamp": "2026-05-01T07:25:37.000+0000",
}
CSV_ROW = {
    "FirstName": "Rose",
    "LastName": "Gonzalez",
    "Title": "SVP, Procurement",
    "Account.Name": "Edge Communications",
    "Email": "Rose@Edge.com ",
    "Phone": "(512) 757-6000",
    "MobilePhone": "(512) 757-9340",
    "HomePhone": "",
    "OtherPhone": "",
    "Fax": "(512) 757-9000",
    "Id": "003A",
    "IsDeleted": "false",
    "MasterRecordId": "",
    "SystemModstamp": "2026-05-01T07:25:37.000Z",
}


def test_rest_record_maps_every_default_field() -> None:
    contact = to_contact(flatten_rest(REST_RECORD), FieldMap.build(), row_number=7)
    assert contact.external_id == "003A"
    assert (contact.first_name, contact.last_name, contact.job_title) == ("Rose", "Gonzalez", "SVP, Procurement")
    assert contact.company == "Edge Communications"
    assert contact.phones == [
        RawPhone("(512) 757-6000", PhoneType.WORK),
        RawPhone("(512) 757-9340", PhoneType.MOBILE),
        RawPhone("(512) 757-9000", PhoneType.FAX),
    ]
    assert contact.emails == [RawEmail("Rose@Edge.com ", EmailType.WORK)]
    assert contact.updated_at == datetime(2026, 5, 1, 7, 25, 37, tzinfo=UTC)
    assert contact.deleted is False
    assert contact.row_number == 7
    assert contact.raw is not None and contact.raw["Account.Name"] == "Edge Communications"


def test_bulk_csv_row_gives_the_same_normalized_record_as_rest() -> None:
    field_map = FieldMap.build()
    rest = normalize_contact(to_contact(flatten_rest(REST_RECORD), field_map, 1))
    bulk = normalize_contact(to_contact(flatten_csv(CSV_ROW), field_map, 1))
    assert isinstance(rest, NormalizedContact) and isinstance(bulk, NormalizedContact)
    assert rest.content_hash == bulk.content_hash
    assert rest.primary_email == "rose@edge.com"
    assert rest.primary_phone == "+15127576000"


@pytest.mark.parametrize(
    ("changes", "deleted"),
    [
        ({"IsDeleted": True}, True),
        ({"IsDeleted": True, "MasterRecordId": "003B"}, True),
        ({"MasterRecordId": "003B"}, True),
        ({}, False),
    ],
)
def test_recycle_bin_and_merged_rows_are_deletions(changes: dict[str, object], deleted: bool) -> None:
    contact = to_contact(flatten_rest({**REST_RECORD, **changes}), FieldMap.build(), 1)
    assert contact.deleted is deleted


def test_records_decoded_as_ordered_dicts_flatten_the_same() -> None:
    # simple-salesforce decodes query responses with object_pairs_hook=OrderedDict.
    ordered = json.loads(json.dumps(REST_RECORD), object_pairs_hook=OrderedDict)
    assert flatten_rest(ordered) == flatten_rest(REST_RECORD)
    assert flatten_rest(ordered)["Account.Name"] == "Edge Communications"


def test_a_missing_parent_account_is_no_company() -> None:
    contact = to_contact(flatten_rest({**REST_RECORD, "Account": None}), FieldMap.build(), 1)
    assert contact.company is None


def test_extra_fields_add_retarget_and_drop_mappings() -> None:
    field_map = FieldMap.build(
        {"Department": "notes", "AssistantPhone": "phone:other", "Fax": None, "Email": "email:personal"}
    )
    assert "Department" in field_map.fields and "Fax" not in field_map.fields
    record = {**REST_RECORD, "Department": "Procurement", "AssistantPhone": "+44 20 7946 0958"}
    contact = to_contact(flatten_rest(record), field_map, 1)
    assert contact.notes == "Procurement"
    assert RawPhone("+44 20 7946 0958", PhoneType.OTHER) in contact.phones
    assert all(phone.type != PhoneType.FAX for phone in contact.phones)
    assert contact.emails == [RawEmail("Rose@Edge.com ", EmailType.PERSONAL)]


def test_select_list_always_holds_the_system_fields() -> None:
    fields = FieldMap.build().fields
    for name in ("Id", "IsDeleted", "MasterRecordId", "SystemModstamp", "Account.Name"):
        assert name in fields


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"Name; DELETE": "notes"}, "not a Salesforce field name"),
        ({"Id": "notes"}, "read by every sync"),
        ({"Department": "phone:pager"}, "the target must be one of"),
        ({"Department": "address"}, "the target must be one of"),
    ],
)
def test_bad_field_mappings_are_configuration_errors(extra: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        FieldMap.build(extra)


def test_field_specs_from_the_command_line() -> None:
    assert parse_field_specs(["Department=notes", "Fax="]) == {"Department": "notes", "Fax": None}
    with pytest.raises(ConfigurationError, match="field=target"):
        parse_field_specs(["Department"])


def test_records_without_id_or_stamp_are_malformed() -> None:
    with pytest.raises(SourceError, match="without an Id"):
        to_contact(flatten_rest({**REST_RECORD, "Id": None}), FieldMap.build(), 1)
    with pytest.raises(SourceError, match="unreadable SystemModstamp"):
        parse_stamp("yesterday")


def test_recorded_query_response_maps_without_losing_a_record(fixtures_dir: Path) -> None:
    recorded = json.loads(
        (fixtures_dir / "crm/salesforce/nango_contacts__get_services_data_v59_0_query.json").read_text()
    )
    records = recorded["response"]["records"]
    results = [normalize_contact(to_contact(flatten_rest(r), FieldMap.build(), i)) for i, r in enumerate(records, 1)]
    usable = [r for r in results if isinstance(r, NormalizedContact)]
    assert len(usable) == len(records)  # every recorded contact has a name or a valid email
    by_id = {r.external_id: r for r in usable}
    rose = by_id["003dM00001vWOXJQA4"]
    assert (rose.first_name, rose.last_name, rose.primary_email) == ("Rose", "Gonzalez", "rose@edge.com")
    assert [p.number_e164 for p in rose.phones] == ["+15127576000", "+15127579340"]
