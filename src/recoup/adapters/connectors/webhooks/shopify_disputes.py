"""Shopify disputes to canonical dispute events."""

from __future__ import annotations

from recoup.adapters.connectors.webhooks._common import (
    humanise,
    id_text,
    iso,
    namespaced,
    parse_time,
    text,
)
from recoup.adapters.connectors.webhooks.shopify_common import (
    Fields,
    _Ctx,
    _id,
    _id_attributes,
    _money,
)
from recoup.domain.reference.chargebacks import chargeback_reason, infer_network

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
