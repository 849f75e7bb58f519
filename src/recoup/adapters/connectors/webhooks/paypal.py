"""PayPal webhooks to canonical events.

A delivery is one event: ``{"id": "WH-...", "event_type": ..., "create_time": ...,
"resource_type": ..., "resource": {...}}``. PayPal's signature check needs PayPal's servers; see
:mod:`.signatures` for the relay (shared secret) and allow-list modes.

=======================================  ====================================================
PayPal event_type                        canonical type (reason code)
=======================================  ====================================================
PAYMENT.SALE.COMPLETED                   payment.succeeded
PAYMENT.SALE.REVERSED                    payment.reversed (``paypal:<reason_code>``)
PAYMENT.SALE.REFUNDED                    refund.succeeded
PAYMENT.CAPTURE.COMPLETED                payment.succeeded
PAYMENT.CAPTURE.PENDING                  payment.pending
PAYMENT.CAPTURE.DENIED                   payment.failed (``paypal:<status_details.reason>``,
                                         else ``paypal:DENIED``)
PAYMENT.CAPTURE.REVERSED                 payment.reversed
PAYMENT.CAPTURE.REFUNDED                 refund.succeeded
CUSTOMER.DISPUTE.CREATED                 dispute.opened, or dispute.inquiry_opened at the
                                         INQUIRY stage (``paypal:<reason>``, like
                                         ``paypal:MERCHANDISE_OR_SERVICE_NOT_RECEIVED``)
CUSTOMER.DISPUTE.UPDATED                 dispute.updated
CUSTOMER.DISPUTE.RESOLVED                dispute.won (RESOLVED_SELLER_FAVOUR, DENIED,
                                         RESOLVED_WITH_PAYOUT) / dispute.lost
                                         (RESOLVED_BUYER_FAVOUR, ACCEPTED) / dispute.closed
BILLING.SUBSCRIPTION.PAYMENT.FAILED      subscription.payment_failed
                                         (``paypal:<last_failed_payment.reason_code>``)
anything else                            Rejection ``unsupported_type`` (kept for replay)
=======================================  ====================================================

Amounts are decimal strings (``{"value", "currency_code"}`` in v2 resources, ``{"total",
"currency"}`` in v1); reversal and refund resources may carry them negative, so the sign is
dropped and ``direction`` says which way the money went. ``external_id`` is the PayPal event id
and ``occurred_at`` its ``create_time``. refs: payment = sale or capture id (for a dispute, the
seller transaction id: PayPal's capture id), refund, dispute, invoice = ``invoice_id`` /
``invoice_number``, order = the PayPal order id, subscription, customer = payer id.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from recoup.adapters.connectors.webhooks._common import (
    INVALID_PAYLOAD,
    Payload,
    Result,
    WebhookFormat,
    build,
    decimal,
    id_text,
    iso,
    items,
    map_body,
    namespaced,
    obj,
    parse_time,
    reject,
    text,
    unsupported,
    unwrap_capture,
)
from recoup.domain.ingestion.canonical import Rejection
from recoup.domain.ingestion.event import Event

DEFAULT_SOURCE = "paypal"

Fields = dict[str, Any]

_WON = {"RESOLVED_SELLER_FAVOUR", "RESOLVED_SELLER_FAVOR", "DENIED", "RESOLVED_WITH_PAYOUT"}
_LOST = {"RESOLVED_BUYER_FAVOUR", "RESOLVED_BUYER_FAVOR", "ACCEPTED"}


def _money(value: Any) -> Fields:
    """``{"value", "currency_code"}`` or ``{"total", "currency"}``, sign dropped."""
    money = obj(value)
    amount = decimal(money.get("value", money.get("total")))
    currency = text(money.get("currency_code")) or text(money.get("currency"))
    if amount is None:
        return {}
    return {
        "amount": abs(amount),
        "currency": currency.upper() if currency else None,
        "attributes": {"amount_negative": True} if amount < 0 else {},
    }


def _link(resource: Fields, rel: str) -> str | None:
    """The id at the end of the resource's link ``rel`` (``up`` of a refund: its capture)."""
    for link in items(resource.get("links")):
        link = obj(link)
        if text(link.get("rel")) == rel:
            href = text(link.get("href"))
            if href:
                return href.rstrip("/").rsplit("/", 1)[-1] or None
    return None


def _humanise(code: str | None) -> str | None:
    return code.replace("_", " ").lower().capitalize() if code else None


def _sale(event_type: str, resource: Fields) -> Fields:
    if event_type == "PAYMENT.SALE.COMPLETED":
        return {
            "type": "payment.succeeded",
            "direction": "credit",
            "refs": {
                "payment": id_text(resource.get("id")),
                "invoice": text(resource.get("invoice_number")),
                "subscription": text(resource.get("billing_agreement_id")),
            },
            "attributes": {"parent_payment": text(resource.get("parent_payment"))},
        }
    if event_type == "PAYMENT.SALE.REFUNDED":
        return {
            "type": "refund.succeeded",
            "direction": "debit",
            "refs": {
                "refund": id_text(resource.get("id")),
                "payment": id_text(resource.get("sale_id")),
                "invoice": text(resource.get("invoice_number")),
            },
            "attributes": {"parent_payment": text(resource.get("parent_payment"))},
        }
    # PAYMENT.SALE.REVERSED
    reason = text(resource.get("reason_code"))
    return {
        "type": "payment.reversed",
        "direction": "debit",
        "reason_code": namespaced("paypal", reason),
        "reason_message": _humanise(reason),
        "refs": {
            "payment": id_text(resource.get("sale_id")) or id_text(resource.get("id")),
            "invoice": text(resource.get("invoice_number")),
        },
        "attributes": {
            "reversal": id_text(resource.get("id")),
            "parent_payment": text(resource.get("parent_payment")),
        },
    }


def _capture(event_type: str, resource: Fields) -> Fields:
    related = obj(obj(resource.get("supplementary_data")).get("related_ids"))
    details = obj(resource.get("status_details"))
    reason = text(details.get("reason"))
    refs = {
        "payment": id_text(resource.get("id")),
        "order": text(related.get("order_id")),
        "invoice": text(resource.get("invoice_id")),
    }
    attributes = {
        "custom_id": text(resource.get("custom_id")),
        "status_reason": reason,
        "final_capture": resource.get("final_capture"),
    }
    if event_type == "PAYMENT.CAPTURE.COMPLETED":
        return {
            "type": "payment.succeeded",
            "direction": "credit",
            "refs": refs,
            "attributes": attributes,
        }
    if event_type == "PAYMENT.CAPTURE.PENDING":
        return {"type": "payment.pending", "refs": refs, "attributes": attributes}
    if event_type == "PAYMENT.CAPTURE.DENIED":
        code = reason or text(resource.get("status")) or "DENIED"
        return {
            "type": "payment.failed",
            "reason_code": namespaced("paypal", code),
            "reason_message": _humanise(code),
            "refs": refs,
            "attributes": attributes,
        }
    # REVERSED and REFUNDED carry a refund resource whose "up" link is the capture.
    capture = _link(resource, "up")
    refs = {"payment": capture, "invoice": text(resource.get("invoice_id"))}
    if event_type == "PAYMENT.CAPTURE.REFUNDED":
        refs["refund"] = id_text(resource.get("id"))
        return {
            "type": "refund.succeeded",
            "direction": "debit",
            "refs": refs,
            "attributes": {"custom_id": text(resource.get("custom_id"))},
        }
    reason = text(resource.get("reason_code")) or reason
    return {
        "type": "payment.reversed",
        "direction": "debit",
        "reason_code": namespaced("paypal", reason),
        "reason_message": text(resource.get("note_to_payer")) or _humanise(reason),
        "refs": refs,
        "attributes": {"reversal": id_text(resource.get("id"))},
    }


def _dispute(event_type: str, resource: Fields) -> Fields:
    stage = (text(resource.get("dispute_life_cycle_stage")) or "").upper()
    reason = text(resource.get("reason"))
    status = text(resource.get("status"))
    outcome = obj(resource.get("dispute_outcome"))
    outcome_code = (text(outcome.get("outcome_code")) or "").upper()
    direction: str | None = None
    if event_type == "CUSTOMER.DISPUTE.CREATED":
        inquiry = stage == "INQUIRY"
        type_ = "dispute.inquiry_opened" if inquiry else "dispute.opened"
        direction = None if inquiry else "debit"
    elif event_type == "CUSTOMER.DISPUTE.RESOLVED":
        if outcome_code in _WON:
            type_ = "dispute.won"
        elif outcome_code in _LOST:
            type_ = "dispute.lost"
        else:
            type_ = "dispute.closed"
    else:
        type_ = "dispute.updated"
    transactions = [obj(t) for t in items(resource.get("disputed_transactions"))]
    first = transactions[0] if transactions else {}
    return {
        "type": type_,
        "direction": direction,
        "status": status,
        "reason_code": namespaced("paypal", reason),
        "reason_message": _humanise(reason),
        "refs": {
            "dispute": text(resource.get("dispute_id")),
            "payment": id_text(first.get("seller_transaction_id")),
            "invoice": text(first.get("invoice_number")),
        },
        "money": _money(resource.get("dispute_amount")),
        "attributes": {
            "dispute_stage": stage or None,
            "dispute_channel": text(resource.get("dispute_channel")),
            "network_reason_code": text(resource.get("external_reason_code")),
            "outcome": outcome_code or None,
            "amount_refunded": text(obj(outcome.get("amount_refunded")).get("value")),
            "evidence_due_by": iso(parse_time(resource.get("seller_response_due_date"))),
            "buyer_transaction": id_text(first.get("buyer_transaction_id")),
            "disputed_transactions": len(transactions) or None,
        },
    }


def _subscription_failed(event_type: str, resource: Fields) -> Fields:
    billing = obj(resource.get("billing_info"))
    failed = obj(billing.get("last_failed_payment"))
    reason = text(failed.get("reason_code"))
    money = _money(failed.get("amount")) or _money(billing.get("outstanding_balance"))
    return {
        "type": "subscription.payment_failed",
        "status": text(resource.get("status")),
        "reason_code": namespaced("paypal", reason),
        "reason_message": _humanise(reason),
        "refs": {
            "subscription": text(resource.get("id")),
            "customer": text(obj(resource.get("subscriber")).get("payer_id")),
        },
        "money": money,
        "attributes": {
            "plan_id": text(resource.get("plan_id")),
            "custom_id": text(resource.get("custom_id")),
            "failed_payments_count": billing.get("failed_payments_count"),
            "next_billing_time": iso(parse_time(billing.get("next_billing_time"))),
        },
    }


_Handler = Callable[[str, Fields], Fields]

HANDLERS: dict[str, _Handler] = {
    "PAYMENT.SALE.COMPLETED": _sale,
    "PAYMENT.SALE.REVERSED": _sale,
    "PAYMENT.SALE.REFUNDED": _sale,
    "PAYMENT.CAPTURE.COMPLETED": _capture,
    "PAYMENT.CAPTURE.PENDING": _capture,
    "PAYMENT.CAPTURE.DENIED": _capture,
    "PAYMENT.CAPTURE.REVERSED": _capture,
    "PAYMENT.CAPTURE.REFUNDED": _capture,
    "CUSTOMER.DISPUTE.CREATED": _dispute,
    "CUSTOMER.DISPUTE.UPDATED": _dispute,
    "CUSTOMER.DISPUTE.RESOLVED": _dispute,
    "BILLING.SUBSCRIPTION.PAYMENT.FAILED": _subscription_failed,
}

TRACKED_TYPES = frozenset(HANDLERS)


def _map(payload: Payload, received_at: datetime, label: str, source: str) -> list[Result]:
    document, raw = unwrap_capture(payload.data, payload.raw)
    line = payload.line
    if not isinstance(document, dict):
        return [reject(label, line, INVALID_PAYLOAD, "a PayPal event is a JSON object", raw)]
    event_type = (text(document.get("event_type")) or "").upper()
    event_id = text(document.get("id"))
    if not event_type:
        reason = "no event_type"
        return [reject(label, line, "invalid_field", reason, raw, field="event_type")]
    if not event_id:
        return [reject(label, line, "invalid_field", "the event has no id", raw, field="id")]
    handler = HANDLERS.get(event_type)
    if handler is None:
        return [unsupported(label, line, f"PayPal event {event_type!r}", raw, "event_type")]
    resource = obj(document.get("resource"))
    occurred_at = parse_time(document.get("create_time")) or parse_time(
        resource.get("update_time") or resource.get("create_time")
    )
    if occurred_at is None:
        reason = "create_time must be a date-time with a time zone"
        return [reject(label, line, "invalid_field", reason, raw, field="create_time")]
    mapped = handler(event_type, resource)
    money = mapped.pop("money", None)
    if money is None:
        money = _money(resource.get("amount"))
    attributes = {
        "paypal_event": event_type,
        "resource_type": text(document.get("resource_type")),
        "summary": text(document.get("summary")),
        "resource_status": text(resource.get("status")) or text(resource.get("state")),
        **money.pop("attributes", {}),
        **mapped.pop("attributes", {}),
    }
    fields: Fields = {
        "source": source,
        "external_id": event_id,
        "occurred_at": occurred_at,
        **money,
        **mapped,
        "attributes": attributes,
    }
    fields.setdefault("status", text(resource.get("status")) or text(resource.get("state")))
    return [build(fields, received_at=received_at, raw=raw, label=label, line=line)]


def events_from_payload(
    body: bytes, *, received_at: datetime, label: str, source: str = DEFAULT_SOURCE
) -> list[Event | Rejection]:
    """Map one PayPal delivery (or saved bodies, one per line). Never raises."""
    return map_body(body, received_at, label, source, _map)


FORMAT = WebhookFormat(
    name="paypal-webhooks",
    description="PayPal webhook events (one per file, or JSON Lines)",
    default_source=DEFAULT_SOURCE,
    mapper=_map,
    markers=(rb'"event_type"\s*:\s*"[A-Z_]+\.[A-Z_.]+"', rb'"id"\s*:\s*"WH-'),
)

FORMATS = (FORMAT,)

__all__ = [
    "DEFAULT_SOURCE",
    "FORMAT",
    "FORMATS",
    "HANDLERS",
    "TRACKED_TYPES",
    "events_from_payload",
]
