"""Writeback to Stripe through the official ``stripe`` library (``StripeClient``).

Operations (``WritebackRequest.operation``) and the ``payload`` each needs:

==============================  ===============================================================
operation                       effect
==============================  ===============================================================
``record_outcome``              sets metadata on a PaymentIntent (``payload["payment_intent"]``,
                                ``POST /v1/payment_intents/{id}``) or a Charge
                                (``payload["charge"]``, ``POST /v1/charges/{id}``):
                                ``recoup_case`` = the case id, ``recoup_outcome`` =
                                ``payload["outcome"]``, plus any string pairs in the optional
                                ``payload["metadata"]``
``invoice_paid_out_of_band``    ``POST /v1/invoices/{payload["invoice"]}/pay`` with
                                ``paid_out_of_band=true``: the money arrived another way
``invoice_void``                ``POST /v1/invoices/{id}/void``
``invoice_uncollectible``       ``POST /v1/invoices/{id}/mark_uncollectible``
==============================  ===============================================================

Each call carries the request's ``Idempotency-Key``: Stripe answers a repeat within 24 hours
with the first answer instead of acting twice. After that window a repeated invoice transition
is refused (the invoice is no longer open); the adapter then reads the invoice and, when it is
already in the state asked for, answers ``confirmed``.

Failures are classified, never raised: a connection error or timeout, a rate limit (429, or
Stripe's older 400 ``rate_limit``), 409 and 5xx are ``retry``; ``Stripe-Should-Retry:
true/false`` overrides the status (Stripe's own advice); an idempotency error (the key reused
with other parameters), 401, 403, 404 and other 4xx are ``terminal``. The library's own network
retries are off: the outbox owns the schedule. Metadata limits from Stripe's reference (keys at
most 40 characters, values at most 500, 50 keys) are checked before calling.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import timedelta
from types import TracebackType
from typing import Any, Self

import stripe

from recoup.domain.errors import ConfigurationError
from recoup.domain.recovery.writeback import (
    CONFIRMED,
    RETRY,
    TERMINAL,
    WritebackRequest,
    WritebackResult,
    WritebackStatus,
    classify_http,
)

RECORD_OUTCOME = "record_outcome"
INVOICE_PAID_OUT_OF_BAND = "invoice_paid_out_of_band"
INVOICE_VOID = "invoice_void"
INVOICE_UNCOLLECTIBLE = "invoice_uncollectible"
INVOICE_STATES = {
    INVOICE_PAID_OUT_OF_BAND: "paid",
    INVOICE_VOID: "void",
    INVOICE_UNCOLLECTIBLE: "uncollectible",
}
OPERATIONS = frozenset({RECORD_OUTCOME, *INVOICE_STATES})
DEFAULT_TIMEOUT = 30.0
METADATA_KEY_CHARS = 40
METADATA_VALUE_CHARS = 500
METADATA_KEYS = 50


class _Refused(Exception):
    """A payload this adapter will not send; the message says which field."""


class StripeRecordsWriteback:
    """A :class:`~recoup.domain.recovery.writeback.WritebackPort` for one Stripe account.

    ``base_url`` replaces Stripe's API address (tests point it at a local server);
    ``timeout`` is seconds per request; ``stripe_version`` pins the API version (the library's
    own by default)."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        stripe_version: str | None = None,
    ) -> None:
        api_key = api_key.strip()
        if not api_key:
            raise ConfigurationError("the Stripe API key is empty")
        if api_key.startswith("pk_"):
            raise ConfigurationError(
                "that is a publishable key; writeback needs a secret key (sk_...) or a "
                "restricted key (rk_...) with write access to PaymentIntents, Charges and "
                "Invoices"
            )
        if not (timeout > 0 and math.isfinite(timeout)):
            raise ConfigurationError(
                f"the Stripe writeback timeout must be positive, got {timeout}"
            )
        self._http = stripe.RequestsClient(timeout=timeout)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": base_url.rstrip("/")} if base_url else None,
            stripe_version=stripe_version,
            max_network_retries=0,
            http_client=self._http,
        )
        self._base_url = base_url

    def __repr__(self) -> str:
        return f"StripeRecordsWriteback(base_url={self._base_url!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()  # type: ignore[no-untyped-call]

    def deliver(self, request: WritebackRequest) -> WritebackResult:
        options: stripe.RequestOptions = {"idempotency_key": request.idempotency_key}
        try:
            call, what = self._plan(request, options)
        except _Refused as exc:
            return WritebackResult(TERMINAL, f"writeback {request.id}: {exc}")
        try:
            obj = call()
        except stripe.StripeError as exc:
            result = _classify(exc, what)
            if result.status == TERMINAL and request.operation in INVOICE_STATES:
                return self._already_done(request, result)
            return result
        response = getattr(obj, "last_response", None)
        code = getattr(response, "code", None)
        http_status = code if isinstance(code, int) else None
        return WritebackResult(CONFIRMED, f"{what}: done", http_status, reference=obj.id)

    def _plan(
        self, request: WritebackRequest, options: stripe.RequestOptions
    ) -> tuple[Callable[[], Any], str]:
        payload, v1 = request.payload, self._client.v1
        if request.operation == RECORD_OUTCOME:
            metadata = _metadata(request)
            kinds = [kind for kind in ("payment_intent", "charge") if kind in payload]
            if len(kinds) != 1:
                raise _Refused(
                    "record_outcome needs exactly one of payload.payment_intent and payload.charge"
                )
            object_id = _text(payload, kinds[0])
            if kinds[0] == "payment_intent":
                return (
                    lambda: v1.payment_intents.update(object_id, {"metadata": metadata}, options),
                    f"set metadata on PaymentIntent {object_id}",
                )
            return (
                lambda: v1.charges.update(object_id, {"metadata": metadata}, options),
                f"set metadata on Charge {object_id}",
            )
        invoice = _text(payload, "invoice") if request.operation in INVOICE_STATES else ""
        if request.operation == INVOICE_PAID_OUT_OF_BAND:
            return (
                lambda: v1.invoices.pay(invoice, {"paid_out_of_band": True}, options),
                f"mark Invoice {invoice} paid out of band",
            )
        if request.operation == INVOICE_VOID:
            return (
                lambda: v1.invoices.void_invoice(invoice, None, options),
                f"void Invoice {invoice}",
            )
        if request.operation == INVOICE_UNCOLLECTIBLE:
            return (
                lambda: v1.invoices.mark_uncollectible(invoice, None, options),
                f"mark Invoice {invoice} uncollectible",
            )
        raise _Refused(
            f"Stripe writeback has no operation {request.operation!r}; known: "
            f"{', '.join(sorted(OPERATIONS))}"
        )

    def _already_done(self, request: WritebackRequest, refusal: WritebackResult) -> WritebackResult:
        """After a refused invoice transition: confirmed if the invoice is already there."""
        invoice = str(request.payload["invoice"])
        wanted = INVOICE_STATES[request.operation]
        try:
            current = self._client.v1.invoices.retrieve(invoice).status
        except stripe.StripeError:
            return refusal
        if current == wanted:
            return WritebackResult(
                CONFIRMED,
                f"Invoice {invoice} is already {wanted}",
                refusal.http_status,
                reference=invoice,
            )
        return refusal


def _text(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _Refused(f"payload.{key} must be a non-empty string, got {value!r}")
    return value


def _metadata(request: WritebackRequest) -> dict[str, str]:
    extra = request.payload.get("metadata") or {}
    if not isinstance(extra, Mapping):
        raise _Refused(f"payload.metadata must be an object, got {extra!r}")
    metadata = {str(k): v for k, v in extra.items()}
    metadata["recoup_case"] = request.case_id
    metadata["recoup_outcome"] = _text(request.payload, "outcome")
    if len(metadata) > METADATA_KEYS:
        raise _Refused(f"{len(metadata)} metadata keys; Stripe allows {METADATA_KEYS}")
    for key, value in metadata.items():
        if not isinstance(value, str):
            raise _Refused(f"payload.metadata.{key} must be a string, got {value!r}")
        if len(key) > METADATA_KEY_CHARS or len(value) > METADATA_VALUE_CHARS:
            raise _Refused(
                f"metadata {key!r} is too long for Stripe (key at most "
                f"{METADATA_KEY_CHARS}, value at most {METADATA_VALUE_CHARS})"
            )
    return metadata


def _classify(exc: stripe.StripeError, what: str) -> WritebackResult:
    status = exc.http_status
    headers = {str(k).lower(): str(v) for k, v in (exc.headers or {}).items()}
    advice = headers.get("stripe-should-retry", "").strip().lower()
    verdict: WritebackStatus
    if isinstance(exc, stripe.APIConnectionError) or status is None:
        verdict = RETRY
    elif isinstance(exc, stripe.IdempotencyError):
        verdict = TERMINAL
    elif isinstance(exc, stripe.RateLimitError) or status == 409:
        verdict = RETRY
    else:
        verdict = classify_http(status)
    if advice in ("true", "false") and status is not None:
        verdict = RETRY if advice == "true" else TERMINAL
    kind = "/".join(x for x in (_error_field(exc, "type"), exc.code) if x)
    message = " ".join(str(exc.user_message or type(exc).__name__).split())
    detail = f"{what}: " + (f"HTTP {status} " if status else "") + (f"{kind}: " if kind else "")
    detail += message
    if exc.request_id:
        detail += f" [request {exc.request_id}]"
    return WritebackResult(verdict, detail, status, retry_after=_retry_after(headers, verdict))


def _error_field(exc: stripe.StripeError, name: str) -> str | None:
    value = getattr(exc.error, name, None) if exc.error is not None else None
    return value if isinstance(value, str) else None


def _retry_after(headers: Mapping[str, str], verdict: WritebackStatus) -> timedelta | None:
    if verdict != RETRY:
        return None
    try:
        seconds = float(headers.get("retry-after", ""))
    except ValueError:
        return None
    return timedelta(seconds=seconds) if math.isfinite(seconds) and seconds >= 0 else None


__all__ = [
    "DEFAULT_TIMEOUT",
    "INVOICE_PAID_OUT_OF_BAND",
    "INVOICE_STATES",
    "INVOICE_UNCOLLECTIBLE",
    "INVOICE_VOID",
    "OPERATIONS",
    "RECORD_OUTCOME",
    "StripeRecordsWriteback",
]
