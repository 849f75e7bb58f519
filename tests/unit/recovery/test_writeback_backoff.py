"""Writeback retry arithmetic: the HTTP classification, the full-jitter backoff and the request
value; no sockets."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recoup.domain.money import Money
from recoup.domain.recovery import writeback
from recoup.domain.recovery.writeback import (
    DEFAULT_CAP,
    MAX_ATTEMPTS,
    WritebackRequest,
    WritebackResult,
    backoff_ceiling,
    classify_http,
    next_attempt_at,
)

NOW = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
FAST = settings(max_examples=200, deadline=None)


def test_public_surface() -> None:
    assert sorted(writeback.__all__) == [
        "CONFIRMED", "DEFAULT_BASE", "DEFAULT_CAP", "MAX_ATTEMPTS", "RETRY",
        "RETRYABLE_HTTP_STATUSES", "TERMINAL", "WritebackPort", "WritebackRequest",
        "WritebackResult", "WritebackStatus", "backoff_ceiling", "classify_http",
        "next_attempt_at",
    ]  # fmt: skip


# -- classification ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, "confirmed"), (201, "confirmed"), (202, "confirmed"), (204, "confirmed"),
        (299, "confirmed"),
        (408, "retry"), (425, "retry"), (429, "retry"), (500, "retry"), (502, "retry"),
        (503, "retry"), (504, "retry"), (599, "retry"),
        (400, "terminal"), (401, "terminal"), (403, "terminal"), (404, "terminal"),
        (409, "terminal"), (410, "terminal"), (413, "terminal"), (422, "terminal"),
        (499, "terminal"), (100, "terminal"), (301, "terminal"), (304, "terminal"),
        (308, "terminal"),
    ],
)  # fmt: skip
def test_classify_http(status: int, expected: str) -> None:
    assert classify_http(status) == expected


# -- backoff -----------------------------------------------------------------------------------


def test_ceiling_doubles_from_base_until_the_cap() -> None:
    ceilings = [backoff_ceiling(n).total_seconds() for n in range(1, 13)]
    assert ceilings == [30, 60, 120, 240, 480, 960, 1920, 3840, 7680, 15360, 21600, 21600]


def test_ceiling_of_a_huge_attempt_is_the_cap() -> None:
    assert backoff_ceiling(10_000) == DEFAULT_CAP


def test_max_attempts_budget_is_about_a_day() -> None:
    waits = sum((backoff_ceiling(n) for n in range(1, MAX_ATTEMPTS)), timedelta())
    assert waits == timedelta(seconds=95_490)


def test_same_seed_same_schedule() -> None:
    first = [next_attempt_at(n, NOW, random.Random(7)) for n in range(1, 8)]
    again = [next_attempt_at(n, NOW, random.Random(7)) for n in range(1, 8)]
    assert first == again


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"attempt": 0}, "attempt must be an integer of at least 1"),
        ({"attempt": True}, "attempt must be an integer of at least 1"),
        ({"base": timedelta(0)}, "base must be positive"),
        ({"cap": timedelta(seconds=10)}, "must not be shorter than base"),
        ({"now": datetime(2026, 10, 1)}, "now must be timezone-aware"),
        ({"retry_after": timedelta(seconds=-1)}, "retry_after must not be negative"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"attempt": 1, "now": NOW, "rng": random.Random(1), **kwargs}
    with pytest.raises(ValueError, match=message):
        next_attempt_at(**args)  # type: ignore[arg-type]


bases = st.integers(min_value=1, max_value=600).map(lambda s: timedelta(seconds=s))


@FAST
@given(
    attempt=st.integers(min_value=1, max_value=200),
    seed=st.integers(min_value=0, max_value=2**32),
    base=bases,
    cap_factor=st.integers(min_value=1, max_value=2000),
    retry_after=st.none()
    | st.integers(min_value=0, max_value=10**7).map(lambda s: timedelta(seconds=s)),
)
def test_never_before_now_never_beyond_the_cap(
    attempt: int, seed: int, base: timedelta, cap_factor: int, retry_after: timedelta | None
) -> None:
    cap = base * cap_factor
    at = next_attempt_at(attempt, NOW, random.Random(seed), base, cap, retry_after=retry_after)
    assert NOW <= at <= NOW + cap
    assert at - NOW <= backoff_ceiling(attempt, base, cap) or retry_after is not None
    if retry_after is not None:
        assert at >= NOW + min(retry_after, cap)


@FAST
@given(
    attempt=st.integers(min_value=1, max_value=8), seed=st.integers(min_value=0, max_value=2**32)
)
def test_grows_in_expectation(attempt: int, seed: int) -> None:
    """Below the cap each ceiling doubles, so the mean wait doubles: with 200 draws each the
    means sit within a few percent of ceiling / 2, far from crossing."""
    rng = random.Random(seed)
    cap = timedelta(days=30)

    def mean_wait(n: int) -> float:
        draws = [(next_attempt_at(n, NOW, rng, cap=cap) - NOW).total_seconds() for _ in range(200)]
        return sum(draws) / len(draws)

    now_mean, next_mean = mean_wait(attempt), mean_wait(attempt + 1)
    assert next_mean > now_mean
    half = backoff_ceiling(attempt, cap=cap).total_seconds() / 2
    assert 0.8 * half < now_mean < 1.2 * half


def test_jitter_spreads_over_the_whole_window() -> None:
    """Full jitter: waits fill [0, ceiling], not a band near the top."""
    rng = random.Random(3)
    waits = [(next_attempt_at(4, NOW, rng) - NOW).total_seconds() for _ in range(2000)]
    assert min(waits) < 10
    assert max(waits) > 230
    assert max(waits) <= 240


def test_retry_after_pushes_the_attempt_out_up_to_the_cap() -> None:
    rng = random.Random(5)
    assert next_attempt_at(1, NOW, rng, retry_after=timedelta(minutes=10)) == NOW + timedelta(
        minutes=10
    )
    assert next_attempt_at(1, NOW, rng, retry_after=timedelta(days=9)) == NOW + DEFAULT_CAP


def test_now_in_another_zone_keeps_its_instant() -> None:
    from datetime import timezone

    local = NOW.astimezone(timezone(timedelta(hours=2)))
    assert next_attempt_at(1, local, random.Random(1)) == next_attempt_at(1, NOW, random.Random(1))


# -- request and result --------------------------------------------------------------------------


def request(**payload: object) -> WritebackRequest:
    return WritebackRequest(
        id="wb_1", case_id="case_1", target="erp", operation="record_outcome",
        payload=payload, idempotency_key="case_1:step-2",
    )  # fmt: skip


def test_json_is_deterministic_and_never_floats_money() -> None:
    body = request(
        amount=Decimal("25.00"), money=Money(Decimal("80.00"), "EUR"),
        at=datetime(2026, 10, 1, 8, 30, tzinfo=UTC), on=date(2026, 10, 1),
        tags={"b", "a"}, note="Zahlung erhalten",
    ).to_json()  # fmt: skip
    assert body == (
        b'{"case_id":"case_1","id":"wb_1","idempotency_key":"case_1:step-2",'
        b'"operation":"record_outcome","payload":{"amount":"25.00","at":"2026-10-01T08:30:00+00:00",'
        b'"money":{"amount":"80.00","currency":"EUR"},"note":"Zahlung erhalten",'
        b'"on":"2026-10-01","tags":["a","b"]},"target":"erp"}'
    )


def test_json_refuses_what_it_cannot_hold() -> None:
    with pytest.raises(TypeError, match="a object cannot be written as JSON"):
        request(thing=object()).to_json()
    with pytest.raises(ValueError, match="not a finite amount"):
        request(amount=Decimal("NaN")).to_json()


def test_payload_is_a_frozen_copy() -> None:
    payload = {"outcome": "recovered"}
    req = WritebackRequest("wb_1", "case_1", "erp", "op", payload, "k")
    payload["outcome"] = "lost"
    assert req.payload == {"outcome": "recovered"}
    with pytest.raises(TypeError):
        req.payload["outcome"] = "lost"  # type: ignore[index]


@pytest.mark.parametrize("field", ["id", "case_id", "target", "operation", "idempotency_key"])
def test_request_refuses_empty_fields(field: str) -> None:
    values = {"id": "wb_1", "case_id": "c", "target": "erp", "operation": "op",
              "payload": {}, "idempotency_key": "k", field: " "}  # fmt: skip
    with pytest.raises(ValueError, match=f"{field} must not be empty"):
        WritebackRequest(**values)  # type: ignore[arg-type]


def test_request_refuses_an_overlong_key() -> None:
    with pytest.raises(ValueError, match="idempotency_key is 256 characters"):
        WritebackRequest("wb_1", "c", "erp", "op", {}, "k" * 256)


def test_result_refuses_unknown_status_and_negative_wait() -> None:
    with pytest.raises(ValueError, match="unknown writeback status 'done'"):
        WritebackResult("done", "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="retry_after must not be negative"):
        WritebackResult("retry", "x", retry_after=timedelta(seconds=-1))
    assert WritebackResult("retry", "x").is_retryable
    assert WritebackResult("confirmed", "x").is_confirmed
