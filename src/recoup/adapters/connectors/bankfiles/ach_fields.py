"""NACHA ACH field readers: transaction codes, routing check digits, masked account numbers
and the dates, numbers and text of fixed-width fields (see :mod:`.ach`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from recoup.adapters.connectors.bankfiles._common import full_year

_ACCOUNT_TYPES = {2: "checking", 3: "savings", 4: "general_ledger", 5: "loan"}
# last digit of a transaction code -> (receiver's side, kind of entry)
_TRANSACTION_KINDS = {
    1: ("credit", "return"),
    2: ("credit", "entry"),
    3: ("credit", "prenote"),
    4: ("credit", "zero_dollar"),
    6: ("debit", "return"),
    7: ("debit", "entry"),
    8: ("debit", "prenote"),
    9: ("debit", "zero_dollar"),
}

_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")


@dataclass(frozen=True, slots=True)
class _Transaction:
    code: int
    account_type: str
    receiver_side: str
    kind: str

    @property
    def direction(self) -> str:
        """Which way the money moves for the originator (see the :mod:`.ach` docstring)."""
        if self.kind == "return":
            return self.receiver_side
        return "credit" if self.receiver_side == "debit" else "debit"


def _transaction(number: int) -> _Transaction | None:
    account = _ACCOUNT_TYPES.get(number // 10)
    if account is None:
        return None
    if number == 55:  # loan account debit (reversals only)
        return _Transaction(number, account, "debit", "entry")
    if account == "loan" and number > 56:
        return None
    side_kind = _TRANSACTION_KINDS.get(number % 10)
    if side_kind is None:
        return None
    return _Transaction(number, account, side_kind[0], side_kind[1])


_TRANSACTIONS = {
    f"{number:02d}": tx for number in range(100) if (tx := _transaction(number)) is not None
}


def transaction(code: str) -> _Transaction | None:
    """What a two-digit transaction code means, or None when it is not a NACHA code."""
    return _TRANSACTIONS.get(code)


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


@lru_cache(maxsize=4096)
def check_digit(routing8: str) -> int:
    """The ABA check digit of an 8-digit DFI identification."""
    total = sum(int(d) * w for d, w in zip(routing8, (3, 7, 1, 3, 7, 1, 3, 7), strict=True))
    return (10 - total % 10) % 10


def mask_account(value: str) -> str:
    """An account number with every character before its last four digits replaced by ``*``
    (``744-5678-99`` -> ``******78-99``); surrounding blanks are dropped."""
    text = value.strip()
    seen = 0
    first_digit = len(text)
    for index in range(len(text) - 1, -1, -1):
        if text[index].isdigit():
            seen += 1
            first_digit = index
            if seen == 4:
                break
    return "*" * first_digit + text[first_digit:]


def _yymmdd(text: str) -> date | None:
    if len(text) != 6 or not _digits(text):
        return None
    yy, mm, dd = int(text[:2]), int(text[2:4]), int(text[4:])
    try:
        return date(full_year(yy), mm, dd)
    except ValueError:
        return None


def _hhmm(text: str) -> bool:
    return len(text) == 4 and _digits(text) and int(text[:2]) < 24 and int(text[2:]) < 60


def _clean(text: str) -> str | None:
    value = text.strip()
    return value or None


def _number(text: str) -> int | None:
    value = text.strip()
    return int(value) if value and _digits(value) else None
