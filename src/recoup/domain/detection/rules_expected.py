"""The expected-but-missing detectors: each is an :class:`ExpectationRule` whose timer fires at
a deadline unless the counterpart arrived first (see ``expectations.py``).

- ``missing_payment``: a receivable invoice unpaid past its due date plus a grace period;
- ``settlement_delayed``: a payout not paid (nor failed nor cancelled) past its arrival date;
- ``order_stalled``: a paid order with no shipment within the fulfilment SLA;
- ``orphan_payment``: a payment that no order or invoice claims within a grace period;
- ``unmatched_bank_line``: a referenced bank statement line that nothing else links to.
"""

from __future__ import annotations

from datetime import timedelta

from recoup.domain.detection.expectations import (
    Expectation,
    ExpectationRule,
    date_attribute,
    first_ref,
    money_or_none,
    span,
)
from recoup.domain.detection.timeline import EntityKey, Timeline
from recoup.domain.ingestion.event import Event

MISSING_PAYMENT = "missing_payment"
SETTLEMENT_DELAYED = "settlement_delayed"
ORDER_STALLED = "order_stalled"
ORPHAN_PAYMENT = "orphan_payment"
UNMATCHED_BANK_LINE = "unmatched_bank_line"

DEFAULT_PAYMENT_GRACE = timedelta(days=3)
DEFAULT_SETTLEMENT_GRACE = timedelta(days=1)
DEFAULT_FULFILMENT_SLA = timedelta(hours=48)
DEFAULT_ORPHAN_GRACE = timedelta(hours=24)
DEFAULT_BANK_LINE_GRACE = timedelta(days=2)

BANK_LINE_TYPES = frozenset({"bank.statement_line", "bank.balance"})
BANK_LINE_REF_KINDS = (
    "end_to_end",
    "instruction",
    "uetr",
    "ach_trace",
    "payout",
    "payment",
    "charge",
    "invoice",
    "order",
    "refund",
)
"""The refs of a statement line that point at something another source should know about."""


def _keyed(event: Event, kind: str) -> list[EntityKey]:
    value = getattr(event.refs, kind)
    return [(kind, value)] if value is not None else []


class MissingPayment(ExpectationRule):
    """A receivable invoice (no supplier) with ``attributes.due_date`` expects a payment by the
    end of that day plus ``grace``. Paid (``invoice.paid``, or a ``payment.succeeded`` /
    ``order.paid`` that names the invoice), voided or written off meets it."""

    name = MISSING_PAYMENT
    opens = frozenset({"invoice.created", "invoice.finalized"})
    meets = frozenset(
        {
            "invoice.paid",
            "payment.succeeded",
            "order.paid",
            "invoice.voided",
            "invoice.marked_uncollectible",
        }
    )

    def __init__(self, grace: timedelta = DEFAULT_PAYMENT_GRACE) -> None:
        self.grace = grace

    def expect(self, event: Event) -> Expectation | None:
        invoice = event.refs.invoice
        if invoice is None or event.refs.supplier is not None or event.direction == "debit":
            return None
        due = date_attribute(event, "due_date")
        if due is None:
            return None
        day = (due - timedelta(days=1)).date().isoformat() if due.hour == 0 else due.isoformat()
        return self.make(
            event,
            ("invoice", invoice),
            due + self.grace,
            f"payment{money_or_none(event)} for invoice {invoice} due {day}",
        )

    def met_keys(self, event: Event) -> list[EntityKey]:
        return _keyed(event, "invoice")

    def is_met(self, expectation: Expectation, timeline: Timeline) -> bool:
        return any(
            e.type in self.meets and e.refs.invoice == expectation.entity_key
            for e in timeline.events
        )

    def summary(self, expectation: Expectation) -> str:
        return f"no {expectation.expected} (grace {span(self.grace)})"


class SettlementDelayed(ExpectationRule):
    """A payout with ``attributes.arrival_date`` expects ``payout.paid`` (or a definite
    ``payout.failed`` / ``payout.canceled``, which payout_failed handles) by the end of that day
    plus ``grace``."""

    name = SETTLEMENT_DELAYED
    opens = frozenset({"payout.created"})
    meets = frozenset({"payout.paid", "payout.failed", "payout.canceled"})

    def __init__(self, grace: timedelta = DEFAULT_SETTLEMENT_GRACE) -> None:
        self.grace = grace

    def expect(self, event: Event) -> Expectation | None:
        payout = event.refs.payout
        arrival = date_attribute(event, "arrival_date")
        if payout is None or arrival is None:
            return None
        return self.make(
            event,
            ("payout", payout),
            arrival + self.grace,
            f"payout {payout}{money_or_none(event)} to arrive by "
            f"{(arrival - timedelta(days=1)).date().isoformat()}",
        )

    def met_keys(self, event: Event) -> list[EntityKey]:
        return _keyed(event, "payout")

    def is_met(self, expectation: Expectation, timeline: Timeline) -> bool:
        return any(
            e.type in self.meets and e.refs.payout == expectation.entity_key
            for e in timeline.events
        )

    def summary(self, expectation: Expectation) -> str:
        return f"{expectation.expected}; still not paid (grace {span(self.grace)})"


class OrderStalled(ExpectationRule):
    """A paid order expects a shipment (``fulfillment.created``, ``order.fulfilled`` or
    ``order.partially_fulfilled``) or a cancellation within the fulfilment SLA."""

    name = ORDER_STALLED
    opens = frozenset({"order.paid"})
    meets = frozenset(
        {"fulfillment.created", "order.fulfilled", "order.partially_fulfilled", "order.cancelled"}
    )

    def __init__(self, sla: timedelta = DEFAULT_FULFILMENT_SLA) -> None:
        self.sla = sla

    def expect(self, event: Event) -> Expectation | None:
        order = event.refs.order
        if order is None:
            return None
        return self.make(
            event,
            ("order", order),
            event.occurred_at + self.sla,
            f"shipment of order {order}{money_or_none(event)} within {span(self.sla)} of payment",
        )

    def met_keys(self, event: Event) -> list[EntityKey]:
        return _keyed(event, "order")

    def is_met(self, expectation: Expectation, timeline: Timeline) -> bool:
        return any(
            e.type in self.meets and e.refs.order == expectation.entity_key for e in timeline.events
        )

    def summary(self, expectation: Expectation) -> str:
        return f"no {expectation.expected}: fulfilment SLA missed"


class OrphanPayment(ExpectationRule):
    """A collected payment that names no order and no invoice expects some event to claim it
    (one that names the payment or charge together with an order or invoice) within ``grace``.
    Refunded payments still count: the money arrived against nothing."""

    name = ORPHAN_PAYMENT
    opens = frozenset({"payment.succeeded"})
    meets = frozenset({"*"})

    def __init__(self, grace: timedelta = DEFAULT_ORPHAN_GRACE) -> None:
        self.grace = grace

    def expect(self, event: Event) -> Expectation | None:
        if event.refs.order is not None or event.refs.invoice is not None:
            return None
        if event.direction == "debit":
            return None
        entity = first_ref(event, ("payment", "charge"))
        if entity is None:
            return None
        anchors = [(kind, key) for kind in ("payment", "charge") for key in _refs(event, kind)]
        return self.make(
            event,
            entity,
            event.occurred_at + self.grace,
            f"an order or invoice for payment {entity[1]}{money_or_none(event)}",
            anchors,
        )

    def met_keys(self, event: Event) -> list[EntityKey]:
        if event.refs.order is None and event.refs.invoice is None:
            return []
        return [*_keyed(event, "payment"), *_keyed(event, "charge")]

    def is_met(self, expectation: Expectation, timeline: Timeline) -> bool:
        return any(e.refs.order is not None or e.refs.invoice is not None for e in timeline)

    def summary(self, expectation: Expectation) -> str:
        return f"no order or invoice claims {expectation.expected.split(' for ', 1)[1]}"


class UnmatchedBankLine(ExpectationRule):
    """A statement line that carries a reference (an end-to-end id, a payout, an invoice number
    in its refs, or remittance text) expects another source to know about it within ``grace``:
    some event other than a bank statement line on its timeline. A line with no reference at
    all is a missing_remittance, not this. The check runs when the timer is due (the
    counterpart usually arrived before the line; it is found through the entity index)."""

    name = UNMATCHED_BANK_LINE
    opens = frozenset({"bank.statement_line"})
    meets = frozenset()

    def __init__(self, grace: timedelta = DEFAULT_BANK_LINE_GRACE) -> None:
        self.grace = grace

    def expect(self, event: Event) -> Expectation | None:
        refs = [(kind, key) for kind in BANK_LINE_REF_KINDS for key in _refs(event, kind)]
        remittance = event.attributes.get("remittance")
        has_text = isinstance(remittance, str) and bool(remittance.strip())
        if not refs and not has_text:
            return None
        entity = first_ref(event, ("bank_transaction", *BANK_LINE_REF_KINDS))
        if entity is None:
            return None
        anchors = [entity, *(pair for pair in refs if pair != entity)]
        what = "a payment or transfer"
        return self.make(
            event,
            entity,
            event.occurred_at + self.grace,
            f"{what} matching bank line {entity[1]}{money_or_none(event)}",
            anchors,
        )

    def met_keys(self, event: Event) -> list[EntityKey]:
        return []

    def is_met(self, expectation: Expectation, timeline: Timeline) -> bool:
        return any(e.type not in BANK_LINE_TYPES for e in timeline)

    def summary(self, expectation: Expectation) -> str:
        return f"no {expectation.expected} within {span(self.grace)}"


def _refs(event: Event, kind: str) -> list[str]:
    value = getattr(event.refs, kind)
    return [value] if value is not None else []


def rules(
    *,
    payment_grace: timedelta = DEFAULT_PAYMENT_GRACE,
    settlement_grace: timedelta = DEFAULT_SETTLEMENT_GRACE,
    fulfilment_sla: timedelta = DEFAULT_FULFILMENT_SLA,
    orphan_grace: timedelta = DEFAULT_ORPHAN_GRACE,
    bank_line_grace: timedelta = DEFAULT_BANK_LINE_GRACE,
) -> list[ExpectationRule]:
    return [
        MissingPayment(payment_grace),
        SettlementDelayed(settlement_grace),
        OrderStalled(fulfilment_sla),
        OrphanPayment(orphan_grace),
        UnmatchedBankLine(bank_line_grace),
    ]
