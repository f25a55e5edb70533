"""HubSpot sync in Dagster: `HubSpotResource`, the `hubspot_contacts` asset (a partition per connection), its job
and its schedules, built by `crm_definitions`.

Dagster reads the config and resource annotations at decoration time, so this module does not use
`from __future__ import annotations`.
"""

from typing import ClassVar

from pydantic import Field

from connectors.hubspot.settings import DEFAULT_ENV_NAMES
from pipelines.crm_assets import CrmResource, CrmSyncConfig, crm_definitions


class HubSpotResource(CrmResource):
    """The default connection's token and base URL, each from its `HUBSPOT_*` variable through `dg.EnvVar`."""

    ENV_NAMES: ClassVar[dict[str, str]] = DEFAULT_ENV_NAMES

    access_token: str | None = Field(default=None, description="EnvVar('HUBSPOT_ACCESS_TOKEN')")
    base_url: str | None = Field(default=None, description="EnvVar('HUBSPOT_BASE_URL')")


_hubspot = crm_definitions("hubspot", "HubSpot", "hubspot", CrmSyncConfig, ("HUBSPOT_ACCESS_TOKEN",))
hubspot_contacts = _hubspot.asset
hubspot_sync_job = _hubspot.job
hubspot_sync_schedule, hubspot_full_resync_schedule = _hubspot.schedules


def hubspot_resource() -> CrmResource:
    return HubSpotResource.from_environment()
