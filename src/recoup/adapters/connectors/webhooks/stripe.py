"""Stripe webhook events to canonical events.

A delivery is one Stripe ``Event`` (``{"id": "evt_...", "type": ..., "created": ...,
"data": {"object": ...}}``). Saved bodies may also be a hookdeck capture (``{headers, body,
topic}``) or a bare ``data`` envelope (``{"object": ...}``) when the event type is given
(``event_type=``). ``external_id`` is the Stripe event id and ``occurred_at`` its ``created``
time, except for refunds (below). Amounts are minor units, converted once with the currency's
exponent (``amount_minor``).

============================================  ==============================================
Stripe event                                  canonical type (reason code)
============================================  ==============================================
charge.succeeded                              payment.succeeded; payment.authorized when not
                                              captured
charge.captured                               payment.captured
charge.failed                                 payment.failed (``stripe:<decline code>`` from
                                              ``outcome.reason``, else ``failure_code``)
charge.pending / charge.expired               payment.pending / payment.authorization_expired
payment_intent.succeeded                      payment.succeeded
payment_intent.payment_failed                 payment.failed (``stripe:<decline_code>``, else
                                              ``last_payment_error.code``)
payment_intent.canceled                       payment.canceled (``stripe:<cancellation_reason>``)
payment_intent.amount_capturable_updated      payment.authorized
payment_intent.processing / requires_action   payment.pending
invoice.created / finalized / paid            invoice.created / finalized / paid
invoice.payment_succeeded                     invoice.paid
invoice.payment_failed                        invoice.payment_failed
invoice.voided / marked_uncollectible         invoice.voided / marked_uncollectible
invoice.payment_action_required               payment.pending
charge.dispute.created                        dispute.opened, or dispute.inquiry_opened for an
                                              inquiry (``warning_*`` status); reason
                                              ``visa:10.4`` / ``mc:4837`` from the card's
                                              network reason code, else ``stripe:<reason>``
charge.dispute.updated                        dispute.updated
charge.dispute.funds_withdrawn / reinstated   dispute.funds_withdrawn / funds_reinstated
charge.dispute.closed                         dispute.won / dispute.lost by status, else
                                              dispute.closed
radar.early_fraud_warning.created             dispute.early_fraud_warning (``stripe:<type>``)
charge.refunded                               one refund event per refund object listed
charge.refund.updated, refund.*               refund.created / succeeded / failed by status
                                              (``stripe:<failure_reason>``)
payout.created / paid / failed / canceled     payout.* (``stripe:<failure_code>``)
anything else                                 Rejection ``unsupported_type`` (kept for replay)
============================================  ==============================================

Refunds are about a refund object, not one event: the same refund is listed by every later
``charge.refunded`` of its charge, then reported by ``charge.refund.updated`` or ``refund.*``.
Each refund event therefore carries its own amount (never the charge's running
``amount_refunded``) and the idempotency key ``<refund id>:<status>``, so a refund seen in
several deliveries is one event per status. ``attributes.partial`` is true when the refund is
less than the charge. A ``charge.refunded`` without its refund list (newer API versions do not
include it) becomes one event with the cumulative ``amount_refunded`` and
``attributes.cumulative = true``.

refs: payment = PaymentIntent id, charge = ``ch_``/``py_`` id, invoice, customer, dispute,
refund, payout, subscription, order = ``metadata.order_id``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from recoup.adapters.connectors.webhooks._common import (
    INVALID_PAYLOAD,
    Payload,
    PayloadContext,
    Result,
    WebhookFormat,
    humanise,
    id_text,
    integer,
    iso,
    items,
    map_body,
    namespaced,
    network_name,
    obj,
    parse_time,
    reject,
    text,
    unsupported,
    unwrap_capture,
)
from recoup.domain.ingestion.canonical import Rejection
from recoup.domain.ingestion.event import Event
from recoup.domain.reference.chargebacks import chargeback_reason, network_namespace

DEFAULT_SOURCE = "stripe"

Fields = dict[str, Any]


@dataclass(kw_only=True)
class _Ctx(PayloadContext):
    """One Stripe event being mapped."""

    event_id: str
    event_type: str
    occurred_at: datetime
    account: str | None = None
    livemode: bool | None = None

    def base(self, type_: str, *, external_id: str | None = None) -> Fields:
        return {
            "source": self.source,
            "external_id": external_id or self.event_id,
            "type": type_,
            "occurred_at": self.occurred_at,
            "attributes": {
                "stripe_event": self.event_type,
                "stripe_event_id": self.event_id if external_id else None,
                "account": self.account,
                "livemode": self.livemode,
            },
        }


class _BadAmount(Exception):
    def __init__(self, field_: str, value: Any) -> None:
        super().__init__(f"{field_} must be an integer amount in minor units, got {value!r}")
        self.field = field_


def _ref(value: Any) -> str | None:
    """An id given as a string, or as the ``id`` of an expanded object."""
    if isinstance(value, dict):
        value = value.get("id")
    return text(value)


def _money(o: Fields, key: str = "amount", *, where: str = "data.object") -> Fields:
    """``amount_minor`` and ``currency`` from a Stripe object; absent when the object has
    none. A non-integer amount (a decimal string) is an error, never guessed at."""
    value = o.get(key)
    if value is None:
        return {}
    amount = integer(value)
    if amount is None:
        raise _BadAmount(f"{where}.{key}", value)
    currency = text(o.get("currency"))
    return {"amount_minor": amount, "currency": currency.upper() if currency else None}


def _order(o: Fields) -> str | None:
    return id_text(obj(o.get("metadata")).get("order_id"))


def _card(o: Fields) -> Fields:
    return obj(obj(o.get("payment_method_details")).get("card"))


def _network(card: Fields) -> str | None:
    return network_name(card.get("network")) or network_name(card.get("brand"))


# -- charges and payment intents ------------------------------------------------------------------


def _decline_attributes(
    network: str | None, source: Fields, outcome: Fields | None = None
) -> Fields:
    outcome = outcome or {}
    network_advice = text(outcome.get("network_advice_code")) or text(
        source.get("network_advice_code")
    )
    attributes: Fields = {
        "network": network,
        "network_status": text(outcome.get("network_status")),
        "outcome_type": text(outcome.get("type")),
        "risk_level": text(outcome.get("risk_level")),
        "advice_code": text(outcome.get("advice_code")) or text(source.get("advice_code")),
        "network_advice_code": network_advice,
        "network_decline_code": text(outcome.get("network_decline_code"))
        or text(source.get("network_decline_code")),
    }
    if network == "mastercard" and network_advice:
        attributes["merchant_advice_code"] = network_advice
    return attributes


def _charge(ctx: _Ctx, charge: Fields) -> None:
    etype = ctx.event_type
    captured = charge.get("captured")
    refs = {
        "payment": _ref(charge.get("payment_intent")),
        "charge": _ref(charge.get("id")),
        "invoice": _ref(charge.get("invoice")),
        "customer": _ref(charge.get("customer")),
        "order": _order(charge),
    }
    network = _network(_card(charge))
    status = text(charge.get("status"))
    if etype == "charge.succeeded":
        if captured is False:
            fields = ctx.base("payment.authorized") | _money(charge)
        else:
            key = "amount_captured" if integer(charge.get("amount_captured")) else "amount"
            fields = ctx.base("payment.succeeded") | _money(charge, key)
            fields["direction"] = "credit"
    elif etype == "charge.captured":
        key = "amount_captured" if integer(charge.get("amount_captured")) else "amount"
        fields = ctx.base("payment.captured") | _money(charge, key) | {"direction": "credit"}
    elif etype == "charge.pending":
        fields = ctx.base("payment.pending") | _money(charge)
    elif etype == "charge.expired":
        fields = ctx.base("payment.authorization_expired") | _money(charge)
    else:  # charge.failed
        outcome = obj(charge.get("outcome"))
        code = text(outcome.get("reason")) or text(charge.get("failure_code"))
        fields = ctx.base("payment.failed") | _money(charge)
        fields["reason_code"] = namespaced("stripe", code)
        fields["reason_message"] = text(charge.get("failure_message")) or text(
            outcome.get("seller_message")
        )
        fields["attributes"] |= _decline_attributes(network, {}, outcome) | {
            "failure_code": text(charge.get("failure_code"))
        }
    fields["refs"] = refs
    fields["status"] = status
    fields["attributes"].setdefault("network", network)
    ctx.emit(fields)


def _payment_intent(ctx: _Ctx, intent: Fields) -> None:
    etype = ctx.event_type
    refs = {
        "payment": _ref(intent.get("id")),
        "charge": _ref(intent.get("latest_charge")),
        "invoice": _ref(intent.get("invoice")),
        "customer": _ref(intent.get("customer")),
        "order": _order(intent),
    }
    if etype == "payment_intent.succeeded":
        key = "amount_received" if integer(intent.get("amount_received")) else "amount"
        fields = ctx.base("payment.succeeded") | _money(intent, key) | {"direction": "credit"}
    elif etype == "payment_intent.payment_failed":
        error = obj(intent.get("last_payment_error"))
        method = obj(error.get("payment_method"))
        network = _network(obj(method.get("card")))
        code = text(error.get("decline_code")) or text(error.get("code"))
        fields = ctx.base("payment.failed") | _money(intent)
        fields["reason_code"] = namespaced("stripe", code)
        fields["reason_message"] = text(error.get("message"))
        fields["attributes"] |= _decline_attributes(network, error) | {
            "error_code": text(error.get("code")),
            "error_type": text(error.get("type")),
        }
        refs["charge"] = _ref(error.get("charge")) or refs["charge"]
    elif etype == "payment_intent.canceled":
        fields = ctx.base("payment.canceled") | _money(intent)
        fields["reason_code"] = namespaced("stripe", text(intent.get("cancellation_reason")))
    elif etype == "payment_intent.amount_capturable_updated":
        fields = ctx.base("payment.authorized") | _money(intent, "amount_capturable")
    else:  # processing, requires_action, partially_funded
        fields = ctx.base("payment.pending") | _money(intent)
    fields["refs"] = refs
    fields["status"] = text(intent.get("status"))
    ctx.emit(fields)


# -- invoices -------------------------------------------------------------------------------------

_INVOICE = {
    "invoice.created": ("invoice.created", "amount_due"),
    "invoice.finalized": ("invoice.finalized", "amount_due"),
    "invoice.paid": ("invoice.paid", "amount_paid"),
    "invoice.payment_succeeded": ("invoice.paid", "amount_paid"),
    "invoice.payment_failed": ("invoice.payment_failed", "amount_due"),
    "invoice.voided": ("invoice.voided", "amount_due"),
    "invoice.marked_uncollectible": ("invoice.marked_uncollectible", "amount_remaining"),
    "invoice.payment_action_required": ("payment.pending", "amount_due"),
}


def _invoice(ctx: _Ctx, invoice: Fields) -> None:
    type_, amount_key = _INVOICE[ctx.event_type]
    subscription = _ref(invoice.get("subscription")) or _ref(
        obj(obj(invoice.get("parent")).get("subscription_details")).get("subscription")
    )
    intent = invoice.get("payment_intent")
    fields = ctx.base(type_) | _money(invoice, amount_key)
    fields["refs"] = {
        "invoice": _ref(invoice.get("id")),
        "customer": _ref(invoice.get("customer")),
        "subscription": subscription,
        "charge": _ref(invoice.get("charge")),
        "payment": _ref(intent),
        "order": _order(invoice),
    }
    fields["status"] = text(invoice.get("status"))
    fields["attributes"] |= {
        "billing_reason": text(invoice.get("billing_reason")),
        "attempt_count": integer(invoice.get("attempt_count")),
        "next_payment_attempt": iso(parse_time(invoice.get("next_payment_attempt"))),
        "invoice_number": text(invoice.get("number")),
    }
    if type_ == "invoice.payment_failed":
        # The decline is on the charge (charge.failed); an expanded PaymentIntent carries it.
        error = obj(obj(intent).get("last_payment_error"))
        code = text(error.get("decline_code")) or text(error.get("code"))
        fields["reason_code"] = namespaced("stripe", code)
        fields["reason_message"] = text(error.get("message"))
    if type_ in ("invoice.paid",):
        fields["direction"] = "credit"
    ctx.emit(fields)


# -- disputes and early fraud warnings ------------------------------------------------------------


def _dispute_reason(dispute: Fields) -> tuple[str | None, str | None, Fields]:
    card = _card(dispute)
    network = _network(card)
    network_code = text(card.get("network_reason_code")) or text(dispute.get("network_reason_code"))
    stripe_reason = text(dispute.get("reason"))
    namespace = network_namespace(network)
    info = chargeback_reason(namespace, network_code)
    if namespace and network_code:
        reason_code = namespaced(namespace, network_code)
    else:
        reason_code = namespaced("stripe", stripe_reason)
    message = info.description if info else humanise(stripe_reason)
    attributes = {
        "network": network,
        "network_reason_code": network_code,
        "stripe_reason": stripe_reason,
        "reason_category": info.category if info else None,
        "case_type": text(card.get("case_type")),
    }
    return reason_code, message, attributes


def _dispute(ctx: _Ctx, dispute: Fields) -> None:
    etype = ctx.event_type
    status = text(dispute.get("status")) or ""
    inquiry = status.startswith("warning") or text(_card(dispute).get("case_type")) == "inquiry"
    direction: str | None = None
    if etype == "charge.dispute.created":
        type_ = "dispute.inquiry_opened" if inquiry else "dispute.opened"
        direction = None if inquiry else "debit"
    elif etype == "charge.dispute.funds_withdrawn":
        type_, direction = "dispute.funds_withdrawn", "debit"
    elif etype == "charge.dispute.funds_reinstated":
        type_, direction = "dispute.funds_reinstated", "credit"
    elif etype == "charge.dispute.closed":
        type_ = {"won": "dispute.won", "lost": "dispute.lost"}.get(status, "dispute.closed")
    else:  # charge.dispute.updated
        type_ = "dispute.updated"
    reason_code, message, attributes = _dispute_reason(dispute)
    evidence = obj(dispute.get("evidence_details"))
    fields = ctx.base(type_) | _money(dispute)
    fields["refs"] = {
        "dispute": _ref(dispute.get("id")),
        "charge": _ref(dispute.get("charge")),
        "payment": _ref(dispute.get("payment_intent"))
        or _ref(obj(dispute.get("charge")).get("payment_intent")),
        "order": _order(dispute),
    }
    fields |= {
        "direction": direction,
        "status": status or None,
        "reason_code": reason_code,
        "reason_message": message,
    }
    fields["attributes"] |= attributes | {
        "evidence_due_by": iso(parse_time(evidence.get("due_by"))),
        "has_evidence": evidence.get("has_evidence"),
        "is_charge_refundable": dispute.get("is_charge_refundable"),
    }
    ctx.emit(fields)


def _early_fraud_warning(ctx: _Ctx, warning: Fields) -> None:
    fraud_type = text(warning.get("fraud_type"))
    fields = ctx.base("dispute.early_fraud_warning")
    fields["refs"] = {
        "charge": _ref(warning.get("charge")),
        "payment": _ref(warning.get("payment_intent")),
    }
    fields |= {
        "reason_code": namespaced("stripe", fraud_type),
        "reason_message": humanise(fraud_type),
    }
    fields["attributes"] |= {
        "actionable": warning.get("actionable"),
        "early_fraud_warning": _ref(warning.get("id")),
    }
    ctx.emit(fields)


# -- refunds --------------------------------------------------------------------------------------

_REFUND_TYPE = {
    "succeeded": "refund.succeeded",
    "failed": "refund.failed",
    "canceled": "refund.failed",
    "pending": "refund.created",
    "requires_action": "refund.created",
}


def _refund(ctx: _Ctx, refund: Fields, charge: Fields | None, index: int | None) -> None:
    status = text(refund.get("status"))
    refund_id = _ref(refund.get("id"))
    if ctx.event_type == "refund.failed":
        type_ = "refund.failed"
    else:
        type_ = _REFUND_TYPE.get(status or "", "refund.created")
    if refund_id:
        external_id = f"{refund_id}:{status or 'unknown'}"
    else:
        external_id = f"{ctx.event_id}:refund:{index or 0}"
    charge = charge or {}
    fields = ctx.base(type_, external_id=external_id)
    money = _money(refund, where="refund" if index is None else f"refunds.data[{index}]")
    if money and not money.get("currency") and text(charge.get("currency")):
        money["currency"] = str(charge["currency"]).upper()
    fields |= money
    fields["direction"] = "debit"
    fields["status"] = status
    fields["refs"] = {
        "refund": refund_id,
        "charge": _ref(refund.get("charge")) or _ref(charge.get("id")),
        "payment": _ref(refund.get("payment_intent")) or _ref(charge.get("payment_intent")),
        "customer": _ref(charge.get("customer")),
        "invoice": _ref(charge.get("invoice")),
        "order": _order(refund) or _order(charge),
    }
    if type_ == "refund.failed":
        failure = text(refund.get("failure_reason")) or (
            "canceled" if status == "canceled" else None
        )
        fields["reason_code"] = namespaced("stripe", failure)
        fields["reason_message"] = humanise(failure)
    refund_amount = integer(refund.get("amount"))
    charge_amount = integer(charge.get("amount"))
    refunded = integer(charge.get("amount_refunded"))
    partial: bool | None = None
    if refund_amount is not None and charge_amount is not None:
        partial = refund_amount < charge_amount
    fields["attributes"] |= {
        "partial": partial,
        "charge_amount_minor": charge_amount,
        "charge_amount_refunded_minor": refunded,
        "refund_reason": text(refund.get("reason")),
    }
    ctx.emit(fields, element=None if index is None else f"refunds.data[{index}]")


def _charge_refunded(ctx: _Ctx, charge: Fields) -> None:
    refunds = [r for r in items(obj(charge.get("refunds")).get("data")) if isinstance(r, dict)]
    if refunds:
        for index, refund in enumerate(refunds):
            try:
                _refund(ctx, refund, charge, index)
            except _BadAmount as exc:
                ctx.refuse("invalid_field", str(exc), exc.field)
        return
    # No refund objects: only the charge's running total is known.
    amount = integer(charge.get("amount"))
    refunded = integer(charge.get("amount_refunded"))
    fields = ctx.base("refund.succeeded") | _money(charge, "amount_refunded")
    fields["direction"] = "debit"
    fields["refs"] = {
        "charge": _ref(charge.get("id")),
        "payment": _ref(charge.get("payment_intent")),
        "customer": _ref(charge.get("customer")),
        "invoice": _ref(charge.get("invoice")),
        "order": _order(charge),
    }
    fields["attributes"] |= {
        "cumulative": True,
        "partial": None if amount is None or refunded is None else refunded < amount,
        "charge_amount_minor": amount,
    }
    ctx.emit(fields)


def _refund_event(ctx: _Ctx, refund: Fields) -> None:
    _refund(ctx, refund, None, None)


# -- payouts --------------------------------------------------------------------------------------


def _payout(ctx: _Ctx, payout: Fields) -> None:
    type_ = ctx.event_type  # payout.created / paid / failed / canceled: the same names
    fields = ctx.base(type_) | _money(payout)
    fields["direction"] = "credit"
    fields["status"] = text(payout.get("status"))
    fields["refs"] = {"payout": _ref(payout.get("id"))}
    if type_ == "payout.failed":
        code = text(payout.get("failure_code"))
        fields["reason_code"] = namespaced("stripe", code)
        fields["reason_message"] = text(payout.get("failure_message")) or humanise(code)
    fields["attributes"] |= {
        "arrival_date": iso(parse_time(payout.get("arrival_date"))),
        "method": text(payout.get("method")),
        "automatic": payout.get("automatic"),
    }
    ctx.emit(fields)


_Handler = Callable[[_Ctx, Fields], None]

HANDLERS: dict[str, _Handler] = {
    "charge.succeeded": _charge,
    "charge.captured": _charge,
    "charge.failed": _charge,
    "charge.pending": _charge,
    "charge.expired": _charge,
    "charge.refunded": _charge_refunded,
    "charge.refund.updated": _refund_event,
    "refund.created": _refund_event,
    "refund.updated": _refund_event,
    "refund.failed": _refund_event,
    "payment_intent.succeeded": _payment_intent,
    "payment_intent.payment_failed": _payment_intent,
    "payment_intent.canceled": _payment_intent,
    "payment_intent.amount_capturable_updated": _payment_intent,
    "payment_intent.processing": _payment_intent,
    "payment_intent.requires_action": _payment_intent,
    "payment_intent.partially_funded": _payment_intent,
    **dict.fromkeys(_INVOICE, _invoice),
    "charge.dispute.created": _dispute,
    "charge.dispute.updated": _dispute,
    "charge.dispute.funds_withdrawn": _dispute,
    "charge.dispute.funds_reinstated": _dispute,
    "charge.dispute.closed": _dispute,
    "radar.early_fraud_warning.created": _early_fraud_warning,
    "payout.created": _payout,
    "payout.paid": _payout,
    "payout.failed": _payout,
    "payout.canceled": _payout,
}

TRACKED_TYPES = frozenset(HANDLERS)


def _map(
    payload: Payload,
    received_at: datetime,
    label: str,
    source: str,
    event_type: str | None = None,
) -> list[Result]:
    document, raw = unwrap_capture(payload.data, payload.raw)
    line = payload.line
    if not isinstance(document, dict):
        return [reject(label, line, INVALID_PAYLOAD, "a Stripe event is a JSON object", raw)]
    data = obj(document.get("data"))
    if "object" in data and isinstance(data["object"], dict):
        stripe_object = data["object"]
        etype = text(document.get("type")) or event_type
        event_id = text(document.get("id"))
        created = document.get("created")
    elif event_type and isinstance(document.get("object"), dict):  # a bare data envelope
        stripe_object = document["object"]
        etype = event_type
        object_id = _ref(stripe_object.get("id")) or "unknown"
        event_id = text(document.get("id")) or f"{event_type}:{object_id}"
        created = document.get("created", stripe_object.get("created"))
    elif event_type and isinstance(document.get("object"), str):  # a bare API object
        stripe_object = document
        etype = event_type
        event_id = f"{event_type}:{_ref(document.get('id')) or 'unknown'}"
        created = document.get("created")
    else:
        reason = "not a Stripe event: no data.object (give event_type= for a bare object)"
        return [reject(label, line, INVALID_PAYLOAD, reason, raw, field="data.object")]
    if not etype:
        return [reject(label, line, "invalid_field", "the event has no type", raw, field="type")]
    handler = HANDLERS.get(etype)
    if handler is None:
        return [unsupported(label, line, f"Stripe event {etype!r}", raw)]
    if not event_id:
        return [reject(label, line, "invalid_field", "the event has no id", raw, field="id")]
    occurred_at = parse_time(created) if integer(created) is not None else None
    if occurred_at is None:
        reason = "created must be a unix time in seconds"
        return [reject(label, line, "invalid_field", reason, raw, field="created")]
    livemode = document.get("livemode")
    ctx = _Ctx(
        event_id=event_id,
        event_type=etype,
        occurred_at=occurred_at,
        raw=raw,
        label=label,
        line=line,
        source=source,
        received_at=received_at,
        account=text(document.get("account")),
        livemode=livemode if isinstance(livemode, bool) else None,
    )
    try:
        handler(ctx, stripe_object)
    except _BadAmount as exc:
        ctx.refuse("invalid_field", str(exc), exc.field)
    if not ctx.results:
        ctx.refuse(INVALID_PAYLOAD, f"Stripe event {etype!r} carried nothing to map")
    return ctx.results


def events_from_payload(
    body: bytes,
    *,
    received_at: datetime,
    label: str,
    source: str = DEFAULT_SOURCE,
    event_type: str | None = None,
) -> list[Event | Rejection]:
    """Map one Stripe delivery (or a saved body: JSON Lines of events, a hookdeck capture, a
    bare ``data`` envelope with ``event_type``). Never raises."""
    return map_body(body, received_at, label, source, partial(_map, event_type=event_type))


FORMAT = WebhookFormat(
    name="stripe-events",
    description="Stripe webhook events (one per file, JSON Lines, or hookdeck captures)",
    default_source=DEFAULT_SOURCE,
    mapper=_map,
    markers=(rb'"object"\s*:\s*"event"', rb'(?i)"stripe-signature"'),
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
