"""Sensitive actions (write-off above the threshold, provisional credit, force-match) and their
four-eyes approvals.

A sensitive action is asked for by an operator (``work``) and answered 202 with the approval
request; a second principal holding ``approve`` approves it (it runs, once) or denies it. The
requester can never decide their own request. A write-off at or below
``RECOUP_WEB__WRITE_OFF_APPROVAL_ABOVE`` runs at once (200).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from recoup.bootstrap import App
from recoup.domain.approvals import Approval, ApprovalStatus
from recoup.domain.cases.case import Case
from recoup.domain.identity import SensitiveAction
from recoup.entrypoints.api.deps import AppDep, Approver, PrincipalDep, Reader, Worker
from recoup.entrypoints.api.v1.common import ITEM_ERRORS, READ_ERRORS, WRITE_ERRORS, Text
from recoup.services import approvals as service

router = APIRouter(tags=["approvals"])


def executors_for(app: App) -> service.Executors:
    """What an approved action runs with (the same for the pages)."""
    return app.approval_executors()


# -- models ------------------------------------------------------------------------------------


class ApprovalOut(BaseModel):
    id: str
    action: SensitiveAction
    target: str = Field(description="the case id, or the match id of a force-match")
    params: dict[str, Any]
    reason: str
    requester: str
    status: ApprovalStatus
    requested_at: datetime
    expires_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    executed_at: datetime | None
    result: dict[str, Any] | None = Field(
        description="what the approved action did: `ok`, and its outcome or `error`/`message`"
    )


class CaseOutcome(BaseModel):
    id: str
    status: str
    outcome: str | None
    written_off_amount: str | None
    currency: str | None
    waits_for_writeback: bool


class WriteOffOut(BaseModel):
    """200: written off at once (``case``); 202: waiting for approval (``approval``)."""

    done: bool
    case: CaseOutcome | None = None
    approval: ApprovalOut | None = None


class WriteOffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Text = Field(min_length=3, max_length=2000)


class ProvisionalCreditIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_type: Text = Field(min_length=1, max_length=40, examples=["debit_card"])
    transaction_type: Text = Field(min_length=1, max_length=40, examples=["card_not_present"])
    reason: Text = Field(min_length=3, max_length=2000)


class ForceMatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    left_ids: list[Text] = Field(min_length=1, max_length=100, description="expected items")
    right_ids: list[Text] = Field(min_length=1, max_length=100, description="bank lines")
    justification: Text = Field(min_length=10, max_length=2000)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Text | None = Field(default=None, max_length=2000)


class DenyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Text = Field(min_length=1, max_length=2000)


def approval_out(a: Approval) -> ApprovalOut:
    return ApprovalOut(
        id=a.id, action=a.action, target=a.target, params=dict(a.params), reason=a.reason,
        requester=a.requester, status=a.status, requested_at=a.requested_at,
        expires_at=a.expires_at, decided_by=a.decided_by, decided_at=a.decided_at,
        decision_note=a.decision_note, executed_at=a.executed_at,
        result=None if a.result is None else dict(a.result),
    )  # fmt: skip


def _case_out(case: Case) -> CaseOutcome:
    amount = case.written_off_amount
    return CaseOutcome(id=case.id, status=case.status.value, outcome=case.outcome,
                       written_off_amount=None if amount is None else str(amount),
                       currency=case.currency,
                       waits_for_writeback=case.pending_resolution is not None)  # fmt: skip


# -- routes ------------------------------------------------------------------------------------


@router.post("/cases/{case_id}/write-off", response_model=WriteOffOut, dependencies=[Worker],
             responses={202: {"model": WriteOffOut, "description": "waiting for approval"},
                        **WRITE_ERRORS})  # fmt: skip
def write_off(case_id: str, body: WriteOffIn, response: Response, app: AppDep,
              who: PrincipalDep) -> WriteOffOut:  # fmt: skip
    """Write off the case's outstanding money: at once (200) when it is at or below the
    approval threshold, else as a request for a second person's approval (202)."""
    outcome = service.write_off(
        case_id, body.reason, who, uow=app.uow, clock=app.clock, settings=app.settings.web,
        executors=executors_for(app),
    )  # fmt: skip
    if outcome.approval is not None:
        response.status_code = status.HTTP_202_ACCEPTED
        return WriteOffOut(done=False, approval=approval_out(outcome.approval))
    assert outcome.case is not None
    return WriteOffOut(done=True, case=_case_out(outcome.case))


@router.post("/cases/{case_id}/provisional-credit", response_model=ApprovalOut,
             status_code=status.HTTP_202_ACCEPTED, dependencies=[Worker],
             responses=WRITE_ERRORS)  # fmt: skip
def provisional_credit(case_id: str, body: ProvisionalCreditIn, app: AppDep,
                       who: PrincipalDep) -> ApprovalOut:  # fmt: skip
    """Ask for a provisional credit; once approved, the provisional-credit table decides
    whether and how much to credit."""
    approval = service.request_provisional_credit(
        case_id, body.product_type, body.transaction_type, body.reason, who, uow=app.uow,
        clock=app.clock, settings=app.settings.web, executors=executors_for(app),
    )  # fmt: skip
    return approval_out(approval)


@router.post("/reconcile/force-match", response_model=ApprovalOut,
             status_code=status.HTTP_202_ACCEPTED, dependencies=[Worker],
             responses=WRITE_ERRORS)  # fmt: skip
def force_match(body: ForceMatchIn, app: AppDep, who: PrincipalDep) -> ApprovalOut:
    """Ask to match expected items with bank lines the engine did not pair."""
    approval = service.request_force_match(body.left_ids, body.right_ids, body.justification,
                                           who, uow=app.uow, clock=app.clock,
                                           settings=app.settings.web)  # fmt: skip
    return approval_out(approval)


@router.get("/approvals", response_model=list[ApprovalOut], dependencies=[Reader],
            responses=READ_ERRORS)  # fmt: skip
def list_approvals(
    app: AppDep,
    status_: Annotated[ApprovalStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ApprovalOut]:
    """Approval requests, newest first; ``status=requested`` lists those still waiting."""
    found = service.list_approvals(status_, reader=app.reader, clock=app.clock, limit=limit)
    return [approval_out(a) for a in found]


@router.get("/approvals/{approval_id}", response_model=ApprovalOut, dependencies=[Reader],
            responses=ITEM_ERRORS)  # fmt: skip
def get_approval(approval_id: str, app: AppDep) -> ApprovalOut:
    return approval_out(service.get_approval(approval_id, reader=app.reader, clock=app.clock))


@router.post("/approvals/{approval_id}/approve", response_model=ApprovalOut,
             dependencies=[Approver], responses=WRITE_ERRORS)  # fmt: skip
def approve(approval_id: str, app: AppDep, who: PrincipalDep,
            body: Annotated[DecisionIn | None, Body()] = None) -> ApprovalOut:  # fmt: skip
    """Approve another principal's request: the action runs once; its outcome is in
    ``result``. The requester cannot approve their own request (403)."""
    approval = service.approve(approval_id, who, uow=app.uow, clock=app.clock,
                               executors=executors_for(app),
                               note=None if body is None else body.note)  # fmt: skip
    return approval_out(approval)


@router.post("/approvals/{approval_id}/deny", response_model=ApprovalOut,
             dependencies=[Approver], responses=WRITE_ERRORS)  # fmt: skip
def deny(approval_id: str, body: DenyIn, app: AppDep, who: PrincipalDep) -> ApprovalOut:
    """Deny another principal's request: nothing runs."""
    approval = service.deny(approval_id, who, body.reason, uow=app.uow, clock=app.clock)
    return approval_out(approval)
