"""Outbound webhooks for case events: which events a change raises, how a delivery is signed,
when a failed one is tried again, and what a receiver checks.

A *subscription* is a URL, a shared secret, the event kinds it wants and optionally one owner
team. When a case is stored, :func:`case_events` compares it with its stored state and names
the events (``opened``, ``escalated``, ``resolved``, ``reopened``); the store enqueues one
*delivery* per matching active subscription in the same transaction, unique by (subscription,
case, event, case version), so storing the same change twice never sends twice. After commit
the worker POSTs each due delivery and stores every *attempt*:

==============  =============================================================================
``delivered``   a 2xx answer
``failed``      a 4xx other than 408 and 429 (or a 1xx or 3xx final answer): the receiver
                refuses this request; not retried
``retrying``    a 408, 429, 5xx, timeout or connection error: tried again after
                :func:`backoff_delay`, at most ``max_attempts`` attempts in all
``dead``        the last allowed attempt failed
==============  =============================================================================

Signing: the header ``Recoup-Signature: t=<unix seconds>,v1=<hex>`` carries the lowercase hex
HMAC-SHA256, keyed with the subscription's secret, of ``<t>.<body>`` (the ASCII timestamp, a
dot, the raw body bytes exactly as sent). :func:`verify_signature` is the receiver's check.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final, Protocol

from recoup.domain.cases.case import Case
from recoup.domain.errors import InvalidInputError, Location
from recoup.domain.ids import derived_id

SIGNATURE_HEADER: Final = "Recoup-Signature"
EVENT_HEADER: Final = "Recoup-Event"
DELIVERY_HEADER: Final = "Recoup-Delivery"
DEFAULT_TOLERANCE: Final = timedelta(minutes=5)

RETRYABLE_4XX: Final = frozenset({408, 429})
"""4xx answers that mean "not now": Request Timeout, Too Many Requests."""


class CaseEvent(StrEnum):
    """What happened to a case, as a subscriber sees it."""

    OPENED = "opened"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    REOPENED = "reopened"

    @property
    def type(self) -> str:
        """The ``Recoup-Event`` header and the body's ``type``: ``case.opened`` ..."""
        return f"case.{self.value}"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    RETRYING = "retrying"
    DELIVERED = "delivered"
    FAILED = "failed"
    DEAD = "dead"


def parse_events(text: str | Sequence[str]) -> tuple[CaseEvent, ...]:
    """``opened,resolved`` (or a list) as event kinds, in a stable order; unknown names are
    refused naming the field."""
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text)]
    names = [n for n in names if n]
    if not names:
        raise InvalidInputError("name at least one event", location=Location(field="events"))
    known = {e.value: e for e in CaseEvent}
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise InvalidInputError(
            f"unknown event {', '.join(unknown)}; use {', '.join(known)}",
            location=Location(field="events"),
        )
    return tuple(e for e in CaseEvent if e.value in set(names))


def case_events(before: Case | None, after: Case) -> list[CaseEvent]:
    """The events storing ``after`` raises, given the stored state ``before`` (None: new).
    Resolving and closing an open case is ``resolved`` (closing a resolved case raises
    nothing); an escalation is a higher escalation level; a reopening a higher reopen count."""
    events: list[CaseEvent] = []
    if before is None:
        events.append(CaseEvent.OPENED)
        if after.escalation_level > 0:
            events.append(CaseEvent.ESCALATED)
        if not after.is_open:
            events.append(CaseEvent.RESOLVED)
        return events
    if after.reopen_count > before.reopen_count:
        events.append(CaseEvent.REOPENED)
    if after.escalation_level > before.escalation_level:
        events.append(CaseEvent.ESCALATED)
    was_open = before.is_open or after.reopen_count > before.reopen_count
    if was_open and not after.is_open:
        events.append(CaseEvent.RESOLVED)
    return events


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    url: str
    secret: str = field(repr=False)
    events: tuple[CaseEvent, ...]
    team: str | None
    is_active: bool
    created_at: datetime
    created_by: str
    disabled_at: datetime | None = None

    def wants(self, event: CaseEvent, case: Case) -> bool:
        return (
            self.is_active
            and event in self.events
            and (self.team is None or self.team == case.owner_team)
        )

    def public(self) -> dict[str, Any]:
        """What may be shown: everything but the secret."""
        return {
            "id": self.id, "url": self.url, "events": [e.value for e in self.events],
            "team": self.team, "is_active": self.is_active, "created_at": self.created_at,
            "created_by": self.created_by, "disabled_at": self.disabled_at,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Attempt:
    delivery_id: str
    number: int
    at: datetime
    outcome: DeliveryStatus
    status_code: int | None
    error: str | None
    duration_ms: int


@dataclass(slots=True)
class Delivery:
    id: str
    subscription_id: str
    case_id: str
    event: CaseEvent
    case_version: int
    payload: dict[str, Any]
    status: DeliveryStatus
    attempts: int
    next_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    requeued_after: int = 0
    """Attempts made before the last redelivery: a redelivery gets a fresh attempt budget."""
    history: list[Attempt] = field(default_factory=list)


def delivery_id(subscription_id: str, case_id: str, event: CaseEvent, version: int) -> str:
    return derived_id("notify.delivery", subscription_id, case_id, event.value, str(version))


def case_payload(case: Case, event: CaseEvent, delivery: str, at: datetime) -> dict[str, Any]:
    """The body of one delivery: the event and the case as it was when it happened."""
    return {
        "id": delivery,
        "type": event.type,
        "created_at": at.isoformat(),
        "case": {
            "id": case.id, "version": case.version, "type": case.type,
            "category": case.category, "status": case.status.value, "tier": case.tier.value,
            "owner_team": case.owner_team, "queue": case.queue, "breakpoint": case.breakpoint,
            "kind": case.kind, "title": case.title, "opened_at": case.opened_at.isoformat(),
            "amount": None if case.amount is None else str(case.amount),
            "currency": case.currency, "outcome": case.outcome,
            "escalation_level": case.escalation_level, "reopen_count": case.reopen_count,
            "assignee": case.assignee,
        },
    }  # fmt: skip


def plan_deliveries(
    changes: Sequence[tuple[Case | None, Case, int]],
    subscriptions: Sequence[Subscription],
    now: datetime,
) -> list[Delivery]:
    """The deliveries a batch of case changes enqueues: (before, after, version after) for
    each stored case, every active subscription whose events and team match."""
    out: list[Delivery] = []
    active = [s for s in subscriptions if s.is_active]
    if not active:
        return out
    for before, after, version in changes:
        for event in case_events(before, after):
            for sub in active:
                if not sub.wants(event, after):
                    continue
                ident = delivery_id(sub.id, after.id, event, version)
                out.append(
                    Delivery(
                        id=ident, subscription_id=sub.id, case_id=after.id, event=event,
                        case_version=version, payload=case_payload(after, event, ident, now),
                        status=DeliveryStatus.PENDING, attempts=0, next_at=now, created_at=now,
                    )
                )  # fmt: skip
    return out


# -- signing -------------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Recoup-Signature`` header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    now: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> bool:
    """A receiver's check: the header parses, its timestamp is within ``tolerance`` of
    ``now``, and one of its ``v1`` signatures is the HMAC of ``<t>.<body>`` (compared in
    constant time). Several ``v1`` values are allowed (a secret being rotated)."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        return False
    if abs(now.timestamp() - timestamp) > tolerance.total_seconds():
        return False
    expected = sign(secret, timestamp, body).partition("v1=")[2]
    return any(hmac.compare_digest(expected, s) for s in signatures)


# -- outcomes and retries ------------------------------------------------------------------


def classify(status_code: int | None) -> DeliveryStatus:
    """What an answer (None: no answer, a timeout or connection error) means for a delivery
    that still has attempts left."""
    if status_code is None:
        return DeliveryStatus.RETRYING
    if 200 <= status_code < 300:
        return DeliveryStatus.DELIVERED
    if status_code >= 500 or status_code in RETRYABLE_4XX:
        return DeliveryStatus.RETRYING
    return DeliveryStatus.FAILED  # other 4xx; 1xx and 3xx final answers (redirects not followed)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter: after the n-th failed attempt the wait is
    ``min(cap, base * 2 ** (n - 1))`` scaled by a factor drawn from ``[1 - jitter, 1]``, so
    deliveries that failed together (one receiver outage) do not return as one herd."""

    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=6)
    jitter: float = 0.5

    def delay(self, attempt: int, rng: random.Random) -> timedelta:
        if attempt < 1:
            raise ValueError("attempts are counted from 1")
        ceiling = min(self.cap.total_seconds(), self.base.total_seconds() * 2 ** (attempt - 1))
        factor = 1 - self.jitter * rng.random()
        return timedelta(seconds=ceiling * factor)

    def schedule(self, attempts: int, rng: random.Random) -> list[timedelta]:
        """The waits after attempts 1 .. ``attempts - 1`` (for docs and tests)."""
        return [self.delay(n, rng) for n in range(1, attempts)]


@dataclass(frozen=True, slots=True)
class SendResult:
    """What the sender saw: the status code (None when no answer came) and an error text."""

    status_code: int | None
    error: str | None
    duration_ms: int


@dataclass(frozen=True, slots=True)
class OutboundRequest:
    url: str
    body: bytes
    headers: Mapping[str, str]


class WebhookSender(Protocol):
    """Sends one signed request; never raises for a remote failure, it reports it."""

    def send(self, request: OutboundRequest) -> SendResult: ...


def next_state(
    delivery: Delivery,
    result: SendResult,
    at: datetime,
    *,
    max_attempts: int,
    backoff: Backoff,
    rng: random.Random,
) -> Attempt:
    """Apply one attempt's result to ``delivery`` (status, attempts, next due time) and
    return the attempt to store."""
    number = delivery.attempts + 1
    outcome = classify(result.status_code)
    if outcome is DeliveryStatus.RETRYING and number - delivery.requeued_after >= max_attempts:
        outcome = DeliveryStatus.DEAD
    delivery.attempts = number
    delivery.status = outcome
    delivery.last_status_code = result.status_code
    delivery.last_error = result.error
    if outcome is DeliveryStatus.RETRYING:
        delivery.next_at = at + backoff.delay(number, rng)
    else:
        delivery.next_at = None
    if outcome is DeliveryStatus.DELIVERED:
        delivery.delivered_at = at
    return Attempt(delivery.id, number, at, outcome, result.status_code, result.error,
                   result.duration_ms)  # fmt: skip


def give_up(delivery: Delivery, reason: str, at: datetime) -> Attempt:
    """Fail ``delivery`` without sending it (its subscription was disabled)."""
    delivery.attempts += 1
    delivery.status = DeliveryStatus.FAILED
    delivery.next_at = None
    delivery.last_status_code = None
    delivery.last_error = reason
    return Attempt(delivery.id, delivery.attempts, at, DeliveryStatus.FAILED, None, reason, 0)


class NotifyStore(Protocol):
    """Subscriptions and deliveries; every method is part of the caller's transaction."""

    def add_subscription(self, subscription: Subscription) -> None: ...

    def subscriptions(self, *, active_only: bool = False) -> list[Subscription]: ...

    def find_subscription(self, id_or_prefix: str) -> Subscription: ...

    def disable_subscription(self, subscription_id: str, at: datetime) -> bool: ...

    def claim_due_deliveries(
        self, now: datetime, limit: int, lease_until: datetime
    ) -> list[tuple[Delivery, Subscription]]: ...

    def record_attempt(self, delivery: Delivery, attempt: Attempt) -> bool:
        """Store the attempt and the delivery's new state; False when the attempt was
        stored already (its number is taken)."""
        ...

    def list_deliveries(
        self,
        *,
        status: DeliveryStatus | None = None,
        case_id: str | None = None,
        subscription_id: str | None = None,
        limit: int = 100,
    ) -> list[Delivery]: ...

    def find_delivery(self, id_or_prefix: str) -> Delivery: ...

    def requeue_delivery(self, delivery_id: str, at: datetime) -> bool:
        """Make a delivery due now unless it is due already; True when it changed."""
        ...

    def delivery_counts(self) -> dict[str, int]: ...
