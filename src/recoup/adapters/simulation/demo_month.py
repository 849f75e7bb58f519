"""One month of a mid-size online merchant's payment events, as canonical JSON lines.

The demo, the benchmarks and the tutorials need a feed that looks like production (declines with
real network codes, retries that sometimes recover, disputes, refunds, a few double charges,
daily payouts) without anyone's real data. Everything here is derived from ``DemoSpec.seed`` alone:
no global random state, no wall clock, no ``uuid4``, so the same spec always gives the same bytes
and a finding seen in one run can be found again in the next.

Work is done in integer seconds (from ``spec.start``) and integer minor units, so sorting is cheap,
amounts are exact and the payout totals add up to the cent.
"""

from __future__ import annotations

import math
import os
import random
import tempfile
from bisect import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any, NamedTuple

import msgspec

DAY = 86_400
HOUR = 3_600
MINUTE = 60

# --- Who pays, with what ------------------------------------------------------------------------

# Share of payments whose customer already bought this month. Picking the earlier buyer in
# proportion to their past orders (preferential attachment) gives a few loyal, frequent buyers and
# a long tail of one-off buyers: 50,000 payments come from about 25,000 customers.
REPEAT_BUYER_SHARE = 0.5
# Card network mix of a European/US online shop.
NETWORK_MIX: tuple[tuple[str, float], ...] = (("visa", 60.0), ("mastercard", 35.0), ("amex", 5.0))
# Share of all payments that go through Adyen, the secondary acquirer. The merchant routes Amex
# only through Stripe, so Adyen sees Visa and Mastercard and its declines are network codes.
ADYEN_SHARE = 0.20
# Presentment currency, fixed per customer (it follows where they live).
CURRENCY_MIX: tuple[tuple[str, float], ...] = (("EUR", 60.0), ("USD", 25.0), ("GBP", 15.0))
# Basket totals are log-normal: median 45.00, a long tail of larger orders.
AMOUNT_MEDIAN = 45.0
AMOUNT_SIGMA = 0.85
# Smallest and largest basket the shop accepts, in minor units.
AMOUNT_MIN_MINOR = 100
AMOUNT_MAX_MINOR = 250_000

# Orders per hour of day (UTC), relative: quiet nights, a lunchtime bump, an evening peak.
HOURLY_WEIGHTS: tuple[float, ...] = (
    1.0, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2.5, 3.2, 3.6, 3.8,
    4.0, 3.8, 3.6, 3.6, 3.8, 4.2, 4.8, 5.4, 5.8, 5.2, 3.8, 2.2,
)  # fmt: skip
# Orders per weekday (Monday first), relative: shoppers buy more towards and over the weekend.
WEEKDAY_WEIGHTS: tuple[float, ...] = (1.0, 0.95, 0.95, 1.0, 1.1, 1.2, 1.15)
# Seconds between placing the order and the first payment attempt (checkout, 3-D Secure).
CHECKOUT_SECONDS = (5, 180)

# --- Declines and retries -----------------------------------------------------------------------

# Share of payments whose first attempt is declined: typical for card-not-present e-commerce.
FIRST_ATTEMPT_FAILURE_RATE = 0.09
# Each retry of a soft decline succeeds with this probability; otherwise it fails the same way.
RETRY_SUCCESS_RATE = 0.35
# A soft decline is retried this many times (inclusive range) ...
RETRY_COUNT = (1, 3)
# ... spread over this many days after the first attempt (inclusive range).
RETRY_HORIZON_DAYS = (1, 4)


class DeclineCode(NamedTuple):
    """One decline the issuer can give: the code without namespace, how often, the text the
    source shows, and whether the merchant's dunning retries it."""

    code: str
    weight: float
    message: str
    retried: bool


# Stripe's decline_code mix (non-deprecated codes only). Weights are percent of declines.
STRIPE_DECLINES: tuple[DeclineCode, ...] = (
    DeclineCode("insufficient_funds", 30.0, "The card has insufficient funds.", True),
    DeclineCode("generic_decline", 20.0, "The card was declined for an unknown reason.", True),
    DeclineCode("do_not_honor", 15.0, "The card was declined: do not honor.", True),
    DeclineCode("expired_card", 8.0, "The card has expired.", False),
    DeclineCode("incorrect_cvc", 5.0, "The card's security code is incorrect.", False),
    DeclineCode("card_velocity_exceeded", 4.0, "The card's spending limit was exceeded.", True),
    DeclineCode("processing_error", 4.0, "An error occurred while processing the card.", True),
    DeclineCode("lost_card", 1.0, "The card was reported lost.", False),
    DeclineCode("stolen_card", 0.8, "The card was reported stolen.", False),
    DeclineCode("fraudulent", 1.7, "The payment was suspected to be fraudulent.", False),
    DeclineCode("pickup_card", 0.5, "The issuer asked to retain the card.", False),
    DeclineCode("incorrect_number", 4.0, "The card number is incorrect.", False),
    DeclineCode("transaction_not_allowed", 3.0, "The card does not allow this purchase.", False),
    DeclineCode("authentication_required", 3.0, "The card requires authentication.", False),
)
# Visa response codes as Adyen passes them on; the same mix, generic and do-not-honor both being
# Visa's 05. Messages are Visa's own meanings.
VISA_DECLINES: tuple[DeclineCode, ...] = (
    DeclineCode("51", 30.0, "Not sufficient funds", True),
    DeclineCode("05", 35.0, "Do not honor", True),
    DeclineCode("54", 8.0, "Expired card or expiration date missing", False),
    DeclineCode("N7", 5.0, "Decline for CVV2 failure", False),
    DeclineCode("61", 4.0, "Exceeds approval amount limit", True),
    DeclineCode("96", 4.0, "System malfunction", True),
    DeclineCode("41", 1.0, "Lost card, pick up", False),
    DeclineCode("43", 0.8, "Stolen card, pick up", False),
    DeclineCode("59", 1.7, "Suspected fraud", False),
    DeclineCode("04", 0.5, "Pick up card (no fraud)", False),
    DeclineCode("14", 4.0, "Invalid account number (no such number)", False),
    DeclineCode("57", 3.0, "Transaction not permitted to cardholder", False),
    DeclineCode("1A", 3.0, "Additional customer authentication required", False),
)
# Mastercard response codes as Adyen passes them on. Mastercard has no CVC or SCA code of its
# own (issuers answer 05), so those shares fold into the others.
MASTERCARD_DECLINES: tuple[DeclineCode, ...] = (
    DeclineCode("51", 30.0, "Not sufficient funds", True),
    DeclineCode("05", 35.0, "Do not honor", True),
    DeclineCode("54", 8.0, "Expired card", False),
    DeclineCode("61", 4.0, "Exceeds withdrawal amount limit", True),
    DeclineCode("96", 4.0, "System malfunction", True),
    DeclineCode("41", 1.0, "Lost card", False),
    DeclineCode("43", 0.8, "Stolen card, pick-up", False),
    DeclineCode("34", 1.7, "Suspected fraud", False),
    DeclineCode("04", 0.5, "Pick-up", False),
    DeclineCode("14", 4.0, "Invalid card number (no such number)", False),
    DeclineCode("57", 3.0, "Transaction not permitted to cardholder", False),
)

# --- Disputes -----------------------------------------------------------------------------------

# Share of succeeded payments disputed within the month: 0.5% is a healthy shop (Visa and
# Mastercard monitoring programmes start at about 0.9%).
DISPUTE_RATE = 0.005
# Days between the payment and the dispute (inclusive range), kept inside the month.
DISPUTE_DELAY_DAYS = (3, 20)
# Days the merchant has to answer a dispute (inclusive range).
EVIDENCE_DUE_DAYS = (7, 20)
# Share of Visa fraud (10.4) and not-received (13.1) disputes that start as an inquiry: about one
# in five of all disputes.
INQUIRY_SHARE = 0.45
# Days between the inquiry and the dispute (inclusive range).
INQUIRY_LEAD_DAYS = (1, 5)
# Visa reasons that can be preceded by an inquiry.
INQUIRY_REASONS = frozenset({"10.4", "13.1"})

# Network reason codes, weighted: card-absent fraud is the most common dispute online.
VISA_DISPUTES: tuple[tuple[str, float, str], ...] = (
    ("10.4", 45.0, "Other Fraud: Card-Absent Environment"),
    ("13.1", 25.0, "Merchandise/Services Not Received"),
    ("13.3", 20.0, "Not as Described or Defective Merchandise/Services"),
    ("12.6.1", 10.0, "Duplicate Processing"),
)
MASTERCARD_DISPUTES: tuple[tuple[str, float, str], ...] = (
    ("4837", 50.0, "No Cardholder Authorization"),
    ("4853", 35.0, "Cardholder Dispute"),
    ("4863", 15.0, "Cardholder Does Not Recognize: Potential Fraud"),
)
AMEX_DISPUTES: tuple[tuple[str, float, str], ...] = (
    ("F29", 50.0, "Card Not Present"),
    ("C08", 25.0, "Goods/Services Not Received or Only Partially Received"),
    ("C31", 15.0, "Goods/Services Not as Described"),
    ("P08", 10.0, "Duplicate Charge"),
)

# --- Double charges -----------------------------------------------------------------------------

# Share of succeeded payments charged a second time (a double-clicked checkout, a webhook retried
# by the shop): the exception recoup's duplicate detector exists for.
DUPLICATE_RATE = 0.002
# Seconds between the original charge and its duplicate (inclusive range).
DUPLICATE_DELAY_SECONDS = (10, 20 * MINUTE)
# The detector's window: no other two charges of one customer, amount and currency may be this
# close, or the demo would contain double charges nobody put there.
DUPLICATE_WINDOW_SECONDS = HOUR

# --- Refunds ------------------------------------------------------------------------------------

# Share of succeeded payments refunded within the month (returns, cancelled orders).
REFUND_RATE = 0.03
# Days between the payment and the refund request (inclusive range).
REFUND_DELAY_DAYS = (1, 10)
# Share of refunds for part of the payment (one item of the basket returned).
PARTIAL_REFUND_SHARE = 0.25
# Share of refunds that fail: the card was closed, lost or replaced since the payment.
REFUND_FAILURE_RATE = 0.04
# Seconds until a refund completes (inclusive ranges); failures are reported days later.
REFUND_SUCCESS_SECONDS = (30, 6 * HOUR)
REFUND_FAILURE_SECONDS = (1 * DAY, 5 * DAY)
# Stripe's refund failure_reason values, weighted.
STRIPE_REFUND_FAILURES: tuple[tuple[str, float, str], ...] = (
    ("expired_or_canceled_card", 50.0, "The card was expired or cancelled."),
    ("declined", 30.0, "The issuer declined the refund."),
    ("lost_or_stolen_card", 20.0, "The card was reported lost or stolen."),
)
ADYEN_REFUND_FAILURE = ("refund_failed", "The refund was refused by the card scheme.")

# --- Payouts ------------------------------------------------------------------------------------

# Each day's captures are paid out the next morning, per source and currency, at this hour (UTC).
PAYOUT_HOUR = {"stripe": 6, "adyen": 7}

# The source of the shop's own order events.
SHOP_SOURCE = "shop"
# external_id prefix per source.
EXTERNAL_ID_PREFIX = {"stripe": "evt_", "adyen": "adyen-", SHOP_SOURCE: "shop-"}


@dataclass(frozen=True)
class DemoSpec:
    """What to generate: the seed makes it reproducible, the rest sizes it."""

    seed: int = 2026
    payments: int = 50_000
    start: datetime = datetime(2026, 10, 1, tzinfo=UTC)
    days: int = 31

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.start.utcoffset() is None:
            raise ValueError("DemoSpec.start must be timezone-aware")
        if self.payments < 0:
            raise ValueError("DemoSpec.payments must not be negative")
        if self.days < 1:
            raise ValueError("DemoSpec.days must be at least 1")


class _Weighted:
    """A weighted choice by bisection: ``random.choices`` is several times slower per draw."""

    __slots__ = ("_cum", "_items", "_total")

    def __init__(self, items: Sequence[Any], weights: Sequence[float]) -> None:
        self._items = tuple(items)
        self._cum = list(accumulate(weights))
        self._total = self._cum[-1]

    def pick(self, rng: random.Random) -> Any:
        return self._items[bisect(self._cum, rng.random() * self._total)]


class _Ids:
    """Identifiers that look random yet are unique by construction: ``n * mult + add`` modulo a
    power of the base is a bijection when ``mult`` is coprime to the base."""

    __slots__ = ("_add", "_digits", "_hex", "_mod", "_mult", "_n", "_prefix")

    def __init__(self, rng: random.Random, prefix: str, digits: int, *, hexadecimal: bool) -> None:
        base = 16 if hexadecimal else 10
        self._prefix, self._digits, self._hex = prefix, digits, hexadecimal
        self._mod = base**digits
        mult = rng.randrange(self._mod // base, self._mod)
        while math.gcd(mult, base) != 1:
            mult += 1
        self._mult, self._add = mult, rng.randrange(self._mod)
        self._n = 0

    def next(self) -> str:
        self._n += 1
        value = (self._n * self._mult + self._add) % self._mod
        if self._hex:
            return f"{self._prefix}{value:0{self._digits}x}"
        return f"{self._prefix}{value:0{self._digits}d}"


@dataclass(slots=True)
class _Payment:
    order_at: int
    cents: int = 0
    customer: int = 0
    source: str = ""
    network: str = ""
    currency: str = ""
    order_ref: str = ""
    payment_ref: str = ""
    charge_ref: str | None = None
    decline: DeclineCode | None = None
    attempts: list[tuple[int, bool]] = field(default_factory=list)
    succeeded_at: int | None = None
    duplicate_at: int | None = None


class _Clock:
    """RFC 3339 timestamps from second offsets. Formatting is table lookups (each calendar day,
    each minute of the day, each second), as a hundred thousand ``strftime`` calls would be
    a good part of the run."""

    __slots__ = ("_base", "_days", "_minutes", "_seconds")

    def __init__(self, start: datetime) -> None:
        self._base = math.ceil(start.timestamp())
        self._days: dict[int, str] = {}
        self._minutes = [f"{m // 60:02d}:{m % 60:02d}:" for m in range(DAY // MINUTE)]
        self._seconds = [f"{s:02d}Z" for s in range(MINUTE)]

    def iso(self, offset: int) -> str:
        day, rem = divmod(self._base + offset, DAY)
        prefix = self._days.get(day)
        if prefix is None:
            prefix = datetime.fromtimestamp(day * DAY, UTC).strftime("%Y-%m-%dT")
            self._days[day] = prefix
        minute, second = divmod(rem, MINUTE)
        return prefix + self._minutes[minute] + self._seconds[second]

    def date_after(self, offset: int, days: int) -> str:
        moment = datetime.fromtimestamp(self._base + offset, UTC)
        return (moment.date() + timedelta(days=days)).isoformat()

    def weekday(self, day: int) -> int:
        return datetime.fromtimestamp(self._base + day * DAY, UTC).weekday()


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _randint(rng: random.Random, low: int, high: int) -> int:
    """``rng.randint`` without its argument checks, which dominate its cost on a hot path."""
    return low + int(rng.random() * (high - low + 1))


def _customer_ref(customer: int) -> str:
    return f"cus_{customer + 1:07d}"


def _table(rows: Sequence[tuple[Any, ...]]) -> _Weighted:
    return _Weighted(rows, [row[1] for row in rows])


# (offset, generation order, source, type, occurred_at, the rest of the event)
_Row = tuple[int, int, str, str, str, dict[str, Any]]


class _Month:
    """The generator's state: one instance per run, so nothing leaks between runs."""

    def __init__(self, spec: DemoSpec) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.clock = _Clock(spec.start)
        self.end = spec.days * DAY
        self.events: list[_Row] = []
        rng = self.rng
        self.ids = {
            "pi": _Ids(rng, "pi_", 16, hexadecimal=True),
            "ch": _Ids(rng, "ch_", 16, hexadecimal=True),
            "psp": _Ids(rng, "psp_", 16, hexadecimal=False),
            "dp": _Ids(rng, "dp_", 16, hexadecimal=True),
            "re": _Ids(rng, "re_", 16, hexadecimal=True),
            "po": _Ids(rng, "po_", 16, hexadecimal=True),
        }
        self.order_base = 100_000 + rng.randrange(900_000)
        self.declines = {
            "stripe": _Weighted(STRIPE_DECLINES, [d.weight for d in STRIPE_DECLINES]),
            "visa": _Weighted(VISA_DECLINES, [d.weight for d in VISA_DECLINES]),
            "mastercard": _Weighted(MASTERCARD_DECLINES, [d.weight for d in MASTERCARD_DECLINES]),
        }

    # -- the story of each payment -------------------------------------------------------------

    def run(self) -> list[_Row]:
        payments = self._orders()
        self._customers(payments)
        for payment in payments:
            self._attempts(payment)
        succeeded = sorted(
            (p for p in payments if p.succeeded_at is not None),
            key=lambda p: p.succeeded_at or 0,
        )
        self._pick_duplicates(succeeded)
        self._avoid_accidental_duplicates(succeeded)
        disputed = self._pick_disputes(succeeded)
        refunded = self._pick_refunds(succeeded, disputed)
        for payment in payments:
            self._emit_payment(payment)
        for payment in disputed:
            self._emit_dispute(payment)
        for payment in refunded:
            self._emit_refund(payment)
        self._emit_payouts(succeeded)
        self.events.sort(key=lambda e: (e[0], e[1]))
        return self.events

    def _orders(self) -> list[_Payment]:
        rng, days = self.rng, self.spec.days
        day_pick = _Weighted(
            range(days), [WEEKDAY_WEIGHTS[self.clock.weekday(d)] for d in range(days)]
        )
        hour_pick = _Weighted(range(24), HOURLY_WEIGHTS)
        latest = self.end - CHECKOUT_SECONDS[1] - 1
        payments: list[_Payment] = []
        while len(payments) < self.spec.payments:
            at = day_pick.pick(rng) * DAY + hour_pick.pick(rng) * HOUR + int(rng.random() * HOUR)
            if at <= latest:
                payments.append(_Payment(order_at=at))
        payments.sort(key=lambda p: p.order_at)
        mu = math.log(AMOUNT_MEDIAN)
        for n, payment in enumerate(payments):
            cents = round(rng.lognormvariate(mu, AMOUNT_SIGMA) * 100)
            payment.cents = min(max(cents, AMOUNT_MIN_MINOR), AMOUNT_MAX_MINOR)
            payment.order_ref = f"ord_{self.order_base + n}"
        return payments

    def _customers(self, payments: list[_Payment]) -> None:
        """Assign buyers in time order; a customer keeps one card, currency and acquirer."""
        rng = self.rng
        network_pick = _table(NETWORK_MIX)
        currency_pick = _table(CURRENCY_MIX)
        amex_share = dict(NETWORK_MIX)["amex"] / sum(w for _, w in NETWORK_MIX)
        adyen_given_visa_mc = ADYEN_SHARE / (1 - amex_share)
        profiles: list[tuple[str, str, str]] = []
        past_buyers: list[int] = []
        for payment in payments:
            if past_buyers and rng.random() < REPEAT_BUYER_SHARE:
                customer = past_buyers[int(rng.random() * len(past_buyers))]
            else:
                customer = len(profiles)
                network: str = network_pick.pick(rng)[0]
                currency: str = currency_pick.pick(rng)[0]
                adyen = network != "amex" and rng.random() < adyen_given_visa_mc
                profiles.append((network, currency, "adyen" if adyen else "stripe"))
            past_buyers.append(customer)
            payment.customer = customer
            payment.network, payment.currency, payment.source = profiles[customer]
            if payment.source == "stripe":
                payment.payment_ref = self.ids["pi"].next()
                payment.charge_ref = self.ids["ch"].next()
            else:
                payment.payment_ref = self.ids["psp"].next()

    def _attempts(self, payment: _Payment) -> None:
        rng = self.rng
        first = payment.order_at + _randint(rng, *CHECKOUT_SECONDS)
        if rng.random() >= FIRST_ATTEMPT_FAILURE_RATE:
            payment.attempts = [(first, True)]
            payment.succeeded_at = first
            return
        table = "stripe" if payment.source == "stripe" else payment.network
        decline: DeclineCode = self.declines[table].pick(rng)
        payment.decline = decline
        payment.attempts = [(first, False)]
        if not decline.retried:
            return
        # Leave room for the minute kept between retries, so the last stays within the horizon.
        horizon = _randint(rng, *RETRY_HORIZON_DAYS) * DAY - RETRY_COUNT[1] * MINUTE
        retries = _randint(rng, *RETRY_COUNT)
        offsets = sorted(_randint(rng, HOUR, horizon) for _ in range(retries))
        at = first
        for offset in offsets:
            at = max(first + offset, at + MINUTE)
            if at >= self.end:
                break
            ok = rng.random() < RETRY_SUCCESS_RATE
            payment.attempts.append((at, ok))
            if ok:
                payment.succeeded_at = at
                break

    def _pick_duplicates(self, succeeded: list[_Payment]) -> None:
        rng = self.rng
        low, high = DUPLICATE_DELAY_SECONDS
        eligible = [p for p in succeeded if (p.succeeded_at or 0) + high < self.end]
        count = min(round(DUPLICATE_RATE * len(succeeded)), len(eligible))
        for payment in rng.sample(eligible, count):
            payment.duplicate_at = (payment.succeeded_at or 0) + _randint(rng, low, high)

    def _avoid_accidental_duplicates(self, succeeded: list[_Payment]) -> None:
        """Nudge amounts by a cent until no two charges of one customer, amount and currency
        are within the detector's window, except the injected duplicates."""
        taken: dict[tuple[int, str, int], list[int]] = {}
        for payment in succeeded:
            times = [payment.succeeded_at or 0]
            if payment.duplicate_at is not None:
                times.append(payment.duplicate_at)
            # Away from the nearer bound, so a nudged amount stays in range.
            step = 1 if payment.cents < AMOUNT_MAX_MINOR // 2 else -1
            while True:
                key = (payment.customer, payment.currency, payment.cents)
                others = taken.get(key)
                if others is None:
                    taken[key] = times
                    break
                if not any(abs(t - o) <= DUPLICATE_WINDOW_SECONDS for o in others for t in times):
                    others.extend(times)
                    break
                payment.cents += step

    def _pick_disputes(self, succeeded: list[_Payment]) -> list[_Payment]:
        latest = self.end - DISPUTE_DELAY_DAYS[0] * DAY - 1
        eligible = [
            p for p in succeeded if p.duplicate_at is None and (p.succeeded_at or 0) <= latest
        ]
        count = min(round(DISPUTE_RATE * len(succeeded)), len(eligible))
        return sorted(self.rng.sample(eligible, count), key=lambda p: p.succeeded_at or 0)

    def _pick_refunds(self, succeeded: list[_Payment], disputed: list[_Payment]) -> list[_Payment]:
        excluded = {id(p) for p in disputed}
        latest = self.end - REFUND_DELAY_DAYS[0] * DAY - HOUR
        eligible = [
            p
            for p in succeeded
            if p.duplicate_at is None and id(p) not in excluded and (p.succeeded_at or 0) <= latest
        ]
        count = min(round(REFUND_RATE * len(succeeded)), len(eligible))
        return sorted(self.rng.sample(eligible, count), key=lambda p: p.succeeded_at or 0)

    # -- events --------------------------------------------------------------------------------

    def _add(self, at: int, source: str, type_: str, body: dict[str, Any]) -> None:
        assert 0 <= at < self.end, "every event must fall inside the month"
        self.events.append((at, len(self.events), source, type_, self.clock.iso(at), body))

    def _refs(
        self, payment: _Payment, payment_ref: str | None = None, charge_ref: str | None = None
    ) -> dict[str, str]:
        refs = {"payment": payment_ref or payment.payment_ref}
        charge = charge_ref or (payment.charge_ref if payment_ref is None else None)
        if charge is not None:
            refs["charge"] = charge
        refs["order"] = payment.order_ref
        refs["customer"] = _customer_ref(payment.customer)
        return refs

    def _emit_payment(self, payment: _Payment) -> None:
        amount = _money(payment.cents)
        customer = _customer_ref(payment.customer)
        self._add(
            payment.order_at,
            SHOP_SOURCE,
            "order.created",
            {
                "refs": {"order": payment.order_ref, "customer": customer},
                "amount": amount,
                "currency": payment.currency,
                "status": "open",
            },
        )
        namespace = {"stripe": "stripe", "visa": "visa", "mastercard": "mc"}[
            "stripe" if payment.source == "stripe" else payment.network
        ]
        for attempt, (at, ok) in enumerate(payment.attempts, start=1):
            body: dict[str, Any] = {
                "refs": self._refs(payment),
                "amount": amount,
                "currency": payment.currency,
            }
            if ok:
                body["direction"] = "credit"
                body["status"] = "succeeded"
            else:
                assert payment.decline is not None
                body["reason_code"] = f"{namespace}:{payment.decline.code}"
                body["reason_message"] = payment.decline.message
                body["status"] = "failed"
            body["attributes"] = {"network": payment.network, "attempt": attempt}
            self._add(at, payment.source, "payment.succeeded" if ok else "payment.failed", body)
        if payment.duplicate_at is not None:
            stripe = payment.source == "stripe"
            duplicate = self.ids["pi" if stripe else "psp"].next()
            charge = self.ids["ch"].next() if stripe else None
            refs = self._refs(payment, duplicate, charge)
            self._add(
                payment.duplicate_at,
                payment.source,
                "payment.succeeded",
                {
                    "refs": refs,
                    "amount": amount,
                    "currency": payment.currency,
                    "direction": "credit",
                    "status": "succeeded",
                    "attributes": {
                        "network": payment.network,
                        "attempt": 1,
                        "demo_duplicate_of": payment.payment_ref,
                    },
                },
            )

    def _emit_dispute(self, payment: _Payment) -> None:
        rng = self.rng
        paid_at = payment.succeeded_at or 0
        low, high = DISPUTE_DELAY_DAYS
        opened = paid_at + _randint(rng, low * DAY, min(high * DAY, self.end - 1 - paid_at))
        namespace, reasons = {
            "visa": ("visa", VISA_DISPUTES),
            "mastercard": ("mc", MASTERCARD_DISPUTES),
            "amex": ("amex", AMEX_DISPUTES),
        }[payment.network]
        code, _, message = _table(reasons).pick(rng)
        refs = {"dispute": self.ids["dp"].next(), **self._refs(payment)}
        common = {
            "amount": _money(payment.cents),
            "currency": payment.currency,
            "reason_code": f"{namespace}:{code}",
            "reason_message": message,
        }
        if namespace == "visa" and code in INQUIRY_REASONS and rng.random() < INQUIRY_SHARE:
            lead_low, lead_high = INQUIRY_LEAD_DAYS
            lead = _randint(rng, lead_low * DAY, min(lead_high * DAY, opened - paid_at - HOUR))
            inquiry = opened - lead
            self._add(
                inquiry,
                payment.source,
                "dispute.inquiry_opened",
                {
                    "refs": refs,
                    **common,
                    "status": "warning_needs_response",
                    "attributes": {
                        "network": payment.network,
                        "evidence_due_by": self.clock.date_after(
                            inquiry, _randint(rng, *EVIDENCE_DUE_DAYS)
                        ),
                    },
                },
            )
        self._add(
            opened,
            payment.source,
            "dispute.opened",
            {
                "refs": refs,
                **common,
                "status": "needs_response",
                "attributes": {
                    "network": payment.network,
                    "evidence_due_by": self.clock.date_after(
                        opened, _randint(rng, *EVIDENCE_DUE_DAYS)
                    ),
                },
            },
        )

    def _emit_refund(self, payment: _Payment) -> None:
        rng = self.rng
        paid_at = payment.succeeded_at or 0
        low, high = REFUND_DELAY_DAYS
        created = paid_at + _randint(rng, low * DAY, min(high * DAY, self.end - HOUR - paid_at))
        cents = payment.cents
        partial = rng.random() < PARTIAL_REFUND_SHARE
        if partial:
            cents = _randint(rng, max(1, cents // 10), cents * 9 // 10)
        failed = rng.random() < REFUND_FAILURE_RATE
        delay = _randint(rng, *(REFUND_FAILURE_SECONDS if failed else REFUND_SUCCESS_SECONDS))
        completed = min(created + delay, self.end - 1)
        refs = {"refund": self.ids["re"].next(), **self._refs(payment)}
        amount = _money(cents)
        attributes = {"reason": "requested_by_customer", "partial": partial}
        self._add(
            created,
            payment.source,
            "refund.created",
            {
                "refs": refs,
                "amount": amount,
                "currency": payment.currency,
                "direction": "debit",
                "status": "pending",
                "attributes": attributes,
            },
        )
        body: dict[str, Any] = {
            "refs": refs,
            "amount": amount,
            "currency": payment.currency,
            "direction": "debit",
        }
        if failed:
            if payment.source == "stripe":
                code, _, message = _table(STRIPE_REFUND_FAILURES).pick(rng)
                body["reason_code"] = f"stripe:{code}"
            else:
                code, message = ADYEN_REFUND_FAILURE
                body["reason_code"] = f"adyen:{code}"
            body |= {"reason_message": message, "status": "failed"}
        else:
            body["status"] = "succeeded"
        body["attributes"] = attributes
        self._add(
            completed, payment.source, "refund.failed" if failed else "refund.succeeded", body
        )

    def _emit_payouts(self, succeeded: list[_Payment]) -> None:
        """Yesterday's captures (duplicates included: they were captured too), by source and
        currency, paid out each morning; the last day's captures are paid after the month."""
        totals: dict[tuple[int, str, str], list[int]] = {}
        for payment in succeeded:
            for at in (payment.succeeded_at, payment.duplicate_at):
                if at is not None:
                    total = totals.setdefault((at // DAY, payment.source, payment.currency), [0, 0])
                    total[0] += payment.cents
                    total[1] += 1
        for (day, source, currency), (cents, count) in sorted(totals.items()):
            paid_at = (day + 1) * DAY + PAYOUT_HOUR[source] * HOUR
            if paid_at >= self.end:
                continue
            self._add(
                paid_at,
                source,
                "payout.paid",
                {
                    "refs": {"payout": self.ids["po"].next()},
                    "amount": _money(cents),
                    "currency": currency,
                    "direction": "credit",
                    "status": "paid",
                    "attributes": {
                        "period_start": self.clock.iso(day * DAY),
                        "period_end": self.clock.iso((day + 1) * DAY),
                        "payments": count,
                    },
                },
            )


def demo_lines(spec: DemoSpec) -> Iterator[bytes]:
    """Canonical event lines without newlines, in occurred_at order.

    External ids are numbered after sorting, so within a source they grow with time the way a
    real feed's do, and a consumer can rely on the order of the file."""
    encode = msgspec.json.Encoder().encode
    counters = dict.fromkeys(EXTERNAL_ID_PREFIX, 0)
    for _, _, source, type_, occurred_at, body in _Month(spec).run():
        counters[source] += 1
        external_id = f"{EXTERNAL_ID_PREFIX[source]}{counters[source]:08d}"
        yield encode(
            {
                "source": source,
                "external_id": external_id,
                "type": type_,
                "occurred_at": occurred_at,
                **body,
            }
        )


def write_demo_month(path: Path, spec: DemoSpec) -> int:
    """Write the month as JSON lines; readers never see a half-written file."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    count = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for line in demo_lines(spec):
                out.write(line)
                out.write(b"\n")
                count += 1
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return count


__all__ = ["DemoSpec", "demo_lines", "write_demo_month"]
