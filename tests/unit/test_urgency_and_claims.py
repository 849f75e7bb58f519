"""The urgency score rises with age and money; duplicate claims are linked with a score."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recoup.domain.cases import duplicates
from recoup.domain.cases.case import Case, CaseStatus
from recoup.domain.cases.casing import CasePlan
from recoup.domain.cases.urgency import urgency_score
from recoup.domain.detection.taxonomy import Tier
from recoup.domain.errors import ConflictError
from recoup.domain.ingestion.event import Refs

NOW = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


def case(id_: str = "c1", *, type_: str = "dispute_opened", amount: str | None = "100.00",
         currency: str = "EUR", party: str | None = "customer:cus_1", opened: datetime = NOW,
         entity: str = "dp_1", status: CaseStatus = CaseStatus.NEW,
         tier: Tier = Tier.HUMAN) -> Case:  # fmt: skip
    return Case(
        id=id_, type=type_, category="payments", entity_kind="dispute", entity_key=entity,
        status=status, tier=tier, owner_team="disputes", queue="disputes.policy",
        breakpoint="transaction", kind="policy", title="t", opened_at=opened, updated_at=opened,
        first_seen_at=opened, last_seen_at=opened, sla_goal_at=opened + timedelta(hours=4),
        sla_due_at=opened + timedelta(days=1), pauses_automation=False,
        amount=None if amount is None else Decimal(amount), currency=currency,
        counterparty=party,
    )  # fmt: skip


# --- urgency --------------------------------------------------------------------------------


def test_urgency_is_the_policy_base_plus_age_and_money() -> None:
    fresh = case(amount=None)
    fresh.decision = {"outputs": {"urgency": 60}}
    assert urgency_score(fresh, NOW) == 60
    assert urgency_score(fresh, NOW + timedelta(hours=12)) == 75  # half the SLA window used
    assert urgency_score(fresh, NOW + timedelta(days=10)) == 105  # capped at 1.5 windows
    fresh.amount, fresh.currency = Decimal("999.00"), "EUR"
    assert urgency_score(fresh, NOW) == 75  # log10(1000) * 5


def test_without_a_policy_the_tier_sets_the_base_and_closed_cases_score_zero() -> None:
    assert urgency_score(case(amount=None, tier=Tier.STRAIGHT_THROUGH), NOW) == 20
    assert urgency_score(case(amount=None, status=CaseStatus.RESOLVED), NOW) == 0


@given(
    amount=st.decimals(min_value=0, max_value=10**9, places=2),
    more=st.decimals(min_value=0, max_value=10**9, places=2),
    age=st.integers(min_value=0, max_value=10**7),
    later=st.integers(min_value=0, max_value=10**7),
)
def test_urgency_never_falls_with_age_or_money(
    amount: Decimal, more: Decimal, age: int, later: int
) -> None:
    c = case(amount=str(amount))
    at = NOW + timedelta(seconds=age)
    assert urgency_score(c, at + timedelta(seconds=later)) >= urgency_score(c, at)
    richer = replace(c, amount=amount + more)
    assert urgency_score(richer, at) >= urgency_score(c, at)


# --- duplicate claims -------------------------------------------------------------------------


def test_the_same_money_of_the_same_customer_scores_by_type_time_and_state() -> None:
    new = case("new", type_="dispute_opened", entity="dp_2", opened=NOW)
    assert duplicates.claim_score(new, case("old", type_="dispute_opened"), NOW) == 1.0
    refund = case("old", type_="refund_failed", entity="re_1", opened=NOW - timedelta(days=9))
    assert duplicates.claim_score(new, refund, NOW) == 0.8  # 0.5+0.1 exact+0.1 category+0.1 open
    near = case("old", type_="refund_failed", amount="100.50", entity="re_1")
    assert duplicates.claim_score(new, near, NOW) == 0.8  # within 1%: no exact bonus, near


@pytest.mark.parametrize(
    "other",
    [
        case("old", party="customer:cus_2"),  # another customer
        case("old", amount="150.00"),  # other money
        case("old", currency="USD"),  # other currency
        case("old", type_="payment_failed"),  # not a claim
        case("old", entity="dp_2"),  # the same case's entity and type
        case("old", status=CaseStatus.RESOLVED),  # closed long ago (no closing time: now)
    ],
)
def test_cases_that_cannot_be_the_same_claim_score_nothing(other: Case) -> None:
    new = case("new", entity="dp_2")
    if other.status is CaseStatus.RESOLVED:
        other.resolved_at = NOW - timedelta(days=31)
    assert duplicates.claim_score(new, other, NOW) is None


def test_the_best_candidate_is_linked_on_the_timeline_and_in_the_audit() -> None:
    plan = CasePlan()
    new = case("new", type_="inquiry_opened", entity="dp_9")
    plan.created[new.id] = new
    weak = case("weak", type_="amount_mismatch", opened=NOW - timedelta(days=20),
                status=CaseStatus.RESOLVED)  # fmt: skip
    weak.resolved_at = NOW - timedelta(days=2)
    strong = case("strong", type_="dispute_opened", entity="dp_1")

    assert duplicates.plan_links(plan, [weak, strong], NOW) == 1
    assert (new.duplicate_of, new.duplicate_score) == ("strong", 0.9)
    assert plan.timeline[0].summary == "possible duplicate of case strong (score 0.90)"
    assert plan.audit[0].action == "case.duplicate_linked"
    assert plan.audit[0].data["after"]["duplicate_of"] == "strong"


def test_two_claims_in_one_batch_link_the_later_to_the_earlier() -> None:
    plan = CasePlan()
    first = case("a", type_="refund_failed", entity="re_1")
    second = case("b", type_="dispute_opened", entity="dp_1")
    second.first_seen_at = NOW + timedelta(minutes=5)
    plan.created = {"b": second, "a": first}

    assert duplicates.plan_links(plan, [], NOW) == 1
    assert (first.duplicate_of, second.duplicate_of) == (None, "a")


def test_dismissing_needs_a_link_and_a_reason() -> None:
    c = case()
    with pytest.raises(ConflictError, match="not linked"):
        duplicates.dismiss(c, actor="user:x", reason="no", now=NOW)
    c.duplicate_of, c.duplicate_score = "other", 0.9
    with pytest.raises(ConflictError, match="reason"):
        duplicates.dismiss(c, actor="user:x", reason=" ", now=NOW)
    plan = duplicates.dismiss(c, actor="user:x", reason="different order", now=NOW)
    assert (c.duplicate_of, c.duplicate_score) == (None, None)
    assert plan.audit[0].action == "case.duplicate_dismissed"
    assert plan.audit[0].data["was"] == "other"


def test_the_counterparty_is_the_customer_else_the_supplier() -> None:
    assert duplicates.counterparty_of(Refs(customer="c", supplier="s")) == "customer:c"
    assert duplicates.counterparty_of(Refs(supplier="s")) == "supplier:s"
    assert duplicates.counterparty_of(Refs(payment="p")) is None
