"""The labeled month's state and the stories every part of it tells: an order from checkout to
delivery, a supplier and a supplier invoice paid by bank transfer.

Work is in integer seconds from ``spec.start`` and integer minor units, as in the demo month.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from recoup.adapters.simulation.demo_rates import DAY, HOUR, MINUTE
from recoup.adapters.simulation.demo_tools import _Clock, _Ids, _randint
from recoup.adapters.simulation.labeled_tools import (
    AmountBook,
    NamePool,
    money,
)

SHOP, STRIPE, ERP, AP = "shop", "stripe", "erp", "ap"
BANK = {"EUR": "bank:main-eur", "USD": "bank:ops-usd", "GBP": "bank:ops-gbp"}
EXTERNAL_ID_PREFIX = {
    SHOP: "shop-",
    STRIPE: "evt_",
    ERP: "erp-",
    AP: "ap-",
    BANK["EUR"]: "eur-",
    BANK["USD"]: "usd-",
    BANK["GBP"]: "gbp-",
}

# Clean traffic never repeats an amount for one customer within this gap (the duplicate charge
# window is 1 hour, the duplicate order window 10 minutes), nor for one supplier's invoices
# within this one (the near-number duplicate invoice window is 7 days).
PAYMENT_GAP = 2 * HOUR
INVOICE_GAP = 8 * DAY
NETWORKS = (("visa", 60.0), ("mastercard", 35.0), ("amex", 5.0))
CURRENCIES = (("EUR", 70.0), ("USD", 20.0), ("GBP", 10.0))
SUPPLIER_COUNTRIES = ("DE", "DE", "DE", "AT", "NL")

# (at, generation order, source, type, body)
Row = tuple[int, int, str, str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Label:
    """One injected exception: the finding type and the entity it must name."""

    type: str
    entity_kind: str
    entity_key: str
    note: str = ""


@dataclass
class Order:
    ref: str
    customer: str
    customer_name: str
    cents: int
    currency: str
    items: int
    network: str
    payment: str
    charge: str

    def refs(self, *, payment: bool = True) -> dict[str, str]:
        if not payment:
            return {"order": self.ref, "customer": self.customer}
        return {
            "payment": self.payment,
            "charge": self.charge,
            "order": self.ref,
            "customer": self.customer,
        }


@dataclass
class Supplier:
    ref: str
    name: str
    country: str
    iban: str
    vat: str
    invoices: int = 0


def pick(rng: random.Random, rows: tuple[tuple[str, float], ...]) -> str:
    total = sum(w for _, w in rows)
    x = rng.random() * total
    for value, weight in rows:
        x -= weight
        if x < 0:
            return value
    return rows[-1][0]


@dataclass
class Gen:
    """One generator run: nothing is shared between runs."""

    seed: int
    start: datetime
    days: int
    sanctioned: tuple[str, ...]
    rng: random.Random = field(init=False)
    clock: _Clock = field(init=False)
    end: int = field(init=False)
    rows: list[Row] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.clock = _Clock(self.start)
        self.end = self.days * DAY
        self.names = NamePool(self.sanctioned)
        self.pay_book = AmountBook(PAYMENT_GAP)
        self.invoice_book = AmountBook(INVOICE_GAP)
        rng = self.rng
        self.ids = {
            prefix: _Ids(rng, prefix, digits, hexadecimal=hexadecimal)
            for prefix, digits, hexadecimal in (
                ("pi_", 16, True),
                ("ch_", 16, True),
                ("dp_", 16, True),
                ("re_", 16, True),
                ("po_", 16, True),
                ("issfr_", 16, True),
                ("E2E", 16, True),
                ("BTX", 12, False),
                ("PMTINF-", 10, False),
                ("sub_", 14, True),
                ("in_", 16, True),
            )
        }
        self.order_base = 100_000 + rng.randrange(800_000)

    # -- rows and labels -----------------------------------------------------------------------

    def add(self, at: int, source: str, type_: str, body: dict[str, Any]) -> None:
        assert 0 <= at < self.end, f"{type_} at {at} falls outside the month"
        self.rows.append((at, len(self.rows), source, type_, body))

    def label(self, type_: str, kind: str, key: str, note: str) -> None:
        self.labels.append(Label(type_, kind, key, note))

    def next(self, name: str) -> int:
        self.counters[name] = self.counters.get(name, 0) + 1
        return self.counters[name]

    def id(self, prefix: str) -> str:
        return self.ids[prefix].next()

    def iso(self, at: int) -> str:
        return self.clock.iso(at)

    def date(self, at: int, days: int = 0) -> str:
        moment = self.start + timedelta(seconds=at)
        return (moment.astimezone(UTC).date() + timedelta(days=days)).isoformat()

    def day_start(self, at: int) -> int:
        """Seconds of the start of ``at``'s UTC day (the month starts at a UTC midnight or not)."""
        moment = (self.start + timedelta(seconds=at)).astimezone(UTC)
        midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        return int((midnight - self.start).total_seconds())

    def randint(self, low: int, high: int) -> int:
        return _randint(self.rng, low, max(low, high))

    def start_for(self, span: int) -> int:
        """A random start time that leaves ``span`` seconds before the end of the month."""
        if span >= self.end - HOUR:
            raise ValueError(f"the month is too short for a story of {span // DAY} days")
        return self.randint(0, self.end - span - HOUR)

    def customer(self) -> str:
        return f"cus_{self.next('customer'):07d}"

    def basket(self) -> int:
        cents = round(self.rng.lognormvariate(math.log(45.0), 0.85) * 100)
        return min(max(cents, 100), 250_000)

    # -- an order ------------------------------------------------------------------------------

    def new_order(
        self,
        at: int,
        *,
        customer: str | None = None,
        name: str | None = None,
        currency: str | None = None,
        network: str | None = None,
        cents: int | None = None,
    ) -> Order:
        rng = self.rng
        customer = customer or self.customer()
        currency = currency or pick(rng, CURRENCIES)
        cents = self.pay_book.free(customer, currency, cents or self.basket(), at)
        network = network or pick(rng, NETWORKS)
        return Order(
            ref=f"ord_{self.order_base + self.next('order')}",
            customer=customer,
            customer_name=name or self.names.person(rng),
            cents=cents,
            currency=currency,
            items=1 + min(int(rng.expovariate(0.6)), 8),
            network=network,
            payment=self.id("pi_"),
            charge=self.id("ch_"),
        )

    def order_created(self, at: int, order: Order, **attributes: Any) -> None:
        attrs = {
            "item_count": order.items,
            "customer_name": order.customer_name,
            "avs_result": "Y",
            "risk_level": "normal",
            **attributes,
        }
        self.add(
            at,
            SHOP,
            "order.created",
            {
                "refs": order.refs(payment=False),
                "amount": money(order.cents),
                "currency": order.currency,
                "status": "open",
                "attributes": attrs,
            },
        )

    def payment_succeeded(self, at: int, order: Order, **overrides: Any) -> None:
        body: dict[str, Any] = {
            "refs": order.refs(),
            "amount": money(order.cents),
            "currency": order.currency,
            "direction": "credit",
            "status": "succeeded",
            "attributes": {"network": order.network, "attempt": 1},
        }
        self.add(at, STRIPE, "payment.succeeded", body | overrides)

    def order_event(self, at: int, order: Order, type_: str, **body: Any) -> None:
        self.add(at, SHOP, type_, {"refs": order.refs(payment=False), **body})

    def order_paid(self, at: int, order: Order) -> None:
        self.order_event(
            at,
            order,
            "order.paid",
            amount=money(order.cents),
            currency=order.currency,
            status="paid",
        )

    def fulfil(self, at: int, order: Order, *, counts: tuple[int, ...] | None = None) -> int:
        """Shipments (one, or one per count) then ``order.fulfilled``; returns the last time.
        Carrier scans follow while they fit in the month."""
        last = at
        for n, count in enumerate(counts or (order.items,), start=1):
            shipment = f"ful_{order.ref[4:]}_{n}"
            self.order_event(
                last,
                order,
                "fulfillment.created",
                status="success",
                attributes={
                    "fulfillment_id": shipment,
                    "item_count": count,
                    "carrier": "DHL",
                    "shipment_status": "label_printed",
                },
            )
            scan = last + self.randint(6 * HOUR, 20 * HOUR)
            if scan < self.end:
                self.order_event(
                    scan,
                    order,
                    "fulfillment.updated",
                    attributes={"fulfillment_id": shipment, "shipment_status": "in_transit"},
                )
            last += self.randint(MINUTE, 20 * MINUTE)
        self.order_event(last, order, "order.fulfilled", status="fulfilled")
        return last

    def clean_order(self, at: int, order: Order, **created: Any) -> int:
        """The whole happy path from ``at``; returns the time the order was fulfilled."""
        self.order_created(at, order, **created)
        paid = at + self.randint(30, 10 * MINUTE)
        self.payment_succeeded(paid, order)
        self.order_paid(paid + self.randint(5, 90), order)
        ship = paid + 90 + self.randint(2 * HOUR, 40 * HOUR)
        ship = min(ship, self.end - 30 * MINUTE)
        return self.fulfil(max(ship, paid + 91), order)
