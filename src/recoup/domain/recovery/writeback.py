"""Writing a case's outcome back to the system of record, and when to try again.

"Writeback first" (see DESIGN.md): a case that changed a record is not resolved until the
system that owns the truth has confirmed the outcome. The outbox hands each
:class:`WritebackRequest` to a :class:`WritebackPort` adapter and stores the
:class:`WritebackResult` of every attempt. Adapters never raise for a remote failure; they
classify it, so the outbox has exactly three cases to handle:

==============  =============================================================================
``confirmed``   the system of record accepted the change (or had already accepted it: a replay
                with the same idempotency key is confirmed, never applied twice)
``retry``       it may work later: a timeout, a refused connection, 408, 425, 429 or 5xx;
                the next attempt is due at :func:`next_attempt_at`, at most
                :data:`MAX_ATTEMPTS` attempts in all
``terminal``    retrying will not help: another 4xx, an unknown operation, a bad payload;
                the case needs a person (breakpoint ``writeback``)
==============  =============================================================================

Backoff is exponential with "full jitter": after the n-th failed attempt the wait is drawn
uniformly from ``[0, min(cap, base * 2 ** (n - 1))]``. Jitter spreads the retries of many
cases that failed together (one ERP outage) so they do not come back as one herd; the cap
keeps a long outage from pushing the next try out by days.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from types import MappingProxyType
from typing import Any, Final, Literal, Protocol

WritebackStatus = Literal["confirmed", "retry", "terminal"]

CONFIRMED: Final = "confirmed"
RETRY: Final = "retry"
TERMINAL: Final = "terminal"

DEFAULT_BASE: Final = timedelta(seconds=30)
DEFAULT_CAP: Final = timedelta(hours=6)
MAX_ATTEMPTS: Final = 14
"""Attempts in all, the first included. With the default base and cap the thirteen waits add
up to at most 26.5 hours (95,490 s) and about 13 hours on average: an ERP outage of a working
day is ridden out, a dead endpoint reaches a person the next day."""

RETRYABLE_HTTP_STATUSES: Final = frozenset({408, 425, 429})
"""4xx statuses that mean "not now" rather than "not this": Request Timeout, Too Early, Too
Many Requests (RFC 9110 15.5.9, RFC 8470 5.2, RFC 6585 4). Every 5xx is retryable too."""

_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class WritebackRequest:
    """One change to write to one system of record.

    ``target`` names the configured system (``erp``, ``stripe``, ``shopify``, ...),
    ``operation`` what to do there (each adapter documents the operations it knows and the
    ``payload`` each needs). ``idempotency_key`` is the same on every attempt of the same
    change, so the remote side can apply it once; the outbox derives it from the case and the
    step, never from the attempt.
    """

    id: str
    case_id: str
    target: str
    operation: str
    payload: Mapping[str, Any]
    idempotency_key: str

    def __post_init__(self) -> None:
        for name in ("id", "case_id", "target", "operation", "idempotency_key"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"writeback request {self.id!r}: {name} must not be empty")
        if len(self.idempotency_key) > 255:
            raise ValueError(
                f"writeback request {self.id!r}: idempotency_key is "
                f"{len(self.idempotency_key)} characters; at most 255 are accepted remotely"
            )
        object.__setattr__(self, "payload", MappingProxyType(dict(self.payload)))

    def envelope(self) -> dict[str, Any]:
        """The request as one JSON-ready object: what a webhook posts and a file holds."""
        return {
            "id": self.id,
            "case_id": self.case_id,
            "target": self.target,
            "operation": self.operation,
            "idempotency_key": self.idempotency_key,
            "payload": dict(self.payload),
        }

    def to_json(self) -> bytes:
        """:meth:`envelope` as compact UTF-8 JSON with sorted keys, so the same request always
        gives the same bytes (a replay is recognisable, a signature reproducible). Decimals
        are written as strings (``"25.00"``), never as floats; datetimes and dates in ISO 8601.

        Raises ``TypeError`` naming the value that JSON cannot hold."""
        return json.dumps(
            self.envelope(), default=_json_value, sort_keys=True, separators=(",", ":"),
            ensure_ascii=False, allow_nan=False,
        ).encode()  # fmt: skip


def _json_value(value: object) -> object:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a finite amount")
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, frozenset | set):
        return sorted(value, key=str)
    amount, currency = getattr(value, "amount", None), getattr(value, "currency", None)
    if isinstance(amount, Decimal) and isinstance(currency, str):  # Money
        return {"amount": str(amount), "currency": currency}
    raise TypeError(f"a {type(value).__name__} cannot be written as JSON: {value!r}")


@dataclass(frozen=True, slots=True)
class WritebackResult:
    """What one attempt came to. ``detail`` is one line for the operator (the remote's own
    message where it gave one); ``http_status`` is the remote's status when there was one;
    ``reference`` the remote's id for the change where it returns one; ``retry_after`` the
    wait the remote asked for (``Retry-After``), which :func:`next_attempt_at` honours."""

    status: WritebackStatus
    detail: str
    http_status: int | None = None
    reference: str | None = None
    retry_after: timedelta | None = field(default=None)

    def __post_init__(self) -> None:
        if self.status not in (CONFIRMED, RETRY, TERMINAL):
            raise ValueError(f"unknown writeback status {self.status!r}")
        if self.retry_after is not None and self.retry_after < timedelta(0):
            raise ValueError(f"retry_after must not be negative, got {self.retry_after}")

    @property
    def is_confirmed(self) -> bool:
        return self.status == CONFIRMED

    @property
    def is_retryable(self) -> bool:
        return self.status == RETRY


class WritebackPort(Protocol):
    """A system of record that can be told a case's outcome.

    ``deliver`` must be safe to call again with the same request (same idempotency key) after
    any result, including after a timeout whose effect is unknown: the change is applied at
    most once. It raises only for a programming or configuration error on our side; a remote
    failure is a ``retry`` or ``terminal`` result."""

    def deliver(self, request: WritebackRequest) -> WritebackResult: ...


def classify_http(status: int) -> WritebackStatus:
    """What an HTTP status means for a writeback: 2xx ``confirmed``; 408, 425, 429 and 5xx
    ``retry``; anything else ``terminal`` (other 4xx, and a 1xx or 3xx final answer, which
    means the endpoint is misconfigured, not busy). Connection errors and timeouts, which
    have no status, are ``retry``: the adapter says so without calling this."""
    if 200 <= status <= 299:
        return CONFIRMED
    if status in RETRYABLE_HTTP_STATUSES or 500 <= status <= 599:
        return RETRY
    return TERMINAL


def backoff_ceiling(
    attempt: int, base: timedelta = DEFAULT_BASE, cap: timedelta = DEFAULT_CAP
) -> timedelta:
    """The longest wait after failed attempt number ``attempt`` (1 = the first attempt):
    ``min(cap, base * 2 ** (attempt - 1))``. The expected wait is half of it."""
    _check_backoff(attempt, base, cap)
    base_us, cap_us = base // _MICROSECOND, cap // _MICROSECOND
    # Shifting by more bits than the cap has can only reach the cap: stop there, so a huge
    # attempt number costs nothing and never overflows a timedelta.
    shift = min(attempt - 1, cap_us.bit_length())
    return timedelta(microseconds=min(cap_us, base_us << shift))


def next_attempt_at(
    attempt: int,
    now: datetime,
    rng: random.Random,
    base: timedelta = DEFAULT_BASE,
    cap: timedelta = DEFAULT_CAP,
    *,
    retry_after: timedelta | None = None,
) -> datetime:
    """When to try again after failed attempt number ``attempt`` (1-based), with full jitter:
    ``now`` plus a whole number of microseconds drawn uniformly from
    ``[0, backoff_ceiling(attempt)]`` with ``rng`` (injected, so a seed repeats a schedule).

    When the remote asked for ``retry_after``, the attempt is not due before
    ``now + min(retry_after, cap)``: the remote's wish is honoured up to the cap, so a silly
    ``Retry-After`` cannot park a writeback for a week. The result is never before ``now``
    and never more than ``cap`` after it."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    ceiling = backoff_ceiling(attempt, base, cap)
    delay = timedelta(microseconds=rng.randint(0, ceiling // _MICROSECOND))
    if retry_after is not None:
        if retry_after < timedelta(0):
            raise ValueError(f"retry_after must not be negative, got {retry_after}")
        delay = max(delay, min(retry_after, cap))
    return now + delay


def _check_backoff(attempt: int, base: timedelta, cap: timedelta) -> None:
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
        raise ValueError(f"attempt must be an integer of at least 1, got {attempt!r}")
    if base <= timedelta(0):
        raise ValueError(f"base must be positive, got {base}")
    if cap < base:
        raise ValueError(f"cap ({cap}) must not be shorter than base ({base})")


__all__ = [
    "CONFIRMED",
    "DEFAULT_BASE",
    "DEFAULT_CAP",
    "MAX_ATTEMPTS",
    "RETRY",
    "RETRYABLE_HTTP_STATUSES",
    "TERMINAL",
    "WritebackPort",
    "WritebackRequest",
    "WritebackResult",
    "WritebackStatus",
    "backoff_ceiling",
    "classify_http",
    "next_attempt_at",
]
