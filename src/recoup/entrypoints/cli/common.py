"""What every command shares: the app (built once per invocation), consoles, error handling."""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import Decimal
from typing import Any, NoReturn, ParamSpec, TypeVar

import msgspec
import typer
from rich.console import Console

from recoup.bootstrap import App, bootstrap
from recoup.domain.errors import (
    ConfigurationError,
    ConflictError,
    ExternalSystemError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RecoupError,
)
from recoup.domain.money import format_money

# Exit codes by error category: scripts can tell "your input" from "our dependency".
EXIT_CODES: list[tuple[type[RecoupError], int]] = [
    (InvalidInputError, 3),
    (NotFoundError, 4),
    (ConflictError, 5),
    (PermissionDeniedError, 6),
    (ConfigurationError, 7),
    (ExternalSystemError, 8),
]
EXIT_INTEGRITY = 9

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

_state: dict[str, App] = {}

P = ParamSpec("P")
R = TypeVar("R")


def get_app(*, schema: bool = True) -> App:
    """Bootstrap once per process; make sure the schema is current unless told not to."""
    app = _state.get("app")
    if app is None:
        app = bootstrap()
        _state["app"] = app
    if schema:
        app.ensure_schema()
    return app


def reset_app() -> None:
    """Forget the app (tests run many invocations in one process)."""
    app = _state.pop("app", None)
    if app is not None:
        app.close()


def exit_code_for(exc: RecoupError) -> int:
    for cls, code in EXIT_CODES:
        if isinstance(exc, cls):
            return code
    return 1


def fail(message: str, code: int) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code)


def guarded(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn a RecoupError into one readable line and the category's exit code."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except RecoupError as exc:
            fail(str(exc), exit_code_for(exc))
        finally:
            reset_app()

    return wrapper


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def print_json(value: Any) -> None:
    console.file.write(msgspec.json.format(msgspec.json.encode(value, enc_hook=_default)).decode())
    console.file.write("\n")


def money(amount: Decimal | None, currency: str | None) -> str:
    if amount is None or currency is None:
        return "-"
    return format_money(amount, currency)
