"""A scratch store for a benchmark run: a SQLite file in a temporary folder, or a PostgreSQL
database created for the run and dropped after it (``TEST_POSTGRES_ADMIN_URL`` names the
server, as for the test suite)."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

PG_ADMIN = os.environ.get(
    "TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def scratch_store(backend: str, folder: Path | None = None) -> Iterator[str]:
    """Yield a database URL for ``backend`` ("sqlite" or "postgresql"); clean up after."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(dir=folder or Path(__file__).parent) as tmp:
            yield f"sqlite:///{tmp}/bench-{uuid.uuid4().hex[:8]}.db"
        return
    name = f"recoup_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.engine.make_url(PG_ADMIN).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
