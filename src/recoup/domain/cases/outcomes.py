"""Outcomes the sources report themselves: the failed payment that a later retry collected, the
refund that went through after all, the dispute that was won or lost.

When such an event arrives for an entity with an open case of the matching type, the case is
resolved with that outcome, its SLA timers are cancelled and its money no longer counts as at
stake. Nothing needs writing back: the system of record is the one telling us.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from recoup.domain.cases.case import Case, open_key
from recoup.domain.ingestion.event import Event


@dataclass(frozen=True, slots=True)
class Resolution:
    """An event that settles open cases of ``case_type`` about one of ``keys``."""

    case_type: str
    keys: tuple[tuple[str, str], ...]  # (entity kind, entity key), most specific first
    outcome: str
    occurred_at: datetime
    event_id: str
    amount: Decimal | None
    currency: str | None
    summary: str

    def open_keys(self) -> list[str]:
        return [open_key(self.case_type, kind, key) for kind, key in self.keys]


# event type -> (case types it settles, entity kinds to look under, outcome)
_RULES: dict[str, list[tuple[str, tuple[str, ...], str]]] = {
    "payment.succeeded": [
        ("payment_failed", ("payment", "charge", "invoice", "subscription"), "recovered"),
        ("missing_payment", ("invoice",), "recovered"),
    ],
    "payment.captured": [("payment_failed", ("payment", "charge"), "recovered")],
    "invoice.paid": [
        ("payment_failed", ("invoice",), "recovered"),
        ("missing_payment", ("invoice",), "recovered"),
    ],
    "invoice.voided": [("missing_payment", ("invoice",), "voided")],
    "invoice.marked_uncollectible": [("missing_payment", ("invoice",), "written_off")],
    # Late counterparts of expected-but-missing timers that already fired.
    "payout.paid": [("settlement_delayed", ("payout",), "settled")],
    "fulfillment.created": [("order_stalled", ("order",), "shipped")],
    "order.fulfilled": [("order_stalled", ("order",), "shipped")],
    "order.partially_fulfilled": [("order_stalled", ("order",), "shipped")],
    "order.cancelled": [("order_stalled", ("order",), "cancelled")],
    "subscription.payment_succeeded": [("payment_failed", ("subscription",), "recovered")],
    "refund.succeeded": [("refund_failed", ("refund",), "recovered")],
    "dispute.won": [
        ("dispute_opened", ("dispute", "charge", "payment"), "won"),
        ("inquiry_opened", ("dispute", "charge", "payment"), "won"),
    ],
    "dispute.lost": [
        ("dispute_opened", ("dispute", "charge", "payment"), "lost"),
        ("inquiry_opened", ("dispute", "charge", "payment"), "lost"),
    ],
    "dispute.closed": [
        ("dispute_opened", ("dispute", "charge", "payment"), "closed"),
        ("inquiry_opened", ("dispute", "charge", "payment"), "closed"),
    ],
}

RESOLVING_TYPES = frozenset(_RULES)
RESOLVABLE_CASE_TYPES = frozenset(case for rules in _RULES.values() for case, _, _ in rules)
"""Case types a source's own event can settle."""

OUTCOME_AMOUNTS = {
    "recovered": "recovered_amount",
    "won": "recovered_amount",
    "settled": "recovered_amount",
    "lost": "lost_amount",
    "written_off": "written_off_amount",
}
"""Which of a case's outcome figures an outcome fills with its money at stake."""


def settle_amounts(case: Case, resolution: Resolution) -> None:
    """Record the money of an outcome on the case: the amount the source reports when it is in
    the case's currency, else the case's money at stake."""
    name = OUTCOME_AMOUNTS.get(resolution.outcome)
    if name is None:
        return
    amount = case.amount
    if resolution.amount is not None and resolution.currency == case.currency:
        amount = resolution.amount if amount is None else min(resolution.amount, amount)
    if amount is not None:
        setattr(case, name, amount)


def resolutions(events: Iterable[Event]) -> list[Resolution]:
    found: list[Resolution] = []
    for event in events:
        for case_type, kinds, outcome in _RULES.get(event.type, ()):
            keys = tuple(
                (kind, value) for kind in kinds if (value := getattr(event.refs, kind)) is not None
            )
            if keys:
                found.append(
                    Resolution(
                        case_type=case_type,
                        keys=keys,
                        outcome=outcome,
                        occurred_at=event.occurred_at,
                        event_id=event.event_id,
                        amount=event.amount,
                        currency=event.currency,
                        summary=f"{event.type} from {event.source} ({event.external_id})",
                    )
                )
    return found
