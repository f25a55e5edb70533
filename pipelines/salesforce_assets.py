"""Salesforce sync in Dagster: `SalesforceResource`, the `salesforce_contacts` asset (a partition per connection),
its job and its schedules, built by `crm_definitions`.

Dagster reads the config and resource annotations at decoration time, so this module does not use
`from __future__ import annotations`.
"""

from typing import Any, ClassVar

from pydantic import Field

from connectors.salesforce.settings import DEFAULT_ENV_NAMES
from pipelines.crm_assets import CrmResource, CrmSyncConfig, crm_definitions

SYSTEM = "salesforce"


class SalesforceResource(CrmResource):
    """The default connection's credentials, each from its `SALESFORCE_*` variable through `dg.EnvVar`."""

    ENV_NAMES: ClassVar[dict[str, str]] = DEFAULT_ENV_NAMES

    instance_url: str | None = Field(default=None, description="EnvVar('SALESFORCE_INSTANCE_URL')")
    access_token: str | None = Field(default=None, description="EnvVar('SALESFORCE_ACCESS_TOKEN')")
    login_url: str | None = Field(default=None, description="EnvVar('SALESFORCE_LOGIN_URL')")
    client_id: str | None = Field(default=None, description="EnvVar('SALESFORCE_CLIENT_ID')")
    client_secret: str | None = Field(default=None, description="EnvVar('SALESFORCE_CLIENT_SECRET')")
    username: str | None = Field(default=None, description="EnvVar('SALESFORCE_USERNAME')")
    password: str | None = Field(default=None, description="EnvVar('SALESFORCE_PASSWORD')")
    api_version: str | None = Field(default=None, description="EnvVar('SALESFORCE_API_VERSION')")


class SalesforceSyncConfig(CrmSyncConfig):
    bulk_threshold: int | None = Field(default=None, ge=0, description="First/full syncs above this use Bulk 2.0.")

    def source_options(self) -> dict[str, Any]:
        return {**super().source_options(), "bulk_threshold": self.bulk_threshold}


_salesforce = crm_definitions(
    SYSTEM, "Salesforce", "salesforce", SalesforceSyncConfig, ("SALESFORCE_INSTANCE_URL", "SALESFORCE_CLIENT_ID")
)
salesforce_contacts = _salesforce.asset
salesforce_sync_job = _salesforce.job
salesforce_sync_schedule, salesforce_full_resync_schedule = _salesforce.schedules
connections_partitions = _salesforce.partitions


def salesforce_resource() -> CrmResource:
    return SalesforceResource.from_environment()
