"""The hot write path: bulk inserts straight through the driver.

SQLAlchemy's per-parameter processing costs more than the database itself when a batch writes
tens of thousands of rows, so the ingest path encodes values once, here, into exactly what the
column types would store (the round-trip is tested against reading them back through the
tables), and hands whole batches to the database in few statements:

- SQLite: multi-row ``VALUES`` pages (the driver binds parameters in C);
- PostgreSQL: one array per column, ``INSERT ... SELECT * FROM unnest(...)``: the query text stays
  small (the driver scans query text for placeholders in Python, which dominates with tens of
  thousands of them) and the server gets one statement per batch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from itertools import chain
from typing import Any

import msgspec
import sqlalchemy as sa

_MAX_PARAMS = 30_000  # SQLite allows 32,766 variables per statement
_PG_ROWS = 10_000


_UTC_TEXT: dict[datetime, str] = {}
_UTC_TEXT_SIZE = 1 << 14  # a few MiB at most; a batch of 5,000 events fits


def utc_text(value: datetime) -> str:
    """A datetime as the SQLite column stores it: UTC, naive, to the microsecond.

    An event's time is written with the event, each of its entity links and its window
    entries, so the texts of UTC datetimes are remembered (a bounded cache: equal UTC datetimes
    are one instant, one text)."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    text = _UTC_TEXT.get(value)
    if text is None:
        if len(_UTC_TEXT) >= _UTC_TEXT_SIZE:
            _UTC_TEXT.clear()
        text = _UTC_TEXT[value] = value.isoformat(" ", "microseconds")[:-6]  # no "+00:00"
    return text


class Bulk:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self.is_sqlite = conn.dialect.name == "sqlite"
        self.mark = "?" if self.is_sqlite else "%s"
        self._json = msgspec.json.Encoder()

    # -- value encoders: what each column type stores on this dialect -----------------------

    def dt(self, value: datetime | None) -> Any:
        if value is None:
            return None
        if self.is_sqlite:
            return utc_text(value)
        return value

    def uid(self, value: str | None) -> Any:
        if value is None or not self.is_sqlite:
            return value
        return value.replace("-", "")

    def dec(self, value: Decimal | None) -> Any:
        if value is None or not self.is_sqlite:
            return value
        return str(value)

    def json(self, value: Any) -> str:
        return self._json.encode(value).decode("utf-8")

    def flag(self, value: bool) -> Any:
        return int(value) if self.is_sqlite else value

    # -- statements -----------------------------------------------------------------------

    def insert(
        self,
        table: sa.Table,
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        *,
        on_conflict: str | None = None,
    ) -> int:
        """Insert ``rows``; ``on_conflict`` is e.g. ``(id) DO NOTHING``. Returns how many rows
        went in (a conflict that does nothing counts none)."""
        return sum(
            self._execute_count(sql, params)
            for sql, params in self._statements(table, columns, rows, on_conflict, None)
        )

    def _execute_count(self, sql: str, params: tuple[Any, ...]) -> int:
        if self.is_sqlite:
            return int(self.conn.exec_driver_sql(sql, params).rowcount)
        cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql, params, binary=True)
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def _execute(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        """Run one statement; on PostgreSQL with binary parameters (text-format arrays are
        escaped element by element in Python, which costs more than the insert)."""
        if self.is_sqlite:
            result = self.conn.exec_driver_sql(sql, params)
            return list(result.scalars()) if result.returns_rows else []
        cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql, params, binary=True)
            return [row[0] for row in cursor.fetchall()] if cursor.description else []
        finally:
            cursor.close()

    def _statements(
        self,
        table: sa.Table,
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        on_conflict: str | None,
        returning: str | None,
    ) -> Iterator[tuple[str, tuple[Any, ...]]]:
        if not rows:
            return
        if self.is_sqlite:
            yield from self._pages(table.name, columns, rows, on_conflict, returning)
            return
        types = [table.c[name].type.compile(dialect=self.conn.dialect) for name in columns]
        arrays = ", ".join(f"%b::{type_}[]" for type_ in types)
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM unnest({arrays})"
        sql += (f" ON CONFLICT {on_conflict}" if on_conflict else "") + (
            f" RETURNING {returning}" if returning else ""
        )
        for start in range(0, len(rows), _PG_ROWS):
            page = rows[start : start + _PG_ROWS]
            yield sql, tuple(list(column) for column in zip(*page, strict=True))

    def _pages(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        on_conflict: str | None,
        returning: str | None,
    ) -> Iterator[tuple[str, tuple[Any, ...]]]:
        per_page = max(1, _MAX_PARAMS // len(columns))
        row_marks = "(" + ", ".join([self.mark] * len(columns)) + ")"
        head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        tail = (f" ON CONFLICT {on_conflict}" if on_conflict else "") + (
            f" RETURNING {returning}" if returning else ""
        )
        statements: dict[int, str] = {}
        for start in range(0, len(rows), per_page):
            page = rows[start : start + per_page]
            sql = statements.get(len(page))
            if sql is None:
                sql = statements[len(page)] = head + ", ".join([row_marks] * len(page)) + tail
            yield sql, tuple(chain.from_iterable(page))

    def insert_returning(
        self,
        table: sa.Table,
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        *,
        on_conflict: str,
        returning: str,
    ) -> list[Any]:
        """Insert and return the ``returning`` column of the rows actually inserted."""
        out: list[Any] = []
        for sql, params in self._statements(table, columns, rows, on_conflict, returning):
            out.extend(self._execute(sql, params))
        return out
