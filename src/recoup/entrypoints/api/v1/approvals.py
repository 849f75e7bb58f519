"""Sensitive actions (write-off above threshold, provisional credit, force-match) and their
four-eyes approvals. (being built)"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
