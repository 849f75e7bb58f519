"""Reconciliation runs, matches and breaks, mixed into the unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import msgspec
import sqlalchemy as sa

from recoup.adapters.store import tables as t
from recoup.adapters.store.bulk import Bulk
from recoup.domain.ids import dashed, derived_id
from recoup.domain.ingestion.event import Event
from recoup.domain.reconcile.items import (
    ITEM_ATTRIBUTES,
    ITEM_REFS,
    LEFT_TYPES,
    MATCHED,
    RIGHT_TYPES,
    BreakRow,
    ItemColumns,
    MatchRow,
    item_columns,
)

_MATCH_COLUMNS = ("id", "match_id", "run_id", "left_id", "right_id", "rule", "score", "status",
                  "group_size", "amount_diff", "created_at")  # fmt: skip
_BREAK_COLUMNS = ("id", "item_id", "side", "reason", "field", "expected", "actual",
                  "candidate_id", "status", "first_seen_at", "last_seen_at", "run_id")  # fmt: skip


def match_row_id(row: MatchRow) -> str:
    return derived_id("reconcile.pair", row.match_id, row.left_id, row.right_id)


def break_id(row: BreakRow) -> str:
    return derived_id("reconcile.break", row.item_id, row.reason)


class ReconcileMixin:
    conn: sa.Connection
    dialect: str
    _chunked: Callable[[Sequence[Any]], Iterator[Sequence[Any]]]
    _one_of: Callable[[Any, Sequence[Any]], Any]
    _events_by_id: Callable[[Sequence[str]], list[Event]]

    def reconcile_open_items(self) -> tuple[ItemColumns, ItemColumns]:
        """The expected items and bank lines not in a match that reconciles them, as columns.
        Only the item's fields are read and no event is built (PostgreSQL picks them out of the
        JSON; SQLite's rows are decoded once each), so a million rows a side take seconds."""
        e, m = t.events.c, t.reconcile_matches.c
        taken = (
            sa.select(m.left_id)
            .where(m.status.in_(MATCHED))
            .union(sa.select(m.right_id).where(m.status.in_(MATCHED)))
        )
        where = (e.type.in_(sorted({*LEFT_TYPES, *RIGHT_TYPES})), e.id.not_in(taken))
        if self.dialect != "postgresql":
            return item_columns(self._sqlite_item_rows(where))
        day = sa.cast(sa.func.timezone("UTC", e.occurred_at), sa.Date)
        refs = [e.refs[name].as_string() for name in ITEM_REFS]
        texts = [
            sa.case((sa.func.jsonb_typeof(e.attributes[name]) == "string",
                     e.attributes[name].as_string()))
            for name in ITEM_ATTRIBUTES
        ]  # fmt: skip
        query = sa.select(e.id, e.type, e.amount, e.currency, e.direction, day, *refs, *texts)
        return item_columns(self.conn.execute(query.where(*where)))

    def _sqlite_item_rows(self, where: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
        """Item rows from SQLite: the stored text as it is, refs and attributes decoded once a
        row (one JSON parse each, not one per field as ``json_extract`` would)."""
        e = t.events.c
        raw = [sa.type_coerce(c, sa.String) for c in (e.id, e.amount, e.refs, e.attributes)]
        query = sa.select(raw[0], e.type, raw[1], e.currency, e.direction,
                          sa.func.substr(e.occurred_at, 1, 10), raw[2], raw[3])  # fmt: skip
        decode = msgspec.json.Decoder().decode
        for hexid, type_, amount, currency, direction, day, refs, attributes in self.conn.execute(
            query.where(*where)
        ):
            ref, attr = decode(refs), decode(attributes)
            yield (
                dashed(hexid),
                type_, None if amount is None else Decimal(amount), currency, direction,
                date.fromisoformat(day), *map(ref.get, ITEM_REFS),
                *(v if isinstance(v := attr.get(n), str) else None for n in ITEM_ATTRIBUTES),
            )  # fmt: skip

    def reconcile_events(self, ids: Iterable[str]) -> list[Event]:
        """The stored events of these ids (those a run's findings and settlements cite)."""
        return self._events_by_id(sorted(set(ids)))

    def open_case_keys(self, types: Iterable[str]) -> set[str]:
        """The open keys of the open cases of these types."""
        c = t.cases.c
        query = sa.select(c.open_key).where(c.type.in_(sorted(set(types))), c.open_key.is_not(None))
        return {str(key) for key in self.conn.execute(query).scalars()}

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
        """Store the pairs not stored yet (a pair already decided keeps its decision): one bulk
        insert that the primary key makes idempotent. Returns how many pairs are new."""
        if not rows:
            return 0
        b = Bulk(self.conn)
        run, created = b.uid(run_id), b.dt(at)
        values = {
            match_row_id(r): (
                b.uid(r.match_id), run, b.uid(r.left_id), b.uid(r.right_id), r.rule,
                float(r.score), r.status, int(r.group_size), b.dec(r.amount_diff), created,
            )
            for r in rows
        }  # fmt: skip
        return b.insert(
            t.reconcile_matches,
            _MATCH_COLUMNS,
            [(b.uid(i), *v) for i, v in sorted(values.items())],
            on_conflict="(id) DO NOTHING",
        )

    def record_breaks(self, run_id: str, rows: Sequence[BreakRow], at: datetime) -> int:
        """Open or refresh this run's breaks; close the open ones whose item matched since.
        Returns how many breaks are new."""
        b = t.reconcile_breaks.c
        bulk = Bulk(self.conn)
        current = {break_id(r): r for r in rows}
        still_open = {str(i) for i in self.conn.execute(
            sa.select(b.id).where(b.status == "open")).scalars()}  # fmt: skip
        run, seen_at = bulk.uid(run_id), bulk.dt(at)
        inserted = bulk.insert_returning(
            t.reconcile_breaks,
            _BREAK_COLUMNS,
            [
                (bulk.uid(i), bulk.uid(r.item_id), r.side, r.reason, r.field, r.expected,
                 r.actual, bulk.uid(r.candidate_id), "open", seen_at, seen_at, run)
                for i, r in sorted(current.items())
            ],
            on_conflict="(id) DO NOTHING",
            returning="id",
        )  # fmt: skip
        new = {str(uuid.UUID(str(i))) for i in inserted}
        seen_again = sorted(i for i in current if i not in new)
        for chunk in self._chunked(seen_again):
            self.conn.execute(
                t.reconcile_breaks.update()
                .where(self._one_of(b.id, chunk))
                .values(status="open", last_seen_at=at, run_id=run_id)
            )
        gone = sorted(still_open - set(current))
        for chunk in self._chunked(gone):
            self.conn.execute(
                t.reconcile_breaks.update()
                .where(self._one_of(b.id, chunk))
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
