"""One CRM connection synced into the store: the function behind `contact-sync sync` and the CRM assets."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Engine

from connectors.connections import Connection
from connectors.sync import SyncOptions, SyncResult, sync
from contacts_store.ingest import ProgressSink
from pipelines.csv_import import check_region


def build_source(connection: Connection, **kwargs: Any) -> Any:
    """The connector's own `factory.build_source`, imported only now: each pulls in its CRM's client library.
    `connection.system` is one of `connectors.connections.SYSTEMS`, each a package under `connectors/`."""
    factory = importlib.import_module(f"connectors.{connection.system}.factory")
    return factory.build_source(connection, **kwargs)


def sync_connection(
    engine: Engine,
    connection: Connection,
    full: bool = False,
    options: Mapping[str, Any] | None = None,
    fields: Mapping[str, str | None] | None = None,
    region: str | None = None,
    workers: int | None = None,
    max_delete_fraction: float | None = 0.5,
    on_progress: ProgressSink | None = None,
    **source_kwargs: Any,
) -> SyncResult:
    source = build_source(connection, options=options, fields=fields, **source_kwargs)
    sync_options = SyncOptions(
        customer_id=connection.customer_id,
        region=check_region(region or connection.region),
        full=full,
        workers=workers,
        max_delete_fraction=max_delete_fraction,
    )
    try:
        return sync(engine, source, sync_options, on_progress)
    finally:
        source.client.close()
