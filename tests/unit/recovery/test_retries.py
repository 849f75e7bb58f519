"""plan_retry: when to try a failed card payment again, within the network rules and the budget."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recoup.domain.detection.declines import classify_decline
from recoup.domain.detection.detectors import DetectionSettings
from recoup.domain.errors import ConfigurationError, InvalidInputError
from recoup.domain.recovery import retries
from recoup.domain.recovery.retries import (
    NETWORK_LIMITS,
    Attempt,
    RetryLimit,
    RetryPlan,
    RetryPolicy,
    advice_wait,
    classify_attempt,
    is_funding_date,
    network_key,
    plan_retry,
)

WEDNESDAY = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)
ROOMY = RetryPolicy(max_attempts=100, max_days=90)


def failed(
    at: datetime,
    code: str | None = "stripe:do_not_honor",
    *,
    network: str = "visa",
    advice: str | None = None,
    path: str = "scheduled",
) -> Attempt:
    return Attempt(at, network, code, advice, False, path)


# -- schedules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 3, 6), True),  # a Friday
        (date(2026, 3, 2), True),  # Sunday the 1st moves to Monday the 2nd
        (date(2026, 3, 16), True),  # Sunday the 15th moves to Monday the 16th
        (date(2026, 8, 3), True),  # Saturday the 1st moves to Monday the 3rd
        (date(2026, 8, 17), True),  # Saturday the 15th moves to Monday the 17th
        (date(2026, 4, 1), True),  # the 1st on a Wednesday
        (date(2026, 4, 15), True),  # the 15th on a Wednesday
        (date(2026, 3, 31), True),  # last weekday of March, a Tuesday
        (date(2026, 4, 30), True),  # last weekday of April, a Thursday
        (date(2026, 3, 10), False),  # an ordinary Tuesday
        (date(2026, 3, 15), False),  # a Sunday 15th itself
        (date(2026, 3, 1), False),  # a Sunday 1st itself
        (date(2026, 2, 26), False),  # the Thursday before the last weekday
        (date(2026, 3, 9), False),  # a Monday with no 1st or 15th behind it
    ],
)
def test_funding_dates(day: date, expected: bool) -> None:
    assert is_funding_date(day) is expected


@pytest.mark.parametrize(
    ("declined_at", "planned_at"),
    [
        (WEDNESDAY, datetime(2026, 3, 6, 9, tzinfo=UTC)),  # Friday payday
        (datetime(2026, 3, 6, 8, tzinfo=UTC), datetime(2026, 3, 13, 9, tzinfo=UTC)),  # not today
        (datetime(2026, 3, 14, 8, tzinfo=UTC), datetime(2026, 3, 16, 9, tzinfo=UTC)),  # 15th
        (datetime(2026, 3, 30, 23, tzinfo=UTC), datetime(2026, 3, 31, 9, tzinfo=UTC)),  # month end
        (datetime(2026, 2, 28, 12, tzinfo=UTC), datetime(2026, 3, 2, 9, tzinfo=UTC)),  # the 1st
    ],
)
def test_insufficient_funds_waits_for_the_next_funding_day(
    declined_at: datetime, planned_at: datetime
) -> None:
    plan = plan_retry([failed(declined_at, "visa:51")], declined_at + timedelta(minutes=1))

    assert plan == RetryPlan(planned_at, "funding_day", "later", 7)


def test_a_funding_day_already_passed_is_not_planned_in_the_past() -> None:
    # Declined on Wednesday, planned only on Saturday: Friday is gone, Monday the 16th is next.
    now = datetime(2026, 3, 14, 12, tzinfo=UTC)

    plan = plan_retry([failed(datetime(2026, 3, 11, 10, tzinfo=UTC), "mc:51")], now)

    assert plan.at == datetime(2026, 3, 16, 9, tzinfo=UTC)


def test_the_funding_hour_comes_from_the_policy() -> None:
    plan = plan_retry(
        [failed(WEDNESDAY, "stripe:insufficient_funds")],
        WEDNESDAY,
        policy=RetryPolicy(funding_hour=6),
    )

    assert plan.at == datetime(2026, 3, 6, 6, tzinfo=UTC)


def test_processing_errors_back_off_one_four_then_twelve_hours() -> None:
    history: list[Attempt] = []
    at = WEDNESDAY
    gaps = []
    for _ in range(4):
        history.append(failed(at, "stripe:processing_error"))
        plan = plan_retry(history, at)
        assert plan.reason == "processing_backoff"
        assert plan.at is not None
        gaps.append(plan.at - at)
        at = plan.at

    assert gaps == [H, 4 * H, 12 * H, 12 * H]


@pytest.mark.parametrize("code", ["visa:91", "visa:96", "mc:31", "stripe:issuer_not_available"])
def test_issuer_unavailable_is_a_processing_error(code: str) -> None:
    plan = plan_retry([failed(WEDNESDAY, code)], WEDNESDAY)

    assert plan == RetryPlan(WEDNESDAY + H, "processing_backoff", "later", 7)


def test_other_soft_declines_back_off_one_three_then_five_days() -> None:
    history: list[Attempt] = []
    at = WEDNESDAY
    gaps = []
    for _ in range(4):
        history.append(failed(at, "stripe:do_not_honor"))
        plan = plan_retry(history, at)
        assert plan.reason == "soft_backoff"
        assert plan.at is not None
        gaps.append(plan.at - at)
        at = plan.at

    assert gaps == [D, 3 * D, 5 * D, 5 * D]


def test_a_new_kind_of_decline_starts_its_schedule_from_the_first_step() -> None:
    history = [
        failed(WEDNESDAY, "stripe:processing_error"),
        failed(WEDNESDAY + H, "stripe:processing_error"),
        failed(WEDNESDAY + 5 * H, "stripe:do_not_honor"),
    ]

    assert plan_retry(history, WEDNESDAY + 5 * H).at == WEDNESDAY + 5 * H + D


def test_an_overdue_plan_is_for_now_not_for_the_past() -> None:
    now = WEDNESDAY + 3 * D

    plan = plan_retry([failed(WEDNESDAY, "stripe:do_not_honor")], now)

    assert plan.at == now


def test_a_customer_retry_now_counts_and_restarts_the_wait() -> None:
    history = [
        failed(WEDNESDAY, "stripe:do_not_honor"),
        failed(WEDNESDAY + 2 * H, "stripe:do_not_honor", path="customer"),
    ]

    plan = plan_retry(history, WEDNESDAY + 2 * H)

    assert plan == RetryPlan(WEDNESDAY + 2 * H + 3 * D, "soft_backoff", "later", 6)


# -- advice codes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("advice", "hours"),
    [("24", 1), ("25", 24), ("26", 48), ("27", 96), ("28", 144), ("29", 192), ("30", 240)],
)
def test_mastercard_retry_after_advice_is_honoured(advice: str, hours: int) -> None:
    # do_not_honor alone would be retried after one day.
    history = [failed(WEDNESDAY, "mc:05", network="mastercard", advice=advice)]

    plan = plan_retry(history, WEDNESDAY, policy=ROOMY)

    assert plan.at == WEDNESDAY + max(timedelta(hours=hours), D)
    assert plan.reason == ("advice_wait" if hours > 24 else "soft_backoff")
    assert advice_wait(advice) == timedelta(hours=hours)
    assert advice_wait(f"mc:{advice}") == timedelta(hours=hours)


def test_a_wait_asked_by_an_earlier_decline_still_holds() -> None:
    history = [
        failed(WEDNESDAY, "mc:05", network="mastercard", advice="26"),
        failed(WEDNESDAY + H, "stripe:processing_error", network="mastercard", path="customer"),
    ]

    plan = plan_retry(history, WEDNESDAY + H)

    assert plan == RetryPlan(WEDNESDAY + 48 * H, "advice_wait", "later", 6)


@pytest.mark.parametrize("advice", [None, "", "03", "01", "02", "stripe:do_not_try_again", "99"])
def test_advice_without_a_wait_asks_for_none(advice: str | None) -> None:
    assert advice_wait(advice) == timedelta(0)


@pytest.mark.parametrize(
    "advice",
    ["03", "21", "3", "mc:03", "mastercard:21", "do_not_try_again", "stripe:do_not_try_again"],
)
def test_advice_that_forbids_a_retry_stops_a_soft_decline(advice: str) -> None:
    plan = plan_retry([failed(WEDNESDAY, "mc:51", network="mastercard", advice=advice)], WEDNESDAY)

    assert plan == RetryPlan(None, "advice_forbids", "never", 7)


def test_an_advice_code_of_an_unknown_namespace_is_ignored() -> None:
    attempt = failed(WEDNESDAY, "visa:51", advice="amex:03")

    assert classify_attempt(attempt) == classify_decline("visa:51")


# -- hard, unknown, succeeded ---------------------------------------------------------------


@pytest.mark.parametrize(
    "code", ["visa:41", "visa:04", "mc:43", "stripe:fraudulent", "stripe:stolen_card", "visa:R0"]
)
def test_a_never_decline_is_never_retried(code: str) -> None:
    plan = plan_retry([failed(WEDNESDAY, code)], WEDNESDAY, credentials_updated_at=WEDNESDAY + D)

    assert plan == RetryPlan(None, "hard_decline", "never", 7)


def test_a_never_decline_earlier_in_the_history_still_stops_everything() -> None:
    history = [
        failed(WEDNESDAY, "visa:41"),
        failed(WEDNESDAY + D, "stripe:processing_error", path="customer"),
    ]

    assert plan_retry(history, WEDNESDAY + D).reason == "hard_decline"


@pytest.mark.parametrize(
    ("code", "advice", "reason", "decline_class"),
    [
        (
            "stripe:new_account_information_available",
            None,
            "needs_credentials",
            "update_credentials",
        ),
        ("mc:05", "01", "needs_credentials", "update_credentials"),
        ("stripe:expired_card", None, "needs_data", "fix_data"),
        ("stripe:incorrect_cvc", None, "needs_data", "fix_data"),
        ("mc:51", "04", "needs_data", "fix_data"),
    ],
)
def test_credentials_and_data_declines_wait_for_an_update(
    code: str, advice: str | None, reason: str, decline_class: str
) -> None:
    history = [failed(WEDNESDAY, code, advice=advice)]
    stale_update = WEDNESDAY - D
    later = WEDNESDAY + 2 * H

    not_updated = plan_retry(history, later)
    updated_before = plan_retry(history, later, credentials_updated_at=stale_update)
    updated_after = plan_retry(history, later, credentials_updated_at=WEDNESDAY + H)

    assert not_updated == RetryPlan(None, reason, decline_class, 7)
    assert updated_before == not_updated
    assert updated_after == RetryPlan(later, "credentials_updated", decline_class, 7)


def test_an_update_still_to_come_is_planned_at_its_time() -> None:
    history = [failed(WEDNESDAY, "stripe:expired_card")]

    plan = plan_retry(history, WEDNESDAY + H, credentials_updated_at=WEDNESDAY + 3 * H)

    assert plan.at == WEDNESDAY + 3 * H


def test_after_an_update_the_next_decline_follows_its_own_schedule() -> None:
    history = [
        failed(WEDNESDAY, "stripe:expired_card"),
        failed(WEDNESDAY + 2 * H, "stripe:insufficient_funds"),
    ]

    plan = plan_retry(history, WEDNESDAY + 2 * H, credentials_updated_at=WEDNESDAY + H)

    assert plan == RetryPlan(datetime(2026, 3, 6, 9, tzinfo=UTC), "funding_day", "later", 6)


@pytest.mark.parametrize("code", ["amex:51", "stripe:not_a_code", None])
def test_an_unknown_decline_goes_to_a_person(code: str | None) -> None:
    plan = plan_retry([failed(WEDNESDAY, code)], WEDNESDAY)

    assert plan == RetryPlan(None, "unknown_decline", "unknown", 7)


def test_only_the_latest_decline_being_unknown_stops_the_schedule() -> None:
    history = [failed(WEDNESDAY, "amex:xx"), failed(WEDNESDAY + H, "stripe:do_not_honor")]

    assert plan_retry(history, WEDNESDAY + H).at == WEDNESDAY + H + D


def test_a_succeeded_payment_is_not_retried() -> None:
    history = [
        failed(WEDNESDAY, "visa:51"),
        Attempt(WEDNESDAY + D, "visa", None, None, True, "customer"),
    ]

    assert plan_retry(history, WEDNESDAY + D) == RetryPlan(None, "succeeded", "none", 6)


# -- budget ---------------------------------------------------------------------------------


def test_the_budget_counts_every_path() -> None:
    paths = ["scheduled", "customer", "dunning"]
    history = [failed(WEDNESDAY + i * H, path=paths[i % 3]) for i in range(7)]

    last_one = plan_retry(history, WEDNESDAY + 7 * H)
    exhausted = plan_retry([*history, failed(WEDNESDAY + 7 * H)], WEDNESDAY + 7 * H)

    assert last_one.attempts_left == 1
    assert last_one.at is not None
    assert exhausted == RetryPlan(None, "budget_exhausted", "later", 0)


def test_no_retry_is_planned_after_the_budget_s_days() -> None:
    history = [failed(WEDNESDAY), failed(WEDNESDAY + 27 * D)]

    # One more soft decline waits three days: day 30 is the last allowed, day 30 + 1 h is not.
    fits = plan_retry(history, WEDNESDAY + 27 * D)
    late = plan_retry([failed(WEDNESDAY), failed(WEDNESDAY + 27 * D + H)], WEDNESDAY + 28 * D)

    assert fits.at == WEDNESDAY + 30 * D
    assert late == RetryPlan(None, "budget_expired", "later", 6)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_days": 0}, "max_days"),
        ({"funding_hour": 24}, "funding_hour"),
        ({"processing_delays": ()}, "processing_delays"),
        ({"soft_delays": (D, timedelta(0))}, "soft_delays"),
        ({"network_limits": {"visa": (RetryLimit(15, 30 * D),)}}, "'other'"),
        ({"network_limits": {"other": (RetryLimit(0, D),)}}, "'other'"),
    ],
)
def test_a_bad_policy_is_refused(change: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        RetryPolicy(**change)  # type: ignore[arg-type]


# -- network windows ------------------------------------------------------------------------


def test_the_limits_are_the_ones_the_retry_exhausted_detector_uses() -> None:
    detector = DetectionSettings().retry_limits

    assert {network: limits[0] for network, limits in NETWORK_LIMITS.items()} == detector
    assert NETWORK_LIMITS["mastercard"][1] == RetryLimit(35, timedelta(days=30))


@pytest.mark.parametrize(
    ("given_name", "key"),
    [("Visa", "visa"), ("MC", "mastercard"), ("master card", "mastercard"), ("", "other"),
     ("American Express", "americanexpress")],
)  # fmt: skip
def test_network_names_are_read_like_the_detector_reads_them(given_name: str, key: str) -> None:
    assert network_key(given_name) == key


def test_mastercard_ten_in_twenty_four_hours_moves_the_retry() -> None:
    # Ten processing errors (customer retries) in 90 minutes: an eleventh must wait until the
    # first is more than 24 hours old (an attempt exactly 24 hours old still counts).
    history = [
        failed(WEDNESDAY + i * timedelta(minutes=10), "stripe:processing_error",
               network="mastercard", path="customer")
        for i in range(10)
    ]  # fmt: skip

    plan = plan_retry(history, WEDNESDAY + 2 * H, policy=ROOMY)

    assert plan == RetryPlan(WEDNESDAY + D + timedelta(minutes=1), "network_window", "later", 90)


def test_the_tenth_mastercard_attempt_in_a_day_is_still_allowed() -> None:
    history = [
        failed(WEDNESDAY + i * timedelta(minutes=10), "stripe:processing_error", network="mc")
        for i in range(9)
    ]

    plan = plan_retry(history, WEDNESDAY + 2 * H, policy=ROOMY)

    assert plan.reason == "processing_backoff"
    assert plan.at == WEDNESDAY + 80 * timedelta(minutes=1) + 12 * H


def test_mastercard_thirty_five_in_thirty_days() -> None:
    # Three customer retries a day, nine hours apart: never ten in 24 hours.
    history = [
        failed(WEDNESDAY + i * 9 * H, "stripe:do_not_honor", network="mastercard")
        for i in range(35)
    ]
    last = history[-1].at

    plan = plan_retry(history, last, policy=ROOMY)

    assert plan.reason == "network_window"
    assert plan.at == WEDNESDAY + 30 * D + timedelta(minutes=1)
    assert plan.at > last + D


def test_visa_fifteen_in_thirty_days_stops_when_the_budget_ends_first() -> None:
    history = [failed(WEDNESDAY + i * D, "stripe:do_not_honor") for i in range(15)]
    policy = RetryPolicy(max_attempts=100, max_days=30)

    plan = plan_retry(history, WEDNESDAY + 14 * D, policy=policy)
    longer = plan_retry(history, WEDNESDAY + 14 * D, policy=replace(policy, max_days=31))

    assert plan == RetryPlan(None, "network_limit", "later", 85)
    assert longer.at == WEDNESDAY + 30 * D + timedelta(minutes=1)


def test_a_funding_retry_moved_by_a_window_lands_on_a_funding_day() -> None:
    history = [failed(WEDNESDAY + i * D, "visa:51") for i in range(15)]

    plan = plan_retry(history, WEDNESDAY + 14 * D, policy=ROOMY)

    # The window frees at 3 April 10:01 (a Friday), after 09:00: the next funding day is Friday
    # 10 April (1 April fell on a Wednesday, so Monday 6 April is not one).
    assert plan == RetryPlan(datetime(2026, 4, 10, 9, tzinfo=UTC), "network_window", "later", 85)


def test_other_networks_get_eight_in_thirty_days() -> None:
    history = [failed(WEDNESDAY + i * H, network="amex") for i in range(8)]

    plan = plan_retry(history, WEDNESDAY + 8 * H, policy=ROOMY)

    assert plan.at == WEDNESDAY + 30 * D + timedelta(minutes=1)


def test_every_network_the_payment_was_tried_on_applies() -> None:
    # Eleven attempts in a day: Visa alone would allow them, Mastercard does not.
    history = [
        failed(WEDNESDAY + i * H, "stripe:processing_error", network=n)
        for i, n in enumerate(["mastercard"] + ["visa"] * 9)
    ]

    plan = plan_retry(history, WEDNESDAY + 9 * H, policy=ROOMY)

    assert plan.at == WEDNESDAY + D + timedelta(minutes=1)


# -- input ----------------------------------------------------------------------------------


def test_the_order_of_the_history_does_not_matter() -> None:
    history = [failed(WEDNESDAY + i * H, "stripe:processing_error") for i in range(3)]

    assert plan_retry(history[::-1], WEDNESDAY + 3 * H) == plan_retry(history, WEDNESDAY + 3 * H)


def test_an_empty_history_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="field attempts: a retry plan needs"):
        plan_retry([], WEDNESDAY)


@pytest.mark.parametrize("where", ["attempt", "now", "update"])
def test_naive_times_are_refused(where: str) -> None:
    naive = datetime(2026, 3, 4, 10)
    history = [failed(naive if where == "attempt" else WEDNESDAY)]
    now = naive if where == "now" else WEDNESDAY
    update = naive if where == "update" else None
    field = {"attempt": "attempts[0].at", "now": "now", "update": "credentials_updated_at"}[where]

    with pytest.raises(
        InvalidInputError, match=re.escape(f"field {field}: must be a timezone-aware")
    ):
        plan_retry(history, now, credentials_updated_at=update)


def test_the_public_surface() -> None:
    assert all(hasattr(retries, name) for name in retries.__all__)
    assert {"plan_retry", "Attempt", "RetryPlan", "RetryPolicy", "NETWORK_LIMITS"} <= set(
        retries.__all__
    )


# -- properties -----------------------------------------------------------------------------

CODES = [
    "visa:51", "mc:51", "stripe:insufficient_funds", "visa:61",  # funding
    "stripe:processing_error", "visa:91", "mc:31", "visa:96",  # processing
    "stripe:do_not_honor", "mc:05", "stripe:generic_decline", "visa:05", "stripe:call_issuer",
    "visa:41", "stripe:fraudulent", "mc:43",  # never
    "stripe:expired_card", "stripe:incorrect_cvc",  # fix_data
    "stripe:new_account_information_available",  # update_credentials
    "amex:51", None,  # unknown
]  # fmt: skip
ADVICE = [None] * 8 + ["01", "02", "03", "04", "21", "24", "25", "26", "27", "28", "29", "30",
                       "do_not_try_again", "try_again_later", "confirm_card_data"]  # fmt: skip
NETWORKS = ["visa", "visa", "mastercard", "mc", "amex", ""]
HARD = ("never", "update_credentials", "fix_data")


SOFT_CODES = [c for c in CODES if c is not None and classify_decline(c).advice == "later"]
WAITS = [None] * 6 + ["02", "24", "25", "26", "30", "try_again_later"]
Case = tuple[list[Attempt], datetime, datetime | None, RetryPolicy]


@st.composite
def histories(draw: st.DrawFn, *, soft: bool = False) -> Case:
    """Any mix of declines (mostly ending in a stop), or with ``soft`` only soft declines in
    bursts (customer retries minutes apart) and pauses, so the network windows bind."""
    start = WEDNESDAY + timedelta(minutes=draw(st.integers(0, 60 * 24 * 60)))
    gap = st.integers(0, 60 * 24 * 6)
    if soft:
        gap = st.one_of(st.integers(0, 20), st.integers(0, 60 * 24 * 3))
    gaps = draw(st.lists(gap, min_size=1, max_size=40))
    network = draw(st.sampled_from(NETWORKS))
    attempts = []
    offset = 0
    for minutes in gaps:
        offset += minutes
        attempts.append(
            Attempt(
                at=start + timedelta(minutes=offset),
                network=network if draw(st.integers(0, 9)) else draw(st.sampled_from(NETWORKS)),
                code=draw(st.sampled_from(SOFT_CODES if soft else CODES)),
                advice_code=draw(st.sampled_from(WAITS if soft else ADVICE)),
                succeeded=not soft and draw(st.integers(0, 30)) == 0,
                path=draw(st.sampled_from(["scheduled", "customer", "dunning"])),
            )
        )
    last = attempts[-1].at
    now = last + timedelta(minutes=draw(st.integers(-60, 60 * 24 * 10)))
    updated_at = draw(
        st.one_of(
            st.none(),
            st.integers(-60 * 24, offset + 60).map(lambda m: start + timedelta(minutes=m)),
        )
    )
    policy = RetryPolicy(max_attempts=draw(st.integers(1, 45)), max_days=draw(st.integers(1, 60)))
    return attempts, now, updated_at, policy


ANY_HISTORY = st.one_of(histories(), histories(soft=True))

FAST = settings(max_examples=200, deadline=None)


@FAST
@given(histories())
def test_property_a_hard_decline_is_never_followed_by_a_planned_retry(
    case: Case,
) -> None:
    attempts, now, updated_at, policy = case

    plan = plan_retry(attempts, now, credentials_updated_at=updated_at, policy=policy)

    for attempt in attempts:
        advice = classify_attempt(attempt).advice
        answered = advice != "never" and updated_at is not None and updated_at > attempt.at
        if advice in HARD and not answered:
            assert plan.at is None
    if any(a.succeeded for a in attempts):
        assert plan == RetryPlan(None, "succeeded", "none", plan.attempts_left)


@FAST
@given(ANY_HISTORY)
def test_property_a_planned_time_keeps_every_limit(
    case: Case,
) -> None:
    attempts, now, updated_at, policy = case

    plan = plan_retry(attempts, now, credentials_updated_at=updated_at, policy=policy)

    assert plan.attempts_left == max(0, policy.max_attempts - len(attempts))
    if plan.at is None:
        return
    assert plan.at > max(a.at for a in attempts)
    assert plan.at >= now
    assert len(attempts) + 1 <= policy.max_attempts
    assert plan.at <= min(a.at for a in attempts) + timedelta(days=policy.max_days)
    for attempt in attempts:
        assert plan.at >= attempt.at + advice_wait(attempt.advice_code)
    for network in {network_key(a.network) for a in attempts}:
        for limit, window in NETWORK_LIMITS.get(network, NETWORK_LIMITS["other"]):
            inside = [a for a in attempts if plan.at - a.at <= window]
            assert len(inside) + 1 <= limit, (network, limit, window)


@FAST
@given(ANY_HISTORY, st.randoms(use_true_random=False))
def test_property_the_plan_is_deterministic(case: Case, rng: object) -> None:
    attempts, now, updated_at, policy = case
    shuffled = list(attempts)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]

    first = plan_retry(attempts, now, credentials_updated_at=updated_at, policy=policy)
    again = plan_retry(attempts, now, credentials_updated_at=updated_at, policy=policy)
    reordered = plan_retry(shuffled, now, credentials_updated_at=updated_at, policy=policy)

    assert first == again == reordered
