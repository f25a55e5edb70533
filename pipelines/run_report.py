"""What a data engineer sees on a materialization: counts, throughput and the top reject reasons.

Metadata is visible to everyone who can open the Dagster UI, so reject examples are masked (see
`contacts_store.quality.mask_value`) and the store's URL is shown without its password.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from contacts_store.ingest_model import IngestResult
from contacts_store.quality import RejectReason

COUNT_KEYS = ("read", "inserted", "updated", "unchanged", "deleted", "rejected", "values_rejected")


def ingest_metadata(result: IngestResult, live_contacts: int, reasons: list[RejectReason]) -> dict[str, Any]:
    """The metadata every contact asset reports; callers add their own (file, cursor, requests)."""
    metadata: dict[str, Any] = {key: dg.MetadataValue.int(getattr(result, key)) for key in COUNT_KEYS}
    metadata.update(
        {
            "dagster/row_count": dg.MetadataValue.int(live_contacts),
            "live_contacts": dg.MetadataValue.int(live_contacts),
            "duration_seconds": dg.MetadataValue.float(round(result.seconds, 3)),
            "rows_per_second": dg.MetadataValue.float(round(result.rows_per_second, 1)),
            "reject_rate": dg.MetadataValue.float(round(reject_rate(result), 4)),
            "import_run_id": dg.MetadataValue.text(result.run_id),
            "top_reject_reasons": dg.MetadataValue.md(reject_reasons_markdown(reasons)),
        }
    )
    return metadata


def reject_rate(result: IngestResult) -> float:
    """Rejected records per record read (values dropped from kept records do not count)."""
    return result.rejected / result.read if result.read else 0.0


def reject_reasons_markdown(reasons: list[RejectReason]) -> str:
    if not reasons:
        return "No rejects."
    lines = ["| reason | count | first example | message |", "|---|---:|---|---|"]
    for r in reasons:
        where = f"row {r.row_number}" if r.row_number is not None else "record"
        example = f"{where}, {r.field} `{_cell(r.example)}`" if r.field and r.example is not None else where
        lines.append(f"| {r.reason} | {r.count} | {example} | {_cell(r.message)} |")
    return "\n".join(lines)


def _cell(text: str | None) -> str:
    """Text that cannot break a markdown table row."""
    return (text or "").replace("|", "\\|").replace("`", "'").replace("\r", " ").replace("\n", " ")
