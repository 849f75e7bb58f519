"""The payment service provider (PSP) as the recovery ladder sees it: retry a charge with fresh
context, and answer a dispute with evidence.

Both calls carry an idempotency key: the same key sent twice is one operation at the PSP, so
an outbox may resend a request whose answer it never got without charging twice.

An answer from the PSP is an *outcome*, never a Python error: a decline, a rate limit or a lost
connection each come back as a :class:`ChargeOutcome` (``retryable_error`` tells the last two
apart from a refusal). Only a request that cannot be sent at all (a context key no gateway
knows, an evidence field no PSP takes) raises :class:`InvalidInputError`, at construction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, Protocol

from recoup.domain.detection.declines import DeclineClass, classify_decline
from recoup.domain.errors import InvalidInputError, Location
from recoup.domain.money import Money

ChargeStatus = Literal["succeeded", "declined", "pending", "error"]
"""``succeeded``: the money was collected; ``declined``: the issuer or PSP refused the charge
(see the decline code); ``pending``: not final yet (processing, an authorisation awaiting
capture, or the customer must authenticate); ``error``: no answer about the money (API error,
rate limit, connection lost, or a request the PSP refused as malformed)."""

EvidenceStatus = Literal["submitted", "saved", "rejected", "error"]
"""``submitted``: evidence sent to the issuer, the dispute is under review; ``saved``: staged
at the PSP, not yet submitted; ``rejected``: the PSP refused it (closed or past-due dispute,
evidence already submitted); ``error``: no answer (API error, rate limit, connection lost)."""

CONTEXT_KEYS: Mapping[str, str] = MappingProxyType(
    {
        "off_session": "'true' (default) when the customer is not present (a merchant-"
        "initiated retry); 'false' when they are and can authenticate",
        "mandate": "the id of a mandate that authorises the debit (SEPA, BACS, ACSS, ...)",
        "receipt_email": "where the PSP sends the receipt of a successful retry",
        "return_url": "where the customer returns after authenticating (on-session only)",
        "last_decline": "the namespaced decline code of the last failed attempt (informational; "
        "a PSP that keeps its own history ignores it)",
        "last_failed_at": "when that attempt failed, ISO 8601 with a zone (informational)",
        "network": "the card network of the payment (informational)",
    }
)
"""The fresh context a retry may carry, with what each key means. Gateways read these and no
others, so a key misspelt here fails at once instead of being dropped."""

EVIDENCE_FIELDS = frozenset(
    {
        "access_activity_log",
        "billing_address",
        "cancellation_policy",
        "cancellation_policy_disclosure",
        "cancellation_rebuttal",
        "customer_communication",
        "customer_email_address",
        "customer_name",
        "customer_purchase_ip",
        "customer_signature",
        "duplicate_charge_documentation",
        "duplicate_charge_explanation",
        "duplicate_charge_id",
        "product_description",
        "receipt",
        "refund_policy",
        "refund_policy_disclosure",
        "refund_refusal_explanation",
        "service_date",
        "service_documentation",
        "shipping_address",
        "shipping_carrier",
        "shipping_date",
        "shipping_documentation",
        "shipping_tracking_number",
        "uncategorized_file",
        "uncategorized_text",
    }
)
"""Dispute evidence fields, named as Stripe's Dispute ``evidence`` hash names them (they cover
what Visa and Mastercard ask for). Document fields (``receipt``, ``*_documentation``,
``customer_signature``, ``uncategorized_file``, ...) take the id of a file uploaded to the PSP."""

MAX_IDEMPOTENCY_KEY = 255
"""Stripe's limit on an idempotency key; the shortest of the PSPs we target."""


def _require(value: str, name: str, owner: str) -> None:
    if not value or not value.strip():
        raise InvalidInputError(f"{owner}: {name} is empty", location=Location(field=name))


def _check_key(key: str, owner: str) -> None:
    _require(key, "idempotency_key", owner)
    if len(key) > MAX_IDEMPOTENCY_KEY:
        raise InvalidInputError(
            f"{owner}: idempotency_key is {len(key)} characters, at most "
            f"{MAX_IDEMPOTENCY_KEY} allowed",
            location=Location(field="idempotency_key"),
        )


@dataclass(frozen=True, slots=True)
class RetryRequest:
    """Charge ``payment_ref`` (the PSP's id of the failed payment) again.

    ``payment_method`` is a different payment method to charge (the customer's new card), or
    None for the one the payment already has. ``context`` is the fresh context of the attempt,
    keys from :data:`CONTEXT_KEYS`. ``amount`` is what the caller expects to collect; a PSP
    that charges the payment's own amount reports what it charged in
    :attr:`ChargeOutcome.amount`.
    """

    payment_ref: str
    amount: Money
    idempotency_key: str
    payment_method: str | None = None
    context: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        owner = f"retry of {self.payment_ref!r}"
        _require(self.payment_ref, "payment_ref", "retry")
        _check_key(self.idempotency_key, owner)
        if self.amount.amount <= 0:
            raise InvalidInputError(
                f"{owner}: amount {self.amount} is not positive", location=Location(field="amount")
            )
        if self.payment_method is not None:
            _require(self.payment_method, "payment_method", owner)
        for key, value in self.context.items():
            if key not in CONTEXT_KEYS:
                raise InvalidInputError(
                    f"{owner}: unknown context key {key!r}; known: {', '.join(CONTEXT_KEYS)}",
                    location=Location(field=f"context.{key}"),
                )
            if not isinstance(value, str) or not value:
                raise InvalidInputError(
                    f"{owner}: context {key!r} must be a non-empty string",
                    location=Location(field=f"context.{key}"),
                )
        if self.context.get("off_session", "true") not in ("true", "false"):
            raise InvalidInputError(
                f"{owner}: context 'off_session' is {self.context['off_session']!r}, "
                "expected 'true' or 'false'",
                location=Location(field="context.off_session"),
            )
        object.__setattr__(self, "context", MappingProxyType(dict(self.context)))

    @property
    def is_off_session(self) -> bool:
        return self.context.get("off_session", "true") == "true"


@dataclass(frozen=True, slots=True)
class ChargeOutcome:
    """What the PSP answered to one retry.

    ``decline_code`` is namespaced like every reason code in Recoup (``stripe:insufficient_
    funds``) so :func:`classify_decline` reads it; ``advice_code`` is the PSP's retry advice
    (Stripe's ``try_again_later``, ``do_not_try_again``, ``confirm_card_data``);
    ``network_decline_code`` the card network's raw response code (``51``); ``network`` the
    card network in Stripe's spelling (``visa``, ``mastercard``). ``reference`` is the PSP's id
    of this attempt (a charge id). ``amount`` is what the PSP says it collected, on success.
    ``retryable_error`` is only ever true with status ``error``: the PSP did not answer about
    the money and the same request (same idempotency key) may be sent again.
    """

    status: ChargeStatus
    decline_code: str | None = None
    advice_code: str | None = None
    network: str | None = None
    reference: str | None = None
    retryable_error: bool = False
    network_decline_code: str | None = None
    amount: Money | None = None
    detail: str | None = None

    def __post_init__(self) -> None:
        if self.retryable_error and self.status != "error":
            raise InvalidInputError(
                f"a {self.status} outcome cannot be a retryable error",
                location=Location(field="retryable_error"),
            )

    @property
    def decline_class(self) -> DeclineClass | None:
        """What a further retry can do, from the decline and advice codes; None unless declined."""
        if self.status != "declined":
            return None
        attributes: dict[str, str] = {}
        if self.advice_code:
            attributes["advice_code"] = self.advice_code
        return classify_decline(self.decline_code, attributes)


@dataclass(frozen=True, slots=True)
class EvidenceRequest:
    """Answer dispute ``dispute_id`` (the PSP's id) with ``evidence`` (fields from
    :data:`EVIDENCE_FIELDS`); ``submit`` sends it to the issuer at once, otherwise it is only
    staged at the PSP (evidence can be submitted once; staged evidence can still change)."""

    dispute_id: str
    evidence: Mapping[str, str]
    submit: bool
    idempotency_key: str

    def __post_init__(self) -> None:
        owner = f"evidence for {self.dispute_id!r}"
        _require(self.dispute_id, "dispute_id", "evidence")
        _check_key(self.idempotency_key, owner)
        for name, value in self.evidence.items():
            if name not in EVIDENCE_FIELDS:
                raise InvalidInputError(
                    f"{owner}: unknown evidence field {name!r}",
                    location=Location(field=f"evidence.{name}"),
                )
            if not isinstance(value, str):
                raise InvalidInputError(
                    f"{owner}: evidence {name!r} must be a string",
                    location=Location(field=f"evidence.{name}"),
                )
        if self.submit and not self.evidence:
            raise InvalidInputError(
                f"{owner}: nothing to submit", location=Location(field="evidence")
            )
        object.__setattr__(self, "evidence", MappingProxyType(dict(self.evidence)))


@dataclass(frozen=True, slots=True)
class EvidenceOutcome:
    """What the PSP answered. ``reference`` is the dispute's id at the PSP; ``detail`` the
    PSP's own dispute status (``under_review``) or its message when it refused or failed."""

    status: EvidenceStatus
    reference: str | None = None
    detail: str | None = None
    retryable_error: bool = False

    def __post_init__(self) -> None:
        if self.retryable_error and self.status != "error":
            raise InvalidInputError(
                f"a {self.status} evidence outcome cannot be a retryable error",
                location=Location(field="retryable_error"),
            )


class PaymentGateway(Protocol):
    """A PSP that can retry a payment and answer a dispute. Implementations never raise for
    an answer from the PSP (declines and API failures are outcomes); they may raise
    :class:`InvalidInputError` for a request they cannot send and ``NotFoundError`` for a
    payment they were never told about (the simulator)."""

    def retry_payment(self, request: RetryRequest) -> ChargeOutcome: ...

    def submit_dispute_evidence(self, request: EvidenceRequest) -> EvidenceOutcome: ...


__all__ = [
    "CONTEXT_KEYS",
    "EVIDENCE_FIELDS",
    "MAX_IDEMPOTENCY_KEY",
    "ChargeOutcome",
    "ChargeStatus",
    "EvidenceOutcome",
    "EvidenceRequest",
    "EvidenceStatus",
    "PaymentGateway",
    "RetryRequest",
]
