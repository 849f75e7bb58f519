"""The worker: everything that happens because time passed.

One round wakes ended snoozes, fires the due expected-but-missing timers (``expectations.py``)
and the due SLA timers: the owner reminded at the goal, the case escalated at the deadline.
Each chunk of timers is claimed, applied, marked fired and audited in one transaction; on
PostgreSQL claims use ``FOR UPDATE SKIP LOCKED``, so several workers never fire one timer twice,
and a worker that dies mid-chunk leaves its claims to the next round (its transaction rolls
back).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from recoup.domain.assist.store import AssistUow
from recoup.domain.audit import AuditEntry
from recoup.domain.cases import sla
from recoup.domain.detection.detectors import Detectors
from recoup.domain.policy import PolicyEngine
from recoup.domain.ports import Clock, UnitOfWorkFactory
from recoup.domain.recovery.writeback import MAX_ATTEMPTS, WritebackPort
from recoup.services.assist import AssistOptions, AssistTools, scan_patterns, suggest_new_cases
from recoup.services.expectations import DEFAULT_CHUNK, TimerReport, fire_due
from recoup.services.notify import Delivering, DeliverReport, NotifyUow
from recoup.services.notify import deliver_due as deliver_webhooks
from recoup.services.recovery import Recovery, RecoveryReport, run_recovery
from recoup.services.retention import apply_retention
from recoup.services.writeback import DEFAULT_LEASE, DeliveryReport, deliver_due

WORKER_ACTOR = "system:worker"


@dataclass
class SlaReport:
    due: int = 0
    reminded: int = 0
    escalated: int = 0
    aging_alerts: int = 0
    skipped: int = 0
    """Timers of cases no longer open (fired as no-ops)."""
    max_lateness_seconds: float = 0.0


@dataclass
class WorkerReport:
    timers: TimerReport = field(default_factory=TimerReport)
    sla: SlaReport = field(default_factory=SlaReport)
    recovery: RecoveryReport = field(default_factory=RecoveryReport)
    writeback: DeliveryReport = field(default_factory=DeliveryReport)
    notify: DeliverReport = field(default_factory=DeliverReport)
    suggested: int = 0
    pattern_alerts: int = 0
    redacted: int = 0

    @property
    def fired(self) -> int:
        return (self.timers.due + self.timers.woken + self.sla.due + self.recovery.climbs
                + self.writeback.claimed + self.notify.claimed + self.suggested
                + self.pattern_alerts + self.redacted)  # fmt: skip


@dataclass
class Periodic:
    """Work the worker does besides what is due: triage suggestions for new cases (every round,
    once a model exists), the spike scan (every ``scan_every``) and retention (every
    ``retention_every``). The last run times live in the process: after a restart each runs
    once at once, which is harmless (both are idempotent)."""

    assist_tools: AssistTools | None = None
    assist_options: AssistOptions | None = None
    scan_every: timedelta = timedelta(hours=1)
    retention_days: int | None = None
    retention_batch: int = 2000
    retention_every: timedelta = timedelta(hours=24)
    last_scan_at: datetime | None = None
    last_retention_at: datetime | None = None

    def run(self, report: WorkerReport, *, uow: UnitOfWorkFactory, clock: Clock,
            policy: PolicyEngine | None) -> None:  # fmt: skip
        now = clock.now()
        assist_uow = cast(AssistUow, uow)
        if self.assist_tools is not None and self.assist_options is not None:
            report.suggested = suggest_new_cases(uow=assist_uow, clock=clock,
                                                 tools=self.assist_tools,
                                                 options=self.assist_options)  # fmt: skip
            if _due(self.last_scan_at, self.scan_every, now):
                self.last_scan_at = now
                scan = scan_patterns(uow=assist_uow, clock=clock, options=self.assist_options,
                                     policy=policy)  # fmt: skip
                report.pattern_alerts = len(scan.alerts)
        if self.retention_days is not None and _due(self.last_retention_at,
                                                    self.retention_every, now):  # fmt: skip
            self.last_retention_at = now
            kept = apply_retention(uow=uow, clock=clock, days=self.retention_days,
                                   batch=self.retention_batch)  # fmt: skip
            report.redacted = sum(kept.redacted.values())


def _due(last: datetime | None, every: timedelta, now: datetime) -> bool:
    return last is None or now - last >= every


def fire_sla_timers(
    *, uow: UnitOfWorkFactory, clock: Clock, chunk: int = DEFAULT_CHUNK
) -> SlaReport:
    """Fire every SLA timer due at ``clock.now()``."""
    report = SlaReport()
    while True:
        now = clock.now()
        with uow() as tx:
            due = tx.claim_due_timers(now, chunk)
            if not due:
                return report
            cases = tx.cases_by_id([case_id for _, case_id, _, _ in due])
            plans = []
            for _timer_id, case_id, kind, due_at in due:
                case = cases.get(case_id)
                plan = sla.fire(case, kind, due_at, now) if case is not None else None
                if plan is None or not plan.audit:
                    report.skipped += 1
                    continue
                plans.append(plan)
                if kind == sla.SLA_GOAL:
                    report.reminded += 1
                elif kind == sla.SLA_DEADLINE:
                    report.escalated += 1
                else:
                    report.aging_alerts += 1
                lateness = (now - due_at).total_seconds()
                report.max_lateness_seconds = max(report.max_lateness_seconds, lateness)
            merged = sla.merge(plans)
            tx.save_plan(merged, [])
            tx.mark_timers_fired([timer_id for timer_id, _, _, _ in due], now)
            summary = AuditEntry(now, WORKER_ACTOR, "timers.sla_fired", "timers",
                                 f"sla-{now.isoformat()}", {"due": len(due)})  # fmt: skip
            tx.append_audit([*merged.audit, summary])
            tx.commit()
        report.due += len(due)


def run_due(
    *,
    uow: UnitOfWorkFactory,
    clock: Clock,
    detectors: Detectors,
    chunk: int = DEFAULT_CHUNK,
    policy: PolicyEngine | None = None,
    recovery: Recovery | None = None,
    writeback: Writeback | None = None,
    notify: Delivering | None = None,
    periodic: Periodic | None = None,
) -> WorkerReport:
    """One round: snoozes, expected-but-missing timers, SLA timers, due recovery steps, due
    writebacks, due outbound webhooks, then the :class:`Periodic` work."""
    timers = fire_due(uow=uow, clock=clock, detectors=detectors, chunk=chunk, policy=policy)
    sla_report = fire_sla_timers(uow=uow, clock=clock, chunk=chunk)
    climbed = RecoveryReport()
    if recovery is not None:
        climbed = run_recovery(uow=uow, clock=clock, recovery=recovery)
    delivered = DeliveryReport()
    if writeback is not None:
        delivered = deliver_due(uow=uow, clock=clock, port=writeback.port, rng=writeback.rng,
                                max_attempts=writeback.max_attempts,
                                lease=writeback.lease)  # fmt: skip
    sent = DeliverReport()
    if notify is not None:
        # the store's unit of work has the notify methods (NotifyMixin); the UnitOfWork
        # protocol does not list them yet
        sent = deliver_webhooks(uow=cast(NotifyUow, uow), clock=clock, delivering=notify)
    report = WorkerReport(timers=timers, sla=sla_report, recovery=climbed, writeback=delivered,
                          notify=sent)  # fmt: skip
    if periodic is not None:
        periodic.run(report, uow=uow, clock=clock, policy=policy)
    return report


@dataclass
class Writeback:
    """The writeback the worker delivers: the adapter, a jitter source, the attempt limit."""

    port: WritebackPort
    rng: random.Random = field(default_factory=random.Random)
    max_attempts: int = MAX_ATTEMPTS
    lease: timedelta = DEFAULT_LEASE


def run_worker(
    *,
    uow: UnitOfWorkFactory,
    clock: Clock,
    detectors: Detectors,
    interval: float = 5.0,
    rounds: int | None = None,
    on_round: Callable[[WorkerReport], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    policy: PolicyEngine | None = None,
    recovery: Recovery | None = None,
    writeback: Writeback | None = None,
    notify: Delivering | None = None,
    periodic: Periodic | None = None,
) -> int:
    """Run rounds every ``interval`` seconds until ``should_stop()`` or ``rounds`` are done;
    returns the rounds run. A round that found work is followed at once by another."""
    done = 0
    while not should_stop() and (rounds is None or done < rounds):
        report = run_due(uow=uow, clock=clock, detectors=detectors, policy=policy,
                         recovery=recovery, writeback=writeback, notify=notify,
                         periodic=periodic)  # fmt: skip
        done += 1
        if on_round is not None:
            on_round(report)
        if report.fired == 0 and (rounds is None or done < rounds):
            time.sleep(interval)
    return done
