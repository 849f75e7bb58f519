"""The timer runner: wake snoozed cases whose snooze ended, and fire the expected-but-missing
timers that are due.

Each round claims a chunk of pending timers due at the clock's time, loads the timelines of
their entities through the entity index, and either marks a timer met (its counterpart is
there after all) or turns it into a finding that opens or attaches a case. Claiming, findings,
cases, timer states and the audit record of the round commit in one transaction, so a crash
mid-way fires nothing twice: the next run claims the same timers again, and finding ids follow
from the opening event, so nothing is counted twice either.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from recoup.domain.audit import AuditEntry
from recoup.domain.cases import noise
from recoup.domain.detection.detectors import Detectors
from recoup.domain.detection.expectations import Expectation, ExpectationStatus
from recoup.domain.detection.findings import Finding
from recoup.domain.detection.timeline import EntityGraph, Timeline
from recoup.domain.policy import PolicyEngine
from recoup.domain.ports import Clock, UnitOfWork, UnitOfWorkFactory
from recoup.services.ingest import store_findings, unseen_findings

TIMER_ACTOR = "system:timers"
DEFAULT_CHUNK = 500


@dataclass
class TimerReport:
    due: int = 0
    met: int = 0
    fired: int = 0
    unknown: int = 0
    findings: int = 0
    cases_opened: int = 0
    cases_attached: int = 0
    rounds: int = 0
    woken: int = 0
    """Snoozed cases whose snooze ended."""
    findings_by_type: Counter[str] = field(default_factory=Counter)


def merged_timeline(graph: EntityGraph, expectation: Expectation, hops: int) -> Timeline:
    """The union of the timelines of the expectation's anchors, oldest first."""
    events = {}
    for kind, key in expectation.timeline_anchors():
        for event in graph.timeline(kind, key, hops):
            events[event.event_id] = event
    ordered = sorted(events.values(), key=lambda e: (e.occurred_at, e.event_id))
    return Timeline(expectation.entity, ordered)


def wake_snoozed(*, uow: UnitOfWorkFactory, clock: Clock, chunk: int = DEFAULT_CHUNK) -> int:
    """Wake every snoozed case whose snooze has ended; returns how many."""
    woken = 0
    while True:
        now = clock.now()
        with uow() as tx:
            due = tx.due_snoozes(now, chunk)
            if not due:
                return woken
            for case in due:
                plan = noise.wake(case, now, TIMER_ACTOR)
                tx.save_plan(plan, [])
                tx.append_audit(plan.audit)
            tx.commit()
        woken += len(due)


def fire_due(
    *,
    uow: UnitOfWorkFactory,
    clock: Clock,
    detectors: Detectors,
    chunk: int = DEFAULT_CHUNK,
    on_round: Callable[[TimerReport], None] | None = None,
    policy: PolicyEngine | None = None,
) -> TimerReport:
    """Fire every pending timer due at ``clock.now()``; returns what happened."""
    if chunk < 1:
        raise ValueError("chunk must be at least 1")
    report = TimerReport()
    report.woken = wake_snoozed(uow=uow, clock=clock, chunk=chunk)
    hops = detectors.settings.timeline_hops
    while True:
        now = clock.now()
        with uow() as tx:
            due = tx.claim_due_expectations(now, chunk)
            if not due:
                break
            anchors = {anchor for x in due for anchor in x.timeline_anchors()}
            graph = EntityGraph.of(tx.load_timeline_events(sorted(anchors), hops))
            met: list[str] = []
            fired: list[str] = []
            unknown: list[str] = []
            findings: dict[str, Finding] = {}
            for expectation in due:
                rule = detectors.expectation_rule(expectation.rule)
                if rule is None:
                    # A rule no longer configured: settle it so it is not claimed forever.
                    unknown.append(expectation.id)
                    continue
                timeline = merged_timeline(graph, expectation, hops)
                if rule.is_met(expectation, timeline):
                    met.append(expectation.id)
                    continue
                fired.append(expectation.id)
                finding = rule.finding(expectation, timeline, now)
                findings.setdefault(finding.id, finding)
            fresh = unseen_findings(list(findings.values()), tx)
            plan = store_findings(fresh, tx, now, policy=policy)
            tx.settle_expectations(met, ExpectationStatus.MET, now)
            tx.settle_expectations(fired, ExpectationStatus.FIRED, now)
            tx.settle_expectations(unknown, ExpectationStatus.MET, now)
            by_type = Counter(f.type for f in fresh)
            round_audit = AuditEntry(
                now, TIMER_ACTOR, "timers.fired", "expectations", f"round-{now.isoformat()}",
                {"due": len(due), "met": len(met), "fired": len(fired),
                 "unknown_rule": len(unknown), "findings": dict(sorted(by_type.items())),
                 "cases_opened": len(plan.created), "cases_attached": plan.attached},
            )  # fmt: skip
            tx.append_audit([*plan.audit, round_audit])
            tx.commit()
        report.due += len(due)
        report.met += len(met)
        report.fired += len(fired)
        report.unknown += len(unknown)
        report.findings += len(fresh)
        report.cases_opened += len(plan.created)
        report.cases_attached += plan.attached
        report.findings_by_type.update(by_type)
        report.rounds += 1
        if on_round is not None:
            on_round(report)
    return report


def timer_counts(*, reader: Callable[[], UnitOfWork]) -> dict[str, dict[str, Any]]:
    """Expected-but-missing timers by rule: how many pending, met and fired, and the next due."""
    with reader() as tx:
        return tx.expectation_counts()
