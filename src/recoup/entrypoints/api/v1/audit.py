"""``GET /audit/export`` (the hash-chained trail as NDJSON, streamed, with its head and a
verification record) and ``GET /audit/verify``.

Each exported record carries exactly the fields its hash covers (``data`` as the stored
canonical JSON text, ``at`` in UTC with microseconds), so an auditor can recompute the chain
without Recoup: ``sha256("\\x1f".join(seq, at, actor, action, subject_type, subject_id, data,
prev_hash))``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.responses import StreamingResponse

from recoup.entrypoints.api.deps import AppDep, Auditor
from recoup.entrypoints.api.v1.common import problems
from recoup.services.api_views import AuditSnapshot, audit_records_upto, audit_snapshot

router = APIRouter(tags=["audit"])

NDJSON = "application/x-ndjson"


class ChainProblem(BaseModel):
    seq: int = Field(description="the first record that does not hold")
    reason: str


class VerificationOut(BaseModel):
    intact: bool
    records: int = Field(description="records verified")
    head_seq: int
    head_hash: str
    problem: ChainProblem | None


def verification(snap: AuditSnapshot) -> dict[str, Any]:
    problem = snap.problem
    return {"intact": snap.is_intact, "records": snap.records, "head_seq": snap.head_seq,
            "head_hash": snap.head_hash,
            "problem": None if problem is None else {"seq": problem.seq,
                                                     "reason": problem.reason}}  # fmt: skip


@router.get("/audit/verify", response_model=VerificationOut, dependencies=[Auditor],
            responses=problems(401, 403),
            summary="Verify the audit trail's hash chain")  # fmt: skip
def verify(app: AppDep) -> dict[str, Any]:
    return verification(audit_snapshot(reader=app.reader))


EXPORT_DOC = {
    200: {
        "description": "one JSON object a line: every record (`kind: record`) in order up to "
        "the head, then one `kind: verification` object",
        "content": {NDJSON: {"schema": {"type": "string"}}},
        "headers": {
            "X-Audit-Head-Seq": {"schema": {"type": "integer"}, "description": "last record"},
            "X-Audit-Head-Hash": {"schema": {"type": "string"}, "description": "its hash"},
            "X-Audit-Intact": {"schema": {"type": "string", "enum": ["true", "false"]},
                               "description": "whether the chain verified up to the head"},
        },
    },
    **problems(401, 403),
}  # fmt: skip


@router.get("/audit/export", dependencies=[Auditor], response_class=StreamingResponse,
            responses=EXPORT_DOC, summary="Export the audit trail as NDJSON")  # fmt: skip
def export(app: AppDep) -> StreamingResponse:
    snap = audit_snapshot(reader=app.reader)
    reader = app.reader

    def lines() -> Iterator[bytes]:
        for r in audit_records_upto(snap.head_seq, reader=reader):
            record = {"kind": "record", "seq": r.seq,
                      "at": r.at.astimezone(UTC).isoformat(timespec="microseconds"),
                      "actor": r.actor, "action": r.action, "subject_type": r.subject_type,
                      "subject_id": r.subject_id, "data": r.data, "prev_hash": r.prev_hash,
                      "hash": r.hash}  # fmt: skip
            yield json.dumps(record, ensure_ascii=False).encode() + b"\n"
        yield json.dumps({"kind": "verification", **verification(snap)}).encode() + b"\n"

    headers = {"X-Audit-Head-Seq": str(snap.head_seq), "X-Audit-Head-Hash": snap.head_hash,
               "X-Audit-Intact": "true" if snap.is_intact else "false"}  # fmt: skip
    return StreamingResponse(lines(), media_type=NDJSON, headers=headers)
