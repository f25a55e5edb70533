"""Fast multi-row writes below SQLAlchemy's statement layer, one code path per backend.

Row-by-row ORM writes are ruinous at import scale; SQLite's `executemany` and PostgreSQL's `COPY` are one to
two orders of magnitude faster. Values arrive already in the storage form both backends accept: ids as 32 hex
digits (what SQLAlchemy's `Uuid` stores on SQLite), booleans as bool, timestamps from `Clock`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection


class Writer:
    """Writes rows for one open transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.is_sqlite = conn.dialect.name == "sqlite"
        self.writes = 0

    def timestamp(self, moment: datetime) -> Any:
        # SQLAlchemy stores SQLite datetimes as naive ISO text (UTC here); psycopg takes an aware datetime.
        if self.is_sqlite:
            return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        return moment

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        self.writes += len(rows)
        if self.is_sqlite:
            placeholders = ", ".join("?" * len(columns))
            self.conn.exec_driver_sql(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})",
                list(rows),
            )
            return
        cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """A statement written with `?` placeholders, run once per row."""
        if not rows:
            return
        self.writes += len(rows)
        if not self.is_sqlite:
            sql = sql.replace("?", "%s")
        self.conn.exec_driver_sql(sql, list(rows))

    def delete_where_in(self, table: str, column: str, values: Sequence[str]) -> None:
        for start in range(0, len(values), 500):
            chunk = list(values[start : start + 500])
            placeholders = ", ".join(["?" if self.is_sqlite else "%s"] * len(chunk))
            self.conn.exec_driver_sql(f"DELETE FROM {table} WHERE {column} IN ({placeholders})", tuple(chunk))

    def select_where_in(
        self, table: str, columns: Sequence[str], column: str, values: Sequence[str], order_by: str
    ) -> list[tuple[Any, ...]]:
        """Rows of `table` whose `column` is one of `values` (ids as 32 hex digits), in `order_by` order."""
        found: list[tuple[Any, ...]] = []
        for start in range(0, len(values), 500):
            chunk = list(values[start : start + 500])
            placeholders = ", ".join(["?" if self.is_sqlite else "%s"] * len(chunk))
            found.extend(
                tuple(row)
                for row in self.conn.exec_driver_sql(
                    f"SELECT {', '.join(columns)} FROM {table} WHERE {column} IN ({placeholders}) ORDER BY {order_by}",
                    tuple(chunk),
                )
            )
        return found
