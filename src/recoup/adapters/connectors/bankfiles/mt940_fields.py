"""Reading MT940/MT942 files: lines into tagged fields grouped by statement (envelopes,
trailers and control characters handled), and the values inside fields: amounts, dates and
balances."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from recoup.adapters.connectors.bankfiles._common import full_year

_TAG = re.compile(r":(\d\d[A-Z]?):", re.ASCII)
_MESSAGE_TYPE = re.compile(r"\{2:[IO](\d{3})")
_ENVELOPE = re.compile(r"\{\d:")
_CONTROL = "\x01\x03\x1a"  # SOH/ETX around SWIFT messages, DOS end-of-file


@dataclass(slots=True)
class _Field:
    tag: str
    line: int
    lines: list[str]

    @property
    def value(self) -> str:
        return self.lines[0] if len(self.lines) == 1 else "\n".join(self.lines)

    @property
    def raw(self) -> str:
        return f":{self.tag}:" + "\n".join(self.lines)


@dataclass(slots=True)
class _Statement:
    fields: list[_Field] = field(default_factory=list)
    message_type: str | None = None  # from the {2:} block


def _statements(text: str) -> Iterator[_Statement]:
    """Group the file's fields into statements: a ``:20:`` or a ``-`` trailer ends one."""
    current = _Statement()
    message_type: str | None = None
    open_field: _Field | None = None
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, line in enumerate(lines, start=1):
        if not line:
            continue
        if line[0] in _CONTROL:
            line = line.lstrip(_CONTROL)
            if not line:
                continue
        first = line[0]
        if first == "-" and (line.startswith("-}") or line.rstrip(_CONTROL + " ") == "-"):
            if current.fields:
                yield current
            current = _Statement()
            open_field = None
            line = line[2:].lstrip(_CONTROL + " ") if line.startswith("-}") else ""
            if not line:
                continue
            first = line[0]
        if first == "{" and _ENVELOPE.match(line):
            found = _MESSAGE_TYPE.search(line)
            if found:
                message_type = found.group(1)
            open_field = None
            position = line.find("{4:")
            if position < 0 or not line[position + 3 :].startswith(":"):
                continue
            line = line[position + 3 :]
            first = ":"
        if first == ":":
            tag = _TAG.match(line)
            if tag is not None:
                name = tag.group(1)
                if name == "20" and current.fields:
                    yield current
                    current = _Statement()
                if not current.fields:
                    current.message_type = message_type
                open_field = _Field(name, number, [line[tag.end() :].rstrip(_CONTROL)])
                current.fields.append(open_field)
                continue
        if open_field is not None:
            open_field.lines.append(line.rstrip(_CONTROL))
        # else: a line outside any field (an ABNANL2A / 940 preamble): not a record
    if current.fields:
        yield current


# --- values -----------------------------------------------------------------------------------

# At most 20 digits before the comma: more is no amount, and would overflow Decimal arithmetic.
_AMOUNT = r"(\d{1,20}(?:[,.]\d{0,10})?|[,.]\d{1,10})"
_BALANCE = re.compile(r"\s*([CD])\s*(\d{6})\s*([A-Z]{3})\s*" + _AMOUNT + r"\s*", re.ASCII)
_ENTRY = re.compile(
    r"\s*(?P<value>\d{6})(?P<entry>\d{4})?\s*(?P<mark>R?[CD]|E[CD])(?P<funds>[A-Z])?\s*"
    r"(?P<amount>\d{1,20}(?:[,.]\d{0,10})?|[,.]\d{1,10})\s*(?P<type>[A-Z][A-Z0-9 ]{0,3})?"
    r"(?P<rest>.*)",
    re.ASCII,
)
_COUNT_SUM = re.compile(r"\s*(\d{1,9})\s*([A-Z]{3})\s*" + _AMOUNT + r"\s*", re.ASCII)
_FLOOR = re.compile(r"\s*([A-Z]{3})")
# Placeholders banks write where a reference would be: never an identifier to link on.
_NO_REFERENCE = frozenset(
    {"", "NONREF", "NOTPROVIDED", "NOT PROVIDED", "EREF", "KREF", "KREF+", "MREF", "MREF+", "PREF"}
)
_IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}")


def _amount(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))  # "9," and ",5" are fine as "9." and ".5"


def _date(yymmdd: str) -> date | None:
    try:
        return date(full_year(int(yymmdd[:2])), int(yymmdd[2:4]), int(yymmdd[4:6]))
    except ValueError:
        return None


def _entry_date(value_date: date, mmdd: str) -> date | None:
    """The booking date nearest the value date: an entry booked on 2 January for a value date
    of 31 December belongs to the next year."""
    month, day = int(mmdd[:2]), int(mmdd[2:])
    year = value_date.year
    if month - value_date.month > 6:
        year -= 1  # value 2024-01-02, booked 1231: 2023-12-31
    elif value_date.month - month > 6:
        year += 1  # value 2023-12-31, booked 0102: 2024-01-02
    try:
        return date(year, month, day)
    except ValueError:
        return None


class _BadField(ValueError):
    """A field that does not follow its format; the message is the rejection's reason."""


@dataclass(frozen=True, slots=True)
class _Balance:
    tag: str
    mark: str
    day: date
    currency: str
    amount: Decimal

    @property
    def signed(self) -> Decimal:
        return self.amount if self.mark == "C" else -self.amount


def _balance(item: _Field) -> _Balance:
    value = item.lines[0].strip()  # one line by definition; what follows is not the balance
    match = _BALANCE.fullmatch(value)
    if match is None:
        raise _BadField(_balance_problem(value))
    mark, yymmdd, currency, amount = match.groups()
    day = _date(yymmdd)
    if day is None:
        raise _BadField(f"balance date {yymmdd} is not a valid YYMMDD date")
    return _Balance(_balance_tag(item.tag), mark, day, currency, _amount(amount))


def _balance_tag(tag: str) -> str:
    """``:65F:`` (seen in the wild) is ``:65:``; 60 and 62 keep their F/M."""
    return tag if tag[:2] in ("60", "62") else tag[:2]


def _balance_problem(value: str) -> str:
    expected = "expected C or D, a YYMMDD date, a currency and an amount like C230101EUR100,00"
    if not value:
        return f"empty balance; {expected}"
    if value[0] not in "CD":
        return f"balance {value!r} does not start with C or D; {expected}"
    if not value[1:7].isdigit():
        return f"balance date {value[1:7]!r} is not YYMMDD; {expected}"
    if not re.fullmatch(r"\s*[A-Z]{3}", value[7:10]):
        return f"balance currency {value[7:10]!r} is not a 3-letter code; {expected}"
    return f"balance amount {value[10:]!r} is not a number with a decimal comma; {expected}"
