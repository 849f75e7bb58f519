"""``GET /findings`` and ``GET /findings/{id}``: what the detectors saw."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from recoup.entrypoints.api.deps import AppDep, Reader
from recoup.entrypoints.api.v1.common import (
    ITEM_ERRORS,
    READ_ERRORS,
    CursorQuery,
    Limit,
    TextQuery,
    amount,
    keyset_before,
    keyset_page,
)
from recoup.services.api_views import finding_page, get_finding

router = APIRouter(tags=["findings"])


class FindingOut(BaseModel):
    id: str
    type: str
    entity_kind: str
    entity_key: str
    occurred_at: datetime
    detected_at: datetime
    trigger_event_id: str
    evidence: list[str] = Field(description="ids of the events that show it")
    summary: str
    tier: str
    breakpoint: str
    kind: str = Field(description="policy or system")
    amount: str | None = Field(description="exposure, decimal string in `currency`")
    currency: str | None
    exposure_key: str | None
    reason_code: str | None
    detail: dict[str, Any]
    case_id: str


class FindingPage(BaseModel):
    items: list[FindingOut]
    next_cursor: str | None


def finding_out(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "id": str(row["id"]), "trigger_event_id": str(row["trigger_event_id"]),
            "case_id": str(row["case_id"]), "amount": amount(row["amount"]),
            "evidence": [str(e) for e in row["evidence"] or []],
            "detail": row["detail"] or {}}  # fmt: skip


@router.get("/findings", response_model=FindingPage, dependencies=[Reader],
            responses=READ_ERRORS, summary="List findings, newest first")  # fmt: skip
def list_findings(
    app: AppDep,
    type: TextQuery = None,
    case: Annotated[uuid.UUID | None, Query(description="the case they belong to")] = None,
    limit: Limit = 50,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    rows = finding_page(type, None if case is None else str(case), reader=app.reader,
                        before=keyset_before(cursor, "findings"), limit=limit + 1)  # fmt: skip
    page, next_cursor = keyset_page("findings", rows, limit, lambda r: r["occurred_at"],
                                    lambda r: r["id"])  # fmt: skip
    return {"items": [finding_out(r) for r in page], "next_cursor": next_cursor}


@router.get("/findings/{finding_id}", response_model=FindingOut, dependencies=[Reader],
            responses=ITEM_ERRORS, summary="One finding")  # fmt: skip
def show_finding(app: AppDep, finding_id: uuid.UUID) -> dict[str, Any]:
    return finding_out(get_finding(str(finding_id), reader=app.reader))
