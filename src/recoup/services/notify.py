"""Outbound webhooks: subscriptions, delivering due deliveries, redelivery.

Deliveries are enqueued by the store in the transaction that writes the case (see
``domain/notify.py``); this module sends them after commit, like the writeback outbox: claim a
chunk (pushing its due time out by a lease, so another worker skips it), send each outside
any transaction, then record the attempt and the delivery's new state in a short transaction
of its own. A worker that dies between sending and recording leaves the delivery to be sent
again after the lease: receivers deduplicate on ``Recoup-Delivery``, which is the same on
every attempt and every redelivery of one delivery.
"""

from __future__ import annotations

import json
import random
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Protocol, Self
from urllib.parse import urlsplit

from recoup.domain.audit import AuditEntry
from recoup.domain.errors import ConflictError, InvalidInputError, Location
from recoup.domain.ids import derived_id
from recoup.domain.notify import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    Backoff,
    Delivery,
    DeliveryStatus,
    NotifyStore,
    OutboundRequest,
    Subscription,
    WebhookSender,
    give_up,
    next_state,
    parse_events,
    sign,
)
from recoup.domain.ports import Clock

ACTOR = "system:notify"
DEFAULT_LEASE = timedelta(minutes=2)
MIN_SECRET_LENGTH = 16


class NotifyUnitOfWork(NotifyStore, Protocol):
    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def append_audit(self, entries: Sequence[AuditEntry]) -> None: ...

    def commit(self) -> None: ...


NotifyUow = Callable[[], NotifyUnitOfWork]


# -- subscriptions -------------------------------------------------------------------------


def check_url(url: str, *, allow_http: bool = True) -> str:
    """An absolute http(s) URL with a host; anything else is refused naming the field."""
    url = url.strip()
    parts = urlsplit(url)
    schemes = ("http", "https") if allow_http else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        raise InvalidInputError(
            f"the URL must be an absolute {' or '.join(schemes)} URL, got {url!r}",
            location=Location(field="url"),
        )
    if len(url) > 2000:
        raise InvalidInputError("the URL is longer than 2,000 characters",
                                location=Location(field="url"))  # fmt: skip
    return url


def subscribe(
    url: str,
    *,
    events: str | Sequence[str],
    secret: str | None,
    team: str | None,
    actor: str,
    uow: NotifyUow,
    clock: Clock,
) -> tuple[Subscription, str]:
    """Add a subscription; returns it and its secret (generated when none is given: shown
    once, never again)."""
    url = check_url(url)
    kinds = parse_events(events)
    if secret is None:
        secret = secrets.token_urlsafe(32)
    if len(secret) < MIN_SECRET_LENGTH or len(secret) > 200:
        raise InvalidInputError(
            f"the secret must be {MIN_SECRET_LENGTH} to 200 characters",
            location=Location(field="secret"),
        )
    team = (team or "").strip() or None
    if team is not None and len(team) > 64:
        raise InvalidInputError("the team name is longer than 64 characters",
                                location=Location(field="team"))  # fmt: skip
    now = clock.now()
    sub = Subscription(
        id=derived_id("notify.subscription", url, now.isoformat(), secrets.token_hex(8)),
        url=url, secret=secret, events=kinds, team=team, is_active=True, created_at=now,
        created_by=actor,
    )  # fmt: skip
    with uow() as tx:
        tx.add_subscription(sub)
        data = {"url": url, "events": [e.value for e in kinds], "team": team}
        tx.append_audit([AuditEntry(now, actor, "notify.subscribed", "notify_subscription",
                                    sub.id, data)])  # fmt: skip
        tx.commit()
    return sub, secret


def list_subscriptions(*, reader: NotifyUow) -> list[Subscription]:
    with reader() as tx:
        return tx.subscriptions()


def disable_subscription(
    id_or_prefix: str, *, actor: str, uow: NotifyUow, clock: Clock
) -> Subscription:
    """Stop sending to a subscription (its deliveries and attempts stay). Disabling one that
    is disabled already is refused."""
    now = clock.now()
    with uow() as tx:
        sub = tx.find_subscription(id_or_prefix)
        if not tx.disable_subscription(sub.id, now):
            raise ConflictError(f"webhook subscription {sub.id} is disabled already")
        tx.append_audit([AuditEntry(now, actor, "notify.disabled", "notify_subscription",
                                    sub.id, {"url": sub.url})])  # fmt: skip
        tx.commit()
    return _disabled(sub, now)


def _disabled(sub: Subscription, at: datetime) -> Subscription:
    return Subscription(sub.id, sub.url, sub.secret, sub.events, sub.team, False,
                        sub.created_at, sub.created_by, at)  # fmt: skip


# -- deliveries ----------------------------------------------------------------------------


def list_deliveries(
    *,
    reader: NotifyUow,
    status: str | None = None,
    case_id: str | None = None,
    subscription_id: str | None = None,
    limit: int = 100,
) -> list[Delivery]:
    """Newest first, each with its attempts."""
    wanted = None
    if status:
        try:
            wanted = DeliveryStatus(status)
        except ValueError:
            names = ", ".join(s.value for s in DeliveryStatus)
            raise InvalidInputError(f"unknown status {status!r}; use one of {names}",
                                    location=Location(field="status")) from None  # fmt: skip
    if not 1 <= limit <= 1000:
        raise InvalidInputError("limit must be 1 to 1000", location=Location(field="limit"))
    with reader() as tx:
        return tx.list_deliveries(status=wanted, case_id=case_id,
                                  subscription_id=subscription_id, limit=limit)  # fmt: skip


def redeliver(id_or_prefix: str, *, actor: str, uow: NotifyUow, clock: Clock) -> Delivery:
    """Make a finished delivery (delivered, failed or dead) due now with a fresh attempt
    budget. One already queued is left as it is, so asking twice sends once."""
    now = clock.now()
    with uow() as tx:
        delivery = tx.find_delivery(id_or_prefix)
        if tx.requeue_delivery(delivery.id, now):
            tx.append_audit([AuditEntry(now, actor, "notify.redeliver", "notify_delivery",
                                        delivery.id, {"was": delivery.status.value,
                                                      "attempts": delivery.attempts})])  # fmt: skip
        now_stored = tx.find_delivery(delivery.id)
        tx.commit()
    return now_stored


@dataclass
class DeliverReport:
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    dead: int = 0
    rounds: int = 0
    by_subscription: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Delivering:
    """What the worker needs to deliver: the sender, the retry policy, a jitter source."""

    sender: WebhookSender
    max_attempts: int = 8
    backoff: Backoff = field(default_factory=Backoff)
    rng: random.Random = field(default_factory=random.Random)
    chunk: int = 100
    lease: timedelta = DEFAULT_LEASE


def body_of(delivery: Delivery) -> bytes:
    """The exact bytes sent: the stored payload as compact JSON with sorted keys."""
    return json.dumps(delivery.payload, sort_keys=True, separators=(",", ":")).encode()


def request_for(delivery: Delivery, subscription: Subscription, at: datetime) -> OutboundRequest:
    body = body_of(delivery)
    return OutboundRequest(
        url=subscription.url,
        body=body,
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(subscription.secret, int(at.timestamp()), body),
            EVENT_HEADER: delivery.event.type,
            DELIVERY_HEADER: delivery.id,
        },
    )


def deliver_due(
    *, uow: NotifyUow, clock: Clock, delivering: Delivering, rounds: int | None = None
) -> DeliverReport:
    """Send every delivery due at ``clock.now()`` (at most ``rounds`` claims of ``chunk``)
    and store each attempt."""
    report = DeliverReport()
    while rounds is None or report.rounds < rounds:
        now = clock.now()
        with uow() as tx:
            claimed = tx.claim_due_deliveries(now, delivering.chunk, now + delivering.lease)
            tx.commit()
        if not claimed:
            break
        report.rounds += 1
        report.claimed += len(claimed)
        for delivery, subscription in claimed:
            _deliver_one(uow, clock, delivering, delivery, subscription, report)
    return report


def _deliver_one(
    uow: NotifyUow,
    clock: Clock,
    delivering: Delivering,
    delivery: Delivery,
    subscription: Subscription,
    report: DeliverReport,
) -> None:
    if subscription.is_active:
        result = delivering.sender.send(request_for(delivery, subscription, clock.now()))
        attempt = next_state(delivery, result, clock.now(), max_attempts=delivering.max_attempts,
                             backoff=delivering.backoff, rng=delivering.rng)  # fmt: skip
    else:  # disabled after the delivery was enqueued: stored as failed, never sent
        attempt = give_up(delivery, "subscription disabled", clock.now())
    with uow() as tx:
        if tx.record_attempt(delivery, attempt):
            tx.append_audit([AuditEntry(attempt.at, ACTOR, f"notify.{attempt.outcome.value}",
                                        "notify_delivery", delivery.id,
                                        {"attempt": attempt.number, "case_id": delivery.case_id,
                                         "event": delivery.event.value,
                                         "status_code": attempt.status_code,
                                         "error": attempt.error})])  # fmt: skip
        tx.commit()
    key = attempt.outcome.value
    setattr(report, key, getattr(report, key) + 1)
    report.by_subscription[subscription.id] = report.by_subscription.get(subscription.id, 0) + 1
