"""The recovery ladder: the default pack, every transition of the climb, the budget, pauses,
interventions, and the ladders file's validation; property tests for the budget and stops."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from recoup.adapters.policy.ladders import (
    DEFAULT_LADDERS,
    LadderFileError,
    ladders_file,
    load_ladders,
    parse_duration,
    read_ladders,
)
from recoup.domain.detection.taxonomy import TAXONOMY
from recoup.domain.errors import ConfigurationError, ConflictError, InvalidInputError
from recoup.domain.recovery.ladder import (
    PAUSED_REASON,
    Action,
    Budget,
    HistoryEvent,
    Intervention,
    LadderSpec,
    LadderState,
    LadderStatus,
    OutcomeKind,
    Result,
    Step,
    StepKind,
    StepOutcome,
    defer,
    fallback_ladder,
    idempotency_key,
    intervene,
    ladder_for,
    on_due,
    on_outcome,
    on_signal,
    start,
)

T0 = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)
K = StepKind
E = HistoryEvent
LADDERS = load_ladders()
PAYMENT_FAILED = LADDERS["payment_failed"]


def events(state: LadderState) -> list[str]:
    return [f"{e.event}@{e.step_index}" for e in state.history]


def report(spec: LadderSpec, state: LadderState, kind: OutcomeKind, at: datetime,
           detail: str = "") -> Result:  # fmt: skip
    assert state.pending_key is not None
    return on_outcome(spec, state, StepOutcome(kind, state.pending_key, detail), at)


def simple(*steps: Step, attempts: int = 10, days: int = 30, **kw: object) -> LadderSpec:
    return LadderSpec("payment_failed", steps, Budget(attempts, days), **kw)  # type: ignore[arg-type]


# --- the default pack ------------------------------------------------------------------------


def test_the_default_pack_has_the_designed_ladders() -> None:
    kinds = {name: [s.kind.value for s in spec.steps] for name, spec in LADDERS.items()}

    assert kinds == {
        "payment_failed": ["retry", "channel", "request_input", "retry", "escalate"],
        "retry_exhausted": ["channel", "request_input", "retry", "escalate"],
        "missing_payment": ["channel", "reduce", "escalate"],
        "dispute_opened": ["request_input", "escalate"],
        "inquiry_opened": ["request_input", "escalate"],
        "address_risk": ["request_input", "escalate"],
        "default": ["escalate"],
    }
    assert set(LADDERS) - {"default"} <= set(TAXONOMY)
    request = PAYMENT_FAILED.steps[2]
    assert (request.params["input"], request.timeout) == ("payment_method", 3 * D)
    assert PAYMENT_FAILED.steps[1].params["channel"] == "email"
    assert LADDERS["missing_payment"].steps[1].params["actions"] == ("payment_plan", "dispute")
    assert LADDERS["address_risk"].steps[0].while_paused is True


def test_a_type_without_a_ladder_climbs_the_default() -> None:
    assert ladder_for(LADDERS, "fraud_review") is LADDERS["default"]
    assert ladder_for(LADDERS, "payment_failed") is PAYMENT_FAILED
    assert ladder_for({}, "payment_failed") == fallback_ladder()


# --- the climb -------------------------------------------------------------------------------


def test_start_puts_the_first_step_on_the_timer_after_its_wait() -> None:
    state, actions = start(PAYMENT_FAILED, "c1", T0)

    assert actions == []
    assert (state.status, state.step_index, state.next_at, state.attempts) == (
        LadderStatus.CLIMBING, 0, T0 + D, 0)  # fmt: skip
    assert events(state) == ["started@0", "scheduled@0"]


def test_an_early_or_repeated_timer_changes_nothing() -> None:
    state, _ = start(PAYMENT_FAILED, "c1", T0)

    assert on_due(PAYMENT_FAILED, state, T0 + H) == (state, [])
    ran, actions = on_due(PAYMENT_FAILED, state, T0 + D)
    assert len(actions) == 1
    assert on_due(PAYMENT_FAILED, ran, T0 + 2 * D) == (ran, [])  # the action is out


def test_payment_failed_climbs_every_rung_to_a_person() -> None:
    spec = PAYMENT_FAILED
    state, _ = start(spec, "c1", T0)
    state, first = on_due(spec, state, T0 + D)
    state, _ = report(spec, state, OutcomeKind.FAILED, T0 + D, "card_declined")
    assert state.next_at == T0 + 2 * D  # the retry repeats after its wait
    state, second = on_due(spec, state, T0 + 2 * D)
    state, _ = report(spec, state, OutcomeKind.FAILED, T0 + 2 * D)
    state, third = on_due(spec, state, T0 + 3 * D)
    state, _ = report(spec, state, OutcomeKind.FAILED, T0 + 3 * D)
    state, email = on_due(spec, state, T0 + 3 * D + 2 * H)
    state, asked = report(spec, state, OutcomeKind.NO_ANSWER, T0 + 3 * D + 2 * H)
    assert state.status is LadderStatus.WAITING_INPUT
    assert state.next_at == T0 + 6 * D + 2 * H
    state, retried = on_due(spec, state, T0 + 6 * D + 2 * H)  # nothing arrived: timed out
    state, handed = report(spec, state, OutcomeKind.FAILED, T0 + 6 * D + 2 * H)

    actions = first + second + third + email + asked + retried + handed
    assert [(a.kind.value, a.step_index) for a in actions] == [
        ("retry", 0), ("retry", 0), ("retry", 0), ("channel", 1), ("request_input", 2),
        ("retry", 3), ("escalate", 4)]  # fmt: skip
    assert [a.idempotency_key for a in actions] == [
        "ladder:c1:0:1", "ladder:c1:0:2", "ladder:c1:0:3", "ladder:c1:1:4", "ladder:c1:2:5",
        "ladder:c1:3:6", "ladder:c1:4:7"]  # fmt: skip
    assert email[0].params["actions"] == ("update_payment_method", "retry_now", "dispute")
    assert handed[0].params["reason"] == (
        "the payment is still failing after retries and a request to the customer"
    )
    assert (state.status, state.attempts, state.next_at) == (LadderStatus.ESCALATED, 6, None)
    assert [e.event.value for e in state.history].count("timed_out") == 1
    assert events(state)[-2:] == ["scheduled@4", "escalated@4"]


def test_success_stops_the_climb() -> None:
    state, _ = start(PAYMENT_FAILED, "c1", T0)
    state, _ = on_due(PAYMENT_FAILED, state, T0 + D)

    state, actions = report(PAYMENT_FAILED, state, OutcomeKind.SUCCEEDED, T0 + D, "paid")

    assert actions == []
    assert (state.status, state.next_at, state.pending_key) == (LadderStatus.STOPPED, None, None)
    assert state.history[-2].detail == "step 1 (retry): succeeded: paid"
    assert on_due(PAYMENT_FAILED, state, T0 + 9 * D) == (state, [])


@pytest.mark.parametrize("signal", ["recovered", "customer_replied", "disputed", "case_resolved"])
def test_a_stop_condition_of_the_ladder_stops_it(signal: str) -> None:
    state, _ = start(PAYMENT_FAILED, "c1", T0)

    stopped, actions = on_signal(PAYMENT_FAILED, state, signal, T0 + H)

    assert actions == []
    assert stopped.status is LadderStatus.STOPPED
    assert stopped.history[-1].detail == f"stop condition: {signal}"


def test_a_signal_the_ladder_does_not_stop_on_changes_nothing() -> None:
    state, _ = start(LADDERS["dispute_opened"], "c1", T0)

    assert on_signal(LADDERS["dispute_opened"], state, "customer_replied", T0) == (state, [])
    with pytest.raises(InvalidInputError, match="unknown signal 'payed'"):
        on_signal(LADDERS["dispute_opened"], state, "payed", T0)


def test_a_step_that_is_not_eligible_is_passed_over_with_its_reason() -> None:
    spec = simple(Step(K.CHANNEL, params={"channel": "sms"}), Step(K.RETRY, wait=H))
    state, actions = start(spec, "c1", T0)

    state, after = report(spec, state, OutcomeKind.NOT_ELIGIBLE, T0, "no phone number on file")

    assert [a.kind for a in actions] == [K.CHANNEL]
    assert after == []
    assert state.history[-2].detail == "step 1 (channel): not_eligible: no phone number on file"
    assert (state.step_index, state.next_at) == (1, T0 + H)


def test_input_received_moves_on_to_the_next_step() -> None:
    spec = LADDERS["retry_exhausted"]
    state, _ = start(spec, "c1", T0)
    state, asked = report(spec, state, OutcomeKind.NO_ANSWER, T0)
    assert state.status is LadderStatus.WAITING_INPUT

    state, retried = intervene(spec, state, Intervention.INPUT_RECEIVED, T0 + H,
                               reason="card updated on the self-service page")  # fmt: skip

    assert [a.kind for a in asked + retried] == [K.REQUEST_INPUT, K.RETRY]
    assert state.history[-3].detail == (
        "step 2 (request_input): input_received: card updated on the self-service page"
    )


# --- budget ----------------------------------------------------------------------------------


def test_the_attempt_budget_ends_the_climb_and_hands_to_a_person() -> None:
    spec = simple(Step(K.RETRY, repeat=3), Step(K.CHANNEL, params={"channel": "email"}),
                  Step(K.ESCALATE), attempts=2)  # fmt: skip
    state, actions = start(spec, "c1", T0)
    state, more = report(spec, state, OutcomeKind.FAILED, T0)
    state, last = report(spec, state, OutcomeKind.FAILED, T0)

    assert [a.kind for a in actions + more + last] == [K.RETRY, K.RETRY, K.ESCALATE]
    assert state.attempts == 2
    assert state.status is LadderStatus.ESCALATED
    assert [(e.event.value, e.detail) for e in state.history[-4:]] == [
        ("exhausted", "all 2 attempts used"),
        ("skipped", "step 1 (retry): ladder exhausted: all 2 attempts used"),
        ("skipped", "step 2 (channel): ladder exhausted: all 2 attempts used"),
        ("escalated", "ladder exhausted: all 2 attempts used"),
    ]


def test_a_ladder_that_does_not_escalate_ends_exhausted() -> None:
    spec = simple(Step(K.RETRY), Step(K.RETRY, wait=5 * D), days=3,
                  escalate_when_exhausted=False)  # fmt: skip
    state, _ = start(spec, "c1", T0)

    state, actions = report(spec, state, OutcomeKind.FAILED, T0)

    assert actions == []
    assert state.status is LadderStatus.EXHAUSTED
    assert state.history[-2].event is E.EXHAUSTED
    assert "after the 3-day budget ends" in state.history[-2].detail
    assert state.history[-1].detail.startswith("step 2 (retry): ladder exhausted")


def test_without_an_escalate_step_exhaustion_still_reaches_a_person() -> None:
    spec = simple(Step(K.RETRY))
    state, _ = start(spec, "c1", T0)

    state, actions = report(spec, state, OutcomeKind.FAILED, T0)

    assert [(a.kind, a.step_index, a.params["reason"]) for a in actions] == [
        (K.ESCALATE, 1, "ladder exhausted: no steps left")]  # fmt: skip


def test_a_late_timer_after_the_time_budget_does_not_run_the_step() -> None:
    spec = simple(Step(K.RETRY, wait=2 * D), days=3)
    state, _ = start(spec, "c1", T0)

    state, actions = on_due(spec, state, T0 + 4 * D)

    assert [a.kind for a in actions] == [K.ESCALATE]
    assert state.attempts == 0


# --- pauses ----------------------------------------------------------------------------------


def test_a_paused_case_only_escalates_and_says_why_each_step_was_skipped() -> None:
    state, actions = start(PAYMENT_FAILED, "c1", T0, paused=True)

    assert [(a.kind, a.step_index) for a in actions] == [(K.ESCALATE, 4)]
    skipped = [e.detail for e in state.history if e.event is E.SKIPPED]
    assert skipped == [
        f"step 1 (retry): {PAUSED_REASON}", f"step 2 (channel): {PAUSED_REASON}",
        f"step 3 (request_input): {PAUSED_REASON}", f"step 4 (retry): {PAUSED_REASON}"]  # fmt: skip
    assert state.attempts == 0


def test_a_pause_that_arrives_mid_climb_escalates_at_the_next_timer() -> None:
    state, _ = start(PAYMENT_FAILED, "c1", T0)

    state, actions = on_due(PAYMENT_FAILED, state, T0 + D, paused=True)

    assert [a.kind for a in actions] == [K.ESCALATE]


def test_a_paused_address_risk_still_asks_the_customer_then_a_person_decides() -> None:
    spec = LADDERS["address_risk"]
    state, asked = start(spec, "o1", T0, paused=True)
    assert [a.kind for a in asked] == [K.REQUEST_INPUT]

    state, handed = intervene(spec, state, Intervention.INPUT_RECEIVED, T0 + H,
                              reason="address confirmed", paused=True)  # fmt: skip

    assert [a.kind for a in handed] == [K.ESCALATE]
    assert state.status is LadderStatus.ESCALATED


# --- outcomes that do not fit ----------------------------------------------------------------


def test_a_repeated_outcome_is_a_no_op_and_a_stray_one_a_conflict() -> None:
    state, actions = start(LADDERS["missing_payment"], "c1", T0)
    outcome = StepOutcome(OutcomeKind.NO_ANSWER, actions[0].idempotency_key)
    state, _ = on_outcome(LADDERS["missing_payment"], state, outcome, T0)

    assert on_outcome(LADDERS["missing_payment"], state, outcome, T0 + H) == (state, [])
    with pytest.raises(ConflictError, match="no ladder step ran as ladder:c1:7:1"):
        on_outcome(LADDERS["missing_payment"], state,
                   StepOutcome(OutcomeKind.FAILED, "ladder:c1:7:1"), T0)  # fmt: skip


def test_a_late_outcome_is_recorded_without_moving_the_ladder() -> None:
    spec = LADDERS["dispute_opened"]
    state, asked = start(spec, "d1", T0)
    state, _ = on_due(spec, state, T0 + 3 * D)  # timed out, escalated
    key = asked[0].idempotency_key

    late, actions = on_outcome(
        spec, state, StepOutcome(OutcomeKind.INPUT_RECEIVED, key), T0 + 4 * D
    )

    assert actions == []
    assert late.status is LadderStatus.ESCALATED
    assert late.history[-1].detail == "input_received (late: the ladder moved on)"


def test_the_wrong_spec_is_refused() -> None:
    state, _ = start(PAYMENT_FAILED, "c1", T0)

    with pytest.raises(ConflictError, match="climbs ladder payment_failed, not missing_payment"):
        on_due(LADDERS["missing_payment"], state, T0 + D)
    with pytest.raises(InvalidInputError, match="timezone-aware"):
        start(PAYMENT_FAILED, "c1", datetime(2026, 10, 1))


# --- interventions ---------------------------------------------------------------------------


def test_retry_now_runs_the_next_retry_and_records_the_skipped_steps() -> None:
    spec = PAYMENT_FAILED
    state, _ = start(spec, "c1", T0)
    state = replace(state, step_index=1, next_at=T0 + H)  # waiting for the email step

    state, actions = intervene(spec, state, Intervention.RETRY_NOW, T0, reason="customer asked")

    assert [(a.kind, a.step_index) for a in actions] == [(K.RETRY, 3)]
    assert [e.detail for e in state.history if e.event is E.SKIPPED] == [
        "step 2 (channel): retry asked for now: customer asked",
        "step 3 (request_input): retry asked for now: customer asked"]  # fmt: skip


def test_retry_now_without_a_retry_left_is_a_conflict() -> None:
    state, _ = start(LADDERS["missing_payment"], "c1", T0)

    with pytest.raises(ConflictError, match="has no retry step left"):
        intervene(LADDERS["missing_payment"], state, Intervention.RETRY_NOW, T0, reason="x")


def test_stop_and_escalate_by_hand_and_a_finished_ladder_refuses_more() -> None:
    state, _ = start(PAYMENT_FAILED, "c1", T0)

    stopped, none = intervene(PAYMENT_FAILED, state, Intervention.STOP, T0, reason="plan agreed")
    escalated, handed = intervene(PAYMENT_FAILED, state, Intervention.ESCALATE, T0,
                                  reason="customer disputes")  # fmt: skip

    assert (stopped.status, none) == (LadderStatus.STOPPED, [])
    assert [(a.kind, a.params["reason"]) for a in handed] == [(K.ESCALATE, "customer disputes")]
    assert escalated.status is LadderStatus.ESCALATED
    with pytest.raises(ConflictError, match="the ladder is stopped; escalate cannot apply"):
        intervene(PAYMENT_FAILED, stopped, Intervention.ESCALATE, T0, reason="x")


def test_an_action_deferred_runs_again_later_under_a_new_key() -> None:
    spec = LADDERS["missing_payment"]
    state, first = start(spec, "c1", T0)

    state, none = defer(spec, state, first[0].idempotency_key, T0 + 10 * H, T0,
                        reason="quiet hours")  # fmt: skip
    state, again = on_due(spec, state, T0 + 10 * H)

    assert none == []
    assert [(a.kind, a.idempotency_key) for a in first + again] == [
        (K.CHANNEL, "ladder:c1:0:1"), (K.CHANNEL, "ladder:c1:0:2")]  # fmt: skip
    with pytest.raises(ConflictError, match="is not the action awaited"):
        defer(spec, state, "ladder:c1:0:1", T0, T0, reason="x")


def test_the_same_inputs_give_the_same_state_and_actions() -> None:
    def climb() -> tuple[LadderState, list[Action]]:
        state, out = start(PAYMENT_FAILED, "c9", T0)
        state, more = on_due(PAYMENT_FAILED, state, T0 + D)
        return state, out + more

    assert climb() == climb()
    assert idempotency_key("c9", 0, 1) == "ladder:c9:0:1"


# --- the spec's own rules --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "problem"),
    [
        (lambda: Step(K.REQUEST_INPUT, params={"input": "x"}), "needs a positive timeout"),
        (lambda: Step(K.RETRY, timeout=H), "timeout is only for request_input"),
        (lambda: Step(K.CHANNEL, params={"channel": "email"}, repeat=2), "only a retry step"),
        (lambda: Step(K.CHANNEL), "needs param 'channel'"),
        (lambda: Step(K.RETRY, params={"channel": "email"}), "unknown param 'channel'"),
        (lambda: Step(K.REDUCE, params={"actions": ()}), "non-empty list of action names"),
        (lambda: Step(K.RETRY, wait=-H), "wait must not be negative"),
        (lambda: Step(K.RETRY, while_paused=True), "while_paused is only for request_input"),
    ],
)
def test_a_step_that_breaks_the_rules_is_refused(step: object, problem: str) -> None:
    with pytest.raises(InvalidInputError, match=problem):
        step()  # type: ignore[operator]


def test_escalate_must_be_the_last_step() -> None:
    with pytest.raises(InvalidInputError, match="step 1: escalate ends the climb"):
        simple(Step(K.ESCALATE), Step(K.RETRY))


# --- the ladders file ------------------------------------------------------------------------

GOOD = """
version = 1
[ladders.payment_failed]
budget = { max_attempts = 3, max_days = 7 }
stop_on = ["recovered"]
[[ladders.payment_failed.steps]]
kind = "retry"
wait = "1d12h"
"""


def problems(text: str) -> list[str]:
    with pytest.raises(LadderFileError) as caught:
        read_ladders(text, "ladders.toml")
    assert isinstance(caught.value, ConfigurationError)
    return caught.value.problems


def test_a_valid_file_loads_with_the_fallback_default() -> None:
    ladders = read_ladders(GOOD, "ladders.toml")

    assert ladders["payment_failed"] == LadderSpec(
        "payment_failed", (Step(K.RETRY, wait=D + 12 * H),), Budget(3, 7),
        frozenset({"recovered"}))  # fmt: skip
    assert ladders["default"] == fallback_ladder()


def test_an_unknown_kind_is_named_by_file_ladder_and_step() -> None:
    text = (
        GOOD + '[[ladders.payment_failed.steps]]\nkind = "channel"\nchannel = "email"\n'
        '[[ladders.payment_failed.steps]]\nkind = "retyr"\n'
    )

    assert problems(text) == [
        "ladders.toml: ladder payment_failed, step 3: unknown kind 'retyr' (did you mean "
        "'retry'?); known: retry, reduce, channel, request_input, escalate"]  # fmt: skip


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            ("payment_failed]", "payment_faild]"),
            "ladder payment_faild: unknown finding type 'payment_faild' (did you mean "
            "'payment_failed'?)",
        ),
        (
            ('wait = "1d12h"', 'wait = "tomorrow"'),
            "ladder payment_failed, step 1: wait must be a duration like '30m', '4h', '3d' or "
            "'1d12h', not 'tomorrow'",
        ),
        (
            ('wait = "1d12h"', 'wiat = "1d"'),
            "ladder payment_failed, step 1: unknown key 'wiat' for a retry step (did you mean "
            "'wait'?)",
        ),
        (
            ('kind = "retry"', 'kind = "request_input"\ninput = "card"'),
            "ladder payment_failed, step 1: a request_input step needs a positive timeout",
        ),
        (
            ('kind = "retry"', 'kind = "reduce"\nactions = ["confirm_address"]'),
            "ladder payment_failed, step 1: action 'confirm_address' is not offered for "
            "payment_failed",
        ),
        (
            ('kind = "retry"', 'kind = "reduce"\nactions = ["pay_later"]'),
            "ladder payment_failed, step 1: unknown self-service action 'pay_later'",
        ),
        (
            ('["recovered"]', '["recoverd"]'),
            "ladder payment_failed: unknown stop condition 'recoverd' (did you mean 'recovered'?)",
        ),
        (
            ("max_attempts = 3", "max_attempts = 0"),
            "ladder payment_failed, budget: max_attempts and max_days must be whole numbers >= 1",
        ),
        (("version = 1", "version = 2"), "version must be 1, not 2"),
        (('kind = "retry"', "repeat = 2"), "ladder payment_failed, step 1: kind is missing"),
        (
            ("[[ladders.payment_failed.steps]]\nkind", "[ladders.payment_failed.x]\nkind"),
            "ladder payment_failed: unknown key 'x'",
        ),
    ],
)
def test_each_problem_names_where_it_is(edit: tuple[str, str], expected: str) -> None:
    found = problems(GOOD.replace(*edit))

    assert found[0].startswith(f"ladders.toml: {expected}")


def test_not_toml_at_all() -> None:
    assert problems("[ladders")[0].startswith("ladders.toml: not valid TOML")


def test_a_policy_folder_without_ladders_uses_the_default_pack(tmp_path: Path) -> None:
    assert ladders_file(tmp_path) == DEFAULT_LADDERS
    assert load_ladders(tmp_path) == LADDERS
    (tmp_path / "ladders.toml").write_text(GOOD, encoding="utf-8")
    assert set(load_ladders(tmp_path)) == {"payment_failed", "default"}
    with pytest.raises(LadderFileError, match="cannot read"):
        load_ladders(tmp_path / "missing.toml")


def test_durations() -> None:
    assert parse_duration("0") == timedelta(0)
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("1d2h3m4s") == timedelta(days=1, hours=2, minutes=3, seconds=4)
    for bad in ("", "3", "h", "1h1d", 3):
        with pytest.raises(ValueError, match="must be a duration"):
            parse_duration(bad)


# --- properties ------------------------------------------------------------------------------

kinds = st.sampled_from([K.RETRY, K.REDUCE, K.CHANNEL, K.REQUEST_INPUT])


@st.composite
def steps(draw: st.DrawFn) -> Step:
    kind = draw(kinds)
    wait = timedelta(hours=draw(st.integers(0, 72)))
    if kind is K.RETRY:
        return Step(kind, wait, repeat=draw(st.integers(1, 3)))
    if kind is K.REQUEST_INPUT:
        return Step(kind, wait, {"input": "x"}, timedelta(hours=draw(st.integers(1, 72))),
                    while_paused=draw(st.booleans()))  # fmt: skip
    if kind is K.REDUCE:
        return Step(kind, wait, {"actions": ("payment_plan",)})
    return Step(kind, wait, {"channel": "email"})


@st.composite
def specs(draw: st.DrawFn) -> LadderSpec:
    body = draw(st.lists(steps(), min_size=1, max_size=6))
    if draw(st.booleans()):
        body.append(Step(K.ESCALATE, timedelta(hours=draw(st.integers(0, 48)))))
    stop_on = draw(st.sets(st.sampled_from(["recovered", "customer_replied", "disputed"])))
    return LadderSpec("payment_failed", tuple(body),
                      Budget(draw(st.integers(1, 6)), draw(st.integers(1, 10))),
                      frozenset(stop_on), draw(st.booleans()))  # fmt: skip


ops = st.one_of(
    st.tuples(st.just("due"), st.integers(0, 96)),
    st.tuples(st.just("outcome"), st.sampled_from(list(OutcomeKind))),
    st.tuples(st.just("signal"), st.sampled_from(["recovered", "customer_replied", "disputed"])),
    st.tuples(st.just("intervene"), st.sampled_from(list(Intervention))),
)


@settings(max_examples=200, deadline=None)
@given(spec=specs(), script=st.lists(ops, max_size=40), paused=st.booleans())
def test_the_climb_keeps_its_budget_and_its_stops(
    spec: LadderSpec, script: list[tuple[str, object]], paused: bool
) -> None:
    now = T0
    state, actions = start(spec, "c1", now, paused=paused)
    for op, arg in script:
        before = state
        finished = state.is_finished
        if op == "due":
            now = max(now, state.next_at or now) + timedelta(hours=int(arg))  # type: ignore[call-overload]
            state, out = on_due(spec, state, now, paused=paused)
        elif op == "outcome" and state.pending_key:
            outcome = StepOutcome(arg, state.pending_key)  # type: ignore[arg-type]
            state, out = on_outcome(spec, state, outcome, now, paused=paused)
            if arg is OutcomeKind.SUCCEEDED and not finished:
                assert state.status is LadderStatus.STOPPED
        elif op == "signal":
            state, out = on_signal(spec, state, str(arg), now)
            if arg in spec.stop_on and not finished:
                assert state.status is LadderStatus.STOPPED
        elif op == "intervene" and not finished:
            try:
                state, out = intervene(spec, state, arg, now, reason="r", paused=paused)  # type: ignore[arg-type]
            except ConflictError:
                out = []
        else:
            out = []
        if finished:
            assert out == []
            assert state.status is before.status
        assert state.history[: len(before.history)] == before.history
        actions += out

    worked = [a for a in actions if a.kind is not K.ESCALATE]
    assert state.attempts == len(worked) <= spec.budget.max_attempts
    assert all(a.due_at <= T0 + spec.budget.duration for a in worked)
    assert len({a.idempotency_key for a in actions}) == len(actions)
    assert [a.kind for a in actions].count(K.ESCALATE) <= 1
    if paused:
        assert all(a.kind is K.ESCALATE or spec.steps[a.step_index].while_paused
                   for a in actions)  # fmt: skip
    ran = sum(1 for e in state.history if e.event is E.RAN)
    assert ran == len(worked)
    event(f"ended {state.status}")
