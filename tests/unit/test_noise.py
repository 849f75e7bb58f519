"""Noise control: snooze with expiry, and accepted discrepancies that reopen on new evidence."""

from __future__ import annotations

from datetime import timedelta

import pytest

from recoup.domain.cases.acceptance import exposure_fingerprint
from recoup.domain.cases.case import CaseStatus, open_key
from recoup.domain.cases.casing import plan_cases
from recoup.domain.cases.noise import accept, snooze, wake
from recoup.domain.errors import ConflictError, InvalidInputError
from tests.unit.test_casing import LATER, NOW, finding, opened

ACTOR = "user:ana"


def test_snooze_keeps_the_case_open_and_attaching_until_it_wakes() -> None:
    case = opened([finding("e1")])
    plan = snooze(case, NOW + timedelta(days=2), "bank says Friday", ACTOR, NOW)

    assert case.status is CaseStatus.SNOOZED
    assert case.snoozed_until == NOW + timedelta(days=2)
    assert [a.action for a in plan.audit] == ["case.snoozed"]
    assert plan.audit[0].data["before"]["status"] == "new"
    assert plan.audit[0].data["reason"] == "bank says Friday"
    assert [e.kind for e in plan.timeline] == ["snoozed"]

    # A repeat finding joins the snoozed case without waking it.
    key = open_key("payment_failed", "payment", "pi_1")
    later = plan_cases([finding("e2", hours=1)], {key: case}, NOW)
    assert later.attached == 1
    assert case.status is CaseStatus.SNOOZED

    woken = wake(case, NOW + timedelta(days=2), "system:timers")
    assert case.status is CaseStatus.TRIAGED
    assert case.snoozed_until is None
    assert woken.audit[0].action == "case.woken"


def test_snooze_refuses_the_past_a_closed_case_and_an_empty_reason() -> None:
    case = opened([finding("e1")])
    with pytest.raises(InvalidInputError, match="not in the future"):
        snooze(case, NOW, "x", ACTOR, NOW)
    with pytest.raises(InvalidInputError, match="reason is required"):
        snooze(case, LATER, "  ", ACTOR, NOW)
    accept(case, LATER, "known fee", ACTOR, NOW)
    with pytest.raises(ConflictError, match="only open cases snooze"):
        snooze(case, LATER, "x", ACTOR, NOW)
    with pytest.raises(ConflictError, match="not snoozed"):
        wake(case, NOW, ACTOR)


def test_an_accepted_case_suppresses_the_same_evidence() -> None:
    case = opened([finding("e1", amount="12.50")])
    plan = accept(case, NOW + timedelta(days=30), "customer always short-pays", ACTOR, NOW)
    assert (case.status, case.outcome) == (CaseStatus.RESOLVED, "accepted")
    assert case.open_key is not None  # still takes findings about the entity
    assert case.accepted_fingerprint == exposure_fingerprint({"payment:pi_1": "12.50"})
    assert case.id in plan.resolved

    key = open_key("payment_failed", "payment", "pi_1")
    again = plan_cases([finding("e2", hours=30, amount="12.5")], {key: case}, NOW)

    assert again.created == {}
    assert again.suppressed == {case.id}
    assert (case.status, case.finding_count) == (CaseStatus.RESOLVED, 2)
    assert [e.kind for e in again.timeline] == ["finding_suppressed"]
    assert [a.action for a in again.audit] == ["case.findings_suppressed"]


@pytest.mark.parametrize(
    ("amount", "exposure"),
    [("20.00", None), ("12.50", "payment:pi_2")],
    ids=["a larger amount", "another exposure"],
)
def test_new_evidence_reopens_an_accepted_case(amount: str, exposure: str | None) -> None:
    case = opened([finding("e1", amount="12.50")])
    accept(case, NOW + timedelta(days=30), "known", ACTOR, NOW)
    key = open_key("payment_failed", "payment", "pi_1")

    plan = plan_cases([finding("e2", hours=30, amount=amount, exposure_key=exposure)],
                      {key: case}, NOW)  # fmt: skip

    assert plan.created == {}
    assert plan.reopened == {case.id}
    assert (case.status, case.outcome, case.accepted_until) == (CaseStatus.NEW, None, None)
    assert [a.action for a in plan.audit] == ["case.reopened"]
    assert plan.timeline[0].kind == "reopened"


def test_a_lapsed_acceptance_lets_the_next_finding_open_a_new_case() -> None:
    case = opened([finding("e1")])
    accept(case, NOW + timedelta(hours=1), "for now", ACTOR, NOW)
    key = open_key("payment_failed", "payment", "pi_1")

    plan = plan_cases([finding("e2", hours=30)], {key: case}, NOW + timedelta(hours=2))

    assert len(plan.created) == 1
    assert case.open_key is None
    assert case.outcome == "accepted"
