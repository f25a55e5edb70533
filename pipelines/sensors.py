"""The drop-folder sensor and the run-status sensors that file each dropped CSV under done/ or failed/."""

import os
from pathlib import Path

import dagster as dg

from pipelines import drop_folder
from pipelines.csv_assets import ASSET, csv_import_job
from pipelines.run_policy import CONNECTION_TAG

DROP_FILE_TAG = "contact-sync/drop-file"
DROP_MTIME_TAG = "contact-sync/drop-mtime-ns"
DROP_SIZE_TAG = "contact-sync/drop-size"
DROP_REPORT_TAG = "contact-sync/drop-rejects-report"
# Set by Dagster on a failed run that its run-retry policy (deploy/dagster.yaml) is about to re-execute.
WILL_RETRY_TAG = "dagster/will_retry"


@dg.sensor(
    job=csv_import_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Imports each new or changed CSV file in $CONTACTS_DROP_DIR (default ./imports/incoming) once.",
)
def csv_drop_folder_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    root = drop_folder.drop_dir()
    found = drop_folder.scan(root, settle=drop_folder.settle_seconds())
    for note in found.ignored:
        context.log.warning(f"ignored in {root}: {note}")
    if not found.ready:
        waiting = f"; {len(found.settling)} still being written" if found.settling else ""
        return dg.SkipReason(f"no new files in {root}{waiting}")
    return dg.SensorResult(run_requests=[run_request(file) for file in found.ready])


def run_request(file: drop_folder.DroppedFile) -> dg.RunRequest:
    config = {
        "path": str(file.path),
        "customer_id": str(file.customer_id),
        "region": os.environ.get("CONTACTS_DEFAULT_REGION") or "US",
        "rejects_path": str(file.rejects_staging_path),
    }
    if file.mapping_path is not None:
        config["mapping_path"] = str(file.mapping_path)
    return dg.RunRequest(
        run_key=file.run_key,
        run_config={"ops": {ASSET: {"config": config}}},
        tags={
            CONNECTION_TAG: f"{file.customer_id}:csv",
            DROP_FILE_TAG: str(file.path),
            DROP_MTIME_TAG: str(file.mtime_ns),
            DROP_SIZE_TAG: str(file.size),
            DROP_REPORT_TAG: str(file.rejects_staging_path),
        },
    )


def file_away(run: dg.DagsterRun, outcome: str) -> Path | None:
    """Move the run's dropped file (if it came from the drop folder) to `done/` or `failed/`."""
    tags = run.tags
    if DROP_FILE_TAG not in tags:
        return None
    if outcome == "failed" and tags.get(WILL_RETRY_TAG, "").lower() == "true":
        return None  # the retry carries the same tags and files the file away when it ends
    return drop_folder.finish(
        Path(tags[DROP_FILE_TAG]),
        int(tags[DROP_MTIME_TAG]),
        int(tags[DROP_SIZE_TAG]),
        outcome,
        Path(tags[DROP_REPORT_TAG]) if tags.get(DROP_REPORT_TAG) else None,
    )


def _outcome_sensor(status: dg.DagsterRunStatus, outcome: str) -> dg.RunStatusSensorDefinition:
    @dg.run_status_sensor(
        name=f"csv_drop_{status.value.lower()}_sensor",
        run_status=status,
        monitored_jobs=[csv_import_job],
        minimum_interval_seconds=5,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Moves a dropped CSV file to {outcome}/ once its import run is {status.value.lower()}.",
    )
    def _sensor(context: dg.RunStatusSensorContext) -> None:
        moved = file_away(context.dagster_run, outcome)
        if moved is not None:
            context.log.info(f"run {context.dagster_run.run_id}: moved the file to {moved}")

    return _sensor


drop_outcome_sensors = [
    _outcome_sensor(dg.DagsterRunStatus.SUCCESS, "done"),
    _outcome_sensor(dg.DagsterRunStatus.FAILURE, "failed"),
    _outcome_sensor(dg.DagsterRunStatus.CANCELED, "failed"),
]
