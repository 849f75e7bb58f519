"""The ASGI application: ``recoup serve`` runs it with uvicorn."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from recoup.adapters.connectors.webhooks.providers import WebhookProvider
from recoup.bootstrap import App, bootstrap
from recoup.entrypoints.api.hooks import HookCounters, HookEndpoint
from recoup.services.group_commit import GroupCommitter


def create_app(app: App, providers: Mapping[str, WebhookProvider]) -> Starlette:
    settings = app.settings.webhooks
    committer = GroupCommitter(
        uow=app.uow,
        clock=app.clock,
        detectors=app.detectors,
        policy=app.policy,
        label="webhooks",
        max_items=settings.max_batch,
        max_wait=settings.max_wait_ms / 1000,
        commit_delay=settings.commit_delay_ms / 1000,
    )
    counters = HookCounters()
    hook = HookEndpoint(providers=providers, committer=committer, clock=app.clock,
                        max_body_bytes=settings.max_body_bytes, counters=counters)  # fmt: skip

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def stats(_request: Request) -> JSONResponse:
        s = committer.stats
        return JSONResponse({**counters.as_dict(), "batches": s.batches,
                             "deliveries": s.deliveries, "events": s.events,
                             "failed_batches": s.failures})  # fmt: skip

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        app.ensure_schema()
        committer.start()
        try:
            yield
        finally:
            committer.stop()

    return Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/hooks/stats", stats, methods=["GET"]),
            Route("/hooks/{source}", hook.handle, methods=["POST"]),
        ],
        lifespan=lifespan,
    )


def create_default_app() -> Starlette:
    """The app for ``recoup serve`` (uvicorn imports it by name, so the CLI does not import
    the API): settings from the environment, webhook sources from the settings."""
    app = bootstrap()
    return create_app(app, app.webhook_providers())
