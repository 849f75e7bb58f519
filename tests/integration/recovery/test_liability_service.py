"""Liability decisions on SQLite and PostgreSQL: a dispute case's claim is validated from its
evidence; a person's choice writes it off, holds the customer liable or continues it; each
posting balances and is stored once; a provisional credit granted and taken back nets every
account to zero; a claim goes to the counterparty once; the audit chain stays intact."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from recoup.adapters.clock import FixedClock
from recoup.adapters.policy.liability import load_provisional_credit
from recoup.bootstrap import App
from recoup.domain.cases.case import Case
from recoup.domain.errors import (
    ConflictError,
    InvalidInputError,
    RetryableExternalError,
)
from recoup.domain.money import Money
from recoup.domain.recovery.ledger import JournalEntry, LedgerOptions, balances
from recoup.domain.recovery.liability import (
    Authentication,
    CheckStatus,
    ClaimFacts,
    CounterpartyClaim,
    LiabilityChoice,
    ProvisionalCreditDecision,
    SubmissionReceipt,
)
from recoup.services.audit import verify_audit
from recoup.services.ingest import ingest_records
from recoup.services.liability import (
    claim_facts,
    decide_liability,
    provisional_credit,
    reverse_provisional_credit,
    submit_claim,
    validate_case_claim,
)
from recoup.services.writeback import journal_entries, writeback_resolver
from tests.conftest import T0
from tests.helpers import raw, record

AS_OF = T0 + timedelta(days=1)
UNKNOWN = ClaimFacts(as_of=AS_OF)
PASSING = ClaimFacts(
    as_of=AS_OF, transaction_at=T0 - timedelta(days=20), card_present=False,
    authentication=Authentication.NOT_AUTHENTICATED, cvv_matched=False, fraud_reported=True,
    cardholder_denies=True,
)  # fmt: skip
POLICY = load_provisional_credit()


def dispute(app: App, ref: str = "1", reason: str = "visa:10.4", amount: str = "40.00",
            **attributes: object) -> Case:  # fmt: skip
    """Ingest one opened dispute; its case."""
    rec = record(f"d_{ref}", "dispute.opened", amount=amount, reason=reason, dispute=f"dp_{ref}",
                 charge=f"ch_{ref}", customer=f"cus_{ref}")  # fmt: skip
    if attributes:
        rec["attributes"] = attributes
    ingest_records(raw([rec]), uow=app.uow, clock=app.clock, detectors=app.detectors,
                   label="t", policy=app.policy)  # fmt: skip
    with app.reader() as tx:
        (case,) = [c for c in tx.list_cases({"status": None}, 100) if c.entity_key == f"dp_{ref}"]
    return case


def case_of(app: App, case_id: str) -> Case:
    with app.reader() as tx:
        return tx.find_case(case_id)


def entries(app: App, case_id: str) -> list[JournalEntry]:
    return journal_entries(reader=app.reader, case_id=case_id)


def timeline_kinds(app: App, case_id: str) -> list[str]:
    with app.reader() as tx:
        return [row["kind"] for row in tx.case_timeline(case_id)]


def state(app: App, case_id: str) -> tuple[Any, ...]:
    """Everything a refused action must leave as it was."""
    with app.reader() as tx:
        case = tx.find_case(case_id)
        return (case.version, case.status, len(tx.case_timeline(case_id)), tx.audit_head(),
                len(entries(app, case_id)))  # fmt: skip


def decide(app: App, case: Case, choice: str, facts: ClaimFacts = UNKNOWN, **kw: Any) -> Case:
    return decide_liability(case.id, choice, "the issuer's evidence is incomplete", facts,
                            actor="ana", uow=app.uow, clock=app.clock, **kw)  # fmt: skip


def grant(app: App, case: Case, product_type: str = "debit_card", transaction_type: str = "pos",
          **kw: Any) -> ProvisionalCreditDecision:  # fmt: skip
    return provisional_credit(case.id, product_type=product_type,
                              transaction_type=transaction_type, policy=POLICY, actor="ana",
                              uow=app.uow, clock=app.clock, **kw)  # fmt: skip


def test_the_claim_is_validated_from_the_case_evidence(app: App) -> None:
    case = dispute(app)

    unknown = validate_case_claim(case.id[:8], UNKNOWN, reader=app.reader)
    assert (unknown.network, unknown.code, unknown.status) == ("visa", "10.4", "inconclusive")
    assert unknown.choices == tuple(LiabilityChoice)
    passed = validate_case_claim(case.id, PASSING, reader=app.reader)
    assert passed.status is CheckStatus.PASSED
    assert passed.choices == ()
    assert [c.name for c in passed.checks] == [
        "reason_code", "time_limit", "card_absent", "authentication", "cvv", "fraud_reported",
        "cardholder_denies",
    ]  # fmt: skip


def test_unknown_facts_come_from_the_event_attributes_and_given_facts_win(app: App) -> None:
    case = dispute(app, transaction_at="2026-09-10", card_present=False,
                   authentication="not_authenticated", cvv_matched=False, fraud_reported="yes",
                   cardholder_denies=True)  # fmt: skip

    assert validate_case_claim(case.id, UNKNOWN, reader=app.reader).status is CheckStatus.PASSED
    given = ClaimFacts(as_of=AS_OF, authentication=Authentication.AUTHENTICATED)
    failed = validate_case_claim(case.id, given, reader=app.reader)
    assert failed.status is CheckStatus.FAILED
    assert {c.name: c.status.value for c in failed.checks}["authentication"] == "failed"


def test_a_provider_reason_with_the_network_code_beside_it_is_validated(app: App) -> None:
    case = dispute(app, reason="stripe:fraudulent", network="mastercard",
                   network_reason_code="4837")  # fmt: skip

    validation = validate_case_claim(case.id, UNKNOWN, reader=app.reader)
    assert (validation.network, validation.code) == ("mc", "4837")


def test_a_case_without_a_network_reason_code_is_refused(app: App) -> None:
    case = dispute(app, reason="stripe:product_not_received")

    with pytest.raises(InvalidInputError, match=r"no card network reason code.*stripe:product"):
        validate_case_claim(case.id, UNKNOWN, reader=app.reader)


def test_claim_facts_are_read_from_text_and_bad_ones_named() -> None:
    facts = claim_facts({"card_present": "no", "transaction_at": "2026-09-01",
                         "authentication": "Attempted"}, as_of=AS_OF)  # fmt: skip
    assert (facts.card_present, facts.authentication) == (False, Authentication.ATTEMPTED)
    assert facts.transaction_at is not None
    assert facts.transaction_at.isoformat() == "2026-09-01T00:00:00+00:00"
    with pytest.raises(InvalidInputError, match="field colour: unknown fact 'colour'"):
        claim_facts({"colour": "red"}, as_of=AS_OF)
    with pytest.raises(InvalidInputError, match="field fraud_reported: fraud_reported 'maybe'"):
        claim_facts({"fraud_reported": "maybe"}, as_of=AS_OF)
    with pytest.raises(InvalidInputError, match="has no time zone"):
        claim_facts({"transaction_at": "2026-09-01T10:00"}, as_of=AS_OF)


def test_write_off_posts_once_and_resolves_the_case(app: App) -> None:
    case = dispute(app)

    decided = decide(app, case, "write_off")

    assert (decided.status.value, decided.outcome) == ("resolved", "written_off")
    stored = case_of(app, case.id)
    assert stored.written_off_amount == Decimal("40.00")
    (entry,) = entries(app, case.id)
    assert entry.kind.value == "write_off"
    assert [(line.account.code, line.debit, line.credit) for line in entry.lines] == [
        ("6100", Money(Decimal("40.00"), "EUR"), None),
        ("1100", None, Money(Decimal("40.00"), "EUR")),
    ]
    assert sum(line.signed for line in entry.lines) == 0
    with app.reader() as tx:
        actions = [r.action for r in tx.case_audit(case.id)]
    assert actions[-2:] == ["case.liability_decided", "case.resolved"]
    assert "liability_decided" in timeline_kinds(app, case.id)

    before = state(app, case.id)
    with pytest.raises(ConflictError, match="is resolved: nothing to decide"):
        decide(app, case, "write_off")
    assert state(app, case.id) == before
    assert verify_audit(reader=app.reader).is_intact


def test_customer_liable_posts_to_the_customer_receivable(app: App) -> None:
    case = dispute(app)

    decided = decide(app, case, LiabilityChoice.CUSTOMER_LIABLE)

    assert decided.outcome == "customer_liable"
    (entry,) = entries(app, case.id)
    assert entry.kind.value == "customer_liable"
    assert balances([entry]) == {("1150", "EUR"): Decimal("40.00"),
                                 ("1100", "EUR"): Decimal("-40.00")}  # fmt: skip
    assert case_of(app, case.id).written_off_amount is None
    assert verify_audit(reader=app.reader).is_intact


def test_continue_keeps_the_case_open_and_posts_nothing(app: App) -> None:
    case = dispute(app)

    decide(app, case, "continue")
    decide(app, case, "continue")  # a second decision at the same instant is a second note

    stored = case_of(app, case.id)
    assert stored.is_open
    assert stored.outcome is None
    assert timeline_kinds(app, case.id).count("liability_decided") == 2
    assert entries(app, case.id) == []
    assert verify_audit(reader=app.reader).is_intact


def test_a_refused_choice_changes_nothing(app: App) -> None:
    case = dispute(app)
    before = state(app, case.id)

    with pytest.raises(InvalidInputError, match="choice 'refund' is not allowed"):
        decide(app, case, "refund")
    with pytest.raises(ConflictError, match="passed validation: there is nothing to choose"):
        decide(app, case, "write_off", PASSING)
    with pytest.raises(InvalidInputError, match="a reason is required"):
        decide_liability(case.id, "write_off", "  ", UNKNOWN, actor="ana", uow=app.uow,
                         clock=app.clock)  # fmt: skip

    assert state(app, case.id) == before


def test_with_writeback_the_case_waits_and_a_replay_changes_nothing(app: App) -> None:
    case = dispute(app)
    resolve = writeback_resolver("file", actor="ana")

    decided = decide(app, case, "write_off", resolve=resolve)

    assert decided.is_open
    assert decided.pending_resolution is not None
    assert decided.pending_resolution["resolution"] == "written_off"
    with app.reader() as tx:
        (item,) = tx.outbox_of_case(case.id)
    assert item.payload["outcome"] == "written_off"
    assert item.payload["dispute"] == "dp_1"
    before = state(app, case.id)
    decide(app, case, "write_off", resolve=resolve)
    assert state(app, case.id) == before
    assert len(entries(app, case.id)) == 1
    with pytest.raises(ConflictError, match="already waits to be resolved as 'written_off'"):
        decide(app, case, "customer_liable", resolve=resolve)
    assert verify_audit(reader=app.reader).is_intact


def test_a_provisional_credit_granted_then_taken_back_nets_to_zero(app: App) -> None:
    case = dispute(app)

    decision = grant(app, case)

    assert (decision.grant, decision.amount, decision.reversal_deadline_days) == (
        True, Money(Decimal("40.00"), "EUR"), 90,
    )  # fmt: skip
    assert decision.rule_id == "pc.debit_purchase_or_foreign"
    (granted,) = entries(app, case.id)
    assert granted.kind.value == "provisional_credit"
    with app.reader() as tx:
        (note,) = [r for r in tx.case_timeline(case.id) if r["kind"] == "credit_granted"]
    assert note["data"]["reversal_deadline_at"] == (T0 + timedelta(days=90)).isoformat()
    assert note["data"]["entry_id"] == granted.id

    before = state(app, case.id)
    again = grant(app, case)
    assert again.grant
    assert state(app, case.id) == before  # granting twice stores nothing

    clock = FixedClock(T0 + timedelta(days=30))
    reversal = reverse_provisional_credit(case.id, "the claim failed", actor="ana", uow=app.uow,
                                          clock=clock)  # fmt: skip
    assert reversal.is_new
    assert reversal.amount == Money(Decimal("40.00"), "EUR")
    stored = entries(app, case.id)
    assert [e.kind.value for e in stored] == ["provisional_credit", "provisional_credit_reversal"]
    assert stored[1].id == reversal.entry_id
    assert set(balances(stored).values()) == {Decimal(0)}
    assert {code for code, _ in balances(stored)} == {"1300", "2300"}

    before = state(app, case.id)
    replay = reverse_provisional_credit(case.id, "the claim failed", actor="ana", uow=app.uow,
                                        clock=FixedClock(T0 + timedelta(days=31)))  # fmt: skip
    assert not replay.is_new
    assert replay.reversed_at == T0 + timedelta(days=30)
    assert state(app, case.id) == before
    assert verify_audit(reader=app.reader).is_intact


def test_a_credit_card_gets_no_provisional_credit_and_nothing_is_posted(app: App) -> None:
    case = dispute(app)

    decision = grant(app, case, "credit_card")

    assert (decision.grant, decision.rule_id) == (False, "pc.credit_card")
    assert entries(app, case.id) == []
    assert "credit_refused" in timeline_kinds(app, case.id)
    with pytest.raises(ConflictError, match="no provisional credit to take back"):
        reverse_provisional_credit(case.id, "x", actor="ana", uow=app.uow, clock=app.clock)
    assert verify_audit(reader=app.reader).is_intact


def test_a_credit_is_final_after_its_reversal_deadline(app: App) -> None:
    case = dispute(app)
    grant(app, case, "bank_account", "ach")
    before = state(app, case.id)

    late = FixedClock(T0 + timedelta(days=45, seconds=1))
    with pytest.raises(ConflictError, match="became final at 2026-11-15T12:00:00"):
        reverse_provisional_credit(case.id, "too late", actor="ana", uow=app.uow, clock=late)

    assert state(app, case.id) == before


def test_with_accounting_off_a_grant_is_noted_once_and_nothing_posted(app: App) -> None:
    case = dispute(app)
    off = LedgerOptions(accounting_enabled=False)

    for _ in range(2):
        grant(app, case, ledger=off)

    assert timeline_kinds(app, case.id).count("credit_granted") == 1
    assert entries(app, case.id) == []


@dataclass
class Counterparty:
    """A counterparty that remembers every claim it was sent."""

    claims: list[CounterpartyClaim] = field(default_factory=list)
    fail: bool = False

    def submit(self, claim: CounterpartyClaim) -> SubmissionReceipt:
        self.claims.append(claim)
        if self.fail:
            raise RetryableExternalError("the acquirer is down")
        return SubmissionReceipt(f"acq-{len(self.claims)}", T0 + timedelta(hours=1), True)


def test_a_claim_is_submitted_once_after_passing_or_a_decision_to_continue(app: App) -> None:
    case = dispute(app)
    port = Counterparty()
    before = state(app, case.id)

    with pytest.raises(ConflictError, match=r"the claim is inconclusive.*decide first"):
        submit_claim(case.id, port, UNKNOWN, actor="ana", uow=app.uow, clock=app.clock)
    assert port.claims == []
    assert state(app, case.id) == before

    decide(app, case, "continue")
    receipt = submit_claim(case.id, port, UNKNOWN, actor="ana", uow=app.uow, clock=app.clock)

    (claim,) = port.claims
    assert (claim.network, claim.reason_code, claim.amount) == (
        "visa", "visa:10.4", Money(Decimal("40.00"), "EUR"),
    )  # fmt: skip
    assert claim.idempotency_key == f"claim:{case.id}:0"
    assert len(claim.evidence) == 1
    assert receipt.reference == "acq-1"
    with app.reader() as tx:
        (note,) = [r for r in tx.case_timeline(case.id) if r["kind"] == "claim_submitted"]
        actions = [r.action for r in tx.case_audit(case.id)]
    assert note["data"]["reference"] == "acq-1"
    assert "case.claim_submitted" in actions

    again = submit_claim(case.id, port, UNKNOWN, actor="ana", uow=app.uow, clock=app.clock)
    assert again == receipt
    assert len(port.claims) == 1  # not sent twice
    assert verify_audit(reader=app.reader).is_intact


def test_a_passing_claim_is_submitted_and_a_failed_send_notes_nothing(app: App) -> None:
    case = dispute(app)
    before = state(app, case.id)

    with pytest.raises(RetryableExternalError):
        submit_claim(case.id, Counterparty(fail=True), PASSING, actor="ana", uow=app.uow,
                     clock=app.clock)  # fmt: skip
    assert state(app, case.id) == before

    receipt = submit_claim(case.id, Counterparty(), PASSING, actor="ana", uow=app.uow,
                           clock=app.clock)  # fmt: skip
    assert receipt.accepted
