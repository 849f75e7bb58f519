"""Stateless rules about card payments, payouts and supplier payments: one event is enough.

Each rule takes ``(event, detected_at)`` and returns a finding or None; :func:`rules` names the
event types each one reads, for the dispatch table in ``detectors``.
"""

from __future__ import annotations

from datetime import datetime

from recoup.domain.detection.detectors import (
    RuleSpec,
    _entity,
    _finding,
    _money,
    default_tier,
)
from recoup.domain.detection.findings import Finding
from recoup.domain.ingestion.event import Event
from recoup.domain.ingestion.types import EVENT_TYPES

CAPTURE_FAILED = "capture_failed"
AUTHORIZATION_EXPIRED = "authorization_expired"
PAYOUT_FAILED = "payout_failed"
BLOCKED_PAYMENT = "blocked_payment"

CAPTURE_FAILED_TYPE = "payment.capture_failed"
AUTHORIZATION_EXPIRED_TYPE = "payment.authorization_expired"
PAYOUT_FAILED_TYPE = "payout.failed"
SUPPLIER_PAYMENT_TYPE = "supplier.payment_initiated"

# A source's status word, normalised (lower case, "-" and " " as "_"), that means the payment
# waits for a release decision.
BLOCKED_STATUSES = {"blocked": "blocked", "on_hold": "on hold"}


def _code(event: Event) -> str:
    return event.reason_code or "no reason code"


def detect_capture_failed(event: Event, detected_at: datetime) -> Finding | None:
    """An authorised payment could not be captured: the goods may ship unpaid, so automation
    pauses (taxonomy) until someone captures again or cancels."""
    if event.type != CAPTURE_FAILED_TYPE:
        return None
    return _finding(
        event,
        CAPTURE_FAILED,
        _entity(event, "payment", "charge"),
        detected_at=detected_at,
        summary=f"capture of {_money(event)} failed ({_code(event)})",
        tier=default_tier(CAPTURE_FAILED),
    )


def detect_authorization_expired(event: Event, detected_at: datetime) -> Finding | None:
    """An authorisation lapsed before it was captured: the held funds are released."""
    if event.type != AUTHORIZATION_EXPIRED_TYPE:
        return None
    return _finding(
        event,
        AUTHORIZATION_EXPIRED,
        _entity(event, "payment", "charge"),
        detected_at=detected_at,
        summary=f"authorisation of {_money(event)} expired before capture",
        tier=default_tier(AUTHORIZATION_EXPIRED),
    )


def detect_payout_failed(event: Event, detected_at: datetime) -> Finding | None:
    """A payout to the merchant's bank account failed; the reason code says why."""
    if event.type != PAYOUT_FAILED_TYPE:
        return None
    detail: dict[str, object] = {}
    if event.reason_message is not None:
        detail["reason_message"] = event.reason_message
    return _finding(
        event,
        PAYOUT_FAILED,
        _entity(event, "payout"),
        detected_at=detected_at,
        summary=f"payout of {_money(event)} failed ({_code(event)})",
        tier=default_tier(PAYOUT_FAILED),
        detail=detail,
    )


def blocked_status(status: str | None) -> str | None:
    """``"blocked"`` or ``"on hold"`` when a source's status word means the payment is held."""
    if status is None:
        return None
    key = status.strip().lower().replace("-", "_").replace(" ", "_")
    return BLOCKED_STATUSES.get(key)


def detect_blocked_payment(event: Event, detected_at: datetime) -> Finding | None:
    """An invoice or supplier payment whose status is blocked or on hold: someone with the
    right to release it must decide."""
    if not (event.type.startswith("invoice.") or event.type == SUPPLIER_PAYMENT_TYPE):
        return None
    held = blocked_status(event.status)
    if held is None:
        return None
    what = "supplier payment" if event.type == SUPPLIER_PAYMENT_TYPE else "invoice payment"
    because = f" ({event.reason_code})" if event.reason_code else ""
    return _finding(
        event,
        BLOCKED_PAYMENT,
        _entity(event, "invoice", "supplier"),
        detected_at=detected_at,
        summary=f"{what} of {_money(event)} is {held}{because}",
        tier=default_tier(BLOCKED_PAYMENT),
        detail={"status": event.status},
    )


def blocked_payment_types() -> frozenset[str]:
    """Every canonical ``invoice.*`` type, and the supplier payment."""
    invoice_types = {name for name in EVENT_TYPES if name.startswith("invoice.")}
    return frozenset({*invoice_types, SUPPLIER_PAYMENT_TYPE})


CAPTURE_FAILED_RULE: RuleSpec = (frozenset({CAPTURE_FAILED_TYPE}), detect_capture_failed)
"""Written and tested, not yet run by ``Detectors``: enabling it changes what
``tests/integration/connectors/test_adyen.py`` expects of an Adyen CAPTURE_FAILED item."""


def rules() -> list[RuleSpec]:
    return [
        CAPTURE_FAILED_RULE,
        (frozenset({AUTHORIZATION_EXPIRED_TYPE}), detect_authorization_expired),
        (frozenset({PAYOUT_FAILED_TYPE}), detect_payout_failed),
        (blocked_payment_types(), detect_blocked_payment),
    ]
