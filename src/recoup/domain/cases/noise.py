"""Noise control on cases: snooze until a time, and accept a discrepancy until a time.

- **Snooze.** A snoozed case stays open and keeps taking findings about its entity (they are
  recorded on its timeline), but it is out of the working queue until ``snoozed_until``; then
  it wakes up as ``triaged`` (somebody already looked at it). Use it for "the bank says the
  return is coming on Friday".
- **Accept.** An accepted case is resolved with outcome ``accepted`` and keeps its open key
  until ``accepted_until``: a finding that brings no new evidence is recorded and suppressed
  (no new case, no reopening). Evidence is the money at stake: the case's exposures (one amount
  per distinct exposure key). A finding that adds an exposure or raises an amount *changes the
  evidence* and reopens the case. After ``accepted_until`` the acceptance lapses and the next
  finding opens a new case. Use it for a known fee difference or a customer who always pays
  short by a rounding amount.

Edge-triggering and dedupe windows live in the detectors (one finding id per threshold
crossing) and in ``casing.py`` (repeat findings join the open case within the type's window).
"""

from __future__ import annotations

from datetime import datetime

from recoup.domain.cases.acceptance import ACCEPTED, exposure_fingerprint
from recoup.domain.cases.case import Case, CaseStatus
from recoup.domain.cases.casing import CasePlan, change_plan
from recoup.domain.errors import ConflictError, InvalidInputError


def _check_reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise InvalidInputError("a reason is required (it goes on the audit record)")
    if len(text) > 1000:
        raise InvalidInputError("the reason is longer than 1,000 characters")
    return text


def snooze(case: Case, until: datetime, reason: str, actor: str, now: datetime) -> CasePlan:
    """Snooze an open case until ``until``."""
    reason = _check_reason(reason)
    if not case.is_open:
        raise ConflictError(f"case {case.id} is {case.status.value}; only open cases snooze")
    if until <= now:
        raise InvalidInputError(f"snooze until {until.isoformat()} is not in the future")
    before = case.snapshot()
    case.status = CaseStatus.SNOOZED
    case.snoozed_until = until
    case.updated_at = now
    return change_plan(case, before, now=now, actor=actor, action="case.snoozed",
                       kind="snoozed", summary=f"snoozed until {until.isoformat()}: {reason}",
                       data={"until": until.isoformat(), "reason": reason})  # fmt: skip


def wake(case: Case, now: datetime, actor: str) -> CasePlan:
    """End a snooze (its time came, or someone woke it): back to ``triaged``."""
    if case.status is not CaseStatus.SNOOZED:
        raise ConflictError(f"case {case.id} is {case.status.value}, not snoozed")
    before = case.snapshot()
    until = case.snoozed_until
    case.status = CaseStatus.TRIAGED
    case.snoozed_until = None
    case.updated_at = now
    data = {"snoozed_until": None if until is None else until.isoformat()}
    return change_plan(case, before, now=now, actor=actor, action="case.woken", kind="woken",
                       summary="snooze ended", data=data)  # fmt: skip


def accept(case: Case, until: datetime, reason: str, actor: str, now: datetime) -> CasePlan:
    """Accept the discrepancy until ``until``: resolve as accepted, keep taking findings,
    suppress those that bring no new evidence."""
    reason = _check_reason(reason)
    if not case.is_open:
        raise ConflictError(f"case {case.id} is {case.status.value}; only open cases are accepted")
    if case.open_key is None:
        raise ConflictError(f"case {case.id} no longer takes findings; accept the newer case")
    if until <= now:
        raise InvalidInputError(f"accept until {until.isoformat()} is not in the future")
    before = case.snapshot()
    case.status = CaseStatus.RESOLVED
    case.outcome = ACCEPTED
    case.resolved_at = now
    case.updated_at = now
    case.snoozed_until = None
    case.accepted_until = until
    case.accepted_fingerprint = exposure_fingerprint(case.exposures)
    plan = change_plan(case, before, now=now, actor=actor, action="case.accepted",
                       kind="accepted",
                       summary=f"discrepancy accepted until {until.isoformat()}: {reason}",
                       data={"until": until.isoformat(), "reason": reason,
                             "exposures": dict(case.exposures)})  # fmt: skip
    plan.resolved[case.id] = case
    return plan
