"""A simulated PSP for the demo and the tests: retries recover with seeded, realistic odds.

The simulator has to know why each payment failed, so tell it before retrying: pass
``payments`` (payment ref -> reason code) when constructing it, or call :meth:`register`.
A reason code is namespaced as everywhere in Recoup (``stripe:insufficient_funds``,
``visa:51``, ``mc:05``); :func:`classify_decline` turns it into a decline class and a
normalised reason, and the odds of a retry come from one table, :data:`RECOVERY_TABLE`:

==============  ===========================================  ==========  ===========  =========
profile         which declines                               first hour  funding day  other day
==============  ===========================================  ==========  ===========  =========
funds           insufficient_funds, card_velocity_exceeded   0.02        0.45         0.10
processing      processing_error, issuer_not_available,      0.30        0.90         0.90
                reenter_transaction
issuer          every other soft decline (do_not_honor,      0.03        0.18         0.15
                generic_decline, call_issuer, ...)
authentication  authentication_required, off-session         0.05        0.05         0.05
new_method      any decline but ``never``, retried with a     0.70        0.75         0.70
                new payment method
unknown         a code with no decline table                 0.02        0.08         0.05
stale_details   ``fix_data`` / ``update_credentials``          0           0            0
                retried on the same card
never           ``never`` (stolen, lost, fraud, invalid       0           0            0
                account, ...), whatever the payment method
==============  ===========================================  ==========  ===========  =========

*First hour* applies while less than an hour has passed since the failure; after that a
*funding day* is the 1st or 15th of the month or a Friday (payday and benefit deposits), or the
day after one, in UTC; any other day is an *other day*. The numbers are an illustration in
line with what PSPs publish about retries (balances recover after paydays; processing errors
clear within the hour; ``do_not_honor`` rarely recovers; hard declines never), not a
measurement.

An authentication_required decline retried on-session (``context["off_session"] ==
"false"``) comes back ``pending``: the customer is asked to authenticate.

Determinism: the n-th distinct attempt at a payment draws from ``random.Random`` seeded with
``(seed, payment ref, n)``, so the same seed and the same requests per payment give the same
outcomes, whatever other payments do in between. Idempotency mirrors a PSP: a key sent again
with the same request returns the first outcome without a new draw; with a different request
it is an ``error`` (not retryable). Retrying a payment that already succeeded is an ``error``
too, as a PSP refuses to confirm a paid intent.

Disputes need no registration: staged evidence is ``saved`` (dispute ``needs_response``),
submitted evidence ``submitted`` (``under_review``), and evidence for a dispute already
submitted is ``rejected``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType

from recoup.domain.detection.declines import DeclineClass, classify_decline
from recoup.domain.errors import InvalidInputError, Location, NotFoundError
from recoup.domain.ports import Clock
from recoup.domain.recovery.psp import (
    ChargeOutcome,
    EvidenceOutcome,
    EvidenceRequest,
    RetryRequest,
)

FIRST_HOUR = timedelta(hours=1)
FUNDING_MONTH_DAYS = frozenset({1, 15})
FRIDAY = 4


@dataclass(frozen=True, slots=True)
class RecoveryOdds:
    """The chance that one retry succeeds: in the first hour after the failure, on a funding
    day (or the day after one), and on any other day."""

    first_hour: float
    funding_day: float
    other_day: float

    def __post_init__(self) -> None:
        for name in ("first_hour", "funding_day", "other_day"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a probability, got {value}")


RECOVERY_TABLE: Mapping[str, RecoveryOdds] = MappingProxyType(
    {
        "funds": RecoveryOdds(0.02, 0.45, 0.10),
        "processing": RecoveryOdds(0.30, 0.90, 0.90),
        "issuer": RecoveryOdds(0.03, 0.18, 0.15),
        "authentication": RecoveryOdds(0.05, 0.05, 0.05),
        "new_method": RecoveryOdds(0.70, 0.75, 0.70),
        "unknown": RecoveryOdds(0.02, 0.08, 0.05),
        "stale_details": RecoveryOdds(0.0, 0.0, 0.0),
        "never": RecoveryOdds(0.0, 0.0, 0.0),
    }
)

SOFT_PROFILES: Mapping[str, str] = MappingProxyType(
    {
        "insufficient_funds": "funds",
        "card_velocity_exceeded": "funds",
        "processing_error": "processing",
        "issuer_not_available": "processing",
        "reenter_transaction": "processing",
        "authentication_required": "authentication",
    }
)
"""Normalised soft-decline reasons with their own profile; other soft reasons are ``issuer``."""

ADVICE_BY_CLASS: Mapping[str, str] = MappingProxyType(
    {"later": "try_again_later", "never": "do_not_try_again", "fix_data": "confirm_card_data"}
)
"""The Stripe advice code a simulated decline carries, chosen so that classifying the outcome
gives back the class of the original reason."""

NEW_METHOD_DECLINE = "stripe:generic_decline"


def in_funding_window(day: date) -> bool:
    """The 1st, the 15th, a Friday, or the day after one of them."""

    def funding(d: date) -> bool:
        return d.day in FUNDING_MONTH_DAYS or d.weekday() == FRIDAY

    return funding(day) or funding(day - timedelta(days=1))


def profile_for(decline: DeclineClass, *, new_payment_method: bool) -> str:
    """The :data:`RECOVERY_TABLE` row a retry of a payment with this decline class uses."""
    if decline.advice == "never":
        return "never"
    if new_payment_method:
        return "new_method"
    if decline.advice in ("fix_data", "update_credentials"):
        return "stale_details"
    if decline.advice == "later":
        return SOFT_PROFILES.get(decline.normalized_reason or "", "issuer")
    return "unknown"


@dataclass(slots=True)
class _Payment:
    reason: str
    decline: DeclineClass
    failed_at: datetime
    network: str | None
    attempts: int = 0
    succeeded: bool = False


class SimulatedGateway:
    """A :class:`~recoup.domain.recovery.psp.PaymentGateway` with seeded recoveries (see the
    module docstring for the odds and the rules)."""

    def __init__(
        self,
        seed: int,
        clock: Clock,
        payments: Mapping[str, str] | None = None,
        *,
        table: Mapping[str, RecoveryOdds] = RECOVERY_TABLE,
    ) -> None:
        missing = set(RECOVERY_TABLE) - set(table)
        if missing:
            raise InvalidInputError(f"recovery table lacks profiles: {', '.join(sorted(missing))}")
        self._seed = seed
        self._clock = clock
        self._table = dict(table)
        self._payments: dict[str, _Payment] = {}
        self._charges: dict[str, tuple[RetryRequest, ChargeOutcome]] = {}
        self._disputes: dict[str, str] = {}
        self._evidence: dict[str, tuple[EvidenceRequest, EvidenceOutcome]] = {}
        for ref, reason in (payments or {}).items():
            self.register(ref, reason)

    def __repr__(self) -> str:
        return f"SimulatedGateway(seed={self._seed}, payments={len(self._payments)})"

    def register(
        self,
        payment_ref: str,
        reason: str,
        *,
        failed_at: datetime | None = None,
        network: str | None = "visa",
        advice_code: str | None = None,
    ) -> None:
        """Tell the simulator that ``payment_ref`` failed with ``reason`` (a namespaced code)
        at ``failed_at`` (default: the clock's now). Registering again replaces the record
        and resets the attempt count."""
        if not payment_ref:
            raise InvalidInputError("payment_ref is empty", location=Location(field="payment_ref"))
        if ":" not in reason:
            raise InvalidInputError(
                f"payment {payment_ref!r}: reason {reason!r} is not namespaced "
                "(expected e.g. 'stripe:insufficient_funds')",
                location=Location(field="reason"),
            )
        at = failed_at or self._clock.now()
        if at.tzinfo is None:
            raise InvalidInputError(
                f"payment {payment_ref!r}: failed_at {at.isoformat()} has no time zone",
                location=Location(field="failed_at"),
            )
        attributes = {"advice_code": advice_code} if advice_code else None
        decline = classify_decline(reason, attributes)
        self._payments[payment_ref] = _Payment(reason, decline, at.astimezone(UTC), network)

    def attempts(self, payment_ref: str) -> int:
        """How many distinct attempts (idempotency keys) this payment has had."""
        return self._payment(payment_ref).attempts

    def probability(self, payment_ref: str, *, new_payment_method: bool = False) -> float:
        """The chance that a retry of ``payment_ref`` succeeds at the clock's now."""
        payment = self._payment(payment_ref)
        odds = self._table[profile_for(payment.decline, new_payment_method=new_payment_method)]
        now = self._clock.now().astimezone(UTC)
        if now - payment.failed_at < FIRST_HOUR:
            return odds.first_hour
        if in_funding_window(now.date()):
            return odds.funding_day
        return odds.other_day

    def retry_payment(self, request: RetryRequest) -> ChargeOutcome:
        seen = self._charges.get(request.idempotency_key)
        if seen is not None:
            if _charge_fingerprint(seen[0]) != _charge_fingerprint(request):
                return _key_reused(request.idempotency_key)
            return seen[1]
        if request.payment_ref not in self._payments and "last_decline" in request.context:
            self._learn(request)
        payment = self._payment(request.payment_ref)
        outcome = self._attempt(payment, request)
        self._charges[request.idempotency_key] = (request, outcome)
        return outcome

    def submit_dispute_evidence(self, request: EvidenceRequest) -> EvidenceOutcome:
        seen = self._evidence.get(request.idempotency_key)
        if seen is not None:
            if seen[0] != request:
                return EvidenceOutcome(
                    "error",
                    request.dispute_id,
                    f"idempotency key {request.idempotency_key!r} was used with other parameters",
                )
            return seen[1]
        state = self._disputes.get(request.dispute_id, "needs_response")
        if state == "under_review":
            outcome = EvidenceOutcome(
                "rejected", request.dispute_id, f"evidence for {request.dispute_id} was submitted"
            )
        elif request.submit:
            self._disputes[request.dispute_id] = "under_review"
            outcome = EvidenceOutcome("submitted", request.dispute_id, "under_review")
        else:
            self._disputes[request.dispute_id] = "needs_response"
            outcome = EvidenceOutcome("saved", request.dispute_id, "needs_response")
        self._evidence[request.idempotency_key] = (request, outcome)
        return outcome

    # -- internals ---------------------------------------------------------------------------

    def _learn(self, request: RetryRequest) -> None:
        """Register a payment first seen in a retry from the decline its context reports (the
        service passes the last decline as informational context)."""
        failed = request.context.get("last_failed_at")
        self.register(
            request.payment_ref,
            request.context["last_decline"],
            failed_at=datetime.fromisoformat(failed) if failed else None,
            network=request.context.get("network") or "visa",
        )

    def _payment(self, payment_ref: str) -> _Payment:
        try:
            return self._payments[payment_ref]
        except KeyError:
            raise NotFoundError(
                f"payment {payment_ref!r} is unknown to the simulator; register it with its "
                "decline reason first"
            ) from None

    def _attempt(self, payment: _Payment, request: RetryRequest) -> ChargeOutcome:
        if payment.succeeded:
            return ChargeOutcome(
                "error", detail=f"payment {request.payment_ref} has already succeeded"
            )
        payment.attempts += 1
        reference = f"ch_sim_{request.payment_ref}_{payment.attempts}"
        new_method = request.payment_method is not None
        profile = profile_for(payment.decline, new_payment_method=new_method)
        if profile == "authentication" and not request.is_off_session:
            return ChargeOutcome(
                "pending",
                network=payment.network,
                reference=reference,
                detail="the customer is asked to authenticate",
            )
        chance = self.probability(request.payment_ref, new_payment_method=new_method)
        draw = random.Random(f"{self._seed}|{request.payment_ref}|{payment.attempts}").random()
        if draw < chance:
            payment.succeeded = True
            return ChargeOutcome(
                "succeeded", network=payment.network, reference=reference, amount=request.amount
            )
        advice: str | None
        if new_method and profile != "never":
            code, advice = NEW_METHOD_DECLINE, ADVICE_BY_CLASS["later"]
        else:
            code, advice = payment.reason, ADVICE_BY_CLASS.get(payment.decline.advice)
        return ChargeOutcome(
            "declined",
            decline_code=code,
            advice_code=advice,
            network=payment.network,
            reference=reference,
        )


def _charge_fingerprint(request: RetryRequest) -> tuple[object, ...]:
    return (
        request.payment_ref,
        request.amount,
        request.payment_method,
        tuple(sorted(request.context.items())),
    )


def _key_reused(key: str) -> ChargeOutcome:
    return ChargeOutcome("error", detail=f"idempotency key {key!r} was used with other parameters")


__all__ = [
    "RECOVERY_TABLE",
    "RecoveryOdds",
    "SimulatedGateway",
    "in_funding_window",
    "profile_for",
]
