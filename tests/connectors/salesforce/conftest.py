"""A fake org, a store and a customer wired together, with a controllable clock on both sides."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from connectors.http import RetrySettings
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.mapping import FieldMap
from connectors.salesforce.settings import SalesforceCredentials
from connectors.salesforce.source import SalesforceSource, SalesforceSyncSettings
from tests.connectors.harness import SyncHarness
from tests.fakes.salesforce import FakeSalesforce

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TOKEN = "00Dfake!token"
FAST_RETRY = RetrySettings(attempts=3, backoff=0.01, backoff_max=0.05, timeout=1.0)


@dataclass
class Org(SyncHarness):
    """The fake org and the store it syncs into. `at(t)` moves the org clock; syncs run one second later."""

    system = "salesforce"  # not a field: the harness reads it

    fake: FakeSalesforce
    engine: Engine
    customer: uuid.UUID
    settings: dict[str, Any] = field(default_factory=dict)
    now: datetime = T0

    def source(self, credentials: SalesforceCredentials | None = None, **settings: Any) -> SalesforceSource:
        creds = credentials or SalesforceCredentials(instance_url=self.fake.url, access_token=TOKEN)
        merged = {"bulk_poll_seconds": 0.01, "bulk_threshold": None, **self.settings, **settings}
        fields = merged.pop("fields", None)
        client = SalesforceClient(creds, FAST_RETRY)
        sync_start = self.now + timedelta(seconds=1)
        return SalesforceSource(
            client, SalesforceSyncSettings(**merged, field_map=FieldMap.build(fields)), clock=lambda: sync_start
        )

    def expected_live_ids(self) -> set[str]:
        """What a perfect sync holds: every record of the org that is not deleted."""
        return {
            record_id
            for record_id in self.fake_ids()
            if not self.fake.get(record_id)["IsDeleted"] and not self.fake.get(record_id)["MasterRecordId"]
        }

    def fake_ids(self) -> list[str]:
        return sorted(self.fake.ids())


@pytest.fixture
def org(fake_salesforce: FakeSalesforce, engine: Engine, customer: uuid.UUID) -> Org:
    fake_salesforce.add_token(TOKEN)
    fake_salesforce.set_clock(T0)
    return Org(fake_salesforce, engine, customer)
