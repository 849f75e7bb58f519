"""Metric summaries, mixed into the unit of work.

``save_plan`` calls :meth:`MetricsMixin._apply_case_metrics` before it writes the cases: it
reads the stored state of the updated cases (one query per chunk of ids), and adds to the
counters ``contribution(after) - contribution(before)`` of every case the plan touches, with
one upsert per changed counter (``count = count + delta``), after locking the audit head
(PostgreSQL; see :meth:`MetricsMixin._hold_audit_head`) and in key order, so writers lock in
one order and cannot deadlock. If the case update then finds a case changed under it, the
transaction raises and the counters roll back with it.

The aging counters are keyed by the hour a case opened; a row that drops to zero is deleted,
so they never hold more rows than there are hours with open cases.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from recoup.adapters.store import tables as t
from recoup.adapters.store import tables_notify as tn
from recoup.adapters.store.rows import case_from_row
from recoup.domain.cases.case import Case
from recoup.domain.cases.casing import CasePlan
from recoup.domain.detection.findings import Finding
from recoup.domain.ids import derived_id
from recoup.domain.metrics import OPEN_AGE, Cell, Counters, Key, contribution, delta, total

_COUNTER_UPSERTS: dict[str, Any] = {}


class MetricsMixin:
    conn: sa.Connection
    dialect: str
    _chunked: Callable[[Sequence[Any]], Iterator[Sequence[Any]]]
    _one_of: Callable[[Any, Sequence[Any]], Any]

    # -- the write path --------------------------------------------------------------------

    def _apply_case_metrics(self, plan: CasePlan, findings: Sequence[Finding]) -> dict[str, Case]:
        """Apply the plan's metric deltas; returns the stored (before) state of the updated
        cases, for the other hooks of ``save_plan``."""
        before = self._stored_cases(sorted(plan.updated))
        codes = self._opening_codes(plan, findings)
        changes = total(self._metric_parts(plan, before, codes))
        if changes:
            self._hold_audit_head()
        self.add_metric_counters(changes)
        return {case_id: old for case_id, (old, _code) in before.items()}

    @staticmethod
    def _metric_parts(
        plan: CasePlan, before: Mapping[str, tuple[Case, str | None]], codes: Mapping[str, str]
    ) -> Iterator[Counters]:
        """Each case's contribution (new) or change (updated), one at a time: summed as they
        come, not kept per case until the end of the batch."""
        for case in plan.created.values():
            yield contribution(case, codes.get(case.id))
        for case_id, case in plan.updated.items():
            stored = before.get(case_id)
            if stored is None:
                continue  # not stored: the case update raises for it
            old, code = stored
            yield delta(contribution(old, code), contribution(case, code))

    def _hold_audit_head(self) -> None:
        """On PostgreSQL, lock the audit head before any counter. Every transaction that
        changes counters appends audit records too, and so locks the head anyway; taking it
        first gives every writer one lock order (head, then counters in key order), so two
        writers cannot deadlock, whether one appended its audit before its cases or stored
        cases twice. SQLite's write transaction is exclusive already."""
        if self.dialect == "postgresql":
            head = t.audit_head.c
            self.conn.execute(sa.select(head.seq).where(head.id == 1).with_for_update())

    def _stored_cases(self, ids: Sequence[str]) -> dict[str, tuple[Case, str | None]]:
        if not ids:
            return {}
        c, codes = t.cases.c, tn.metric_case_codes
        found: dict[str, tuple[Case, str | None]] = {}
        for chunk in self._chunked(ids):
            query = (
                sa.select(t.cases, codes.c.reason_code)
                .select_from(t.cases.outerjoin(codes, codes.c.case_id == c.id))
                .where(self._one_of(c.id, chunk))
            )
            for row in self.conn.execute(query):
                case = case_from_row(row)
                found[case.id] = (case, row._mapping["reason_code"])
        return found

    def _opening_codes(self, plan: CasePlan, findings: Sequence[Finding]) -> dict[str, str]:
        """Case id -> reason code of the finding that opened it, for the plan's new cases;
        stored so later changes to the case count under the same code."""
        if not plan.created:
            return {}
        codes: dict[str, str] = {}
        for finding in findings:
            case_id = plan.assignments.get(finding.id)
            if (
                finding.reason_code
                and case_id in plan.created
                and case_id not in codes
                and derived_id("case", finding.id) == case_id
            ):
                codes[case_id] = finding.reason_code[:100]
        if codes:
            self.conn.execute(
                self._upsert(tn.metric_case_codes).on_conflict_do_nothing(),
                [{"case_id": k, "reason_code": v} for k, v in sorted(codes.items())],
            )
        return codes

    def _upsert(self, table: sa.Table) -> Any:
        return (postgresql if self.dialect == "postgresql" else sqlite).insert(table)

    def _counter_upsert(self) -> Any:
        """``count = count + delta`` per counter; built once per dialect (building the
        ``excluded`` alias costs more than running the statement for a small batch)."""
        stmt = _COUNTER_UPSERTS.get(self.dialect)
        if stmt is None:
            m = tn.metric_counters
            insert = self._upsert(m)
            stmt = insert.on_conflict_do_update(
                index_elements=["name", "k1", "k2", "k3"],
                set_={"count": m.c.count + insert.excluded.count,
                      "amount": m.c.amount + insert.excluded.amount},
            )  # fmt: skip
            _COUNTER_UPSERTS[self.dialect] = stmt
        return stmt

    def add_metric_counters(self, changes: Counters) -> None:
        """Add ``changes`` to the summary (new counters start at zero)."""
        if not changes:
            return
        m = tn.metric_counters
        stmt = self._counter_upsert()
        rows = [
            {"name": k.name, "k1": k.k1, "k2": k.k2, "k3": k.k3, "count": v.count,
             "amount": v.amount}
            for k, v in sorted(changes.items())
        ]  # fmt: skip
        self.conn.execute(stmt, rows)
        emptied = [k for k, v in changes.items() if k.name == OPEN_AGE and v.count < 0]
        if emptied:
            self.conn.execute(
                m.delete().where(
                    m.c.name == sa.bindparam("b_name"), m.c.k1 == sa.bindparam("b_k1"),
                    m.c.k2 == sa.bindparam("b_k2"), m.c.k3 == sa.bindparam("b_k3"),
                    m.c.count == 0, m.c.amount == 0,
                ),
                [{"b_name": k.name, "b_k1": k.k1, "b_k2": k.k2, "b_k3": k.k3} for k in emptied],
            )  # fmt: skip

    # -- reads -----------------------------------------------------------------------------

    def metric_counters(self) -> Counters:
        """Every counter that is not zero."""
        m = tn.metric_counters.c
        query = sa.select(m.name, m.k1, m.k2, m.k3, m.count, m.amount).where(
            sa.or_(m.count != 0, m.amount != 0)
        )
        return {
            Key(name, k1, k2, k3): Cell(int(count), int(amount))
            for name, k1, k2, k3, count, amount in self.conn.execute(query)
        }

    def metric_sources(self) -> dict[str, Any]:
        """The figures kept by other parts of the store: ingest run totals (one row per run),
        writebacks and outbound deliveries by status (status indexes), reconciliation pairs
        by status."""
        r = t.ingest_runs.c
        events, findings, opened = self.conn.execute(
            sa.select(
                sa.func.coalesce(sa.func.sum(r.accepted), 0),
                sa.func.coalesce(sa.func.sum(r.findings), 0),
                sa.func.coalesce(sa.func.sum(r.cases_opened), 0),
            )
        ).one()
        o, d, p = t.outbox.c, tn.notify_deliveries.c, t.reconcile_matches.c
        return {
            "events": int(events),
            "findings": int(findings),
            "ingest_cases_opened": int(opened),
            "writebacks": self._by_status(o.status),
            "deliveries": self._by_status(d.status),
            "reconcile_pairs": self._by_status(p.status),
        }

    def _by_status(self, column: Any) -> dict[str, int]:
        query = sa.select(column, sa.func.count()).group_by(column)
        return {str(status): int(count) for status, count in self.conn.execute(query)}

    # -- rebuild ---------------------------------------------------------------------------

    def backfill_case_codes(self) -> int:
        """Store the opening reason code of cases that have none stored (cases from before
        the summaries existed); returns how many were added."""
        f, codes = t.findings.c, tn.metric_case_codes.c
        query = (
            sa.select(f.id, f.case_id, f.reason_code)
            .where(f.reason_code.is_not(None), f.case_id.not_in(sa.select(codes.case_id)))
            .order_by(f.case_id, f.id)
        )
        found: dict[str, str] = {}
        for finding_id, case_id, code in self.conn.execute(query):
            key = str(case_id)
            if key not in found and derived_id("case", str(finding_id)) == key:
                found[key] = str(code)[:100]
        if found:
            self.conn.execute(
                self._upsert(tn.metric_case_codes).on_conflict_do_nothing(),
                [{"case_id": k, "reason_code": v} for k, v in sorted(found.items())],
            )
        return len(found)

    def metric_cases(self) -> Iterator[tuple[Case, str | None]]:
        """Every case with its opening reason code, streamed."""
        c, codes = t.cases.c, tn.metric_case_codes
        query = (
            sa.select(t.cases, codes.c.reason_code)
            .select_from(t.cases.outerjoin(codes, codes.c.case_id == c.id))
            .order_by(c.id)
        )
        with self.conn.execute(query, execution_options={"yield_per": 2000}) as result:
            for row in result:
                yield case_from_row(row), row._mapping["reason_code"]

    def lock_metric_counters(self) -> None:
        """Hold the summary until commit (PostgreSQL; SQLite's write transaction is exclusive
        already): a case write waits at its counter update, which comes before its case
        update, so a rebuild reading the cases after this sees a consistent set."""
        self._hold_audit_head()  # the order every counter writer locks in
        if self.dialect == "postgresql":
            self.conn.exec_driver_sql("LOCK TABLE metric_counters IN EXCLUSIVE MODE")

    def replace_metric_counters(self, counters: Counters) -> None:
        """Make the summary exactly ``counters`` (for a rebuild, after the lock)."""
        self.conn.execute(tn.metric_counters.delete())
        self.add_metric_counters(counters)
