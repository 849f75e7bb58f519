"""The case lifecycle: every transition, valid and invalid; stage times, reopen, resolution
codes and waiting parties; SLA timers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from recoup.domain.cases import sla
from recoup.domain.cases.case import CaseStatus
from recoup.domain.cases.lifecycle import RESOLUTION_CODES, TRANSITIONS, transition
from recoup.domain.errors import ConflictError, InvalidInputError
from tests.unit.test_casing import NOW, finding, opened

S = CaseStatus
LATER = NOW + timedelta(hours=1)


def case_in(status: CaseStatus):  # type: ignore[no-untyped-def]
    case = opened([finding("e1")])
    case.status = status
    return case


def extras(to: CaseStatus) -> dict[str, str]:
    if to is S.RESOLVED:
        return {"resolution": "recovered"}
    if to is S.WAITING:
        return {"waiting_on": "customer"}
    return {}


PAIRS = [(a, b) for a in S for b in S]


@pytest.mark.parametrize(("start", "to"), PAIRS, ids=[f"{a.value}->{b.value}" for a, b in PAIRS])
def test_every_transition_is_allowed_or_refused_by_the_table(
    start: CaseStatus, to: CaseStatus
) -> None:
    case = case_in(start)
    if to in TRANSITIONS[start]:
        plan = transition(case, to, reason="because", actor="user:ana", now=LATER, **extras(to))
        assert case.status is to
        assert case.updated_at == LATER
        assert len(plan.audit) == 1
        assert plan.audit[0].actor == "user:ana"
        assert plan.audit[0].data["reason"] == "because"
        assert plan.audit[0].data["before"]["status"] == start.value
        assert [e.actor for e in plan.timeline] == ["user:ana"]
    else:
        with pytest.raises(ConflictError, match=f"cannot move to {to.value}"):
            transition(case, to, reason="because", actor="user:ana", now=LATER, **extras(to))
        assert case.status is start


def test_each_stage_keeps_its_time() -> None:
    case = opened([finding("e1")])
    steps = [(S.TRIAGED, 1), (S.IN_PROGRESS, 2), (S.WAITING, 3), (S.ESCALATED, 4),
             (S.RESOLVED, 5), (S.CLOSED, 6)]  # fmt: skip
    for to, hours in steps:
        transition(case, to, reason="r", actor="a", now=NOW + timedelta(hours=hours), **extras(to))
    stamps = [case.triaged_at, case.in_progress_at, case.waiting_at, case.escalated_at,
              case.resolved_at, case.closed_at]  # fmt: skip
    assert stamps == [NOW + timedelta(hours=h) for _, h in steps]
    assert case.outcome == "recovered"
    assert case.open_key is None


def test_reopen_counts_as_rework_and_clears_the_outcome() -> None:
    case = case_in(S.NEW)
    transition(case, S.RESOLVED, reason="r", actor="a", now=LATER, resolution="false_positive")
    plan = transition(case, S.TRIAGED, reason="customer wrote back", actor="a", now=LATER)
    assert (case.status, case.outcome, case.resolved_at, case.reopen_count) == (
        S.TRIAGED, None, None, 1)  # fmt: skip
    assert plan.audit[0].action == "case.reopened"
    transition(case, S.RESOLVED, reason="r", actor="a", now=LATER, resolution="recovered")
    transition(case, S.CLOSED, reason="r", actor="a", now=LATER)
    transition(case, S.TRIAGED, reason="again", actor="a", now=LATER)
    assert case.reopen_count == 2


@pytest.mark.parametrize("code", sorted(RESOLUTION_CODES))
def test_every_resolution_code_resolves(code: str) -> None:
    case = case_in(S.IN_PROGRESS)
    plan = transition(case, S.RESOLVED, reason="r", actor="a", now=LATER, resolution=code)
    assert case.outcome == code
    assert case.id in plan.resolved  # pending SLA timers are cancelled with it


def test_bad_codes_parties_and_reasons_are_invalid_input() -> None:
    case = case_in(S.TRIAGED)
    with pytest.raises(InvalidInputError, match="resolution code"):
        transition(case, S.RESOLVED, reason="r", actor="a", now=LATER, resolution="won")
    with pytest.raises(InvalidInputError, match="only given when resolving"):
        transition(case, S.IN_PROGRESS, reason="r", actor="a", now=LATER, resolution="recovered")
    with pytest.raises(InvalidInputError, match="customer, counterparty or internal"):
        transition(case, S.WAITING, reason="r", actor="a", now=LATER, waiting_on="bank")
    with pytest.raises(InvalidInputError, match="reason is required"):
        transition(case, S.IN_PROGRESS, reason=" ", actor="a", now=LATER)
    assert case.status is S.TRIAGED


def test_waiting_names_the_party_and_leaving_it_clears_it() -> None:
    case = case_in(S.IN_PROGRESS)
    transition(case, S.WAITING, reason="r", actor="a", now=LATER, waiting_on="counterparty")
    assert case.waiting_on == "counterparty"
    transition(case, S.IN_PROGRESS, reason="r", actor="a", now=LATER)
    assert case.waiting_on is None


def test_sla_goal_reminds_and_deadline_escalates_once_per_level() -> None:
    case = opened([finding("e1")])
    goal = sla.fire(case, sla.SLA_GOAL, case.sla_goal_at, case.sla_goal_at + timedelta(seconds=2))
    assert case.status is S.NEW
    assert [a.action for a in goal.audit] == ["case.sla_goal_reached"]
    assert goal.audit[0].data["late_seconds"] == 2.0
    deadline = sla.fire(case, sla.SLA_DEADLINE, case.sla_due_at, case.sla_due_at)
    assert (case.status, case.escalation_level, case.sla_breached_at) == (
        S.ESCALATED, 1, case.sla_due_at)  # fmt: skip
    assert [a.action for a in deadline.audit] == ["case.sla_breached"]


def test_sla_timers_of_a_closed_case_do_nothing() -> None:
    case = case_in(S.RESOLVED)
    assert sla.fire(case, sla.SLA_DEADLINE, NOW, LATER).audit == []
