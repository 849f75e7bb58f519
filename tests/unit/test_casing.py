"""plan_cases: a finding opens a case or joins the open one about the same entity and type."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from recoup.domain.cases.calendar import BusinessCalendar
from recoup.domain.cases.case import Case, CaseStatus, open_key
from recoup.domain.cases.casing import SYSTEM_ACTOR, CasePlan, Timer, plan_cases
from recoup.domain.cases.teams import NO_TEAMS, TeamDirectory
from recoup.domain.detection.findings import Finding, finding_id
from recoup.domain.detection.taxonomy import Tier
from recoup.domain.ids import derived_id
from recoup.domain.policy import Decision, PolicyInput
from recoup.domain.recovery.ladder import LadderSpec

T0 = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
NOW = datetime(2026, 10, 1, 18, 0, tzinfo=UTC)
LATER = datetime(2026, 10, 9, 9, 0, tzinfo=UTC)


def finding(
    trigger: str,
    *,
    type_: str = "payment_failed",
    entity: tuple[str, str] = ("payment", "pi_1"),
    hours: float = 0,
    tier: Tier = Tier.STRAIGHT_THROUGH,
    amount: str | None = "12.50",
    currency: str | None = "EUR",
    exposure_key: str | None = None,
) -> Finding:
    return Finding(
        id=finding_id(type_, trigger),
        type=type_,
        entity_kind=entity[0],
        entity_key=entity[1],
        occurred_at=T0 + timedelta(hours=hours),
        detected_at=NOW,
        trigger_event_id=trigger,
        evidence_event_ids=(trigger,),
        summary=f"{type_} {trigger}",
        tier=tier,
        amount=None if amount is None else Decimal(amount),
        currency=currency,
        exposure_key=exposure_key or f"{entity[0]}:{entity[1]}",
    )


def only_case(plan: CasePlan) -> Case:
    (case,) = plan.created.values()
    return case


def opened(findings: list[Finding]) -> Case:
    """A case opened by an earlier batch, as the store would hand it back."""
    return only_case(plan_cases(findings, {}, NOW))


# --- opening ----------------------------------------------------------------------------------


def test_a_first_finding_opens_a_case_with_the_taxonomy_defaults() -> None:
    first = finding("ev1")

    plan = plan_cases([first], {}, NOW)

    case = only_case(plan)
    assert case.id == derived_id("case", first.id)
    assert (case.type, case.category, case.entity_kind, case.entity_key) == (
        "payment_failed", "payments", "payment", "pi_1",
    )  # fmt: skip
    assert (case.owner_team, case.queue, case.kind, case.breakpoint) == (
        "payments_ops", "payments_ops.system", "system", "transaction",
    )  # fmt: skip
    assert case.status is CaseStatus.NEW
    assert case.tier is Tier.STRAIGHT_THROUGH
    assert case.sla_goal_at == NOW + timedelta(hours=4)
    assert case.sla_due_at == NOW + timedelta(days=1)
    assert (case.opened_at, case.updated_at) == (NOW, NOW)
    assert (case.first_seen_at, case.last_seen_at) == (T0, T0)
    assert case.finding_count == 1
    assert (case.amount, case.currency) == (Decimal("12.50"), "EUR")
    assert case.exposures == {"payment:pi_1": "12.50"}
    assert case.open_key == open_key("payment_failed", "payment", "pi_1")
    assert case.pauses_automation is False
    assert case.title == "payment_failed ev1"
    assert plan.assignments == {first.id: case.id}
    assert (plan.updated, plan.attached) == ({}, 0)


def test_a_policy_type_goes_to_its_policy_queue() -> None:
    plan = plan_cases([finding("ev1", type_="dispute_opened", entity=("dispute", "dp_1"),
                               tier=Tier.HUMAN)], {}, NOW)  # fmt: skip

    case = only_case(plan)
    assert (case.owner_team, case.queue, case.kind) == ("disputes", "disputes.policy", "policy")
    assert case.sla_due_at == NOW + timedelta(days=5)
    assert case.tier is Tier.HUMAN


def test_opening_a_case_sets_two_sla_timers_and_three_aging_alerts() -> None:
    plan = plan_cases([finding("ev1")], {}, NOW)

    case = only_case(plan)
    assert plan.timers == [
        Timer(derived_id("timer", case.id, "sla_goal"), case.id, "sla_goal",
              NOW + timedelta(hours=4)),
        Timer(derived_id("timer", case.id, "sla_deadline"), case.id, "sla_deadline",
              NOW + timedelta(days=1)),
        Timer(derived_id("timer", case.id, "aging_1d"), case.id, "aging_1d",
              NOW + timedelta(days=1)),
        Timer(derived_id("timer", case.id, "aging_3d"), case.id, "aging_3d",
              NOW + timedelta(days=3)),
        Timer(derived_id("timer", case.id, "aging_7d"), case.id, "aging_7d",
              NOW + timedelta(days=7)),
    ]  # fmt: skip


def test_opening_a_case_is_audited_and_on_the_timeline() -> None:
    first = finding("ev1")

    plan = plan_cases([first], {}, NOW)

    case = only_case(plan)
    (audit,) = plan.audit
    assert (audit.at, audit.actor, audit.action, audit.subject_type, audit.subject_id) == (
        NOW, SYSTEM_ACTOR, "case.opened", "case", case.id,
    )  # fmt: skip
    assert audit.data == {
        "after": case.snapshot(),
        "type": "payment_failed",
        "entity": "payment:pi_1",
    }
    (entry,) = plan.timeline
    assert (entry.kind, entry.case_id, entry.finding_id, entry.at, entry.actor) == (
        "opened", case.id, first.id, NOW, SYSTEM_ACTOR,
    )  # fmt: skip
    assert entry.id == derived_id("timeline", case.id, "opened", first.id)
    assert entry.data == {"evidence": ["ev1"], "occurred_at": T0.isoformat()}


def test_findings_about_different_entities_open_different_cases() -> None:
    plan = plan_cases(
        [finding("ev1"), finding("ev2", entity=("payment", "pi_2")),
         finding("ev3", type_="refund_failed", entity=("payment", "pi_1"))],
        {},
        NOW,
    )  # fmt: skip

    assert len(plan.created) == 3
    assert plan.attached == 0
    assert len(plan.timers) == 15  # two SLA timers and three aging alerts per case


# --- attaching --------------------------------------------------------------------------------


def test_a_repeat_inside_the_window_attaches_to_the_case() -> None:
    first, second = finding("ev1"), finding("ev2", hours=24)

    plan = plan_cases([first, second], {}, NOW)

    case = only_case(plan)
    assert case.finding_count == 2
    assert plan.attached == 1
    assert (case.first_seen_at, case.last_seen_at) == (T0, T0 + timedelta(hours=24))
    assert plan.assignments == {first.id: case.id, second.id: case.id}
    assert [e.kind for e in plan.timeline] == ["opened", "finding_attached"]
    assert len(plan.timers) == 5
    assert [a.action for a in plan.audit] == ["case.opened"]
    assert plan.audit[0].data["after"]["finding_count"] == 2


def test_findings_are_planned_in_time_order() -> None:
    first, second = finding("ev1"), finding("ev2", hours=1)

    plan = plan_cases([second, first], {}, NOW)

    assert only_case(plan).id == derived_id("case", first.id)


def test_the_window_edge_still_attaches() -> None:
    # payment_failed's dedupe window is 3 days after the latest finding.
    plan = plan_cases([finding("ev1"), finding("ev2", hours=72)], {}, NOW)

    assert (len(plan.created), plan.attached) == (1, 1)


def test_the_window_is_measured_from_the_latest_finding() -> None:
    plan = plan_cases(
        [finding("ev1"), finding("ev2", hours=60), finding("ev3", hours=120)], {}, NOW
    )

    assert (len(plan.created), plan.attached) == (1, 2)
    assert only_case(plan).finding_count == 3


def test_the_same_exposure_counts_once() -> None:
    # Two failed retries of one payment: the same money, not twice the money.
    plan = plan_cases([finding("ev1"), finding("ev2", hours=1)], {}, NOW)

    case = only_case(plan)
    assert case.amount == Decimal("12.50")
    assert case.exposures == {"payment:pi_1": "12.50"}


def test_the_same_exposure_counts_at_its_largest_amount() -> None:
    plan = plan_cases([finding("ev1"), finding("ev2", hours=1, amount="15.00"),
                       finding("ev3", hours=2, amount="10.00")], {}, NOW)  # fmt: skip

    assert only_case(plan).amount == Decimal("15.00")


def test_different_exposures_sum() -> None:
    charge = {"type_": "duplicate_charge", "entity": ("customer", "cus_1"), "amount": "20.00"}

    plan = plan_cases(
        [finding("ev2", exposure_key="payment:pi_2", **charge),  # type: ignore[arg-type]
         finding("ev3", hours=1, exposure_key="payment:pi_3", **charge)],  # type: ignore[arg-type]
        {},
        NOW,
    )  # fmt: skip

    case = only_case(plan)
    assert case.amount == Decimal("40.00")
    assert case.exposures == {"payment:pi_2": "20.00", "payment:pi_3": "20.00"}


def test_a_finding_in_another_currency_does_not_add_to_the_amount() -> None:
    eur = finding("ev1", exposure_key="a")
    usd = finding("ev2", hours=1, currency="USD", exposure_key="b")

    plan = plan_cases([eur, usd], {}, NOW)

    case = only_case(plan)
    assert (case.amount, case.currency) == (Decimal("12.50"), "EUR")
    assert case.finding_count == 2


def test_a_finding_without_amount_leaves_the_money_unknown_until_one_comes() -> None:
    plan = plan_cases([finding("ev1", amount=None, currency=None),
                       finding("ev2", hours=1)], {}, NOW)  # fmt: skip

    assert (only_case(plan).amount, only_case(plan).currency) == (Decimal("12.50"), "EUR")


def test_the_tier_escalates_to_the_highest_and_never_comes_down() -> None:
    plan = plan_cases(
        [finding("ev1", tier=Tier.STRAIGHT_THROUGH), finding("ev2", hours=1, tier=Tier.HUMAN),
         finding("ev3", hours=2, tier=Tier.GUIDED)],
        {},
        NOW,
    )  # fmt: skip

    assert only_case(plan).tier is Tier.HUMAN


def test_attaching_to_an_open_case_is_audited_with_before_and_after() -> None:
    case = opened([finding("ev1")])
    second = finding("ev2", hours=5, tier=Tier.GUIDED, amount="12.50")

    plan = plan_cases([second], {case.open_key or "": case}, LATER)

    assert plan.created == {}
    assert plan.updated == {case.id: case}
    assert plan.attached == 1
    assert plan.assignments == {second.id: case.id}
    assert case.finding_count == 2
    assert case.tier is Tier.GUIDED
    assert case.updated_at == LATER
    assert plan.timers == []
    (entry,) = plan.timeline
    assert (entry.kind, entry.case_id, entry.finding_id) == ("finding_attached", case.id, second.id)
    (audit,) = plan.audit
    assert (audit.action, audit.subject_id, audit.actor, audit.at) == (
        "case.findings_attached", case.id, SYSTEM_ACTOR, LATER,
    )  # fmt: skip
    before, after = audit.data["before"], audit.data["after"]
    assert (before["finding_count"], after["finding_count"]) == (1, 2)
    assert (before["tier"], after["tier"]) == ("straight_through", "guided")
    assert before["last_seen_at"] == T0.isoformat()
    assert after["last_seen_at"] == (T0 + timedelta(hours=5)).isoformat()
    assert audit.data["accepts_findings"] is True
    assert after == case.snapshot()


def test_several_findings_attached_in_one_batch_give_one_audit_entry() -> None:
    case = opened([finding("ev1")])

    plan = plan_cases([finding("ev2", hours=1), finding("ev3", hours=2)],
                      {case.open_key or "": case}, LATER)  # fmt: skip

    assert plan.attached == 2
    (audit,) = plan.audit
    assert (audit.data["before"]["finding_count"], audit.data["after"]["finding_count"]) == (1, 3)


def test_a_closed_case_takes_no_more_findings() -> None:
    case = opened([finding("ev1")])
    case.status = CaseStatus.RESOLVED
    repeat = finding("ev2", hours=1)

    plan = plan_cases([repeat], {case.open_key or "": case}, LATER)

    assert list(plan.created) == [derived_id("case", repeat.id)]
    assert case.finding_count == 1


# --- outside the window -----------------------------------------------------------------------


def test_a_finding_outside_the_window_opens_a_new_case_that_takes_over_the_open_key() -> None:
    old = opened([finding("ev1")])
    key = old.open_key
    late = finding("ev2", hours=73)

    plan = plan_cases([late], {key or "": old}, LATER)

    new = only_case(plan)
    assert new.id == derived_id("case", late.id) != old.id
    assert new.open_key == key
    assert old.open_key is None
    assert old.finding_count == 1
    assert plan.updated == {old.id: old}
    assert plan.attached == 0
    assert plan.assignments == {late.id: new.id}
    assert [(a.action, a.subject_id) for a in plan.audit] == [
        ("case.opened", new.id),
        ("case.stopped_taking_findings", old.id),
    ]
    assert plan.audit[1].data["accepts_findings"] is False
    assert plan.audit[1].data["before"]["accepts_findings"] is True


def test_a_case_that_stops_taking_findings_is_marked_updated_now() -> None:
    old = opened([finding("ev1")])

    plan_cases([finding("ev2", hours=73)], {old.open_key or "": old}, LATER)

    assert old.updated_at == LATER


def test_outside_the_window_within_one_batch_the_first_case_stops_taking_findings() -> None:
    plan = plan_cases([finding("ev1"), finding("ev2", hours=73), finding("ev3", hours=74)],
                      {}, NOW)  # fmt: skip

    first, second = plan.created.values()
    assert first.open_key is None
    assert second.open_key == open_key("payment_failed", "payment", "pi_1")
    assert (first.finding_count, second.finding_count) == (1, 2)
    assert plan.updated == {}
    assert plan.attached == 1


# --- determinism ------------------------------------------------------------------------------


def test_plans_are_deterministic() -> None:
    def batch() -> list[Finding]:
        return [finding("ev1"), finding("ev2", hours=1),
                finding("ev3", entity=("payment", "pi_2"), hours=2)]  # fmt: skip

    one = plan_cases(batch(), {}, NOW)
    two = plan_cases(list(reversed(batch())), {}, NOW)

    assert list(one.created) == list(two.created)
    assert one.assignments == two.assignments
    assert [e.id for e in one.timeline] == [e.id for e in two.timeline]
    assert [t.id for t in one.timers] == [t.id for t in two.timers]
    assert one.audit == two.audit
    assert len({e.id for e in one.timeline}) == 3


def test_case_ids_follow_from_the_opening_finding() -> None:
    first = finding("ev1")

    assert only_case(plan_cases([first], {}, NOW)).id == derived_id("case", first.id)
    assert only_case(plan_cases([first], {}, LATER)).id == derived_id("case", first.id)


# --- SLA targets from the policy ------------------------------------------------------------


@dataclass
class CountingCalendar:
    """A business calendar that counts how often it is asked."""

    inner: BusinessCalendar = field(default_factory=lambda: BusinessCalendar("Europe/Berlin"))
    calls: int = 0

    def add(self, start: datetime, duration: timedelta) -> datetime:
        self.calls += 1
        return self.inner.add(start, duration)

    def business_time_between(self, a: datetime, b: datetime) -> timedelta:
        return self.inner.business_time_between(a, b)


@dataclass
class OneAnswerPolicy:
    """Routes every finding alike: a 4 h goal and a 3-day deadline in business time."""

    calendar: CountingCalendar = field(default_factory=CountingCalendar)
    teams: TeamDirectory = NO_TEAMS
    ladders: dict[str, LadderSpec] = field(default_factory=dict)

    def decide(self, inp: PolicyInput) -> Decision:
        return Decision(tier=Tier.GUIDED, owner_team="payments", kind=inp.kind,
                        sla_goal=timedelta(hours=4), sla_deadline=timedelta(days=3),
                        pauses_automation=False, urgency=50, business_impact="low",
                        control_sensitivity="low")  # fmt: skip


def test_the_sla_targets_run_on_the_policy_calendar_asked_once_per_duration() -> None:
    policy = OneAnswerPolicy()
    findings = [finding(f"ev{n}", entity=("payment", f"pi_{n}")) for n in range(20)]

    plan = plan_cases(findings, {}, NOW, policy=policy)

    berlin = BusinessCalendar("Europe/Berlin")
    assert len(plan.created) == 20
    assert {(c.sla_goal_at, c.sla_due_at) for c in plan.created.values()} == {
        (berlin.add(NOW, timedelta(hours=4)), berlin.add(NOW, timedelta(days=3)))
    }
    assert policy.calendar.calls == 2
