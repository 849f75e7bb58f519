"""Business hours for SLA clocks: when does a duration of *working* time run out?

A :class:`BusinessCalendar` counts only the time inside its daily window (``opens`` to
``closes``, local wall-clock time in ``timezone``) on its workdays, skipping its holidays. A
start outside the window begins at the next opening; a duration that runs out exactly at a
closing ends at that closing, not at the next opening.

    >>> berlin = BusinessCalendar("Europe/Berlin")
    >>> friday = datetime(2026, 3, 6, 14, 0, tzinfo=UTC)        # 15:00 in Berlin
    >>> berlin.add(friday, timedelta(hours=4)).isoformat()      # Monday 11:00 in Berlin
    '2026-03-09T10:00:00+00:00'

Business time is elapsed time: each day's window is placed on the time line through the zone
(``zoneinfo``), so a window that spans a daylight-saving change is an hour shorter or longer. A
window edge that falls into a DST gap or overlap is read with ``fold=0`` (the offset in force
before the change). :data:`ALWAYS` is the 24/7 calendar: plain addition of elapsed time.

Both calendars step through the time line a whole day at a time, never minute by minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from recoup.domain.errors import InvalidInputError, Location

MONDAY_TO_FRIDAY: Final = frozenset(range(5))
"""Weekday numbers as :meth:`datetime.date.weekday` counts them: 0 is Monday, 6 is Sunday."""

_ONE_DAY: Final = timedelta(days=1)


class Calendar(Protocol):
    """What an SLA clock needs from a calendar."""

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The UTC instant at which ``duration`` of counted time has passed after ``start``."""
        ...

    def business_time_between(self, a: datetime, b: datetime) -> timedelta:
        """The counted time from ``a`` to ``b`` (negative when ``b`` is before ``a``)."""
        ...


@dataclass(frozen=True, slots=True)
class AlwaysOpen:
    """The 24/7 calendar: every instant counts, so ``add`` is plain addition."""

    def add(self, start: datetime, duration: timedelta) -> datetime:
        _check_aware(start, "start")
        _check_duration(duration)
        return start.astimezone(UTC) + duration

    def business_time_between(self, a: datetime, b: datetime) -> timedelta:
        _check_aware(a, "a")
        _check_aware(b, "b")
        return b - a


ALWAYS: Final = AlwaysOpen()
"""SLA clocks that run around the clock (the default)."""


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """Working hours in one time zone: a daily window on workdays, minus holidays.

    ``workdays`` are weekday numbers (0 = Monday … 6 = Sunday); ``opens`` and ``closes`` are
    local wall-clock times without a zone, ``closes`` after ``opens`` (no overnight windows);
    ``holidays`` are local dates on which the window stays shut.
    """

    timezone: str
    workdays: frozenset[int] = MONDAY_TO_FRIDAY
    opens: time = time(9, 0)
    closes: time = time(17, 0)
    holidays: frozenset[date] = frozenset()
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise InvalidInputError(
                f"unknown time zone {self.timezone!r} (an IANA name such as 'Europe/Berlin')",
                location=Location(field="timezone"),
            ) from None
        object.__setattr__(self, "_zone", zone)
        workdays = frozenset(self.workdays)
        if not workdays:
            raise InvalidInputError(
                "a calendar needs at least one workday", location=Location(field="workdays")
            )
        bad = sorted(d for d in workdays if not (isinstance(d, int) and 0 <= d <= 6))
        if bad:
            raise InvalidInputError(
                f"workdays are 0 (Monday) to 6 (Sunday), not {bad[0]!r}",
                location=Location(field="workdays"),
            )
        object.__setattr__(self, "workdays", workdays)
        for name in ("opens", "closes"):
            value = getattr(self, name)
            if not isinstance(value, time):
                raise InvalidInputError(
                    f"{name} must be a time of day", location=Location(field=name)
                )
            if value.tzinfo is not None:
                raise InvalidInputError(
                    f"{name} is a local wall-clock time and takes no zone (use timezone)",
                    location=Location(field=name),
                )
        if self.closes <= self.opens:
            raise InvalidInputError(
                f"closes ({self.closes:%H:%M}) must be after opens ({self.opens:%H:%M})",
                location=Location(field="closes"),
            )
        holidays = frozenset(self.holidays)
        for day in holidays:
            if isinstance(day, datetime) or not isinstance(day, date):
                raise InvalidInputError(
                    f"holidays are dates, not {day!r}", location=Location(field="holidays")
                )
        object.__setattr__(self, "holidays", holidays)

    def is_business_day(self, day: date) -> bool:
        """Whether ``day`` (a local date) has an open window."""
        return day.weekday() in self.workdays and day not in self.holidays

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The UTC opening and closing instants of ``day`` (a local date), or ``None``."""
        if not self.is_business_day(day):
            return None
        opens = datetime.combine(day, self.opens, tzinfo=self._zone).astimezone(UTC)
        closes = datetime.combine(day, self.closes, tzinfo=self._zone).astimezone(UTC)
        return opens, closes

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The UTC instant at which ``duration`` of business time has passed after ``start``.

        A start outside the window begins at the next opening (so a zero duration from a
        Sunday is Monday's opening).
        """
        _check_aware(start, "start")
        _check_duration(duration)
        cursor = start.astimezone(UTC)
        remaining = duration
        for opens, closes in self._windows_from(cursor):
            if closes <= cursor:
                continue
            begin = max(cursor, opens)
            available = closes - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
            cursor = closes
        raise AssertionError("unreachable: the windows never end")  # pragma: no cover

    def business_time_between(self, a: datetime, b: datetime) -> timedelta:
        """The business time from ``a`` to ``b``; negative when ``b`` is before ``a``.

        ``business_time_between(a, add(a, d)) == d`` for every ``d`` at or above zero.
        """
        _check_aware(a, "a")
        _check_aware(b, "b")
        if b < a:
            return -self.business_time_between(b, a)
        start, end = a.astimezone(UTC), b.astimezone(UTC)
        total = timedelta(0)
        for opens, closes in self._windows_from(start):
            if opens >= end:
                break
            overlap = min(closes, end) - max(opens, start)
            if overlap > timedelta(0):
                total += overlap
        return total

    def _windows_from(self, instant: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The windows of the local day of ``instant`` and of every day after it, in order.

        Raises :class:`InvalidInputError` when the calendar runs off the end of time (a
        duration too long for ``datetime``).
        """
        day = instant.astimezone(self._zone).date()
        while True:
            window = self.window(day)
            if window is not None:
                yield window
            try:
                day += _ONE_DAY
            except OverflowError:
                raise InvalidInputError(
                    "the duration runs past the last representable date",
                    location=Location(field="duration"),
                ) from None


def _check_aware(value: datetime, name: str) -> None:
    if not isinstance(value, datetime):
        raise InvalidInputError(f"{name} must be a datetime", location=Location(field=name))
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInputError(
            f"{name} must be timezone-aware (got the naive {value.isoformat()})",
            location=Location(field=name),
        )


def _check_duration(duration: timedelta) -> None:
    if not isinstance(duration, timedelta):
        raise InvalidInputError("duration must be a timedelta", location=Location(field="duration"))
    if duration < timedelta(0):
        raise InvalidInputError(
            f"duration must not be negative (got {duration})", location=Location(field="duration")
        )


__all__ = [
    "ALWAYS",
    "MONDAY_TO_FRIDAY",
    "AlwaysOpen",
    "BusinessCalendar",
    "Calendar",
]
