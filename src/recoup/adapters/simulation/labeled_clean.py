"""Clean traffic of the labeled month: orders, receivable invoices, payouts and payables, each
story complete inside the month, and none of it meeting any detector's trigger."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from recoup.adapters.simulation.demo_rates import DAY, HOUR, HOURLY_WEIGHTS, MINUTE
from recoup.adapters.simulation.labeled_base import (
    AP,
    CURRENCIES,
    ERP,
    STRIPE,
    Gen,
    Supplier,
    pick,
)
from recoup.adapters.simulation.labeled_payables import (
    new_supplier,
    pay_supplier,
    statement_line,
    supplier_invoice,
    transfer,
)
from recoup.adapters.simulation.labeled_tools import money

if TYPE_CHECKING:
    from recoup.adapters.simulation.labeled import LabeledSpec

REPEAT_BUYER_SHARE = 0.3
PAYOUT_CREATED_HOUR = 3
PAYOUT_ARRIVAL_DAYS = 2
NET_TERMS = (14, 30)


def _time_in_day(g: Gen, day: int) -> int:
    x = g.rng.random() * sum(HOURLY_WEIGHTS)
    hour = 0
    while hour < 23 and x >= HOURLY_WEIGHTS[hour]:
        x -= HOURLY_WEIGHTS[hour]
        hour += 1
    return day * DAY + hour * HOUR + g.randint(0, HOUR - 1)


def clean_traffic(g: Gen, spec: LabeledSpec) -> None:
    captured = _orders(g, spec)
    _payouts(g, captured)
    _receivables(g, spec)
    _payables(g, spec)


def _orders(g: Gen, spec: LabeledSpec) -> dict[tuple[int, str], int]:
    """Shop orders paid by card; returns the captured cents by (day, currency)."""
    rng = g.rng
    latest = g.end - 2 * HOUR
    times = sorted(
        at
        for day in range(spec.days)
        for _ in range(spec.orders_per_day)
        if (at := _time_in_day(g, day)) <= latest
    )
    buyers: list[tuple[str, str, str, str]] = []
    captured: dict[tuple[int, str], int] = {}
    for at in times:
        if buyers and rng.random() < REPEAT_BUYER_SHARE:
            customer, name, currency, network = buyers[int(rng.random() * len(buyers))]
            order = g.new_order(
                at, customer=customer, name=name, currency=currency, network=network
            )
        else:
            order = g.new_order(at)
            buyers.append((order.customer, order.customer_name, order.currency, order.network))
        attrs: dict[str, object] = {}
        if rng.random() < 0.4:
            attrs["inventory_quantity"] = g.randint(0, 240)
        g.clean_order(at, order, **attrs)
        key = (at // DAY, order.currency)
        captured[key] = captured.get(key, 0) + order.cents
    return captured


def _payouts(g: Gen, captured: dict[tuple[int, str], int]) -> None:
    """Each day's captures paid out the next morning, arriving two days later, and booked on
    the bank statement of that currency's account with the payout id as remittance."""
    for (day, currency), cents in sorted(captured.items()):
        created = (day + 1) * DAY + PAYOUT_CREATED_HOUR * HOUR + g.randint(0, 59 * MINUTE)
        arrival_day = day + 1 + PAYOUT_ARRIVAL_DAYS
        paid = arrival_day * DAY + 5 * HOUR + g.randint(0, HOUR)
        booked = paid + g.randint(2 * HOUR, 5 * HOUR)
        if booked >= g.end:
            continue
        payout = g.id("po_")
        body = {
            "refs": {"payout": payout},
            "amount": money(cents),
            "currency": currency,
            "direction": "credit",
        }
        g.add(
            created,
            STRIPE,
            "payout.created",
            {
                **body,
                "status": "in_transit",
                "attributes": {"arrival_date": g.date(arrival_day * DAY), "method": "standard"},
            },
        )
        g.add(
            paid,
            STRIPE,
            "payout.paid",
            {**body, "status": "paid", "attributes": {"arrival_date": g.date(arrival_day * DAY)}},
        )
        statement_line(
            g,
            booked,
            cents,
            "credit",
            currency=currency,
            remittance=f"STRIPE PAYMENTS UK {payout}",
            payout=payout,
        )


def _receivables(g: Gen, spec: LabeledSpec) -> None:
    """Business customers' invoices, each paid in full (card, through Stripe) before it is due."""
    rng = g.rng
    clients = [(g.customer(), g.names.company(rng, "DE")) for _ in range(spec.receivable_clients)]
    latest = g.end - 6 * HOUR
    for day in range(spec.days):
        for _ in range(spec.receivable_invoices_per_day):
            at = day * DAY + 8 * HOUR + g.randint(0, 9 * HOUR)
            if at > latest:
                continue
            customer, name = clients[int(rng.random() * len(clients))]
            currency = pick(rng, CURRENCIES[:2])
            cents = round(rng.lognormvariate(math.log(900.0), 0.6) * 100)
            cents = min(max(cents, 5_000), 480_000)
            terms = NET_TERMS[int(rng.random() * len(NET_TERMS))]
            due = g.day_start(at) + (terms + 1) * DAY - 1
            paid = g.randint(at + HOUR, min(due, g.end - 10 * MINUTE) - 10 * MINUTE)
            cents = g.pay_book.free(customer, currency, cents, paid)
            invoice = f"AR-2026-{g.next('ar_invoice'):06d}"
            refs = {"invoice": invoice, "customer": customer}
            amount = {"amount": money(cents), "currency": currency}
            g.add(
                at,
                ERP,
                "invoice.finalized",
                {
                    "refs": refs,
                    **amount,
                    "status": "open",
                    "attributes": {
                        "due_date": g.date(at, terms),
                        "invoice_number": invoice,
                        "customer_name": name,
                        "terms": f"net {terms}",
                    },
                },
            )
            g.add(
                paid,
                STRIPE,
                "payment.succeeded",
                {
                    "refs": {"payment": g.id("pi_"), "charge": g.id("ch_"), **refs},
                    **amount,
                    "direction": "credit",
                    "status": "succeeded",
                    "attributes": {
                        "network": pick(rng, (("visa", 1.0), ("mastercard", 1.0))),
                        "attempt": 1,
                    },
                },
            )
            g.add(
                paid + g.randint(MINUTE, 5 * MINUTE),
                ERP,
                "invoice.paid",
                {"refs": refs, **amount, "status": "paid"},
            )


def _payables(g: Gen, spec: LabeledSpec) -> None:
    """Suppliers onboarded on the first day; their invoices approved, paid by SEPA transfer,
    accepted by the bank and booked on the statement."""
    rng = g.rng
    suppliers = [new_supplier(g, g.randint(0, 6 * HOUR)) for _ in range(spec.suppliers)]
    for day in range(spec.days):
        for _ in range(spec.supplier_invoices_per_day):
            at = max(day * DAY + 7 * HOUR + g.randint(0, 10 * HOUR), 7 * HOUR)
            if at >= g.end - HOUR:
                continue
            _supplier_invoice(g, suppliers[int(rng.random() * len(suppliers))], at)


def _supplier_invoice(g: Gen, supplier: Supplier, at: int) -> None:
    invoice, number, cents = supplier_invoice(g, at, supplier)
    approved = at + g.randint(2 * HOUR, 2 * DAY)
    initiated = approved + g.randint(HOUR, 5 * DAY)
    booked = initiated + g.randint(14 * HOUR, 30 * HOUR)
    if approved >= g.end:
        return
    g.add(
        approved,
        AP,
        "invoice.approved",
        {
            "refs": {"supplier": supplier.ref, "invoice": invoice},
            "amount": money(cents),
            "currency": "EUR",
            "status": "approved",
            "attributes": {"invoice_number": number},
        },
    )
    if booked >= g.end:
        return
    e2e = pay_supplier(g, initiated, supplier, invoice, number, cents)
    transfer(g, initiated + g.randint(MINUTE, 30 * MINUTE), e2e, cents, supplier.iban)
    g.add(
        initiated + g.randint(HOUR, 3 * HOUR),
        "bank:main-eur",
        "bank.transfer_accepted",
        {"refs": {"end_to_end": e2e}, "status": "ACSC"},
    )
    statement_line(g, booked, cents, "debit", remittance=number, end_to_end=e2e)
