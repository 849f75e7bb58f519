"""The operators' web pages: server-rendered with Jinja2 and htmx.

``install(api)`` mounts ``/static`` (the stylesheet, the small page script and the vendored
htmx and Chartist files, see ``static/vendor/README.md``) and includes :data:`router`:

- ``/login``, ``/logout``; ``/`` goes to ``/queues``;
- ``/queues`` and ``/queues/{queue}`` (filters, keyset pages, SLA countdowns, bulk actions);
- ``/cases/{id}`` and its actions; ``/approvals``; ``/reconcile/review``; ``/dashboard``;
- ``/s/{token}`` (and ``/self-service/{token}``, where issued links point): the customer's
  self-service page, with no login.

Docs: ``docs/pages.md``.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.staticfiles import StaticFiles

from recoup.entrypoints.api.pages.routes_auth import router as auth_pages
from recoup.entrypoints.api.pages.routes_cases import router as case_pages
from recoup.entrypoints.api.pages.routes_queues import router as queue_pages
from recoup.entrypoints.api.pages.routes_review import router as review_pages
from recoup.entrypoints.api.pages.routes_selfservice import router as selfservice_pages
from recoup.entrypoints.api.pages.web import STATIC

router = APIRouter(include_in_schema=False)
router.include_router(auth_pages)
router.include_router(queue_pages)
router.include_router(case_pages)
router.include_router(review_pages)
router.include_router(selfservice_pages)


def install(api: FastAPI) -> None:
    api.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    api.include_router(router)
