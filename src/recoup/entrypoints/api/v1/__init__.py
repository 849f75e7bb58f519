"""The REST API, version 1, under ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from recoup.entrypoints.api.v1 import approvals

router = APIRouter(prefix="/api/v1")
router.include_router(approvals.router)
