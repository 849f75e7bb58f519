"""What an SLA timer does when it comes due.

- At the **goal** the owner is reminded: a timeline entry and an audit record, nothing else.
- At the **deadline** the case escalates: status ``escalated`` (one level up), the breach is
  recorded (``sla_breached_at``), audited as ``case.sla_breached``.

- At each **aging** mark (:data:`AGING_ALERTS`: one, three and seven days after opening) an
  aging alert goes on the timeline and the audit trail, once per crossing, nothing else.

A timer of a case that is no longer open does nothing (resolving cancels them; this covers a
race with a resolution in another transaction). Each timer fires once: its row is marked fired
in the same transaction as its effect.
"""

from __future__ import annotations

from datetime import datetime

from recoup.domain.cases.case import Case, CaseStatus
from recoup.domain.cases.casing import AGING_ALERTS, CasePlan, change_plan

SLA_GOAL = "sla_goal"
SLA_DEADLINE = "sla_deadline"
SLA_ACTOR = "system:sla"
AGING_KINDS = {kind: age for kind, age in AGING_ALERTS}


def fire(case: Case, kind: str, due_at: datetime, now: datetime) -> CasePlan:
    """The plan of one due SLA timer on ``case`` (empty when the case is not open)."""
    plan = CasePlan()
    if not case.is_open or kind not in (SLA_GOAL, SLA_DEADLINE, *AGING_KINDS):
        return plan
    before = case.snapshot()
    late = now - due_at
    if kind in AGING_KINDS:
        action, entry_kind = "case.aging_alert", "aging"
        days = AGING_KINDS[kind].days
        summary = f"open for {days} day{'s' if days != 1 else ''}: {case.owner_team} alerted"
    elif kind == SLA_GOAL:
        action, entry_kind = "case.sla_goal_reached", "reminded"
        summary = f"SLA goal reached: {case.owner_team} reminded"
    else:
        action, entry_kind = "case.sla_breached", "escalated"
        case.status = CaseStatus.ESCALATED
        case.escalation_level += 1
        case.escalated_at = now
        case.sla_breached_at = case.sla_breached_at or now
        case.snoozed_until = None
        case.updated_at = now
        summary = f"SLA deadline missed: escalated to level {case.escalation_level}"
    data = {"timer": kind, "due_at": due_at.isoformat(), "late_seconds": late.total_seconds()}
    return change_plan(case, before, now=now, actor=SLA_ACTOR, action=action, kind=entry_kind,
                       summary=summary, data=data, entry_key=due_at.isoformat(),
                       updates=kind == SLA_DEADLINE)  # fmt: skip


def merge(plans: list[CasePlan]) -> CasePlan:
    """One plan for one transaction from several."""
    out = CasePlan()
    for plan in plans:
        out.updated.update(plan.updated)
        out.timeline.extend(plan.timeline)
        out.audit.extend(plan.audit)
        out.resolved.update(plan.resolved)
    return out
