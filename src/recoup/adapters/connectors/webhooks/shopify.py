"""Shopify webhooks (Admin REST payloads, API 2024-10) to canonical events.

Shopify names the event in a header, ``X-Shopify-Topic``, not in the body. A live delivery
passes its headers (``headers=``) or the topic (``topic=``); a saved body is either a hookdeck
capture (``{headers, body, topic}``), a ``{"topic": ..., "body": ...}`` line, or a plain body
read with a topic given to the format (``shopify_format(topic="orders/paid")``).

Numbers are decoded exactly (never through float) and every id is kept as text. When an object
carries its GraphQL id (``admin_graphql_api_id``, ``gid://shopify/Order/820982911946154508``),
that string is the id used: it cannot have been rounded by a JavaScript hop on the way, where
the numeric ``id`` can (``attributes.id_from_gid`` says when they disagreed).

==========================================  ===============================================
Shopify topic                               canonical type (reason code)
==========================================  ===============================================
orders/create, paid, updated                order.created, order.paid, order.updated
orders/cancelled                            order.cancelled (``shopify:<cancel_reason>``)
orders/fulfilled, partially_fulfilled       order.fulfilled, order.partially_fulfilled
orders/edited                               order.updated
refunds/create                              one refund event per refund transaction:
                                            refund.succeeded / refund.failed
                                            (``shopify:<error_code>``) / refund.created; no
                                            transaction: refund.created
order_transactions/create                   by kind and status: payment.authorized,
                                            payment.succeeded (sale), payment.captured,
                                            payment.failed / payment.capture_failed
                                            (``shopify:<error_code>``), payment.canceled
                                            (void), payment.pending, refund.*
tender_transactions/create                  payment.succeeded; a negative amount is
                                            refund.succeeded
disputes/create                             dispute.opened, or dispute.inquiry_opened; reason
                                            ``mc:4837`` when the network reason code belongs
                                            to one network only, else ``shopify:<reason>``
disputes/update                             dispute.won / dispute.lost (also ``accepted``) /
                                            dispute.closed (``charge_refunded``) /
                                            dispute.updated
fulfillments/create, update                 fulfillment.created, fulfillment.updated
returns/request, approve, update, reopen    return.requested, .approved, .updated, .reopened
returns/close, decline, cancel              return.closed (``shopify:<decline reason>``)
subscription_billing_attempts/failure       subscription.payment_failed
subscription_billing_attempts/success       subscription.payment_succeeded
                                            (``shopify:<error_code>``)
subscription_billing_attempts/challenged    payment.pending
anything else                               Rejection ``unsupported_type`` (kept for replay)
==========================================  ===============================================

``external_id`` is the delivery's ``X-Shopify-Webhook-Id`` when known, else topic, object id and
``updated_at``. Events made from a transaction use ``transaction:<id>:<status>`` instead, so the
same refund transaction reported by ``refunds/create`` and by ``order_transactions/create`` is
one event. Amounts are the decimal strings Shopify sends, in the currency given beside them.

This module holds the dispatch table, the delivery (topic and headers) and the public API; the
handlers are in ``shopify_orders`` (orders, transactions, refunds), ``shopify_disputes``,
``shopify_fulfilments`` (fulfilments, returns) and ``shopify_subscriptions``, and what they
share in ``shopify_common``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from recoup.adapters.connectors.webhooks._common import (
    INVALID_PAYLOAD,
    Payload,
    Result,
    WebhookFormat,
    capture_body,
    map_body,
    parse_time,
    reject,
    text,
    unsupported,
)
from recoup.adapters.connectors.webhooks.shopify_common import (
    Fields,
    _Ctx,
)
from recoup.adapters.connectors.webhooks.shopify_disputes import _dispute
from recoup.adapters.connectors.webhooks.shopify_fulfilments import (
    _RETURN_TOPICS,
    _fulfillment,
    _return,
)
from recoup.adapters.connectors.webhooks.shopify_orders import (
    _ORDER_TOPICS,
    _order,
    _order_edited,
    _order_transaction,
    _refund,
    _tender,
)
from recoup.adapters.connectors.webhooks.shopify_subscriptions import (
    _BILLING_TOPICS,
    _billing_attempt,
)
from recoup.adapters.connectors.webhooks.signatures import header_value
from recoup.domain.ingestion.canonical import Rejection
from recoup.domain.ingestion.event import Event

DEFAULT_SOURCE = "shopify"
TOPIC_HEADER = "X-Shopify-Topic"
WEBHOOK_ID_HEADER = "X-Shopify-Webhook-Id"
TRIGGERED_AT_HEADER = "X-Shopify-Triggered-At"
SHOP_HEADER = "X-Shopify-Shop-Domain"


_Handler = Callable[[_Ctx, Fields], None]

HANDLERS: dict[str, _Handler] = {
    **dict.fromkeys(_ORDER_TOPICS, _order),
    "orders/edited": _order_edited,
    "refunds/create": _refund,
    "order_transactions/create": _order_transaction,
    "tender_transactions/create": _tender,
    "disputes/create": _dispute,
    "disputes/update": _dispute,
    "fulfillments/create": _fulfillment,
    "fulfillments/update": _fulfillment,
    **dict.fromkeys(_RETURN_TOPICS, _return),
    **dict.fromkeys(_BILLING_TOPICS, _billing_attempt),
}

TRACKED_TOPICS = frozenset(HANDLERS)


def _normal_topic(topic: str | None) -> str | None:
    """``orders/create``; the ``ORDERS_CREATE`` / ``orders.create`` spellings are accepted."""
    if not topic:
        return None
    value = topic.strip().lower()
    if "/" not in value:
        if "." in value:
            value = value.replace(".", "/", 1)
        elif "_" in value:
            head, _, tail = value.rpartition("_")
            # ORDERS_PARTIALLY_FULFILLED cannot be split by rule; try the known topics.
            for known in HANDLERS:
                if known.replace("/", "_") == value:
                    return known
            value = f"{head}/{tail}"
    return value


@dataclass(frozen=True, slots=True)
class _Delivery:
    body: Any
    raw: str
    topic: str | None
    webhook_id: str | None
    triggered_at: datetime | None
    shop: str | None


def _delivery(payload: Payload, topic: str | None, headers: Mapping[str, str] | None) -> _Delivery:
    document, raw = payload.data, payload.raw
    head: Mapping[str, str] = headers or {}
    if (
        isinstance(document, dict)
        and "body" in document
        and ("headers" in document or "topic" in document)
    ):
        wrapped = document.get("headers")
        head = {str(k): str(v) for k, v in wrapped.items()} if isinstance(wrapped, dict) else {}
        topic = text(document.get("topic")) or topic
        document, raw = capture_body(document["body"])
    return _Delivery(
        body=document,
        raw=raw,
        topic=_normal_topic(header_value(head, TOPIC_HEADER) or topic),
        webhook_id=text(header_value(head, WEBHOOK_ID_HEADER)),
        triggered_at=parse_time(header_value(head, TRIGGERED_AT_HEADER)),
        shop=text(header_value(head, SHOP_HEADER)),
    )


def _map(
    payload: Payload,
    received_at: datetime,
    label: str,
    source: str,
    topic: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> list[Result]:
    delivery = _delivery(payload, topic, headers)
    line, raw = payload.line, delivery.raw
    if delivery.topic is None:
        reason = "no topic: pass the X-Shopify-Topic header, or give the topic for saved bodies"
        return [reject(label, line, "missing_topic", reason, raw, field="topic")]
    if not isinstance(delivery.body, dict):
        return [reject(label, line, INVALID_PAYLOAD, "a Shopify payload is a JSON object", raw)]
    handler = HANDLERS.get(delivery.topic)
    if handler is None:
        return [unsupported(label, line, f"Shopify topic {delivery.topic!r}", raw, "topic")]
    ctx = _Ctx(
        topic=delivery.topic,
        raw=raw,
        label=label,
        line=line,
        source=source,
        received_at=received_at,
        webhook_id=delivery.webhook_id,
        triggered_at=delivery.triggered_at,
        shop=delivery.shop,
    )
    handler(ctx, delivery.body)
    if not ctx.results:
        return [reject(label, line, INVALID_PAYLOAD, "the payload carried nothing to map", raw)]
    return ctx.results


def events_from_payload(
    body: bytes,
    *,
    received_at: datetime,
    label: str,
    source: str = DEFAULT_SOURCE,
    topic: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> list[Event | Rejection]:
    """Map one Shopify delivery. ``headers`` (the request's) give the topic, the webhook id
    and the trigger time; ``topic`` names the topic when there are no headers. Never raises."""
    return map_body(body, received_at, label, source, partial(_map, topic=topic, headers=headers))


def shopify_format(topic: str | None = None) -> WebhookFormat:
    """The ``shopify-webhooks`` file format; ``topic`` applies to plain bodies without one."""
    return WebhookFormat(
        name="shopify-webhooks",
        description="Shopify webhook bodies (hookdeck captures, {topic, body} lines, or plain "
        "bodies with a topic)",
        default_source=DEFAULT_SOURCE,
        mapper=partial(_map, topic=topic),
        markers=(rb"(?i)x-shopify-topic", rb"gid://shopify/"),
    )


FORMAT = shopify_format()
FORMATS = (FORMAT,)

__all__ = [
    "DEFAULT_SOURCE",
    "FORMAT",
    "FORMATS",
    "HANDLERS",
    "TRACKED_TOPICS",
    "events_from_payload",
    "shopify_format",
]
