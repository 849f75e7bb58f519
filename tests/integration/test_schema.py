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
