"""Four-eyes approvals: request a sensitive action, let a second person approve (it runs) or
deny it (nothing runs).

Sensitive actions (``SensitiveAction``) and what runs them once approved:

- ``write_off``: :func:`write_off_case` posts ``write_off`` of the outstanding amount to the
  journal and resolves the case as ``written_off`` (through its writeback when one is
  configured), as the recovery runner and ``recoup liability decide`` do. Only a write-off above
  ``RECOUP_WEB__WRITE_OFF_APPROVAL_ABOVE`` needs approval; :func:`write_off` decides which.
- ``provisional_credit``: ``services.liability.provisional_credit`` with the provisional-credit
  table (the table still decides whether and how much to credit).
- ``force_match``: ``services.reconcile.force_match`` with the request's reason as the written
  justification.

Approving is a conditional update from ``requested`` (one winner across processes), committed
before the action runs; the action's outcome, or its error, is then stored on the approval as
``result``. Approving twice therefore runs the action once: the second approval is refused as
already decided. If the process stops between the two commits, the approval reads ``approved``
with no ``result``; the actions themselves are idempotent (keyed postings and writebacks, one
grant per case, a match refused when its items are taken), so running it by hand is safe.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from recoup.domain.approvals import (
    Approval,
    ApprovalRules,
    ApprovalStatus,
    ApprovalUnitOfWork,
    check_decision,
    check_request,
)
from recoup.domain.approvals import needs_approval as _needs_approval
from recoup.domain.audit import AuditEntry
from recoup.domain.cases.case import Case
from recoup.domain.errors import (
    ConflictError,
    InvalidInputError,
    Location,
    NotFoundError,
    RecoupError,
)
from recoup.domain.identity import Permission, Principal, SensitiveAction, owner_actor
from recoup.domain.ids import derived_id
from recoup.domain.money import Money
from recoup.domain.ports import Clock, UnitOfWorkFactory
from recoup.domain.recovery.ledger import (
    DEFAULT_CHART,
    ChartOfAccounts,
    LedgerOptions,
    PostingKind,
    postings_for,
)
from recoup.domain.recovery.liability import ProvisionalCreditPolicy
from recoup.services.liability import LEDGER_ON, outstanding, provisional_credit
from recoup.services.reconcile import force_match
from recoup.services.writeback import post_journal, writeback_resolver

ApprovalUow = Callable[[], ApprovalUnitOfWork]


@dataclass(frozen=True, slots=True)
class Executors:
    """What running an approved action needs (the entrypoint builds it from the app)."""

    uow: UnitOfWorkFactory
    clock: Clock
    ledger: LedgerOptions = LEDGER_ON
    chart: ChartOfAccounts = DEFAULT_CHART
    writeback_target: str | None = None
    credit_policy: Callable[[], ProvisionalCreditPolicy] | None = None
    """Loads the provisional-credit table (only when a credit is approved)."""


@dataclass(frozen=True, slots=True)
class WriteOffOutcome:
    """Either the case, written off at once, or the approval request it now waits on."""

    case: Case | None = None
    approval: Approval | None = None


def needs_approval(
    action: SensitiveAction, amount: Money | Decimal | None, settings: ApprovalRules
) -> bool:
    """Whether ``action`` on ``amount`` (a case's outstanding money) needs a second person."""
    value = amount.amount if isinstance(amount, Money) else amount
    return _needs_approval(action, value, settings.write_off_approval_above)


# -- requests ----------------------------------------------------------------------------------


def request_action(
    action: SensitiveAction,
    target: str,
    params: Mapping[str, Any],
    requester: Principal,
    reason: str,
    *,
    uow: ApprovalUow,
    clock: Clock,
    settings: ApprovalRules,
) -> Approval:
    """Ask for ``action`` on ``target``; it waits for a second person. One request per action
    and target waits at a time: the same requester asking again with the same parameters gets
    the waiting request back; anything else is a ConflictError naming it."""
    requester.require(Permission.WORK)
    action = SensitiveAction(action)
    reason = check_request(action, target, params, reason)
    now = clock.now()
    approval = Approval(
        id=str(uuid.uuid4()), action=action, target=target.strip(), params=dict(params),
        reason=reason, requester=requester.actor, status=ApprovalStatus.REQUESTED,
        requested_at=now, expires_at=now + timedelta(hours=settings.approval_hours),
    )  # fmt: skip
    with uow() as tx:
        expired = tx.expire_approvals(now, approval.open_key)
        _audit_expired(tx, expired, now)
        if not tx.add_approval(approval):
            waiting = tx.open_approval(approval.open_key)
            tx.commit()
            if waiting is None:  # decided between the insert and the read: ask again
                raise ConflictError(f"{action.value} on {target} was just decided; ask again")
            if waiting.requester == requester.actor and dict(waiting.params) == dict(params):
                return waiting
            raise ConflictError(
                f"{action.value} on {target} already waits for approval {waiting.id} "
                f"(requested by {waiting.requester})"
            )
        tx.append_audit([AuditEntry(now, requester.actor, "approval.requested", "approval",
                                    approval.id, _audit_data(approval))])  # fmt: skip
        tx.commit()
    return approval


def _audit_data(approval: Approval) -> dict[str, Any]:
    return {"action": approval.action.value, "target": approval.target,
            "params": dict(approval.params), "reason": approval.reason,
            "requester": approval.requester,
            "expires_at": approval.expires_at.isoformat()}  # fmt: skip


def _audit_expired(tx: ApprovalUnitOfWork, ids: Sequence[str], now: Any) -> None:
    tx.append_audit([AuditEntry(now, "system:approvals", "approval.expired", "approval", i, {})
                     for i in ids])  # fmt: skip


def _case(executors: Executors, case_id: str) -> Case:
    with executors.uow() as tx:
        return tx.find_case(case_id)


def write_off(
    case_id: str,
    reason: str,
    who: Principal,
    *,
    uow: ApprovalUow,
    clock: Clock,
    settings: ApprovalRules,
    executors: Executors,
) -> WriteOffOutcome:
    """Write off a case's outstanding money: at once when it is at or below the threshold,
    else as a request for approval."""
    who.require(Permission.WORK)
    case = _case(executors, case_id)
    money = outstanding(case)
    if not needs_approval(SensitiveAction.WRITE_OFF, money, settings):
        done = write_off_case(case.id, reason, actor=who.actor, executors=executors,
                              max_amount=settings.write_off_approval_above)  # fmt: skip
        return WriteOffOutcome(case=done)
    params = {"amount": str(money.amount), "currency": money.currency}
    approval = request_action(SensitiveAction.WRITE_OFF, case.id, params, who, reason,
                              uow=uow, clock=clock, settings=settings)  # fmt: skip
    return WriteOffOutcome(approval=approval)


def request_provisional_credit(
    case_id: str,
    product_type: str,
    transaction_type: str,
    reason: str,
    who: Principal,
    *,
    uow: ApprovalUow,
    clock: Clock,
    settings: ApprovalRules,
    executors: Executors,
) -> Approval:
    """Ask for a provisional credit on a case; once approved the decision table decides."""
    for name, value in (("product_type", product_type), ("transaction_type", transaction_type)):
        if not value.strip():
            raise InvalidInputError(f"{name} is required", location=Location(field=name))
    case = _case(executors, case_id)
    if not case.is_open:
        raise ConflictError(f"case {case.id} is {case.status.value}: no credit is granted")
    params = {"product_type": product_type.strip(), "transaction_type": transaction_type.strip()}
    return request_action(SensitiveAction.PROVISIONAL_CREDIT, case.id, params, who, reason,
                          uow=uow, clock=clock, settings=settings)  # fmt: skip


def forced_match_id(left_ids: Sequence[str], right_ids: Sequence[str]) -> str:
    """The id ``force_match`` gives the match of these items (the approval's target)."""
    return derived_id("reconcile.forced", *sorted(left_ids), "|", *sorted(right_ids))


def request_force_match(
    left_ids: Sequence[str],
    right_ids: Sequence[str],
    justification: str,
    who: Principal,
    *,
    uow: ApprovalUow,
    clock: Clock,
    settings: ApprovalRules,
) -> Approval:
    """Ask to match items the engine did not; the justification goes on the audit record."""
    left = sorted({i.strip() for i in left_ids if i.strip()})
    right = sorted({i.strip() for i in right_ids if i.strip()})
    if not left or not right:
        field = "left_ids" if not left else "right_ids"
        raise InvalidInputError("name at least one expected item and one bank line",
                                location=Location(field=field))  # fmt: skip
    if len(justification.strip()) < 10:
        raise InvalidInputError(
            "a force-match needs a written justification (10 characters or more)",
            location=Location(field="justification"),
        )
    params = {"left_ids": left, "right_ids": right}
    return request_action(SensitiveAction.FORCE_MATCH, forced_match_id(left, right), params, who,
                          justification, uow=uow, clock=clock, settings=settings)  # fmt: skip


# -- decisions ---------------------------------------------------------------------------------


def _load(tx: ApprovalUnitOfWork, approval_id: str) -> Approval:
    try:
        uuid.UUID(approval_id)
    except ValueError:
        raise NotFoundError(f"no approval {approval_id!r}") from None
    approval = tx.approval_by_id(approval_id)
    if approval is None:
        raise NotFoundError(f"no approval {approval_id!r}")
    return approval


def _decide(approval_id: str, approver: Principal, status: ApprovalStatus, note: str | None, *,
            uow: ApprovalUow, clock: Clock) -> Approval:  # fmt: skip
    now = clock.now()
    with uow() as tx:
        approval = _load(tx, approval_id)

        def key_owner(name: str) -> str | None:
            maker = tx.key_maker(name)
            return None if maker is None else owner_actor(maker)

        try:
            check_decision(approval, approver, now, key_owner)
        except ConflictError:
            if approval.status_at(now) is ApprovalStatus.EXPIRED:
                _audit_expired(tx, tx.expire_approvals(now, approval.open_key), now)
                tx.commit()
            raise
        if not tx.decide_approval(approval.id, status, approver.actor, now, note):
            raise ConflictError(f"approval {approval.id} was decided by someone else just now")
        action = "approval.approved" if status is ApprovalStatus.APPROVED else "approval.denied"
        tx.append_audit([AuditEntry(now, approver.actor, action, "approval", approval.id,
                                    {"action": approval.action.value, "target": approval.target,
                                     "requester": approval.requester, "note": note})])  # fmt: skip
        tx.commit()
    return replace(
        approval, status=status, decided_by=approver.actor, decided_at=now, decision_note=note
    )


def approve(
    approval_id: str,
    approver: Principal,
    *,
    uow: ApprovalUow,
    clock: Clock,
    executors: Executors,
    note: str | None = None,
) -> Approval:
    """Approve another principal's request (four-eyes) and run the action. Returns the
    approval with the action's ``result`` (``ok`` false and the error when it failed)."""
    decided = _decide(approval_id, approver, ApprovalStatus.APPROVED, note, uow=uow, clock=clock)
    try:
        result = {"ok": True, **_execute(decided, approver, executors)}
    except RecoupError as exc:
        result = {"ok": False, "error": exc.code, "message": exc.message}
    now = clock.now()
    with uow() as tx:
        tx.record_approval_result(decided.id, now, result)
        action = "approval.executed" if result["ok"] else "approval.failed"
        tx.append_audit([AuditEntry(now, approver.actor, action, "approval", decided.id,
                                    {"action": decided.action.value, "target": decided.target,
                                     "result": result})])  # fmt: skip
        tx.commit()
    return replace(decided, executed_at=now, result=result)


def deny(
    approval_id: str, approver: Principal, reason: str, *, uow: ApprovalUow, clock: Clock
) -> Approval:
    """Refuse another principal's request (four-eyes); nothing runs."""
    reason = reason.strip()
    if not reason:
        raise InvalidInputError("say why the request is denied", location=Location(field="reason"))
    return _decide(approval_id, approver, ApprovalStatus.DENIED, reason, uow=uow, clock=clock)


def list_approvals(
    status: ApprovalStatus | str | None, *, reader: ApprovalUow, clock: Clock, limit: int = 100
) -> list[Approval]:
    """Newest first; ``requested`` lists only those still waiting (not past their time)."""
    wanted = None if status is None else _status(status)
    with reader() as tx:
        return list(tx.list_approvals(wanted, clock.now(), limit))


def get_approval(approval_id: str, *, reader: ApprovalUow, clock: Clock) -> Approval:
    with reader() as tx:
        return _load(tx, approval_id).as_of(clock.now())


def _status(value: ApprovalStatus | str) -> ApprovalStatus:
    try:
        return ApprovalStatus(value)
    except ValueError:
        names = ", ".join(s.value for s in ApprovalStatus)
        raise InvalidInputError(f"unknown status {value!r}; use one of {names}",
                                location=Location(field="status")) from None  # fmt: skip


# -- running an approved action ----------------------------------------------------------------


def _execute(approval: Approval, approver: Principal, executors: Executors) -> dict[str, Any]:
    why = (f"{approval.reason} (requested by {approval.requester}, approved by "
           f"{approver.actor}, approval {approval.id})")  # fmt: skip
    params = approval.params
    if approval.action is SensitiveAction.WRITE_OFF:
        try:
            approved = Decimal(str(params["amount"]))
        except (KeyError, InvalidOperation):
            raise InvalidInputError("the approval has no valid amount") from None
        case = write_off_case(approval.target, why, actor=approver.actor, executors=executors,
                              max_amount=approved)  # fmt: skip
        return {"case_id": case.id, "status": case.status.value, "outcome": case.outcome,
                "written_off_amount": _text(case.written_off_amount),
                "waits_for_writeback": case.pending_resolution is not None}  # fmt: skip
    if approval.action is SensitiveAction.PROVISIONAL_CREDIT:
        if executors.credit_policy is None:
            raise InvalidInputError("no provisional-credit table is configured")
        decision = provisional_credit(
            approval.target, product_type=str(params["product_type"]),
            transaction_type=str(params["transaction_type"]), policy=executors.credit_policy(),
            actor=approver.actor, uow=executors.uow, clock=executors.clock,
            ledger=executors.ledger, chart=executors.chart,
        )  # fmt: skip
        return {"case_id": approval.target, "grant": decision.grant,
                "amount": str(decision.amount.amount), "currency": decision.amount.currency,
                "rule_id": decision.rule_id}  # fmt: skip
    match_id = force_match([str(i) for i in params["left_ids"]],
                           [str(i) for i in params["right_ids"]], why, actor=approver.actor,
                           uow=executors.uow, clock=executors.clock)  # fmt: skip
    return {"match_id": match_id}


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def write_off_case(
    case_id: str,
    reason: str,
    *,
    actor: str,
    executors: Executors,
    max_amount: Decimal | None = None,
) -> Case:
    """Post ``write_off`` of the case's outstanding money and resolve it as ``written_off``
    (at once, or once its writeback is confirmed), in one transaction, audited. Refused when
    the outstanding money is above ``max_amount`` (it changed since a request was approved, or
    it needs approval). Asking again while the case waits for its writeback changes nothing."""
    reason = reason.strip()
    if not reason:
        raise InvalidInputError("a reason is required (it goes on the audit record)",
                                location=Location(field="reason"))  # fmt: skip
    now = executors.clock.now()
    with executors.uow() as tx:
        case = tx.find_case(case_id)
        if not case.is_open:
            raise ConflictError(f"case {case.id} is {case.status.value}: nothing to write off")
        waiting = case.pending_resolution
        if waiting is not None and waiting.get("resolution") == "written_off":
            return case
        money = outstanding(case)
        if max_amount is not None and money.amount > max_amount:
            raise ConflictError(
                f"case {case.id}: {money} is outstanding, more than the {max_amount} this "
                "write-off may cover; ask for approval of the current amount"
            )
        entry = postings_for(PostingKind.WRITE_OFF, money, case.id, now, executors.chart,
                             key=f"write_off:{case.reopen_count}", memo=reason,
                             options=executors.ledger)  # fmt: skip
        post_journal(tx, [entry], executors.ledger, actor=actor)
        resolve = writeback_resolver(executors.writeback_target, actor=actor)
        payload: dict[str, Any] = {"outcome": "written_off", "amount": str(money.amount),
                                   "currency": money.currency, "case": case.id}  # fmt: skip
        plan = resolve(tx, case, resolution="written_off", reason=reason, now=now,
                       payload=payload, written_off_amount=money.amount)  # fmt: skip
        tx.save_plan(plan, [])
        tx.append_audit(plan.audit)
        tx.commit()
    return case
