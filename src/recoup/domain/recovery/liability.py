"""Who carries a loss: write-off thresholds, claim validation, provisional credit.

- :class:`WriteOffThresholds`: per currency, the amount below which a loss may be written off
  straight away (chasing it costs more than it brings).
- :func:`validate_claim`: before a claim (a chargeback) goes to the counterparty, check it
  against the network's rules: the time limit since the transaction, and for card-absent
  fraud the liability shift of 3-D Secure and the fraud report the network asks for first.
  A claim that fails, or cannot be shown to pass, goes to a person, who chooses one of
  :attr:`Validation.choices`: write it off, hold the customer liable, or continue anyway.
- Provisional credit: whether to credit a customer ahead of the claim's outcome, how much,
  and by when that credit may still be taken back. Decided by a decision table behind the
  :class:`ProvisionalCreditPolicy` port (the zen adapter is ``recoup.adapters.policy.liability``).
- :class:`CounterpartySubmission`: the port through which a claim leaves for the counterparty.

Network facts are in ``docs/ledger.md`` with their sources.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Protocol

from recoup.domain.errors import ConflictError, InvalidInputError, Location
from recoup.domain.money import Money, is_currency
from recoup.domain.reference.chargebacks import chargeback_reason, infer_network, network_namespace

# -- write-off thresholds -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WriteOffThresholds:
    """A loss strictly below its currency's limit may be written off without recovery; a
    currency with no limit never is."""

    limits: Mapping[str, Decimal]

    def __post_init__(self) -> None:
        for currency, limit in self.limits.items():
            Money(limit, currency)  # a known currency, with decimals it allows
            if limit < 0:
                raise InvalidInputError(f"write-off limit for {currency} is negative: {limit}")

    def limit(self, currency: str) -> Money | None:
        limit = self.limits.get(currency)
        return None if limit is None else Money(limit, currency)

    def allows(self, amount: Money) -> bool:
        limit = self.limits.get(amount.currency)
        return limit is not None and amount.amount < limit

    @classmethod
    def from_table(cls, text: str, *, source: str = "write-off thresholds") -> WriteOffThresholds:
        """Read a ``currency,limit`` CSV table (header first; ``#`` lines and blank lines are
        skipped), e.g. ``EUR,5.00``."""
        rows = [
            (number, row)
            for number, row in enumerate(csv.reader(text.splitlines()), 1)
            if row and any(cell.strip() for cell in row) and not row[0].lstrip().startswith("#")
        ]
        if not rows or [c.strip().lower() for c in rows[0][1]] != ["currency", "limit"]:
            raise InvalidInputError(
                "the first row must be the header currency,limit", location=Location(source)
            )
        limits: dict[str, Decimal] = {}
        for number, row in rows[1:]:
            where = Location(file=source, line=number)
            if len(row) != 2:
                raise InvalidInputError(f"expected 2 cells, got {len(row)}", location=where)
            currency, text_limit = row[0].strip(), row[1].strip()
            if not is_currency(currency):
                raise InvalidInputError(f"unknown currency {currency!r}", location=where)
            if currency in limits:
                raise InvalidInputError(f"{currency} is listed twice", location=where)
            try:
                limit = Decimal(text_limit)
                Money(limit, currency)
            except (InvalidOperation, InvalidInputError) as exc:
                raise InvalidInputError(
                    f"bad limit {text_limit!r}: {exc}", location=where
                ) from None
            if limit < 0:
                raise InvalidInputError(f"limit {text_limit} is negative", location=where)
            limits[currency] = limit
        return cls(limits)


DEFAULT_WRITE_OFF_THRESHOLDS = WriteOffThresholds(
    {"USD": Decimal("5.00"), "EUR": Decimal("5.00"), "GBP": Decimal("5.00")}
)

# -- claim validation ------------------------------------------------------------------------


class CheckStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    INCONCLUSIVE = "inconclusive"
    """the facts needed are missing: a person decides"""


class LiabilityChoice(StrEnum):
    """What a person may do with a claim that did not pass."""

    WRITE_OFF = "write_off"
    CUSTOMER_LIABLE = "customer_liable"
    CONTINUE = "continue"
    """submit the claim anyway (the person knows what the facts do not show)"""


class Authentication(StrEnum):
    """The 3-D Secure result of a card-absent transaction."""

    AUTHENTICATED = "authenticated"
    """Visa Secure ECI 05, Mastercard Identity Check ECI 02"""
    ATTEMPTED = "attempted"
    """Visa ECI 06, Mastercard ECI 01"""
    NOT_AUTHENTICATED = "not_authenticated"
    """Visa ECI 07, Mastercard ECI 00, or no 3-D Secure at all"""


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    """What is known about the disputed transaction. None means unknown, which makes the
    checks that need the fact inconclusive rather than failed."""

    as_of: datetime
    """when the claim would be submitted (tz-aware)"""
    transaction_at: datetime | None = None
    """the transaction's processing date, from which network time limits run"""
    card_present: bool | None = None
    authentication: Authentication | None = None
    cvv_matched: bool | None = None
    fraud_reported: bool | None = None
    """reported to the network's fraud reporting (Visa TC40, Mastercard FLD/SAFE)"""
    cardholder_denies: bool | None = None
    """the cardholder certified they neither made nor authorised the transaction"""


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: CheckStatus
    detail: str


@dataclass(frozen=True, slots=True)
class Validation:
    status: CheckStatus
    checks: list[Check] = field(default_factory=list)
    choices: tuple[LiabilityChoice, ...] = ()
    """empty when the claim passed: nothing is left to decide, it can be submitted"""
    network: str | None = None
    code: str | None = None


TIME_LIMIT_DAYS: Mapping[str, int] = {"visa": 120, "mc": 120}
"""Calendar days from the transaction's processing date within which the issuer may raise a
dispute: Visa Core Rules (120 days for most dispute conditions, 10.4 among them) and the
Mastercard Chargeback Guide (120 days for most reason codes, 4837 among them)."""

CARD_ABSENT_FRAUD = frozenset({("visa", "10.4"), ("mc", "4837")})
"""Fraud codes that 3-D Secure authentication takes away from the issuer (liability shift)."""

_NOT_PASSED_CHOICES = (
    LiabilityChoice.WRITE_OFF,
    LiabilityChoice.CUSTOMER_LIABLE,
    LiabilityChoice.CONTINUE,
)


def split_reason_code(reason_code: str, network: str | None) -> tuple[str | None, str]:
    """(network namespace, bare code) from ``visa:10.4`` or from ``10.4`` and a network name;
    a namespace that contradicts ``network`` is refused."""
    prefix, _, code = reason_code.strip().rpartition(":")
    given = network_namespace(network) if network else None
    if network and given is None:
        given = network.strip().lower()
    from_code = network_namespace(prefix) if prefix else None
    if prefix and given and from_code != given:
        raise InvalidInputError(
            f"reason code {reason_code!r} does not belong to network {network!r}",
            location=Location(field="reason_code"),
        )
    return given or from_code or infer_network(code), code.strip().upper()


def validate_claim(
    reason_code: str,
    network: str | None,
    facts: ClaimFacts,
    *,
    time_limits: Mapping[str, int] = TIME_LIMIT_DAYS,
) -> Validation:
    """Check a claim against the network's rules; see the module docstring."""
    if facts.as_of.tzinfo is None:
        raise InvalidInputError("as_of must be tz-aware", location=Location(field="as_of"))
    namespace, code = split_reason_code(reason_code, network)
    checks = [_reason_check(namespace, code), _time_check(namespace, facts, time_limits)]
    if (namespace, code) in CARD_ABSENT_FRAUD:
        checks.extend(_card_absent_fraud_checks(namespace, code, facts))
    statuses = {c.status for c in checks}
    status = (
        CheckStatus.FAILED
        if CheckStatus.FAILED in statuses
        else CheckStatus.INCONCLUSIVE
        if CheckStatus.INCONCLUSIVE in statuses
        else CheckStatus.PASSED
    )
    choices = () if status is CheckStatus.PASSED else _NOT_PASSED_CHOICES
    return Validation(status, checks, choices, namespace, code)


def _reason_check(namespace: str | None, code: str) -> Check:
    if namespace is None:
        return Check("reason_code", CheckStatus.INCONCLUSIVE, f"no known network for {code!r}")
    info = chargeback_reason(namespace, code)
    if info is None:
        return Check(
            "reason_code",
            CheckStatus.INCONCLUSIVE,
            f"{namespace} reason code {code!r} is not in the reference table",
        )
    return Check(
        "reason_code",
        CheckStatus.PASSED,
        f"{info.reason_code}: {info.description} ({info.category})",
    )


def _time_check(namespace: str | None, facts: ClaimFacts, limits: Mapping[str, int]) -> Check:
    limit = limits.get(namespace or "")
    if limit is None:
        return Check("time_limit", CheckStatus.INCONCLUSIVE, f"no time limit known for {namespace}")
    if facts.transaction_at is None:
        return Check("time_limit", CheckStatus.INCONCLUSIVE, "the transaction date is unknown")
    if facts.transaction_at.tzinfo is None:
        raise InvalidInputError("must be tz-aware", location=Location(field="transaction_at"))
    days = (facts.as_of.date() - facts.transaction_at.date()).days
    if days < 0:
        raise InvalidInputError(
            f"the transaction ({facts.transaction_at}) is after the claim ({facts.as_of})",
            location=Location(field="transaction_at"),
        )
    status = CheckStatus.PASSED if days <= limit else CheckStatus.FAILED
    return Check(
        "time_limit", status, f"{days} days since the transaction; {namespace} allows {limit}"
    )


def _card_absent_fraud_checks(namespace: str | None, code: str, facts: ClaimFacts) -> list[Check]:
    name = f"{namespace}:{code}"
    checks = []
    if namespace == "visa":
        if facts.card_present is None:
            checks.append(Check("card_absent", CheckStatus.INCONCLUSIVE, "card presence unknown"))
        elif facts.card_present:
            detail = f"{name} covers card-absent fraud; card-present fraud is visa:10.3"
            checks.append(Check("card_absent", CheckStatus.FAILED, detail))
        else:
            checks.append(Check("card_absent", CheckStatus.PASSED, "card-absent transaction"))
    if not facts.card_present:  # 3-D Secure and CVV2 exist only where the card is absent
        checks.append(_authentication_check(name, facts.authentication))
        checks.append(_cvv_check(facts.cvv_matched))
    checks.append(
        _fact_check(
            "fraud_reported",
            facts.fraud_reported,
            passed="fraud reported to the network before the claim",
            failed=f"{name} needs the fraud reported to the network first",
        )
    )
    checks.append(
        _fact_check(
            "cardholder_denies",
            facts.cardholder_denies,
            passed="the cardholder denies the transaction",
            failed="the cardholder does not deny the transaction",
        )
    )
    return checks


def _authentication_check(name: str, authentication: Authentication | None) -> Check:
    if authentication is None:
        return Check("authentication", CheckStatus.INCONCLUSIVE, "3-D Secure result unknown")
    if authentication is Authentication.NOT_AUTHENTICATED:
        return Check("authentication", CheckStatus.PASSED, "not 3-D Secure authenticated")
    return Check(
        "authentication",
        CheckStatus.FAILED,
        f"3-D Secure {authentication.value}: the liability shifted to the issuer, {name} is "
        "not available",
    )


def _cvv_check(matched: bool | None) -> Check:
    if matched:
        return Check(
            "cvv",
            CheckStatus.INCONCLUSIVE,
            "the card security code (CVV2) matched: the card's details were at hand; a person "
            "reviews before claiming fraud",
        )
    detail = "no CVV2 match" if matched is False else "no CVV2 result on record"
    return Check("cvv", CheckStatus.PASSED, detail)


def _fact_check(name: str, value: bool | None, *, passed: str, failed: str) -> Check:
    if value is None:
        return Check(name, CheckStatus.INCONCLUSIVE, f"unknown: {passed}?")
    return Check(
        name, CheckStatus.PASSED if value else CheckStatus.FAILED, passed if value else failed
    )


def check_choice(validation: Validation, choice: str) -> LiabilityChoice:
    """The operator's ``choice`` when the validation allows it; a claim that passed needs no
    choice (ConflictError), and a choice outside :attr:`Validation.choices` is refused."""
    if not validation.choices:
        raise ConflictError("the claim passed validation: there is nothing to choose")
    try:
        chosen = LiabilityChoice(choice)
    except ValueError:
        chosen = None
    if chosen not in validation.choices:
        allowed = ", ".join(c.value for c in validation.choices)
        raise InvalidInputError(
            f"choice {choice!r} is not allowed; choose one of {allowed}",
            location=Location(field="choice"),
        )
    assert chosen is not None
    return chosen


# -- provisional credit ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProvisionalCreditRequest:
    exception_type: str
    """the finding type, e.g. ``dispute_opened``, ``duplicate_charge``"""
    product_type: str
    """``debit_card``, ``prepaid_card``, ``credit_card``, ``bank_account``, ..."""
    transaction_type: str
    """``pos`` (a card purchase, in store or remote), ``atm``, ``ach``, ``transfer``,
    ``foreign`` (initiated outside the country), ..."""
    reason_code: str | None
    """namespaced: ``visa:13.3``"""
    amount: Money

    def __post_init__(self) -> None:
        if self.amount.amount <= 0:
            raise InvalidInputError(
                f"the disputed amount must be positive, got {self.amount}",
                location=Location(field="amount"),
            )


@dataclass(frozen=True, slots=True)
class ProvisionalCreditDecision:
    grant: bool
    amount: Money
    """what to credit (zero when not granted); never more than the disputed amount"""
    reversal_deadline_days: int | None
    """calendar days from the grant within which the credit may be taken back; after that
    it is final"""
    rule_id: str
    trace: str
    """the table and row that decided, and the inputs it tested"""

    def reversal_deadline_at(self, granted_at: datetime) -> datetime | None:
        if not self.grant or self.reversal_deadline_days is None:
            return None
        return granted_at + timedelta(days=self.reversal_deadline_days)


class ProvisionalCreditPolicy(Protocol):
    def decide(self, request: ProvisionalCreditRequest) -> ProvisionalCreditDecision: ...


# -- submission to the counterparty ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CounterpartyClaim:
    case_id: str
    network: str
    reason_code: str
    amount: Money
    idempotency_key: str
    """the same claim submitted twice must be recognised by the counterparty as one"""
    evidence: tuple[str, ...] = ()
    """ids of the events and documents that back the claim"""


@dataclass(frozen=True, slots=True)
class SubmissionReceipt:
    reference: str
    """the counterparty's id for the claim"""
    submitted_at: datetime
    accepted: bool


class CounterpartySubmission(Protocol):
    """Sends a claim to the counterparty (acquirer, network, provider). Raises
    RetryableExternalError when it may be tried again later, TerminalExternalError when the
    counterparty refused it for good."""

    def submit(self, claim: CounterpartyClaim) -> SubmissionReceipt: ...


__all__ = [
    "CARD_ABSENT_FRAUD",
    "DEFAULT_WRITE_OFF_THRESHOLDS",
    "TIME_LIMIT_DAYS",
    "Authentication",
    "Check",
    "CheckStatus",
    "ClaimFacts",
    "CounterpartyClaim",
    "CounterpartySubmission",
    "LiabilityChoice",
    "ProvisionalCreditDecision",
    "ProvisionalCreditPolicy",
    "ProvisionalCreditRequest",
    "SubmissionReceipt",
    "Validation",
    "WriteOffThresholds",
    "check_choice",
    "split_reason_code",
    "validate_claim",
]
