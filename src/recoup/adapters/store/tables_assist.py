"""Tables of the assist area, on the shared metadata (imported at the end of tables.py)."""

from __future__ import annotations

import sqlalchemy as sa

from recoup.adapters.store.tables import Id, metadata
from recoup.adapters.store.types import JSONValue, UTCDateTime

assist_models = sa.Table(
    "assist_models",
    metadata,
    sa.Column("version", sa.String(64), primary_key=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(100), nullable=False),
    sa.Column("label_count", sa.Integer, nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("fields", JSONValue, nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("band", sa.Float, nullable=False),
    sa.Column("metrics", JSONValue, nullable=False),
    sa.Index(None, "created_at"),
)
"""Every trained model: its file's SHA-256 (checked before loading), the labels it learned from
and its held-out metrics. The newest is the one in use."""

assist_suggestions = sa.Table(
    "assist_suggestions",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("case_id", Id, sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("field", sa.String(32), nullable=False),
    sa.Column("value", sa.String(100), nullable=False),
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("model_version", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("agrees_with_policy", sa.Boolean),
    sa.Column("verdict", sa.String(16)),
    sa.Column("final_value", sa.String(100)),
    sa.Column("decided_by", sa.String(100)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("decided_at", UTCDateTime),
    sa.UniqueConstraint("case_id", "field"),
    sa.Index(None, "model_version", "field"),
)
"""One suggestion per case and field (a newer model replaces an undecided one), with the model
version and confidence it came with and what the operator did with it. An operator's value
without a suggestion (a label given by hand) is a row with ``model_version`` ``operator``."""

assist_crossings = sa.Table(
    "assist_crossings",
    metadata,
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("is_crossed", sa.Boolean, nullable=False),
    sa.Column("crossings", sa.Integer, nullable=False),
    sa.Column("changed_at", UTCDateTime, nullable=False),
    sa.Column("detail", JSONValue, nullable=False),
)
"""Pattern alert state per kind and dimension value: crossed (alerted once, silent until it
clears) or clear."""
