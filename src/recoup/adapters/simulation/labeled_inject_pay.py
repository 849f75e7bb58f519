"""Injected card-payment exceptions: declines, failed captures, exhausted retries and double
charges. Each scenario uses fresh entities and labels every finding its story must produce."""

from __future__ import annotations

from typing import Any

from recoup.adapters.simulation.demo_rates import DAY, HOUR, MINUTE
from recoup.adapters.simulation.labeled_base import ERP, STRIPE, Gen, Order
from recoup.adapters.simulation.labeled_tools import money

DECLINES = {
    "visa": (
        ("visa:51", "Insufficient funds"),
        ("visa:05", "Do not honor"),
        ("visa:54", "Expired card"),
        ("visa:N7", "Decline for CVV2 failure"),
    ),
    "mastercard": (
        ("mc:51", "Insufficient funds/over credit limit"),
        ("mc:05", "Do not honor"),
        ("mc:54", "Expired card"),
        ("mc:61", "Exceeds withdrawal amount limit"),
    ),
    "stripe": (
        ("stripe:card_declined", "Your card was declined."),
        ("stripe:insufficient_funds", "Your card has insufficient funds."),
        ("stripe:do_not_honor", "The card was declined for an unknown reason."),
        ("stripe:expired_card", "Your card has expired."),
    ),
}
CAPTURE_FAILURES = (
    ("stripe:processing_error", "An error occurred while capturing the charge."),
    ("stripe:charge_expired_for_capture", "The charge expired before capture."),
    ("adyen:capture_refused", "The acquirer refused the capture."),
)


def _of(g: Gen, rows: tuple[tuple[str, str], ...]) -> tuple[str, str]:
    return rows[int(g.rng.random() * len(rows))]


def _decline(g: Gen, order: Order) -> tuple[str, str]:
    return _of(g, DECLINES.get(order.network, DECLINES["stripe"]))


def _failed(
    g: Gen, at: int, order: Order, attempt: int, code: tuple[str, str], **attributes: Any
) -> None:
    g.add(
        at,
        STRIPE,
        "payment.failed",
        {
            "refs": {**order.refs(), "charge": g.id("ch_")},
            "amount": money(order.cents),
            "currency": order.currency,
            "reason_code": code[0],
            "reason_message": code[1],
            "status": "failed",
            "attributes": {"network": order.network, "attempt": attempt, **attributes},
        },
    )


def _finish(g: Gen, order: Order, at: int) -> int:
    """Paid at ``at``, then shipped within a day."""
    g.payment_succeeded(at, order)
    g.order_paid(at + g.randint(5, 60), order)
    return g.fulfil(at + g.randint(2 * HOUR, 20 * HOUR), order)


def _invoice(g: Gen, at: int, cents: int, terms: int, **attributes: Any) -> dict[str, str]:
    customer = g.customer()
    invoice = f"AR-2026-{g.next('ar_invoice'):06d}"
    refs = {"invoice": invoice, "customer": customer}
    g.add(
        at,
        ERP,
        "invoice.finalized",
        {
            "refs": refs,
            "amount": money(cents),
            "currency": "EUR",
            "status": "open",
            "attributes": {
                "due_date": g.date(at, terms),
                "invoice_number": invoice,
                "terms": f"net {terms}",
                **attributes,
            },
        },
    )
    return refs


def _invoice_paid(g: Gen, at: int, refs: dict[str, str], cents: int) -> None:
    amount = {"amount": money(cents), "currency": "EUR"}
    g.add(
        at,
        STRIPE,
        "payment.succeeded",
        {
            "refs": {"payment": g.id("pi_"), "charge": g.id("ch_"), **refs},
            **amount,
            "direction": "credit",
            "status": "succeeded",
            "attributes": {"network": "visa"},
        },
    )
    g.add(
        at + g.randint(MINUTE, 5 * MINUTE),
        ERP,
        "invoice.paid",
        {"refs": refs, **amount, "status": "paid"},
    )


def payment_failed(g: Gen, i: int) -> None:
    at = g.start_for(3 * DAY)
    if i % 3 == 1:
        cents = g.randint(20_000, 300_000)
        refs = _invoice(g, at, cents, 14)
        code = _of(g, DECLINES["stripe"])
        failed = at + g.randint(HOUR, 6 * HOUR)
        g.add(
            failed,
            STRIPE,
            "invoice.payment_failed",
            {
                "refs": refs,
                "amount": money(cents),
                "currency": "EUR",
                "reason_code": code[0],
                "reason_message": code[1],
                "status": "open",
                "attributes": {"attempt_count": 1},
            },
        )
        _invoice_paid(g, failed + g.randint(DAY, 2 * DAY), refs, cents)
        g.label("payment_failed", "invoice", refs["invoice"], f"{code[0]}, paid on retry")
        return
    if i % 3 == 2:
        subscription, customer = g.id("sub_"), g.customer()
        code = _of(g, DECLINES["visa"])
        body = {
            "refs": {"subscription": subscription, "customer": customer},
            "amount": "29.00",
            "currency": "EUR",
        }
        g.add(
            at,
            STRIPE,
            "subscription.payment_failed",
            {
                **body,
                "reason_code": code[0],
                "reason_message": code[1],
                "status": "past_due",
                "attributes": {"network": "visa", "attempt_count": 1},
            },
        )
        g.add(
            at + g.randint(DAY, 2 * DAY),
            STRIPE,
            "subscription.payment_succeeded",
            {**body, "direction": "credit", "status": "active"},
        )
        g.label("payment_failed", "subscription", subscription, f"{code[0]}, renewal retried")
        return
    order = g.new_order(at, network=("visa", "mastercard")[i % 2])
    g.order_created(at, order)
    code = _decline(g, order)
    failed = at + g.randint(30, 5 * MINUTE)
    _failed(g, failed, order, 1, code)
    _finish(g, order, failed + g.randint(2 * MINUTE, 30 * MINUTE))
    g.label("payment_failed", "payment", order.payment, f"{code[0]}, then paid")


def capture_failed(g: Gen, i: int) -> None:
    at = g.start_for(4 * DAY)
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
    failed = authorized + g.randint(HOUR, 3 * DAY)
    code = _of(g, CAPTURE_FAILURES)
    g.add(
        failed,
        STRIPE,
        "payment.capture_failed",
        {
            "refs": order.refs(),
            "amount": money(order.cents),
            "currency": order.currency,
            "reason_code": code[0],
            "reason_message": code[1],
            "status": "failed",
        },
    )
    g.order_event(failed + g.randint(MINUTE, HOUR), order, "order.cancelled", status="cancelled")
    g.label("capture_failed", "payment", order.payment, code[0])


def retry_exhausted(g: Gen, i: int) -> None:
    variant = i % 4
    if variant == 3:
        _retries_flag(g)
        return
    network, attempts, span = (
        ("mastercard", 10, 20 * HOUR),
        ("visa", 15, 6 * DAY),
        ("amex", 8, 5 * DAY),
    )[variant]
    at = g.start_for(span + 2 * HOUR)
    order = g.new_order(at, network=network)
    g.order_created(at, order)
    code = _decline(g, order)
    step = span // attempts
    when = at + g.randint(30, 5 * MINUTE)
    for attempt in range(1, attempts + 1):
        _failed(g, when, order, attempt, code)
        when += g.randint(step // 2, step)
    g.order_event(when, order, "order.cancelled", status="cancelled")
    limit = f"{attempts} {network} attempts"
    g.label("retry_exhausted", "payment", order.payment, f"{limit} ({code[0]})")
    g.label("payment_failed", "payment", order.payment, f"each of the {limit}")


def _retries_flag(g: Gen) -> None:
    """A subscription invoice the source gives up on: its last failure says no retry is left;
    Stripe then marks the invoice uncollectible."""
    at = g.start_for(5 * DAY)
    refs = _invoice(g, at, g.randint(1_900, 19_900), 0)
    refs["subscription"] = g.id("sub_")
    amount = g.rows[-1][4]["amount"]
    code = _of(g, DECLINES["stripe"])
    when = at + g.randint(HOUR, 2 * HOUR)
    for attempt in range(1, 5):
        last = attempt == 4
        g.add(
            when,
            STRIPE,
            "invoice.payment_failed",
            {
                "refs": refs,
                "amount": amount,
                "currency": "EUR",
                "reason_code": code[0],
                "reason_message": code[1],
                "status": "open",
                "attributes": {
                    "attempt_count": attempt,
                    "retries_exhausted": last,
                    "next_payment_attempt": None,
                },
            },
        )
        when += g.randint(DAY - 2 * HOUR, DAY)
    g.add(
        when,
        ERP,
        "invoice.marked_uncollectible",
        {"refs": refs, "amount": amount, "currency": "EUR", "status": "uncollectible"},
    )
    g.label("retry_exhausted", "invoice", refs["invoice"], "retries_exhausted: true")
    g.label("payment_failed", "invoice", refs["invoice"], "each smart retry")


def duplicate_charge(g: Gen, i: int) -> None:
    at = g.start_for(3 * DAY)
    order = g.new_order(at)
    g.order_created(at, order)
    paid = at + g.randint(30, 5 * MINUTE)
    if i % 2 == 0:
        g.payment_succeeded(paid, order)
        again = Order(**{**order.__dict__, "payment": g.id("pi_"), "charge": g.id("ch_")})
        g.payment_succeeded(paid + g.randint(20, 50 * MINUTE), again)
        g.order_paid(paid + g.randint(5, 19), order)
        g.fulfil(paid + g.randint(2 * HOUR, 20 * HOUR), order)
        g.label("duplicate_charge", "customer", order.customer, "one order charged twice")
        g.label("amount_mismatch", "order", order.ref, "collected twice the order amount")
        return
    _finish(g, order, paid)
    later = at + g.randint(15 * MINUTE, 50 * MINUTE)
    second = Order(
        **{
            **order.__dict__,
            "ref": f"ord_{g.order_base + g.next('order')}",
            "payment": g.id("pi_"),
            "charge": g.id("ch_"),
        }
    )
    g.order_created(later, second)
    _finish(g, second, later + g.randint(30, 5 * MINUTE))
    g.label("duplicate_charge", "customer", order.customer, "same basket bought twice in an hour")
