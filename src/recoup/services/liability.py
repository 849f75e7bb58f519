"""Liability decisions on claim cases: validate a claim, decide who carries a loss that cannot
be claimed, grant and take back provisional credit, submit a claim to the counterparty.

Each use case changes one case in one transaction, with its timeline entry and audit record,
and stores its journal entries in that same transaction (``post_journal``: an entry's id
follows from the case, the kind and a key tied to the decision, so a replay stores nothing):

- :func:`validate_case_claim` reads the case's reason code (``visa:10.4``) and network from
  its evidence events and checks the claim against the network's rules (``validate_claim``).
- :func:`decide_liability` re-validates and applies a person's choice for a claim that did not
  pass: ``write_off`` and ``customer_liable`` post to the ledger and resolve the case (at once,
  or once its writeback is confirmed: the ``resolve`` function of ``writeback_resolver``);
  ``continue`` records the decision and leaves the case open, free to be submitted.
- :func:`provisional_credit` asks the decision table whether to credit the customer ahead of
  the outcome; a grant posts ``provisional_credit`` and puts its reversal deadline on the
  timeline, once per case (and per reopening). :func:`reverse_provisional_credit` takes it
  back (``provisional_credit_reversal``) before that deadline, once.
- :func:`submit_claim` sends a claim that passed (or that a person chose to ``continue``)
  through the ``CounterpartySubmission`` port, outside any transaction, with an idempotency
  key per case, and records the receipt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from recoup.domain.cases.case import Case
from recoup.domain.cases.casing import CasePlan, change_plan
from recoup.domain.cases.sla import merge
from recoup.domain.errors import ConflictError, InvalidInputError, Location
from recoup.domain.ids import derived_id
from recoup.domain.ingestion.event import Event
from recoup.domain.money import Money
from recoup.domain.ports import Clock, UnitOfWork, UnitOfWorkFactory
from recoup.domain.recovery.ledger import (
    DEFAULT_CHART,
    ChartOfAccounts,
    LedgerOptions,
    PostingKind,
    entry_id,
    postings_for,
)
from recoup.domain.recovery.liability import (
    Authentication,
    CheckStatus,
    ClaimFacts,
    CounterpartyClaim,
    CounterpartySubmission,
    LiabilityChoice,
    ProvisionalCreditDecision,
    ProvisionalCreditPolicy,
    ProvisionalCreditRequest,
    SubmissionReceipt,
    Validation,
    check_choice,
    validate_claim,
)
from recoup.domain.reference.chargebacks import network_namespace
from recoup.services.writeback import post_journal, writeback_resolver

FACT_NAMES = (
    "transaction_at",
    "card_present",
    "authentication",
    "cvv_matched",
    "fraud_reported",
    "cardholder_denies",
)
"""The claim facts a caller (``--fact name=value``) or an evidence event's attributes give."""
_BOOLEAN_FACTS = ("card_present", "cvv_matched", "fraud_reported", "cardholder_denies")
_TRUE = frozenset({"true", "yes", "1", "y"})
_FALSE = frozenset({"false", "no", "0", "n"})

RESOLUTIONS: Mapping[LiabilityChoice, tuple[str, PostingKind]] = {
    LiabilityChoice.WRITE_OFF: ("written_off", PostingKind.WRITE_OFF),
    LiabilityChoice.CUSTOMER_LIABLE: ("customer_liable", PostingKind.CUSTOMER_LIABLE),
}
"""The resolution code and the posting of each choice that ends the case."""

DECIDED, GRANTED, REFUSED, REVERSED, SUBMITTED = (
    "liability_decided",
    "credit_granted",
    "credit_refused",
    "credit_reversed",
    "claim_submitted",
)
"""Timeline kinds of this module."""
LEDGER_ON = LedgerOptions()
"""The default: accounting on, Recoup's journal is the ledger of record."""


# -- facts -------------------------------------------------------------------------------------


def claim_facts(values: Mapping[str, str], *, as_of: datetime) -> ClaimFacts:
    """Claim facts from text (``card_present=false``, ``transaction_at=2026-09-01``,
    ``authentication=not_authenticated``); a fact not given is unknown."""
    unknown = sorted(set(values) - set(FACT_NAMES))
    if unknown:
        raise InvalidInputError(
            f"unknown fact {unknown[0]!r}; facts are {', '.join(FACT_NAMES)}",
            location=Location(field=unknown[0]),
        )
    parsed = {name: _fact(name, text, where=name) for name, text in values.items()}
    return ClaimFacts(as_of=as_of, **parsed)


def _fact(name: str, value: Any, *, where: str) -> Any:
    """One fact from text or JSON (an event attribute); refused naming ``where``."""
    if name == "transaction_at":
        return _moment(value, where)
    if name == "authentication":
        try:
            return Authentication(str(value).strip().lower())
        except ValueError:
            allowed = ", ".join(a.value for a in Authentication)
            raise InvalidInputError(
                f"authentication {value!r} is not one of {allowed}", location=Location(field=where)
            ) from None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise InvalidInputError(
        f"{name} {value!r} is not true or false", location=Location(field=where)
    )


def _moment(value: Any, where: str) -> datetime:
    """An ISO 8601 time with a zone, or a date (its start in UTC)."""
    text = str(value).strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(
            f"{text!r} is not an ISO 8601 date or time", location=Location(field=where)
        ) from None
    if len(text) == 10:
        parsed = parsed.replace(tzinfo=UTC)
    if parsed.utcoffset() is None:
        raise InvalidInputError(f"{text!r} has no time zone", location=Location(field=where))
    return parsed.astimezone(UTC)


def with_evidence(facts: ClaimFacts, events: Sequence[Event]) -> ClaimFacts:
    """``facts`` with each unknown fact taken from the newest evidence event whose attributes
    name it (``attributes.card_present``, ...). A fact the caller gave is kept."""
    found: dict[str, Any] = {}
    for event in sorted(events, key=lambda e: e.occurred_at, reverse=True):
        for name in FACT_NAMES:
            value = event.attributes.get(name)
            if name in found or value is None or getattr(facts, name) is not None:
                continue
            found[name] = _fact(name, value, where=f"event {event.id} attributes.{name}")
    return replace(facts, **found)


def claim_reason(events: Sequence[Event], case_id: str) -> tuple[str, str | None]:
    """(reason code, network) of the newest evidence event that carries a card network's
    reason code: a namespaced one (``visa:10.4``), or the network's own code and name in the
    attributes (``network_reason_code``, ``network``; a Stripe dispute reads
    ``stripe:fraudulent`` with those beside it)."""
    seen: list[str] = []
    for event in sorted(events, key=lambda e: e.occurred_at, reverse=True):
        if event.reason_code:
            seen.append(event.reason_code)
            prefix, _, code = event.reason_code.partition(":")
            namespace = network_namespace(prefix)
            if namespace is not None and code:
                return f"{namespace}:{code}", None
        network = event.attributes.get("network")
        bare = event.attributes.get("network_reason_code")
        if isinstance(bare, str) and bare and isinstance(network, str) and network:
            return bare, network
    codes = ", ".join(seen) or "none"
    raise InvalidInputError(
        f"case {case_id}: no card network reason code in its evidence (reason codes: {codes}); "
        "only a card claim can be validated",
        location=Location(field="reason_code"),
    )


def _validate(case: Case, events: Sequence[Event], facts: ClaimFacts) -> Validation:
    reason_code, network = claim_reason(events, case.id)
    return validate_claim(reason_code, network, with_evidence(facts, events))


def validate_case_claim(
    id_or_prefix: str, facts: ClaimFacts, *, reader: Callable[[], UnitOfWork]
) -> Validation:
    """Check the claim of a case (a dispute, a chargeback) against its network's rules, with
    ``facts`` and what the evidence events' attributes add."""
    with reader() as tx:
        case = tx.find_case(id_or_prefix)
        events = tx.case_source_events(case.id)
    return _validate(case, events, facts)


def _summary(validation: Validation) -> dict[str, Any]:
    return {
        "validation": validation.status.value,
        "reason_code": f"{validation.network}:{validation.code}",
        "checks": {c.name: c.status.value for c in validation.checks},
    }


# -- deciding who carries the loss -----------------------------------------------------------


def outstanding(case: Case) -> Money:
    """What the case still has at stake: its amount less what was recovered."""
    if case.amount is None or not case.currency:
        raise ConflictError(f"case {case.id} has no amount: there is nothing to post")
    left = case.amount - (case.recovered_amount or Decimal(0))
    if left <= 0:
        raise ConflictError(f"case {case.id}: nothing is outstanding ({left} {case.currency})")
    return Money(left, case.currency)


def _note(
    case: Case, now: datetime, *, actor: str, action: str, kind: str, summary: str,
    data: dict[str, Any], entry_key: str | None = None,
) -> CasePlan:  # fmt: skip
    """A timeline entry and an audit record on ``case``; the case is saved too (its version
    check makes a concurrent change a ConflictError). Without ``entry_key`` the entry is keyed
    by the time and the case's version, so every note is a new entry."""
    before = case.snapshot()
    case.updated_at = now
    return change_plan(case, before, now=now, actor=actor, action=action, kind=kind,
                       summary=summary, data=data,
                       entry_key=entry_key or f"{now.isoformat()}|{case.version}")  # fmt: skip


def _store(tx: UnitOfWork, plan: CasePlan) -> None:
    tx.save_plan(plan, [])
    tx.append_audit(plan.audit)


def decide_liability(
    id_or_prefix: str,
    choice: LiabilityChoice | str,
    reason: str,
    facts: ClaimFacts,
    *,
    actor: str,
    uow: UnitOfWorkFactory,
    clock: Clock,
    ledger: LedgerOptions = LEDGER_ON,
    chart: ChartOfAccounts = DEFAULT_CHART,
    resolve: Callable[..., CasePlan] | None = None,
) -> Case:
    """Apply a person's ``choice`` for a claim that did not pass validation (re-validated now
    with ``facts``; ``check_choice`` refuses a choice it does not allow, or any choice for a
    claim that passed).

    - ``write_off``: post ``write_off`` of the outstanding amount, resolve as ``written_off``;
    - ``customer_liable``: post ``customer_liable``, resolve as ``customer_liable``;
    - ``continue``: record the decision; the case stays open and may be submitted.

    ``resolve`` is a ``writeback_resolver`` (default: resolve at once). The posting's key is
    tied to the decision (``liability:<reopen count>``): replaying the decision while the case
    waits for its writeback changes nothing."""
    reason = reason.strip()
    if not reason:
        raise InvalidInputError("a reason is required (it goes on the audit record)")
    now = clock.now()
    with uow() as tx:
        case = tx.find_case(id_or_prefix)
        validation = _validate(case, tx.case_source_events(case.id), facts)
        chosen = check_choice(validation, str(choice))
        if not case.is_open:
            raise ConflictError(f"case {case.id} is {case.status.value}: nothing to decide")
        data: dict[str, Any] = {
            "choice": chosen.value, "reason": reason, "reopen_count": case.reopen_count,
            **_summary(validation),
        }  # fmt: skip
        if chosen is LiabilityChoice.CONTINUE:
            _store(tx, _note(case, now, actor=actor, action="case.liability_decided",
                             kind=DECIDED, summary=f"continue the claim anyway: {reason}",
                             data=data))  # fmt: skip
            tx.commit()
            return case
        resolution, kind = RESOLUTIONS[chosen]
        waiting = case.pending_resolution
        if waiting is not None and waiting.get("resolution") == resolution:
            return case  # decided before; the case waits for its writeback
        money = outstanding(case)
        key = f"liability:{case.reopen_count}"
        entry = postings_for(kind, money, case.id, now, chart, key=key, options=ledger,
                             memo=f"{chosen.value}: {reason}")  # fmt: skip
        data["entry_id"] = None if entry is None else entry.id
        decided = _note(case, now, actor=actor, action="case.liability_decided", kind=DECIDED,
                        summary=f"{chosen.value.replace('_', ' ')} ({money}): {reason}",
                        data=data)  # fmt: skip
        tx.append_audit(decided.audit)
        post_journal(tx, [entry], ledger, actor=actor)
        amounts = {"written_off_amount": str(money.amount)} if resolution == "written_off" else {}
        resolver = resolve or writeback_resolver(None, actor=actor)
        resolved = resolver(
            tx, case, resolution=resolution, reason=f"{chosen.value}: {reason}", now=now,
            payload=_payload(case, resolution, money), **amounts,
        )  # fmt: skip
        tx.save_plan(merge([decided, resolved]), [])
        tx.append_audit(resolved.audit)
        tx.commit()
    return case


def _payload(case: Case, resolution: str, money: Money) -> dict[str, Any]:
    """What the system of record is told (as the recovery runner tells it)."""
    payload: dict[str, Any] = {"outcome": resolution, "amount": str(money.amount),
                               "currency": money.currency, "case": case.id}  # fmt: skip
    if case.entity_kind in ("payment", "charge", "invoice", "order", "dispute"):
        payload[{"payment": "payment_intent"}.get(case.entity_kind, case.entity_kind)] = (
            case.entity_key
        )
    return payload


# -- provisional credit ------------------------------------------------------------------------


def _timeline(tx: UnitOfWork, case_id: str) -> dict[str, dict[str, Any]]:
    return {str(row["id"]): row for row in tx.case_timeline(case_id)}


def _entry_id(case_id: str, kind: str, key: str) -> str:
    """The id :func:`change_plan` gives the timeline entry of ``kind`` under ``key``."""
    return derived_id("timeline", case_id, kind, key)


def _network_code(events: Sequence[Event], case_id: str) -> str | None:
    """The case's namespaced network reason code (``visa:13.3``), or None when it has none."""
    try:
        code, network = claim_reason(events, case_id)
    except InvalidInputError:
        return None
    if network is None:
        return code  # already namespaced
    namespace = network_namespace(network)
    return None if namespace is None else f"{namespace}:{code.strip().upper()}"


def provisional_credit(
    id_or_prefix: str,
    *,
    product_type: str,
    transaction_type: str,
    policy: ProvisionalCreditPolicy,
    actor: str,
    uow: UnitOfWorkFactory,
    clock: Clock,
    ledger: LedgerOptions = LEDGER_ON,
    chart: ChartOfAccounts = DEFAULT_CHART,
) -> ProvisionalCreditDecision:
    """Decide with the table whether the customer of an open claim case gets a provisional
    credit. A grant posts ``provisional_credit`` and notes the amount and the reversal deadline
    on the timeline (``credit_granted``); a refusal is noted too (``credit_refused``), both
    audited. A case is granted once (per reopening): asking again stores nothing and returns
    the table's answer."""
    for name, value in (("product_type", product_type), ("transaction_type", transaction_type)):
        if not value.strip():
            raise InvalidInputError(f"{name} is required", location=Location(field=name))
    now = clock.now()
    with uow() as tx:
        case = tx.find_case(id_or_prefix)
        if not case.is_open:
            raise ConflictError(f"case {case.id} is {case.status.value}: no credit is granted")
        request = ProvisionalCreditRequest(
            exception_type=case.type, product_type=product_type.strip(),
            transaction_type=transaction_type.strip(),
            reason_code=_network_code(tx.case_source_events(case.id), case.id),
            amount=outstanding(case),
        )  # fmt: skip
        decision = policy.decide(request)
        data: dict[str, Any] = {
            "product_type": request.product_type, "transaction_type": request.transaction_type,
            "reason_code": request.reason_code, "rule_id": decision.rule_id,
            "trace": decision.trace,
        }  # fmt: skip
        if not decision.grant:
            _store(tx, _note(case, now, actor=actor, action="case.provisional_credit_refused",
                             kind=REFUSED, data=data,
                             summary=f"no provisional credit ({decision.rule_id})"))  # fmt: skip
            tx.commit()
            return decision
        key = f"grant:{case.reopen_count}"
        if _entry_id(case.id, GRANTED, key) in _timeline(tx, case.id):
            return decision  # granted before: the entry and the note are stored
        deadline = decision.reversal_deadline_at(now)
        assert deadline is not None  # a grant has a deadline (checked when the table loads)
        entry = postings_for(PostingKind.PROVISIONAL_CREDIT, decision.amount, case.id, now,
                             chart, key=key, options=ledger)  # fmt: skip
        data |= {"amount": str(decision.amount.amount), "currency": decision.amount.currency,
                 "reversal_deadline_at": deadline.isoformat(), "key": key,
                 "entry_id": None if entry is None else entry.id}  # fmt: skip
        plan = _note(case, now, actor=actor, action="case.provisional_credit_granted",
                     kind=GRANTED, data=data, entry_key=key,
                     summary=f"provisional credit {decision.amount} granted; may be taken back "
                     f"until {deadline.isoformat()} ({decision.rule_id})")  # fmt: skip
        _store(tx, plan)
        post_journal(tx, [entry], ledger, actor=actor)
        tx.commit()
    return decision


@dataclass(frozen=True, slots=True)
class CreditReversal:
    case_id: str
    amount: Money
    entry_id: str
    """the id of the ``provisional_credit_reversal`` entry (stored unless accounting is off)"""
    reversed_at: datetime
    is_new: bool
    """false when the credit had been taken back before: nothing was stored now"""


def reverse_provisional_credit(
    id_or_prefix: str,
    reason: str,
    *,
    actor: str,
    uow: UnitOfWorkFactory,
    clock: Clock,
    ledger: LedgerOptions = LEDGER_ON,
    chart: ChartOfAccounts = DEFAULT_CHART,
) -> CreditReversal:
    """Take back the case's latest provisional credit (the claim failed): post
    ``provisional_credit_reversal`` of the granted amount, which nets the grant's accounts to
    zero, and note it on the timeline, audited. Refused after the reversal deadline (the credit
    is final) and when no credit was granted; reversing twice stores nothing the second time."""
    reason = reason.strip()
    if not reason:
        raise InvalidInputError("a reason is required (it goes on the audit record)")
    now = clock.now()
    with uow() as tx:
        case = tx.find_case(id_or_prefix)
        timeline = _timeline(tx, case.id)
        grants = [row for row in timeline.values() if row["kind"] == GRANTED]
        if not grants:
            raise ConflictError(f"case {case.id} has no provisional credit to take back")
        grant = max(grants, key=lambda row: (row["at"], str(row["id"])))
        granted: dict[str, Any] = dict(grant["data"])
        amount = Money(Decimal(granted["amount"]), granted["currency"])
        key = str(grant["id"])
        reversal_id = entry_id(case.id, PostingKind.PROVISIONAL_CREDIT_REVERSAL, key)
        done = timeline.get(_entry_id(case.id, REVERSED, key))
        if done is not None:
            return CreditReversal(case.id, amount, reversal_id, done["at"], is_new=False)
        deadline = datetime.fromisoformat(granted["reversal_deadline_at"])
        if now > deadline:
            raise ConflictError(
                f"case {case.id}: the provisional credit of {amount} became final at "
                f"{deadline.isoformat()}; it can no longer be taken back"
            )
        entry = postings_for(
            PostingKind.PROVISIONAL_CREDIT_REVERSAL, amount, case.id, now, chart, key=key,
            options=ledger, memo=f"taken back: {reason}",
        )  # fmt: skip
        plan = _note(case, now, actor=actor, action="case.provisional_credit_reversed",
                     kind=REVERSED, entry_key=key,
                     summary=f"provisional credit {amount} taken back: {reason}",
                     data={"reason": reason, "amount": str(amount.amount),
                           "currency": amount.currency, "grant": key,
                           "granted_entry_id": granted.get("entry_id"),
                           "entry_id": reversal_id})  # fmt: skip
        _store(tx, plan)
        post_journal(tx, [entry], ledger, actor=actor)
        tx.commit()
    return CreditReversal(case.id, amount, reversal_id, now, is_new=True)


# -- submission ----------------------------------------------------------------------------------


def claim_key(case: Case) -> str:
    """The idempotency key of the case's claim: one claim per case (and per reopening)."""
    return f"claim:{case.id}:{case.reopen_count}"


def _continued(timeline: Iterable[Mapping[str, Any]], case: Case) -> bool:
    """A person chose ``continue`` for the claim since the case was last reopened."""
    return any(
        row["kind"] == DECIDED
        and row["data"].get("choice") == LiabilityChoice.CONTINUE.value
        and row["data"].get("reopen_count") == case.reopen_count
        for row in timeline
    )


def _receipt(data: Mapping[str, Any]) -> SubmissionReceipt:
    return SubmissionReceipt(
        reference=str(data["reference"]),
        submitted_at=datetime.fromisoformat(data["submitted_at"]),
        accepted=bool(data["accepted"]),
    )


def submit_claim(
    id_or_prefix: str,
    port: CounterpartySubmission,
    facts: ClaimFacts,
    *,
    actor: str,
    uow: UnitOfWorkFactory,
    clock: Clock,
) -> SubmissionReceipt:
    """Send the case's claim to the counterparty and note the receipt on the timeline,
    audited. The claim must pass validation, or a person must have chosen ``continue``. The
    port is called outside any transaction with the claim's idempotency key; a claim whose
    receipt is already noted is not sent again (its receipt is returned). The port's
    ``RetryableExternalError`` / ``TerminalExternalError`` reach the caller, nothing noted."""
    with uow() as tx:
        case = tx.find_case(id_or_prefix)
        events = tx.case_source_events(case.id)
        timeline = _timeline(tx, case.id)
    key = claim_key(case)
    noted = timeline.get(_entry_id(case.id, SUBMITTED, key))
    if noted is not None:
        return _receipt(noted["data"])
    if not case.is_open:
        raise ConflictError(f"case {case.id} is {case.status.value}: its claim is not submitted")
    validation = _validate(case, events, facts)
    if validation.status is not CheckStatus.PASSED and not _continued(timeline.values(), case):
        failing = ", ".join(c.name for c in validation.checks if c.status is not CheckStatus.PASSED)
        raise ConflictError(
            f"case {case.id}: the claim is {validation.status.value} ({failing}); decide first "
            "(write_off, customer_liable, or continue to submit it anyway)"
        )
    claim = CounterpartyClaim(
        case_id=case.id, network=str(validation.network),
        reason_code=f"{validation.network}:{validation.code}", amount=outstanding(case),
        idempotency_key=key, evidence=tuple(e.event_id for e in events),
    )  # fmt: skip
    receipt = port.submit(claim)
    now = clock.now()
    with uow() as tx:
        current = tx.find_case(case.id)
        if _entry_id(case.id, SUBMITTED, key) in _timeline(tx, case.id):
            return receipt  # noted meanwhile by another submission of the same claim
        verdict = "accepted" if receipt.accepted else "not accepted"
        plan = _note(current, now, actor=actor, action="case.claim_submitted", kind=SUBMITTED,
                     entry_key=key,
                     summary=f"claim {claim.reason_code} for {claim.amount} submitted: {verdict} "
                     f"(reference {receipt.reference})",
                     data={"reference": receipt.reference, "accepted": receipt.accepted,
                           "submitted_at": receipt.submitted_at.isoformat(),
                           "idempotency_key": key, "reason_code": claim.reason_code,
                           "amount": str(claim.amount.amount),
                           "currency": claim.amount.currency,
                           "validation": validation.status.value})  # fmt: skip
        _store(tx, plan)
        tx.commit()
    return receipt


__all__ = [
    "FACT_NAMES",
    "RESOLUTIONS",
    "CreditReversal",
    "claim_facts",
    "claim_key",
    "claim_reason",
    "decide_liability",
    "outstanding",
    "provisional_credit",
    "reverse_provisional_credit",
    "submit_claim",
    "validate_case_claim",
    "with_evidence",
]
