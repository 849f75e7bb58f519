"""When, if ever, to try a failed card payment again.

:func:`plan_retry` reads the whole attempt history of one payment, from every path that tried it
(scheduled retries, the customer's "retry now", dunning), and answers with one
:class:`RetryPlan`: a time, or ``None`` and why not. It is pure: time comes in as ``now``, the
same input always gives the same plan.

Invariants every plan keeps (the property tests check them):

- no retry after a ``never`` decline, nor after an ``update_credentials`` / ``fix_data`` decline
  that no later credentials or data update answered, nor after an ``unknown`` one (a person
  looks first), nor once an attempt succeeded;
- the planned time is after the last attempt and not before ``now``;
- counting the planned attempt, no network window in :data:`NETWORK_LIMITS` (or the policy's) is
  exceeded at the planned time, the payment's budget of attempts is not exceeded, and the time is
  within ``max_days`` of the first attempt;
- a Mastercard "retry after N hours/days" merchant advice code (24 to 30) is honoured.

Declines are classified by :func:`recoup.domain.detection.declines.classify_decline`; the
schedules, limits and their sources are in ``docs/retries.md``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Final, NamedTuple

from recoup.domain.detection.declines import DeclineClass, classify_decline
from recoup.domain.errors import ConfigurationError, InvalidInputError, Location


class RetryLimit(NamedTuple):
    """At most ``attempts`` attempts on one payment within any ``window`` (edges included).

    A tuple of the same shape as ``DetectionSettings.retry_limits`` values, so the
    ``retry_exhausted`` detector can read the first limit of each network as it is."""

    attempts: int
    window: timedelta


OTHER_NETWORK: Final = "other"

NETWORK_LIMITS: Final[Mapping[str, tuple[RetryLimit, ...]]] = MappingProxyType(
    {
        # Visa rules: at most 15 reattempts in 30 days after a category 2-4 decline.
        "visa": (RetryLimit(15, timedelta(days=30)),),
        # Mastercard Excessive Attempts: 10 declines in 24 hours; 35 in 30 days.
        "mastercard": (RetryLimit(10, timedelta(hours=24)), RetryLimit(35, timedelta(days=30))),
        OTHER_NETWORK: (RetryLimit(8, timedelta(days=30)),),
    }
)
"""Network -> the windows a payment's attempts must stay within; ``other`` for any network not
listed. The first limit of each network is the one the ``retry_exhausted`` detector uses
(``DetectionSettings.retry_limits``), with the same numbers."""

_NETWORK_NAMES: Final = {"visa": "visa", "mastercard": "mastercard", "mc": "mastercard"}


class Schedule(StrEnum):
    """The reason of a plan with a time: what decided that time."""

    FUNDING_DAY = "funding_day"
    PROCESSING_BACKOFF = "processing_backoff"
    SOFT_BACKOFF = "soft_backoff"
    ADVICE_WAIT = "advice_wait"
    CREDENTIALS_UPDATED = "credentials_updated"
    NETWORK_WINDOW = "network_window"


class Stop(StrEnum):
    """The reason of a plan without a time: why nothing more is tried."""

    SUCCEEDED = "succeeded"
    HARD_DECLINE = "hard_decline"
    ADVICE_FORBIDS = "advice_forbids"
    NEEDS_CREDENTIALS = "needs_credentials"
    NEEDS_DATA = "needs_data"
    UNKNOWN_DECLINE = "unknown_decline"
    BUDGET_EXHAUSTED = "budget_exhausted"
    BUDGET_EXPIRED = "budget_expired"
    NETWORK_LIMIT = "network_limit"


FUNDING_REASONS: Final = frozenset({"insufficient_funds", "card_velocity_exceeded"})
"""Soft declines retried on the next likely funding day (money or credit limit comes back)."""
PROCESSING_REASONS: Final = frozenset(
    {"processing_error", "issuer_not_available", "reenter_transaction"}
)
"""Soft declines caused by a system rather than the account: short backoff."""


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try of the payment, from any path (``scheduled``, ``customer``, ``dunning``, ...).

    ``code`` is a namespaced decline code (``visa:51``, ``mc:05``, ``stripe:insufficient_funds``);
    ``advice_code`` a Mastercard merchant advice code (``03``, ``mc:24``) or a Stripe advice code
    (``do_not_try_again``, ``stripe:try_again_later``)."""

    at: datetime
    network: str
    code: str | None
    advice_code: str | None
    succeeded: bool
    path: str


@dataclass(frozen=True, slots=True)
class RetryPlan:
    """``at`` is when to retry, or None for no retry; ``reason`` is a :class:`Schedule` value
    when there is a time, a :class:`Stop` value otherwise. ``decline_class`` is the class that
    decided (``none`` once the payment succeeded); ``attempts_left`` is what the budget still
    allows, the planned attempt included."""

    at: datetime | None
    reason: str
    decline_class: str
    attempts_left: int


def _hours(*values: int) -> tuple[timedelta, ...]:
    return tuple(timedelta(hours=v) for v in values)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """One retry budget per payment, shared by every path that tries it.

    ``max_attempts`` counts every attempt, the first included; no retry is planned later than
    ``max_days`` after the first attempt. A backoff schedule uses its delays in turn, after the
    latest attempt, and repeats its last delay."""

    max_attempts: int = 8
    max_days: int = 30
    funding_hour: int = 9
    processing_delays: tuple[timedelta, ...] = _hours(1, 4, 12)
    soft_delays: tuple[timedelta, ...] = _hours(24, 72, 120)
    network_limits: Mapping[str, tuple[RetryLimit, ...]] = field(
        default_factory=lambda: NETWORK_LIMITS
    )

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigurationError("retry policy max_attempts must be at least 1")
        if self.max_days < 1:
            raise ConfigurationError("retry policy max_days must be at least 1")
        if not 0 <= self.funding_hour <= 23:
            raise ConfigurationError("retry policy funding_hour must be an hour from 0 to 23")
        for name in ("processing_delays", "soft_delays"):
            delays: tuple[timedelta, ...] = getattr(self, name)
            if not delays or any(d <= timedelta(0) for d in delays):
                raise ConfigurationError(f"retry policy {name} must be positive durations")
        if OTHER_NETWORK not in self.network_limits:
            raise ConfigurationError(f"retry policy network_limits need an {OTHER_NETWORK!r} entry")
        for network, limits in self.network_limits.items():
            if not limits or any(n < 1 or w <= timedelta(0) for n, w in limits):
                raise ConfigurationError(
                    f"retry policy network limit of {network!r} is not positive"
                )


DEFAULT_POLICY: Final = RetryPolicy()


# -- classification ------------------------------------------------------------------------


@cache
def _advice_waits() -> dict[str, timedelta]:
    """Mastercard merchant advice code -> the wait it asks for (codes 24 to 30)."""
    data = resources.files("recoup.domain.detection").joinpath("data")
    text = data.joinpath("mastercard_merchant_advice_codes.csv").read_text(encoding="utf-8")
    return {
        row["code"]: timedelta(hours=int(row["wait_hours"]))
        for row in csv.DictReader(text.splitlines())
        if row["wait_hours"]
    }


def _advice(advice_code: str | None) -> tuple[str, str] | None:
    """(attribute key for classify_decline, code) of an advice code; None when unreadable."""
    if advice_code is None or not advice_code.strip():
        return None
    namespace, _, value = advice_code.strip().rpartition(":")
    namespace = namespace.lower()
    if namespace in ("mc", "mastercard") or (not namespace and value.isdigit()):
        return ("merchant_advice_code", value.zfill(2)) if value.isdigit() else None
    if namespace in ("", "stripe"):
        return "advice_code", value
    return None


def classify_attempt(attempt: Attempt) -> DeclineClass:
    """The decline class of a failed attempt, its advice code applied."""
    advice = _advice(attempt.advice_code)
    return classify_decline(attempt.code, dict([advice]) if advice else None)


def advice_wait(advice_code: str | None) -> timedelta:
    """How long a Mastercard "retry after" advice code asks to wait (zero for any other)."""
    advice = _advice(advice_code)
    if advice is None or advice[0] != "merchant_advice_code":
        return timedelta(0)
    return _advice_waits().get(advice[1], timedelta(0))


def network_key(network: str | None) -> str:
    """How a network is looked up in the limits: lower case letters and digits, ``mc`` read as
    ``mastercard``, blank read as ``other``."""
    word = "".join(c for c in (network or "").lower() if c.isalnum())
    return _NETWORK_NAMES.get(word, word) or OTHER_NETWORK


def schedule_of(decline: DeclineClass) -> Schedule:
    """The backoff a soft decline follows."""
    if decline.normalized_reason in FUNDING_REASONS:
        return Schedule.FUNDING_DAY
    if decline.normalized_reason in PROCESSING_REASONS:
        return Schedule.PROCESSING_BACKOFF
    return Schedule.SOFT_BACKOFF


# -- funding days --------------------------------------------------------------------------


def is_funding_date(day: date) -> bool:
    """A Friday; the 1st or the 15th (a weekend one moves to the Monday after); the last
    weekday of the month."""
    weekday = day.weekday()
    if weekday >= 5:
        return False
    if weekday == 4 or day.day in (1, 15):
        return True
    if weekday == 0 and any((day - timedelta(days=n)).day in (1, 15) for n in (1, 2)):
        return True
    next_weekday = day + timedelta(days=1)
    return next_weekday.month != day.month


def next_funding_at(last: datetime, not_before: datetime, hour: int) -> datetime:
    """The first funding date after the date of ``last`` (UTC), at ``hour`` UTC, not before
    ``not_before``."""
    day = last.astimezone(UTC).date() + timedelta(days=1)
    while True:
        at = datetime.combine(day, time(hour), tzinfo=UTC)
        if is_funding_date(day) and at >= not_before:
            return at
        day += timedelta(days=1)


# -- network windows -----------------------------------------------------------------------


def _next_minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0) + timedelta(minutes=1)


def earliest_within(
    limits: Iterable[RetryLimit], times: Sequence[datetime], at: datetime
) -> datetime:
    """The first time from ``at`` on at which one more attempt keeps every window of ``limits``
    (``times`` ascending, all before ``at``; an attempt exactly ``window`` old still counts)."""
    out = at
    for attempts, window in limits:
        inside = sum(1 for t in times if out - t <= window)
        if inside + 1 > attempts:
            # the (attempts)-th latest attempt must be out of the window
            out = max(out, _next_minute(times[len(times) - attempts] + window))
    return out


def limits_for(history: Sequence[Attempt], policy: RetryPolicy) -> tuple[RetryLimit, ...]:
    """The limits of every network the payment was tried on (a card may change hands between
    paths; keeping all of them can only be stricter)."""
    table = policy.network_limits
    keys = sorted({network_key(a.network) for a in history})
    out: list[RetryLimit] = []
    for key in keys:
        out.extend(table.get(key, table[OTHER_NETWORK]))
    return tuple(out)


# -- the planner ---------------------------------------------------------------------------


def _check(attempts: Sequence[Attempt], now: datetime, updated_at: datetime | None) -> None:
    stamps: list[tuple[str, datetime | None]] = [
        (f"attempts[{i}].at", a.at) for i, a in enumerate(attempts)
    ]
    stamps += [("now", now), ("credentials_updated_at", updated_at)]
    for name, value in stamps:
        if value is not None and value.utcoffset() is None:
            raise InvalidInputError("must be a timezone-aware time", location=Location(field=name))
    if not attempts:
        raise InvalidInputError("a retry plan needs at least one attempt",
                                location=Location(field="attempts"))  # fmt: skip


def _sort_key(attempt: Attempt) -> tuple[datetime, bool, str, str, str, str]:
    return (attempt.at, attempt.succeeded, attempt.path, attempt.network, attempt.code or "",
            attempt.advice_code or "")  # fmt: skip


def _stop(attempts: Sequence[Attempt], updated_at: datetime | None) -> tuple[Stop, str] | None:
    """Why no retry at all is allowed, from the declines alone, with the class that decided."""
    if any(a.succeeded for a in attempts):
        return Stop.SUCCEEDED, "none"
    for attempt in reversed(attempts):
        decline = classify_attempt(attempt)
        if decline.advice == "never":
            alone = classify_decline(attempt.code).advice
            return (Stop.HARD_DECLINE if alone == "never" else Stop.ADVICE_FORBIDS), "never"
    for attempt in reversed(attempts):
        advice = classify_attempt(attempt).advice
        answered = updated_at is not None and updated_at > attempt.at
        if advice == "update_credentials" and not answered:
            return Stop.NEEDS_CREDENTIALS, advice
        if advice == "fix_data" and not answered:
            return Stop.NEEDS_DATA, advice
    if classify_attempt(attempts[-1]).advice == "unknown":
        return Stop.UNKNOWN_DECLINE, "unknown"
    return None


def _scheduled(
    attempts: Sequence[Attempt], now: datetime, updated_at: datetime | None, policy: RetryPolicy
) -> tuple[datetime, Schedule]:
    """The time the latest decline's schedule asks for, before the network windows."""
    last = attempts[-1]
    decline = classify_attempt(last)
    if decline.advice in ("update_credentials", "fix_data") and updated_at is not None:
        at, reason = max(updated_at, now), Schedule.CREDENTIALS_UPDATED
    else:
        reason = schedule_of(decline)
        if reason is Schedule.FUNDING_DAY:
            at = next_funding_at(last.at, now, policy.funding_hour)
        else:
            delays = policy.processing_delays
            if reason is Schedule.SOFT_BACKOFF:
                delays = policy.soft_delays
            run = 0
            for attempt in reversed(attempts):
                earlier = classify_attempt(attempt)
                if earlier.advice != "later" or schedule_of(earlier) is not reason:
                    break
                run += 1
            at = max(last.at + delays[min(run, len(delays)) - 1], now)
    wait_until = max(a.at + advice_wait(a.advice_code) for a in attempts)
    if wait_until > at:
        at, reason = wait_until, Schedule.ADVICE_WAIT
    if at <= last.at:
        at = last.at + timedelta(seconds=1)
    return at, reason


def plan_retry(
    attempts: Sequence[Attempt],
    now: datetime,
    *,
    credentials_updated_at: datetime | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> RetryPlan:
    """The next retry of one payment, or why there is none.

    ``attempts`` is every try of the payment, in any order; ``credentials_updated_at`` is when
    the customer last updated their card details or data, which makes an earlier
    ``update_credentials`` / ``fix_data`` decline retryable (once, right away)."""
    _check(attempts, now, credentials_updated_at)
    history = sorted(attempts, key=_sort_key)
    left = max(0, policy.max_attempts - len(history))
    stop = _stop(history, credentials_updated_at)
    if stop is not None:
        return RetryPlan(None, stop[0].value, stop[1], left)
    decline_class = classify_attempt(history[-1]).advice
    if left == 0:
        return RetryPlan(None, Stop.BUDGET_EXHAUSTED.value, decline_class, left)
    at, reason = _scheduled(history, now, credentials_updated_at, policy)
    limits = limits_for(history, policy)
    times = [a.at for a in history]
    while True:
        allowed = earliest_within(limits, times, at)
        if allowed == at:
            break
        reason = Schedule.NETWORK_WINDOW
        at = allowed
        if schedule_of(classify_attempt(history[-1])) is Schedule.FUNDING_DAY:
            at = next_funding_at(at - timedelta(days=1), at, policy.funding_hour)
    deadline = history[0].at + timedelta(days=policy.max_days)
    if at > deadline:
        why = Stop.NETWORK_LIMIT if reason is Schedule.NETWORK_WINDOW else Stop.BUDGET_EXPIRED
        return RetryPlan(None, why.value, decline_class, left)
    return RetryPlan(at.astimezone(UTC), reason.value, decline_class, left)


__all__ = [
    "DEFAULT_POLICY",
    "FUNDING_REASONS",
    "NETWORK_LIMITS",
    "OTHER_NETWORK",
    "PROCESSING_REASONS",
    "Attempt",
    "RetryLimit",
    "RetryPlan",
    "RetryPolicy",
    "Schedule",
    "Stop",
    "advice_wait",
    "classify_attempt",
    "earliest_within",
    "is_funding_date",
    "limits_for",
    "network_key",
    "next_funding_at",
    "plan_retry",
    "schedule_of",
]
