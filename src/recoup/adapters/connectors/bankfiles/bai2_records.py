"""Reading BAI2 records: physical lines into logical records (``88`` continuations joined) and
a record's fields into amounts, counts, dates, type codes, availability and ``03`` summaries."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from recoup.adapters.connectors.bankfiles._common import full_year
from recoup.adapters.connectors.bankfiles.bai2_codes import _FUNDS_TYPES


@dataclass(slots=True)
class _Record:
    """One logical record: its physical lines (an ``88`` continues the one before)."""

    code: str
    line: int
    rows: list[str]
    content: str  # after the record code, continuations joined

    @property
    def raw(self) -> str:
        return "\n".join(self.rows)

    def fields(self) -> list[str]:
        """The fields of a record without free text: up to the ``/`` that ends it."""
        return self.content.split("/", 1)[0].split(",")

    def reader(self) -> _Fields:
        return _Fields(self.content.split(","))


def _records(text: str) -> Iterator[_Record | tuple[int, str]]:
    """Logical records, or ``(line, text)`` for an ``88`` with nothing to continue.

    An ``88`` after a record that ended with ``/`` starts a new field; after one that stopped
    mid-field (free text running on) it goes on after a space."""
    current: _Record | None = None
    pieces: list[str] = []
    last = -1  # the last piece that is not empty
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, row in enumerate(lines, start=1):
        row = row.rstrip()
        if not row:
            continue
        code, _, content = row.partition(",")
        code = code.strip()
        if code == "88":
            if current is None:
                yield number, row
                continue
            current.rows.append(row)
            tail = pieces[last][-1] if last >= 0 else ""
            if tail == "/":
                pieces[last] = pieces[last][:-1]
                pieces.append(",")
                last = len(pieces) - 1
            elif tail not in (",", ""):
                pieces.append(" ")
                last = len(pieces) - 1
            pieces.append(content)
            if content:
                last = len(pieces) - 1
            continue
        if current is not None:
            current.content = "".join(pieces)
            yield current
        current = _Record(code, number, [row], "")
        pieces, last = [content], (0 if content else -1)
    if current is not None:
        current.content = "".join(pieces)
        yield current


class _BadRecord(ValueError):
    """A field that does not follow its format; the message is the rejection's reason."""


# ASCII digits only (str.isdigit() takes "²", which int() refuses), and few enough of them
# that int() does not refuse them either.
_AMOUNT = re.compile(r"[+-]?[0-9]{1,20}")
_DIGITS = re.compile(r"[0-9]{1,18}")


def _amount(text: str, what: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not _AMOUNT.fullmatch(text):
        raise _BadRecord(f"{what} {text!r} is not a whole number of minor units")
    return int(text)


def _count(text: str, what: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not _DIGITS.fullmatch(text):
        raise _BadRecord(f"{what} {text!r} is not a number")
    return int(text)


def _date(text: str, what: str) -> date:
    text = text.strip()
    try:
        if len(text) != 6 or not _DIGITS.fullmatch(text):
            raise ValueError
        return date(full_year(int(text[:2])), int(text[2:4]), int(text[4:]))
    except ValueError:
        raise _BadRecord(f"{what} {text!r} is not a valid YYMMDD date") from None


def _code(text: str, what: str = "type code") -> str:
    text = text.strip()
    if len(text) != 3 or not _DIGITS.fullmatch(text):
        raise _BadRecord(f"{what} {text!r} is not a 3-digit BAI2 type code")
    return text


class _Fields:
    """Reads a record's fields in order; a ``/`` ends the record, and what is left is blank."""

    def __init__(self, parts: list[str]) -> None:
        self.parts = parts
        self.position = 0
        self.ended = False

    def more(self) -> bool:
        return not self.ended and self.position < len(self.parts)

    def take(self) -> str:
        if not self.more():
            return ""
        value = self.parts[self.position]
        self.position += 1
        if "/" in value:
            value = value.split("/", 1)[0]
            self.ended = True
        return value.strip()

    def text(self) -> str:
        """The free text that ends a 16 record: everything left, commas and slashes included."""
        if not self.more():
            return ""
        text = ",".join(self.parts[self.position :]).strip()
        self.position = len(self.parts)
        return text[:-1].rstrip() if text.endswith("/") else text


def _availability(funds: str, fields: _Fields) -> dict[str, Any]:
    """The funds type's own fields: a value date, or how much becomes available when."""
    if funds not in _FUNDS_TYPES:
        raise _BadRecord(f"funds type {funds!r} is not one of Z, 0, 1, 2, V, S, D")
    found: dict[str, Any] = {}
    if funds == "V":
        value_date, value_time = fields.take(), fields.take()
        if value_date:
            found["value_date"] = _date(value_date, "value date").isoformat()
        if value_time:
            found["value_time"] = value_time
    elif funds == "S":
        for name in ("immediate", "one_day", "two_or_more_days"):
            value = _amount(fields.take(), "availability amount")
            if value is not None:
                found[name] = value
    elif funds == "D":
        count = _count(fields.take(), "number of distributions") or 0
        if count > len(fields.parts):
            raise _BadRecord(f"{count} distributions announced, fewer given")
        distributions: dict[str, int] = {}
        for _ in range(count):
            days = fields.take()
            distributions[days] = _amount(fields.take(), "distribution amount") or 0
        found["distribution"] = distributions
    return found


@dataclass(slots=True)
class _Summary:
    code: str
    amount: int | None
    count: int | None
    funds: str
    availability: dict[str, Any]


def _summaries(fields: _Fields) -> list[_Summary]:
    """The 03 record's ``type code, amount, item count, funds type[, ...]`` groups."""
    found: list[_Summary] = []
    while fields.more():
        code = fields.take()
        if not code:  # the stray trailing comma some banks write before ``/``
            continue
        code = _code(code)
        amount = _amount(fields.take(), f"amount of {code}")
        count = _count(fields.take(), f"item count of {code}")
        funds = fields.take()
        found.append(_Summary(code, amount, count, funds, _availability(funds, fields)))
    return found
