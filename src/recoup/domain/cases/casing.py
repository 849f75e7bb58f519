"""Open a case for a finding, or attach the finding to the open case about the same entity.

A repeated finding (the third failed retry of one payment, a second duplicate charge to the same
customer) joins the open case when it falls within the type's dedupe window after the case's
latest finding; outside the window it opens a fresh case, which takes over the open key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from recoup.domain.audit import AuditEntry
from recoup.domain.cases.acceptance import acceptance_holds, reopen_for_evidence
from recoup.domain.cases.calendar import Calendar
from recoup.domain.cases.case import TIER_RANK, Case, CaseStatus, open_key
from recoup.domain.cases.outcomes import Resolution, settle_amounts
from recoup.domain.detection.findings import Finding
from recoup.domain.detection.taxonomy import Tier
from recoup.domain.ids import derived_id
from recoup.domain.policy import PolicyEngine, PolicyInput, to_record

SYSTEM_ACTOR = "system:ingest"


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    id: str
    case_id: str
    at: datetime
    kind: str
    actor: str
    summary: str
    finding_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


AGING_ALERTS: tuple[tuple[str, timedelta], ...] = (
    ("aging_1d", timedelta(days=1)),
    ("aging_3d", timedelta(days=3)),
    ("aging_7d", timedelta(days=7)),
)
"""(timer kind, age) of the aging alerts every case gets when it opens."""


@dataclass(frozen=True, slots=True)
class Timer:
    id: str
    case_id: str
    kind: str
    due_at: datetime


@dataclass
class CasePlan:
    """Everything one batch of findings does to cases, ready to be stored in one transaction."""

    created: dict[str, Case] = field(default_factory=dict)
    updated: dict[str, Case] = field(default_factory=dict)
    assignments: dict[str, str] = field(default_factory=dict)  # finding id -> case id
    timeline: list[TimelineEntry] = field(default_factory=list)
    timers: list[Timer] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    attached: int = 0
    resolved: dict[str, Case] = field(default_factory=dict)
    reopened: set[str] = field(default_factory=set)
    """Accepted cases whose evidence changed."""
    suppressed: set[str] = field(default_factory=set)
    """Accepted cases that took a finding with no new evidence."""


def policy_input(finding: Finding) -> PolicyInput:
    spec = finding.spec
    return PolicyInput(
        type=finding.type,
        category=spec.category.value,
        kind=spec.kind.value,
        breakpoint=spec.breakpoint.value,
        entity_kind=finding.entity_kind,
        amount=None if finding.amount is None else str(finding.amount),
        currency=finding.currency,
        reason_code=finding.reason_code,
        tier_hint=finding.tier.value,
        customer_tier=_text(finding.detail.get("customer_tier")),
        supplier_tier=_text(finding.detail.get("supplier_tier")),
        confidence=_number(finding.detail.get("confidence")),
    )


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def change_plan(
    case: Case,
    before: dict[str, Any],
    *,
    now: datetime,
    actor: str,
    action: str,
    kind: str,
    summary: str,
    data: dict[str, Any],
    entry_key: str | None = None,
    updates: bool = True,
) -> CasePlan:
    """One change to one case, ready to store: the case itself (unless ``updates`` is false),
    a timeline entry of ``kind`` and an audit record ``action`` with the case before and after.
    The entry's id follows from the case, the kind and ``entry_key`` (default: the case's
    version, the time, the action and its data, so two changes at one instant get two entries,
    even the same change made twice)."""
    plan = CasePlan()
    if updates:
        plan.updated[case.id] = case
    plan.timeline.append(
        TimelineEntry(
            id=derived_id(
                "timeline",
                case.id,
                kind,
                entry_key or f"{case.version}|{now.isoformat()}|{action}|{sorted(data.items())!r}",
            ),
            case_id=case.id,
            at=now,
            kind=kind,
            actor=actor,
            summary=summary,
            data=data,
        )
    )
    plan.audit.append(
        AuditEntry(now, actor, action, "case", case.id,
                   {"before": before, "after": case.snapshot(), **data})
    )  # fmt: skip
    return plan


class _SlaClock:
    """The SLA instants of cases opened at one time. A plan opens all its cases at ``now``,
    and the policy gives few distinct durations, so the calendar (a business calendar walks
    its windows day by day) is asked once per duration, not twice per case."""

    def __init__(self, calendar: Calendar, now: datetime) -> None:
        self.calendar = calendar
        self.now = now
        self._due: dict[timedelta, datetime] = {}

    def after(self, duration: timedelta) -> datetime:
        due = self._due.get(duration)
        if due is None:
            due = self._due[duration] = self.calendar.add(self.now, duration)
        return due


def _new_case(
    finding: Finding,
    now: datetime,
    policy: PolicyEngine | None = None,
    sla: _SlaClock | None = None,
) -> Case:
    case = _default_case(finding, now)
    if policy is None:
        return case
    sla = sla or _SlaClock(policy.calendar, now)
    decision = policy.decide(policy_input(finding))
    case.tier = decision.tier
    case.owner_team = decision.owner_team
    case.queue = decision.queue
    case.sla_goal_at = sla.after(decision.sla_goal)
    case.sla_due_at = sla.after(decision.sla_deadline)
    case.pauses_automation = decision.pauses_automation
    case.decision = to_record(decision)
    return case


def _default_case(finding: Finding, now: datetime) -> Case:
    spec = finding.spec
    return Case(
        id=derived_id("case", finding.id),
        type=finding.type,
        category=spec.category.value,
        entity_kind=finding.entity_kind,
        entity_key=finding.entity_key,
        status=CaseStatus.NEW,
        tier=finding.tier,
        owner_team=spec.owner_team,
        queue=spec.queue,
        breakpoint=spec.breakpoint.value,
        kind=spec.kind.value,
        title=finding.summary,
        opened_at=now,
        updated_at=now,
        first_seen_at=finding.occurred_at,
        last_seen_at=finding.occurred_at,
        sla_goal_at=now + spec.sla_goal,
        sla_due_at=now + spec.sla_deadline,
        pauses_automation=spec.pauses_automation,
        open_key=open_key(finding.type, finding.entity_kind, finding.entity_key),
    )


def _add_exposure(case: Case, finding: Finding) -> None:
    """Money at stake counts each distinct exposure once, at its largest amount."""
    if finding.amount is None or finding.currency is None:
        return
    if case.currency is None:
        case.currency = finding.currency
    if finding.currency != case.currency:
        return
    key = finding.exposure_key or finding.id
    previous = Decimal(case.exposures.get(key, "0"))
    if finding.amount > previous:
        case.exposures[key] = str(finding.amount)
        case.amount = sum((Decimal(v) for v in case.exposures.values()), Decimal(0))


def _record(case: Case, finding: Finding) -> None:
    case.finding_count += 1
    case.first_seen_at = min(case.first_seen_at, finding.occurred_at)
    case.last_seen_at = max(case.last_seen_at, finding.occurred_at)
    if TIER_RANK[finding.tier] > TIER_RANK[case.tier]:
        case.tier = finding.tier
    _add_exposure(case, finding)


def plan_cases(
    findings: Iterable[Finding],
    open_cases: Mapping[str, Case],
    now: datetime,
    resolutions: Iterable[Resolution] = (),
    policy: PolicyEngine | None = None,
) -> CasePlan:
    """Decide, in time order, which case each finding opens or joins, and which open cases the
    sources' own outcomes (a retry that succeeded, a dispute won) resolve."""
    plan = CasePlan()
    current: dict[str, Case] = dict(open_cases)
    before: dict[str, dict[str, Any]] = {}
    sla = None if policy is None else _SlaClock(policy.calendar, now)
    stream: list[tuple[datetime, int, str, Finding | Resolution]] = [
        (f.occurred_at, 0, f.id, f) for f in findings
    ]
    stream += [(r.occurred_at, 1, r.event_id, r) for r in resolutions]
    for _at, _order, _id, item in sorted(stream, key=lambda x: (x[0], x[1], x[2])):
        if isinstance(item, Resolution):
            _resolve(item, current, plan, before, now)
            continue
        finding = item
        key = open_key(finding.type, finding.entity_kind, finding.entity_key)
        case = current.get(key)
        window = finding.spec.dedupe_window
        holds = None if case is None or case.is_open else acceptance_holds(case, finding, now)
        if case is not None and holds is not None:
            # An accepted discrepancy: same evidence is suppressed, new evidence reopens it.
            if case.id not in plan.created and case.id not in before:
                before[case.id] = case.snapshot()
            if holds:
                plan.suppressed.add(case.id)
                kind = "finding_suppressed"
            else:
                reopen_for_evidence(case)
                plan.reopened.add(case.id)
                kind = "reopened"
            _record(case, finding)
            case.updated_at = now
            if case.id not in plan.created:
                plan.updated[case.id] = case
            plan.attached += 1
            plan.timeline.append(_entry(case, finding, now, kind))
        elif case is not None and case.is_open and _within(finding, case, window):
            if case.id not in plan.created and case.id not in before:
                before[case.id] = case.snapshot()
            _record(case, finding)
            case.updated_at = now
            if case.id not in plan.created:
                plan.updated[case.id] = case
            plan.attached += 1
            plan.timeline.append(_entry(case, finding, now, "finding_attached"))
        else:
            if case is not None:
                # The old case stays open but stops taking findings: it is outside the window.
                if case.id not in plan.created:
                    before.setdefault(case.id, case.snapshot())
                    plan.updated[case.id] = case
                case.open_key = None
                case.updated_at = now
            case = _new_case(finding, now, policy, sla)
            _record(case, finding)
            if case.decision is not None:
                case.tier = Tier(case.decision["outputs"]["tier"])  # the policy decides it
            current[key] = case
            plan.created[case.id] = case
            plan.timeline.append(_entry(case, finding, now, "opened"))
            plan.timers.extend(
                [
                    Timer(derived_id("timer", case.id, "sla_goal"), case.id, "sla_goal",
                          case.sla_goal_at),
                    Timer(derived_id("timer", case.id, "sla_deadline"), case.id,
                          "sla_deadline", case.sla_due_at),
                    *(Timer(derived_id("timer", case.id, kind), case.id, kind,
                            case.opened_at + age) for kind, age in AGING_ALERTS),
                ]
            )  # fmt: skip
        plan.assignments[finding.id] = case.id
    for case in plan.created.values():
        plan.audit.append(
            AuditEntry(now, SYSTEM_ACTOR, "case.opened", "case", case.id,
                       {"after": case.snapshot(), "type": case.type,
                        "entity": f"{case.entity_kind}:{case.entity_key}"})
        )  # fmt: skip
    for case in plan.created.values():
        if case.id in plan.resolved:
            plan.audit.append(
                AuditEntry(now, SYSTEM_ACTOR, "case.resolved", "case", case.id,
                           {"after": case.snapshot(), "outcome": case.outcome})
            )  # fmt: skip
    for case_id, snapshot in before.items():
        case = plan.updated[case_id]
        after = case.snapshot()
        if case_id in plan.resolved:
            action = "case.resolved"
        elif case_id in plan.reopened:
            action = "case.reopened"
        elif case_id in plan.suppressed:
            action = "case.findings_suppressed"
        elif after["finding_count"] != snapshot["finding_count"]:
            action = "case.findings_attached"
        else:
            action = "case.stopped_taking_findings"
        plan.audit.append(
            AuditEntry(now, SYSTEM_ACTOR, action, "case", case_id,
                       {"before": snapshot, "after": after,
                        "accepts_findings": case.open_key is not None})
        )  # fmt: skip
    return plan


def _resolve(
    resolution: Resolution,
    current: dict[str, Case],
    plan: CasePlan,
    before: dict[str, dict[str, Any]],
    now: datetime,
) -> None:
    for key in resolution.open_keys():
        case = current.get(key)
        if case is None or not case.is_open or resolution.occurred_at < case.first_seen_at:
            continue
        if case.id not in plan.created:
            before.setdefault(case.id, case.snapshot())
        case.status = CaseStatus.RESOLVED
        case.outcome = resolution.outcome
        settle_amounts(case, resolution)
        case.resolved_at = now
        case.updated_at = now
        case.open_key = None
        del current[key]
        if case.id not in plan.created:
            plan.updated[case.id] = case
        plan.resolved[case.id] = case
        plan.timeline.append(
            TimelineEntry(
                id=derived_id("timeline", case.id, "resolved", resolution.event_id),
                case_id=case.id,
                at=now,
                kind="resolved",
                actor=SYSTEM_ACTOR,
                summary=f"{resolution.outcome}: {resolution.summary}",
                data={"event_id": resolution.event_id, "outcome": resolution.outcome,
                      "occurred_at": resolution.occurred_at.isoformat()},
            )
        )  # fmt: skip


def _within(finding: Finding, case: Case, window: timedelta) -> bool:
    """Inside the dedupe window on either side of what the case has seen (events can arrive
    out of order)."""
    return case.first_seen_at - window <= finding.occurred_at <= case.last_seen_at + window


def _entry(case: Case, finding: Finding, now: datetime, kind: str) -> TimelineEntry:
    return TimelineEntry(
        id=derived_id("timeline", case.id, kind, finding.id),
        case_id=case.id,
        at=now,
        kind=kind,
        actor=SYSTEM_ACTOR,
        summary=finding.summary,
        finding_id=finding.id,
        data={
            "evidence": list(finding.evidence_event_ids),
            "occurred_at": finding.occurred_at.isoformat(),
        },
    )
