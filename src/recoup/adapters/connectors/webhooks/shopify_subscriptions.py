"""Shopify subscription billing attempts to canonical subscription and payment events."""

from __future__ import annotations

from recoup.adapters.connectors.webhooks._common import (
    namespaced,
    text,
)
from recoup.adapters.connectors.webhooks.shopify_common import (
    Fields,
    _Ctx,
    _id,
)

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
