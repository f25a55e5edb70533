"""Store upkeep on a schedule: run history (and its rejects) older than the retention period is pruned."""

import os
from datetime import timedelta

import dagster as dg
from pydantic import Field

from contacts_store.retention import DEFAULT_KEEP_DAYS, prune_run_history
from pipelines.resources import ContactStoreResource


class RetentionConfig(dg.Config):
    keep_days: int = Field(default=DEFAULT_KEEP_DAYS, ge=1, description="Keep run history this many days.")


@dg.op(description="Delete import runs and their rejects older than keep_days.")
def prune_run_history_op(
    context: dg.OpExecutionContext, config: RetentionConfig, contact_store: ContactStoreResource
) -> None:
    pruned = prune_run_history(contact_store.engine, timedelta(days=config.keep_days))
    context.log.info(f"pruned {pruned.runs} runs and {pruned.rejects} rejects older than {config.keep_days} days")
    context.add_output_metadata({"runs_pruned": pruned.runs, "rejects_pruned": pruned.rejects})


@dg.job(description="Prune run history and rejects past the retention period ($CONTACTS_RETENTION_DAYS).")
def store_maintenance_job() -> None:
    prune_run_history_op()


@dg.schedule(
    job=store_maintenance_job,
    cron_schedule="17 3 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def store_maintenance_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    keep_days = int(os.environ.get("CONTACTS_RETENTION_DAYS") or DEFAULT_KEEP_DAYS)
    return dg.RunRequest(
        run_key=context.scheduled_execution_time.strftime("%Y-%m-%d") if context.scheduled_execution_time else None,
        run_config={"ops": {"prune_run_history_op": {"config": {"keep_days": keep_days}}}},
    )
