"""Reconciliation: runs and their reports, breaks, and the review queue of suggested matches
(confirm or reject). Force-matching is a sensitive action: see ``approvals.py``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from recoup.domain.identity import Permission, Principal
from recoup.entrypoints.api.deps import AppDep, Reader, require
from recoup.entrypoints.api.v1.common import (
    ITEM_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    CursorQuery,
    Limit,
    Text,
    TextQuery,
    amount,
    ident,
    keyset_before,
    keyset_page,
)
from recoup.services.api_views import break_page, reconcile_run, reconcile_runs
from recoup.services.reconcile import decide_suggestion, review_queue

router = APIRouter(tags=["reconcile"])


class RunOut(BaseModel):
    id: str
    rules_version: int
    rules_hash: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    stats: dict[str, Any] = Field(
        description="the run's report: items, pairs by status, "
        "breaks by reason, money left unreconciled"
    )


class BreakOut(BaseModel):
    id: str
    item_id: str = Field(description="the event that did not reconcile")
    side: str = Field(description="left (expected) or right (bank line)")
    reason: str
    field: str | None = Field(description="the field that broke")
    expected: str | None
    actual: str | None
    candidate_id: str | None = Field(description="the nearest counterpart, when one was close")
    status: str
    first_seen_at: datetime
    last_seen_at: datetime
    run_id: str


class BreakPage(BaseModel):
    items: list[BreakOut]
    next_cursor: str | None


class PairOut(BaseModel):
    id: str
    match_id: str
    run_id: str
    left_id: str
    right_id: str
    rule: str
    score: float
    status: str
    group_size: int
    amount_diff: str = Field(description="decimal string")
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    justification: str | None


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text = Field(min_length=1, max_length=2000, description="goes on the audit record")


class DecisionOut(BaseModel):
    match_id: str
    status: str
    pairs: int


def _run(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "id": str(row["id"]), "stats": row["stats"] or {}}


def _ids(row: dict[str, Any], *names: str) -> dict[str, Any]:
    return {**row, **{name: ident(row[name]) for name in names}}


@router.get("/reconcile/runs", response_model=list[RunOut], dependencies=[Reader],
            responses=READ_ERRORS, summary="Reconciliation runs, newest first")  # fmt: skip
def list_runs(app: AppDep, limit: Limit = 50) -> list[dict[str, Any]]:
    return [_run(r) for r in reconcile_runs(reader=app.reader, limit=limit)]


@router.get("/reconcile/runs/{run_id}", response_model=RunOut, dependencies=[Reader],
            responses=ITEM_ERRORS, summary="One run and its report")  # fmt: skip
def show_run(app: AppDep, run_id: uuid.UUID) -> dict[str, Any]:
    return _run(reconcile_run(str(run_id), reader=app.reader))


@router.get("/reconcile/breaks", response_model=BreakPage, dependencies=[Reader],
            responses=READ_ERRORS, summary="Breaks, newest first")  # fmt: skip
def list_breaks(
    app: AppDep,
    status: Annotated[
        Literal["open", "resolved", "all"], Query(description="open (default), resolved, all")
    ] = "open",
    reason: TextQuery = None,
    side: Literal["left", "right"] | None = None,
    run: Annotated[uuid.UUID | None, Query(description="breaks last seen by this run")] = None,
    limit: Limit = 50,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    filters = {"status": None if status == "all" else status, "reason": reason, "side": side,
               "run_id": None if run is None else str(run)}  # fmt: skip
    rows = break_page(filters, reader=app.reader, before=keyset_before(cursor, "breaks"),
                      limit=limit + 1)  # fmt: skip
    page, next_cursor = keyset_page("breaks", rows, limit, lambda r: r["first_seen_at"],
                                    lambda r: r["id"])  # fmt: skip
    items = [_ids(r, "id", "item_id", "candidate_id", "run_id") for r in page]
    return {"items": items, "next_cursor": next_cursor}


@router.get("/reconcile/suggestions", response_model=list[PairOut], dependencies=[Reader],
            responses=READ_ERRORS, summary="Suggested pairs waiting for review")  # fmt: skip
def list_suggestions(
    app: AppDep, limit: Annotated[int, Query(ge=1, le=10_000)] = 100
) -> list[dict[str, Any]]:
    rows = review_queue(reader=app.reader, limit=limit)
    return [{**_ids(r, "id", "match_id", "run_id", "left_id", "right_id"),
             "amount_diff": amount(r["amount_diff"])} for r in rows]  # fmt: skip


WorkerWho = Annotated[Principal, Depends(require(Permission.WORK))]


def _decide(app: Any, who: Principal, match_id: uuid.UUID, confirm: bool,
            body: DecisionIn) -> dict[str, Any]:  # fmt: skip
    pairs = decide_suggestion(str(match_id), confirm, body.reason, actor=who.actor, uow=app.uow,
                              clock=app.clock)  # fmt: skip
    return {"match_id": str(match_id), "status": "confirmed" if confirm else "rejected",
            "pairs": pairs}  # fmt: skip


@router.post("/reconcile/suggestions/{match_id}/confirm", response_model=DecisionOut,
             responses=WRITE_ERRORS, summary="Confirm a suggested match")  # fmt: skip
def confirm(app: AppDep, who: WorkerWho, match_id: uuid.UUID, body: DecisionIn) -> dict[str, Any]:
    return _decide(app, who, match_id, True, body)


@router.post("/reconcile/suggestions/{match_id}/reject", response_model=DecisionOut,
             responses=WRITE_ERRORS, summary="Reject a suggested match")  # fmt: skip
def reject(app: AppDep, who: WorkerWho, match_id: uuid.UUID, body: DecisionIn) -> dict[str, Any]:
    return _decide(app, who, match_id, False, body)
