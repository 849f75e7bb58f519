"""The simulated PSP: seeded recoveries by decline reason and day, agreement with the decline
classes, idempotency, disputes; and the port's own request checks."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recoup.adapters.clock import FixedClock
from recoup.adapters.psp.simulator import (
    RECOVERY_TABLE,
    RecoveryOdds,
    SimulatedGateway,
    in_funding_window,
    profile_for,
)
from recoup.domain.detection.declines import classify_decline
from recoup.domain.errors import InvalidInputError, NotFoundError
from recoup.domain.money import Money
from recoup.domain.recovery.psp import (
    ChargeOutcome,
    EvidenceOutcome,
    EvidenceRequest,
    PaymentGateway,
    RetryRequest,
)

FAILED_AT = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)  # a Monday, outside any funding window
MID_CYCLE = datetime(2026, 10, 7, 10, 0, tzinfo=UTC)  # Wednesday the 7th
FUNDING_DAY = datetime(2026, 10, 9, 10, 0, tzinfo=UTC)  # Friday the 9th
EUR = Money(Decimal("25.00"), "EUR")


def stripe_codes() -> list[str]:
    data = resources.files("recoup.domain.detection").joinpath("data", "stripe_decline_codes.csv")
    return [row["code"] for row in csv.DictReader(data.read_text("utf-8").splitlines())]


NEVER_CODES = [c for c in stripe_codes() if classify_decline(f"stripe:{c}").advice == "never"]


def gateway_at(at: datetime, seed: int = 7) -> tuple[SimulatedGateway, FixedClock]:
    clock = FixedClock(FAILED_AT)
    gw = SimulatedGateway(seed, clock)
    clock.set(at)
    return gw, clock


def retry(ref: str, n: int = 1, payment_method: str | None = None, **context: str) -> RetryRequest:
    return RetryRequest(
        ref, EUR, f"{ref}:attempt:{n}", payment_method=payment_method, context=context
    )


def recovery_rate(reason: str, at: datetime, payments: int = 2000, seed: int = 11) -> float:
    clock = FixedClock(FAILED_AT)
    gw = SimulatedGateway(seed, clock)
    for i in range(payments):
        gw.register(f"pi_{i}", reason)
    clock.set(at)
    won = sum(gw.retry_payment(retry(f"pi_{i}")).status == "succeeded" for i in range(payments))
    return won / payments


# -- the calendar and the table ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 10, 1), True),  # the 1st
        (date(2026, 10, 2), True),  # a Friday, and the day after the 1st
        (date(2026, 10, 3), True),  # the Saturday after a Friday
        (date(2026, 10, 4), False),  # Sunday
        (date(2026, 10, 7), False),  # mid-cycle Wednesday
        (date(2026, 10, 15), True),  # the 15th
        (date(2026, 10, 16), True),  # the day after the 15th (and a Friday)
        (date(2026, 10, 13), False),
    ],
)
def test_funding_window(day: date, expected: bool) -> None:
    assert in_funding_window(day) is expected


def test_the_table_has_a_row_for_every_profile_and_no_more() -> None:
    assert set(RECOVERY_TABLE) == {
        "funds",
        "processing",
        "issuer",
        "authentication",
        "new_method",
        "unknown",
        "stale_details",
        "never",
    }
    assert RECOVERY_TABLE["never"] == RecoveryOdds(0.0, 0.0, 0.0)
    assert RECOVERY_TABLE["stale_details"] == RecoveryOdds(0.0, 0.0, 0.0)


@pytest.mark.parametrize(
    ("reason", "new_method", "profile"),
    [
        ("stripe:insufficient_funds", False, "funds"),
        ("stripe:withdrawal_count_limit_exceeded", False, "funds"),
        ("stripe:processing_error", False, "processing"),
        ("stripe:issuer_not_available", False, "processing"),
        ("stripe:do_not_honor", False, "issuer"),
        ("stripe:generic_decline", False, "issuer"),
        ("stripe:authentication_required", False, "authentication"),
        ("stripe:expired_card", False, "stale_details"),
        ("stripe:expired_card", True, "new_method"),
        ("stripe:insufficient_funds", True, "new_method"),
        ("stripe:stolen_card", False, "never"),
        ("stripe:stolen_card", True, "never"),
        ("stripe:invalid_account", True, "never"),
        ("stripe:no_such_code", False, "unknown"),
        ("visa:51", False, "funds"),
    ],
)
def test_profile_of_a_reason(reason: str, new_method: bool, profile: str) -> None:
    assert profile_for(classify_decline(reason), new_payment_method=new_method) == profile


def test_insufficient_funds_odds_by_time_and_day() -> None:
    gw, clock = gateway_at(FAILED_AT + timedelta(minutes=30))
    gw.register("pi_1", "stripe:insufficient_funds", failed_at=FAILED_AT)

    assert gw.probability("pi_1") == 0.02  # the first hour
    clock.set(MID_CYCLE)
    assert gw.probability("pi_1") == 0.10
    clock.set(FUNDING_DAY)
    assert gw.probability("pi_1") == 0.45
    assert gw.probability("pi_1", new_payment_method=True) == 0.75


def test_processing_errors_recover_quickly_once_an_hour_has_passed() -> None:
    gw, clock = gateway_at(FAILED_AT + timedelta(minutes=59))
    gw.register("pi_1", "stripe:processing_error", failed_at=FAILED_AT)

    assert gw.probability("pi_1") == 0.30
    clock.set(FAILED_AT + timedelta(minutes=61))
    assert gw.probability("pi_1") == 0.90


def test_insufficient_funds_recovers_far_more_often_on_a_funding_day() -> None:
    funding = recovery_rate("stripe:insufficient_funds", FUNDING_DAY)
    mid = recovery_rate("stripe:insufficient_funds", MID_CYCLE)

    assert 0.41 <= funding <= 0.49  # 0.45 in the table; 2,000 seeded draws
    assert 0.07 <= mid <= 0.13  # 0.10
    assert funding > 3 * mid


def test_do_not_honor_recovers_modestly_and_processing_errors_mostly() -> None:
    assert 0.12 <= recovery_rate("stripe:do_not_honor", MID_CYCLE) <= 0.18
    assert 0.87 <= recovery_rate("stripe:processing_error", MID_CYCLE) <= 0.93


# -- agreement with the decline classes ----------------------------------------------------------


def test_every_never_code_is_in_the_never_profile() -> None:
    assert {"stolen_card", "lost_card", "fraudulent", "invalid_account"} <= set(NEVER_CODES)
    for code in NEVER_CODES:
        decline = classify_decline(f"stripe:{code}")
        assert profile_for(decline, new_payment_method=True) == "never", code


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    code=st.sampled_from(NEVER_CODES),
    hours=st.integers(min_value=0, max_value=24 * 31),
    new_card=st.booleans(),
)
def test_a_never_decline_never_recovers(seed: int, code: str, hours: int, new_card: bool) -> None:
    clock = FixedClock(FAILED_AT)
    gw = SimulatedGateway(seed, clock, {"pi_1": f"stripe:{code}"})
    clock.advance(timedelta(hours=hours))

    for n in range(1, 6):
        outcome = gw.retry_payment(retry("pi_1", n, "pm_new" if new_card else None))
        assert outcome.status == "declined"
        assert outcome.decline_code == f"stripe:{code}"
        assert outcome.decline_class is not None
        assert outcome.decline_class.advice == "never"


@pytest.mark.parametrize(
    ("reason", "advice", "decline_class"),
    [
        ("stripe:insufficient_funds", "try_again_later", "later"),
        ("stripe:expired_card", "confirm_card_data", "fix_data"),
        ("stripe:new_account_information_available", None, "update_credentials"),
        ("stripe:stolen_card", "do_not_try_again", "never"),
        ("stripe:no_such_code", None, "unknown"),
    ],
)
def test_a_simulated_decline_classifies_as_its_original_reason(
    reason: str, advice: str | None, decline_class: str
) -> None:
    clock = FixedClock(FAILED_AT)
    gw = SimulatedGateway(
        1,
        clock,
        {"pi_1": reason},
        table=dict(RECOVERY_TABLE)
        | {"funds": RecoveryOdds(0.0, 0.0, 0.0), "unknown": RecoveryOdds(0.0, 0.0, 0.0)},
    )

    outcome = gw.retry_payment(retry("pi_1"))

    assert outcome == ChargeOutcome(
        "declined",
        decline_code=reason,
        advice_code=advice,
        network="visa",
        reference="ch_sim_pi_1_1",
    )
    assert outcome.decline_class is not None
    assert outcome.decline_class.advice == decline_class


def test_a_stale_card_never_recovers_but_a_new_one_usually_does() -> None:
    clock = FixedClock(FAILED_AT)
    gw = SimulatedGateway(3, clock)
    for i in range(400):
        gw.register(f"pi_{i}", "stripe:expired_card")
    clock.set(MID_CYCLE)

    same = [gw.retry_payment(retry(f"pi_{i}", 1)) for i in range(400)]
    new = [gw.retry_payment(retry(f"pi_{i}", 2, "pm_new")) for i in range(400)]

    assert {o.status for o in same} == {"declined"}
    rate = sum(o.status == "succeeded" for o in new) / 400
    assert 0.62 <= rate <= 0.78
    failed_new = next(o for o in new if o.status == "declined")
    assert (failed_new.decline_code, failed_new.advice_code) == (
        "stripe:generic_decline",
        "try_again_later",
    )


def test_an_on_session_retry_of_an_authentication_decline_is_pending() -> None:
    gw, _ = gateway_at(MID_CYCLE)
    gw.register("pi_1", "stripe:authentication_required", network="mastercard")

    outcome = gw.retry_payment(retry("pi_1", off_session="false"))

    assert outcome == ChargeOutcome(
        "pending",
        network="mastercard",
        reference="ch_sim_pi_1_1",
        detail="the customer is asked to authenticate",
    )


# -- determinism and idempotency ---------------------------------------------------------------


def outcomes(seed: int, order: list[int]) -> dict[str, list[str]]:
    clock = FixedClock(FAILED_AT)
    gw = SimulatedGateway(seed, clock)
    for i in range(50):
        gw.register(f"pi_{i}", "stripe:do_not_honor")
    clock.set(FUNDING_DAY)
    seen: dict[str, list[str]] = {}
    for n in (1, 2, 3):
        for i in order:
            seen.setdefault(f"pi_{i}", []).append(gw.retry_payment(retry(f"pi_{i}", n)).status)
    return seen


def test_the_same_seed_and_requests_give_the_same_outcomes_in_any_interleaving() -> None:
    forward = outcomes(5, list(range(50)))

    assert outcomes(5, list(range(50))) == forward
    assert outcomes(5, list(reversed(range(50)))) == forward
    assert outcomes(6, list(range(50))) != forward


def test_a_resent_key_returns_the_first_outcome_without_a_new_attempt() -> None:
    gw, _ = gateway_at(MID_CYCLE)
    gw.register("pi_1", "stripe:do_not_honor")

    first = gw.retry_payment(retry("pi_1", 1))
    again = gw.retry_payment(retry("pi_1", 1))

    assert again is first
    assert gw.attempts("pi_1") == 1


def test_a_key_reused_with_other_parameters_is_a_terminal_error() -> None:
    gw, _ = gateway_at(MID_CYCLE)
    gw.register("pi_1", "stripe:do_not_honor")
    gw.retry_payment(retry("pi_1", 1))

    outcome = gw.retry_payment(retry("pi_1", 1, payment_method="pm_other"))

    assert (outcome.status, outcome.retryable_error) == ("error", False)
    assert outcome.detail == "idempotency key 'pi_1:attempt:1' was used with other parameters"
    assert gw.attempts("pi_1") == 1


def test_a_payment_that_succeeded_cannot_be_charged_again() -> None:
    gw, _ = gateway_at(FUNDING_DAY)
    gw.register("pi_1", "stripe:processing_error")
    statuses = [gw.retry_payment(retry("pi_1", n)).status for n in range(1, 30)]
    first_success = statuses.index("succeeded")

    assert statuses[first_success + 1 :] == ["error"] * (len(statuses) - first_success - 1)
    assert gw.attempts("pi_1") == first_success + 1


def test_success_reports_the_amount_and_the_network() -> None:
    gw, _ = gateway_at(FUNDING_DAY)
    gw.register("pi_1", "stripe:processing_error", network="amex")
    outcome = next(
        o for n in range(1, 30) if (o := gw.retry_payment(retry("pi_1", n))).status == "succeeded"
    )

    assert outcome.amount == EUR
    assert outcome.network == "amex"
    assert outcome.reference == f"ch_sim_pi_1_{gw.attempts('pi_1')}"


def test_the_simulator_is_a_payment_gateway() -> None:
    gw: PaymentGateway = SimulatedGateway(1, FixedClock(FAILED_AT), {"pi_1": "stripe:do_not_honor"})
    assert gw.retry_payment(retry("pi_1")).status in ("succeeded", "declined")


# -- what the simulator refuses ------------------------------------------------------------------


def test_an_unregistered_payment_is_not_found() -> None:
    gw, _ = gateway_at(MID_CYCLE)
    with pytest.raises(NotFoundError, match="'pi_x' is unknown to the simulator"):
        gw.retry_payment(retry("pi_x"))


def test_a_reason_must_be_namespaced_and_a_failure_time_aware() -> None:
    gw, _ = gateway_at(MID_CYCLE)
    with pytest.raises(InvalidInputError, match="not namespaced"):
        gw.register("pi_1", "insufficient_funds")
    with pytest.raises(InvalidInputError, match="no time zone"):
        gw.register("pi_1", "stripe:insufficient_funds", failed_at=datetime(2026, 10, 1))
    with pytest.raises(NotFoundError):
        gw.attempts("pi_1")


def test_an_incomplete_table_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="lacks profiles: never"):
        SimulatedGateway(
            1, FixedClock(), table={k: v for k, v in RECOVERY_TABLE.items() if k != "never"}
        )


# -- disputes -------------------------------------------------------------------------------------


def evidence(key: str, submit: bool, text: str = "Delivered 2026-09-21") -> EvidenceRequest:
    return EvidenceRequest("du_1", {"uncategorized_text": text}, submit, key)


def test_evidence_is_saved_then_submitted_then_refused() -> None:
    gw, _ = gateway_at(MID_CYCLE)

    assert gw.submit_dispute_evidence(evidence("e1", False)) == EvidenceOutcome(
        "saved", "du_1", "needs_response"
    )
    assert gw.submit_dispute_evidence(evidence("e2", True)) == EvidenceOutcome(
        "submitted", "du_1", "under_review"
    )
    assert gw.submit_dispute_evidence(evidence("e3", True)) == EvidenceOutcome(
        "rejected", "du_1", "evidence for du_1 was submitted"
    )
    assert gw.submit_dispute_evidence(evidence("e2", True)) == EvidenceOutcome(
        "submitted", "du_1", "under_review"
    )
    reused = gw.submit_dispute_evidence(evidence("e2", True, "other text"))
    assert (reused.status, reused.retryable_error) == ("error", False)


# -- the port's requests --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"context": {"offsession": "true"}}, "unknown context key 'offsession'"),
        ({"context": {"off_session": "yes"}}, "expected 'true' or 'false'"),
        ({"context": {"mandate": ""}}, "context 'mandate' must be a non-empty string"),
        ({"idempotency_key": " "}, "idempotency_key is empty"),
        ({"idempotency_key": "k" * 256}, "idempotency_key is 256 characters"),
        ({"amount": Money(Decimal("0.00"), "EUR")}, "is not positive"),
        ({"payment_method": ""}, "payment_method is empty"),
        ({"payment_ref": ""}, "payment_ref is empty"),
    ],
)
def test_a_retry_request_that_cannot_be_sent_is_refused(
    kwargs: dict[str, object], message: str
) -> None:
    fields: dict[str, object] = {"payment_ref": "pi_1", "amount": EUR, "idempotency_key": "k"}
    with pytest.raises(InvalidInputError, match=message):
        RetryRequest(**(fields | kwargs))  # type: ignore[arg-type]


def test_a_retry_request_keeps_a_frozen_copy_of_its_context() -> None:
    context = {"off_session": "false"}
    request = RetryRequest("pi_1", EUR, "k", context=context)
    context["off_session"] = "true"

    assert request.is_off_session is False
    with pytest.raises(TypeError):
        request.context["mandate"] = "m"  # type: ignore[index]


def test_evidence_requests_are_checked() -> None:
    with pytest.raises(InvalidInputError, match="unknown evidence field 'tracking'"):
        EvidenceRequest("du_1", {"tracking": "x"}, True, "k")
    with pytest.raises(InvalidInputError, match="nothing to submit"):
        EvidenceRequest("du_1", {}, True, "k")


def test_only_an_error_can_be_retryable() -> None:
    with pytest.raises(InvalidInputError):
        ChargeOutcome("declined", retryable_error=True)
    with pytest.raises(InvalidInputError):
        EvidenceOutcome("rejected", retryable_error=True)
    assert ChargeOutcome("succeeded").decline_class is None
