"""What every CRM sync looks like in Dagster, built once per CRM: a `<crm>_contacts` asset partitioned by connection,
its job, an incremental schedule and a weekly full-resync schedule. The asset calls the same `sync_connection` as
`contact-sync sync <crm>`.

Dagster reads the config and resource annotations at decoration time, so this module does not use
`from __future__ import annotations`.
"""

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import dagster as dg
from pydantic import Field

from connectors.connections import CONNECTIONS_ENV, Connection, default_connection, find_connection, load_connections
from connectors.errors import AuthenticationError, ConfigurationError, QuotaExhausted
from connectors.sync import MassDeleteError, SyncResult
from contacts_store.quality import live_contacts, reject_reasons
from pipelines.checks import CheckInput, QualityThresholds, contact_check_specs, evaluate_checks
from pipelines.crm_sync import sync_connection
from pipelines.csv_import import ImportOptionError
from pipelines.run_policy import CONNECTION_TAG, TRANSIENT_RETRY
from pipelines.run_report import ingest_metadata

DEFAULT_CRON = "0 * * * *"
DEFAULT_FULL_CRON = "30 4 * * 0"


class CrmResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Credentials of a CRM's default connection, each field bound to its variable through `dg.EnvVar`.

    A connection listed in the connections file names its own variables instead; they are read in the run process,
    like `EnvVar`s, and never shown. Subclasses declare their fields and `ENV_NAMES` (field -> variable).
    """

    ENV_NAMES: ClassVar[dict[str, str]] = {}

    def environ_for(self, connection: Connection) -> Mapping[str, str]:
        """The variables the connection's credentials are read from: the resource's values for the default
        connection, the process environment for the connections of the file."""
        if connection.env:
            return os.environ
        values = {setting: getattr(self, setting) for setting in self.ENV_NAMES}
        return {self.ENV_NAMES[setting]: value for setting, value in values.items() if value}

    @classmethod
    def from_environment(cls) -> "CrmResource":
        """Bind each variable that is set; Dagster refuses an `EnvVar` of an unset variable."""
        bound = {setting: dg.EnvVar(var) for setting, var in cls.ENV_NAMES.items() if os.environ.get(var)}
        return cls(**bound)


class CrmSyncConfig(dg.Config):
    full: bool = Field(default=False, description="Read every contact again and delete those the CRM no longer has.")
    allow_mass_delete: bool = Field(default=False, description="Let a full resync delete over half the contacts.")
    lookback_seconds: float | None = Field(default=None, ge=0, description="Seconds re-read before the cursor.")
    checks: QualityThresholds = Field(default_factory=QualityThresholds)

    def source_options(self) -> dict[str, Any]:
        """The options the connector takes from this config (None: the connection's or the default)."""
        return {"lookback_seconds": self.lookback_seconds}


@dataclass(frozen=True)
class CrmDefinitions:
    asset: dg.AssetsDefinition
    job: Any
    schedules: list[dg.ScheduleDefinition]
    partitions: dg.StaticPartitionsDefinition


def connection_names(system: str) -> list[str]:
    try:
        return [c.name for c in load_connections(system=system)]
    except ConfigurationError:
        # A broken file must not take the whole code location down: the runs fail with the reason instead.
        return [system]


def crm_definitions(
    system: str, label: str, resource_key: str, config_type: type[CrmSyncConfig], configured_by: tuple[str, ...]
) -> CrmDefinitions:
    """The asset, job and schedules of one CRM (`label` is its display name, e.g. "Salesforce"). The schedules run
    by default once a connections file or one of the `configured_by` variables is set."""
    asset_name = f"{system}_contacts"
    partitions = dg.StaticPartitionsDefinition(connection_names(system))

    @dg.asset(
        name=asset_name,
        group_name="contacts",
        kinds={system, "sql"},
        partitions_def=partitions,
        check_specs=contact_check_specs(asset_name),
        retry_policy=TRANSIENT_RETRY,
        required_resource_keys={"contact_store", resource_key},
        description=f"{label} contacts synced into the contact store: one partition per connection (customer x "
        "account).",
    )
    def crm_contacts(context: dg.AssetExecutionContext, config: config_type) -> dg.MaterializeResult:  # type: ignore[valid-type,type-arg]
        contact_store = context.resources.contact_store
        crm: CrmResource = getattr(context.resources, resource_key)
        connection = _connection(system, context.partition_key)
        engine = contact_store.engine
        with engine.connect() as conn:
            live_before = live_contacts(conn, connection.customer_id, system)
        context.log.info(f"syncing {label} connection {connection.name} for customer {connection.customer_id}")
        options = config.source_options()  # type: ignore[attr-defined]
        try:
            result = sync_connection(
                engine,
                connection,
                full=config.full,  # type: ignore[attr-defined]
                options={k: v for k, v in options.items() if v is not None},
                max_delete_fraction=None if config.allow_mass_delete else 0.5,  # type: ignore[attr-defined]
                environ=crm.environ_for(connection),
            )
        except (ConfigurationError, AuthenticationError, ImportOptionError, MassDeleteError) as error:
            raise dg.Failure(str(error), allow_retries=False) from None
        except QuotaExhausted as error:
            raise dg.Failure(f"{error}; the next run resumes", allow_retries=False) from None
        with engine.connect() as conn:
            live_after = live_contacts(conn, connection.customer_id, system)
            reasons = reject_reasons(conn, result.run_id)
            checks = evaluate_checks(
                conn,
                asset_name,
                CheckInput(connection.customer_id, system, result.ingest, live_before, live_after),
                config.checks,  # type: ignore[attr-defined]
            )
        metadata = {**ingest_metadata(result.ingest, live_after, reasons), **sync_metadata(result, connection)}
        metadata["store"] = contact_store.display_url()
        summary = (
            f"read {result.read}: {result.inserted} inserted, {result.updated} updated, {result.unchanged} "
            f"unchanged, {result.deleted} deleted, {result.rejected} rejected; {result.requests} API requests"
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

    job = dg.define_asset_job(
        f"{system}_sync_job",
        selection=[asset_name],
        description=f"Sync one {label} connection (a partition) into the contact store.",
    )
    cron_env, full_cron_env = f"CONTACTS_{system.upper()}_CRON", f"CONTACTS_{system.upper()}_FULL_CRON"
    configured = any(os.environ.get(name) for name in (CONNECTIONS_ENV, *configured_by))
    status = dg.DefaultScheduleStatus.RUNNING if configured else dg.DefaultScheduleStatus.STOPPED
    incremental = dg.schedule(
        name=f"{system}_sync_schedule",
        cron_schedule=os.environ.get(cron_env) or DEFAULT_CRON,
        job=job,
        default_status=status,
        description=f"Every {label} connection's incremental sync (hourly unless ${cron_env} says otherwise).",
    )(_requests_of(system, asset_name, "incremental", full=False))
    full = dg.schedule(
        name=f"{system}_full_resync_schedule",
        cron_schedule=os.environ.get(full_cron_env) or DEFAULT_FULL_CRON,
        job=job,
        default_status=status,
        description=f"Every {label} connection's full resync (Sundays 04:30 UTC unless ${full_cron_env} says "
        "otherwise): removes contacts the CRM deleted for good, which no incremental sync can see.",
    )(_requests_of(system, asset_name, "full", full=True))
    return CrmDefinitions(crm_contacts, job, [incremental, full], partitions)


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


def _connection(system: str, partition_key: str) -> Connection:
    if not os.environ.get(CONNECTIONS_ENV):
        return default_connection(system)
    connection: Connection = _configuration(find_connection, partition_key)
    return connection


def _configuration(function: Callable[..., Any], *args: Any) -> Any:
    try:
        return function(*args)
    except ConfigurationError as error:
        raise dg.Failure(str(error), allow_retries=False) from None


def _requests_of(
    system: str, asset_name: str, kind: str, full: bool
) -> Callable[[dg.ScheduleEvaluationContext], list[dg.RunRequest]]:
    def requests(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
        tick = context.scheduled_execution_time.isoformat() if context.scheduled_execution_time else "manual"
        run_config = {"ops": {asset_name: {"config": {"full": True}}}} if full else {}
        return [
            dg.RunRequest(
                run_key=f"{kind}:{connection.name}:{tick}",
                partition_key=connection.name,
                run_config=run_config,
                tags={CONNECTION_TAG: connection.tag},
            )
            for connection in _configuration(load_connections, None, system)
        ]

    return requests
