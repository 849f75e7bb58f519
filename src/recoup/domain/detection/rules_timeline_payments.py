"""Timeline detectors about collected money: a payment retried until the card network's limit
(retry_exhausted), and an invoice or order settled for another amount than it was for
(amount_mismatch).

Both read the whole timeline of their entity, so the same findings come out whatever the arrival
order and batching; a finding's id follows from the event that crossed the line (the attempt that
reached the limit, the event that settled the invoice or order), so evaluating again, later or
from another event of the timeline, gives the same finding, which the store keeps once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from recoup.domain.detection.detectors import (
    FAILED_PAYMENT_TYPES,
    DetectionSettings,
    _finding,
    _money,
    default_tier,
)
from recoup.domain.detection.expectations import span
from recoup.domain.detection.findings import Finding, finding_id
from recoup.domain.detection.timeline import EntityKey, Timeline, TimelineDetector
from recoup.domain.ids import derived_id
from recoup.domain.ingestion.event import Event
from recoup.domain.money import format_money

RETRY_EXHAUSTED = "retry_exhausted"
AMOUNT_MISMATCH = "amount_mismatch"

_DEFAULTS = DetectionSettings()

OTHER_NETWORK = "other"
# How a source spells a network (lower case, letters and digits only) -> the limits' key.
_NETWORK_NAMES = {"visa": "visa", "mastercard": "mastercard", "mc": "mastercard"}
# Reason-code namespaces that name a card network (``stripe:`` or ``adyen:`` do not).
_NETWORK_NAMESPACES = {"visa": "visa", "mc": "mastercard", "mastercard": "mastercard"}
RETRY_ENTITY = ("payment", "invoice", "subscription")

INVOICE_AMOUNT_TYPES = frozenset({"invoice.created", "invoice.finalized"})
ORDER_AMOUNT_TYPES = frozenset({"order.created"})
PAID_TYPE = "payment.succeeded"
SETTLED_TYPES = {"invoice": "invoice.paid", "order": "order.paid"}
SETTLED_TYPE_SET = frozenset(SETTLED_TYPES.values())
AMOUNT_MISMATCH_TYPES = frozenset(
    {*INVOICE_AMOUNT_TYPES, *ORDER_AMOUNT_TYPES, *SETTLED_TYPES.values(), PAID_TYPE}
)


def _order_key(event: Event) -> tuple[datetime, str]:
    return (event.occurred_at, event.event_id)


def merged_events(timelines: Sequence[Timeline]) -> list[Event]:
    """The events of ``timelines`` once each, oldest first (ties broken by event id)."""
    if len(timelines) == 1:
        return timelines[0].events
    found: dict[str, Event] = {}
    for timeline in timelines:
        for event in timeline.events:
            found.setdefault(event.event_id, event)
    return sorted(found.values(), key=_order_key)


def first_key(event: Event, kinds: Iterable[str]) -> EntityKey | None:
    """The first of ``kinds`` that ``event`` names, with its value."""
    refs = event.refs
    for kind in kinds:
        value = getattr(refs, kind)
        if value is not None:
            return kind, value
    return None


def _is_true(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


# -- retry_exhausted ------------------------------------------------------------------------


def network_of(event: Event) -> str | None:
    """The card network an attempt names: ``attributes.network`` (any network, normalised),
    else a reason-code namespace that is a network's (``visa:``, ``mc:``); None when neither."""
    value = event.attributes.get("network")
    if isinstance(value, str) and value.strip():
        word = "".join(c for c in value.lower() if c.isalnum())
        return _NETWORK_NAMES.get(word, word)
    code = event.reason_code
    if code is not None:
        return _NETWORK_NAMESPACES.get(code.split(":", 1)[0])
    return None


def crossings(times: Sequence[datetime], limit: int, window: timedelta) -> list[int]:
    """The indexes of the attempts (``times`` ascending) at which the count of attempts within
    ``window`` back (edges included) goes from below ``limit`` to ``limit`` or more."""
    out: list[int] = []
    start = 0
    below = True
    for index, at in enumerate(times):
        while at - times[start] > window:
            start += 1
        reached = index - start + 1 >= limit
        if reached and below:
            out.append(index)
        below = not reached
    return out


def _source_says_exhausted(event: Event) -> bool:
    return _is_true(event.attributes.get("retries_exhausted"))


class RetryExhausted(TimelineDetector):
    """Failed attempts on one payment (else invoice, else subscription) reaching the network's
    retry limit within its window; or a failure the source marks ``retries_exhausted``.

    Attempts are the ``payment.failed`` / ``invoice.payment_failed`` /
    ``subscription.payment_failed`` events whose entity (first of payment, invoice,
    subscription) is the same; one attempt reported twice (the same ``refs.charge``) counts
    once. The network is the first attempt's (in time) that names one, else ``other``."""

    name = RETRY_EXHAUSTED
    types = FAILED_PAYMENT_TYPES

    def __init__(self, limits: Mapping[str, tuple[int, timedelta]] | None = None) -> None:
        self.limits = dict(_DEFAULTS.retry_limits if limits is None else limits)
        if OTHER_NETWORK not in self.limits:
            raise ValueError(f"retry limits need an {OTHER_NETWORK!r} entry")
        for network, (limit, window) in self.limits.items():
            if limit < 1 or window <= timedelta(0):
                raise ValueError(f"retry limit of {network!r} must be positive")

    @property
    def gate_threshold(self) -> int:  # type: ignore[override]
        """No timeline is read before the smallest limit could be reached."""
        return min(limit for limit, _ in self.limits.values())

    def anchors(self, event: Event) -> list[EntityKey]:
        key = first_key(event, RETRY_ENTITY)
        return [key] if key is not None else []

    def marks(self, event: Event) -> list[str]:
        return [f"{kind}:{key}" for kind, key in self.anchors(event)]

    def waits_on(self, event: Event) -> list[str] | None:
        if _source_says_exhausted(event):
            return None
        return self.marks(event)

    def attempts(self, entity: EntityKey, events: Iterable[Event]) -> list[Event]:
        out: list[Event] = []
        charges: set[str] = set()
        for event in events:
            if event.type not in FAILED_PAYMENT_TYPES or first_key(event, RETRY_ENTITY) != entity:
                continue
            charge = event.refs.charge
            if charge is not None:
                if charge in charges:
                    continue
                charges.add(charge)
            out.append(event)
        return out

    def evaluate(
        self, event: Event, timelines: Sequence[Timeline], detected_at: datetime
    ) -> list[Finding]:
        entity = first_key(event, RETRY_ENTITY)
        if entity is None:
            return []
        out: dict[str, Finding] = {}
        attempts = self.attempts(entity, merged_events(timelines))
        network = next((n for e in attempts if (n := network_of(e)) is not None), OTHER_NETWORK)
        limit, window = self.limits.get(network, self.limits[OTHER_NETWORK])
        times = [e.occurred_at for e in attempts]
        at = _order_key(event)
        for index in crossings(times, limit, window):
            crossing = attempts[index]
            # An event changes only the crossings at or after it.
            if _order_key(crossing) < at:
                continue
            counted = [
                e for e in attempts[: index + 1] if crossing.occurred_at - e.occurred_at <= window
            ]
            out[crossing.event_id] = self._finding(
                crossing, entity, detected_at, counted, network, limit, window
            )
        if _is_true(event.attributes.get("retries_exhausted")) and event.event_id not in out:
            out[event.event_id] = self._finding(event, entity, detected_at, [event], network)
        return list(out.values())

    def _finding(
        self,
        event: Event,
        entity: EntityKey,
        detected_at: datetime,
        counted: list[Event],
        network: str,
        limit: int | None = None,
        window: timedelta | None = None,
    ) -> Finding:
        flagged = _is_true(event.attributes.get("retries_exhausted"))
        if limit is not None and window is not None:
            why = (
                f"{len(counted)} failed attempts within {span(window)} "
                f"(the {network} limit is {limit})"
            )
        else:
            why = "the source says no retry is left"
        finding = _finding(
            event,
            RETRY_EXHAUSTED,
            entity,
            detected_at=detected_at,
            summary=f"retries exhausted for {_money(event)}: {why}",
            tier=default_tier(RETRY_EXHAUSTED),
            evidence=tuple(e.event_id for e in counted),
            detail={
                "network": network,
                "attempts": len(counted),
                "limit": limit,
                "window_seconds": None if window is None else int(window.total_seconds()),
                "retries_exhausted": flagged,
                "first_attempt_at": counted[0].occurred_at.isoformat(),
            },
        )
        return replace(finding, id=finding_id(RETRY_EXHAUSTED, event.event_id))


# -- amount_mismatch ------------------------------------------------------------------------


def _money_of(event: Event) -> tuple[Decimal, str] | None:
    if event.amount is None or event.currency is None:
        return None
    return event.amount, event.currency


def _claim(event: Event, payments: set[str], charges: set[str]) -> bool:
    """Whether ``event`` is a payment not seen yet (by its payment or charge id); marks it."""
    payment, charge = event.refs.payment, event.refs.charge
    if (payment is not None and payment in payments) or (charge is not None and charge in charges):
        return False
    if payment is not None:
        payments.add(payment)
    if charge is not None:
        charges.add(charge)
    return True


class AmountMismatch(TimelineDetector):
    """A receivable invoice (no ``refs.supplier``) or an order, once settled (``invoice.paid`` /
    ``order.paid``), collected another amount than it was for, beyond tolerance, or in another
    currency. Collected: the distinct ``payment.succeeded`` that name it (one per payment id,
    else charge id), or when there is none, the settling event's own amount. Quiet until
    settled: partial payments may be in progress."""

    name = AMOUNT_MISMATCH
    types = AMOUNT_MISMATCH_TYPES

    def __init__(
        self,
        tolerance: Decimal = _DEFAULTS.amount_tolerance,
        tolerance_percent: Decimal = _DEFAULTS.amount_tolerance_percent,
    ) -> None:
        if tolerance < 0 or tolerance_percent < 0:
            raise ValueError("amount tolerances must not be negative")
        self.tolerance = tolerance
        self.tolerance_percent = tolerance_percent

    def marks(self, event: Event) -> list[str]:
        """A settling event opens the gate of its invoice or order for good."""
        if event.type not in SETTLED_TYPE_SET:
            return []
        return [f"{kind}:{key}" for kind, key in self.anchors(event)]

    def waits_on(self, event: Event) -> list[str] | None:
        """Payments and amounts read the timeline only once their invoice or order is settled
        (before that nothing can fire); the settling event always reads it."""
        if event.type in SETTLED_TYPE_SET:
            return None
        return [f"{kind}:{key}" for kind, key in self.anchors(event)]

    def anchors(self, event: Event) -> list[EntityKey]:
        refs = event.refs
        type_ = event.type
        if event.amount is None and type_ not in SETTLED_TYPE_SET:
            return []  # an amount event or payment without an amount changes nothing
        if type_ == PAID_TYPE:
            out: list[EntityKey] = []
            if refs.invoice is not None and refs.supplier is None:
                out.append(("invoice", refs.invoice))
            if refs.order is not None:
                out.append(("order", refs.order))
            return out
        if type_.startswith("invoice."):
            if refs.invoice is None or refs.supplier is not None:
                return []
            return [("invoice", refs.invoice)]
        return [] if refs.order is None else [("order", refs.order)]

    def evaluate(
        self, event: Event, timelines: Sequence[Timeline], detected_at: datetime
    ) -> list[Finding]:
        out: list[Finding] = []
        events = merged_events(timelines)
        for kind, key in self.anchors(event):
            finding = self.check(kind, key, events, detected_at)
            if finding is not None:
                out.append(finding)
        return out

    def check(
        self, kind: str, key: str, events: Sequence[Event], detected_at: datetime
    ) -> Finding | None:
        amount_types = INVOICE_AMOUNT_TYPES if kind == "invoice" else ORDER_AMOUNT_TYPES
        settled_type = SETTLED_TYPES[kind]
        mine = [e for e in events if getattr(e.refs, kind) == key]
        made = [e for e in mine if e.type in amount_types]
        if kind == "invoice" and any(e.refs.supplier is not None for e in made):
            return None  # a payable: what we pay, not what we collect
        # The definitive amount: the last finalisation, else the last creation, with an amount.
        priced = [(e, m) for e in made if (m := _money_of(e)) is not None]
        finalized = [p for p in priced if p[0].type == "invoice.finalized"]
        settled = next((e for e in mine if e.type == settled_type), None)
        if not priced or settled is None:
            return None
        source, (expected, currency) = (finalized or priced)[-1]
        payments: list[Event] = []
        totals: dict[str, Decimal] = {}
        seen_payments: set[str] = set()
        seen_charges: set[str] = set()
        for e in mine:
            money = _money_of(e) if e.type == PAID_TYPE else None
            if money is not None and _claim(e, seen_payments, seen_charges):
                payments.append(e)
                totals[money[1]] = totals.get(money[1], Decimal(0)) + money[0]
        if not payments:
            own = _money_of(settled)
            if own is None:
                return None
            totals[own[1]] = own[0]
        collected_text = " + ".join(format_money(a, c) for c, a in sorted(totals.items()))
        if set(totals) == {currency}:
            collected = totals[currency]
            difference = collected - expected
            allowed = max(self.tolerance, abs(expected) * self.tolerance_percent / 100)
            if abs(difference) <= allowed:
                return None
            exposure = abs(difference)
            what = (
                f"{'over' if difference > 0 else 'under'}paid by {format_money(exposure, currency)}"
            )
        else:
            collected, difference, exposure = None, None, expected
            what = "collected in another currency"
        noun = "invoice" if kind == "invoice" else "order"
        finding = _finding(
            settled,
            AMOUNT_MISMATCH,
            (kind, key),
            detected_at=detected_at,
            summary=f"{noun} {key} of {format_money(expected, currency)} was settled with "
            f"{collected_text}: {what}",
            tier=default_tier(AMOUNT_MISMATCH),
            evidence=tuple(
                dict.fromkeys([source.event_id, settled.event_id, *(e.event_id for e in payments)])
            ),
            detail={
                "expected": str(expected),
                "expected_currency": currency,
                "collected": None if collected is None else str(collected),
                "collected_by_currency": {c: str(a) for c, a in sorted(totals.items())},
                "difference": None if difference is None else str(difference),
                "payments_counted": len(payments),
                "tolerance": str(self.tolerance),
                "tolerance_percent": str(self.tolerance_percent),
            },
        )
        return replace(
            finding,
            id=derived_id(
                "finding",
                AMOUNT_MISMATCH,
                settled.event_id,
                format_money(expected, currency),
                collected_text,
            ),
            amount=exposure,
            currency=currency,
        )


def detectors(settings: DetectionSettings) -> list[TimelineDetector]:
    return [
        RetryExhausted(settings.retry_limits),
        AmountMismatch(settings.amount_tolerance, settings.amount_tolerance_percent),
    ]
