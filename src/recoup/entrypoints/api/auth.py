"""Who is calling: API keys for machines, the session cookie (with its CSRF token) for people.

- ``Authorization: Bearer rk_<id>_<secret>``: an API key (principal kind ``key``). Key requests
  need no CSRF token: a browser never adds that header on its own.
- Cookie ``recoup_session``: a login (kind ``user``). The cookie is HttpOnly and SameSite=Lax;
  on top of that, every unsafe request (POST, PUT, PATCH, DELETE) made with it must carry the
  session's CSRF token in the ``X-CSRF-Token`` header or the ``csrf_token`` form field, or it is
  refused (403) before the route runs.
- Neither: no principal; a route that needs one answers 401.

A key that is unknown, malformed or revoked, and a cookie whose session has ended, are refused
with 401 rather than treated as anonymous, so a client learns at once that its credential is
bad.

The routes here log in and out (``/api/v1/session``), say who is calling (``/api/v1/me``) and let
an admin manage users and keys. The pages use :func:`login_for`, :func:`set_session_cookie`,
:func:`clear_session_cookie` and :func:`csrf_token_for`.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Annotated, Any

import anyio.from_thread
from fastapi import APIRouter, Body, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import FormData

from recoup.adapters.passwords import Argon2Credentials
from recoup.bootstrap import App
from recoup.domain.errors import NotAuthenticatedError, PermissionDeniedError
from recoup.domain.identity import ApiKey, Credentials, Principal, Role, User, role_names
from recoup.entrypoints.api.deps import Admin, AppDep, PrincipalDep
from recoup.services import identity
from recoup.services.identity import SessionGrant, SessionInfo
from recoup.settings import WebSettings

COOKIE = "recoup_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


class SessionAuthenticator:
    """The :class:`~recoup.entrypoints.api.deps.Authenticator` of a running server."""

    def __init__(self, app: App, credentials: Credentials | None = None) -> None:
        self.app = app
        self.credentials: Credentials = credentials or Argon2Credentials()

    def session(self, request: Request) -> SessionInfo | None:
        """The live session of the request's cookie (looked up once per request)."""
        cached = getattr(request.state, "session_info", None)
        if isinstance(cached, SessionInfo):
            return cached
        token = request.cookies.get(COOKIE)
        if not token:
            return None
        info = identity.session_for(token, reader=self.app.reader, clock=self.app.clock,
                                    credentials=self.credentials)  # fmt: skip
        if info is not None:
            request.state.session_info = info
        return info

    def authenticate(self, request: Request) -> Principal | None:
        header = request.headers.get("authorization")
        if header is not None:
            scheme, _, value = header.strip().partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise NotAuthenticatedError("send the API key as 'Authorization: Bearer rk_...'")
            who = identity.principal_for_key(value.strip(), reader=self.app.reader,
                                             credentials=self.credentials)  # fmt: skip
            if who is None:
                raise NotAuthenticatedError("the API key is unknown, malformed or revoked")
            return who
        if not request.cookies.get(COOKIE):
            return None
        info = self.session(request)
        if info is None:
            raise NotAuthenticatedError("your session has ended; log in again")
        if request.method.upper() in UNSAFE:
            sent = request.headers.get(CSRF_HEADER) or _form_token(request)
            if not sent or not hmac.compare_digest(sent.encode(), info.csrf_token.encode()):
                raise PermissionDeniedError("CSRF token missing or wrong")
        return info.principal


def _form_token(request: Request) -> str | None:
    """The ``csrf_token`` field of a form body. The route has usually parsed the form already
    (Starlette keeps it on the request); otherwise it is read here, from the worker thread a
    sync dependency runs in."""
    if not request.headers.get("content-type", "").startswith(_FORMS):
        return None
    form = getattr(request, "_form", None)
    if form is None:

        async def read() -> FormData:
            return await request.form()

        try:
            form = anyio.from_thread.run(read)
        except RuntimeError:  # not in a worker thread: nothing can be awaited here
            return None
    value = form.get(CSRF_FIELD)
    return value if isinstance(value, str) else None


def authenticator_for(app: App) -> SessionAuthenticator:
    return SessionAuthenticator(app)


def _authenticator(request: Request) -> SessionAuthenticator:
    auth = request.app.state.auth
    if not isinstance(auth, SessionAuthenticator):
        raise PermissionDeniedError("logins are not available on this server")
    return auth


def credentials_for(request: Request) -> Credentials:
    return _authenticator(request).credentials


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def login_for(request: Request, name: str, password: str) -> SessionGrant:
    """Log in from a request (its client address is counted for the lockout). Raises
    ``PermissionDeniedError`` for a wrong name or password, a disabled user or a lockout."""
    app: App = request.app.state.recoup
    return identity.login(name, password, client_address(request), uow=app.uow, clock=app.clock,
                          credentials=credentials_for(request),
                          settings=app.settings.web)  # fmt: skip


def logout_for(request: Request) -> bool:
    """End the session of the request's cookie, if any."""
    token = request.cookies.get(COOKIE)
    if not token:
        return False
    app: App = request.app.state.recoup
    return identity.logout(token, uow=app.uow, clock=app.clock,
                           credentials=credentials_for(request))  # fmt: skip


def set_session_cookie(response: Response, grant: SessionGrant, settings: WebSettings) -> None:
    """The session cookie: HttpOnly, SameSite=Lax, Secure unless ``cookie_secure`` is off. Its
    lifetime is a Max-Age (the session's length), so a browser with a wrong clock keeps it as
    long as the server keeps the session; the server checks the expiry either way."""
    response.set_cookie(
        COOKIE, grant.token, max_age=int(settings.session_hours * 3600), path="/",
        secure=settings.cookie_secure, httponly=True, samesite="lax",
    )  # fmt: skip


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")


def csrf_token_for(request: Request) -> str | None:
    """The CSRF token of the request's session (for forms and htmx), or None without one."""
    cached = getattr(request.state, "csrf_token", None)
    if isinstance(cached, str):
        return cached
    auth = request.app.state.auth
    if not isinstance(auth, SessionAuthenticator):
        return None
    info = auth.session(request)
    return None if info is None else info.csrf_token


# -- models ------------------------------------------------------------------------------------


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1024)


class SessionOut(BaseModel):
    name: str
    roles: list[Role]
    csrf_token: str = Field(description="send it as X-CSRF-Token on unsafe requests")
    expires_at: datetime


class MeOut(BaseModel):
    name: str
    kind: str = Field(description="user (a login) or key (an API key)")
    actor: str = Field(description="how the audit trail names this principal")
    roles: list[Role]
    permissions: list[str]


class UserOut(BaseModel):
    id: str
    name: str
    roles: list[Role]
    is_active: bool
    created_at: datetime
    updated_at: datetime


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    roles: list[Role] = Field(min_length=1)


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    roles: list[Role] | None = Field(default=None, min_length=1)
    is_active: bool | None = None
    password: str | None = Field(default=None, min_length=1, max_length=1024)


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    roles: list[Role] = Field(min_length=1)


class KeyOut(BaseModel):
    id: str
    name: str
    roles: list[Role]
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None
    revoked_by: str | None = None


class NewKeyOut(KeyOut):
    token: str = Field(description="shown once: store it now, it cannot be shown again")


def _user_out(user: User) -> UserOut:
    return UserOut(id=user.id, name=user.name, roles=[Role(r) for r in role_names(user.roles)],
                   is_active=user.is_active, created_at=user.created_at,
                   updated_at=user.updated_at)  # fmt: skip


def _key_fields(key: ApiKey) -> dict[str, Any]:
    return {"id": key.id, "name": key.name, "roles": [Role(r) for r in role_names(key.roles)],
            "created_at": key.created_at, "created_by": key.created_by,
            "revoked_at": key.revoked_at, "revoked_by": key.revoked_by}  # fmt: skip


# -- routes ------------------------------------------------------------------------------------

router = APIRouter(prefix="/api/v1", tags=["identity"])
_PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not authenticated"},
    403: {"description": "Forbidden (permission, CSRF token, lockout)"},
}


@router.post("/session", response_model=SessionOut, responses=_PROBLEMS)
def log_in(body: LoginIn, request: Request, response: Response, app: AppDep) -> SessionOut:
    """Log in with a name and password: sets the ``recoup_session`` cookie and returns the
    session's CSRF token. Refused (403) for a wrong name or password and during a lockout."""
    grant = login_for(request, body.name, body.password)
    set_session_cookie(response, grant, app.settings.web)
    return SessionOut(name=grant.principal.name, roles=sorted(grant.principal.roles),
                      csrf_token=grant.csrf_token, expires_at=grant.expires_at)  # fmt: skip


@router.delete("/session", status_code=status.HTTP_204_NO_CONTENT, responses=_PROBLEMS)
def log_out(request: Request, who: PrincipalDep) -> Response:
    """End the cookie's session (needs its CSRF token, like any unsafe request)."""
    logout_for(request)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session_cookie(response)
    return response


@router.get("/me", response_model=MeOut, responses=_PROBLEMS)
def me(who: PrincipalDep) -> MeOut:
    """The principal behind this request, with its roles and permissions."""
    return MeOut(name=who.name, kind=who.kind, actor=who.actor, roles=sorted(who.roles),
                 permissions=sorted(p.value for p in who.permissions))  # fmt: skip


@router.get("/users", response_model=list[UserOut], dependencies=[Admin], responses=_PROBLEMS)
def list_users(app: AppDep) -> list[UserOut]:
    return [_user_out(u) for u in identity.list_users(reader=app.reader)]


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED,
             dependencies=[Admin], responses=_PROBLEMS)  # fmt: skip
def add_user(body: UserIn, request: Request, app: AppDep, who: PrincipalDep) -> UserOut:
    user = identity.create_user(body.name, body.password, body.roles, actor=who.actor,
                                uow=app.uow, clock=app.clock,
                                credentials=credentials_for(request),
                                settings=app.settings.web)  # fmt: skip
    return _user_out(user)


@router.patch("/users/{name}", response_model=UserOut, dependencies=[Admin], responses=_PROBLEMS)
def change_user(
    name: str, body: Annotated[UserPatch, Body()], request: Request, app: AppDep,
    who: PrincipalDep,
) -> UserOut:  # fmt: skip
    """Change roles, enable or disable, or set a password; the user's sessions end on any of
    these (except enabling)."""
    common: dict[str, Any] = {"actor": who.actor, "uow": app.uow, "clock": app.clock}
    user: User | None = None
    if body.password is not None:
        user = identity.set_password(name, body.password, credentials=credentials_for(request),
                                     settings=app.settings.web, **common)  # fmt: skip
    if body.roles is not None:
        user = identity.set_roles(name, body.roles, **common)
    if body.is_active is False:
        user = identity.disable_user(name, **common)
    elif body.is_active is True:
        user = identity.enable_user(name, **common)
    return _user_out(user or identity.get_user(name, reader=app.reader))


@router.get("/keys", response_model=list[KeyOut], dependencies=[Admin], responses=_PROBLEMS)
def list_keys(app: AppDep) -> list[KeyOut]:
    return [KeyOut(**_key_fields(k)) for k in identity.list_keys(reader=app.reader)]


@router.post("/keys", response_model=NewKeyOut, status_code=status.HTTP_201_CREATED,
             dependencies=[Admin], responses=_PROBLEMS)  # fmt: skip
def add_key(body: KeyIn, request: Request, app: AppDep, who: PrincipalDep) -> NewKeyOut:
    """Make an API key; the response holds its token, shown this once."""
    made = identity.create_key(body.name, body.roles, actor=who.actor, uow=app.uow,
                               clock=app.clock, credentials=credentials_for(request))  # fmt: skip
    return NewKeyOut(**_key_fields(made.key), token=made.token)


@router.delete("/keys/{key_id}", response_model=KeyOut, dependencies=[Admin], responses=_PROBLEMS)
def revoke_key(key_id: str, app: AppDep, who: PrincipalDep) -> KeyOut:
    """Revoke a key: it stops working at once. Revoking a revoked key changes nothing."""
    key = identity.revoke_key(key_id, actor=who.actor, uow=app.uow, clock=app.clock)
    return KeyOut(**_key_fields(key))
