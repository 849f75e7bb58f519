"""Reconciliation: runs, matches (automatic, suggested, confirmed, rejected, forced) and breaks.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import recoup.adapters.store.types as rt

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reconcile_breaks",
        sa.Column("id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("item_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=True),
        sa.Column("expected", sa.Text(), nullable=True),
        sa.Column("actual", sa.Text(), nullable=True),
        sa.Column("candidate_id", sa.Uuid(as_uuid=False), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("first_seen_at", rt.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", rt.UTCDateTime(), nullable=False),
        sa.Column("run_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconcile_breaks")),
    )
    with op.batch_alter_table("reconcile_breaks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reconcile_breaks_item_id"), ["item_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_reconcile_breaks_status_reason"), ["status", "reason"], unique=False
        )

    op.create_table(
        "reconcile_matches",
        sa.Column("id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("match_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("run_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("left_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("right_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("group_size", sa.Integer(), nullable=False),
        sa.Column("amount_diff", rt.Amount(), nullable=False),
        sa.Column("created_at", rt.UTCDateTime(), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", rt.UTCDateTime(), nullable=True),
        sa.Column("justification", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconcile_matches")),
    )
    with op.batch_alter_table("reconcile_matches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reconcile_matches_left_id_status"), ["left_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_reconcile_matches_match_id"), ["match_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_reconcile_matches_right_id_status"), ["right_id", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_reconcile_matches_status"), ["status"], unique=False)

    op.create_table(
        "reconcile_runs",
        sa.Column("id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("rules_version", sa.Integer(), nullable=False),
        sa.Column("rules_hash", sa.String(length=64), nullable=False),
        sa.Column("started_at", rt.UTCDateTime(), nullable=False),
        sa.Column("finished_at", rt.UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("stats", rt.JSONValue, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconcile_runs")),
    )


def downgrade() -> None:
    op.drop_table("reconcile_runs")
    with op.batch_alter_table("reconcile_matches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reconcile_matches_status"))
        batch_op.drop_index(batch_op.f("ix_reconcile_matches_right_id_status"))
        batch_op.drop_index(batch_op.f("ix_reconcile_matches_match_id"))
        batch_op.drop_index(batch_op.f("ix_reconcile_matches_left_id_status"))

    op.drop_table("reconcile_matches")
    with op.batch_alter_table("reconcile_breaks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reconcile_breaks_status_reason"))
        batch_op.drop_index(batch_op.f("ix_reconcile_breaks_item_id"))

    op.drop_table("reconcile_breaks")
