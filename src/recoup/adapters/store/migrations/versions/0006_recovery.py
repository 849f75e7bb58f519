"""Recovery: ladder climbs, attempts, customer messages, the writeback outbox, journal entries,
self-service grants; outcome amounts and a resolution waiting for its writeback on cases.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import recoup.adapters.store.types as rt

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "journal_entries",
        sa.Column("id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("case_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("at", rt.UTCDateTime(), nullable=False),
        sa.Column("reverses", sa.Uuid(as_uuid=False), nullable=True),
        sa.Column("lines", rt.JSONValue, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_journal_entries_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_entries")),
    )
    with op.batch_alter_table("journal_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_journal_entries_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_journal_entries_case_id"), ["case_id"], unique=False)

    op.create_table(
        "messages",
        sa.Column("id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("case_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("recipient", sa.String(length=300), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("at", rt.UTCDateTime(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_messages_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_messages_case_id_at"), ["case_id", "at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_messages_recipient_at"), ["recipient", "at"], unique=False
        )

    op.create_table(
        "outbox",
        sa.Column("id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("case_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("target", sa.String(length=40), nullable=False),
        sa.Column("operation", sa.String(length=64), nullable=False),
        sa.Column("payload", rt.JSONValue, nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_at", rt.UTCDateTime(), nullable=True),
        sa.Column("created_at", rt.UTCDateTime(), nullable=False),
        sa.Column("confirmed_at", rt.UTCDateTime(), nullable=True),
        sa.Column("last_http_status", sa.Integer(), nullable=True),
        sa.Column("last_detail", sa.Text(), nullable=True),
        sa.Column("on_confirm", rt.JSONValue, nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_outbox_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_idempotency_key")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_outbox_status_next_at"), ["status", "next_at"], unique=False
        )

    op.create_table(
        "recovery",
        sa.Column("case_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("ladder", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("next_at", rt.UTCDateTime(), nullable=True),
        sa.Column("state", rt.JSONValue, nullable=False),
        sa.Column("updated_at", rt.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_recovery_case_id_cases")),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_recovery")),
    )
    with op.batch_alter_table("recovery", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recovery_status_next_at"), ["status", "next_at"], unique=False
        )

    op.create_table(
        "recovery_attempts",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("case_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("at", rt.UTCDateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("amount", rt.Amount(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("data", rt.JSONValue, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_recovery_attempts_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_attempts")),
    )
    with op.batch_alter_table("recovery_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recovery_attempts_case_id_at"), ["case_id", "at"], unique=False
        )

    op.create_table(
        "selfservice_grants",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("actions", rt.JSONValue, nullable=False),
        sa.Column("created_at", rt.UTCDateTime(), nullable=False),
        sa.Column("expires_at", rt.UTCDateTime(), nullable=False),
        sa.Column("used_at", rt.UTCDateTime(), nullable=True),
        sa.Column("used_action", sa.String(length=40), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_selfservice_grants_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_selfservice_grants")),
    )
    with op.batch_alter_table("selfservice_grants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_selfservice_grants_case_id"), ["case_id"], unique=False
        )

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recovered_amount", rt.Amount(), nullable=True))
        batch_op.add_column(sa.Column("written_off_amount", rt.Amount(), nullable=True))
        batch_op.add_column(sa.Column("lost_amount", rt.Amount(), nullable=True))
        batch_op.add_column(sa.Column("handling_cost", rt.Amount(), nullable=True))
        batch_op.add_column(sa.Column("pending_resolution", rt.JSONValue, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("pending_resolution")
        batch_op.drop_column("handling_cost")
        batch_op.drop_column("lost_amount")
        batch_op.drop_column("written_off_amount")
        batch_op.drop_column("recovered_amount")

    with op.batch_alter_table("selfservice_grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_selfservice_grants_case_id"))

    op.drop_table("selfservice_grants")
    with op.batch_alter_table("recovery_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recovery_attempts_case_id_at"))

    op.drop_table("recovery_attempts")
    with op.batch_alter_table("recovery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recovery_status_next_at"))

    op.drop_table("recovery")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_status_next_at"))
        batch_op.drop_index(batch_op.f("ix_outbox_case_id"))

    op.drop_table("outbox")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_recipient_at"))
        batch_op.drop_index(batch_op.f("ix_messages_case_id_at"))

    op.drop_table("messages")
    with op.batch_alter_table("journal_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journal_entries_case_id"))
        batch_op.drop_index(batch_op.f("ix_journal_entries_at"))

    op.drop_table("journal_entries")
