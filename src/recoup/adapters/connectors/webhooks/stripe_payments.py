"""Stripe charges, payment intents and invoices to canonical payment and invoice events."""

from __future__ import annotations

from recoup.adapters.connectors.webhooks._common import (
    integer,
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
