"""Duplicate claims: each case's counterparty, and the case it likely duplicates with a score.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("counterparty", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("duplicate_of", sa.Uuid(as_uuid=False), nullable=True))
        batch_op.add_column(sa.Column("duplicate_score", sa.Float(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_cases_counterparty_opened_at"),
            ["counterparty", "opened_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_counterparty_opened_at"))
        batch_op.drop_column("duplicate_score")
        batch_op.drop_column("duplicate_of")
        batch_op.drop_column("counterparty")
