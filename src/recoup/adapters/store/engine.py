"""Engines for SQLite (WAL, immediate write transactions) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url


def _json_dumps(value: Any) -> str:
    return msgspec.json.encode(value).decode("utf-8")


def normalise_url(url: str) -> str:
    """Pick our drivers: ``postgresql://`` means psycopg 3, not psycopg2."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def create_engine(url: str, *, echo: bool = False, sqlite_synchronous: str = "FULL") -> sa.Engine:
    url = normalise_url(url)
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        engine = sa.create_engine(
            url, echo=echo, json_serializer=_json_dumps, connect_args={"timeout": 30}
        )
        _configure_sqlite(engine, sqlite_synchronous)
        return engine
    if backend == "postgresql":
        return sa.create_engine(
            url,
            echo=echo,
            json_serializer=_json_dumps,
            pool_pre_ping=True,
            insertmanyvalues_page_size=2000,
        )
    raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")


def _configure_sqlite(engine: sa.Engine, synchronous: str) -> None:
    """WAL for concurrent readers; BEGIN IMMEDIATE so two writers queue instead of deadlocking
    on a read-to-write upgrade; foreign keys on."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # A 64 MiB page cache keeps the index pages of a batch's random keys in memory.
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.execute("PRAGMA temp_store=MEMORY")
        # Checkpoint every 64 MiB of WAL rather than every 4 MiB: a batch writes several MiB.
        cursor.execute("PRAGMA wal_autocheckpoint=16384")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        readonly = connection.get_execution_options().get("recoup_readonly", False)
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")
