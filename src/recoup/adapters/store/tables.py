"""The schema, as SQLAlchemy Core tables. Migrations must produce exactly this (a test checks).

Constraint names are explicit (naming convention) so migrations are stable on both databases.
The audit tables have no foreign keys and nothing cascades into them: audit is never deleted
with what it describes. The two index tables written for every event (``entity_links`` and
``detector_windows``) carry no foreign key either: they are only ever written in the transaction
that writes their event, and a per-row key check would cost more than the rest of the insert.
"""

from __future__ import annotations

import sqlalchemy as sa

from recoup.adapters.store.types import Amount, JSONValue, UTCDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING)

Id = sa.Uuid(as_uuid=False)
OPEN_CASES = "status NOT IN ('resolved', 'closed')"

sources = sa.Table(
    "sources",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("first_seen_at", UTCDateTime, nullable=False),
    sa.Column("last_event_at", UTCDateTime, nullable=False),
)

ingest_runs = sa.Table(
    "ingest_runs",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("label", sa.String(500), nullable=False),
    sa.Column("format", sa.String(40), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime),
    sa.Column("lines_read", sa.Integer, nullable=False, server_default="0"),
    sa.Column("accepted", sa.Integer, nullable=False, server_default="0"),
    sa.Column("duplicates", sa.Integer, nullable=False, server_default="0"),
    sa.Column("quarantined", sa.Integer, nullable=False, server_default="0"),
    sa.Column("flags", sa.Integer, nullable=False, server_default="0"),
    sa.Column("findings", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cases_opened", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cases_attached", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cases_resolved", sa.Integer, nullable=False, server_default="0"),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("source", sa.String(100), sa.ForeignKey("sources.name"), nullable=False),
    sa.Column("external_id", sa.String(255), nullable=False),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("occurred_at", UTCDateTime, nullable=False),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("amount", Amount),
    sa.Column("currency", sa.String(3)),
    sa.Column("direction", sa.String(8)),
    sa.Column("reason_code", sa.String(100)),
    sa.Column("status", sa.String(64)),
    sa.Column("refs", JSONValue, nullable=False),
    sa.Column("attributes", JSONValue, nullable=False),
    sa.Column("raw", sa.Text, nullable=False),
    sa.Column("run_id", Id),
    sa.UniqueConstraint("source", "external_id"),
)

entity_links = sa.Table(
    "entity_links",
    metadata,
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("event_id", Id, primary_key=True),
    sa.Column("occurred_at", UTCDateTime, nullable=False),
    sqlite_with_rowid=False,
)

detector_windows = sa.Table(
    "detector_windows",
    metadata,
    sa.Column("detector", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(600), primary_key=True),
    sa.Column("event_id", Id, primary_key=True),
    sa.Column("occurred_at", UTCDateTime, nullable=False),
    sa.Column("ref", sa.String(255), nullable=False),
    sqlite_with_rowid=False,
)

cases = sa.Table(
    "cases",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("category", sa.String(32), nullable=False),
    sa.Column("entity_kind", sa.String(32), nullable=False),
    sa.Column("entity_key", sa.String(255), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("tier", sa.String(20), nullable=False),
    sa.Column("owner_team", sa.String(64), nullable=False),
    sa.Column("queue", sa.String(80), nullable=False),
    sa.Column("breakpoint", sa.String(16), nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("opened_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("first_seen_at", UTCDateTime, nullable=False),
    sa.Column("last_seen_at", UTCDateTime, nullable=False),
    sa.Column("sla_goal_at", UTCDateTime, nullable=False),
    sa.Column("sla_due_at", UTCDateTime, nullable=False),
    sa.Column("closed_at", UTCDateTime),
    sa.Column("resolved_at", UTCDateTime),
    sa.Column("outcome", sa.String(32)),
    sa.Column("pauses_automation", sa.Boolean, nullable=False),
    sa.Column("finding_count", sa.Integer, nullable=False),
    sa.Column("amount", Amount),
    sa.Column("currency", sa.String(3)),
    sa.Column("exposures", JSONValue, nullable=False),
    sa.Column("open_key", sa.String(400), unique=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("snoozed_until", UTCDateTime),
    sa.Column("accepted_until", UTCDateTime),
    sa.Column("accepted_fingerprint", sa.String(200)),
    sa.Column("triaged_at", UTCDateTime),
    sa.Column("in_progress_at", UTCDateTime),
    sa.Column("waiting_at", UTCDateTime),
    sa.Column("waiting_on", sa.String(16)),
    sa.Column("escalated_at", UTCDateTime),
    sa.Column("escalation_level", sa.Integer, nullable=False, server_default="0"),
    sa.Column("sla_breached_at", UTCDateTime),
    sa.Column("reopen_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("decision", JSONValue),
    sa.Column("assignee", sa.String(100)),
    sa.Column("counterparty", sa.String(300)),
    sa.Column("duplicate_of", Id),
    sa.Column("duplicate_score", sa.Float),
    sa.Column("recovered_amount", Amount),
    sa.Column("written_off_amount", Amount),
    sa.Column("lost_amount", Amount),
    sa.Column("handling_cost", Amount),
    sa.Column("pending_resolution", JSONValue),
    sa.Index(None, "status", "owner_team"),
    sa.Index(None, "type", "status"),
    sa.Index(None, "owner_team", "assignee", "status"),
    sa.Index(None, "counterparty", "opened_at"),
    # The queue pages: open cases only, so a queue's pages and counts read the index alone
    # however many resolved cases the table holds (migration 0012).
    sa.Index(
        "ix_cases_open_queue",
        "queue",
        "opened_at",
        "id",
        "sla_due_at",
        sqlite_where=sa.text(OPEN_CASES),
        postgresql_where=sa.text(OPEN_CASES),
    ),
    sa.Index("ix_cases_queue_status_opened_at", "queue", "status", "opened_at", "id"),
)

findings = sa.Table(
    "findings",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("entity_kind", sa.String(32), nullable=False),
    sa.Column("entity_key", sa.String(255), nullable=False),
    sa.Column("occurred_at", UTCDateTime, nullable=False),
    sa.Column("detected_at", UTCDateTime, nullable=False),
    sa.Column("trigger_event_id", Id, sa.ForeignKey("events.id"), nullable=False),
    sa.Column("evidence", JSONValue, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("tier", sa.String(20), nullable=False),
    sa.Column("breakpoint", sa.String(16), nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("amount", Amount),
    sa.Column("currency", sa.String(3)),
    sa.Column("exposure_key", sa.String(300)),
    sa.Column("reason_code", sa.String(100)),
    sa.Column("detail", JSONValue, nullable=False),
    sa.Column("case_id", Id, sa.ForeignKey("cases.id"), nullable=False),
    sa.Index(None, "case_id"),
)

case_timeline = sa.Table(
    "case_timeline",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("case_id", Id, sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("finding_id", Id),
    sa.Column("data", JSONValue, nullable=False),
    sa.Index(None, "case_id", "at"),
)

timers = sa.Table(
    "timers",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("case_id", Id, sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("due_at", UTCDateTime, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("fired_at", UTCDateTime),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.UniqueConstraint("case_id", "kind"),
    sa.Index(None, "status", "due_at"),
)

expectations = sa.Table(
    "expectations",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("rule", sa.String(64), nullable=False),
    sa.Column("entity_kind", sa.String(32), nullable=False),
    sa.Column("entity_key", sa.String(255), nullable=False),
    sa.Column("anchors", JSONValue, nullable=False),
    sa.Column("opened_by", Id, nullable=False),
    sa.Column("opened_at", UTCDateTime, nullable=False),
    sa.Column("due_at", UTCDateTime, nullable=False),
    sa.Column("expected", sa.Text, nullable=False),
    sa.Column("amount", Amount),
    sa.Column("currency", sa.String(3)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("settled_at", UTCDateTime),
    sa.Column("settled_by", Id),
    sa.Index(None, "status", "due_at"),
    sa.Index(None, "rule", "entity_kind", "entity_key"),
)

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("run_id", Id),
    sa.Column("format", sa.String(40), nullable=False),
    sa.Column("label", sa.String(500)),
    sa.Column("line", sa.Integer),
    sa.Column("field", sa.String(200)),
    sa.Column("code", sa.String(32), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("raw", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("seen_count", sa.Integer, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("first_seen_at", UTCDateTime, nullable=False),
    sa.Column("last_seen_at", UTCDateTime, nullable=False),
    sa.Column("resolved_at", UTCDateTime),
    sa.Column("event_id", Id),
    sa.Index(None, "status", "first_seen_at"),
)

file_flags = sa.Table(
    "file_flags",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("run_id", Id),
    sa.Column("label", sa.String(500)),
    sa.Column("line", sa.Integer),
    sa.Column("field", sa.String(200)),
    sa.Column("code", sa.String(32), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("seen_count", sa.Integer, nullable=False),
    sa.Column("first_seen_at", UTCDateTime, nullable=False),
    sa.Column("last_seen_at", UTCDateTime, nullable=False),
)

sync_cursors = sa.Table(
    "sync_cursors",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("cursor", sa.Text, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("subject_type", sa.String(32), nullable=False),
    sa.Column("subject_id", sa.String(64), nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False, unique=True),
    sa.Index(None, "subject_type", "subject_id"),
)

audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)


# -- recovery (migration 0006) -------------------------------------------------------------

recovery = sa.Table(
    "recovery",
    metadata,
    sa.Column("case_id", Id, sa.ForeignKey("cases.id"), primary_key=True),
    sa.Column("ladder", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("next_at", UTCDateTime),
    sa.Column("state", JSONValue, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index(None, "status", "next_at"),
)
"""One ladder climb per case: its state (steps, attempts, history) and when it is next due."""

recovery_attempts = sa.Table(
    "recovery_attempts",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("case_id", Id, sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("step_index", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("amount", Amount),
    sa.Column("currency", sa.String(3)),
    sa.Column("data", JSONValue, nullable=False),
    sa.Index(None, "case_id", "at"),
)
"""Every action a ladder ran (a retry, a message, a request), keyed by its idempotency key."""

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("case_id", Id, sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("channel", sa.String(40), nullable=False),
    sa.Column("recipient", sa.String(300), nullable=False),
    sa.Column("template", sa.String(64), nullable=False),
    sa.Column("language", sa.String(16), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Index(None, "case_id", "at"),
    sa.Index(None, "recipient", "at"),
)
"""Every customer message with its delivery status."""

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("case_id", Id, sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("target", sa.String(40), nullable=False),
    sa.Column("operation", sa.String(64), nullable=False),
    sa.Column("payload", JSONValue, nullable=False),
    sa.Column("idempotency_key", sa.String(255), nullable=False, unique=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_at", UTCDateTime),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("confirmed_at", UTCDateTime),
    sa.Column("last_http_status", sa.Integer),
    sa.Column("last_detail", sa.Text),
    sa.Column("on_confirm", JSONValue),
    sa.Index(None, "status", "next_at"),
    sa.Index(None, "case_id"),
)
"""Writebacks to systems of record, written in the case's transaction and sent after commit."""

journal_entries = sa.Table(
    "journal_entries",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("case_id", Id, sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("reverses", Id),
    sa.Column("lines", JSONValue, nullable=False),
    sa.Index(None, "case_id"),
    sa.Index(None, "at"),
)
"""Double-entry postings; each entry balances per currency (checked when it is built)."""

selfservice_grants = sa.Table(
    "selfservice_grants",
    metadata,
    sa.Column("nonce", sa.String(64), primary_key=True),
    sa.Column("case_id", Id, sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("actions", JSONValue, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("used_at", UTCDateTime),
    sa.Column("used_action", sa.String(40)),
    sa.Column("failed_attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Index(None, "case_id"),
)
"""Self-service links issued (never the token or the code): single use by nonce."""


# -- reconciliation (migration 0007) ----------------------------------------------------------

reconcile_runs = sa.Table(
    "reconcile_runs",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("rules_version", sa.Integer, nullable=False),
    sa.Column("rules_hash", sa.String(64), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("stats", JSONValue, nullable=False),
)
"""One reconciliation run: its rules and its counts."""

reconcile_matches = sa.Table(
    "reconcile_matches",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("match_id", Id, nullable=False),
    sa.Column("run_id", Id, nullable=False),
    sa.Column("left_id", Id, nullable=False),
    sa.Column("right_id", Id, nullable=False),
    sa.Column("rule", sa.String(64), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("group_size", sa.Integer, nullable=False),
    sa.Column("amount_diff", Amount, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("decided_by", sa.String(100)),
    sa.Column("decided_at", UTCDateTime),
    sa.Column("justification", sa.Text),
    sa.Index(None, "match_id"),
    sa.Index(None, "left_id", "status"),
    sa.Index(None, "right_id", "status"),
    sa.Index(None, "status"),
)
"""One row per (left item, right item) of a match; a many-to-one group shares its match id.
Items (event ids) in an ``auto``, ``confirmed`` or ``forced`` row are reconciled."""

reconcile_breaks = sa.Table(
    "reconcile_breaks",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("item_id", Id, nullable=False),
    sa.Column("side", sa.String(8), nullable=False),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("field", sa.String(32)),
    sa.Column("expected", sa.Text),
    sa.Column("actual", sa.Text),
    sa.Column("candidate_id", Id),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("first_seen_at", UTCDateTime, nullable=False),
    sa.Column("last_seen_at", UTCDateTime, nullable=False),
    sa.Column("run_id", Id, nullable=False),
    sa.Index(None, "status", "reason"),
    sa.Index(None, "item_id"),
)
"""A record that did not reconcile, with the field that broke; open until a run matches it."""

# Areas that keep their tables in their own module, on this metadata.
from recoup.adapters.store import tables_api, tables_assist, tables_identity, tables_notify  # noqa: E402, F401
