"""One simulated month: each payment's story (orders, customers, attempts, duplicates, disputes,
refunds), then its events and the daily payouts, in time order.
"""

from __future__ import annotations

import math
import random

from recoup.adapters.simulation.demo_events import _Events, _Row
from recoup.adapters.simulation.demo_rates import (
    ADYEN_SHARE,
    AMOUNT_MAX_MINOR,
    AMOUNT_MEDIAN,
    AMOUNT_MIN_MINOR,
    AMOUNT_SIGMA,
    CHECKOUT_SECONDS,
    CURRENCY_MIX,
    DAY,
    DISPUTE_DELAY_DAYS,
    DISPUTE_RATE,
    DUPLICATE_DELAY_SECONDS,
    DUPLICATE_RATE,
    DUPLICATE_WINDOW_SECONDS,
    FIRST_ATTEMPT_FAILURE_RATE,
    HOUR,
    HOURLY_WEIGHTS,
    MASTERCARD_DECLINES,
    MINUTE,
    NETWORK_MIX,
    REFUND_DELAY_DAYS,
    REFUND_RATE,
    REPEAT_BUYER_SHARE,
    RETRY_COUNT,
    RETRY_HORIZON_DAYS,
    RETRY_SUCCESS_RATE,
    STRIPE_DECLINES,
    VISA_DECLINES,
    WEEKDAY_WEIGHTS,
    DeclineCode,
)
from recoup.adapters.simulation.demo_spec import DemoSpec
from recoup.adapters.simulation.demo_tools import (
    _Clock,
    _Ids,
    _Payment,
    _randint,
    _table,
    _Weighted,
)


class _Month(_Events):
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
