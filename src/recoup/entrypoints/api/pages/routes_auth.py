"""``/login`` and ``/logout``: a session cookie for the pages (``entrypoints/api/auth.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from recoup.domain.errors import PermissionDeniedError
from recoup.entrypoints.api import auth
from recoup.entrypoints.api.deps import current_principal
from recoup.entrypoints.api.pages.web import AppDep, PageRoute, render, safe_next, see_other

router = APIRouter(route_class=PageRoute)


@router.get("/login")
def login_page(request: Request, next: Annotated[str | None, Query()] = None) -> Response:
    return render(request, "login.html", {"next": safe_next(next), "message": None, "name": ""},
                  who=None)  # fmt: skip


@router.post("/login")
def login(
    request: Request,
    app: AppDep,
    name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/queues",
) -> Response:
    target = safe_next(next)
    try:
        grant = auth.login_for(request, name, password)
    except PermissionDeniedError as exc:
        return render(request, "login.html", {"next": target, "message": exc.message,
                                              "name": name}, status=403, who=None)  # fmt: skip
    response = see_other(target)
    auth.set_session_cookie(response, grant, app.settings.web)
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    """Needs the session's CSRF token (the authenticator checks it on the way in)."""
    current_principal(request)
    auth.logout_for(request)
    response = see_other("/login")
    auth.clear_session_cookie(response)
    return response
