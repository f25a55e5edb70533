"""Shared fixtures: a migrated store on SQLite (always) and PostgreSQL (when CONTACTS_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from contacts_store import schema
from contacts_store.db import create_engine, upgrade

REPO = Path(__file__).resolve().parents[1]
# The shared, test-only fixtures live beside the checkout; CONTACTS_FIXTURES_DIR points elsewhere.
FIXTURES = Path(os.environ.get("CONTACTS_FIXTURES_DIR") or REPO.parent / "shared" / "fixtures")
PG_ENV = "CONTACTS_TEST_DATABASE_URL"
PG_SKIP_REASON = f"PostgreSQL tests need {PG_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/contact_sync_test)"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    if not FIXTURES.is_dir():
        pytest.skip(f"shared fixtures not found at {FIXTURES}")
    return FIXTURES


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL database reset to an empty, migrated schema once per session."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(PG_SKIP_REASON)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    upgrade(url)
    yield url


def truncate_store(engine: Engine) -> None:
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(t.name for t in schema.metadata.sorted_tables)
            conn.exec_driver_sql(f"TRUNCATE {names} CASCADE")
        else:
            for table in reversed(schema.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, migrated store; every test using it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'contacts.db'}"
        upgrade(url)
        return url
    url = str(request.getfixturevalue("pg_url"))
    engine = create_engine(url)
    truncate_store(engine)
    engine.dispose()
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def customer() -> uuid.UUID:
    return uuid.uuid4()


def count_rows(engine: Engine, table: sa.Table, **where: object) -> int:
    query = sa.select(sa.func.count()).select_from(table)
    for name, value in where.items():
        query = query.where(table.c[name] == value)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())
