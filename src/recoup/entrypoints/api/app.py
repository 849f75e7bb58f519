"""The ASGI application: ``recoup serve`` runs it with uvicorn.

One FastAPI app holds the webhook intake (``POST /hooks/{source}``), the REST API (``/api/v1``,
OpenAPI at ``/api/openapi.json``), the operators' pages and ``/metrics`` for Prometheus.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from recoup import __version__
from recoup.adapters.connectors.webhooks.providers import WebhookProvider
from recoup.adapters.log_redaction import install_log_redaction
from recoup.bootstrap import App, bootstrap
from recoup.domain.errors import RecoupError
from recoup.entrypoints.api import assist_routes, auth, notify_routes, pages, problems, v1
from recoup.entrypoints.api.hooks import HookCounters, HookEndpoint
from recoup.entrypoints.api.limits import BodyLimit
from recoup.services.group_commit import GroupCommitter

log = logging.getLogger(__name__)


class _WorkerThread:
    """The worker's rounds on a daemon thread inside the server process (``RECOUP_SERVER__WORKER``).
    Each round is its own transactions, so stopping between rounds loses nothing."""

    def __init__(self, app: App, interval: float) -> None:
        self._app = app
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="recoup-worker", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._app.run_worker(interval=self._interval, should_stop=self._stop.is_set)
            except Exception:
                log.exception("worker round failed; retrying in %.0f s", self._interval)
                self._stop.wait(self._interval)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


class _HookFastPath:
    """``POST /hooks/{source}`` straight to the intake, ahead of the API's exception layers and
    routing: webhook intake is the hot path, and those layers cost about a fifth of its CPU.
    Anything else (other methods, deeper paths) goes on to the app; the intake answers exactly
    as it would through the router (an unknown source is a 404 problem)."""

    def __init__(self, app: ASGIApp, hook: HookEndpoint) -> None:
        self.app = app
        self.hook = hook

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            path: str = scope["path"]
            source = path[len("/hooks/") :] if path.startswith("/hooks/") else ""
            if source and "/" not in source:
                scope["path_params"] = {"source": source}
                try:
                    response = await self.hook.handle(Request(scope, receive))
                except RecoupError as exc:
                    response = problems.problem_for(exc)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(
    app: App, providers: Mapping[str, WebhookProvider], *, run_worker: bool = False
) -> FastAPI:
    """The whole HTTP surface on one :class:`App`. With ``run_worker`` the worker's rounds run on
    a thread of this process too (``recoup serve`` on the embedded default)."""
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
                             "failed_batches": s.failures,
                             "lost_races": s.retries})  # fmt: skip

    @asynccontextmanager
    async def lifespan(_api: FastAPI) -> AsyncIterator[None]:
        app.ensure_schema()
        committer.start()
        worker = _WorkerThread(app, app.settings.server.worker_interval) if run_worker else None
        if worker is not None:
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
            committer.stop()

    api = FastAPI(
        title="Recoup",
        version=__version__,
        summary="Detect, route and recover payment, bank, invoice and order exceptions.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    api.state.recoup = app
    api.state.auth = auth.authenticator_for(app)
    problems.install(api)
    api.add_route("/health", health, methods=["GET"], include_in_schema=False)
    api.add_route("/hooks/stats", stats, methods=["GET"], include_in_schema=False)
    api.add_route("/hooks/{source}", hook.handle, methods=["POST"], include_in_schema=False)
    api.add_middleware(BodyLimit, max_bytes=app.settings.web.max_request_bytes)
    api.add_middleware(_HookFastPath, hook=hook)  # outermost: the same endpoint, no layers
    api.include_router(auth.router)
    api.include_router(v1.router)
    api.include_router(notify_routes.router)
    api.include_router(assist_routes.router)
    pages.install(api)
    return api


def create_default_app() -> FastAPI:
    """The app for ``recoup serve`` (uvicorn imports it by name, so the CLI does not import
    the API): settings from the environment, webhook sources from the settings."""
    install_log_redaction()
    app = bootstrap()
    return create_app(app, app.webhook_providers(), run_worker=app.settings.server.worker)
