"""Injected exceptions about money arriving: payouts that fail, arrive late or short, payments
that do not match their invoice or order, invoices never paid and payments nobody claims."""

from __future__ import annotations

import math
from typing import Any

from recoup.adapters.simulation.demo_rates import DAY, HOUR, MINUTE
from recoup.adapters.simulation.labeled_base import STRIPE, Gen, Order
from recoup.adapters.simulation.labeled_inject_pay import _invoice, _invoice_paid, _of
from recoup.adapters.simulation.labeled_payables import statement_line
from recoup.adapters.simulation.labeled_tools import money

PAYOUT_FAILURES = (
    ("stripe:account_closed", "The bank account has been closed."),
    ("stripe:no_account", "The bank account details do not match an account."),
    ("stripe:account_frozen", "The bank account has been frozen."),
)


def _payout(g: Gen, at: int, cents: int, arrival: int) -> tuple[str, dict[str, Any]]:
    payout = g.id("po_")
    body = {
        "refs": {"payout": payout},
        "amount": money(cents),
        "currency": "EUR",
        "direction": "credit",
    }
    g.add(
        at,
        STRIPE,
        "payout.created",
        {
            **body,
            "status": "in_transit",
            "attributes": {"arrival_date": g.date(arrival), "method": "standard"},
        },
    )
    return payout, body


def payout_failed(g: Gen, i: int) -> None:
    at = g.start_for(3 * DAY)
    arrival = g.day_start(at) + 2 * DAY
    payout, body = _payout(g, at, g.randint(50_000, 2_000_000), arrival)
    code = _of(g, PAYOUT_FAILURES)
    g.add(
        arrival + g.randint(4 * HOUR, 10 * HOUR),
        STRIPE,
        "payout.failed",
        {**body, "status": "failed", "reason_code": code[0], "reason_message": code[1]},
    )
    g.label("payout_failed", "payout", payout, code[0])


def settlement_delayed(g: Gen, i: int) -> None:
    at = g.start_for(HOUR)
    payout, _ = _payout(g, at, g.randint(50_000, 2_000_000), g.day_start(at) + 2 * DAY)
    g.label("settlement_delayed", "payout", payout, "never paid, never failed")


def fee_mismatch(g: Gen, i: int) -> None:
    at = g.start_for(3 * DAY)
    arrival = g.day_start(at) + 2 * DAY
    if i % 2 == 0:
        cents = g.randint(100_000, 3_000_000)
        fee = max(1, cents * g.randint(20, 150) // 10_000)
        attributes: dict[str, Any] = {}
    else:
        cents = g.randint(4_000, 9_000)
        fee = 250
        attributes = {"fee": money(fee)}
    payout, body = _payout(g, at, cents, arrival)
    paid = arrival + g.randint(5 * HOUR, 6 * HOUR)
    g.add(paid, STRIPE, "payout.paid", {**body, "status": "paid"})
    btx = statement_line(
        g,
        paid + g.randint(HOUR, 4 * HOUR),
        cents - fee,
        "credit",
        remittance=f"STRIPE PAYMENTS UK {payout}",
        payout=payout,
    )
    if attributes:
        g.rows[-1][4]["attributes"].update(attributes)
    g.label("fee_mismatch", "payout", payout, f"booked {money(fee)} short ({btx})")


def amount_mismatch(g: Gen, i: int) -> None:
    at = g.start_for(3 * DAY)
    variant = i % 3
    if variant == 1:
        cents = g.randint(20_000, 400_000)
        refs = _invoice(g, at, cents, 14)
        paid_cents = cents - g.randint(100, cents // 10) if i % 2 else cents + g.randint(100, 5_000)
        _invoice_paid(g, at + g.randint(DAY, 2 * DAY), refs, paid_cents)
        g.label(
            "amount_mismatch",
            "invoice",
            refs["invoice"],
            f"invoiced {money(cents)}, paid {money(paid_cents)}",
        )
        return
    order = g.new_order(at, currency="EUR" if variant == 0 else "GBP")
    g.order_created(at, order)
    paid = at + g.randint(30, 5 * MINUTE)
    if variant == 0:
        short = Order(
            **{**order.__dict__, "cents": order.cents - g.randint(1, order.cents // 4 + 1)}
        )
        g.payment_succeeded(paid, short)
        note = f"order {money(order.cents)}, paid {money(short.cents)}"
    else:
        converted = math.ceil(order.cents * 1.17)
        g.payment_succeeded(paid, order, amount=money(converted), currency="EUR")
        note = f"order {money(order.cents)} GBP, paid {money(converted)} EUR"
    g.order_paid(paid + g.randint(5, 60), order)
    g.fulfil(paid + g.randint(2 * HOUR, 20 * HOUR), order)
    g.label("amount_mismatch", "order", order.ref, note)


def missing_payment(g: Gen, i: int) -> None:
    terms = g.randint(3, max(3, min(14, g.days - 3)))
    at = g.start_for((terms + 1) * DAY)
    refs = _invoice(g, at, g.randint(20_000, 400_000), terms)
    g.label("missing_payment", "invoice", refs["invoice"], f"net {terms}, never paid")


def orphan_payment(g: Gen, i: int) -> None:
    at = g.start_for(HOUR)
    payment, customer = g.id("pi_"), g.customer()
    g.add(
        at,
        STRIPE,
        "payment.succeeded",
        {
            "refs": {"payment": payment, "charge": g.id("ch_"), "customer": customer},
            "amount": money(g.randint(1_000, 90_000)),
            "currency": "EUR",
            "direction": "credit",
            "status": "succeeded",
            "attributes": {"network": "visa", "description": "Payment Link"},
        },
    )
    g.label("orphan_payment", "payment", payment, "no order or invoice")
