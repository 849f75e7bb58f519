"""Reconciliation runs, matches and breaks, mixed into the unit of work."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from recoup.adapters.store import tables as t
from recoup.adapters.store.rows import event_from_row
from recoup.domain.ids import derived_id
from recoup.domain.ingestion.event import Event
from recoup.domain.reconcile.items import MATCHED, BreakRow, MatchRow


def match_row_id(row: MatchRow) -> str:
    return derived_id("reconcile.pair", row.match_id, row.left_id, row.right_id)


def break_id(row: BreakRow) -> str:
    return derived_id("reconcile.break", row.item_id, row.reason)


class ReconcileMixin:
    conn: sa.Connection
    dialect: str
    _chunked: Callable[[Sequence[Any]], Iterator[Sequence[Any]]]
    _one_of: Callable[[Any, Sequence[Any]], Any]

    def reconcile_open_events(self, types: Iterable[str]) -> list[Event]:
        """Events of these types not in a match that reconciles them."""
        e, m = t.events.c, t.reconcile_matches.c
        taken = (
            sa.select(m.left_id)
            .where(m.status.in_(MATCHED))
            .union(sa.select(m.right_id).where(m.status.in_(MATCHED)))
        )
        query = (
            sa.select(t.events)
            .where(e.type.in_(sorted(set(types))), e.id.not_in(taken))
            .order_by(e.occurred_at, e.id)
        )
        return [event_from_row(row) for row in self.conn.execute(query)]

    def start_reconcile_run(self, run_id: str, version: int, rules_hash: str,
                            at: datetime) -> None:  # fmt: skip
        self.conn.execute(
            t.reconcile_runs.insert().values(
                id=run_id,
                rules_version=version,
                rules_hash=rules_hash,
                started_at=at,
                status="running",
                stats={},
            )
        )

    def finish_reconcile_run(self, run_id: str, at: datetime, stats: dict[str, Any]) -> None:
        r = t.reconcile_runs.c
        self.conn.execute(
            t.reconcile_runs.update()
            .where(r.id == run_id)
            .values(finished_at=at, status="done", stats=stats)
        )

    def add_reconcile_matches(self, run_id: str, rows: Sequence[MatchRow], at: datetime) -> int:
        """Store the pairs not stored yet (a pair already decided keeps its decision)."""
        if not rows:
            return 0
        m = t.reconcile_matches.c
        ids = {match_row_id(r): r for r in rows}
        seen: set[str] = set()
        wanted = sorted(ids)
        for chunk in self._chunked(wanted):
            query = sa.select(m.id).where(self._one_of(m.id, chunk))
            seen.update(str(i) for i in self.conn.execute(query).scalars())
        fresh = [(i, r) for i, r in ids.items() if i not in seen]
        if fresh:
            self.conn.execute(
                t.reconcile_matches.insert(),
                [
                    {"id": i, "match_id": r.match_id, "run_id": run_id, "left_id": r.left_id,
                     "right_id": r.right_id, "rule": r.rule, "score": r.score,
                     "status": r.status, "group_size": r.group_size,
                     "amount_diff": r.amount_diff, "created_at": at}
                    for i, r in fresh
                ],
            )  # fmt: skip
        return len(fresh)

    def record_breaks(self, run_id: str, rows: Sequence[BreakRow], at: datetime) -> int:
        """Open or refresh this run's breaks; close the open ones whose item matched since.
        Returns how many breaks are new."""
        b = t.reconcile_breaks.c
        current = {break_id(r): r for r in rows}
        wanted = sorted(current)
        present: set[str] = set()
        for chunk in self._chunked(wanted):
            query = sa.select(b.id).where(self._one_of(b.id, chunk))
            present.update(str(i) for i in self.conn.execute(query).scalars())
        still_open = {str(i) for i in self.conn.execute(
            sa.select(b.id).where(b.status == "open")).scalars()}  # fmt: skip
        new = [(i, r) for i, r in current.items() if i not in present]
        if new:
            self.conn.execute(
                t.reconcile_breaks.insert(),
                [
                    {"id": i, "item_id": r.item_id, "side": r.side, "reason": r.reason,
                     "field": r.field, "expected": r.expected, "actual": r.actual,
                     "candidate_id": r.candidate_id, "status": "open", "first_seen_at": at,
                     "last_seen_at": at, "run_id": run_id}
                    for i, r in new
                ],
            )  # fmt: skip
        seen_again = [i for i in current if i in present]
        if seen_again:
            self.conn.execute(
                t.reconcile_breaks.update()
                .where(b.id.in_(seen_again))
                .values(status="open", last_seen_at=at, run_id=run_id)
            )
        gone = sorted(still_open - set(current))
        if gone:
            self.conn.execute(
                t.reconcile_breaks.update()
                .where(b.id.in_(gone))
                .values(status="resolved", last_seen_at=at)
            )
        return len(new)

    def reconcile_matches(self, status: str | None, limit: int) -> list[dict[str, Any]]:
        m = t.reconcile_matches.c
        query = sa.select(t.reconcile_matches).order_by(m.created_at, m.match_id, m.id)
        if status:
            query = query.where(m.status == status)
        return [dict(r._mapping) for r in self.conn.execute(query.limit(limit))]

    def match_rows(self, match_id: str) -> list[dict[str, Any]]:
        m = t.reconcile_matches.c
        query = sa.select(t.reconcile_matches).where(m.match_id == match_id)
        return [dict(r._mapping) for r in self.conn.execute(query)]

    def decide_match(self, match_id: str, status: str, actor: str, at: datetime,
                     justification: str) -> int:  # fmt: skip
        m = t.reconcile_matches.c
        result = self.conn.execute(
            t.reconcile_matches.update()
            .where(m.match_id == match_id, m.status == "suggested")
            .values(status=status, decided_by=actor, decided_at=at, justification=justification)
        )
        return int(result.rowcount or 0)

    def reconciled_ids(self, ids: Iterable[str]) -> set[str]:
        """Those of ``ids`` (event ids) already in a match that reconciles them."""
        m = t.reconcile_matches.c
        wanted = sorted(set(ids))
        if not wanted:
            return set()
        query = sa.select(m.left_id, m.right_id).where(
            m.status.in_(MATCHED), sa.or_(m.left_id.in_(wanted), m.right_id.in_(wanted))
        )
        found: set[str] = set()
        for left, right in self.conn.execute(query):
            found.update((str(left), str(right)))
        return found & set(wanted)

    def reconcile_counts(self) -> dict[str, Any]:
        """Match pairs by status, open breaks by reason, and the last run."""
        m, b, r = t.reconcile_matches.c, t.reconcile_breaks.c, t.reconcile_runs.c
        pairs = dict(
            (status, count) for status, count in self.conn.execute(
                sa.select(m.status, sa.func.count()).group_by(m.status))
        )  # fmt: skip
        breaks = dict(
            (reason, count) for reason, count in self.conn.execute(
                sa.select(b.reason, sa.func.count()).where(b.status == "open")
                .group_by(b.reason))
        )  # fmt: skip
        last = self.conn.execute(
            sa.select(t.reconcile_runs).order_by(r.started_at.desc()).limit(1)
        ).first()
        return {"pairs": pairs, "breaks": breaks,
                "last_run": None if last is None else dict(last._mapping)}  # fmt: skip

    def open_breaks(self, limit: int) -> list[dict[str, Any]]:
        b = t.reconcile_breaks.c
        query = (
            sa.select(t.reconcile_breaks)
            .where(b.status == "open")
            .order_by(b.first_seen_at, b.id)
            .limit(limit)
        )
        return [dict(row._mapping) for row in self.conn.execute(query)]
