"""Tables of the REST API area, on the shared metadata (imported at the end of tables.py).

Case attachments are evidence files an operator uploads: stored in the database with their
SHA-256 and content type, so a backup of the store is a backup of the evidence. An upload is
keyed by (case, SHA-256): the same file sent twice is stored once.

The two indexes on ``cases`` and ``events`` (and the one on ``findings``) serve the API's keyset
pagination, newest first: each page continues below the last (time, id) of the page before.
"""

from __future__ import annotations

import sqlalchemy as sa

from recoup.adapters.store.tables import Id, cases, events, findings, metadata
from recoup.adapters.store.types import UTCDateTime

case_attachments = sa.Table(
    "case_attachments",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("case_id", Id, sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("content_type", sa.String(200), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.Column("uploaded_by", sa.String(100), nullable=False),
    sa.Column("uploaded_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("case_id", "sha256"),
)
"""Evidence files attached to a case; never deleted with an edit (audit names each upload)."""

sa.Index("ix_cases_opened_at_id", cases.c.opened_at, cases.c.id)
sa.Index("ix_events_occurred_at_id", events.c.occurred_at, events.c.id)
sa.Index("ix_findings_occurred_at_id", findings.c.occurred_at, findings.c.id)
