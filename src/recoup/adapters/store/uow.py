"""The SQL unit of work: one connection, one transaction, every repository method inside it."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from recoup.adapters.store import tables as t
from recoup.adapters.store.api_queries import ApiQueriesMixin
from recoup.adapters.store.assist import AssistMixin
from recoup.adapters.store.bulk import Bulk
from recoup.adapters.store.identity import IdentityMixin
from recoup.adapters.store.metrics import MetricsMixin
from recoup.adapters.store.notify import NotifyMixin
from recoup.adapters.store.outbox import OutboxMixin
from recoup.adapters.store.queries import OPEN_STATUSES, CaseQueriesMixin, id_prefix_filter
from recoup.adapters.store.reconcile import ReconcileMixin
from recoup.adapters.store.recovery import RecoveryMixin
from recoup.adapters.store.retention import RetentionMixin
from recoup.adapters.store.rows import (
    CASE_COLUMNS,
    EVENT_COLUMNS,
    EXPECTATION_COLUMNS,
    FINDING_COLUMNS,
    TIMELINE_COLUMNS,
    TIMER_COLUMNS,
    audit_from_row,
    audit_row,
    case_from_row,
    case_row,
    case_values,
    event_from_row,
    event_rows,
    expectation_from_row,
    finding_values,
    timeline_values,
    timer_values,
)
from recoup.domain.audit import AuditEntry, AuditRecord, seal
from recoup.domain.cases.case import Case, CaseStatus
from recoup.domain.cases.casing import CasePlan
from recoup.domain.cases.teams import Loads
from recoup.domain.detection.detectors import WindowEntry, WindowRequest
from recoup.domain.detection.expectations import (
    Expectation,
    ExpectationStatus,
    Meet,
    expectation_id,
)
from recoup.domain.detection.findings import Finding
from recoup.domain.detection.timeline import DEFAULT_TIMELINE_LIMIT, EntityKey, link_keys
from recoup.domain.errors import ConflictError, LostRaceError, NotFoundError
from recoup.domain.ids import derived_id
from recoup.domain.ingestion.canonical import Rejection
from recoup.domain.ingestion.event import Event
from recoup.domain.ingestion.flags import FileFlag
from recoup.domain.ports import QuarantineItem, RunCounts

CHUNK = 900
PG_CHUNK = 20_000


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _one_of(column: Any, values: Sequence[Any], dialect: str) -> Any:
    """``column IN (values)``. On PostgreSQL it is ``column = ANY(array)``: one parameter
    however many values, so the statement is neither re-parsed nor re-planned per chunk."""
    if dialect != "postgresql":
        return column.in_(values)
    element = sa.Uuid(as_uuid=False) if isinstance(column.type, sa.Uuid) else sa.String()
    array = sa.bindparam(None, list(values), type_=postgresql.ARRAY(sa.String()))
    return column == sa.any_(sa.cast(array, postgresql.ARRAY(element)))


_RACE_SQLSTATES = frozenset({
    "23505",  # unique_violation: another transaction inserted the same key first
    "40001",  # serialization_failure
    "40P01",  # deadlock_detected
})  # fmt: skip


def lost_race(exc: sa.exc.DBAPIError) -> bool:
    """Whether a database error means another transaction got there first, so that running
    the same work again in a new transaction can succeed. Only PostgreSQL has such races:
    SQLite write transactions begin IMMEDIATE and run one at a time, so a unique violation
    there is a bug, not a race, and is left as it is."""
    return getattr(exc.orig, "sqlstate", None) in _RACE_SQLSTATES


def _first_line(exc: sa.exc.DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc).__name__


class SqlUnitOfWork(
    CaseQueriesMixin,
    OutboxMixin,
    RecoveryMixin,
    ReconcileMixin,
    RetentionMixin,
    ApiQueriesMixin,
    IdentityMixin,
    MetricsMixin,
    NotifyMixin,
    AssistMixin,
):
    def __init__(self, engine: sa.Engine, *, readonly: bool = False) -> None:
        self.engine = engine
        self.readonly = readonly
        self.dialect = engine.dialect.name

    def __enter__(self) -> Self:
        self.conn = self.engine.connect()
        if self.readonly:
            self.conn = self.conn.execution_options(recoup_readonly=True)
        self._tx = self.conn.begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._tx.is_active:
                self._tx.rollback()
        finally:
            self.conn.close()
        if isinstance(exc, sa.exc.DBAPIError) and lost_race(exc):
            raise LostRaceError(f"another transaction got there first: {_first_line(exc)}") from exc

    def commit(self) -> None:
        self._tx.commit()

    def _chunked(self, items: Sequence[Any]) -> Iterator[Sequence[Any]]:
        """Value lists for ``_one_of``: small on SQLite (its parameter limit), large on
        PostgreSQL (one array parameter)."""
        return _chunks(items, PG_CHUNK if self.dialect == "postgresql" else CHUNK)

    def _one_of(self, column: Any, values: Sequence[Any]) -> Any:
        return _one_of(column, values, self.dialect)

    # -- helpers ---------------------------------------------------------------------------

    def _insert(self, table: sa.Table) -> Any:
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    # -- runs ------------------------------------------------------------------------------

    def start_run(self, run_id: str, label: str, format_name: str, at: datetime) -> None:
        self.conn.execute(
            t.ingest_runs.insert().values(
                id=run_id, label=label[:500], format=format_name, status="running", started_at=at
            )
        )

    def add_run_counts(self, run_id: str, counts: RunCounts) -> None:
        c = t.ingest_runs.c
        self.conn.execute(
            t.ingest_runs.update()
            .where(c.id == run_id)
            .values(
                lines_read=c.lines_read + counts.lines_read,
                accepted=c.accepted + counts.accepted,
                duplicates=c.duplicates + counts.duplicates,
                quarantined=c.quarantined + counts.quarantined,
                flags=c.flags + counts.flags,
                findings=c.findings + counts.findings,
                cases_opened=c.cases_opened + counts.cases_opened,
                cases_attached=c.cases_attached + counts.cases_attached,
                cases_resolved=c.cases_resolved + counts.cases_resolved,
            )
        )

    def finish_run(self, run_id: str, at: datetime, status: str) -> None:
        self.conn.execute(
            t.ingest_runs.update()
            .where(t.ingest_runs.c.id == run_id)
            .values(finished_at=at, status=status)
        )

    # -- events ----------------------------------------------------------------------------

    def _touch_sources(self, events: Sequence[Event]) -> None:
        latest: dict[str, datetime] = {}
        for event in events:
            seen = latest.get(event.source)
            if seen is None or event.occurred_at > seen:
                latest[event.source] = event.occurred_at
        stmt = self._insert(t.sources)
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={"last_event_at": sa.func.max(t.sources.c.last_event_at,
                                               stmt.excluded.last_event_at)
                  if self.dialect == "sqlite"
                  else sa.func.greatest(t.sources.c.last_event_at, stmt.excluded.last_event_at)},
        )  # fmt: skip
        rows = [
            {"name": name, "first_seen_at": at, "last_event_at": at}
            for name, at in sorted(latest.items())
        ]
        self.conn.execute(stmt, rows)

    def insert_events(self, events: Sequence[Event], run_id: str | None) -> set[str]:
        if not events:
            return set()
        self._touch_sources(events)
        b = Bulk(self.conn)
        inserted = b.insert_returning(
            t.events, EVENT_COLUMNS, event_rows(b, events, run_id),
            on_conflict="(source, external_id) DO NOTHING",
            returning="id",
        )  # fmt: skip
        if b.is_sqlite:  # the column stores 32 hex digits; compare in that form
            returned = set(inserted)
            return {e.event_id for e in events if e.event_id.replace("-", "") in returned}
        return {str(value) for value in inserted}

    def link_entities(self, events: Sequence[Event]) -> None:
        b = Bulk(self.conn)
        rows: list[tuple[str, str, str, str]] = []
        for e in events:
            pairs = e.refs.items()
            if pairs:
                event_id, at = b.uid(e.id), b.dt(e.occurred_at)
                rows.extend([(kind, key, event_id, at) for kind, key in pairs])
        b.insert(t.entity_links, ("kind", "key", "event_id", "occurred_at"), rows,
                 on_conflict="DO NOTHING")  # fmt: skip

    # -- detector windows ------------------------------------------------------------------

    def load_windows(self, requests: Sequence[WindowRequest]) -> list[WindowEntry]:
        by_detector: dict[str, list[WindowRequest]] = defaultdict(list)
        for request in requests:
            by_detector[request.detector].append(request)
        w = t.detector_windows.c
        found: list[WindowEntry] = []
        for detector, reqs in by_detector.items():
            spans = {r.key: (r.start, r.end) for r in reqs}
            start = min(r.start for r in reqs)
            end = max(r.end for r in reqs)
            for chunk in self._chunked(sorted(spans)):
                query = sa.select(w.key, w.event_id, w.occurred_at, w.ref).where(
                    w.detector == detector,
                    self._one_of(w.key, chunk),
                    w.occurred_at.between(start, end),
                )
                for key, event_id, occurred_at, ref in self.conn.execute(query):
                    lo, hi = spans[key]
                    if lo <= occurred_at <= hi:
                        found.append(WindowEntry(detector, key, str(event_id), occurred_at, ref))
        return found

    def add_windows(self, entries: Sequence[WindowEntry]) -> None:
        b = Bulk(self.conn)
        rows = [(e.detector, e.key, b.uid(e.event_id), b.dt(e.occurred_at), e.ref) for e in entries]
        b.insert(t.detector_windows, ("detector", "key", "event_id", "occurred_at", "ref"), rows,
                 on_conflict="DO NOTHING")  # fmt: skip

    # -- correlation: entity timelines --------------------------------------------------------

    def load_timeline_events(
        self, anchors: Iterable[EntityKey], hops: int, limit: int = DEFAULT_TIMELINE_LIMIT
    ) -> list[Event]:
        """The events linked to ``anchors``, then those linked to them through transaction
        identifiers, ``hops`` times: the neighbourhood the entity graph is built from. Stops
        adding events once ``limit`` per anchor is reached (a runaway hub); what is cut is
        the oldest, so a detector comparing with "the previous payment" still sees it."""
        loaded: dict[str, Event] = {}
        seen: set[EntityKey] = set()
        frontier = sorted(set(anchors))
        cap = limit * max(len(frontier), 1)
        for level in range(hops + 1):
            keys = [pair for pair in frontier if pair not in seen]
            seen.update(keys)
            if not keys or len(loaded) >= cap:
                break
            linked = self._linked_event_ids(keys)
            for known in loaded.keys() & linked.keys():
                del linked[known]
            room = cap - len(loaded)
            newest = sorted(linked, key=lambda i: (linked[i], i), reverse=True)[:room]
            fresh = self._events_by_id(sorted(newest))
            for event in fresh:
                loaded[event.event_id] = event
            if level == hops:
                break
            frontier = sorted({pair for e in fresh for pair in link_keys(e)} - seen)
        return list(loaded.values())

    def _linked_event_ids(self, keys: Sequence[EntityKey]) -> dict[str, datetime]:
        """Event id -> occurred_at of the events that name one of ``keys``."""
        by_kind: dict[str, list[str]] = defaultdict(list)
        for kind, key in keys:
            by_kind[kind].append(key)
        links = t.entity_links.c
        ids: dict[str, datetime] = {}
        for kind, values in sorted(by_kind.items()):
            for chunk in self._chunked(sorted(values)):
                query = sa.select(links.event_id, links.occurred_at).where(
                    links.kind == kind, self._one_of(links.key, chunk)
                )
                for event_id, occurred_at in self.conn.execute(query):
                    ids[str(event_id)] = occurred_at
        return ids

    def _events_by_id(self, ids: Sequence[str]) -> list[Event]:
        e = t.events.c
        columns = (e.id, e.source, e.external_id, e.type, e.occurred_at, e.received_at,
                   e.amount, e.currency, e.direction, e.reason_code, e.status, e.refs,
                   e.attributes)  # fmt: skip
        found: list[Event] = []
        for chunk in self._chunked(ids):
            for row in self.conn.execute(sa.select(*columns).where(self._one_of(e.id, chunk))):
                found.append(event_from_row(row))
        return found

    # -- expected-but-missing timers -----------------------------------------------------------

    def add_expectations(self, expectations: Sequence[Expectation]) -> int:
        """Store new pending timers; one already stored for the same rule and entity stays as
        it is (its id follows from both). Returns how many were new."""
        if not expectations:
            return 0
        b = Bulk(self.conn)
        rows = [
            (b.uid(x.id), x.rule, x.entity_kind, x.entity_key,
             b.json([list(a) for a in x.timeline_anchors()]),
             b.uid(x.opened_by), b.dt(x.opened_at), b.dt(x.due_at), x.expected, b.dec(x.amount),
             x.currency, x.status.value)
            for x in {x.id: x for x in expectations}.values()
        ]  # fmt: skip
        inserted = b.insert_returning(t.expectations, EXPECTATION_COLUMNS, rows,
                                      on_conflict="(id) DO NOTHING", returning="id")  # fmt: skip
        return len(inserted)

    def meet_expectations(self, meets: Sequence[Meet]) -> int:
        """Mark the pending timers these arrivals satisfy as met, each by the earliest event
        that meets it. Returns how many. Most arrivals meet nothing (an order's payment when no
        timer waits for it), so pending timers are looked up in bulk first."""
        x = t.expectations.c
        rules = sorted({meet.rule for meet in meets})
        waiting = set()
        for rule in rules:
            probe = sa.select(x.rule).where(
                x.rule == rule, x.status == ExpectationStatus.PENDING.value
            )
            if self.conn.execute(probe.limit(1)).first() is not None:
                waiting.add(rule)
        earliest: dict[str, Meet] = {}
        for meet in sorted(meets, key=lambda m: (m.at, m.event_id)):
            if meet.rule not in waiting:
                continue
            earliest.setdefault(expectation_id(meet.rule, meet.entity_kind, meet.entity_key), meet)
        if not earliest:
            return 0
        pending: list[str] = []
        for chunk in self._chunked(sorted(earliest)):
            query = sa.select(x.id).where(
                self._one_of(x.id, chunk), x.status == ExpectationStatus.PENDING.value
            )
            pending.extend(str(i) for i in self.conn.execute(query).scalars())
        if not pending:
            return 0
        stmt = (
            t.expectations.update()
            .where(x.id == sa.bindparam("b_id"), x.status == ExpectationStatus.PENDING.value)
            .values(status=ExpectationStatus.MET.value, settled_at=sa.bindparam("b_at"),
                    settled_by=sa.bindparam("b_by"))
        )  # fmt: skip
        rows = [{"b_id": i, "b_at": earliest[i].at, "b_by": earliest[i].event_id} for i in pending]
        self.conn.execute(stmt, rows)
        return len(pending)

    def claim_due_expectations(self, now: datetime, limit: int) -> list[Expectation]:
        """Pending timers due at ``now``, oldest first. On PostgreSQL the rows stay locked to
        this transaction and other workers skip them; SQLite serialises writers anyway."""
        x = t.expectations.c
        query = (
            sa.select(t.expectations)
            .where(x.status == ExpectationStatus.PENDING.value, x.due_at <= now)
            .order_by(x.due_at, x.id)
            .limit(limit)
        )
        if self.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return [expectation_from_row(row) for row in self.conn.execute(query)]

    def settle_expectations(
        self, ids: Sequence[str], status: ExpectationStatus, at: datetime
    ) -> None:
        x = t.expectations.c
        for chunk in _chunks(sorted(ids)):
            self.conn.execute(
                t.expectations.update()
                .where(x.id.in_(chunk), x.status == ExpectationStatus.PENDING.value)
                .values(status=status.value, settled_at=at)
            )

    def due_snoozes(self, now: datetime, limit: int) -> list[Case]:
        """Snoozed cases whose snooze has ended, oldest first."""
        c = t.cases.c
        query = (
            sa.select(t.cases)
            .where(c.status == "snoozed", c.snoozed_until <= now)
            .order_by(c.snoozed_until, c.id)
            .limit(limit)
        )
        if self.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return [case_from_row(row) for row in self.conn.execute(query)]

    def claim_due_timers(self, now: datetime, limit: int) -> list[tuple[str, str, str, datetime]]:
        """Pending SLA timers due at ``now`` as (timer id, case id, kind, due at), oldest
        first; on PostgreSQL locked to this transaction, others skip them."""
        tm = t.timers.c
        query = (
            sa.select(tm.id, tm.case_id, tm.kind, tm.due_at)
            .where(tm.status == "pending", tm.due_at <= now)
            .order_by(tm.due_at, tm.id)
            .limit(limit)
        )
        if self.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return [(str(i), str(c), k, d) for i, c, k, d in self.conn.execute(query)]

    def mark_timers_fired(self, ids: Sequence[str], at: datetime) -> None:
        """Mark timers this transaction claimed as fired. They are still pending: claimed rows
        are locked (PostgreSQL) or the write transaction is exclusive (SQLite). Selecting by
        primary key alone matters: with a status test SQLite walks the status index over
        every pending timer."""
        tm = t.timers.c
        for chunk in self._chunked(sorted(ids)):
            self.conn.execute(
                t.timers.update()
                .where(self._one_of(tm.id, chunk))
                .values(status="fired", fired_at=at, attempts=tm.attempts + 1)
            )

    def assignment_loads(self, teams: Sequence[str]) -> Loads:
        """Open cases per (team, assignee) and cases ever assigned per team."""
        c = t.cases.c
        loads = Loads()
        if not teams:
            return loads
        query = (
            sa.select(c.owner_team, c.assignee, c.status, sa.func.count())
            .where(self._one_of(c.owner_team, list(teams)), c.assignee.is_not(None))
            .group_by(c.owner_team, c.assignee, c.status)
        )
        for team, member, status, count in self.conn.execute(query):
            if CaseStatus(status).is_open:
                key = (team, member)
                loads.open_by_member[key] = loads.open_by_member.get(key, 0) + count
            loads.assigned_by_team[team] = loads.assigned_by_team.get(team, 0) + count
        return loads

    def claim_candidates(self, counterparties: Iterable[str], since: datetime) -> list[Case]:
        """Cases of these counterparties that are open or were closed since ``since``."""
        c = t.cases.c
        found: list[Case] = []
        for chunk in self._chunked(sorted(set(counterparties))):
            query = sa.select(t.cases).where(
                self._one_of(c.counterparty, chunk),
                sa.or_(
                    c.status.in_(OPEN_STATUSES),
                    c.resolved_at >= since,
                    c.closed_at >= since,
                ),
            )
            found.extend(case_from_row(row) for row in self.conn.execute(query))
        return found

    def cases_by_id(self, ids: Sequence[str]) -> dict[str, Case]:
        found: dict[str, Case] = {}
        for chunk in self._chunked(sorted(set(ids))):
            query = sa.select(t.cases).where(self._one_of(t.cases.c.id, chunk))
            for row in self.conn.execute(query):
                case = case_from_row(row)
                found[case.id] = case
        return found

    def expectation_counts(self) -> dict[str, dict[str, Any]]:
        """Rule -> {status: count, "next_due": the earliest pending due time}."""
        x = t.expectations.c
        out: dict[str, dict[str, Any]] = defaultdict(dict)
        query = sa.select(x.rule, x.status, sa.func.count()).group_by(x.rule, x.status)
        for rule, status, count in self.conn.execute(query):
            out[rule][status] = count
        pending = (
            sa.select(x.rule, sa.func.min(x.due_at))
            .where(x.status == ExpectationStatus.PENDING.value)
            .group_by(x.rule)
        )
        for rule, due in self.conn.execute(pending):
            out[rule]["next_due"] = due
        return dict(out)

    # -- findings and cases ----------------------------------------------------------------

    def existing_findings(self, ids: Iterable[str]) -> set[str]:
        wanted = sorted(set(ids))
        seen: set[str] = set()
        for chunk in self._chunked(wanted):
            query = sa.select(t.findings.c.id).where(self._one_of(t.findings.c.id, chunk))
            seen.update(str(i) for i in self.conn.execute(query).scalars())
        return seen

    def open_cases(self, keys: Iterable[str]) -> dict[str, Case]:
        wanted = sorted(set(keys))
        found: dict[str, Case] = {}
        for chunk in self._chunked(wanted):
            query = sa.select(t.cases).where(self._one_of(t.cases.c.open_key, chunk))
            for row in self.conn.execute(query):
                case = case_from_row(row)
                assert case.open_key is not None
                found[case.open_key] = case
        return found

    def save_plan(self, plan: CasePlan, findings: Sequence[Finding]) -> None:
        c = t.cases.c
        stored = self._apply_case_metrics(plan, findings)  # before the cases change
        self._enqueue_case_events(plan, stored)
        if plan.updated:
            # Release superseded open keys first so a new case can take them.
            stmt = (
                t.cases.update()
                .where(c.id == sa.bindparam("b_id"), c.version == sa.bindparam("b_version"))
                .values({name: sa.bindparam(name) for name in _CASE_UPDATABLE})
            )
            rows = []
            for case in plan.updated.values():
                row = case_row(case)
                values = {name: row[name] for name in _CASE_UPDATABLE}
                values["version"] = case.version + 1
                rows.append({"b_id": case.id, "b_version": case.version, **values})
                case.version += 1
            result = self.conn.execute(stmt, rows)
            if result.rowcount is not None and 0 <= result.rowcount < len(rows):
                raise LostRaceError("a case changed while this batch was being applied; retry")
        b = Bulk(self.conn)
        b.insert(t.cases, CASE_COLUMNS, [case_values(b, x) for x in plan.created.values()])
        b.insert(
            t.findings,
            FINDING_COLUMNS,
            [finding_values(b, f, plan.assignments[f.id]) for f in findings],
        )
        b.insert(t.case_timeline, TIMELINE_COLUMNS, [timeline_values(b, e) for e in plan.timeline])
        b.insert(t.timers, TIMER_COLUMNS, [timer_values(b, x) for x in plan.timers])
        if plan.resolved:
            tm = t.timers.c
            for chunk in _chunks(sorted(plan.resolved)):
                self.conn.execute(
                    t.timers.update()
                    .where(tm.case_id.in_(chunk), tm.status == "pending")
                    .values(status="cancelled")
                )

    # -- quarantine ------------------------------------------------------------------------

    def quarantine(
        self, rejections: Sequence[Rejection], run_id: str | None, format_name: str, at: datetime
    ) -> None:
        if not rejections:
            return
        rows: dict[str, dict[str, Any]] = {}
        for r in rejections:
            digest = hashlib.sha256(r.raw.encode("utf-8")).hexdigest()
            item_id = derived_id("quarantine", digest)
            if item_id in rows:
                rows[item_id]["seen_count"] += 1
                continue
            rows[item_id] = {
                "id": item_id, "run_id": run_id, "format": format_name, "label": r.location.file,
                "line": r.location.line, "field": r.location.field, "code": r.code,
                "reason": r.reason, "raw": r.raw, "status": "open", "seen_count": 1,
                "attempts": 0, "first_seen_at": at, "last_seen_at": at,
            }  # fmt: skip
        q = t.quarantine.c
        stmt = self._insert(t.quarantine)
        stmt = stmt.on_conflict_do_update(
            index_elements=["id"],
            set_={
                "seen_count": q.seen_count + stmt.excluded.seen_count,
                "last_seen_at": stmt.excluded.last_seen_at,
                "run_id": stmt.excluded.run_id,
                "label": stmt.excluded.label,
                "line": stmt.excluded.line,
                # the latest sighting's refusal, whole: its location, reason and format agree
                "field": stmt.excluded.field,
                "code": stmt.excluded.code,
                "reason": stmt.excluded.reason,
                "format": stmt.excluded.format,
                "status": "open",
            },
        )
        self.conn.execute(stmt, list(rows.values()))

    def flag(self, flags: Sequence[FileFlag], run_id: str | None, at: datetime) -> None:
        if not flags:
            return
        rows: dict[str, dict[str, Any]] = {}
        for f in flags:
            loc = f.location
            flag_id = derived_id("flag", loc.file or "", str(loc.line or ""), loc.field or "",
                                 f.code, f.reason)  # fmt: skip
            if flag_id in rows:
                rows[flag_id]["seen_count"] += 1
                continue
            rows[flag_id] = {
                "id": flag_id, "run_id": run_id, "label": loc.file, "line": loc.line,
                "field": loc.field, "code": f.code, "reason": f.reason, "seen_count": 1,
                "first_seen_at": at, "last_seen_at": at,
            }  # fmt: skip
        stmt = self._insert(t.file_flags)
        stmt = stmt.on_conflict_do_update(
            index_elements=["id"],
            set_={
                "seen_count": t.file_flags.c.seen_count + stmt.excluded.seen_count,
                "last_seen_at": stmt.excluded.last_seen_at,
                "run_id": stmt.excluded.run_id,
            },
        )
        self.conn.execute(stmt, list(rows.values()))

    def list_quarantine(self, status: str | None, limit: int) -> list[QuarantineItem]:
        query = sa.select(t.quarantine).order_by(t.quarantine.c.first_seen_at, t.quarantine.c.id)
        if status:
            query = query.where(t.quarantine.c.status == status)
        return [_quarantine_item(r) for r in self.conn.execute(query.limit(limit))]

    def get_quarantine(self, ids: Sequence[str] | None) -> list[QuarantineItem]:
        query = sa.select(t.quarantine).order_by(t.quarantine.c.first_seen_at, t.quarantine.c.id)
        if ids is None:
            return [_quarantine_item(r) for r in
                    self.conn.execute(query.where(t.quarantine.c.status == "open"))]  # fmt: skip
        items = []
        for item_id in ids:
            rows = self.conn.execute(
                query.where(id_prefix_filter(t.quarantine.c.id, item_id))
            ).all()
            if not rows:
                raise NotFoundError(f"no quarantined record {item_id!r}")
            if len(rows) > 1:
                raise ConflictError(f"{item_id!r} matches several records; give more digits")
            items.append(_quarantine_item(rows[0]))
        return items

    def mark_quarantine(
        self, item_id: str, *, status: str, at: datetime, event_id: str | None, reason: str | None
    ) -> None:
        q = t.quarantine.c
        values: dict[str, Any] = {"status": status, "attempts": q.attempts + 1}
        if status != "open":
            values["resolved_at"] = at
        if event_id is not None:
            values["event_id"] = event_id
        if reason is not None:
            values["reason"] = reason
        self.conn.execute(t.quarantine.update().where(q.id == item_id).values(values))

    # -- sync cursors ----------------------------------------------------------------------

    def get_cursor(self, name: str) -> str | None:
        query = sa.select(t.sync_cursors.c.cursor).where(t.sync_cursors.c.name == name)
        return self.conn.execute(query).scalar_one_or_none()

    def set_cursor(self, name: str, cursor: str, at: datetime) -> None:
        stmt = self._insert(t.sync_cursors).values(name=name, cursor=cursor, updated_at=at)
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={"cursor": stmt.excluded.cursor, "updated_at": stmt.excluded.updated_at},
        )
        self.conn.execute(stmt)

    # -- audit -----------------------------------------------------------------------------

    def audit_head(self) -> tuple[int, str]:
        row = self.conn.execute(sa.select(t.audit_head.c.seq, t.audit_head.c.hash)).one()
        return int(row.seq), str(row.hash)

    def append_audit(self, entries: Sequence[AuditEntry]) -> None:
        if not entries:
            return
        head_query = sa.select(t.audit_head.c.seq, t.audit_head.c.hash).where(
            t.audit_head.c.id == 1
        )
        if self.dialect == "postgresql":
            head_query = head_query.with_for_update()
        head = self.conn.execute(head_query).one()
        records = seal(entries, int(head.seq), str(head.hash))
        self.conn.execute(t.audit_log.insert(), [audit_row(r) for r in records])
        last = records[-1]
        self.conn.execute(
            t.audit_head.update().where(t.audit_head.c.id == 1).values(seq=last.seq, hash=last.hash)
        )

    def audit_records(self) -> Generator[AuditRecord]:
        """Stream the trail in order; close the generator to release the server cursor."""
        query = sa.select(t.audit_log).order_by(t.audit_log.c.seq)
        with self.conn.execution_options(yield_per=2000).execute(query) as result:
            for row in result:
                yield audit_from_row(row)


_CASE_UPDATABLE = (
    "status", "tier", "title", "updated_at", "first_seen_at", "last_seen_at", "closed_at",
    "resolved_at", "outcome",
    "finding_count", "amount", "currency", "exposures", "open_key", "version",
    "snoozed_until", "accepted_until", "accepted_fingerprint",
    "triaged_at", "in_progress_at", "waiting_at", "waiting_on", "escalated_at",
    "escalation_level", "sla_breached_at", "reopen_count", "decision", "assignee",
    "duplicate_of", "duplicate_score",
    "recovered_amount", "written_off_amount", "lost_amount", "handling_cost", "pending_resolution",
)  # fmt: skip


def _quarantine_item(row: Any) -> QuarantineItem:
    m: Mapping[str, Any] = row._mapping
    return QuarantineItem(
        id=str(m["id"]),
        format=m["format"],
        label=m["label"],
        line=m["line"],
        field=m["field"],
        code=m["code"],
        reason=m["reason"],
        raw=m["raw"],
        status=m["status"],
        seen_count=m["seen_count"],
        attempts=m["attempts"],
        first_seen_at=m["first_seen_at"],
        last_seen_at=m["last_seen_at"],
        event_id=None if m["event_id"] is None else str(m["event_id"]),
    )
