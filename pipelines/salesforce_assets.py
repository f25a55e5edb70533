"""Salesforce sync in Dagster: a resource, the `salesforce_contacts` asset (a partition per connection), its job and
an hourly schedule. The asset calls the same `sync_connection` as `contact-sync sync salesforce`.

Dagster reads the config and resource annotations at decoration time, so this module does not use
`from __future__ import annotations`.
"""

import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from pydantic import Field

from connectors.connections import CONNECTIONS_ENV, Connection, find_connection, load_connections
from connectors.errors import AuthenticationError, ConfigurationError, QuotaExhausted
from connectors.salesforce.settings import DEFAULT_ENV_NAMES
from connectors.sync import MassDeleteError, SyncResult
from contacts_store.quality import live_contacts, reject_reasons
from pipelines.checks import CheckInput, QualityThresholds, contact_check_specs, evaluate_checks
from pipelines.crm_sync import sync_connection
from pipelines.csv_import import ImportOptionError
from pipelines.resources import ContactStoreResource
from pipelines.run_policy import CONNECTION_TAG, TRANSIENT_RETRY
from pipelines.run_report import ingest_metadata

ASSET = "salesforce_contacts"
SYSTEM = "salesforce"
DEFAULT_CRON = "0 * * * *"
DEFAULT_FULL_CRON = "30 4 * * 0"


class SalesforceResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Credentials of the default connection, each from its `SALESFORCE_*` variable through `dg.EnvVar`.

    A connection listed in the connections file names its own variables instead; they are read in the run process,
    like `EnvVar`s, and never shown.
    """

    instance_url: str | None = Field(default=None, description="EnvVar('SALESFORCE_INSTANCE_URL')")
    access_token: str | None = Field(default=None, description="EnvVar('SALESFORCE_ACCESS_TOKEN')")
    login_url: str | None = Field(default=None, description="EnvVar('SALESFORCE_LOGIN_URL')")
    client_id: str | None = Field(default=None, description="EnvVar('SALESFORCE_CLIENT_ID')")
    client_secret: str | None = Field(default=None, description="EnvVar('SALESFORCE_CLIENT_SECRET')")
    username: str | None = Field(default=None, description="EnvVar('SALESFORCE_USERNAME')")
    password: str | None = Field(default=None, description="EnvVar('SALESFORCE_PASSWORD')")
    api_version: str | None = Field(default=None, description="EnvVar('SALESFORCE_API_VERSION')")

    def environ_for(self, connection: Connection) -> Mapping[str, str]:
        """The variables the connection's credentials are read from: the resource's values for the default
        connection, the process environment for the connections of the file."""
        if connection.env:
            return os.environ
        values = {setting: getattr(self, setting) for setting in DEFAULT_ENV_NAMES}
        return {DEFAULT_ENV_NAMES[setting]: value for setting, value in values.items() if value}


def salesforce_resource() -> SalesforceResource:
    """Bind each `SALESFORCE_*` variable that is set; Dagster refuses an `EnvVar` of an unset variable."""
    bound = {setting: dg.EnvVar(var) for setting, var in DEFAULT_ENV_NAMES.items() if os.environ.get(var)}
    return SalesforceResource(**bound)


def _connection_names() -> list[str]:
    try:
        return [c.name for c in load_connections(system=SYSTEM)]
    except ConfigurationError:
        # A broken file must not take the whole code location down: the runs fail with the reason instead.
        return [SYSTEM]


connections_partitions = dg.StaticPartitionsDefinition(_connection_names())


class SalesforceSyncConfig(dg.Config):
    full: bool = Field(default=False, description="Read every contact again and delete those the org no longer has.")
    allow_mass_delete: bool = Field(default=False, description="Let a full resync delete over half the contacts.")
    lookback_seconds: float | None = Field(default=None, ge=0, description="Seconds re-read before the cursor.")
    bulk_threshold: int | None = Field(default=None, ge=0, description="First/full syncs above this use Bulk 2.0.")
    checks: QualityThresholds = Field(default_factory=QualityThresholds)


@dg.asset(
    name=ASSET,
    group_name="contacts",
    kinds={"salesforce", "sql"},
    partitions_def=connections_partitions,
    check_specs=contact_check_specs(ASSET),
    retry_policy=TRANSIENT_RETRY,
    description="Salesforce Contacts synced into the contact store: one partition per connection (customer x org).",
)
def salesforce_contacts(
    context: dg.AssetExecutionContext,
    config: SalesforceSyncConfig,
    contact_store: ContactStoreResource,
    salesforce: SalesforceResource,
) -> dg.MaterializeResult:  # type: ignore[type-arg]  # Dagster rejects a subscripted annotation
    connection = _configuration(find_connection, context.partition_key) if os.environ.get(CONNECTIONS_ENV) else None
    if connection is None:
        from connectors.connections import default_connection

        connection = default_connection(SYSTEM)
    engine = contact_store.engine
    with engine.connect() as conn:
        live_before = live_contacts(conn, connection.customer_id, SYSTEM)
    context.log.info(f"syncing Salesforce connection {connection.name} for customer {connection.customer_id}")
    options = {"lookback_seconds": config.lookback_seconds, "bulk_threshold": config.bulk_threshold}
    try:
        result = sync_connection(
            engine,
            connection,
            full=config.full,
            options={k: v for k, v in options.items() if v is not None},
            max_delete_fraction=None if config.allow_mass_delete else 0.5,
            environ=salesforce.environ_for(connection),
        )
    except (ConfigurationError, AuthenticationError, ImportOptionError, MassDeleteError) as error:
        raise dg.Failure(str(error), allow_retries=False) from None
    except QuotaExhausted as error:
        raise dg.Failure(f"{error}; the next run resumes", allow_retries=False) from None
    with engine.connect() as conn:
        live_after = live_contacts(conn, connection.customer_id, SYSTEM)
        reasons = reject_reasons(conn, result.run_id)
        checks = evaluate_checks(
            conn,
            ASSET,
            CheckInput(connection.customer_id, SYSTEM, result.ingest, live_before, live_after),
            config.checks,
        )
    metadata = {**ingest_metadata(result.ingest, live_after, reasons), **sync_metadata(result, connection)}
    metadata["store"] = contact_store.display_url()
    summary = (
        f"read {result.read}: {result.inserted} inserted, {result.updated} updated, {result.unchanged} unchanged, "
        f"{result.deleted} deleted, {result.rejected} rejected; {result.requests} API requests"
    )
    if result.status == "stopped":
        # Everything read is stored and the cursor saved; the run is red so that someone looks at the quota.
        raise dg.Failure(
            f"stopped early: {result.message}; {summary}. The next run resumes.",
            metadata=metadata,
            allow_retries=False,
        )
    context.log.info(summary)
    return dg.MaterializeResult(metadata=metadata, check_results=checks)


def sync_metadata(result: SyncResult, connection: Connection) -> dict[str, Any]:
    """What a CRM run adds to the ingest metadata: never a secret (cursors hold stamps and record ids only)."""
    return {
        "connection": connection.name,
        "customer_id": str(connection.customer_id),
        "system": result.system,
        "status": result.status,
        "mode": result.mode,
        "full_resync": result.full,
        "deleted_missing": dg.MetadataValue.int(result.deleted_missing),
        "api_requests": dg.MetadataValue.int(result.requests),
        "cursor_before": dg.MetadataValue.json(result.cursor_before or {}),
        "cursor_after": dg.MetadataValue.json(result.cursor or {}),
    }


def _configuration(function: Any, *args: Any) -> Any:
    try:
        return function(*args)
    except ConfigurationError as error:
        raise dg.Failure(str(error), allow_retries=False) from None


salesforce_sync_job = dg.define_asset_job(
    "salesforce_sync_job",
    selection=[ASSET],
    description="Sync one Salesforce connection (a partition) into the contact store.",
)


def _configured() -> bool:
    return bool(os.environ.get(CONNECTIONS_ENV) or os.environ.get("SALESFORCE_INSTANCE_URL"))


def _run_requests(context: dg.ScheduleEvaluationContext, kind: str, full: bool) -> list[dg.RunRequest]:
    tick = context.scheduled_execution_time.isoformat() if context.scheduled_execution_time else "manual"
    requests = []
    for connection in _configuration(load_connections, None, SYSTEM):
        run_config = {"ops": {ASSET: {"config": {"full": True}}}} if full else {}
        requests.append(
            dg.RunRequest(
                run_key=f"{kind}:{connection.name}:{tick}",
                partition_key=connection.name,
                run_config=run_config,
                tags={CONNECTION_TAG: connection.tag},
            )
        )
    return requests


_DEFAULT_STATUS = dg.DefaultScheduleStatus.RUNNING if _configured() else dg.DefaultScheduleStatus.STOPPED


@dg.schedule(
    name="salesforce_sync_schedule",
    cron_schedule=os.environ.get("CONTACTS_SALESFORCE_CRON") or DEFAULT_CRON,
    job=salesforce_sync_job,
    default_status=_DEFAULT_STATUS,
    description="Every connection's incremental sync (hourly unless $CONTACTS_SALESFORCE_CRON says otherwise).",
)
def salesforce_sync_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    return _run_requests(context, "incremental", full=False)


@dg.schedule(
    name="salesforce_full_resync_schedule",
    cron_schedule=os.environ.get("CONTACTS_SALESFORCE_FULL_CRON") or DEFAULT_FULL_CRON,
    job=salesforce_sync_job,
    default_status=_DEFAULT_STATUS,
    description="Every connection's full resync (Sundays 04:30 UTC unless $CONTACTS_SALESFORCE_FULL_CRON says "
    "otherwise): removes contacts the org deleted for good, which no incremental sync can see.",
)
def salesforce_full_resync_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    return _run_requests(context, "full", full=True)
