"""Expected-but-missing timers (``expectations``), and noise control on cases: snooze until a
time, accept a discrepancy until a time with the fingerprint of the evidence accepted.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import recoup.adapters.store.types as rt

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "expectations",
        sa.Column("id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("entity_kind", sa.String(length=32), nullable=False),
        sa.Column("entity_key", sa.String(length=255), nullable=False),
        sa.Column("anchors", rt.JSONValue, nullable=False),
        sa.Column("opened_by", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("opened_at", rt.UTCDateTime(), nullable=False),
        sa.Column("due_at", rt.UTCDateTime(), nullable=False),
        sa.Column("expected", sa.Text(), nullable=False),
        sa.Column("amount", rt.Amount(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("settled_at", rt.UTCDateTime(), nullable=True),
        sa.Column("settled_by", sa.Uuid(as_uuid=False), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expectations")),
    )
    with op.batch_alter_table("expectations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_expectations_status_due_at"), ["status", "due_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_expectations_rule_entity_kind_entity_key"),
            ["rule", "entity_kind", "entity_key"],
            unique=False,
        )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("snoozed_until", rt.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("accepted_until", rt.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("accepted_fingerprint", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("accepted_fingerprint")
        batch_op.drop_column("accepted_until")
        batch_op.drop_column("snoozed_until")
    with op.batch_alter_table("expectations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expectations_rule_entity_kind_entity_key"))
        batch_op.drop_index(batch_op.f("ix_expectations_status_due_at"))
    op.drop_table("expectations")
