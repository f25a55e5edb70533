"""Engines and schema migrations for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import logging
from importlib import resources
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from contacts_store.settings import database_url as configured_database_url

log = logging.getLogger(__name__)


def normalize_url(url: str | URL) -> URL:
    """Plain `postgresql://` URLs use psycopg 3, the driver this project installs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def create_engine(url: str | URL | None = None, **kwargs: Any) -> Engine:
    parsed = normalize_url(url or configured_database_url())
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(parsed, **kwargs)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(parsed, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets lookups read while an import writes; NORMAL sync is durable across application crashes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-32768")
    cursor.close()


def alembic_config(url: str | URL) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("contacts_store") / "migrations"))
    config.attributes["database_url"] = normalize_url(url).render_as_string(hide_password=False)
    return config


def upgrade(url: str | URL | None = None, revision: str = "head") -> None:
    """Apply the Alembic migrations (`contact-sync db upgrade`)."""
    from alembic import command

    command.upgrade(alembic_config(url or configured_database_url()), revision)
    if revision == "head":
        engine = create_engine(url or configured_database_url())
        try:
            repair_indexes(engine)
        finally:
            engine.dispose()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def ensure_schema(engine: Engine) -> None:
    """Bring the database to the latest schema if it is behind (imports do this so a first run just works)."""
    if current_revision(engine) != head_revision():
        upgrade(engine.url)  # repairs indexes too
    else:
        repair_indexes(engine)


def repair_indexes(engine: Engine) -> list[str]:
    """Create any index of the schema that is missing, e.g. after a first bulk load was killed half-way.

    A unique index that the data already violates cannot be built; it is named in the result and logged rather
    than raised, so imports keep working and the duplicate-external-id check can say which ids are duplicated.
    """
    from contacts_store.schema import metadata

    unbuildable: list[str] = []
    for table in metadata.sorted_tables:
        for index in table.indexes:
            try:
                with engine.begin() as conn:
                    index.create(conn, checkfirst=True)
            except sa.exc.IntegrityError:
                unbuildable.append(str(index.name))
                log.warning("index %s cannot be built: the data holds duplicates it forbids", index.name)
    return unbuildable
