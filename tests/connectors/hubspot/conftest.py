"""A fake portal, a store and a customer wired together, with a controllable clock on both sides."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from connectors.http import RetrySettings
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.mapping import FieldMap
from connectors.hubspot.settings import HubSpotCredentials
from connectors.hubspot.source import HubSpotSource, HubSpotSyncSettings
from tests.connectors.harness import SyncHarness
from tests.fakes.hubspot import FakeHubSpot

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TOKEN = "pat-na1-fake-token"
FAST_RETRY = RetrySettings(attempts=3, backoff=0.01, backoff_max=0.05, timeout=1.0)


@dataclass
class Portal(SyncHarness):
    """The fake portal and the store it syncs into. `at(t)` moves the portal clock; syncs run one second later."""

    system = "hubspot"  # not a field: the harness reads it

    fake: FakeHubSpot
    engine: Engine
    customer: uuid.UUID
    settings: dict[str, Any] = field(default_factory=dict)
    now: datetime = T0

    def source(self, credentials: HubSpotCredentials | None = None, **settings: Any) -> HubSpotSource:
        creds = credentials or HubSpotCredentials(access_token=TOKEN, base_url=self.fake.url)
        # No client-side pacing unless a test asks for it: the fake does not rate-limit by default.
        merged = {"search_rps": 0, **self.settings, **settings}
        fields = merged.pop("fields", None)
        client = HubSpotClient(creds, FAST_RETRY, search_rps=merged["search_rps"] or None)
        sync_start = self.now + timedelta(seconds=1)
        return HubSpotSource(
            client, HubSpotSyncSettings(**merged, field_map=FieldMap.build(fields)), clock=lambda: sync_start
        )

    def expected_live_ids(self) -> set[str]:
        """What a perfect sync holds: every live contact of the portal."""
        return set(self.fake.ids())

    def assert_converged(self, rejected: set[str] | None = None) -> None:
        assert self.live_ids() == self.expected_live_ids() - (rejected or set())


@pytest.fixture
def portal(fake_hubspot: FakeHubSpot, engine: Engine, customer: uuid.UUID) -> Portal:
    fake_hubspot.add_token(TOKEN)
    fake_hubspot.set_clock(T0)
    return Portal(fake_hubspot, engine, customer)
