"""Working a case: move it, resolve, reopen, assign, note, attach evidence, snooze and wake;
and bulk changes. Every write is audited under the caller's name (``Principal.actor``)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, UploadFile
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from recoup.domain.errors import InvalidInputError, Location
from recoup.domain.identity import Permission, Principal
from recoup.entrypoints.api.deps import AppDep, Reader, require
from recoup.entrypoints.api.v1.cases import (
    AttachmentOut,
    CaseId,
    CaseOut,
    TimelineEntryOut,
    attachment_out,
    case_out,
)
from recoup.entrypoints.api.v1.common import ITEM_ERRORS, WRITE_ERRORS, Text, UtcTime
from recoup.services.bulk import BulkReport, bulk_assign, bulk_move
from recoup.services.case_notes import (
    add_note,
    assign_cases,
    attach_file,
    get_attachment,
    move_cases,
)
from recoup.services.cases import CaseFilter, assign_case, move_case, snooze_case, wake_case

router = APIRouter(tags=["cases"])

BINARY = {"type": "string", "format": "binary"}
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
"""The largest evidence file a case takes (10 MiB)."""

WorkerWho = Annotated[Principal, Depends(require(Permission.WORK))]
Reason = Annotated[
    Text, Field(min_length=1, max_length=2000, description="goes on the audit record")
]


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: Text = Field(max_length=20, description="triaged, in_progress, waiting, escalated, "
                                                "resolved or closed")  # fmt: skip
    reason: Reason
    resolution: Text | None = Field(
        default=None, max_length=40, description="with to=resolved: recovered, written_off, ..."
    )
    waiting_on: Text | None = Field(default=None, max_length=20,
                                    description="with to=waiting: customer, counterparty, "
                                                "internal")  # fmt: skip


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Text = Field(max_length=40, description="recovered, written_off, duplicate, ...")
    reason: Reason


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: Text | None = Field(
        max_length=100,
        description="a member of the case's owner team; null puts it back in the queue",
    )
    reason: Reason


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Text = Field(min_length=1, max_length=10_000)


class SnoozeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    until: UtcTime = Field(description="ISO 8601 time with a zone")
    reason: Reason


class BulkFilterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Text = Field(default="open", max_length=20)
    team: Text | None = Field(default=None, max_length=64)
    queue: Text | None = Field(default=None, max_length=80)
    type: Text | None = Field(default=None, max_length=64)


class BulkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["move", "resolve", "assign"]
    case_ids: list[uuid.UUID] | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description="the cases, by full id; or `filter`",
    )
    filter: BulkFilterIn | None = Field(default=None, description="the cases matching this")
    limit: int = Field(default=1000, ge=1, le=10_000, description="with `filter`: at most")
    reason: Reason
    to: Text | None = Field(default=None, max_length=20, description="move: the stage")
    resolution: Text | None = Field(
        default=None, max_length=40, description="resolve (or move to resolved): the code"
    )
    waiting_on: Text | None = Field(default=None, max_length=20)
    assignee: Text | None = Field(
        default=None, max_length=100, description="assign: the member; null: back to the queue"
    )


class BulkChange(BaseModel):
    case_id: str
    from_status: str
    to_status: str


class BulkOut(BaseModel):
    count: int
    applied: list[BulkChange]


def _case(app: Any, case: Any) -> dict[str, Any]:
    return case_out(case, app.clock.now())


@router.post("/cases/{case_id}/transitions", response_model=CaseOut, responses=WRITE_ERRORS,
             summary="Move a case to a lifecycle stage")  # fmt: skip
def transition(app: AppDep, who: WorkerWho, case_id: CaseId, body: TransitionIn) -> dict[str, Any]:
    case = move_case(case_id, body.to, body.reason, actor=who.actor, uow=app.uow, clock=app.clock,
                     resolution=body.resolution, waiting_on=body.waiting_on)  # fmt: skip
    return _case(app, case)


@router.post("/cases/{case_id}/resolve", response_model=CaseOut, responses=WRITE_ERRORS,
             summary="Resolve a case with a resolution code")  # fmt: skip
def resolve(app: AppDep, who: WorkerWho, case_id: CaseId, body: ResolveIn) -> dict[str, Any]:
    case = move_case(case_id, "resolved", body.reason, actor=who.actor, uow=app.uow,
                     clock=app.clock, resolution=body.code)  # fmt: skip
    return _case(app, case)


@router.post("/cases/{case_id}/reopen", response_model=CaseOut, responses=WRITE_ERRORS,
             summary="Reopen a resolved or closed case (counted as rework)")  # fmt: skip
def reopen(app: AppDep, who: WorkerWho, case_id: CaseId, body: ReasonIn) -> dict[str, Any]:
    case = move_case(case_id, "triaged", body.reason, actor=who.actor, uow=app.uow,
                     clock=app.clock)  # fmt: skip
    return _case(app, case)


@router.post("/cases/{case_id}/assign", response_model=CaseOut, responses=WRITE_ERRORS,
             summary="Give a case to a member of its team, or back to the queue")  # fmt: skip
def assign(app: AppDep, who: WorkerWho, case_id: CaseId, body: AssignIn) -> dict[str, Any]:
    case = assign_case(case_id, body.to, body.reason, actor=who.actor, uow=app.uow,
                       clock=app.clock, directory=app.policy.teams)  # fmt: skip
    return _case(app, case)


@router.post("/cases/{case_id}/snooze", response_model=CaseOut, responses=WRITE_ERRORS,
             summary="Take an open case out of the working queue until a time")  # fmt: skip
def snooze(app: AppDep, who: WorkerWho, case_id: CaseId, body: SnoozeIn) -> dict[str, Any]:
    case = snooze_case(case_id, body.until, body.reason, actor=who.actor, uow=app.uow,
                       clock=app.clock)  # fmt: skip
    return _case(app, case)


@router.post("/cases/{case_id}/wake", response_model=CaseOut, responses=WRITE_ERRORS,
             summary="End a snooze now")  # fmt: skip
def wake(app: AppDep, who: WorkerWho, case_id: CaseId) -> dict[str, Any]:
    return _case(app, wake_case(case_id, actor=who.actor, uow=app.uow, clock=app.clock))


@router.post("/cases/{case_id}/notes", response_model=TimelineEntryOut, status_code=201,
             responses=WRITE_ERRORS, summary="Add a note to the case's timeline")  # fmt: skip
def note(app: AppDep, who: WorkerWho, case_id: CaseId, body: NoteIn) -> dict[str, Any]:
    entry = add_note(case_id, body.text, actor=who.actor, uow=app.uow, clock=app.clock)
    return {**entry, "finding_id": None}


@router.post("/cases/{case_id}/attachments", response_model=AttachmentOut, status_code=201,
             responses=WRITE_ERRORS,
             summary="Attach an evidence file (multipart, at most 10 MiB)")  # fmt: skip
def attach(
    app: AppDep, who: WorkerWho, case_id: CaseId, file: Annotated[UploadFile, File()]
) -> dict[str, Any]:
    content = file.file.read(MAX_ATTACHMENT_BYTES + 1)
    done = attach_file(case_id, filename=file.filename or "",
                       content_type=file.content_type or "application/octet-stream",
                       content=content, max_bytes=MAX_ATTACHMENT_BYTES, actor=who.actor,
                       uow=app.uow, clock=app.clock)  # fmt: skip
    return attachment_out(done.attachment)


DOWNLOAD: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/octet-stream": {"schema": BINARY}},
        "description": "the file as uploaded, with its content type",
    }
}


@router.get("/cases/{case_id}/attachments/{attachment_id}", dependencies=[Reader],
            responses={**ITEM_ERRORS, **DOWNLOAD}, response_class=Response,
            summary="Download an attachment")  # fmt: skip
def download(app: AppDep, case_id: CaseId, attachment_id: uuid.UUID) -> Response:
    found = get_attachment(case_id, str(attachment_id), reader=app.reader)
    name = quote(found["filename"], safe="")
    headers = {
        "Content-Disposition": f"attachment; filename*=UTF-8''{name}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
        "Digest": f"sha-256={found['sha256']}",
    }
    return Response(bytes(found["content"]), media_type=found["content_type"], headers=headers)


# -- bulk --------------------------------------------------------------------------------------


def _report(report: BulkReport) -> dict[str, Any]:
    applied = [{"case_id": c, "from_status": a, "to_status": b} for c, a, b in report.applied]
    return {"count": len(applied), "applied": applied}


@router.post("/cases/bulk", response_model=BulkOut, responses=WRITE_ERRORS,
             summary="Move, resolve or assign many cases at once, all or nothing")  # fmt: skip
def bulk(app: AppDep, who: WorkerWho, body: BulkIn) -> dict[str, Any]:
    if (body.case_ids is None) == (body.filter is None):
        raise InvalidInputError("give exactly one of case_ids and filter",
                                location=Location(field="case_ids"))  # fmt: skip
    if body.action == "move" and body.to is None:
        raise InvalidInputError("a move needs `to`", location=Location(field="to"))
    if body.action == "resolve" and body.resolution is None:
        raise InvalidInputError("resolving needs `resolution`",
                                location=Location(field="resolution"))  # fmt: skip
    to = "resolved" if body.action == "resolve" else (body.to or "")
    common: dict[str, Any] = {"actor": who.actor, "uow": app.uow, "clock": app.clock}
    if body.case_ids is not None:
        ids = [str(i) for i in body.case_ids]
        if body.action == "assign":
            report = assign_cases(ids, body.assignee, body.reason, directory=app.policy.teams,
                                  **common)  # fmt: skip
        else:
            report = move_cases(ids, to, body.reason, resolution=body.resolution,
                                waiting_on=body.waiting_on, **common)  # fmt: skip
        return _report(report)
    assert body.filter is not None
    f = body.filter
    filters = CaseFilter(owner_team=f.team, type=f.type, queue=f.queue,
                         status=None if f.status == "all" else f.status)  # fmt: skip
    if body.action == "assign":
        report = bulk_assign(filters, body.assignee, body.reason, reader=app.reader,
                             limit=body.limit, directory=app.policy.teams, **common)  # fmt: skip
    else:
        report = bulk_move(filters, to, body.reason, reader=app.reader, limit=body.limit,
                           resolution=body.resolution, waiting_on=body.waiting_on,
                           **common)  # fmt: skip
    return _report(report)
