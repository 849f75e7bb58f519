"""The exception taxonomy: every finding type with its defaults, in one place.

Policy (decision tables) may override any of these per case; when it says nothing, this registry
decides. A type's ``kind`` keeps policy and system exceptions out of each other's queues:

- ``policy``: the request is outside what is allowed, a person with decision rights must decide;
- ``system``: it is allowed but a dependency failed; retry, monitor and recover.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum


class Breakpoint(StrEnum):
    """Where the flow broke."""

    TRIGGER = "trigger"
    IDENTITY = "identity"
    ELIGIBILITY = "eligibility"
    TRANSACTION = "transaction"
    WRITEBACK = "writeback"


class Kind(StrEnum):
    POLICY = "policy"
    SYSTEM = "system"


class Tier(StrEnum):
    """80 / 15 / 5: finished by automation, controlled fallback, human judgement."""

    STRAIGHT_THROUGH = "straight_through"
    GUIDED = "guided"
    HUMAN = "human"


class Category(StrEnum):
    PAYMENTS = "payments"
    BANK = "bank"
    PAYABLES = "payables"
    COMPLIANCE = "compliance"
    ORDERS = "orders"


@dataclass(frozen=True, slots=True)
class FindingType:
    name: str
    category: Category
    owner_team: str
    breakpoint: Breakpoint
    kind: Kind
    tier: Tier
    sla_goal: timedelta
    sla_deadline: timedelta
    dedupe_window: timedelta
    entity: str
    pauses_automation: bool
    description: str

    @property
    def queue(self) -> str:
        """Policy and system exceptions never share a queue."""
        return f"{self.owner_team}.{self.kind.value}"


H = timedelta(hours=1)
D = timedelta(days=1)

_P, _S = Kind.POLICY, Kind.SYSTEM
_ST, _G, _HU = Tier.STRAIGHT_THROUGH, Tier.GUIDED, Tier.HUMAN
_TRIG, _ID, _EL, _TX, _WB = (
    Breakpoint.TRIGGER,
    Breakpoint.IDENTITY,
    Breakpoint.ELIGIBILITY,
    Breakpoint.TRANSACTION,
    Breakpoint.WRITEBACK,
)


def _t(
    name: str,
    category: Category,
    owner: str,
    bp: Breakpoint,
    kind: Kind,
    tier: Tier,
    goal: timedelta,
    deadline: timedelta,
    window: timedelta,
    entity: str,
    description: str,
    *,
    pauses: bool = False,
) -> FindingType:
    return FindingType(
        name, category, owner, bp, kind, tier, goal, deadline, window, entity, pauses, description
    )


_PAY, _BANK, _AP, _COMP, _ORD = (
    Category.PAYMENTS,
    Category.BANK,
    Category.PAYABLES,
    Category.COMPLIANCE,
    Category.ORDERS,
)

# name, category, owner team, breakpoint, kind, tier, SLA goal, SLA deadline, dedupe window, entity
# fmt: off
_TYPES = [
    _t("payment_failed", _PAY, "payments_ops", _TX, _S, _ST, 4 * H, 1 * D, 3 * D, "payment",
       "a payment attempt was declined; soft declines are retried, hard ones are not"),
    _t("capture_failed", _PAY, "payments_ops", _TX, _S, _G, 2 * H, 12 * H, 2 * D, "payment",
       "an authorised payment could not be captured", pauses=True),
    _t("retry_exhausted", _PAY, "payments_ops", _TX, _P, _G, 1 * D, 3 * D, 30 * D, "payment",
       "every allowed retry of a payment failed"),
    _t("duplicate_charge", _PAY, "payments_ops", _TX, _S, _G, 4 * H, 1 * D, 1 * D, "customer",
       "the same customer was charged the same amount twice within the window"),
    _t("dispute_opened", _PAY, "disputes", _TX, _P, _HU, 1 * D, 5 * D, 60 * D, "dispute",
       "a chargeback was opened; evidence is due by the network's deadline"),
    _t("inquiry_opened", _PAY, "disputes", _TX, _P, _G, 1 * D, 5 * D, 30 * D, "dispute",
       "an inquiry or retrieval request was opened; answering it can prevent a chargeback"),
    _t("authorization_expired", _PAY, "payments_ops", _TX, _S, _G, 4 * H, 1 * D, 7 * D,
       "payment", "an authorisation lapsed before it was captured"),
    _t("refund_failed", _PAY, "payments_ops", _TX, _S, _G, 4 * H, 2 * D, 7 * D, "refund",
       "a refund did not reach the customer"),
    _t("payout_failed", _PAY, "treasury", _TX, _S, _G, 4 * H, 1 * D, 7 * D, "payout",
       "a payout to the merchant's bank account failed"),
    _t("amount_mismatch", _PAY, "accounts_receivable", _EL, _P, _G, 1 * D, 3 * D, 30 * D,
       "invoice", "a payment does not equal its invoice or order, beyond tolerance"),
    _t("missing_payment", _PAY, "accounts_receivable", _TRIG, _P, _G, 1 * D, 5 * D, 30 * D,
       "invoice", "an expected payment did not arrive within its window"),
    _t("orphan_payment", _PAY, "accounts_receivable", _ID, _S, _G, 1 * D, 3 * D, 30 * D,
       "payment", "a payment matches no order or invoice"),
    _t("settlement_delayed", _PAY, "treasury", _TRIG, _S, _ST, 1 * D, 3 * D, 7 * D, "payout",
       "funds have not settled within the expected time"),
    _t("bank_rejected", _BANK, "treasury", _TX, _S, _G, 4 * H, 1 * D, 7 * D, "end_to_end",
       "the bank rejected a transfer (pain.002 / pacs.002) with an ISO reason code"),
    _t("bank_returned", _BANK, "treasury", _TX, _S, _G, 4 * H, 2 * D, 7 * D, "end_to_end",
       "a transfer or debit came back (camt.054, pacs.004, ACH R-code)"),
    _t("unmatched_bank_line", _BANK, "finance_ops", _ID, _S, _G, 1 * D, 3 * D, 30 * D,
       "bank_transaction", "a statement line matches no expected payment or payout"),
    _t("fee_mismatch", _BANK, "finance_ops", _EL, _P, _ST, 1 * D, 5 * D, 30 * D,
       "bank_transaction", "an amount differs from its counterpart by a bank or network fee"),
    _t("duplicate_invoice", _AP, "accounts_payable", _ID, _P, _G, 1 * D, 3 * D, 90 * D,
       "invoice", "the same supplier invoice appears more than once"),
    _t("supplier_bank_mismatch", _AP, "accounts_payable", _ID, _P, _HU, 4 * H, 1 * D, 30 * D,
       "supplier", "a supplier's bank account changed, is invalid or names someone else",
       pauses=True),
    _t("blocked_payment", _AP, "accounts_payable", _EL, _P, _G, 1 * D, 3 * D, 30 * D,
       "invoice", "a supplier payment is blocked and needs a release decision"),
    _t("tax_validation_failed", _AP, "accounts_payable", _EL, _P, _G, 1 * D, 5 * D, 30 * D,
       "invoice", "a VAT number or tax id failed validation"),
    _t("missing_remittance", _AP, "accounts_receivable", _ID, _S, _G, 1 * D, 5 * D, 30 * D,
       "bank_transaction", "money arrived without remittance information to apply it"),
    _t("sanctions_alert", _COMP, "compliance", _EL, _P, _HU, 2 * H, 1 * D, 30 * D, "supplier",
       "a party's name is close to an entry on a sanctions list", pauses=True),
    _t("order_stalled", _ORD, "fulfilment_ops", _TX, _S, _G, 4 * H, 1 * D, 7 * D, "order",
       "an order missed its fulfilment SLA"),
    _t("duplicate_order", _ORD, "fulfilment_ops", _ID, _S, _G, 2 * H, 1 * D, 2 * D, "order",
       "the same order was placed twice"),
    _t("split_conflict", _ORD, "fulfilment_ops", _TX, _S, _G, 4 * H, 1 * D, 7 * D, "order",
       "split shipments or payments of an order disagree"),
    _t("stock_unavailable", _ORD, "fulfilment_ops", _EL, _S, _G, 2 * H, 12 * H, 2 * D, "order",
       "an order was accepted for stock that is not there", pauses=True),
    _t("carrier_conflict", _ORD, "fulfilment_ops", _WB, _S, _G, 4 * H, 1 * D, 7 * D, "order",
       "the carrier's events contradict the order's status", pauses=True),
    _t("address_risk", _ORD, "fraud", _ID, _P, _HU, 1 * H, 4 * H, 2 * D, "order",
       "the shipping address is risky or undeliverable", pauses=True),
    _t("high_value_review", _ORD, "fraud", _EL, _P, _HU, 1 * H, 4 * H, 2 * D, "order",
       "an order's value is above the review threshold", pauses=True),
    _t("fraud_review", _ORD, "fraud", _ID, _P, _HU, 1 * H, 4 * H, 2 * D, "order",
       "signals suggest fraud; automation pauses until a person decides", pauses=True),
]
# fmt: on

TAXONOMY: dict[str, FindingType] = {t.name: t for t in _TYPES}
"""The types detectors emit from source events (the labeled month injects each of them)."""

MONITORING_TYPES: dict[str, FindingType] = {
    t.name: t
    for t in [
        _t("pattern_alert", _PAY, "operations", _TRIG, _S, _G, 4 * H, 1 * D, 7 * D, "pattern",
           "a kind of failure concentrates on one processor, card range, product, batch or "
           "region, against its baseline (raised by `recoup assist scan`, not by a detector)"),
    ]
}  # fmt: skip
"""Types Recoup raises by watching its own findings rather than source events."""

ALL_TYPES: dict[str, FindingType] = {**TAXONOMY, **MONITORING_TYPES}


def finding_type(name: str) -> FindingType:
    try:
        return ALL_TYPES[name]
    except KeyError:
        raise KeyError(f"unknown finding type {name!r}") from None


__all__ = [
    "ALL_TYPES",
    "MONITORING_TYPES",
    "TAXONOMY",
    "Breakpoint",
    "Category",
    "FindingType",
    "Kind",
    "Tier",
    "finding_type",
]
