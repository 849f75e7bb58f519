"""Injected exceptions after a card payment succeeded: disputes and inquiries, authorisations
that expire uncaptured and refunds that fail. Each uses a fresh customer and order."""

from __future__ import annotations

from typing import Any

from recoup.adapters.simulation.demo_rates import DAY, HOUR, MINUTE
from recoup.adapters.simulation.labeled_base import STRIPE, Gen, Order
from recoup.adapters.simulation.labeled_inject_pay import _of
from recoup.adapters.simulation.labeled_tools import money

DISPUTES = {
    "visa": (
        ("visa:10.4", "Other Fraud - Card Absent Environment"),
        ("visa:13.1", "Merchandise/Services Not Received"),
        ("visa:13.3", "Not as Described or Defective Merchandise/Services"),
    ),
    "mastercard": (
        ("mc:4837", "No Cardholder Authorization"),
        ("mc:4853", "Cardholder Dispute"),
        ("mc:4855", "Goods or Services Not Provided"),
    ),
}
INQUIRIES = (
    ("visa:10.4", "Other Fraud - Card Absent Environment"),
    ("visa:13.1", "Merchandise/Services Not Received"),
    ("visa:13.2", "Cancelled Recurring"),
)
REFUND_FAILURES = (
    ("stripe:expired_or_canceled_card", "The card was expired or cancelled."),
    ("stripe:lost_or_stolen_card", "The card was reported lost or stolen."),
    ("stripe:declined", "The issuer declined the refund."),
)


def _disputed_order(g: Gen, i: int) -> tuple[Order, int]:
    at = g.start_for(6 * DAY)
    order = g.new_order(at, network=("visa", "mastercard")[i % 2])
    shipped = g.clean_order(at, order)
    return order, shipped + g.randint(DAY, 4 * DAY)


def _dispute(g: Gen, at: int, order: Order, type_: str, code: tuple[str, str], status: str) -> str:
    dispute = g.id("dp_")
    g.add(
        at,
        STRIPE,
        type_,
        {
            "refs": {"dispute": dispute, **order.refs()},
            "amount": money(order.cents),
            "currency": order.currency,
            "reason_code": code[0],
            "reason_message": code[1],
            "status": status,
            "attributes": {"network": order.network, "evidence_due_by": g.date(at, 20)},
        },
    )
    return dispute


def dispute_opened(g: Gen, i: int) -> None:
    order, at = _disputed_order(g, i)
    code = _of(g, DISPUTES[order.network])
    dispute = _dispute(g, at, order, "dispute.opened", code, "needs_response")
    g.add(
        at + g.randint(MINUTE, HOUR),
        STRIPE,
        "dispute.funds_withdrawn",
        {
            "refs": {"dispute": dispute, **order.refs()},
            "amount": money(order.cents),
            "currency": order.currency,
            "direction": "debit",
            "status": "needs_response",
        },
    )
    g.label("dispute_opened", "dispute", dispute, code[0])


def inquiry_opened(g: Gen, i: int) -> None:
    order, at = _disputed_order(g, 0)
    code = _of(g, INQUIRIES)
    dispute = _dispute(g, at, order, "dispute.inquiry_opened", code, "warning_needs_response")
    g.label("inquiry_opened", "dispute", dispute, code[0])


def authorization_expired(g: Gen, i: int) -> None:
    at = g.start_for(7 * DAY + HOUR)
    order = g.new_order(at)
    g.order_created(at, order)
    authorized = at + g.randint(30, 5 * MINUTE)
    g.add(
        authorized,
        STRIPE,
        "payment.authorized",
        {
            "refs": order.refs(),
            "amount": money(order.cents),
            "currency": order.currency,
            "status": "requires_capture",
            "attributes": {"network": order.network},
        },
    )
    expired = authorized + g.randint(5 * DAY, 7 * DAY)
    g.add(
        expired,
        STRIPE,
        "payment.authorization_expired",
        {
            "refs": order.refs(),
            "amount": money(order.cents),
            "currency": order.currency,
            "status": "canceled",
            "attributes": {"cancellation_reason": "automatic"},
        },
    )
    g.order_event(expired + g.randint(MINUTE, HOUR), order, "order.cancelled", status="cancelled")
    g.label("authorization_expired", "payment", order.payment, "never captured")


def refund_failed(g: Gen, i: int) -> None:
    at = g.start_for(6 * DAY)
    order = g.new_order(at)
    shipped = g.clean_order(at, order)
    created = shipped + g.randint(DAY, 3 * DAY)
    refund = g.id("re_")
    body: dict[str, Any] = {
        "refs": {"refund": refund, **order.refs()},
        "amount": money(order.cents),
        "currency": order.currency,
        "direction": "debit",
    }
    g.add(
        created,
        STRIPE,
        "refund.created",
        {**body, "status": "pending", "attributes": {"reason": "requested_by_customer"}},
    )
    code = _of(g, REFUND_FAILURES)
    g.add(
        created + g.randint(HOUR, DAY),
        STRIPE,
        "refund.failed",
        {**body, "status": "failed", "reason_code": code[0], "reason_message": code[1]},
    )
    g.label("refund_failed", "refund", refund, code[0])
