"""The REST API, version 1, under ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1")
