"""``/s/{token}`` (and ``/self-service/{token}``): the customer's self-service page. No login:
the signed link and its one-time code are the credential.

Every state has its own clear page: a valid link asks for the code and a choice; an expired,
used, closed (too many wrong codes) or unknown link says so and what to do, and changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from recoup.bootstrap import App
from recoup.domain.errors import ConflictError, PermissionDeniedError
from recoup.domain.recovery.selfservice import (
    MAX_CODE_ATTEMPTS,
    LinkView,
    WrongCodeError,
    read_link,
)
from recoup.entrypoints.api.pages.web import AppDep, PageRoute, render
from recoup.services.selfservice import redeem_link

router = APIRouter(route_class=PageRoute)

OFFERS = {
    "retry_now": "Try the payment again now",
    "update_payment_method": "I have updated my payment method",
    "payment_plan": "I would like to pay in instalments",
    "confirm_address": "My delivery address is correct",
    "upload_document": "I have sent the document you asked for",
    "dispute": "I do not agree with this charge",
}
"""What the customer reads for each action (``domain/recovery/selfservice.py`` ``ACTIONS``)."""

DONE = "Thank you. We have your answer and will take it from here; you can close this page."
STATES = {
    "invalid": (
        404,
        "This link is not valid",
        "This link is not one we sent, or it was changed on the way.",
    ),
    "expired": (
        410,
        "This link has expired",
        "This link is no longer valid: links work for a limited time.",
    ),
    "used": (
        409,
        "This link was already used",
        "This link works once, and an answer was already given with it.",
    ),
    "closed": (
        403,
        "This link is closed",
        "The code was entered wrongly too many times, so the link is closed.",
    ),
}
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
PRIVATE = {"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}
"""The token is in the address: never send it on as a referrer, never index the page."""


def _secret(app: App) -> bytes:
    return app.settings.security.secret_key.get_secret_value().encode()


def _state(app: App, token: str) -> tuple[str, LinkView | None]:
    """``valid`` with the link, or why not: invalid, expired, used or closed."""
    secret = _secret(app)
    if not secret:
        return "invalid", None
    try:
        view = read_link(token, now=app.clock.now(), secret=secret, used=())
    except PermissionDeniedError:
        try:  # the signature is good at any earlier time: it expired
            read_link(token, now=EPOCH, secret=secret, used=())
        except PermissionDeniedError:
            return "invalid", None
        return "expired", None
    with app.reader() as tx:
        grant = tx.grant(view.nonce)
    if grant is None:
        return "invalid", None
    if grant.used_at is not None:
        return "used", view
    if grant.failed_attempts >= MAX_CODE_ATTEMPTS:
        return "closed", view
    return "valid", view


def _brand(request: Request) -> str:
    app: App = request.app.state.recoup
    return app.settings.recovery.merchant_name


def _page(request: Request, token: str, state: str, view: LinkView | None,
          message: str | None = None, status: int = 200) -> Response:  # fmt: skip
    if state == "valid" and view is not None:
        offers = [(name, OFFERS.get(name, name.replace("_", " "))) for name in view.actions]
        context = {"state": "valid", "brand": _brand(request),
                   "title": "What would you like to do?", "offers": offers,
                   "expires_at": view.expires_at, "message": message,
                   "action_url": request.url.path}  # fmt: skip
        return render(request, "selfservice.html", context, status=status, who=None,
                      headers=PRIVATE)  # fmt: skip
    if state == "done":
        code, title, text = 200, "Thank you", DONE
    else:
        code, title, text = STATES[state]
    context = {"state": state, "title": title, "message": text, "brand": _brand(request)}
    return render(request, "selfservice.html", context, status=code, who=None, headers=PRIVATE)


@router.get("/s/{token}")
@router.get("/self-service/{token}")
def selfservice_page(request: Request, token: str, app: AppDep) -> Response:
    state, view = _state(app, token)
    return _page(request, token, state, view)


@router.post("/s/{token}")
@router.post("/self-service/{token}")
def selfservice_answer(
    request: Request,
    token: str,
    app: AppDep,
    code: Annotated[str, Form()] = "",
    action: Annotated[str, Form()] = "",
) -> Response:
    state, view = _state(app, token)
    if state != "valid" or view is None:
        return _page(request, token, state, view)
    if action not in view.actions:
        return _page(request, token, state, view, "Choose one of the options.", status=422)
    try:
        redeem_link(token, code, action, uow=app.uow, clock=app.clock, recovery=app.recovery())
    except WrongCodeError as exc:
        if exc.attempts_left <= 0:
            return _page(request, token, "closed", view)
        return _page(request, token, state, view, exc.message, status=422)
    except (ConflictError, PermissionDeniedError):
        # Used meanwhile (or by this very answer, if the climb could not move after it):
        # the stored grant says which.
        with app.reader() as tx:
            grant = tx.grant(view.nonce)
        if grant is not None and grant.used_at is not None and grant.used_action == action:
            return _page(request, token, "done", view)
        state, view = _state(app, token)
        return _page(request, token, state if state != "valid" else "used", view)
    return _page(request, token, "done", view)
