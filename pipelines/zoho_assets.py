"""Zoho CRM sync in Dagster: `ZohoResource`, the `zoho_contacts` asset (a partition per connection), its job and its
schedules, built by `crm_definitions`.

Dagster reads the config and resource annotations at decoration time, so this module does not use
`from __future__ import annotations`.
"""

from typing import ClassVar

from pydantic import Field

from connectors.zoho.settings import DEFAULT_ENV_NAMES
from pipelines.crm_assets import CrmResource, CrmSyncConfig, crm_definitions


class ZohoResource(CrmResource):
    """The default connection's OAuth client, refresh token and data centre, each from its `ZOHO_*` variable
    through `dg.EnvVar`."""

    ENV_NAMES: ClassVar[dict[str, str]] = DEFAULT_ENV_NAMES

    client_id: str | None = Field(default=None, description="EnvVar('ZOHO_CLIENT_ID')")
    client_secret: str | None = Field(default=None, description="EnvVar('ZOHO_CLIENT_SECRET')")
    refresh_token: str | None = Field(default=None, description="EnvVar('ZOHO_REFRESH_TOKEN')")
    accounts_url: str | None = Field(default=None, description="EnvVar('ZOHO_ACCOUNTS_URL')")
    api_domain: str | None = Field(default=None, description="EnvVar('ZOHO_API_DOMAIN')")


_zoho = crm_definitions("zoho", "Zoho CRM", "zoho", CrmSyncConfig, ("ZOHO_REFRESH_TOKEN",))
zoho_contacts = _zoho.asset
zoho_sync_job = _zoho.job
zoho_sync_schedule, zoho_full_resync_schedule = _zoho.schedules


def zoho_resource() -> CrmResource:
    return ZohoResource.from_environment()
