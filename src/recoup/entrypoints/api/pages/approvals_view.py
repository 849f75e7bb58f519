"""The pages' side of four-eyes approvals (``services/approvals.py``): what a case page and the
approvals page show, and the write-off request a case page makes."""

from __future__ import annotations

from typing import Any

from recoup.bootstrap import App
from recoup.domain.approvals import Approval, ApprovalStatus
from recoup.domain.cases.case import Case
from recoup.domain.identity import Principal
from recoup.services import approvals

RECENT = 100
"""Approvals read for a page (newest first)."""


def executors(app: App) -> approvals.Executors:
    return app.approval_executors()


def row(approval: Approval, app: App) -> dict[str, Any]:
    """One approval as the templates read it."""
    current = approval.as_of(app.clock.now())
    params = dict(current.params)
    return {
        "id": current.id,
        "action": current.action.value,
        "case_id": current.target if current.action.value != "force_match" else None,
        "subject": current.target,
        "amount": params.get("amount"),
        "currency": params.get("currency"),
        "requested_by": current.requester,
        "requested_at": current.requested_at,
        "reason": current.reason,
        "status": current.status.value,
        "decided_by": current.decided_by,
        "result": current.result,
    }


def pending(app: App) -> list[dict[str, Any]]:
    found = approvals.list_approvals(ApprovalStatus.REQUESTED, reader=app.reader,
                                     clock=app.clock, limit=RECENT)  # fmt: skip
    return [row(a, app) for a in found]


def decided(app: App) -> list[dict[str, Any]]:
    found = approvals.list_approvals(None, reader=app.reader, clock=app.clock, limit=RECENT)
    return [row(a, app) for a in found if a.as_of(app.clock.now()).status
            is not ApprovalStatus.REQUESTED][:20]  # fmt: skip


def for_case(app: App, case_id: str) -> list[dict[str, Any]]:
    found = approvals.list_approvals(None, reader=app.reader, clock=app.clock, limit=RECENT)
    return [row(a, app) for a in found if a.target == case_id]


def request_write_off(app: App, case: Case, reason: str, who: Principal) -> str:
    """Write off at once (at or below the threshold) or ask for approval; which one happened
    (a key of the case page's messages)."""
    outcome = approvals.write_off(case.id, reason, who, uow=app.uow, clock=app.clock,
                                  settings=app.settings.web, executors=executors(app))  # fmt: skip
    return "requested" if outcome.approval is not None else "written_off"


def decide(app: App, approval_id: str, decision: str, reason: str, who: Principal) -> str:
    if decision == "approve":
        done = approvals.approve(approval_id, who, uow=app.uow, clock=app.clock,
                                 executors=executors(app), note=reason.strip() or None)  # fmt: skip
        result = done.result or {}
        if not result.get("ok", False):
            return "failed"
        return "approved"
    approvals.deny(approval_id, who, reason, uow=app.uow, clock=app.clock)
    return "denied"
