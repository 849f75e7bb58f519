"""Reading one CSV cell as a number, a date, a time or a time zone, the way a profile says.

Every reader returns None for text it cannot read (never raises), so the row mapper can say
exactly which cell was wrong. Dates repeat a lot in exports (a bank statement has many lines a
day), so parsed dates are cached per file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from recoup.adapters.connectors.csv_profile import NumberFormat, OccurredAtSpec, resolve_zone

_MAX_ZONES = 256


class NumberReader:
    """Numbers as a profile writes them: ``1,234.56``, ``1.234,56``, ``(12.00)``, ``12.00-``.

    Thousands separators must group by three (``12,3,4`` is not a number), and only the
    negative styles the profile allows are read."""

    def __init__(self, fmt: NumberFormat) -> None:
        if fmt.thousands:
            sep = re.escape(fmt.thousands)
            whole = rf"[0-9]{{1,3}}(?:{sep}[0-9]{{3}})+|[0-9]*"
        else:
            whole = r"[0-9]*"
        decimal = re.escape(fmt.decimal)
        # (parenthesis) (sign) whole (decimal fraction) (trailing minus) (closing parenthesis)
        self._pattern = re.compile(
            rf"(\()?\s*([+-])?({whole})(?:{decimal}([0-9]+))?(-)?\s*(?(1)\))"
        )
        self._thousands = fmt.thousands
        self._minus = "minus" in fmt.negatives
        self._parentheses = "parentheses" in fmt.negatives
        self._trailing = "trailing_minus" in fmt.negatives

    def __call__(self, text: str) -> Decimal | None:
        match = self._pattern.fullmatch(text.strip())
        if match is None:
            return None
        paren, sign, whole, fraction, trailing = match.groups()
        if not whole and not fraction:
            return None
        if paren and (sign or trailing):
            return None  # one way of saying negative is enough
        if sign == "-" and (trailing or not self._minus):
            return None
        if (paren and not self._parentheses) or (trailing and not self._trailing):
            return None
        if self._thousands:
            whole = whole.replace(self._thousands, "")
        negative = "-" if paren or trailing or sign == "-" else ""
        literal = f"{negative}{whole or '0'}.{fraction}" if fraction else f"{negative}{whole}"
        try:
            return Decimal(literal)
        except InvalidOperation:  # pragma: no cover - the pattern admits only digits
            return None


def _first_parse(formats: tuple[str, ...]) -> Callable[[str], datetime | None]:
    def parse(text: str) -> datetime | None:
        for fmt in formats:
            try:
                return datetime.strptime(text, fmt)  # noqa: DTZ007 - the zone is added after
            except (ValueError, OverflowError):
                continue
        return None

    return parse


class DateTimeReader:
    """``occurred_at`` from the date (and time, and zone) cells of one row."""

    def __init__(self, spec: OccurredAtSpec) -> None:
        self.date = lru_cache(maxsize=4096)(_first_parse(spec.date_formats))
        self.time = lru_cache(maxsize=1024)(_first_parse(spec.time_formats))
        self.date_formats = spec.date_formats
        self.time_formats = spec.time_formats
        self._names = {
            abbreviation: resolve_zone(target) for abbreviation, target in spec.timezone_names
        }
        self.default_zone = None if spec.timezone is None else resolve_zone(spec.timezone)
        self._zones: dict[str, tzinfo | None] = {}

    def zone(self, text: str) -> tzinfo | None:
        """A zone from a cell: the profile's names for abbreviations, IANA names, offsets."""
        zone = self._zones.get(text)
        if zone is None and text not in self._zones:
            key = text.strip().upper()
            zone = self._names[key] if key in self._names else resolve_zone(text)
            if len(self._zones) < _MAX_ZONES:
                self._zones[text] = zone
        return zone


__all__ = ["DateTimeReader", "NumberReader"]
