"""Shopify orders, order transactions, refunds and tender transactions to canonical order,
payment and refund events.
"""

from __future__ import annotations

from decimal import Decimal

from recoup.adapters.connectors.webhooks._common import (
    decimal,
    id_text,
    items,
    namespaced,
    network_name,
    obj,
    text,
    unsupported,
)
from recoup.adapters.connectors.webhooks.shopify_common import (
    Fields,
    _Ctx,
    _id,
    _id_attributes,
    _money,
)

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
