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

This module holds the dispatch table and the public API; the handlers are in ``stripe_payments``
(charges, payment intents, invoices), ``stripe_disputes`` (disputes, early fraud warnings) and
``stripe_refunds`` (refunds, payouts), and what they share in ``stripe_common``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial

from recoup.adapters.connectors.webhooks._common import (
    INVALID_PAYLOAD,
    Payload,
    Result,
    WebhookFormat,
    integer,
    map_body,
    obj,
    parse_time,
    reject,
    text,
    unsupported,
    unwrap_capture,
)
from recoup.adapters.connectors.webhooks.stripe_common import (
    Fields,
    _BadAmount,
    _Ctx,
    _ref,
)
from recoup.adapters.connectors.webhooks.stripe_disputes import _dispute, _early_fraud_warning
from recoup.adapters.connectors.webhooks.stripe_payments import (
    _INVOICE,
    _charge,
    _invoice,
    _payment_intent,
)
from recoup.adapters.connectors.webhooks.stripe_refunds import (
    _charge_refunded,
    _payout,
    _refund_event,
)
from recoup.domain.ingestion.canonical import Rejection
from recoup.domain.ingestion.event import Event

DEFAULT_SOURCE = "stripe"


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
