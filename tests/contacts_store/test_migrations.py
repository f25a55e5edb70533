"""The Alembic migrations build exactly the schema the code declares, and each step can be undone."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine

from contacts_store.db import current_revision, head_revision, upgrade
from contacts_store.schema import metadata


def test_migrated_schema_matches_the_declared_one(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_the_last_step_downgrades_and_upgrades_again(db_url: str, engine: Engine) -> None:
    from alembic import command

    from contacts_store.db import alembic_config

    command.downgrade(alembic_config(db_url), "-1")
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) != []
    upgrade(db_url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
