"""``GET /ledger/entries``: the double-entry postings resolutions produced."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from recoup.domain.errors import InvalidInputError, Location
from recoup.domain.recovery.ledger import JournalEntry, PostingKind
from recoup.entrypoints.api.deps import AppDep, Reader
from recoup.entrypoints.api.v1.common import READ_ERRORS, UtcTime
from recoup.services.writeback import journal_entries

router = APIRouter(tags=["ledger"])


class LineOut(BaseModel):
    account_code: str
    account_name: str
    account_kind: str
    debit: str | None = Field(description="decimal string in `currency`; one of debit, credit")
    credit: str | None
    currency: str
    memo: str


class PostingOut(BaseModel):
    id: str
    case_id: str
    kind: str
    at: datetime
    reverses: str | None = Field(description="the entry a reversal mirrors")
    lines: list[LineOut]


class PostingList(BaseModel):
    items: list[PostingOut]
    truncated: bool = Field(description="more entries matched than `limit`")


def posting_out(entry: JournalEntry) -> dict[str, Any]:
    return {
        "id": entry.id, "case_id": entry.case_id, "kind": entry.kind.value, "at": entry.at,
        "reverses": entry.reverses,
        "lines": [{"account_code": line.account.code, "account_name": line.account.name,
                   "account_kind": line.account.kind.value,
                   "debit": None if line.debit is None else str(line.debit.amount),
                   "credit": None if line.credit is None else str(line.credit.amount),
                   "currency": line.money.currency, "memo": line.memo}
                  for line in entry.lines],
    }  # fmt: skip


@router.get("/ledger/entries", response_model=PostingList, dependencies=[Reader],
            responses=READ_ERRORS, summary="Journal entries, oldest first")  # fmt: skip
def list_entries(
    app: AppDep,
    case: Annotated[uuid.UUID | None, Query(description="entries of this case")] = None,
    kind: Annotated[
        PostingKind | None, Query(description="write_off, provisional_credit, chargeback, ...")
    ] = None,
    since: Annotated[UtcTime | None, Query(description="inclusive")] = None,
    until: Annotated[UtcTime | None, Query(description="exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1_000,
) -> dict[str, Any]:
    if since is not None and until is not None and until <= since:
        raise InvalidInputError("until must be after since", location=Location(field="until"))
    entries = journal_entries(reader=app.reader, since=since, until=until,
                              case_id=None if case is None else str(case))  # fmt: skip
    if kind is not None:
        entries = [e for e in entries if e.kind is kind]
    return {"items": [posting_out(e) for e in entries[:limit]],
            "truncated": len(entries) > limit}  # fmt: skip
