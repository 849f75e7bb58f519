"""The errors Recoup raises, grouped by who should catch them.

    RecoupError                      anything Recoup raises on purpose
    ├── InvalidInputError            bad input; carries where (file, line, field)
    ├── NotFoundError                a thing asked for by id does not exist
    ├── ConflictError                invalid transition, duplicate, lost race
    │   └── LostRaceError            another transaction got there first; safe to retry
    ├── PermissionDeniedError        the actor may not do this
    ├── ConfigurationError           settings or policy files are wrong
    └── ExternalSystemError          a dependency failed
        ├── RetryableExternalError   try again later
        └── TerminalExternalError    do not try again

Business exceptions (a failed payment, a dispute) are never Python errors: they are findings and
cases. Each class's docstring is its default message and ``code`` is stable for API clients.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Location:
    """Where a bad input sits: any of file, line and field may be unknown."""

    file: str | None = None
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.field:
            parts.append(f"field {self.field}")
        return ", ".join(parts) or "unknown location"


class RecoupError(Exception):
    """Recoup could not complete the request."""

    code = "recoup_error"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or (type(self).__doc__ or "").strip().splitlines()[0]
        super().__init__(self.message)


class InvalidInputError(RecoupError):
    """The input is not valid."""

    code = "invalid_input"

    def __init__(self, message: str | None = None, *, location: Location | None = None) -> None:
        self.location = location or Location()
        super().__init__(message)

    def __str__(self) -> str:
        if self.location == Location():
            return self.message
        return f"{self.location}: {self.message}"


class NotFoundError(RecoupError):
    """The requested item does not exist."""

    code = "not_found"


class ConflictError(RecoupError):
    """The request conflicts with the current state."""

    code = "conflict"


class LostRaceError(ConflictError):
    """Another transaction changed or claimed the same rows first; the work can be retried."""

    code = "lost_race"


class PermissionDeniedError(RecoupError):
    """You are not allowed to do this."""

    code = "permission_denied"


class NotAuthenticatedError(PermissionDeniedError):
    """Log in or present an API key first."""

    code = "not_authenticated"


class ConfigurationError(RecoupError):
    """The configuration is not valid."""

    code = "configuration_error"


class ExternalSystemError(RecoupError):
    """An external system failed."""

    code = "external_system_error"


class RetryableExternalError(ExternalSystemError):
    """An external system failed; the operation can be retried."""

    code = "external_retryable"


class TerminalExternalError(ExternalSystemError):
    """An external system refused the operation; retrying will not help."""

    code = "external_terminal"


__all__ = [
    "ConfigurationError",
    "ConflictError",
    "ExternalSystemError",
    "InvalidInputError",
    "Location",
    "LostRaceError",
    "NotAuthenticatedError",
    "NotFoundError",
    "PermissionDeniedError",
    "RecoupError",
    "RetryableExternalError",
    "TerminalExternalError",
]
