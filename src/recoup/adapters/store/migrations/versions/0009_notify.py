"""Outbound webhook subscriptions, deliveries, attempts; metrics summary tables.

The summaries start empty: on a store that already has cases, run ``recoup metrics rebuild``
once after upgrading (it recomputes them from the cases in one transaction).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import recoup.adapters.store.types as rt

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_subscriptions",
        sa.Column("id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("events", rt.JSONValue, nullable=False),
        sa.Column("team", sa.String(length=64), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", rt.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("disabled_at", rt.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_subscriptions")),
    )
    op.create_table(
        "notify_deliveries",
        sa.Column("id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("subscription_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("case_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("case_version", sa.Integer(), nullable=False),
        sa.Column("payload", rt.JSONValue, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("requeued_after", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_at", rt.UTCDateTime(), nullable=True),
        sa.Column("created_at", rt.UTCDateTime(), nullable=False),
        sa.Column("delivered_at", rt.UTCDateTime(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["notify_subscriptions.id"],
            name=op.f("fk_notify_deliveries_subscription_id_notify_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_deliveries")),
        sa.UniqueConstraint(
            "subscription_id",
            "case_id",
            "event",
            "case_version",
            name=op.f("uq_notify_deliveries_subscription_id_case_id_event_case_version"),
        ),
    )
    with op.batch_alter_table("notify_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notify_deliveries_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_notify_deliveries_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_notify_deliveries_status_next_at"), ["status", "next_at"], unique=False
        )
    op.create_table(
        "notify_attempts",
        sa.Column("delivery_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", rt.UTCDateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["notify_deliveries.id"],
            name=op.f("fk_notify_attempts_delivery_id_notify_deliveries"),
        ),
        sa.PrimaryKeyConstraint("delivery_id", "number", name=op.f("pk_notify_attempts")),
    )
    op.create_table(
        "metric_counters",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("k1", sa.String(length=100), nullable=False),
        sa.Column("k2", sa.String(length=100), nullable=False),
        sa.Column("k3", sa.String(length=100), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", "k1", "k2", "k3", name=op.f("pk_metric_counters")),
    )
    op.create_table(
        "metric_case_codes",
        sa.Column("case_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("reason_code", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_metric_case_codes")),
    )


def downgrade() -> None:
    op.drop_table("metric_case_codes")
    op.drop_table("metric_counters")
    op.drop_table("notify_attempts")
    with op.batch_alter_table("notify_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notify_deliveries_status_next_at"))
        batch_op.drop_index(batch_op.f("ix_notify_deliveries_created_at"))
        batch_op.drop_index(batch_op.f("ix_notify_deliveries_case_id"))
    op.drop_table("notify_deliveries")
    op.drop_table("notify_subscriptions")
