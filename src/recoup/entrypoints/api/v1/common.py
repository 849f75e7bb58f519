"""What the v1 routers share: query types that refuse what the store cannot hold, opaque
cursors, problem responses and converters from stored values to response fields.

Money leaves as a decimal string with its currency beside it (never a float); times leave as
ISO 8601 in UTC.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Query
from pydantic import AfterValidator, AwareDatetime, BaseModel, Field

from recoup.domain.errors import InvalidInputError, Location


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the range of dates Recoup stores") from None


Text = Annotated[str, AfterValidator(_no_nul)]
"""Free text: anything but NUL (which PostgreSQL text cannot hold)."""
UtcTime = Annotated[AwareDatetime, AfterValidator(_utc)]
"""An ISO 8601 time with a zone, converted to UTC."""

TextQuery = Annotated[Text | None, Query(max_length=200)]
TimeQuery = Annotated[UtcTime | None, Query()]
Limit = Annotated[int, Query(ge=1, le=500, description="rows per page")]
CursorQuery = Annotated[
    str | None,
    Query(max_length=500, description="`next_cursor` of the previous page; omit for the first"),
]


class Problem(BaseModel):
    """An error as RFC 9457 ``application/problem+json``."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str | None = None
    field: str | None = Field(default=None, description="the input that is wrong, when known")
    file: str | None = None
    line: int | None = None


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` entry documenting these error statuses as problem documents."""
    described = {400: "Refused", 401: "Not authenticated", 403: "Forbidden", 404: "Not found",
                 409: "Conflict with the current state", 413: "Too large",
                 422: "Invalid input", 502: "An external system failed"}  # fmt: skip
    schema = Problem.model_json_schema()
    return {
        status: {
            "description": described.get(status, "Error"),
            "content": {"application/problem+json": {"schema": schema}},
        }
        for status in statuses
    }


READ_ERRORS = problems(401, 403, 422)
ITEM_ERRORS = problems(401, 403, 404, 422)
WRITE_ERRORS = problems(401, 403, 404, 409, 422)


# -- cursors -----------------------------------------------------------------------------------


def encode_cursor(data: dict[str, Any]) -> str:
    text = json.dumps(data, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, kind: str) -> dict[str, Any] | None:
    """The cursor's content; refuses one made for another list or edited by hand."""
    if cursor is None:
        return None
    bad = InvalidInputError("cursor is not one this list returned",
                            location=Location(field="cursor"))  # fmt: skip
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError):
        raise bad from None
    if not isinstance(data, dict) or data.get("k") != kind:
        raise bad
    return data


def keyset_cursor(kind: str, at: datetime, row_id: str) -> str:
    return encode_cursor({"k": kind, "t": at.isoformat(), "i": str(row_id)})


def keyset_before(cursor: str | None, kind: str) -> tuple[datetime, str] | None:
    data = decode_cursor(cursor, kind)
    if data is None:
        return None
    try:
        at = datetime.fromisoformat(str(data["t"]))
        row_id = str(uuid.UUID(str(data["i"])))
    except (KeyError, ValueError):
        raise InvalidInputError("cursor is not one this list returned",
                                location=Location(field="cursor")) from None  # fmt: skip
    if at.tzinfo is None:
        raise InvalidInputError("cursor is not one this list returned",
                                location=Location(field="cursor"))  # fmt: skip
    return at, row_id


def keyset_page(kind: str, rows: list[Any], limit: int, time_of: Any,
                id_of: Any) -> tuple[list[Any], str | None]:  # fmt: skip
    """``rows`` were fetched with ``limit + 1``: the page, and the cursor after its last row
    when there is more."""
    if len(rows) <= limit:
        return rows, None
    page = rows[:limit]
    return page, keyset_cursor(kind, time_of(page[-1]), id_of(page[-1]))


# -- values ------------------------------------------------------------------------------------


def amount(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def ident(value: Any) -> str | None:
    return None if value is None else str(value)
