"""Initial schema: sources, ingest runs, events, quarantine, file flags, entity links, detector
windows, findings, cases, case timeline, timers, sync cursors, and the hash-chained, append-only
audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import recoup.adapters.store.types as rt
from recoup.domain.audit import GENESIS

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "file_flags",
        sa.Column("id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("run_id", sa.Uuid(as_uuid=False), nullable=True),
        sa.Column("label", sa.String(length=500), nullable=True),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("field", sa.String(length=200), nullable=True),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("seen_count", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", rt.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", rt.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_file_flags")),
    )
    op.create_table(
        "sync_cursors",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=False),
        sa.Column("updated_at", rt.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sync_cursors")),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", rt.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject_type", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_log_hash")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_log_subject_type_subject_id"),
            ["subject_type", "subject_id"],
            unique=False,
        )

    op.create_table(
        "cases",
        sa.Column("id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("entity_kind", sa.String(length=32), nullable=False),
        sa.Column("entity_key", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("owner_team", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=80), nullable=False),
        sa.Column("breakpoint", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("opened_at", rt.UTCDateTime(), nullable=False),
        sa.Column("updated_at", rt.UTCDateTime(), nullable=False),
        sa.Column("first_seen_at", rt.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", rt.UTCDateTime(), nullable=False),
        sa.Column("sla_goal_at", rt.UTCDateTime(), nullable=False),
        sa.Column("sla_due_at", rt.UTCDateTime(), nullable=False),
        sa.Column("closed_at", rt.UTCDateTime(), nullable=True),
        sa.Column("resolved_at", rt.UTCDateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("pauses_automation", sa.Boolean(), nullable=False),
        sa.Column("finding_count", sa.Integer(), nullable=False),
        sa.Column("amount", rt.Amount(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("exposures", rt.JSONValue, nullable=False),
        sa.Column("open_key", sa.String(length=400), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("open_key", name=op.f("uq_cases_open_key")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cases_status_owner_team"), ["status", "owner_team"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_cases_type_status"), ["type", "status"], unique=False)

    op.create_table(
        "ingest_runs",
        sa.Column("id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("label", sa.String(length=500), nullable=False),
        sa.Column("format", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", rt.UTCDateTime(), nullable=False),
        sa.Column("finished_at", rt.UTCDateTime(), nullable=True),
        sa.Column("lines_read", sa.Integer(), server_default="0", nullable=False),
        sa.Column("accepted", sa.Integer(), server_default="0", nullable=False),
        sa.Column("duplicates", sa.Integer(), server_default="0", nullable=False),
        sa.Column("quarantined", sa.Integer(), server_default="0", nullable=False),
        sa.Column("flags", sa.Integer(), server_default="0", nullable=False),
        sa.Column("findings", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cases_opened", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cases_attached", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cases_resolved", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_runs")),
    )
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("run_id", sa.Uuid(as_uuid=False), nullable=True),
        sa.Column("format", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=500), nullable=True),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("field", sa.String(length=200), nullable=True),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("seen_count", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("first_seen_at", rt.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", rt.UTCDateTime(), nullable=False),
        sa.Column("resolved_at", rt.UTCDateTime(), nullable=True),
        sa.Column("event_id", sa.Uuid(as_uuid=False), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
    )
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quarantine_status_first_seen_at"),
            ["status", "first_seen_at"],
            unique=False,
        )

    op.create_table(
        "sources",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("first_seen_at", rt.UTCDateTime(), nullable=False),
        sa.Column("last_event_at", rt.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sources")),
    )
    op.create_table(
        "case_timeline",
        sa.Column("id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("case_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("at", rt.UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("finding_id", sa.Uuid(as_uuid=False), nullable=True),
        sa.Column("data", rt.JSONValue, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_timeline_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_timeline")),
    )
    with op.batch_alter_table("case_timeline", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_timeline_case_id_at"), ["case_id", "at"], unique=False
        )

    op.create_table(
        "events",
        sa.Column("id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", rt.UTCDateTime(), nullable=False),
        sa.Column("received_at", rt.UTCDateTime(), nullable=False),
        sa.Column("amount", rt.Amount(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("direction", sa.String(length=8), nullable=True),
        sa.Column("reason_code", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=64), nullable=True),
        sa.Column("refs", rt.JSONValue, nullable=False),
        sa.Column("attributes", rt.JSONValue, nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Uuid(as_uuid=False), nullable=True),
        sa.ForeignKeyConstraint(
            ["source"], ["sources.name"], name=op.f("fk_events_source_sources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("source", "external_id", name=op.f("uq_events_source_external_id")),
    )
    op.create_table(
        "timers",
        sa.Column("id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("case_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("due_at", rt.UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("fired_at", rt.UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_timers_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timers")),
        sa.UniqueConstraint("case_id", "kind", name=op.f("uq_timers_case_id_kind")),
    )
    with op.batch_alter_table("timers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_timers_status_due_at"), ["status", "due_at"], unique=False
        )

    op.create_table(
        "detector_windows",
        sa.Column("detector", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=600), nullable=False),
        sa.Column("event_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("occurred_at", rt.UTCDateTime(), nullable=False),
        sa.Column("ref", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("detector", "key", "event_id", name=op.f("pk_detector_windows")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "entity_links",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("event_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("occurred_at", rt.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key", "event_id", name=op.f("pk_entity_links")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "findings",
        sa.Column("id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("entity_kind", sa.String(length=32), nullable=False),
        sa.Column("entity_key", sa.String(length=255), nullable=False),
        sa.Column("occurred_at", rt.UTCDateTime(), nullable=False),
        sa.Column("detected_at", rt.UTCDateTime(), nullable=False),
        sa.Column("trigger_event_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("evidence", rt.JSONValue, nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("breakpoint", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("amount", rt.Amount(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("exposure_key", sa.String(length=300), nullable=True),
        sa.Column("reason_code", sa.String(length=100), nullable=True),
        sa.Column("detail", rt.JSONValue, nullable=False),
        sa.Column("case_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_findings_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["trigger_event_id"], ["events.id"], name=op.f("fk_findings_trigger_event_id_events")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_findings")),
    )
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_findings_case_id"), ["case_id"], unique=False)
    op.execute(
        sa.text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :genesis)").bindparams(
            genesis=GENESIS
        )
    )
    _append_only_audit()


def _append_only_audit() -> None:
    """Refuse UPDATE and DELETE on the audit log at the database level."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION recoup_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION recoup_audit_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION recoup_audit_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS recoup_audit_append_only()")
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_findings_case_id"))

    op.drop_table("findings")
    op.drop_table("entity_links")
    op.drop_table("detector_windows")
    with op.batch_alter_table("timers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_timers_status_due_at"))

    op.drop_table("timers")
    op.drop_table("events")
    with op.batch_alter_table("case_timeline", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_timeline_case_id_at"))

    op.drop_table("case_timeline")
    op.drop_table("sources")
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantine_status_first_seen_at"))

    op.drop_table("quarantine")
    op.drop_table("ingest_runs")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_type_status"))
        batch_op.drop_index(batch_op.f("ix_cases_status_owner_team"))

    op.drop_table("cases")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_subject_type_subject_id"))

    op.drop_table("audit_log")
    op.drop_table("audit_head")
    op.drop_table("file_flags")
    op.drop_table("sync_cursors")
