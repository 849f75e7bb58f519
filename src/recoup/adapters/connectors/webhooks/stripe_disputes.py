"""Stripe disputes and Radar early fraud warnings to canonical dispute events."""

from __future__ import annotations

from recoup.adapters.connectors.webhooks._common import (
    humanise,
    iso,
    namespaced,
    obj,
    parse_time,
    text,
)
from recoup.adapters.connectors.webhooks.stripe_common import (
    Fields,
    _card,
    _Ctx,
    _money,
    _network,
    _order,
    _ref,
)
from recoup.domain.reference.chargebacks import chargeback_reason, network_namespace

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
