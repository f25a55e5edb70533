"""Data-quality checks every contact asset runs on what it just wrote.

The checks are evaluated inside the asset's own step, scoped to the customer and system the run wrote, so they
judge this run and not the whole store. Blocking checks that fail with ERROR severity fail the run (and a file
from the drop folder goes to `failed/`); the data already written stays, and the check's metadata says what to
look at.
"""

import uuid
from dataclasses import dataclass

import dagster as dg
from pydantic import Field
from sqlalchemy.engine import Connection

from contacts_store.ingest_model import IngestCounts
from contacts_store.quality import KeyCount, duplicate_external_ids, mask_value, shared_phone_numbers

REJECT_RATE = "reject_rate"
DUPLICATE_EXTERNAL_IDS = "no_duplicate_live_external_ids"
SHARED_PHONE_NUMBERS = "shared_phone_numbers"
LIVE_CONTACTS_DROP = "no_sudden_drop_in_live_contacts"


class QualityThresholds(dg.Config):
    reject_rate_warn: float = Field(default=0.05, ge=0, le=1, description="Warn when more records are rejected.")
    reject_rate_fail: float = Field(default=0.5, ge=0, le=1, description="Fail when more records are rejected.")
    shared_phone_max_contacts: int = Field(
        default=25, ge=1, description="Warn when one number belongs to more live contacts than this."
    )
    live_drop_max: float = Field(
        default=0.2, ge=0, le=1, description="Fail when the run removes more than this share of live contacts."
    )


@dataclass(frozen=True)
class CheckInput:
    """What the checks need to know about the run they judge."""

    customer_id: uuid.UUID
    external_system: str
    counts: IngestCounts
    live_before: int
    live_after: int


def contact_check_specs(asset: str) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            REJECT_RATE,
            asset=asset,
            blocking=True,
            description="Share of records rejected: warns above reject_rate_warn, fails above reject_rate_fail.",
        ),
        dg.AssetCheckSpec(
            DUPLICATE_EXTERNAL_IDS,
            asset=asset,
            blocking=True,
            description="No external id is held by two live contacts of the same customer and system.",
        ),
        dg.AssetCheckSpec(
            SHARED_PHONE_NUMBERS,
            asset=asset,
            description="Warns when a phone number belongs to more than shared_phone_max_contacts live contacts "
            "(a switchboard, or a placeholder every record was given).",
        ),
        dg.AssetCheckSpec(
            LIVE_CONTACTS_DROP,
            asset=asset,
            blocking=True,
            description="The run did not remove more than live_drop_max of the live contacts it found.",
        ),
    ]


def evaluate_checks(
    conn: Connection, asset: str, run: CheckInput, thresholds: QualityThresholds
) -> list[dg.AssetCheckResult]:
    return [
        check_reject_rate(asset, run.counts, thresholds),
        check_duplicate_external_ids(conn, asset, run),
        check_shared_phone_numbers(conn, asset, run, thresholds),
        check_live_drop(asset, run, thresholds),
    ]


def check_reject_rate(asset: str, counts: IngestCounts, t: QualityThresholds) -> dg.AssetCheckResult:
    rate = counts.rejected / counts.read if counts.read else 0.0
    severity = dg.AssetCheckSeverity.ERROR if rate > t.reject_rate_fail else dg.AssetCheckSeverity.WARN
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name=REJECT_RATE,
        passed=rate <= t.reject_rate_warn,
        severity=severity,
        metadata={
            "reject_rate": dg.MetadataValue.float(round(rate, 4)),
            "rejected": counts.rejected,
            "read": counts.read,
            "warn_above": t.reject_rate_warn,
            "fail_above": t.reject_rate_fail,
        },
    )


def check_duplicate_external_ids(conn: Connection, asset: str, run: CheckInput) -> dg.AssetCheckResult:
    total, top = duplicate_external_ids(conn, run.customer_id, run.external_system)
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name=DUPLICATE_EXTERNAL_IDS,
        passed=total == 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "duplicated_external_ids": total,
            "worst": dg.MetadataValue.md(_key_table("external id", top)),
        },
    )


def check_shared_phone_numbers(
    conn: Connection, asset: str, run: CheckInput, t: QualityThresholds
) -> dg.AssetCheckResult:
    total, top = shared_phone_numbers(conn, run.customer_id, t.shared_phone_max_contacts)
    masked = [KeyCount(mask_value(k.key) or "", k.contacts) for k in top]
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name=SHARED_PHONE_NUMBERS,
        passed=total == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "numbers_over_limit": total,
            "max_contacts_per_number": t.shared_phone_max_contacts,
            "most_shared": dg.MetadataValue.md(_key_table("number (masked)", masked)),
        },
    )


def check_live_drop(asset: str, run: CheckInput, t: QualityThresholds) -> dg.AssetCheckResult:
    lost = max(run.live_before - run.live_after, 0)
    share = lost / run.live_before if run.live_before else 0.0
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name=LIVE_CONTACTS_DROP,
        passed=share <= t.live_drop_max,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "live_before": run.live_before,
            "live_after": run.live_after,
            "dropped_share": dg.MetadataValue.float(round(share, 4)),
            "fail_above": t.live_drop_max,
        },
    )


def _key_table(label: str, rows: list[KeyCount]) -> str:
    if not rows:
        return "None."
    return "\n".join([f"| {label} | live contacts |", "|---|---:|", *(f"| {r.key} | {r.contacts} |" for r in rows)])
