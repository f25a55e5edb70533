"""Fixtures shared by the connector tests: a fake Salesforce org, HubSpot portal and Zoho CRM over local HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.hubspot import FakeHubSpot
from tests.fakes.salesforce import FakeSalesforce
from tests.fakes.zoho import FakeZoho


@pytest.fixture
def fake_salesforce() -> Iterator[FakeSalesforce]:
    """A started, empty fake org (no tokens, no credentials yet), stopped with its sockets closed afterwards."""
    fake = FakeSalesforce().start()
    try:
        yield fake
    finally:
        fake.stop()
    assert not fake.server_errors, "the fake Salesforce crashed:\n" + "\n".join(fake.server_errors)


@pytest.fixture
def fake_hubspot() -> Iterator[FakeHubSpot]:
    """A started, empty fake portal (no tokens yet), stopped with its sockets closed afterwards."""
    fake = FakeHubSpot().start()
    try:
        yield fake
    finally:
        fake.stop()
    assert not fake.server_errors, "the fake HubSpot crashed:\n" + "\n".join(fake.server_errors)


@pytest.fixture
def fake_zoho() -> Iterator[FakeZoho]:
    """A started, empty fake Zoho (accounts server and CRM API; no OAuth client yet), stopped afterwards."""
    fake = FakeZoho().start()
    try:
        yield fake
    finally:
        fake.stop()
    assert not fake.server_errors, "the fake Zoho crashed:\n" + "\n".join(fake.server_errors)
