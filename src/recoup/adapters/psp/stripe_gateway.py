"""Stripe as a :class:`~recoup.domain.recovery.psp.PaymentGateway`, through the ``stripe``
library's ``StripeClient``.

A retry confirms the failed PaymentIntent again: ``POST /v1/payment_intents/{id}/confirm``
with ``off_session`` (true unless the context says the customer is present), the new
``payment_method`` when one is given, ``mandate``, ``receipt_email`` and ``return_url`` from the
context, and ``expand[]=payment_method`` so the card brand comes back. Evidence is
``POST /v1/disputes/{id}`` with ``evidence[<field>]`` and ``submit``. Every request carries the
request's idempotency key as Stripe's ``Idempotency-Key`` header, so a resend is one operation.

What Stripe answers, and the outcome:

==========================================  ==================================================
Stripe's answer                             outcome
==========================================  ==================================================
PaymentIntent ``succeeded``                 ``succeeded``; amount = ``amount_received``;
                                            reference = ``latest_charge``
``processing``, ``requires_capture``,       ``pending`` (detail says which)
``requires_action``, ``requires_confirm..``
402 ``card_error``, or ``requires_payment_  ``declined``: ``decline_code`` (else ``code``) as
method`` with a ``last_payment_error``      ``stripe:<code>``, ``advice_code``,
                                            ``network_decline_code``, the card brand as
                                            network, the charge as reference
429 (rate limit)                            ``error``, retryable
5xx, connection error, timeout              ``error``, retryable
400 ``lock_timeout``                        ``error``, retryable
other 400/404, idempotency error, 401, 403  ``error``, not retryable (detail: Stripe's type,
                                            code, message and request id)
``Stripe-Should-Retry: true|false``         overrides the retryable flag of an error
==========================================  ==================================================

For evidence: the updated Dispute is ``submitted`` when ``submit`` was sent (its status, e.g.
``under_review``, is the detail) and ``saved`` otherwise; a 400/404 (dispute closed, past due,
evidence already submitted) is ``rejected``; the rest maps as above to ``error``.

The library retries a failed request itself (``max_network_retries``, same idempotency key);
pass ``max_network_retries=0`` to leave every retry to Recoup's outbox. The API key never
appears in an outcome or a ``repr``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import stripe

from recoup.domain.errors import ConfigurationError, InvalidInputError, Location
from recoup.domain.money import Money, is_currency
from recoup.domain.recovery.psp import (
    ChargeOutcome,
    EvidenceOutcome,
    EvidenceRequest,
    RetryRequest,
)

Fields = dict[str, Any]

DEFAULT_MAX_NETWORK_RETRIES = 2
EVIDENCE_TEXT_LIMIT = 150_000
"""Stripe's limit on the combined length of a dispute's evidence text fields."""
CONFIRM_CONTEXT = ("mandate", "receipt_email", "return_url")
RETRYABLE_CODES = frozenset({"lock_timeout", "rate_limit"})
PENDING = {
    "processing": "the payment is processing",
    "requires_capture": "authorised; the charge awaits capture",
    "requires_action": "the customer must authenticate",
    "requires_confirmation": "the payment awaits confirmation",
}


class StripeGateway:
    """Retries PaymentIntents and answers disputes on one Stripe account.

    ``base_url`` replaces Stripe's API address (a loopback replay server in tests); ``client``
    replaces the whole ``StripeClient``.
    """

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = None,
        max_network_retries: int = DEFAULT_MAX_NETWORK_RETRIES,
        stripe_version: str | None = None,
        client: stripe.StripeClient | None = None,
    ) -> None:
        api_key = api_key.strip()
        if not api_key:
            raise ConfigurationError("the Stripe API key is empty")
        if api_key.startswith("pk_"):
            raise ConfigurationError(
                "that is a publishable key; retries and dispute answers need a secret key "
                "(sk_...) or a restricted key (rk_...) with write access to PaymentIntents "
                "and Disputes"
            )
        if max_network_retries < 0:
            raise ConfigurationError("max_network_retries must not be negative")
        self._base_url = base_url
        if client is None:
            client = stripe.StripeClient(
                api_key,
                base_addresses={"api": base_url.rstrip("/")} if base_url else None,
                max_network_retries=max_network_retries,
                stripe_version=stripe_version,
            )
        self._client = client

    def __repr__(self) -> str:
        return f"StripeGateway(base_url={self._base_url or 'default'!r})"

    def retry_payment(self, request: RetryRequest) -> ChargeOutcome:
        params: Fields = {"off_session": request.is_off_session, "expand": ["payment_method"]}
        if request.payment_method:
            params["payment_method"] = request.payment_method
        for key in CONFIRM_CONTEXT:
            if key in request.context:
                params[key] = request.context[key]
        try:
            intent = self._client.v1.payment_intents.confirm(
                request.payment_ref,
                cast(Any, params),
                {"idempotency_key": request.idempotency_key},
            )
        except stripe.CardError as exc:
            return _card_error(_error_body(exc))
        except stripe.StripeError as exc:
            return ChargeOutcome("error", retryable_error=_is_retryable(exc), detail=_detail(exc))
        return _from_intent(intent.to_dict())

    def submit_dispute_evidence(self, request: EvidenceRequest) -> EvidenceOutcome:
        text = sum(len(value) for value in request.evidence.values())
        if text > EVIDENCE_TEXT_LIMIT:
            raise InvalidInputError(
                f"evidence for {request.dispute_id!r} has {text} characters; Stripe takes at "
                f"most {EVIDENCE_TEXT_LIMIT}",
                location=Location(field="evidence"),
            )
        params: Fields = {"evidence": dict(request.evidence), "submit": request.submit}
        try:
            dispute = self._client.v1.disputes.update(
                request.dispute_id,
                cast(Any, params),
                {"idempotency_key": request.idempotency_key},
            )
        except stripe.InvalidRequestError as exc:
            if _is_retryable(exc):
                return EvidenceOutcome("error", request.dispute_id, _detail(exc), True)
            return EvidenceOutcome("rejected", request.dispute_id, _detail(exc))
        except stripe.StripeError as exc:
            return EvidenceOutcome("error", request.dispute_id, _detail(exc), _is_retryable(exc))
        body = dispute.to_dict()
        return EvidenceOutcome(
            "submitted" if request.submit else "saved",
            _text(body.get("id")) or request.dispute_id,
            _text(body.get("status")),
        )


# -- mapping -----------------------------------------------------------------------------------


def _from_intent(intent: Fields) -> ChargeOutcome:
    status = _text(intent.get("status"))
    network = _brand(_obj(intent.get("payment_method")))
    reference = _id(intent.get("latest_charge")) or _text(intent.get("id"))
    if status == "succeeded":
        return ChargeOutcome(
            "succeeded",
            network=network,
            reference=reference,
            amount=_money(intent.get("amount_received"), intent.get("currency")),
        )
    if status in PENDING:
        return ChargeOutcome(
            "pending", network=network, reference=reference, detail=PENDING[status]
        )
    error = _obj(intent.get("last_payment_error"))
    if status == "requires_payment_method" and error:
        return _decline(error, intent)
    return ChargeOutcome(
        "error", reference=reference, detail=f"PaymentIntent {intent.get('id')} is {status}"
    )


def _card_error(error: Fields) -> ChargeOutcome:
    return _decline(error, _obj(error.get("payment_intent")))


def _decline(error: Fields, intent: Fields) -> ChargeOutcome:
    code = _text(error.get("decline_code")) or _text(error.get("code"))
    method = _obj(error.get("payment_method")) or _obj(intent.get("payment_method"))
    reference = (
        _id(error.get("charge")) or _id(intent.get("latest_charge")) or _text(intent.get("id"))
    )
    return ChargeOutcome(
        "declined",
        decline_code=f"stripe:{code}" if code else None,
        advice_code=_text(error.get("advice_code")),
        network=_brand(method),
        reference=reference,
        network_decline_code=_text(error.get("network_decline_code")),
        detail=_text(error.get("message")),
    )


def _brand(method: Fields) -> str | None:
    card = _obj(method.get("card"))
    brand = _text(card.get("brand"))
    return None if brand in (None, "unknown") else brand


def _money(minor: Any, currency: Any) -> Money | None:
    code = _text(currency)
    if not isinstance(minor, int) or code is None or not is_currency(code.upper()):
        return None
    return Money.from_minor(minor, code.upper())


# -- errors ------------------------------------------------------------------------------------


def _error_body(exc: stripe.StripeError) -> Fields:
    body = exc.json_body if isinstance(exc.json_body, dict) else {}
    return _obj(body.get("error"))


def _should_retry_header(exc: stripe.StripeError) -> bool | None:
    headers: Mapping[str, str] = exc.headers or {}
    for name, value in headers.items():
        if name.lower() == "stripe-should-retry":
            return {"true": True, "false": False}.get(value.strip().lower())
    return None


def _is_retryable(exc: stripe.StripeError) -> bool:
    advised = _should_retry_header(exc)
    if advised is not None:
        return advised
    if isinstance(exc, stripe.RateLimitError | stripe.APIConnectionError):
        return True
    if isinstance(exc, stripe.InvalidRequestError):
        return _error_body(exc).get("code") in RETRYABLE_CODES
    if isinstance(exc, stripe.APIError):
        return exc.http_status is None or exc.http_status >= 500
    return False


def _detail(exc: stripe.StripeError) -> str:
    error = _error_body(exc)
    kind = _text(error.get("type")) or type(exc).__name__
    parts = [kind]
    code = _text(error.get("code"))
    if code:
        parts.append(code)
    message = _text(error.get("message")) or str(exc)
    text = ": ".join(parts)
    if exc.http_status:
        text = f"{exc.http_status} {text}"
    if message:
        text = f"{text}: {message}"
    if exc.request_id:
        text = f"{text} (request {exc.request_id})"
    return text


# -- JSON helpers ------------------------------------------------------------------------------


def _obj(value: Any) -> Fields:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _id(value: Any) -> str | None:
    """An id, whether Stripe sent it bare or expanded into its object."""
    if isinstance(value, dict):
        return _text(value.get("id"))
    return _text(value)


__all__ = ["DEFAULT_MAX_NETWORK_RETRIES", "EVIDENCE_TEXT_LIMIT", "StripeGateway"]
