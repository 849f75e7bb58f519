"""What the bank file readers (:mod:`.ach`, :mod:`.bai2`, :mod:`.mt940`) share: reading a file's
text, the two-digit year, the day an event is dated, and the source named after an account."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

_BOM = b"\xef\xbb\xbf"
_SOURCE_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def decode_text(data: bytes) -> str:
    """A file's text: UTF-8 (a byte order mark dropped), else Latin-1 (German banks' usual
    charset), which never fails."""
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def full_year(two_digits: int) -> int:
    """The year of a ``YY`` date: 70-99 are 1970-1999, 00-69 are 2000-2069."""
    return 2000 + two_digits if two_digits < 70 else 1900 + two_digits


def midnight(day: date) -> datetime:
    """``day`` at 00:00 UTC, the time of events that have only a date."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def account_source(account: str) -> str:
    """``bank:<account>``, characters outside ``[A-Za-z0-9_.-]`` as ``-``."""
    return "bank:" + (_SOURCE_UNSAFE.sub("-", account).strip("-")[:95] or "unknown")


__all__ = ["account_source", "decode_text", "full_year", "midnight"]
