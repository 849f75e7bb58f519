"""Tables of the notify area, on the shared metadata (imported at the end of tables.py):
outbound webhook subscriptions, deliveries and attempts (migration 0009), and the metric
summaries kept with the cases."""

from __future__ import annotations

import sqlalchemy as sa

from recoup.adapters.store.tables import Id, metadata
from recoup.adapters.store.types import JSONValue, UTCDateTime

notify_subscriptions = sa.Table(
    "notify_subscriptions",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("secret", sa.String(200), nullable=False),
    sa.Column("events", JSONValue, nullable=False),
    sa.Column("team", sa.String(64)),
    sa.Column("is_active", sa.Boolean, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(100), nullable=False),
    sa.Column("disabled_at", UTCDateTime),
)
"""Where case events go: a URL, the secret deliveries are signed with, the events and team."""

notify_deliveries = sa.Table(
    "notify_deliveries",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("subscription_id", Id, sa.ForeignKey("notify_subscriptions.id"), nullable=False),
    sa.Column("case_id", Id, nullable=False),
    sa.Column("event", sa.String(16), nullable=False),
    sa.Column("case_version", sa.Integer, nullable=False),
    sa.Column("payload", JSONValue, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("requeued_after", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_at", UTCDateTime),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("delivered_at", UTCDateTime),
    sa.Column("last_status_code", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.UniqueConstraint("subscription_id", "case_id", "event", "case_version"),
    sa.Index(None, "status", "next_at"),
    sa.Index(None, "case_id"),
    sa.Index(None, "created_at"),
)
"""One case event for one subscription, enqueued in the case's transaction, sent after commit.
No foreign key to ``cases``: the delivery is written in the transaction that writes its case."""

notify_attempts = sa.Table(
    "notify_attempts",
    metadata,
    sa.Column("delivery_id", Id, sa.ForeignKey("notify_deliveries.id"), primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("duration_ms", sa.Integer, nullable=False),
)
"""Every attempt of a delivery: when, the answer (or the error) and how long it took."""

metric_counters = sa.Table(
    "metric_counters",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("k1", sa.String(100), primary_key=True),
    sa.Column("k2", sa.String(100), primary_key=True),
    sa.Column("k3", sa.String(100), primary_key=True),
    sa.Column("count", sa.BigInteger, nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
)
"""The sum over every case of its contribution (``domain/metrics.py``): counters, amounts in
1/10,000 units, and duration histogram buckets. Updated in each case write's transaction."""

metric_case_codes = sa.Table(
    "metric_case_codes",
    metadata,
    sa.Column("case_id", Id, primary_key=True),
    sa.Column("reason_code", sa.String(100), nullable=False),
)
"""The reason (decline) code of the finding that opened a case, for recovery by reason code;
written when the case is created, for cases whose opening finding had one."""
