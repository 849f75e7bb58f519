"""``GET /cases`` (the queue, filtered and paged) and ``GET /cases/{id}`` (one case with its
findings, evidence, timeline, decision trace, recovery, messages, postings and audit)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from recoup.domain.audit import AuditRecord
from recoup.domain.cases.case import Case
from recoup.domain.cases.urgency import urgency_score
from recoup.domain.policy import explain_record
from recoup.entrypoints.api.deps import AppDep, Reader
from recoup.entrypoints.api.v1.common import (
    ITEM_ERRORS,
    READ_ERRORS,
    CursorQuery,
    Limit,
    Text,
    TextQuery,
    amount,
    decode_cursor,
    encode_cursor,
    keyset_before,
    keyset_page,
)
from recoup.entrypoints.api.v1.findings import FindingOut, finding_out
from recoup.entrypoints.api.v1.ledger import PostingOut, posting_out
from recoup.services.api_views import CaseView, case_page, case_view
from recoup.services.cases import URGENCY_SCAN, CaseFilter

router = APIRouter(tags=["cases"])

CaseId = Annotated[Text, Path(max_length=64, description="a case id or a unique start of it")]


class CaseOut(BaseModel):
    id: str
    type: str
    category: str
    entity_kind: str
    entity_key: str
    title: str
    status: str
    tier: str
    kind: str = Field(description="policy or system")
    breakpoint: str
    owner_team: str
    queue: str
    assignee: str | None
    amount: str | None = Field(description="money at stake, decimal string in `currency`")
    currency: str | None
    urgency_score: float
    opened_at: datetime
    updated_at: datetime
    first_seen_at: datetime
    last_seen_at: datetime
    sla_goal_at: datetime
    sla_due_at: datetime
    sla_breached_at: datetime | None
    escalation_level: int
    triaged_at: datetime | None
    in_progress_at: datetime | None
    waiting_at: datetime | None
    waiting_on: str | None
    escalated_at: datetime | None
    snoozed_until: datetime | None
    accepted_until: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    outcome: str | None
    reopen_count: int
    pauses_automation: bool
    finding_count: int
    counterparty: str | None
    duplicate_of: str | None
    duplicate_score: float | None
    recovered_amount: str | None
    written_off_amount: str | None
    lost_amount: str | None
    handling_cost: str | None
    pending_resolution: dict[str, Any] | None
    version: int = Field(description="changes on every write")


class CasePage(BaseModel):
    items: list[CaseOut]
    next_cursor: str | None


class EvidenceEvent(BaseModel):
    id: str
    source: str
    external_id: str
    type: str
    occurred_at: datetime
    amount: str | None
    currency: str | None
    reason_code: str | None


class TimelineEntryOut(BaseModel):
    id: str
    at: datetime
    kind: str
    actor: str
    summary: str
    finding_id: str | None
    data: dict[str, Any]


class DecisionOut(BaseModel):
    record: dict[str, Any] = Field(description="outputs and the table rows that decided them")
    explanation: list[str]


class AttemptOut(BaseModel):
    id: str
    step_index: int
    kind: str
    at: datetime
    outcome: str
    detail: str
    amount: str | None
    currency: str | None


class HistoryOut(BaseModel):
    at: datetime
    event: str
    step_index: int
    attempt: int
    detail: str


class RecoveryOut(BaseModel):
    ladder: str
    status: str
    step_index: int
    attempts: int
    started_at: datetime
    next_at: datetime | None
    history: list[HistoryOut]
    actions: list[AttemptOut]


class MessageOut(BaseModel):
    id: str
    channel: str
    recipient: str
    template: str
    kind: str
    subject: str
    status: str
    at: datetime
    detail: str


class WritebackOut(BaseModel):
    id: str
    target: str
    operation: str
    status: str
    attempts: int
    created_at: datetime
    next_at: datetime | None
    confirmed_at: datetime | None
    last_http_status: int | None
    last_detail: str | None


class AttachmentOut(BaseModel):
    id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


class AuditOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    data: Any
    hash: str


class CaseDetailOut(BaseModel):
    case: CaseOut
    next_action: str = Field(description="what to do next, from the case's state")
    findings: list[FindingOut]
    evidence: list[EvidenceEvent]
    timeline: list[TimelineEntryOut]
    decision: DecisionOut | None = Field(description="None: taxonomy defaults decided")
    recovery: RecoveryOut | None
    messages: list[MessageOut]
    postings: list[PostingOut]
    writebacks: list[WritebackOut]
    attachments: list[AttachmentOut]
    audit: list[AuditOut]


def case_out(case: Case, now: datetime) -> dict[str, Any]:
    fields = {name: getattr(case, name) for name in CaseOut.model_fields if hasattr(case, name)}
    money = ("amount", "recovered_amount", "written_off_amount", "lost_amount", "handling_cost")
    return {**fields, **{name: amount(getattr(case, name)) for name in money},
            "status": case.status.value, "tier": case.tier.value,
            "urgency_score": urgency_score(case, now)}  # fmt: skip


def attachment_out(row: dict[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in AttachmentOut.model_fields} | {"id": str(row["id"])}


def audit_out(record: AuditRecord) -> dict[str, Any]:
    return {"seq": record.seq, "at": record.at, "actor": record.actor, "action": record.action,
            "data": json.loads(record.data), "hash": record.hash}  # fmt: skip


def _recovery(view: CaseView) -> dict[str, Any] | None:
    climb = view.climb
    if climb is None:
        return None
    return {
        "ladder": climb.ladder, "status": climb.status.value, "step_index": climb.step_index,
        "attempts": climb.attempts, "started_at": climb.started_at, "next_at": climb.next_at,
        "history": [{"at": h.at, "event": h.event.value, "step_index": h.step_index,
                     "attempt": h.attempt, "detail": h.detail} for h in climb.history],
        "actions": [{"id": a.id, "step_index": a.step_index, "kind": a.kind, "at": a.at,
                     "outcome": a.outcome, "detail": a.detail, "amount": amount(a.amount),
                     "currency": a.currency} for a in view.attempts],
    }  # fmt: skip


def detail_out(view: CaseView, now: datetime) -> dict[str, Any]:
    detail = view.detail
    case = detail.case
    decision = None
    if case.decision is not None:
        decision = {"record": case.decision, "explanation": explain_record(case.decision)}
    return {
        "case": case_out(case, now),
        "next_action": view.next_action,
        "findings": [finding_out(f) for f in detail.findings],
        "evidence": [{**e, "id": str(e["id"]), "amount": amount(e["amount"])}
                     for e in detail.events],
        "timeline": [{**e, "id": str(e["id"]),
                      "finding_id": None if e["finding_id"] is None else str(e["finding_id"]),
                      "data": e["data"] or {}} for e in detail.timeline],
        "decision": decision,
        "recovery": _recovery(view),
        "messages": [{**m, "id": str(m["id"])} for m in view.messages],
        "postings": [posting_out(p) for p in view.postings],
        "writebacks": [{"id": w.id, "target": w.target, "operation": w.operation,
                        "status": w.status.value, "attempts": w.attempts,
                        "created_at": w.created_at, "next_at": w.next_at,
                        "confirmed_at": w.confirmed_at, "last_http_status": w.last_http_status,
                        "last_detail": w.last_detail} for w in view.writebacks],
        "attachments": [attachment_out(a) for a in view.attachments],
        "audit": [audit_out(r) for r in detail.audit],
    }  # fmt: skip


StatusQuery = Annotated[
    Text, Query(max_length=20, description="open (default), all, or a status: new, triaged, ...")
]


@router.get("/cases", response_model=CasePage, dependencies=[Reader], responses=READ_ERRORS,
            summary="List cases, newest or most urgent first")  # fmt: skip
def list_cases(
    app: AppDep,
    status: StatusQuery = "open",
    team: Annotated[TextQuery, Query(description="owner team, e.g. payments_ops")] = None,
    queue: Annotated[TextQuery, Query(description="queue, e.g. disputes.policy")] = None,
    tier: TextQuery = None,
    kind: Annotated[TextQuery, Query(description="policy or system")] = None,
    type: Annotated[TextQuery, Query(description="finding type")] = None,
    assignee: TextQuery = None,
    sort: Literal["newest", "urgency"] = "newest",
    limit: Limit = 50,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    now = app.clock.now()
    filters = CaseFilter(owner_team=team, type=type, status=None if status == "all" else status,
                         tier=tier, queue=queue, assignee=assignee)  # fmt: skip
    kind_name = f"cases.{sort}"
    before, offset = None, 0
    if sort == "urgency":
        data = decode_cursor(cursor, kind_name)
        raw = data.get("o") if data else 0
        offset = raw if isinstance(raw, int) and 0 <= raw <= URGENCY_SCAN else 0
    else:
        before = keyset_before(cursor, kind_name)
    rows = case_page(filters, kind=kind, sort=sort, reader=app.reader, before=before,
                     offset=offset, limit=limit + 1, now=now)  # fmt: skip
    if sort == "urgency":
        page = rows[:limit]
        more = len(rows) > limit and offset + limit < URGENCY_SCAN
        next_cursor = encode_cursor({"k": kind_name, "o": offset + limit}) if more else None
    else:
        page, next_cursor = keyset_page(kind_name, rows, limit, lambda c: c.opened_at,
                                        lambda c: c.id)  # fmt: skip
    return {"items": [case_out(c, now) for c in page], "next_cursor": next_cursor}


@router.get("/cases/{case_id}", response_model=CaseDetailOut, dependencies=[Reader],
            responses=ITEM_ERRORS, summary="One case with everything it carries")  # fmt: skip
def show_case(app: AppDep, case_id: CaseId) -> dict[str, Any]:
    now = app.clock.now()
    return detail_out(case_view(case_id, reader=app.reader, now=now), now)
