"""``GET /queues``: every queue with open cases, by tier, and how many are past their deadline."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from recoup.entrypoints.api.deps import AppDep, Reader
from recoup.entrypoints.api.v1.common import READ_ERRORS
from recoup.services.api_views import queue_overview

router = APIRouter(tags=["queues"])


class QueueOut(BaseModel):
    queue: str = Field(description="<team>.<kind>")
    owner_team: str
    kind: str = Field(description="policy or system: the two never share a queue")
    open: int
    breached: int = Field(description="open cases past their SLA deadline")
    by_tier: dict[str, int] = Field(description="open cases per tier")


@router.get("/queues", response_model=list[QueueOut], dependencies=[Reader],
            responses=READ_ERRORS, summary="Queues with open counts")  # fmt: skip
def list_queues(app: AppDep) -> list[dict[str, Any]]:
    views = queue_overview(reader=app.reader, now=app.clock.now())
    return [{"queue": v.queue, "owner_team": v.owner_team, "kind": v.kind, "open": v.open,
             "breached": v.breached, "by_tier": v.by_tier} for v in views]  # fmt: skip
