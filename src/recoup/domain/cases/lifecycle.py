"""The case lifecycle: one transition table, one time per stage, every move audited.

    new -> triaged -> in_progress -> waiting (customer, counterparty, internal) -> escalated
        -> resolved -> closed

Any open stage may go to ``resolved`` (with a resolution code) or be escalated; ``waiting``
names on whom; ``resolved`` and ``closed`` may be reopened, which counts as rework and brings the
case back to ``triaged``. Snoozing and accepting have their own commands (``noise.py``). A move
the table does not allow is a ``ConflictError`` naming what is allowed from there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from recoup.domain.cases.case import Case, CaseStatus
from recoup.domain.cases.casing import CasePlan, change_plan
from recoup.domain.errors import ConflictError, InvalidInputError

S = CaseStatus
OPEN_STAGES = (S.NEW, S.TRIAGED, S.IN_PROGRESS, S.WAITING, S.ESCALATED, S.SNOOZED)

TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    S.NEW: frozenset({S.TRIAGED, S.IN_PROGRESS, S.WAITING, S.ESCALATED, S.RESOLVED}),
    S.TRIAGED: frozenset({S.IN_PROGRESS, S.WAITING, S.ESCALATED, S.RESOLVED}),
    S.IN_PROGRESS: frozenset({S.WAITING, S.ESCALATED, S.RESOLVED}),
    S.WAITING: frozenset({S.IN_PROGRESS, S.ESCALATED, S.RESOLVED}),
    S.ESCALATED: frozenset({S.IN_PROGRESS, S.WAITING, S.ESCALATED, S.RESOLVED}),
    S.SNOOZED: frozenset({S.TRIAGED, S.IN_PROGRESS, S.ESCALATED, S.RESOLVED}),
    S.RESOLVED: frozenset({S.CLOSED, S.TRIAGED}),
    S.CLOSED: frozenset({S.TRIAGED}),
}
"""Where each stage may go. ``triaged`` from ``resolved`` or ``closed`` is a reopen."""

WAITING_ON = frozenset({"customer", "counterparty", "internal"})

RESOLUTION_CODES = frozenset(
    {
        "recovered",
        "partially_recovered",
        "written_off",
        "customer_liable",
        "duplicate",
        "false_positive",
        "accepted_discrepancy",
        "refunded",
    }
)
"""Codes a person resolves a case with. Sources resolve with their own outcomes too (``won``,
``lost``, ``settled``, ``shipped``...: ``outcomes.py``)."""


def target_stage(name: str) -> CaseStatus:
    """The stage a person asked to move a case to; snoozing is refused (it needs a time)."""
    try:
        to = CaseStatus(name)
    except ValueError:
        names = ", ".join(s.value for s in CaseStatus if s is not S.SNOOZED)
        raise InvalidInputError(f"unknown status {name!r}; use one of {names}") from None
    if to is S.SNOOZED:
        raise InvalidInputError("snoozing needs a time: use `recoup cases snooze`")
    return to


def _stamp(case: Case, to: CaseStatus, now: datetime) -> None:
    if to is S.TRIAGED:
        case.triaged_at = case.triaged_at or now
    elif to is S.IN_PROGRESS:
        case.in_progress_at = case.in_progress_at or now
    elif to is S.WAITING:
        case.waiting_at = now
    elif to is S.ESCALATED:
        case.escalated_at = now
    elif to is S.RESOLVED:
        case.resolved_at = now
    elif to is S.CLOSED:
        case.closed_at = now


def transition(
    case: Case,
    to: CaseStatus,
    *,
    reason: str,
    actor: str,
    now: datetime,
    resolution: str | None = None,
    waiting_on: str | None = None,
) -> CasePlan:
    """Move ``case`` to ``to``; returns the plan (case, timeline entry, audit record) to store in
    one transaction. Raises ``ConflictError`` for a move the table does not allow and
    ``InvalidInputError`` for a missing reason, resolution code or waiting party."""
    reason = reason.strip()
    if not reason:
        raise InvalidInputError("a reason is required (it goes on the audit record)")
    allowed = TRANSITIONS[case.status]
    if to not in allowed:
        names = ", ".join(sorted(s.value for s in allowed)) or "nothing"
        raise ConflictError(
            f"case {case.id} is {case.status.value}; it cannot move to {to.value} "
            f"(allowed: {names})"
        )
    if to is S.RESOLVED:
        if resolution not in RESOLUTION_CODES:
            codes = ", ".join(sorted(RESOLUTION_CODES))
            raise InvalidInputError(f"resolving needs a resolution code, one of {codes}")
    elif resolution is not None:
        raise InvalidInputError("a resolution code is only given when resolving")
    if to is S.WAITING:
        if waiting_on not in WAITING_ON:
            raise InvalidInputError("waiting needs --on customer, counterparty or internal")
    elif waiting_on is not None:
        raise InvalidInputError("--on is only given when waiting")
    before = case.snapshot()
    reopened = case.status in (S.RESOLVED, S.CLOSED) and to is S.TRIAGED
    action = "case.reopened" if reopened else f"case.{to.value}"
    case.status = to
    case.updated_at = now
    _stamp(case, to, now)
    case.waiting_on = waiting_on if to is S.WAITING else None
    case.snoozed_until = None
    if to is S.ESCALATED:
        case.escalation_level += 1
    if to is S.RESOLVED:
        case.outcome = resolution
        case.open_key = None  # a later finding opens a new case
    if reopened:
        case.reopen_count += 1
        case.outcome = None
        case.resolved_at = None
        case.closed_at = None
        case.accepted_until = None
        case.accepted_fingerprint = None
    data: dict[str, Any] = {"reason": reason, "to": to.value}
    if resolution is not None:
        data["resolution"] = resolution
    if waiting_on is not None:
        data["waiting_on"] = waiting_on
    kind = "reopened" if reopened else to.value
    plan = change_plan(case, before, now=now, actor=actor, action=action, kind=kind,
                       summary=f"{kind}: {reason}", data=data,
                       entry_key=f"{now.isoformat()}|{case.version}")  # fmt: skip
    if to is S.RESOLVED:
        plan.resolved[case.id] = case
    return plan
