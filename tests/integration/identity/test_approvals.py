"""Four-eyes approvals on SQLite and PostgreSQL: a sensitive action is requested, then approved
by someone else (it runs, once) or denied (nothing runs); the requester can never decide their
own request; an undecided request expires; every step is audited."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from recoup.adapters.clock import FixedClock
from recoup.adapters.passwords import fast_credentials
from recoup.adapters.policy.liability import load_provisional_credit
from recoup.adapters.store import tables as t
from recoup.bootstrap import App
from recoup.domain.approvals import Approval, ApprovalStatus
from recoup.domain.cases.case import Case
from recoup.domain.errors import ConflictError, InvalidInputError, PermissionDeniedError
from recoup.domain.identity import Principal, Role, SensitiveAction
from recoup.services import approvals, identity
from recoup.services.audit import verify_audit
from recoup.services.ingest import ingest_records
from recoup.services.writeback import journal_entries
from recoup.settings import WebSettings
from tests.conftest import T0
from tests.helpers import raw, record

WEB = WebSettings(write_off_approval_above=Decimal("100"), approval_hours=24)
ANA = Principal("ana", frozenset({Role.OPERATOR}))
BEA = Principal("bea", frozenset({Role.APPROVER}))
ROOT = Principal("root", frozenset({Role.ADMIN}))
POLICY = load_provisional_credit()


def executors(app: App, clock: FixedClock | None = None) -> approvals.Executors:
    return approvals.Executors(uow=app.uow, clock=clock or app.clock,
                               credit_policy=lambda: POLICY)  # fmt: skip


def dispute(app: App, ref: str, amount: str) -> Case:
    rec = record(f"d_{ref}", "dispute.opened", amount=amount, reason="visa:10.4",
                 dispute=f"dp_{ref}", charge=f"ch_{ref}", customer=f"cus_{ref}")  # fmt: skip
    ingest_records(raw([rec]), uow=app.uow, clock=app.clock, detectors=app.detectors,
                   label="t", policy=app.policy)  # fmt: skip
    with app.reader() as tx:
        (case,) = [c for c in tx.list_cases({"status": None}, 100) if c.entity_key == f"dp_{ref}"]
    return case


def case_of(app: App, case_id: str) -> Case:
    with app.reader() as tx:
        return tx.find_case(case_id)


def write_off(app: App, case: Case, who: Principal = ANA) -> approvals.WriteOffOutcome:
    return approvals.write_off(case.id[:8], "customer unreachable for 90 days", who,
                               uow=app.uow, clock=app.clock, settings=WEB,
                               executors=executors(app))  # fmt: skip


def approve(app: App, approval: Approval, who: Principal = BEA,
            clock: FixedClock | None = None) -> Approval:  # fmt: skip
    return approvals.approve(approval.id, who, uow=app.uow, clock=clock or app.clock,
                             executors=executors(app, clock))  # fmt: skip


def audit_actions(app: App, prefix: str = "approval.") -> list[tuple[str, str]]:
    with app.engine.connect() as conn:
        a = t.audit_log.c
        rows = conn.execute(sa.select(a.actor, a.action).order_by(a.seq)).all()
    return [(actor, action) for actor, action in rows if action.startswith(prefix)]


def state(app: App, case_id: str) -> tuple[Any, ...]:
    with app.reader() as tx:
        case = tx.find_case(case_id)
        return (case.version, case.status, tx.audit_head(),
                len(journal_entries(reader=app.reader, case_id=case_id)))  # fmt: skip


def test_a_write_off_at_or_below_the_threshold_runs_at_once(app: App) -> None:
    case = dispute(app, "1", "100.00")

    outcome = write_off(app, case)

    assert outcome.approval is None
    assert outcome.case is not None
    done = case_of(app, case.id)
    assert (done.status.value, done.outcome, done.written_off_amount) == (
        "resolved", "written_off", Decimal("100.00"),
    )  # fmt: skip
    (entry,) = journal_entries(reader=app.reader, case_id=case.id)
    assert entry.kind.value == "write_off"
    assert approvals.list_approvals(None, reader=app.reader, clock=app.clock) == []


def test_a_write_off_above_the_threshold_waits_then_runs_once_approved(app: App) -> None:
    case = dispute(app, "2", "100.01")
    before = state(app, case.id)

    outcome = write_off(app, case)

    request = outcome.approval
    assert outcome.case is None
    assert request is not None
    assert (request.action, request.target, request.requester, request.status) == (
        SensitiveAction.WRITE_OFF, case.id, "ana", ApprovalStatus.REQUESTED,
    )  # fmt: skip
    assert dict(request.params) == {"amount": "100.01", "currency": "EUR"}
    assert request.expires_at == T0 + timedelta(hours=24)
    assert state(app, case.id)[:2] == before[:2]  # the case is untouched while it waits
    assert write_off(app, case).approval == request  # asking again: the same request

    approved = approve(app, request)

    assert (approved.status, approved.decided_by) == (ApprovalStatus.APPROVED, "bea")
    assert approved.result is not None
    assert approved.result["ok"] is True
    assert approved.result["written_off_amount"] == "100.01"
    done = case_of(app, case.id)
    assert (done.outcome, done.written_off_amount) == ("written_off", Decimal("100.01"))
    stored = approvals.get_approval(request.id, reader=app.reader, clock=app.clock)
    assert stored == approved
    assert audit_actions(app) == [("ana", "approval.requested"), ("bea", "approval.approved"),
                                  ("bea", "approval.executed")]  # fmt: skip
    assert verify_audit(reader=app.reader).is_intact


def test_approving_twice_runs_the_action_once(app: App) -> None:
    case = dispute(app, "3", "250.00")
    request = write_off(app, case).approval
    assert request is not None
    approve(app, request)
    after = state(app, case.id)

    with pytest.raises(ConflictError, match="was approved by bea"):
        approve(app, request, Principal("cy", frozenset({Role.APPROVER})))

    assert state(app, case.id) == after
    assert len(journal_entries(reader=app.reader, case_id=case.id)) == 1


def test_the_requester_can_never_approve_their_own_request(app: App) -> None:
    case = dispute(app, "4", "900.00")
    boss = Principal("boss", frozenset({Role.OPERATOR, Role.APPROVER}))
    request = write_off(app, case, boss).approval
    assert request is not None
    before = state(app, case.id)

    with pytest.raises(PermissionDeniedError, match="four-eyes"):
        approve(app, request, boss)
    with pytest.raises(PermissionDeniedError, match="lacks the 'approve' permission"):
        approve(app, request, ROOT)  # admin does not imply approve
    with pytest.raises(PermissionDeniedError, match="four-eyes"):
        approvals.deny(request.id, boss, "no", uow=app.uow, clock=app.clock)

    assert state(app, case.id) == before  # nothing ran, nothing was written
    waiting = approvals.list_approvals("requested", reader=app.reader, clock=app.clock)
    assert [a.id for a in waiting] == [request.id]


@pytest.mark.parametrize("maker", ["boss", "user:boss"])  # made through the API, or the CLI
def test_a_key_and_the_person_who_made_it_are_one_party_for_four_eyes(app: App, maker: str) -> None:
    boss = Principal("boss", frozenset({Role.OPERATOR, Role.APPROVER}))
    made = identity.create_key("boss-bot", ["operator", "approver"], actor=maker, uow=app.uow,
                               clock=app.clock, credentials=fast_credentials())  # fmt: skip
    bot = identity.principal_for_key(made.token, reader=app.reader, credentials=fast_credentials())
    assert bot is not None
    assert (bot.actor, bot.owner) == ("key:boss-bot", "boss")
    by_boss = write_off(app, dispute(app, "4a", "900.00"), boss).approval
    by_bot = write_off(app, dispute(app, "4b", "900.00"), bot).approval
    assert by_boss is not None
    assert by_bot is not None

    with pytest.raises(PermissionDeniedError, match="one party"):
        approve(app, by_boss, bot)  # boss approving his own request through his key
    with pytest.raises(PermissionDeniedError, match="one party"):
        approve(app, by_bot, boss)  # boss approving what his key asked for
    with pytest.raises(PermissionDeniedError, match="one party"):
        approvals.deny(by_bot.id, boss, "no", uow=app.uow, clock=app.clock)

    done = approve(app, by_bot, BEA)  # someone else may
    assert done.status is ApprovalStatus.APPROVED


def test_a_viewer_cannot_request(app: App) -> None:
    case = dispute(app, "5", "900.00")
    viewer = Principal("vic", frozenset({Role.VIEWER}))
    with pytest.raises(PermissionDeniedError, match="'work'"):
        write_off(app, case, viewer)


def test_a_denied_request_runs_nothing_and_frees_the_target(app: App) -> None:
    case = dispute(app, "6", "900.00")
    request = write_off(app, case).approval
    assert request is not None
    with pytest.raises(InvalidInputError, match="say why"):
        approvals.deny(request.id, BEA, "  ", uow=app.uow, clock=app.clock)

    denied = approvals.deny(request.id, BEA, "get the bank's confirmation first", uow=app.uow,
                            clock=app.clock)  # fmt: skip

    assert (denied.status, denied.decision_note) == (
        ApprovalStatus.DENIED, "get the bank's confirmation first",
    )  # fmt: skip
    assert case_of(app, case.id).is_open
    with pytest.raises(ConflictError, match="was denied by bea"):
        approve(app, request)
    again = write_off(app, case).approval  # a new request may be made
    assert again is not None
    assert again.id != request.id


def test_an_undecided_request_expires(app: App, clock: FixedClock) -> None:
    case = dispute(app, "7", "900.00")
    request = write_off(app, case).approval
    assert request is not None
    later = FixedClock(T0 + timedelta(hours=24))

    with pytest.raises(ConflictError, match="expired at"):
        approve(app, request, clock=later)

    assert case_of(app, case.id).is_open
    listed = approvals.list_approvals("expired", reader=app.reader, clock=later)
    assert [(a.id, a.status) for a in listed] == [(request.id, ApprovalStatus.EXPIRED)]
    assert approvals.list_approvals("requested", reader=app.reader, clock=later) == []
    assert ("system:approvals", "approval.expired") in audit_actions(app)


def test_another_requester_cannot_stack_a_second_request(app: App) -> None:
    case = dispute(app, "8", "900.00")
    write_off(app, case)
    with pytest.raises(ConflictError, match="already waits for approval"):
        write_off(app, case, Principal("dan", frozenset({Role.OPERATOR})))


def test_a_provisional_credit_always_needs_approval_and_runs_the_table(app: App) -> None:
    case = dispute(app, "9", "40.00")
    assert approvals.needs_approval(SensitiveAction.PROVISIONAL_CREDIT, Decimal("1"), WEB)
    assert approvals.needs_approval(SensitiveAction.FORCE_MATCH, None, WEB)
    assert not approvals.needs_approval(SensitiveAction.WRITE_OFF, Decimal("100"), WEB)

    request = approvals.request_provisional_credit(
        case.id, "debit_card", "pos", "customer disputes a card payment", ANA, uow=app.uow,
        clock=app.clock, settings=WEB, executors=executors(app),
    )  # fmt: skip
    assert journal_entries(reader=app.reader, case_id=case.id) == []

    approved = approve(app, request)

    assert approved.result is not None
    assert approved.result == {
        "ok": True, "case_id": case.id, "grant": True, "amount": "40.00", "currency": "EUR",
        "rule_id": approved.result["rule_id"],
    }  # fmt: skip
    (entry,) = journal_entries(reader=app.reader, case_id=case.id)
    assert entry.kind.value == "provisional_credit"


def test_a_force_match_runs_once_approved_and_a_failure_is_kept(app: App) -> None:
    payout = record("po_1", "payout.paid", amount="10.00", payout="po_1")
    line = record("bl_1", "bank.statement_line", source="bank:DE00", amount="9.10",
                  bank_transaction="bl_1")  # fmt: skip
    line["direction"] = "credit"
    ingest_records(raw([payout, line]), uow=app.uow, clock=app.clock, detectors=app.detectors,
                   label="t", policy=app.policy)  # fmt: skip
    with app.engine.connect() as conn:
        e = t.events.c
        ids = dict(conn.execute(sa.select(e.type, e.id)).all())
    left, right = str(ids["payout.paid"]), str(ids["bank.statement_line"])
    with pytest.raises(InvalidInputError) as short:
        approvals.request_force_match([left], [right], "fee", ANA, uow=app.uow,
                                      clock=app.clock, settings=WEB)  # fmt: skip
    assert short.value.location.field == "justification"

    request = approvals.request_force_match(
        [left], [right], "bank deducted a 0.90 fee, confirmed by phone", ANA, uow=app.uow,
        clock=app.clock, settings=WEB,
    )  # fmt: skip
    assert request.target == approvals.forced_match_id([left], [right])
    approved = approve(app, request)
    assert approved.result == {"ok": True, "match_id": request.target}

    # The same items again: the request is new (the first was decided) but the match fails,
    # and the failure is kept on the approval.
    second = approvals.request_force_match(
        [left], [right], "asking again by mistake, same items", ANA, uow=app.uow,
        clock=app.clock, settings=WEB,
    )  # fmt: skip
    failed = approve(app, second)
    assert failed.status is ApprovalStatus.APPROVED
    assert failed.result is not None
    assert (failed.result["ok"], failed.result["error"]) == (False, "conflict")
    assert "already reconciled" in failed.result["message"]
    assert ("bea", "approval.failed") in audit_actions(app)


def test_of_two_racing_decisions_the_store_lets_one_win(app: App) -> None:
    """Both approvers read the request as waiting; the conditional update admits one."""
    case = dispute(app, "10", "900.00")
    request = write_off(app, case).approval
    assert request is not None
    with app.uow() as first, app.reader() as second_read:
        seen = second_read.approval_by_id(request.id)
        assert seen is not None
        assert seen.status is ApprovalStatus.REQUESTED
        won = first.decide_approval(request.id, ApprovalStatus.APPROVED, "bea", T0, None)
        first.commit()
    with app.uow() as second:
        lost = second.decide_approval(request.id, ApprovalStatus.DENIED, "cy", T0, "no")
        second.commit()
    assert (won, lost) == (True, False)
    stored = approvals.get_approval(request.id, reader=app.reader, clock=app.clock)
    assert (stored.status, stored.decided_by) == (ApprovalStatus.APPROVED, "bea")
