"""Dagster resources: the contact store (and, per CRM, its API client in the connector issues' modules).

Secrets reach a resource only through `dg.EnvVar`, which Dagster resolves in the run process and never shows in
the UI; a resource never logs its configuration.
"""

import dagster as dg
from pydantic import Field, PrivateAttr
from sqlalchemy.engine import Engine

from contacts_store import settings


class ContactStoreResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The contact store one run writes to: an engine made when the run starts and disposed when it ends.

    Starting a run brings the schema up to date, as `contact-sync import` does, so a first run on an empty
    database just works.
    """

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the store; set it with EnvVar('CONTACTS_DATABASE_URL'). "
        "Unset: the embedded default, sqlite:///contacts.db in the working directory.",
    )
    _engine: Engine | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        from contacts_store.db import create_engine, ensure_schema

        self._engine = create_engine(self.database_url or settings.database_url())
        ensure_schema(self._engine)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("ContactStoreResource.engine is only available while a run executes")
        return self._engine

    def display_url(self) -> str:
        """The URL with any password hidden: the only form that may appear in metadata."""
        return self.engine.url.render_as_string(hide_password=True)
