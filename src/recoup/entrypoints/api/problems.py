"""Errors as RFC 9457 problem documents (``application/problem+json``).

Every :class:`RecoupError` maps to one status by its class; its stable ``code`` is in the body, and
an :class:`InvalidInputError` also says where (``file``, ``line``, ``field``). Request validation
errors from FastAPI become the same shape, naming the first bad field.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from recoup.domain.errors import (
    ConfigurationError,
    ConflictError,
    ExternalSystemError,
    InvalidInputError,
    NotAuthenticatedError,
    NotFoundError,
    PermissionDeniedError,
    RecoupError,
)

PROBLEM = "application/problem+json"

_STATUS: list[tuple[type[RecoupError], int, str]] = [
    (NotAuthenticatedError, 401, "Not authenticated"),
    (PermissionDeniedError, 403, "Forbidden"),
    (NotFoundError, 404, "Not found"),
    (ConflictError, 409, "Conflict"),
    (InvalidInputError, 422, "Invalid input"),
    (ConfigurationError, 422, "Invalid configuration"),
    (ExternalSystemError, 502, "External system failed"),
]


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    headers = {"WWW-Authenticate": 'Bearer realm="recoup"'} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def problem_for(exc: RecoupError) -> JSONResponse:
    status, title = next(
        ((code, name) for cls, code, name in _STATUS if isinstance(exc, cls)), (400, "Refused")
    )
    extra: dict[str, Any] = {"code": exc.code}
    if isinstance(exc, InvalidInputError):
        loc = exc.location
        extra.update({k: v for k, v in (("file", loc.file), ("line", loc.line),
                                         ("field", loc.field)) if v is not None})  # fmt: skip
    return problem(status, title, exc.message, **extra)


def install(api: FastAPI) -> None:
    async def on_recoup(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RecoupError)
        return problem_for(exc)

    async def on_validation(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        field = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
        return problem(422, "Invalid input", str(first.get("msg")), code="invalid_input",
                       field=field or None)  # fmt: skip

    async def on_http(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return problem(exc.status_code, str(exc.detail), str(exc.detail))

    api.add_exception_handler(RecoupError, on_recoup)
    api.add_exception_handler(RequestValidationError, on_validation)
    api.add_exception_handler(StarletteHTTPException, on_http)
