"""The REST API, version 1, under ``/api/v1``: one router per area, OpenAPI at
``/api/openapi.json``. See docs/api.md."""

from __future__ import annotations

from fastapi import APIRouter

from recoup.entrypoints.api.v1 import (
    approvals,
    audit,
    case_actions,
    cases,
    events,
    findings,
    ledger,
    policies,
    quarantine,
    queues,
    reconcile,
)

router = APIRouter(prefix="/api/v1")
for area in (events, findings, cases, case_actions, queues, policies, reconcile, ledger, audit,
             quarantine, approvals):  # fmt: skip
    router.include_router(area.router)
