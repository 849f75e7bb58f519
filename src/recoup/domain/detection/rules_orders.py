"""Stateless rules that pause an order for review: a high value, an issuer's fraud warning."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

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

EARLY_FRAUD_WARNING_TYPE = "dispute.early_fraud_warning"
HIGH_VALUE_TYPES = {"order.created": "order", "payment.authorized": "authorisation"}


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
    ]
