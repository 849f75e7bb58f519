"""The migrations produce exactly the models' schema, and the audit log refuses edits."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from recoup.adapters.store import migrate
from recoup.adapters.store.tables import metadata
from recoup.bootstrap import App


def test_migrated_schema_equals_the_models(app: App) -> None:
    with app.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == []
    assert migrate.current_revision(app.engine) == migrate.head_revision()


def test_upgrade_is_a_no_op_when_current(app: App) -> None:
    before, after = migrate.upgrade(app.engine)
    assert before == after == migrate.head_revision()


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"])
def test_audit_log_refuses_update_and_delete(app: App, statement: str) -> None:
    from recoup.domain.audit import AuditEntry

    with app.uow() as tx:
        tx.append_audit([AuditEntry(app.clock.now(), "test", "probe", "test", "1", {})])
        tx.commit()
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), app.engine.begin() as conn:
        conn.exec_driver_sql(statement)
    with app.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT actor FROM audit_log").scalars().all() == ["test"]


def test_upgrading_a_0001_store_keeps_its_cases(store_url: str) -> None:
    """A store made by the first release upgrades in place: cases survive with the noise-control
    columns empty, and the expectations table appears."""
    from recoup.adapters.store.engine import create_engine

    engine = create_engine(store_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
            for table in reversed(metadata.sorted_tables):
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table.name}")
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql("DROP FUNCTION IF EXISTS recoup_audit_append_only()")
        assert migrate.upgrade(engine, "0001") == (None, "0001")
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO cases (id, type, category, entity_kind, entity_key, status, tier, "
                "owner_team, queue, breakpoint, kind, title, opened_at, updated_at, "
                "first_seen_at, last_seen_at, sla_goal_at, sla_due_at, pauses_automation, "
                "finding_count, exposures, version) VALUES ('00000000000000000000000000000001', "
                "'payment_failed', 'payments', 'payment', 'pi_1', 'new', 'guided', "
                "'payments_ops', 'payments_ops.system', 'transaction', 'system', 't', "
                "'2026-10-01 00:00:00', '2026-10-01 00:00:00', '2026-10-01 00:00:00', "
                "'2026-10-01 00:00:00', '2026-10-01 00:00:00', '2026-10-01 00:00:00', "
                "false, 1, '{}', 1)"
            )
        assert migrate.upgrade(engine) == ("0001", migrate.head_revision())
        with engine.connect() as conn:
            row = conn.exec_driver_sql(
                "SELECT entity_key, snoozed_until, accepted_until FROM cases"
            ).one()
            assert tuple(row) == ("pi_1", None, None)
            assert conn.exec_driver_sql("SELECT count(*) FROM expectations").scalar_one() == 0
    finally:
        engine.dispose()
