"""How long run history is kept: every run records its rejects, so without pruning that table grows forever."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from contacts_store import schema

DEFAULT_KEEP_DAYS = 90


@dataclass(frozen=True)
class Pruned:
    runs: int
    rejects: int


def prune_run_history(engine: Engine, keep: timedelta, now: datetime | None = None) -> Pruned:
    """Delete runs that ended before `now - keep`, with their rejects.

    A run that started before the cutoff and never ended was killed (a run records its end even when it fails),
    so it goes too; a run still in progress is younger than any sensible `keep`.
    """
    cutoff = (now or datetime.now(UTC)) - keep
    runs, rejects = schema.import_runs, schema.rejects
    old_runs = sa.select(runs.c.id).where(
        sa.or_(runs.c.tm_end < cutoff, sa.and_(runs.c.tm_end.is_(None), runs.c.tm_start < cutoff))
    )
    with engine.begin() as conn:
        # Rejects first and in one statement: a cascade would delete them row by row on SQLite.
        deleted_rejects = conn.execute(sa.delete(rejects).where(rejects.c.run_id.in_(old_runs))).rowcount
        deleted_runs = conn.execute(sa.delete(runs).where(runs.c.id.in_(old_runs))).rowcount
    return Pruned(runs=deleted_runs, rejects=deleted_rejects)
