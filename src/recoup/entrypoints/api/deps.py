"""What every route depends on: the composed :class:`App`, and the principal behind a request.

Routes declare the permission they need, never a role::

    @router.get("/cases", dependencies=[Depends(require(Permission.READ))])
    def list_cases(app: AppDep, who: PrincipalDep) -> ...

Authentication is done by the :class:`Authenticator` on ``request.app.state.auth`` (API keys in
``Authorization: Bearer ...`` for machines, the session cookie for the pages, with its CSRF token
on unsafe methods). It returns the principal or raises ``NotAuthenticatedError`` (401) /
``PermissionDeniedError`` (403).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Protocol

from fastapi import Depends, Request

from recoup.bootstrap import App
from recoup.domain.errors import NotAuthenticatedError
from recoup.domain.identity import Permission, Principal


class Authenticator(Protocol):
    def authenticate(self, request: Request) -> Principal | None:
        """The principal of this request, or None when it carries no credentials. Raises when
        it carries bad ones, or a cookie session without its CSRF token on an unsafe method."""
        ...


class RefuseAll:
    """The authenticator until identity is configured: nobody gets in."""

    def authenticate(self, request: Request) -> Principal | None:
        return None


def get_app(request: Request) -> App:
    app: App = request.app.state.recoup
    return app


def current_principal(request: Request) -> Principal:
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    auth: Authenticator = request.app.state.auth
    who = auth.authenticate(request)
    if who is None:
        raise NotAuthenticatedError()
    request.state.principal = who
    return who


def require(permission: Permission) -> Callable[[Request], Principal]:
    def check(request: Request) -> Principal:
        who = current_principal(request)
        who.require(permission)
        return who

    check.__name__ = f"require_{permission.value}"
    return check


AppDep = Annotated[App, Depends(get_app)]
PrincipalDep = Annotated[Principal, Depends(current_principal)]
Reader = Depends(require(Permission.READ))
Worker = Depends(require(Permission.WORK))
Approver = Depends(require(Permission.APPROVE))
Admin = Depends(require(Permission.ADMIN))
Auditor = Depends(require(Permission.AUDIT))
