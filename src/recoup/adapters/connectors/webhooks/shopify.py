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
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from recoup.adapters.connectors.webhooks._common import (
    INVALID_PAYLOAD,
    Payload,
    PayloadContext,
    Result,
    WebhookFormat,
    capture_body,
    decimal,
    humanise,
    id_text,
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
)
from recoup.adapters.connectors.webhooks.signatures import header_value
from recoup.domain.ingestion.canonical import Rejection
from recoup.domain.ingestion.event import Event
from recoup.domain.reference.chargebacks import chargeback_reason, infer_network

DEFAULT_SOURCE = "shopify"
TOPIC_HEADER = "X-Shopify-Topic"
WEBHOOK_ID_HEADER = "X-Shopify-Webhook-Id"
TRIGGERED_AT_HEADER = "X-Shopify-Triggered-At"
SHOP_HEADER = "X-Shopify-Shop-Domain"

Fields = dict[str, Any]


@dataclass(kw_only=True)
class _Ctx(PayloadContext):
    """One Shopify payload being mapped."""

    topic: str
    webhook_id: str | None
    triggered_at: datetime | None
    shop: str | None

    def when(self, *candidates: Any) -> tuple[datetime, str | None]:
        """The first readable time among ``candidates``, else the delivery's trigger time,
        else when we received it (and which fallback was used)."""
        for candidate in candidates:
            parsed = parse_time(candidate)
            if parsed is not None:
                return parsed, None
        if self.triggered_at is not None:
            return self.triggered_at, "triggered_at"
        return self.received_at, "received_at"

    def base(
        self,
        type_: str,
        occurred: tuple[datetime, str | None],
        *,
        object_id: str | None,
        version: Any = None,
        external_id: str | None = None,
    ) -> Fields:
        occurred_at, fallback = occurred
        if external_id is None:
            if self.webhook_id:
                external_id = self.webhook_id
            else:
                stamp = text(version) or iso(occurred_at)
                external_id = f"{self.topic}:{object_id or 'unknown'}:{stamp}"
        return {
            "source": self.source,
            "external_id": external_id[:255],
            "type": type_,
            "occurred_at": occurred_at,
            "attributes": {
                "shopify_topic": self.topic,
                "shopify_webhook_id": self.webhook_id,
                "shop": self.shop,
                "occurred_at_source": fallback,
            },
        }


def _gid_tail(gid: Any) -> str | None:
    value = text(gid)
    if not value or not value.startswith("gid://"):
        return None
    tail = value.rsplit("/", 1)[-1].split("?", 1)[0]
    return tail or None


def _id(o: Fields, key: str = "id", gid_key: str = "admin_graphql_api_id") -> str | None:
    """An object's id, exactly: from its GraphQL id when it has one."""
    return _gid_tail(o.get(gid_key)) or id_text(o.get(key))


def _id_attributes(o: Fields) -> Fields:
    numeric, gid = id_text(o.get("id")), _gid_tail(o.get("admin_graphql_api_id"))
    return {"id_from_gid": True} if numeric and gid and numeric != gid else {}


def _money(amount: Any, currency: Any) -> Fields:
    value = decimal(amount)
    code = text(currency)
    if value is None:
        return {}
    return {"amount": value, "currency": code.upper() if code else None}


# -- orders ---------------------------------------------------------------------------------------

_ORDER_TOPICS = {
    "orders/create": "order.created",
    "orders/paid": "order.paid",
    "orders/updated": "order.updated",
    "orders/cancelled": "order.cancelled",
    "orders/fulfilled": "order.fulfilled",
    "orders/partially_fulfilled": "order.partially_fulfilled",
}


def _order(ctx: _Ctx, order: Fields) -> None:
    type_ = _ORDER_TOPICS[ctx.topic]
    order_id = _id(order)
    if ctx.topic == "orders/create":
        occurred = ctx.when(order.get("created_at"))
        amount = order.get("total_price")
    else:
        cancelled = order.get("cancelled_at") if ctx.topic == "orders/cancelled" else None
        occurred = ctx.when(cancelled, order.get("updated_at"), order.get("created_at"))
        amount = order.get("current_total_price") or order.get("total_price")
    fields = ctx.base(type_, occurred, object_id=order_id, version=order.get("updated_at"))
    fields |= _money(amount, order.get("currency"))
    fields["refs"] = {"order": order_id, "customer": _id(obj(order.get("customer")))}
    fields["status"] = text(order.get("financial_status"))
    if type_ == "order.cancelled":
        fields["reason_code"] = namespaced("shopify", text(order.get("cancel_reason")))
    fields["attributes"] |= _id_attributes(order) | {
        "name": text(order.get("name")),
        "financial_status": text(order.get("financial_status")),
        "fulfillment_status": text(order.get("fulfillment_status")),
        "cancel_reason": text(order.get("cancel_reason")),
        "total_price": text(order.get("total_price")),
        "total_outstanding": text(order.get("total_outstanding")),
        "gateways": [g for g in items(order.get("payment_gateway_names")) if isinstance(g, str)]
        or None,
        "test": order.get("test") if isinstance(order.get("test"), bool) else None,
    }
    ctx.emit(fields)


def _order_edited(ctx: _Ctx, body: Fields) -> None:
    edit = obj(body.get("order_edit"))
    order_id = id_text(edit.get("order_id"))
    occurred = ctx.when(edit.get("committed_at"), edit.get("created_at"))
    fields = ctx.base("order.updated", occurred, object_id=id_text(edit.get("id")))
    fields["refs"] = {"order": order_id}
    fields["attributes"] |= {"order_edit": id_text(edit.get("id"))}
    ctx.emit(fields)


# -- transactions and refunds ---------------------------------------------------------------------

_TRANSACTION_TYPES = {
    ("authorization", "success"): "payment.authorized",
    ("authorization", "pending"): "payment.pending",
    ("authorization", "failure"): "payment.failed",
    ("authorization", "error"): "payment.failed",
    ("sale", "success"): "payment.succeeded",
    ("sale", "pending"): "payment.pending",
    ("sale", "failure"): "payment.failed",
    ("sale", "error"): "payment.failed",
    ("capture", "success"): "payment.captured",
    ("capture", "pending"): "payment.pending",
    ("capture", "failure"): "payment.capture_failed",
    ("capture", "error"): "payment.capture_failed",
    ("void", "success"): "payment.canceled",
    ("refund", "success"): "refund.succeeded",
    ("refund", "pending"): "refund.created",
    ("refund", "failure"): "refund.failed",
    ("refund", "error"): "refund.failed",
}


def _transaction(
    ctx: _Ctx,
    txn: Fields,
    *,
    refund_id: str | None = None,
    element: str | None = None,
    order_id: str | None = None,
) -> bool:
    """One order transaction as an event; False when its kind/status is not one we map."""
    kind = (text(txn.get("kind")) or "").lower()
    kind = "authorization" if kind == "emv_authorization" else kind
    status = (text(txn.get("status")) or "").lower()
    type_ = _TRANSACTION_TYPES.get((kind, status))
    if type_ is None:
        return False
    txn_id = _id(txn)
    occurred = ctx.when(txn.get("processed_at"), txn.get("created_at"))
    external_id = f"transaction:{txn_id}:{status}" if txn_id else None
    fields = ctx.base(type_, occurred, object_id=txn_id, external_id=external_id)
    fields |= _money(txn.get("amount"), txn.get("currency"))
    details = obj(txn.get("payment_details"))
    order = order_id or id_text(txn.get("order_id"))
    parent = id_text(txn.get("parent_id"))
    if kind == "refund":
        fields["refs"] = {"refund": refund_id or txn_id, "payment": parent, "order": order}
        fields["direction"] = "debit"
    else:
        fields["refs"] = {"payment": txn_id, "order": order}
        if type_ in ("payment.succeeded", "payment.captured"):
            fields["direction"] = "credit"
    fields["status"] = status
    if type_ in ("payment.failed", "payment.capture_failed", "refund.failed"):
        error = text(txn.get("error_code"))
        fields["reason_code"] = namespaced("shopify", error or status)
        fields["reason_message"] = text(txn.get("message"))
    fields["attributes"] |= _id_attributes(txn) | {
        "kind": kind,
        "gateway": text(txn.get("gateway")),
        "network": network_name(details.get("credit_card_company")),
        "parent_transaction": parent,
        "test": txn.get("test") if isinstance(txn.get("test"), bool) else None,
    }
    ctx.emit(fields, element=element)
    return True


def _order_transaction(ctx: _Ctx, txn: Fields) -> None:
    if not _transaction(ctx, txn):
        kind, status = text(txn.get("kind")), text(txn.get("status"))
        what = f"Shopify transaction of kind {kind!r} with status {status!r}"
        ctx.results.append(unsupported(ctx.label, ctx.line, what, ctx.raw, field="kind"))


def _line_items_amount(refund: Fields) -> tuple[Decimal | None, str | None]:
    total, currency = Decimal(0), None
    found = False
    for line in items(refund.get("refund_line_items")):
        line = obj(line)
        for key in ("subtotal_set", "total_tax_set"):
            money = obj(obj(line.get(key)).get("shop_money"))
            value = decimal(money.get("amount"))
            code = text(money.get("currency_code"))
            if value is None:
                continue
            if currency is not None and code != currency:
                return None, None
            currency, total, found = code, total + value, True
    return (total, currency) if found else (None, None)


def _refund(ctx: _Ctx, refund: Fields) -> None:
    refund_id = _id(refund)
    order_id = id_text(refund.get("order_id"))
    mapped = False
    for index, txn in enumerate(items(refund.get("transactions"))):
        if isinstance(txn, dict) and (text(txn.get("kind")) or "").lower() == "refund":
            mapped |= _transaction(
                ctx, txn, refund_id=refund_id, element=f"transactions[{index}]", order_id=order_id
            )
    if mapped:
        return
    occurred = ctx.when(refund.get("processed_at"), refund.get("created_at"))
    fields = ctx.base(
        "refund.created", occurred, object_id=refund_id, version=refund.get("created_at")
    )
    amount, currency = _line_items_amount(refund)
    if amount is not None and currency is not None:
        fields |= _money(str(amount), currency)
        fields["attributes"]["amount_basis"] = "refund_line_items"
    fields["direction"] = "debit"
    fields["refs"] = {"refund": refund_id, "order": order_id}
    fields["attributes"] |= _id_attributes(refund) | {
        "note": text(refund.get("note")),
        "restock": refund.get("restock") if isinstance(refund.get("restock"), bool) else None,
    }
    ctx.emit(fields)


def _tender(ctx: _Ctx, tender: Fields) -> None:
    tender_id = _id(tender)
    amount = decimal(tender.get("amount"))
    negative = amount is not None and amount < 0
    occurred = ctx.when(tender.get("processed_at"))
    type_ = "refund.succeeded" if negative else "payment.succeeded"
    fields = ctx.base(type_, occurred, object_id=tender_id, version=tender.get("processed_at"))
    if amount is not None:
        fields |= _money(str(abs(amount)), tender.get("currency"))
    fields["direction"] = "debit" if negative else "credit"
    fields["refs"] = {"payment": tender_id, "order": id_text(tender.get("order_id"))}
    fields["attributes"] |= {
        "tender_transaction": True,
        "payment_method": text(tender.get("payment_method")),
        "remote_reference": text(tender.get("remote_reference")),
        "network": network_name(obj(tender.get("payment_details")).get("credit_card_company")),
    }
    ctx.emit(fields)


# -- disputes -------------------------------------------------------------------------------------

_DISPUTE_CLOSED = {
    "won": "dispute.won",
    "lost": "dispute.lost",
    "accepted": "dispute.lost",
    "charge_refunded": "dispute.closed",
}


def _dispute(ctx: _Ctx, dispute: Fields) -> None:
    status = (text(dispute.get("status")) or "").lower()
    inquiry = (text(dispute.get("type")) or "").lower() == "inquiry"
    direction: str | None = None
    if ctx.topic == "disputes/create":
        type_ = "dispute.inquiry_opened" if inquiry else "dispute.opened"
        direction = None if inquiry else "debit"
        occurred = ctx.when(dispute.get("initiated_at"))
    else:
        type_ = _DISPUTE_CLOSED.get(status, "dispute.updated")
        occurred = ctx.when(dispute.get("finalized_on"))
    code = text(dispute.get("network_reason_code"))
    shopify_reason = text(dispute.get("reason"))
    network = infer_network(code)
    info = chargeback_reason(network, code)
    reason_code = namespaced(network, code) if network else namespaced("shopify", shopify_reason)
    dispute_id = _id(dispute)
    version = dispute.get("finalized_on") or status or dispute.get("initiated_at")
    fields = ctx.base(type_, occurred, object_id=dispute_id, version=version)
    fields |= _money(dispute.get("amount"), dispute.get("currency"))
    fields |= {
        "direction": direction,
        "status": status or None,
        "reason_code": reason_code,
        "reason_message": info.description if info else humanise(shopify_reason),
        "refs": {"dispute": dispute_id, "order": id_text(dispute.get("order_id"))},
    }
    fields["attributes"] |= _id_attributes(dispute) | {
        "network": {"mc": "mastercard"}.get(network or "", network),
        "network_inferred": True if network else None,
        "network_reason_code": code,
        "shopify_reason": shopify_reason,
        "reason_category": info.category if info else None,
        "dispute_type": text(dispute.get("type")),
        "evidence_due_by": iso(parse_time(dispute.get("evidence_due_by"))),
        "evidence_sent_on": iso(parse_time(dispute.get("evidence_sent_on"))),
    }
    ctx.emit(fields)


# -- fulfilment and returns -----------------------------------------------------------------------


def _fulfillment(ctx: _Ctx, fulfillment: Fields) -> None:
    type_ = "fulfillment.created" if ctx.topic.endswith("/create") else "fulfillment.updated"
    fulfillment_id = _id(fulfillment)
    occurred = ctx.when(fulfillment.get("updated_at"), fulfillment.get("created_at"))
    version = fulfillment.get("updated_at")
    fields = ctx.base(type_, occurred, object_id=fulfillment_id, version=version)
    fields["refs"] = {"order": id_text(fulfillment.get("order_id"))}
    fields["status"] = text(fulfillment.get("status"))
    fields["attributes"] |= {
        "shipment_status": text(fulfillment.get("shipment_status")),
        "tracking_company": text(fulfillment.get("tracking_company")),
    }
    ctx.emit(fields)


_RETURN_TOPICS = {
    "returns/request": "return.requested",
    "returns/approve": "return.approved",
    "returns/update": "return.updated",
    "returns/reopen": "return.reopened",
    "returns/close": "return.closed",
    "returns/decline": "return.closed",
    "returns/cancel": "return.closed",
}


def _return(ctx: _Ctx, ret: Fields) -> None:
    type_ = _RETURN_TOPICS[ctx.topic]
    return_id = _id(ret)
    order_id = _id(obj(ret.get("order"))) or id_text(ret.get("order_id"))
    status = text(ret.get("status"))
    fields = ctx.base(type_, ctx.when(), object_id=return_id, version=status)
    fields["refs"] = {"order": order_id}
    fields["status"] = status
    decline = obj(ret.get("decline"))
    if ctx.topic == "returns/decline":
        fields["reason_code"] = namespaced("shopify", text(decline.get("reason")))
        fields["reason_message"] = text(decline.get("note"))
    fields["attributes"] |= {"return": return_id, "return_name": text(ret.get("name"))}
    ctx.emit(fields)


# -- subscriptions --------------------------------------------------------------------------------


_BILLING_TOPICS = {
    "subscription_billing_attempts/failure": "subscription.payment_failed",
    "subscription_billing_attempts/success": "subscription.payment_succeeded",
    "subscription_billing_attempts/challenged": "payment.pending",
}


def _billing_attempt(ctx: _Ctx, attempt: Fields) -> None:
    failure = ctx.topic.endswith("/failure")
    type_ = _BILLING_TOPICS[ctx.topic]
    attempt_id = _id(attempt) or text(attempt.get("idempotency_key"))
    fields = ctx.base(type_, ctx.when(), object_id=attempt_id, version="attempt")
    fields["refs"] = {
        "subscription": _id(
            attempt, "subscription_contract_id", "admin_graphql_api_subscription_contract_id"
        ),
        "order": _id(attempt, "order_id", "admin_graphql_api_order_id"),
    }
    error = text(attempt.get("error_code"))
    if failure:
        fields["reason_code"] = namespaced("shopify", error)
        fields["reason_message"] = text(attempt.get("error_message"))
    fields["attributes"] |= {
        "billing_attempt": attempt_id,
        "idempotency_key": text(attempt.get("idempotency_key")),
        "error_code": error,
    }
    ctx.emit(fields)


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
