"""The demo month's events: each payment's order, attempts and duplicate, its dispute or
refund, and the daily payouts, as rows ready to sort and encode.
"""

from __future__ import annotations

import random
from typing import Any

from recoup.adapters.simulation.demo_rates import (
    ADYEN_REFUND_FAILURE,
    AMEX_DISPUTES,
    DAY,
    DISPUTE_DELAY_DAYS,
    EVIDENCE_DUE_DAYS,
    HOUR,
    INQUIRY_LEAD_DAYS,
    INQUIRY_REASONS,
    INQUIRY_SHARE,
    MASTERCARD_DISPUTES,
    PARTIAL_REFUND_SHARE,
    PAYOUT_HOUR,
    REFUND_DELAY_DAYS,
    REFUND_FAILURE_RATE,
    REFUND_FAILURE_SECONDS,
    REFUND_SUCCESS_SECONDS,
    SHOP_SOURCE,
    STRIPE_REFUND_FAILURES,
    VISA_DISPUTES,
)
from recoup.adapters.simulation.demo_tools import (
    _Clock,
    _customer_ref,
    _Ids,
    _money,
    _Payment,
    _randint,
    _table,
)

# (offset, generation order, source, type, occurred_at, the rest of the event)
_Row = tuple[int, int, str, str, str, dict[str, Any]]


class _Events:
    """Turns payments into event rows; ``_Month`` tells each payment's story."""

    rng: random.Random
    clock: _Clock
    end: int
    events: list[_Row]
    ids: dict[str, _Ids]

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
