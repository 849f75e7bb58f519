"""Shared fixtures: the store on SQLite and on the machine's PostgreSQL.

Storage tests take the ``store_url`` fixture, which runs each of them twice: on a fresh SQLite
file and on a scratch PostgreSQL database created for the session and dropped afterwards. When
no PostgreSQL is reachable the PostgreSQL half is skipped locally with a clear message, and
fails under ``CI=true``, where it is required.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from recoup.adapters.clock import FixedClock
from recoup.adapters.store import migrate
from recoup.adapters.store import tables as t
from recoup.adapters.store.engine import create_engine
from recoup.bootstrap import App, bootstrap
from recoup.domain.audit import GENESIS
from recoup.settings import DatabaseSettings, Settings

PG_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
T0 = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clean_recoup_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's own RECOUP_ settings."""
    for key in list(os.environ):
        if key.upper().startswith("RECOUP_"):
            monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is faster)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = create_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()  # the last connection to close checkpoints the WAL into the file
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    name = f"recoup_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        message = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc.orig}"
        if IN_CI:
            pytest.fail(f"{message} (required when CI=true)")
        pytest.skip(message)
    url = sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(False)
    engine = create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    names = ", ".join(table.name for table in t.metadata.sorted_tables if table is not t.audit_head)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER USER")
        conn.exec_driver_sql(f"TRUNCATE {names}")
        conn.exec_driver_sql("ALTER TABLE audit_log ENABLE TRIGGER USER")
        conn.execute(t.audit_head.update().values(seq=0, hash=GENESIS))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "recoup.db"
        shutil.copyfile(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database")
    _reset_postgres(url)
    return url


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def app(store_url: str, clock: FixedClock) -> Iterator[App]:
    settings = Settings(database=DatabaseSettings(url=store_url, auto_upgrade=False))
    application = bootstrap(settings, clock=clock)
    application.ensure_schema()
    yield application
    application.close()
