"""Assist models, suggestions and pattern alert state.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import recoup.adapters.store.types as rt

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assist_models",
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("created_at", rt.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("label_count", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("fields", rt.JSONValue, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("band", sa.Float(), nullable=False),
        sa.Column("metrics", rt.JSONValue, nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_assist_models")),
    )
    with op.batch_alter_table("assist_models", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assist_models_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "assist_suggestions",
        sa.Column("id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("case_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("agrees_with_policy", sa.Boolean(), nullable=True),
        sa.Column("verdict", sa.String(length=16), nullable=True),
        sa.Column("final_value", sa.String(length=100), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("created_at", rt.UTCDateTime(), nullable=False),
        sa.Column("decided_at", rt.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_assist_suggestions_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assist_suggestions")),
        sa.UniqueConstraint("case_id", "field", name=op.f("uq_assist_suggestions_case_id_field")),
    )
    with op.batch_alter_table("assist_suggestions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assist_suggestions_model_version_field"),
            ["model_version", "field"],
            unique=False,
        )

    op.create_table(
        "assist_crossings",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("is_crossed", sa.Boolean(), nullable=False),
        sa.Column("crossings", sa.Integer(), nullable=False),
        sa.Column("changed_at", rt.UTCDateTime(), nullable=False),
        sa.Column("detail", rt.JSONValue, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_assist_crossings")),
    )


def downgrade() -> None:
    op.drop_table("assist_crossings")
    with op.batch_alter_table("assist_suggestions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assist_suggestions_model_version_field"))
    op.drop_table("assist_suggestions")
    with op.batch_alter_table("assist_models", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assist_models_created_at"))
    op.drop_table("assist_models")
