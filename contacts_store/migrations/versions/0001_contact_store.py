"""contact store

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contacts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("first_name", sa.Text(), nullable=True),
        sa.Column("last_name", sa.Text(), nullable=True),
        sa.Column("display_name", sa.Text(), nullable=True),
        sa.Column("company", sa.Text(), nullable=True),
        sa.Column("job_title", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("external_system", sa.String(length=64), nullable=True),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("source_hash", sa.String(length=32), nullable=True),
        sa.Column("content_hash", sa.String(length=32), nullable=True),
        sa.Column("rejected_values", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("tm_create", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tm_update", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tm_delete", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index("ix_contacts_customer_created", ["customer_id", "tm_create", "id"], unique=False)
        batch_op.create_index(
            "ix_contacts_external_id", ["customer_id", "external_system", "external_id"], unique=False
        )
        batch_op.create_index(
            "ix_contacts_source_hash", ["customer_id", "external_system", "source_hash"], unique=False
        )
        batch_op.create_index(
            "uq_contacts_live_external_id",
            ["customer_id", "external_system", "external_id"],
            unique=True,
            sqlite_where=sa.text("tm_delete IS NULL AND external_id IS NOT NULL"),
            postgresql_where=sa.text("tm_delete IS NULL AND external_id IS NOT NULL"),
        )

    op.create_table(
        "import_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("external_system", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("origin", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("tm_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tm_end", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_runs")),
    )
    with op.batch_alter_table("import_runs", schema=None) as batch_op:
        batch_op.create_index("ix_import_runs_customer_start", ["customer_id", "tm_start"], unique=False)

    op.create_table(
        "sync_cursors",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("external_system", sa.String(length=64), nullable=False),
        sa.Column("connection", sa.String(length=128), nullable=False),
        sa.Column("cursor", sa.JSON(), nullable=False),
        sa.Column("tm_update", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "external_system", "connection", name=op.f("pk_sync_cursors")),
    )
    op.create_table(
        "contact_emails",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("type", sa.String(length=8), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("tm_create", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_contact_emails_contact_id_contacts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_emails")),
    )
    with op.batch_alter_table("contact_emails", schema=None) as batch_op:
        batch_op.create_index("ix_contact_emails_contact", ["contact_id"], unique=False)
        batch_op.create_index("ix_contact_emails_lookup", ["customer_id", "address"], unique=False)

    op.create_table(
        "contact_phone_numbers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("number_e164", sa.String(length=16), nullable=False),
        sa.Column("extension", sa.String(length=16), nullable=True),
        sa.Column("type", sa.String(length=8), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("tm_create", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_contact_phone_numbers_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_phone_numbers")),
    )
    with op.batch_alter_table("contact_phone_numbers", schema=None) as batch_op:
        batch_op.create_index("ix_contact_phone_numbers_contact", ["contact_id"], unique=False)
        batch_op.create_index("ix_contact_phone_numbers_lookup", ["customer_id", "number_e164"], unique=False)

    op.create_table(
        "contact_tags",
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("tm_create", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_contact_tags_contact_id_contacts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("contact_id", "tag", name=op.f("pk_contact_tags")),
    )
    with op.batch_alter_table("contact_tags", schema=None) as batch_op:
        batch_op.create_index("ix_contact_tags_customer_tag", ["customer_id", "tag"], unique=False)

    op.create_table(
        "rejects",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("external_system", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("row_number", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=True),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("raw", sa.JSON(), nullable=True),
        sa.Column("tm_create", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["import_runs.id"], name=op.f("fk_rejects_run_id_import_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rejects")),
    )
    with op.batch_alter_table("rejects", schema=None) as batch_op:
        batch_op.create_index("ix_rejects_customer_created", ["customer_id", "tm_create"], unique=False)
        batch_op.create_index("ix_rejects_run", ["run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rejects", schema=None) as batch_op:
        batch_op.drop_index("ix_rejects_run")
        batch_op.drop_index("ix_rejects_customer_created")

    op.drop_table("rejects")
    with op.batch_alter_table("contact_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_tags_customer_tag")

    op.drop_table("contact_tags")
    with op.batch_alter_table("contact_phone_numbers", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_phone_numbers_lookup")
        batch_op.drop_index("ix_contact_phone_numbers_contact")

    op.drop_table("contact_phone_numbers")
    with op.batch_alter_table("contact_emails", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_emails_lookup")
        batch_op.drop_index("ix_contact_emails_contact")

    op.drop_table("contact_emails")
    op.drop_table("sync_cursors")
    with op.batch_alter_table("import_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_import_runs_customer_start")

    op.drop_table("import_runs")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_contacts_live_external_id",
            sqlite_where=sa.text("tm_delete IS NULL AND external_id IS NOT NULL"),
            postgresql_where=sa.text("tm_delete IS NULL AND external_id IS NOT NULL"),
        )
        batch_op.drop_index("ix_contacts_source_hash")
        batch_op.drop_index("ix_contacts_external_id")
        batch_op.drop_index("ix_contacts_customer_created")

    op.drop_table("contacts")
