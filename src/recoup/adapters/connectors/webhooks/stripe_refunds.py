"""Stripe refunds (listed by ``charge.refunded`` or reported on their own) and payouts to
canonical refund and payout events.
"""

from __future__ import annotations

from recoup.adapters.connectors.webhooks._common import (
    humanise,
    integer,
    iso,
    items,
    namespaced,
    obj,
    parse_time,
    text,
)
from recoup.adapters.connectors.webhooks.stripe_common import (
    Fields,
    _BadAmount,
    _Ctx,
    _money,
    _order,
    _ref,
)

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
