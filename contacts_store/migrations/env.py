"""Alembic environment: the URL comes from the caller (`contacts_store.db.upgrade`) or the environment."""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool

from contacts_store.db import create_engine
from contacts_store.schema import metadata
from contacts_store.settings import database_url

config = context.config
url = config.attributes.get("database_url") or database_url()


def run_offline() -> None:
    context.configure(url=url, target_metadata=metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
