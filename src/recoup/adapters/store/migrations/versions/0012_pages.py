"""Pages: the indexes behind the queue pages.

``ix_cases_open_queue`` is partial (open cases only: ``status NOT IN ('resolved', 'closed')``)
and holds ``(queue, opened_at, id, sla_due_at)``: a queue's first page, its keyset pages, its
open count and the queues overview (with the past-deadline count) read the index alone, however
many resolved cases the table holds. ``ix_cases_queue_status_opened_at`` serves a queue filtered
to one status (resolved, closed, escalated...) in the same order.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

OPEN = "status NOT IN ('resolved', 'closed')"


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cases_open_queue",
            ["queue", "opened_at", "id", "sla_due_at"],
            unique=False,
            sqlite_where=sa.text(OPEN),
            postgresql_where=sa.text(OPEN),
        )
        batch_op.create_index(
            "ix_cases_queue_status_opened_at",
            ["queue", "status", "opened_at", "id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_queue_status_opened_at")
        batch_op.drop_index("ix_cases_open_queue")
