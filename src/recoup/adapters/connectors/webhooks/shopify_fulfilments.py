"""Shopify fulfilments and returns to canonical fulfilment and return events."""

from __future__ import annotations

from recoup.adapters.connectors.webhooks._common import (
    id_text,
    namespaced,
    obj,
    text,
)
from recoup.adapters.connectors.webhooks.shopify_common import (
    Fields,
    _Ctx,
    _id,
)

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
