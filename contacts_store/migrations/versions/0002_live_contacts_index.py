"""live contacts index

Counting a customer's live contacts (the asset checks do it before and after every run) read every contact row
to test `tm_delete`; a partial index of live contacts answers it from the index alone.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contacts_live",
            ["customer_id", "external_system", "tm_delete"],
            unique=False,
            sqlite_where=sa.text("tm_delete IS NULL"),
            postgresql_where=sa.text("tm_delete IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_contacts_live",
            sqlite_where=sa.text("tm_delete IS NULL"),
            postgresql_where=sa.text("tm_delete IS NULL"),
        )
