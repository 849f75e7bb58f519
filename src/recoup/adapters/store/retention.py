"""Raw payloads past their retention period, mixed into the unit of work."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from recoup.adapters.store import tables as t
from recoup.domain.privacy import RETENTION_MARK

_NOT_REDACTED = f'%"{RETENTION_MARK}": true%'


class RetentionMixin:
    conn: sa.Connection

    def raw_past_retention(self, table: str, cutoff: datetime, limit: int) -> list[tuple[str, str]]:
        """Up to ``limit`` (id, raw) pairs of events received, or quarantined records resolved,
        before ``cutoff`` whose raw payload is still whole. Quarantined records still waiting for
        a fix keep theirs: they are the only copy and may be replayed."""
        c, where = _past(table, cutoff)
        query = sa.select(c.id, c.raw).where(where).order_by(c.id).limit(limit)
        return [(row.id, row.raw) for row in self.conn.execute(query)]

    def count_past_retention(self, table: str, cutoff: datetime) -> int:
        _, where = _past(table, cutoff)
        return int(self.conn.execute(sa.select(sa.func.count()).where(where)).scalar_one())

    def replace_raw(self, table: str, rows: list[tuple[str, str]]) -> None:
        target = t.events if table == "events" else t.quarantine
        if rows:
            self.conn.execute(
                target.update()
                .where(target.c.id == sa.bindparam("b_id"))
                .values(raw=sa.bindparam("b_raw")),
                [{"b_id": id_, "b_raw": raw} for id_, raw in rows],
            )


def _past(
    table: str, cutoff: datetime
) -> tuple[sa.ColumnCollection[str, sa.ColumnElement[object]], sa.ColumnElement[bool]]:
    if table == "events":
        c = t.events.c
        where = c.received_at < cutoff
    else:
        c = t.quarantine.c
        where = sa.and_(c.resolved_at.is_not(None), c.resolved_at < cutoff)
    return c, sa.and_(where, sa.not_(c.raw.like(_NOT_REDACTED)))
