"""Holiday dates for business calendars: public holidays from the ``holidays`` package, and
extra dates (company days off) from a plain file.

A holiday file holds one ISO date (``YYYY-MM-DD``) a line; ``#`` starts a comment, blank lines
are skipped::

    # company days off 2026
    2026-12-24
    2026-12-31   # New Year's Eve

The domain sees only ``frozenset[date]``; it never imports ``holidays``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import holidays

from recoup.domain.errors import InvalidInputError, Location

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def holidays_for(
    country: str, years: Iterable[int], subdivision: str | None = None
) -> frozenset[date]:
    """The public holidays of ``country`` (ISO 3166-1 alpha-2, e.g. ``DE``) in ``years``,
    optionally of one ``subdivision`` (e.g. ``BY`` for Bavaria)."""
    try:
        found = holidays.country_holidays(
            country.upper(),
            subdiv=subdivision.upper() if subdivision else None,
            years=sorted(set(years)),
        )
    except NotImplementedError:
        field = "country"
        message = f"no holiday data for country {country!r}"
        if subdivision and country.upper() in holidays.list_supported_countries():
            field = "subdivision"
            message = f"no holiday data for subdivision {subdivision!r} of {country.upper()}"
        raise InvalidInputError(message, location=Location(field=field)) from None
    return frozenset(found.keys())


def check_region(country: str, subdivision: str | None = None) -> None:
    """Raise :class:`InvalidInputError` unless the holiday data knows this region."""
    supported = holidays.list_supported_countries()
    code = country.upper()
    if code not in supported:
        raise InvalidInputError(
            f"no holiday data for country {country!r} (an ISO 3166-1 code such as 'DE')",
            location=Location(field="country"),
        )
    if subdivision is not None and subdivision.upper() not in {s.upper() for s in supported[code]}:
        known = ", ".join(sorted(supported[code])) or "none"
        raise InvalidInputError(
            f"no holiday data for subdivision {subdivision!r} of {code} (known: {known})",
            location=Location(field="subdivision"),
        )


def parse_holiday_lines(text: str, *, file: str) -> frozenset[date]:
    """The dates in a holiday file's ``text``; ``file`` names it in errors."""
    days = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        value = raw.split("#", 1)[0].strip()
        if not value:
            continue
        try:
            if not _ISO_DATE.fullmatch(value):
                raise ValueError
            days.add(date.fromisoformat(value))
        except ValueError:
            raise InvalidInputError(
                f"not an ISO date (YYYY-MM-DD): {value!r}",
                location=Location(file=file, line=number),
            ) from None
    return frozenset(days)


def read_holiday_file(path: Path) -> frozenset[date]:
    """The dates in the holiday file at ``path``."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InvalidInputError("no such holiday file", location=Location(file=str(path))) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(
            f"cannot read the holiday file: {exc}", location=Location(file=str(path))
        ) from None
    return parse_holiday_lines(text, file=str(path))
