"""The store's tables (SQLAlchemy Core), shared by ingest, lookups, the API and the Alembic migrations.

Every table carries `customer_id` and every query filters on it. Contacts are soft-deleted (`tm_delete`); their
phone, email and tag rows stay, and lookups join to live contacts only.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_TIMESTAMP = sa.DateTime(timezone=True)

contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("customer_id", sa.Uuid, nullable=False),
    sa.Column("first_name", sa.Text),
    sa.Column("last_name", sa.Text),
    sa.Column("display_name", sa.Text),
    sa.Column("company", sa.Text),
    sa.Column("job_title", sa.Text),
    sa.Column("notes", sa.Text),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("external_system", sa.String(64)),
    sa.Column("external_id", sa.String(255)),
    # Fingerprint of the raw source record: an unchanged record is recognised before it is normalized.
    sa.Column("source_hash", sa.String(32)),
    # Fingerprint of the stored content: an update that would change nothing is skipped.
    sa.Column("content_hash", sa.String(32)),
    # Values dropped from the source record; such records are re-normalized on every import so that each
    # rejects report lists them again.
    sa.Column("rejected_values", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("tm_create", _TIMESTAMP, nullable=False),
    sa.Column("tm_update", _TIMESTAMP),
    sa.Column("tm_delete", _TIMESTAMP),
    sa.Index(
        "uq_contacts_live_external_id",
        "customer_id",
        "external_system",
        "external_id",
        unique=True,
        sqlite_where=sa.text("tm_delete IS NULL AND external_id IS NOT NULL"),
        postgresql_where=sa.text("tm_delete IS NULL AND external_id IS NOT NULL"),
    ),
    sa.Index("ix_contacts_external_id", "customer_id", "external_system", "external_id"),
    sa.Index("ix_contacts_source_hash", "customer_id", "external_system", "source_hash"),
    sa.Index("ix_contacts_customer_created", "customer_id", "tm_create", "id"),
    # Live contacts per customer and system, counted from the index alone (asset checks, run metadata);
    # `tm_delete` (always NULL here) makes it covering, or SQLite reads every row to test it.
    sa.Index(
        "ix_contacts_live",
        "customer_id",
        "external_system",
        "tm_delete",
        sqlite_where=sa.text("tm_delete IS NULL"),
        postgresql_where=sa.text("tm_delete IS NULL"),
    ),
)

contact_phone_numbers = sa.Table(
    "contact_phone_numbers",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("customer_id", sa.Uuid, nullable=False),
    sa.Column(
        "contact_id",
        sa.Uuid,
        sa.ForeignKey("contacts.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("number", sa.Text, nullable=False),
    sa.Column("number_e164", sa.String(16), nullable=False),
    sa.Column("extension", sa.String(16)),
    sa.Column("type", sa.String(8), nullable=False),
    sa.Column("is_primary", sa.Boolean, nullable=False),
    sa.Column("position", sa.SmallInteger, nullable=False),
    sa.Column("tm_create", _TIMESTAMP, nullable=False),
    sa.Index("ix_contact_phone_numbers_lookup", "customer_id", "number_e164"),
    sa.Index("ix_contact_phone_numbers_contact", "contact_id"),
)

contact_emails = sa.Table(
    "contact_emails",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("customer_id", sa.Uuid, nullable=False),
    sa.Column(
        "contact_id",
        sa.Uuid,
        sa.ForeignKey("contacts.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("address", sa.String(320), nullable=False),
    sa.Column("type", sa.String(8), nullable=False),
    sa.Column("is_primary", sa.Boolean, nullable=False),
    sa.Column("position", sa.SmallInteger, nullable=False),
    sa.Column("tm_create", _TIMESTAMP, nullable=False),
    sa.Index("ix_contact_emails_lookup", "customer_id", "address"),
    sa.Index("ix_contact_emails_contact", "contact_id"),
)

contact_tags = sa.Table(
    "contact_tags",
    metadata,
    sa.Column(
        "contact_id",
        sa.Uuid,
        sa.ForeignKey("contacts.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("tag", sa.String(255), primary_key=True),
    sa.Column("customer_id", sa.Uuid, nullable=False),
    sa.Column("position", sa.SmallInteger, nullable=False),
    sa.Column("tm_create", _TIMESTAMP, nullable=False),
    sa.Index("ix_contact_tags_customer_tag", "customer_id", "tag"),
)

import_runs = sa.Table(
    "import_runs",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("customer_id", sa.Uuid, nullable=False),
    sa.Column("external_system", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("origin", sa.Text),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("counts", sa.JSON),
    sa.Column("message", sa.Text),
    sa.Column("tm_start", _TIMESTAMP, nullable=False),
    sa.Column("tm_end", _TIMESTAMP),
    sa.Index("ix_import_runs_customer_start", "customer_id", "tm_start"),
)

rejects = sa.Table(
    "rejects",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "run_id",
        sa.Uuid,
        sa.ForeignKey("import_runs.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("customer_id", sa.Uuid, nullable=False),
    sa.Column("external_system", sa.String(64), nullable=False),
    sa.Column("external_id", sa.String(255)),
    sa.Column("row_number", sa.Integer),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("field", sa.String(32)),
    sa.Column("value", sa.Text),
    sa.Column("raw", sa.JSON),
    sa.Column("tm_create", _TIMESTAMP, nullable=False),
    sa.Index("ix_rejects_run", "run_id"),
    sa.Index("ix_rejects_customer_created", "customer_id", "tm_create"),
)

# Secondary indexes on random keys. A first load into an empty store builds them once at the end (a sort) instead
# of row by row, which costs more than everything else SQLite does during that load. The load itself needs none
# of them while its records all carry ids (it restores them first when one does not).
BULK_DEFERRED_INDEXES = (
    "ix_contacts_source_hash",
    "ix_contact_phone_numbers_lookup",
    "ix_contact_emails_lookup",
    "ix_contact_tags_customer_tag",
)


def index_named(name: str) -> sa.Index:
    return next(index for table in metadata.tables.values() for index in table.indexes if index.name == name)


api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("customer_id", sa.Uuid, nullable=False),
    sa.Column("name", sa.String(128), nullable=False),
    # SHA-256 of the token: the token itself is shown once and never stored.
    sa.Column("token_hash", sa.String(64), nullable=False),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("tm_create", _TIMESTAMP, nullable=False),
    sa.Column("tm_revoke", _TIMESTAMP),
    sa.Index("uq_api_tokens_token_hash", "token_hash", unique=True),
    sa.Index("ix_api_tokens_customer", "customer_id", "tm_create"),
)

sync_cursors = sa.Table(
    "sync_cursors",
    metadata,
    sa.Column("customer_id", sa.Uuid, primary_key=True),
    sa.Column("external_system", sa.String(64), primary_key=True),
    sa.Column("connection", sa.String(128), primary_key=True, default=""),
    sa.Column("cursor", sa.JSON, nullable=False),
    sa.Column("tm_update", _TIMESTAMP, nullable=False),
)
