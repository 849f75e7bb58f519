"""``GET /quarantine``: records that could not become events; ``POST /quarantine/{id}/replay``
and ``/discard`` (admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from recoup.adapters.connectors.webhooks.providers import webhook_reparsers
from recoup.domain.identity import Permission, Principal
from recoup.domain.ports import QuarantineItem
from recoup.entrypoints.api.deps import Admin, AppDep, PrincipalDep, Reader, require
from recoup.entrypoints.api.v1.common import READ_ERRORS, WRITE_ERRORS, Text
from recoup.services.quarantine import discard_quarantined, list_quarantine, replay_quarantined

router = APIRouter(tags=["quarantine"])

ItemId = Annotated[Text, Path(max_length=64, description="a record id or a unique start of it")]


class QuarantineOut(BaseModel):
    id: str
    format: str
    label: str | None = Field(description="the file or source it came from")
    line: int | None
    field: str | None
    code: str
    reason: str
    raw: str
    status: str = Field(description="open, replayed or discarded")
    seen_count: int
    attempts: int
    first_seen_at: datetime
    last_seen_at: datetime
    event_id: str | None = Field(description="the event a replay produced")


class Refused(BaseModel):
    id: str
    reason: str


class ReplayOut(BaseModel):
    replayed: list[str]
    still_refused: list[Refused]
    findings: int
    cases_opened: int


class DiscardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text = Field(min_length=1, max_length=2000, description="goes on the audit record")


def item_out(item: QuarantineItem) -> dict[str, Any]:
    return {name: getattr(item, name) for name in QuarantineOut.model_fields}


@router.get("/quarantine", response_model=list[QuarantineOut], dependencies=[Reader],
            responses=READ_ERRORS, summary="Quarantined records, oldest first")  # fmt: skip
def list_items(
    app: AppDep,
    status: Literal["open", "replayed", "discarded", "all"] = "open",
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[dict[str, Any]]:
    items = list_quarantine(reader=app.reader, status=None if status == "all" else status,
                            limit=limit)  # fmt: skip
    return [item_out(i) for i in items]


@router.post("/quarantine/{item_id}/replay", response_model=ReplayOut, dependencies=[Admin],
             responses=WRITE_ERRORS,
             summary="Parse a record again; ingest it if it passes")  # fmt: skip
def replay(app: AppDep, who: PrincipalDep, item_id: ItemId) -> dict[str, Any]:
    report = replay_quarantined([item_id], uow=app.uow, clock=app.clock, detectors=app.detectors,
                                policy=app.policy, reparsers=webhook_reparsers(),
                                actor=who.actor)  # fmt: skip
    return {"replayed": [i.id for i in report.replayed],
            "still_refused": [{"id": i.id, "reason": r.reason} for i, r in report.still_bad],
            "findings": report.findings, "cases_opened": report.cases_opened}  # fmt: skip


@router.post("/quarantine/{item_id}/discard", response_model=QuarantineOut,
             responses=WRITE_ERRORS, summary="Give up on a record, with a reason")  # fmt: skip
def discard(
    app: AppDep,
    who: Annotated[Principal, Depends(require(Permission.ADMIN))],
    item_id: ItemId,
    body: DiscardIn,
) -> dict[str, Any]:
    item = discard_quarantined(item_id, reason=body.reason, actor=who.actor, uow=app.uow,
                               clock=app.clock)  # fmt: skip
    return item_out(item) | {"status": "discarded"}
