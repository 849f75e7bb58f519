"""Stateless rules that pause an order for review: a high value, an issuer's fraud warning or a
risk check's verdict, a risky shipping address; and an order accepted for stock that is not there.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation

from recoup.domain.detection.detectors import (
    RuleSpec,
    _entity,
    _finding,
    _money,
    default_tier,
)
from recoup.domain.detection.findings import Finding
from recoup.domain.errors import InvalidInputError
from recoup.domain.ingestion.event import Event
from recoup.domain.money import check_amount, format_money

HIGH_VALUE_REVIEW = "high_value_review"
FRAUD_REVIEW = "fraud_review"
ADDRESS_RISK = "address_risk"
STOCK_UNAVAILABLE = "stock_unavailable"

EARLY_FRAUD_WARNING_TYPE = "dispute.early_fraud_warning"
HIGH_VALUE_TYPES = {"order.created": "order", "payment.authorized": "authorisation"}
RISK_TYPES = {
    "order.created": "order",
    "payment.authorized": "authorisation",
    "payment.succeeded": "payment",
}
ADDRESS_TYPE = "order.created"
STOCK_TYPES = frozenset({"order.created", "order.updated"})

# Words as normalised by _word (lower case, "-" and " " as "_").
HIGH_RISK_LEVELS = frozenset({"highest", "high"})  # Stripe Radar "highest", Shopify "HIGH"
CANCEL_RECOMMENDATION = "cancel"
AVS_NO_MATCH = frozenset({"n", "no_match"})
BAD_ADDRESS_STATUSES = frozenset({"invalid", "undeliverable"})


def detect_fraud_review(event: Event, detected_at: datetime) -> Finding | None:
    """An issuer reported likely fraud before any dispute: a person decides whether to refund
    before the chargeback comes."""
    if event.type != EARLY_FRAUD_WARNING_TYPE:
        return None
    entity = _entity(event, "charge", "payment")
    code = event.reason_code or "no reason code"
    return _finding(
        event,
        FRAUD_REVIEW,
        entity,
        detected_at=detected_at,
        summary=f"early fraud warning ({code}) on {_money(event)}",
        tier=default_tier(FRAUD_REVIEW),
        exposure_key=f"payment:{event.refs.payment or event.refs.charge or entity[1]}",
        detail={"actionable": event.attributes.get("actionable")},
    )


def _word(value: object) -> str | None:
    """A source's status word, comparable: lower case, "-" and " " as "_"; None unless text."""
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().lower().replace("-", "_").replace(" ", "_")


def _quantity(value: object) -> Decimal | None:
    """A stock quantity given as a number or numeric text; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(value.strip() if isinstance(value, str) else str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def detect_risk_review(event: Event, detected_at: datetime) -> Finding | None:
    """A risk check scored an order or payment high (``risk_level`` highest or high) or advised
    cancelling it (``risk_recommendation`` cancel): a person decides before it ships. Entity
    order, else payment, like high_value_review, so both join the order's case."""
    what = RISK_TYPES.get(event.type)
    if what is None:
        return None
    level = event.attributes.get("risk_level")
    recommendation = event.attributes.get("risk_recommendation")
    signals = []
    if _word(level) in HIGH_RISK_LEVELS:
        signals.append(f"risk level {level}")
    if _word(recommendation) == CANCEL_RECOMMENDATION:
        signals.append(f"recommendation {recommendation}")
    if not signals:
        return None
    return _finding(
        event,
        FRAUD_REVIEW,
        _entity(event, "order", "payment"),
        detected_at=detected_at,
        summary=f"{what} of {_money(event)} flagged by a risk check: {', '.join(signals)}",
        tier=default_tier(FRAUD_REVIEW),
        detail={
            "risk_level": level,
            "risk_recommendation": recommendation,
            "risk_score": event.attributes.get("risk_score"),
        },
    )


def detect_address_risk(event: Event, detected_at: datetime) -> Finding | None:
    """The address check failed on a new order: AVS said the address does not match
    (``avs_result`` N or no_match) or the address is ``invalid`` / ``undeliverable``. Shipping
    anyway risks a chargeback or a parcel that comes back."""
    if event.type != ADDRESS_TYPE:
        return None
    avs = event.attributes.get("avs_result")
    status = event.attributes.get("address_status")
    signals = []
    if _word(avs) in AVS_NO_MATCH:
        signals.append(f"AVS result {avs} (address does not match)")
    if _word(status) in BAD_ADDRESS_STATUSES:
        signals.append(f"address {status}")
    if not signals:
        return None
    return _finding(
        event,
        ADDRESS_RISK,
        _entity(event, "order"),
        detected_at=detected_at,
        summary=f"order of {_money(event)}: {', '.join(signals)}",
        tier=default_tier(ADDRESS_RISK),
        detail={"avs_result": avs, "address_status": status},
    )


def detect_stock_unavailable(event: Event, detected_at: datetime) -> Finding | None:
    """An order was accepted for stock that is not there: stock left after it is negative
    (``inventory_quantity`` < 0) or some of it is backordered (``backordered_quantity`` > 0).
    Fulfilment pauses until stock arrives or the customer is told."""
    if event.type not in STOCK_TYPES:
        return None
    left = _quantity(event.attributes.get("inventory_quantity"))
    backordered = _quantity(event.attributes.get("backordered_quantity"))
    signals = []
    if backordered is not None and backordered > 0:
        signals.append(f"{backordered} backordered")
    if left is not None and left < 0:
        signals.append(f"stock after the order {left}")
    if not signals:
        return None
    return _finding(
        event,
        STOCK_UNAVAILABLE,
        _entity(event, "order"),
        detected_at=detected_at,
        summary=f"order of {_money(event)} accepted without stock: {', '.join(signals)}",
        tier=default_tier(STOCK_UNAVAILABLE),
        detail={
            "inventory_quantity": None if left is None else str(left),
            "backordered_quantity": None if backordered is None else str(backordered),
        },
    )


class HighValueReview:
    """An order placed, or a payment authorised, at or above its currency's threshold. A
    currency without a threshold is never flagged. Each threshold must be a positive amount of a
    known ISO 4217 currency that fits its exponent (raises ``InvalidInputError`` otherwise)."""

    def __init__(self, thresholds: Mapping[str, Decimal]) -> None:
        self.thresholds: dict[str, Decimal] = {}
        for currency, threshold in thresholds.items():
            code = currency.strip().upper()
            check_amount(threshold, code)
            if threshold <= 0:
                raise InvalidInputError(f"the high-value threshold for {code} must be positive")
            self.thresholds[code] = threshold

    def __call__(self, event: Event, detected_at: datetime) -> Finding | None:
        what = HIGH_VALUE_TYPES.get(event.type)
        if what is None or event.amount is None or event.currency is None:
            return None
        threshold = self.thresholds.get(event.currency)
        if threshold is None or event.amount < threshold:
            return None
        limit = format_money(threshold, event.currency)
        return _finding(
            event,
            HIGH_VALUE_REVIEW,
            _entity(event, "order", "payment"),
            detected_at=detected_at,
            summary=f"{what} of {_money(event)} is at or above the {limit} review threshold",
            tier=default_tier(HIGH_VALUE_REVIEW),
            detail={"threshold": str(threshold)},
        )


def rules(high_value_thresholds: Mapping[str, Decimal]) -> list[RuleSpec]:
    return [
        (frozenset({EARLY_FRAUD_WARNING_TYPE}), detect_fraud_review),
        (frozenset(HIGH_VALUE_TYPES), HighValueReview(high_value_thresholds)),
        (frozenset(RISK_TYPES), detect_risk_review),
        (frozenset({ADDRESS_TYPE}), detect_address_risk),
        (STOCK_TYPES, detect_stock_unavailable),
    ]
