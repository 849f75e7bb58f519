"""What the case page offers: the buttons the principal and the policy allow, and the one
recommended next action.

The page only shows what would succeed: the lifecycle's transition table
(``lifecycle.TRANSITIONS``) for moves, ``work`` for any change, an open climb for ladder moves,
money outstanding for a write-off (and whether it needs a second person, above
``RECOUP_WEB__WRITE_OFF_APPROVAL_ABOVE``). The services check all of it again on submit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from recoup.domain.cases import lifecycle
from recoup.domain.cases.case import Case, CaseStatus
from recoup.domain.identity import Permission, Principal
from recoup.domain.recovery.ladder import (
    Intervention,
    LadderSpec,
    LadderState,
    LadderStatus,
    StepKind,
)
from recoup.domain.recovery.selfservice import eligible_actions

MOVE_LABELS = {
    "triaged": "Mark triaged",
    "in_progress": "Start work",
    "waiting": "Wait on someone",
    "escalated": "Escalate",
    "closed": "Close",
}
"""The moves offered as buttons; ``resolved`` has its own form (a resolution code), ``triaged``
from resolved or closed is a reopen."""

LADDER_LABELS = {
    Intervention.RETRY_NOW: "Retry the payment now",
    Intervention.INPUT_RECEIVED: "The input arrived: next step",
    Intervention.ESCALATE: "Hand to a person now",
    Intervention.STOP: "Stop the climb",
}


@dataclass(frozen=True, slots=True)
class CaseActions:
    can_work: bool
    moves: list[tuple[str, str]] = field(default_factory=list)
    resolutions: list[str] = field(default_factory=list)
    can_assign: bool = False
    members: list[str] = field(default_factory=list)
    ladder_moves: list[tuple[str, str]] = field(default_factory=list)
    write_off: Decimal | None = None
    """The outstanding amount a write-off would post, when one is possible."""
    write_off_needs_approval: bool = False
    can_link: bool = False


def outstanding(case: Case) -> Decimal | None:
    if case.amount is None or not case.currency:
        return None
    left = case.amount - (case.recovered_amount or Decimal(0))
    return left if left > 0 else None


def _ladder_moves(climb: LadderState | None, ladder: LadderSpec | None) -> list[tuple[str, str]]:
    if climb is None or climb.is_finished:
        return []
    moves: list[Intervention] = []
    first_unrun = climb.step_index + 1 if climb.pending_key else climb.step_index
    steps = ladder.steps if ladder is not None else ()
    if any(s.kind is StepKind.RETRY for s in steps[first_unrun:]):
        moves.append(Intervention.RETRY_NOW)
    if climb.status is LadderStatus.WAITING_INPUT:
        moves.append(Intervention.INPUT_RECEIVED)
    moves += [Intervention.ESCALATE, Intervention.STOP]
    return [(m.value, LADDER_LABELS[m]) for m in moves]


def _offers(case: Case, climb: LadderState | None, ladder: LadderSpec | None) -> list[str]:
    """What a self-service link sent now would offer (the climb's current step decides)."""
    if climb is None or climb.is_finished or ladder is None:
        return []
    step = ladder.steps[climb.step_index] if climb.step_index < len(ladder.steps) else None
    return eligible_actions(case.type, case.pauses_automation, step)


def case_actions(
    case: Case,
    who: Principal,
    *,
    climb: LadderState | None,
    ladder: LadderSpec | None,
    approval_above: Decimal,
    members: list[str],
    has_secret: bool,
) -> CaseActions:
    if not who.can(Permission.WORK):
        return CaseActions(can_work=False)
    allowed = lifecycle.TRANSITIONS[case.status]
    reopens = not case.is_open
    moves: list[tuple[str, str]] = [
        (s.value, "Reopen" if reopens and s is CaseStatus.TRIAGED else MOVE_LABELS[s.value])
        for s in allowed if s.value in MOVE_LABELS
    ]  # fmt: skip
    open_ = case.is_open and case.pending_resolution is None
    resolutions = sorted(lifecycle.RESOLUTION_CODES - {"written_off"}) if (
        CaseStatus.RESOLVED in allowed and open_) else []  # fmt: skip
    left = outstanding(case) if open_ else None
    return CaseActions(
        can_work=True,
        moves=moves,
        resolutions=resolutions,
        can_assign=case.is_open,
        members=members,
        ladder_moves=_ladder_moves(climb, ladder) if open_ else [],
        write_off=left,
        write_off_needs_approval=left is not None and left > approval_above,
        can_link=open_ and has_secret and bool(_offers(case, climb, ladder)),
    )


def next_action(
    case: Case, climb: LadderState | None, ladder: LadderSpec | None, now: datetime,
    *, pending_approval: bool = False,
) -> str:  # fmt: skip
    """The one thing to do next, in words, from the case's state (first match wins)."""
    if case.pending_resolution is not None:
        return ("Wait for the writeback to be confirmed: the case resolves when the system of "
                "record answers.")  # fmt: skip
    if not case.is_open:
        return "Nothing to do: the case is " + case.status.value + "."
    if pending_approval:
        return "Wait for a second person to approve the write-off (see Approvals)."
    if case.duplicate_of:
        return "Check the likely duplicate: resolve as duplicate, or dismiss the link."
    if climb is not None and not climb.is_finished:
        steps = ladder.steps if ladder is not None else ()
        label = steps[climb.step_index].kind.value if climb.step_index < len(steps) else "end"
        if climb.status is LadderStatus.WAITING_INPUT:
            return "Wait for the customer's answer (or record that it arrived)."
        if climb.next_at is not None and climb.next_at > now:
            return (f"Let the ladder run: step {climb.step_index + 1} ({label.replace('_', ' ')})"
                    f" is due at {climb.next_at.strftime('%Y-%m-%d %H:%M UTC')}.")  # fmt: skip
        return f"Run the ladder's next step: step {climb.step_index + 1} ({label})."
    if case.status is CaseStatus.NEW:
        return "Triage: confirm the finding and take the case (assign it, start work)."
    if case.status is CaseStatus.WAITING:
        return f"Follow up with the {case.waiting_on or 'other party'}."
    if case.sla_due_at < now:
        return "Past its SLA deadline: resolve it or escalate now."
    if outstanding(case) is not None:
        return "Decide the money: recover it, resolve with a code, or write it off."
    return "Resolve the case with a resolution code."
