"""What every page shares: the templates, the logged-in principal, errors as pages.

A page route is a :class:`PageRoute`: a request without a session is sent to ``/login?next=...``
(an htmx request gets an ``HX-Redirect`` instead), and a refused one (403, 404, 409, 422) is a
readable page with the service's message, never a JSON problem. Handlers stay thin: they read
the form, call a service, and render or redirect.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from recoup.bootstrap import App
from recoup.domain.errors import (
    ConflictError,
    ExternalSystemError,
    InvalidInputError,
    NotAuthenticatedError,
    NotFoundError,
    PermissionDeniedError,
    RecoupError,
)
from recoup.domain.identity import Permission, Principal
from recoup.entrypoints.api import auth
from recoup.entrypoints.api.deps import current_principal, get_app, require
from recoup.entrypoints.api.pages import formats

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

templates = Jinja2Templates(directory=str(TEMPLATES))
templates.env.filters.update(
    money=formats.money,
    when=formats.when,
    countdown=formats.countdown,
    label=formats.label,
    short_id=formats.short_id,
    percent=formats.percent,
    duration=formats.duration,
)
templates.env.globals["Permission"] = Permission

_ERRORS: list[tuple[type[RecoupError], int, str]] = [
    (PermissionDeniedError, 403, "Not allowed"),
    (NotFoundError, 404, "Not found"),
    (ConflictError, 409, "Cannot do that now"),
    (InvalidInputError, 422, "Please check what you entered"),
    (ExternalSystemError, 502, "Another system failed"),
]


def csrf_token(request: Request) -> str:
    """The token forms carry (``csrf_token``) and htmx sends (``X-CSRF-Token``)."""
    return auth.csrf_token_for(request) or ""


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    who: Principal | None = None,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render a page (or an htmx fragment) with what the layout needs."""
    app: App = request.app.state.recoup
    principal = who if who is not None else getattr(request.state, "principal", None)
    token = csrf_token(request) if isinstance(principal, Principal) else ""
    ctx = {
        "request": request,
        "who": principal,
        "csrf": token,
        "now": app.clock.now(),
        "path": request.url.path,
        **(context or {}),
    }
    response = templates.TemplateResponse(
        request, template, ctx, status_code=status, headers=dict(headers or {})
    )
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def safe_next(target: str | None, default: str = "/queues") -> str:
    """Only a path on this site: never another host (an open redirect)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def see_other(url: str) -> Response:
    """After a successful form post: go to ``url`` (Post/Redirect/Get). htmx follows the 303
    itself and swaps the page it lands on."""
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, exc: RecoupError) -> Response:
    status, title = next(((code, name) for cls, code, name in _ERRORS if isinstance(exc, cls)),
                         (400, "Refused"))  # fmt: skip
    return render(request, "error.html", {"title": title, "message": exc.message,
                                          "status": status}, status=status)  # fmt: skip


def _login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        target = request.headers.get("referer") or request.url.path
        target = safe_next(urlsplit(target).path or "/queues")
    url = f"/login?next={quote(target, safe='/')}"
    if request.headers.get("HX-Request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


class PageRoute(APIRoute):
    """A route that answers with pages: errors become pages, no session goes to the login."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except NotAuthenticatedError:
                return _login_redirect(request)
            except RecoupError as exc:
                return error_page(request, exc)
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid"}
                field = ".".join(str(p) for p in first.get("loc", ())
                                 if p not in ("body", "query", "path"))  # fmt: skip
                message = f"{field or 'the request'}: {first.get('msg')}"
                return error_page(request, InvalidInputError(message))

        return handler


def page_principal(request: Request) -> Principal:
    """The logged-in principal; pages need ``read`` at least."""
    who = current_principal(request)
    who.require(Permission.READ)
    return who


AppDep = Annotated[App, Depends(get_app)]
Viewer = Annotated[Principal, Depends(page_principal)]
WorkerUser = Annotated[Principal, Depends(require(Permission.WORK))]
ApproverUser = Annotated[Principal, Depends(require(Permission.APPROVE))]
