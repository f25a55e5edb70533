"""One CRM connection synced into the store: the function behind `contact-sync sync` and the CRM assets."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.engine import Engine

from connectors.connections import Connection
from connectors.sync import SyncOptions, SyncResult, sync
from contacts_store.ingest import ProgressSink
from pipelines.csv_import import check_region

SourceFactory = Callable[..., Any]


def _salesforce(connection: Connection, **kwargs: Any) -> Any:
    from connectors.salesforce.factory import build_source

    return build_source(connection, **kwargs)


def _hubspot(connection: Connection, **kwargs: Any) -> Any:
    from connectors.hubspot.factory import build_source

    return build_source(connection, **kwargs)


def _zoho(connection: Connection, **kwargs: Any) -> Any:
    from connectors.zoho.factory import build_source

    return build_source(connection, **kwargs)


SOURCE_FACTORIES: dict[str, SourceFactory] = {"salesforce": _salesforce, "hubspot": _hubspot, "zoho": _zoho}


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
    source = SOURCE_FACTORIES[connection.system](connection, options=options, fields=fields, **source_kwargs)
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
