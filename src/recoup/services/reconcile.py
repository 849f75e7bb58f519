"""Reconciliation runs over the store: open items in, matches, a review queue and breaks out.

A run reads every item not yet reconciled (so new files match against what is still open, a
partial payment stays open until the rest arrives, and a repeated run changes nothing), runs
the engine, and in one transaction stores the run, its match pairs (``auto`` reconcile their
items; ``suggested`` wait in the review queue), its breaks with their field-level reasons, and
the findings and cases the breaks raise (owned by finance), with audit records. An operator
confirms or rejects a suggestion, or force-matches items with a written justification.
"""

from __future__ import annotations

import gc
import hashlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from recoup.domain.audit import AuditEntry
from recoup.domain.cases.case import open_key
from recoup.domain.errors import ConflictError, InvalidInputError, NotFoundError
from recoup.domain.ids import derived_id
from recoup.domain.policy import PolicyEngine
from recoup.domain.ports import Clock, UnitOfWork, UnitOfWorkFactory
from recoup.domain.reconcile.items import (
    BREAK_CASE_TYPES,
    REVIEW,
    EngineResult,
    ItemColumns,
    MatchRow,
    ReconcileEngine,
    break_findings,
    finding_breaks,
    item_of,
    match_resolutions,
    settling_matches,
)
from recoup.domain.reconcile.rules import Rules
from recoup.services.ingest import store_findings, unseen_findings

ACTOR = "system:reconcile"


@dataclass
class ReconcileReport:
    run_id: str | None
    dry_run: bool
    left: int = 0
    right: int = 0
    pairs_by_status: Counter[str] = field(default_factory=Counter)
    left_matched: int = 0
    right_matched: int = 0
    breaks_by_reason: Counter[str] = field(default_factory=Counter)
    unreconciled: dict[str, Decimal] = field(default_factory=dict)
    """Money of the left items left open, per currency."""
    findings: int = 0
    cases_opened: int = 0
    cases_resolved: int = 0
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def match_rate(self) -> float:
        return self.left_matched / self.left if self.left else 0.0


def rules_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def run_reconcile(
    *,
    uow: UnitOfWorkFactory,
    clock: Clock,
    engine: ReconcileEngine,
    rules: Rules,
    rules_digest: str,
    dry_run: bool = False,
    policy: PolicyEngine | None = None,
    progress: Callable[[str], None] | None = None,
) -> ReconcileReport:
    """Reconcile every open item; with ``dry_run`` report what would happen and store nothing."""
    now = clock.now()
    say = progress or (lambda _message: None)
    with uow() as tx:
        left, right = tx.reconcile_open_items()
    say(f"{len(left):,} open expected items, {len(right):,} open bank lines")
    result = engine.run(left, right, rules) if len(left) or len(right) else EngineResult()
    run_id = None if dry_run else derived_id("reconcile.run", now.isoformat(), rules_digest)
    report = _report(result, left, right, run_id, dry_run)
    say(f"matched {report.left_matched:,} of {report.left:,} expected items "
        f"({report.pairs_by_status.get('auto', 0):,} automatic pairs, "
        f"{report.pairs_by_status.get(REVIEW, 0):,} suggested)")  # fmt: skip
    if dry_run or run_id is None:
        return report
    left_keys = dict(zip(left.id, zip(left.kind, left.key, strict=True), strict=True))
    with _long_lived(), uow() as tx:
        tx.start_reconcile_run(run_id, rules.version, rules_digest, now)
        tx.add_reconcile_matches(run_id, result.matches, now)
        tx.record_breaks(run_id, result.breaks, now)
        # Only the events the findings and settlements cite are loaded, not every open item's.
        breaks = finding_breaks(result.breaks, {i: kind for i, (kind, _) in left_keys.items()})
        events = {e.event_id: e for e in tx.reconcile_events(r.item_id for r in breaks)}
        items = {i: item for i, e in events.items() if (item := item_of(e)) is not None}
        findings = unseen_findings(break_findings(breaks, events, items, now), tx)
        open_keys = tx.open_case_keys(BREAK_CASE_TYPES)
        open_keys |= {open_key(f.type, f.entity_kind, f.entity_key) for f in findings}
        right_keys = dict(zip(right.id, right.key, strict=True))
        settling = settling_matches(result.matches, left_keys, right_keys, open_keys)
        cited = {i for m in settling for i in (m.left_id, m.right_id)} - events.keys()
        events |= {e.event_id: e for e in tx.reconcile_events(cited)}
        settled = match_resolutions(settling, events, now)
        plan = store_findings(findings, tx, now, settled=settled, policy=policy, events=events)
        report.findings, report.cases_opened = len(findings), len(plan.created)
        report.cases_resolved = len(plan.resolved)
        stats = _stats(report)
        tx.finish_reconcile_run(run_id, clock.now(), stats)
        tx.append_audit([*plan.audit, AuditEntry(now, ACTOR, "reconcile.run", "reconcile_run",
                                                 run_id, stats)])  # fmt: skip
        tx.commit()
    return report


@contextmanager
def _long_lived() -> Iterator[None]:
    """Keep what exists now (a run's items and match rows: millions of objects at scale) out of
    the garbage collector's full passes until the block ends; every pass would walk them all
    again (about 8% of a run at 1,000,000 rows a side). They are freed as usual."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _report(result: EngineResult, left: ItemColumns, right: ItemColumns,
            run_id: str | None, dry_run: bool) -> ReconcileReport:  # fmt: skip
    report = ReconcileReport(run_id, dry_run, len(left), len(right), stats=result.stats)
    report.pairs_by_status.update(m.status for m in result.matches)
    matched = [m for m in result.matches if m.status == "auto"]
    report.left_matched = len({m.left_id for m in matched})
    report.right_matched = len({m.right_id for m in matched})
    report.breaks_by_reason.update(b.reason for b in result.breaks)
    taken = {m.left_id for m in matched}
    open_money: dict[str, Decimal] = {}
    for item_id, currency, amount in zip(left.id, left.currency, left.amount, strict=True):
        if item_id not in taken:
            open_money[currency] = open_money.get(currency, Decimal(0)) + amount
    report.unreconciled.update(open_money)
    return report


def _stats(report: ReconcileReport) -> dict[str, Any]:
    return {
        "left": report.left, "right": report.right,
        "pairs": dict(report.pairs_by_status), "left_matched": report.left_matched,
        "right_matched": report.right_matched, "breaks": dict(report.breaks_by_reason),
        "unreconciled": {c: str(a) for c, a in report.unreconciled.items()},
        "findings": report.findings, "cases_opened": report.cases_opened,
        "cases_resolved": report.cases_resolved,
    }  # fmt: skip


# -- the review queue --------------------------------------------------------------------------


def review_queue(*, reader: Callable[[], UnitOfWork], limit: int = 100) -> list[dict[str, Any]]:
    """Suggested pairs waiting for an operator, oldest first."""
    with reader() as tx:
        return tx.reconcile_matches(REVIEW, limit)


def decide_suggestion(match_id: str, confirm: bool, reason: str, *, actor: str,
                      uow: UnitOfWorkFactory, clock: Clock) -> int:  # fmt: skip
    """Confirm (the items reconcile) or reject (they go back to the open items) a suggested
    match; returns the pairs changed."""
    if not reason.strip():
        raise InvalidInputError("a reason is required (it goes on the audit record)")
    now = clock.now()
    status = "confirmed" if confirm else "rejected"
    with uow() as tx:
        rows = tx.match_rows(match_id)
        if not rows:
            raise NotFoundError(f"no match {match_id}")
        if all(r["status"] != REVIEW for r in rows):
            raise ConflictError(f"match {match_id} is {rows[0]['status']}, not waiting for review")
        if confirm:
            items = [str(r["left_id"]) for r in rows] + [str(r["right_id"]) for r in rows]
            taken = tx.reconciled_ids(items)
            if taken:
                raise ConflictError(f"match {match_id}: {len(taken)} of its items are reconciled "
                                    "by another match already")  # fmt: skip
        changed = tx.decide_match(match_id, status, actor, now, reason.strip())
        data = {"pairs": changed, "reason": reason.strip()}
        tx.append_audit([AuditEntry(now, actor, f"reconcile.{status}", "reconcile_match",
                                    match_id, data)])  # fmt: skip
        tx.commit()
    return changed


def force_match(left_ids: Sequence[str], right_ids: Sequence[str], justification: str, *,
                actor: str, uow: UnitOfWorkFactory, clock: Clock) -> str:  # fmt: skip
    """Match items the engine did not, with a written justification; returns the match id."""
    if len(justification.strip()) < 10:
        raise InvalidInputError("a force-match needs a written justification (10 characters or "
                                "more); it goes on the audit record")  # fmt: skip
    if not left_ids or not right_ids:
        raise InvalidInputError("name at least one expected item and one bank line")
    now = clock.now()
    with uow() as tx:
        taken = tx.reconciled_ids([*left_ids, *right_ids])
        if taken:
            raise ConflictError(f"already reconciled: {', '.join(sorted(taken))}")
        match_id = derived_id("reconcile.forced", *sorted(left_ids), "|", *sorted(right_ids))
        rows = [MatchRow(match_id, left, right, "forced", 1.0, "forced",
                         len(left_ids), Decimal(0))
                for left in left_ids for right in right_ids]  # fmt: skip
        run_id = derived_id("reconcile.run", "forced", now.isoformat(), match_id)
        tx.start_reconcile_run(run_id, 0, "forced", now)
        tx.add_reconcile_matches(run_id, rows, now)
        tx.finish_reconcile_run(run_id, now, {"forced": len(rows)})
        tx.append_audit([AuditEntry(now, actor, "reconcile.forced", "reconcile_match", match_id,
                                    {"left": list(left_ids), "right": list(right_ids),
                                     "justification": justification.strip()})])  # fmt: skip
        tx.commit()
    return match_id


def reconcile_status(*, reader: Callable[[], UnitOfWork]) -> dict[str, Any]:
    with reader() as tx:
        return tx.reconcile_counts()
