"""One statement's fields sorted into its parts: references, account, balances, the ``:61:``
entries with their ``:86:``, MT942 totals."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from recoup.adapters.connectors.bankfiles.mt940_fields import _FLOOR, _date, _Field, _Statement


@dataclass(slots=True)
class _Entry:
    line: _Field
    info: list[_Field] = field(default_factory=list)

    @property
    def raw(self) -> str:
        return "\n".join([self.line.raw, *(item.raw for item in self.info)])


@dataclass(frozen=True, slots=True)
class _Parsed:
    """What the balance check needs of a ``:61:``: its signed amount, or why it has none."""

    signed: Decimal | None
    booked: bool = True
    credit: bool = True


@dataclass(slots=True)
class _Parts:
    reference: str | None = None
    related: str | None = None
    account: _Field | None = None
    number: str = ""
    date_time: str | None = None
    floor_currency: str | None = None
    balances: list[_Field] = field(default_factory=list)
    entries: list[_Entry] = field(default_factory=list)
    totals: list[_Field] = field(default_factory=list)  # :90D: / :90C:
    info: list[_Field] = field(default_factory=list)  # :86: not after a :61:
    first: _Field | None = None


def _parts(statement: _Statement) -> _Parts:
    parts = _Parts(first=statement.fields[0])
    last_entry: _Entry | None = None
    for item in statement.fields:
        tag = item.tag
        if tag == "86":
            (last_entry.info if last_entry is not None else parts.info).append(item)
            continue
        last_entry = None
        if tag == "61":
            last_entry = _Entry(item)
            parts.entries.append(last_entry)
        elif tag == "20":
            parts.reference = item.lines[0].strip()
        elif tag == "21":
            parts.related = item.lines[0].strip()
        elif tag in ("25", "25P"):
            parts.account = item
        elif tag in ("28", "28C"):
            parts.number = item.lines[0].strip()
        elif tag in ("13", "13D"):
            parts.date_time = item.lines[0].strip()
        elif tag == "34F":
            floor = _FLOOR.match(item.value)
            if floor is not None and parts.floor_currency is None:
                parts.floor_currency = floor.group(1)
        elif tag in ("60F", "60M", "62F", "62M") or tag[:2] in ("64", "65"):
            parts.balances.append(item)
        elif tag in ("90C", "90D"):
            parts.totals.append(item)
    return parts


def _first_day(parts: _Parts) -> str | None:
    for entry in parts.entries:
        day = _date(entry.line.lines[0].strip()[:6])
        if day is not None:
            return day.isoformat()
    return None


def _statement_label(parts: _Parts, account: str) -> str:
    name = f"statement {parts.reference or '(no :20:)'}"
    if parts.number:
        name += f" {parts.number}"
    return f"{name} of account {account}" if account else name
