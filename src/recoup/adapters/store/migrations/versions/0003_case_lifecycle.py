"""The case lifecycle: a time per stage (triaged, in progress, waiting and on whom, escalated),
the escalation level, the SLA breach time, how often a case was reopened (rework), and the
policy decision (outputs and trace) that routed it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import recoup.adapters.store.types as rt

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TIMES = ("triaged_at", "in_progress_at", "waiting_at", "escalated_at", "sla_breached_at")


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        for name in _TIMES[:3]:
            batch_op.add_column(sa.Column(name, rt.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("waiting_on", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("escalated_at", rt.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("escalation_level", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("sla_breached_at", rt.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("reopen_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("decision", rt.JSONValue, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        for name in ("decision", "reopen_count", "escalation_level", "waiting_on", *_TIMES):
            batch_op.drop_column(name)
