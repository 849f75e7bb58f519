"""The operators' web pages: server-rendered with Jinja2 and htmx."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

router = APIRouter()


def install(api: FastAPI) -> None:
    api.include_router(router)
