"""``GET /events`` and ``GET /events/{id}``: the normalised facts sources sent."""

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
    Text,
    TextQuery,
    UtcTime,
    amount,
    ident,
    keyset_before,
    keyset_page,
)
from recoup.services.api_views import EventFilter, event_page, get_event

router = APIRouter(tags=["events"])


class EventOut(BaseModel):
    id: str
    source: str
    external_id: str
    type: str
    occurred_at: datetime
    received_at: datetime
    amount: str | None = Field(description="decimal string, in `currency`")
    currency: str | None
    direction: str | None
    reason_code: str | None
    status: str | None
    refs: dict[str, Any] = Field(description="entity kind -> key, e.g. payment -> pi_1")
    attributes: dict[str, Any]
    run_id: str | None = Field(description="the ingest run that stored it")


class EventDetail(EventOut):
    raw: str = Field(description="the payload as the source sent it")


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: str | None


def event_out(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "id": str(row["id"]), "amount": amount(row["amount"]),
            "run_id": ident(row["run_id"]), "refs": row["refs"] or {},
            "attributes": row["attributes"] or {}}  # fmt: skip


@router.get("/events", response_model=EventPage, dependencies=[Reader], responses=READ_ERRORS,
            summary="List events, newest first")  # fmt: skip
def list_events(
    app: AppDep,
    source: TextQuery = None,
    type: TextQuery = None,
    ref: Annotated[
        Text | None, Query(max_length=200, description="kind:key of an entity, e.g. payment:pi_1")
    ] = None,
    occurred_from: Annotated[UtcTime | None, Query(description="inclusive")] = None,
    occurred_to: Annotated[UtcTime | None, Query(description="exclusive")] = None,
    limit: Limit = 50,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    filters = EventFilter(source=source, type=type, ref=ref, occurred_from=occurred_from,
                          occurred_to=occurred_to)  # fmt: skip
    rows = event_page(filters, reader=app.reader, before=keyset_before(cursor, "events"),
                      limit=limit + 1)  # fmt: skip
    page, next_cursor = keyset_page("events", rows, limit, lambda r: r["occurred_at"],
                                    lambda r: r["id"])  # fmt: skip
    return {"items": [event_out(r) for r in page], "next_cursor": next_cursor}


@router.get("/events/{event_id}", response_model=EventDetail, dependencies=[Reader],
            responses=ITEM_ERRORS, summary="One event with its raw payload")  # fmt: skip
def show_event(app: AppDep, event_id: uuid.UUID) -> dict[str, Any]:
    return event_out(get_event(str(event_id), reader=app.reader))
