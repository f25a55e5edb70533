"""A fake Zoho organisation, a store and a customer wired together, with a controllable clock on both sides."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from connectors.http import RetrySettings
from connectors.zoho.client import ZohoClient, ZohoPage
from connectors.zoho.mapping import FieldMap
from connectors.zoho.settings import ZohoCredentials
from connectors.zoho.source import ZohoSource, ZohoSyncSettings
from tests.connectors.harness import SyncHarness
from tests.fakes.zoho import FakeZoho

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CLIENT_ID = "1000.TESTCLIENT"
CLIENT_SECRET = "test-client-secret"
REFRESH_TOKEN = "1000.test-refresh-token"
FAST_RETRY = RetrySettings(attempts=3, backoff=0.01, backoff_max=0.05, timeout=1.0)


@dataclass
class Org(SyncHarness):
    """The fake organisation and the store it syncs into. `at(t)` moves the org clock; syncs run one second later."""

    system = "zoho"  # not a field: the harness reads it

    fake: FakeZoho
    engine: Engine
    customer: uuid.UUID
    settings: dict[str, Any] = field(default_factory=dict)
    now: datetime = T0

    def credentials(self, **overrides: Any) -> ZohoCredentials:
        values = {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": REFRESH_TOKEN,
            "accounts_url": self.fake.url,
            **overrides,
        }
        return ZohoCredentials(**values)

    def source(self, credentials: ZohoCredentials | None = None, **settings: Any) -> ZohoSource:
        merged = {**self.settings, **settings}
        fields = merged.pop("fields", None)
        client = ZohoClient(credentials or self.credentials(), FAST_RETRY)
        sync_start = self.now + timedelta(seconds=1)
        return ZohoSource(
            client, ZohoSyncSettings(**merged, field_map=FieldMap.build(fields)), clock=lambda: sync_start
        )

    def expected_live_ids(self) -> set[str]:
        """What a perfect sync holds: every live contact of the organisation."""
        return set(self.fake.ids())

    def assert_converged(self, rejected: set[str] | None = None) -> None:
        assert self.live_ids() == self.expected_live_ids() - (rejected or set())


def after_page(source: ZohoSource, number: int, action: Callable[[], None]) -> None:
    """Run `action` (a change in the organisation) right after the source's `number`-th contacts page arrives."""
    original = source.client.list_contacts
    calls = [0]

    def wrapped(**kwargs: Any) -> ZohoPage:
        page = original(**kwargs)
        calls[0] += 1
        if calls[0] == number:
            action()
        return page

    source.client.list_contacts = wrapped  # type: ignore[method-assign]


@pytest.fixture
def org(fake_zoho: FakeZoho, engine: Engine, customer: uuid.UUID) -> Org:
    fake_zoho.add_client(CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN)
    fake_zoho.set_clock(T0)
    # Every sync builds a client and so mints a token: the 10-per-10-minutes rule has a test of its own.
    fake_zoho.token_rate_limit = None
    return Org(fake_zoho, engine, customer)
