"""Business-hours calendars for SLA clocks: hours, weekends, holidays, DST, and their settings."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from recoup.adapters.calendars import (
    holidays_for,
    parse_holiday_lines,
    read_holiday_file,
)
from recoup.adapters.clock import FixedClock
from recoup.domain.cases.calendar import ALWAYS, BusinessCalendar, Calendar
from recoup.domain.errors import ConfigurationError, InvalidInputError
from recoup.settings import CalendarSettings, load_settings, parse_workdays

BERLIN = ZoneInfo("Europe/Berlin")
CHRISTMAS = frozenset({date(2026, 12, 25), date(2026, 12, 26)})


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


@pytest.fixture
def calendar() -> BusinessCalendar:
    return BusinessCalendar("Europe/Berlin", holidays=CHRISTMAS)


# --- add -----------------------------------------------------------------------------------


def test_four_hours_from_friday_afternoon_end_on_monday_morning(
    calendar: BusinessCalendar,
) -> None:
    clock = FixedClock(berlin(2026, 3, 6, 15, 0))  # a Friday

    due_at = calendar.add(clock.now(), timedelta(hours=4))

    assert due_at == berlin(2026, 3, 9, 11, 0)
    assert due_at.tzinfo is UTC
    assert due_at == datetime(2026, 3, 9, 10, 0, tzinfo=UTC)


def test_the_eve_of_a_holiday_skips_the_holidays_and_the_weekend(
    calendar: BusinessCalendar,
) -> None:
    clock = FixedClock(berlin(2026, 12, 24, 16, 0))  # Thursday; Fri 25 and Sat 26 are off

    due_at = calendar.add(clock.now(), timedelta(hours=4))

    assert due_at == berlin(2026, 12, 28, 12, 0)  # 1 h on the 24th, 3 h on Monday the 28th


def test_a_start_on_sunday_begins_at_monday_opening(calendar: BusinessCalendar) -> None:
    sunday = berlin(2026, 3, 8, 12, 30)

    assert calendar.add(sunday, timedelta(0)) == berlin(2026, 3, 9, 9, 0)
    assert calendar.add(sunday, timedelta(hours=1)) == berlin(2026, 3, 9, 10, 0)


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        pytest.param(berlin(2026, 3, 9, 7, 0), 1, berlin(2026, 3, 9, 10, 0), id="before-opening"),
        pytest.param(berlin(2026, 3, 9, 18, 0), 1, berlin(2026, 3, 10, 10, 0), id="after-closing"),
        pytest.param(berlin(2026, 3, 9, 9, 0), 8, berlin(2026, 3, 9, 17, 0), id="ends-at-closing"),
        pytest.param(berlin(2026, 3, 9, 17, 0), 0, berlin(2026, 3, 10, 9, 0), id="at-closing"),
        pytest.param(berlin(2026, 3, 9, 16, 0), 1, berlin(2026, 3, 9, 17, 0), id="last-hour"),
    ],
)
def test_starts_and_ends_at_the_edges_of_the_window(
    calendar: BusinessCalendar, start: datetime, hours: int, due: datetime
) -> None:
    assert calendar.add(start, timedelta(hours=hours)) == due


def test_the_autumn_dst_weekend_counts_wall_clock_hours(calendar: BusinessCalendar) -> None:
    friday = berlin(2026, 10, 23, 16, 0)  # CEST (UTC+2); Sunday the 25th falls back to CET

    due_at = calendar.add(friday, timedelta(hours=2))

    assert due_at == berlin(2026, 10, 26, 10, 0)
    assert due_at == datetime(2026, 10, 26, 9, 0, tzinfo=UTC)  # CET is UTC+1
    assert calendar.business_time_between(friday, due_at) == timedelta(hours=2)


def test_a_window_spanning_a_dst_change_counts_elapsed_time() -> None:
    night = BusinessCalendar("Europe/Berlin", workdays=frozenset(range(7)), opens=time(1),
                             closes=time(5))  # fmt: skip
    autumn, spring = date(2026, 10, 25), date(2026, 3, 29)

    assert night.business_time_between(berlin(2026, 10, 25, 0), berlin(2026, 10, 25, 6)) == (
        timedelta(hours=5)
    )
    assert night.business_time_between(berlin(2026, 3, 29, 0), berlin(2026, 3, 29, 6)) == (
        timedelta(hours=3)
    )
    assert night.window(autumn) == (
        datetime(2026, 10, 24, 23, 0, tzinfo=UTC),
        datetime(2026, 10, 25, 4, 0, tzinfo=UTC),
    )
    assert night.window(spring) == (
        datetime(2026, 3, 29, 0, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 3, 0, tzinfo=UTC),
    )
    assert night.add(berlin(2026, 10, 25, 1), timedelta(hours=4, minutes=30)) == datetime(
        2026, 10, 25, 3, 30, tzinfo=UTC
    )


def test_durations_of_many_days(calendar: BusinessCalendar) -> None:
    monday = berlin(2026, 3, 2, 9, 0)

    assert calendar.add(monday, timedelta(hours=24)) == berlin(2026, 3, 4, 17, 0)
    # 30 business days of 8 hours: six whole weeks, across the spring DST change
    assert calendar.add(monday, timedelta(hours=8 * 30)) == berlin(2026, 4, 10, 17, 0)
    assert calendar.add(monday, timedelta(hours=8 * 30, minutes=1)) == berlin(2026, 4, 13, 9, 1)


def test_thirty_business_days_step_by_days_not_minutes(
    calendar: BusinessCalendar, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[date] = []
    window: Callable[[BusinessCalendar, date], object] = BusinessCalendar.window

    def counting(self: BusinessCalendar, day: date) -> object:
        calls.append(day)
        return window(self, day)

    monkeypatch.setattr(BusinessCalendar, "window", counting)

    calendar.add(berlin(2026, 3, 2, 9, 0), timedelta(hours=8 * 30))

    assert len(calls) == 40  # 2026-03-02 .. 2026-04-10, one look per calendar day


def test_other_workweeks_and_zones() -> None:
    dubai = BusinessCalendar("Asia/Dubai", workdays=parse_workdays("mon-fri"), opens=time(8),
                             closes=time(16))  # fmt: skip
    tel_aviv = BusinessCalendar("Asia/Jerusalem", workdays=parse_workdays("sun-thu"))
    friday = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)

    assert dubai.add(friday, timedelta(hours=1)) == datetime(2026, 3, 9, 5, 0, tzinfo=UTC)
    assert tel_aviv.add(friday, timedelta(hours=1)) == datetime(
        2026, 3, 8, 8, 0, tzinfo=UTC
    )  # Sunday 10:00 IST


# --- ALWAYS and the inverse ----------------------------------------------------------------

starts = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2090, 12, 31),
    timezones=st.sampled_from([UTC, BERLIN, ZoneInfo("America/New_York")]),
)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=120))


@given(start=starts, duration=durations)
def test_always_is_plain_addition(start: datetime, duration: timedelta) -> None:
    due_at = ALWAYS.add(start, duration)

    assert due_at == start.astimezone(UTC) + duration
    assert due_at.tzinfo is UTC
    assert ALWAYS.business_time_between(start, due_at) == duration


@settings(max_examples=300)
@given(start=starts, duration=durations)
def test_business_time_between_inverts_add(start: datetime, duration: timedelta) -> None:
    calendar = BusinessCalendar("Europe/Berlin", holidays=CHRISTMAS | {date(2030, 5, 1)})

    due_at = calendar.add(start, duration)

    assert due_at >= start
    assert due_at.tzinfo is UTC
    assert calendar.business_time_between(start, due_at) == duration
    assert calendar.business_time_between(due_at, start) == -duration


@settings(suppress_health_check=[HealthCheck.filter_too_much])  # most instants are off-hours
@given(start=starts, span=durations)
def test_add_of_the_business_time_between_ends_at_a_business_instant(
    start: datetime, span: timedelta
) -> None:
    calendar = BusinessCalendar("Europe/Berlin")
    end = start + span
    window = calendar.window(end.astimezone(BERLIN).date())
    assume(window is not None and window[0] < end <= window[1])

    assert calendar.add(start, calendar.business_time_between(start, end)) == end


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone", "unknown time zone 'Mars/Olympus'"),
        ({"workdays": frozenset()}, "workdays", "at least one workday"),
        ({"workdays": frozenset({7})}, "workdays", "not 7"),
        ({"opens": time(17), "closes": time(9)}, "closes", "closes (09:00) must be after opens"),
        ({"opens": time(9), "closes": time(9)}, "closes", "must be after opens"),
        ({"opens": time(9, tzinfo=UTC)}, "opens", "takes no zone"),
        ({"holidays": frozenset({datetime(2026, 1, 1, tzinfo=UTC)})}, "holidays", "are dates"),
    ],
)
def test_a_bad_calendar_is_refused(kwargs: dict[str, object], field: str, message: str) -> None:
    arguments: dict[str, object] = {"timezone": "Europe/Berlin", **kwargs}

    with pytest.raises(InvalidInputError) as caught:
        BusinessCalendar(**arguments)  # type: ignore[arg-type]

    assert message in caught.value.message
    assert caught.value.location.field == field


@pytest.mark.parametrize("clock", [ALWAYS, BusinessCalendar("UTC")])
def test_naive_datetimes_and_negative_durations_are_refused(
    clock: Calendar,
) -> None:
    naive = datetime(2026, 3, 6, 15, 0)
    aware = naive.replace(tzinfo=UTC)

    with pytest.raises(InvalidInputError, match="start must be timezone-aware"):
        clock.add(naive, timedelta(hours=1))
    with pytest.raises(InvalidInputError, match="b must be timezone-aware"):
        clock.business_time_between(aware, naive)
    with pytest.raises(InvalidInputError, match="must not be negative"):
        clock.add(aware, timedelta(hours=-1))


def test_a_duration_past_the_end_of_time_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="last representable date"):
        BusinessCalendar("UTC").add(datetime(9999, 12, 1, tzinfo=UTC), timedelta(days=365))


# --- holidays ------------------------------------------------------------------------------


def test_german_public_holidays_include_christmas() -> None:
    days = holidays_for("DE", [2026])

    assert date(2026, 12, 25) in days
    assert date(2026, 12, 26) in days
    assert date(2026, 12, 24) not in days
    assert all(day.year == 2026 for day in days)


def test_a_subdivision_adds_its_own_holidays() -> None:
    assert date(2026, 1, 6) not in holidays_for("DE", [2026])
    assert date(2026, 1, 6) in holidays_for("de", [2026], subdivision="by")  # Epiphany, Bavaria


def test_unknown_regions_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="no holiday data for country 'XX'"):
        holidays_for("XX", [2026])
    with pytest.raises(InvalidInputError, match="subdivision 'ZZ' of DE") as caught:
        holidays_for("DE", [2026], subdivision="ZZ")
    assert caught.value.location.field == "subdivision"


def test_a_holiday_file_holds_dates_and_comments() -> None:
    text = "# company days off\n\n2026-12-24\n 2026-12-31  # New Year's Eve\n2026-12-24\n"

    assert parse_holiday_lines(text, file="days.txt") == {date(2026, 12, 24), date(2026, 12, 31)}


@pytest.mark.parametrize("bad", ["24.12.2026", "2026-02-30", "20261224", "2026-12-24 x"])
def test_a_bad_holiday_line_is_named(bad: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_holiday_lines(f"# days off\n2026-12-24\n{bad}\n", file="days.txt")

    assert caught.value.location.file == "days.txt"
    assert caught.value.location.line == 3
    assert str(caught.value) == f"days.txt, line 3: not an ISO date (YYYY-MM-DD): {bad!r}"


def test_a_holiday_file_is_read_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "days.txt"
    path.write_text("2026-12-24\n", encoding="utf-8")

    assert read_holiday_file(path) == {date(2026, 12, 24)}
    with pytest.raises(InvalidInputError, match="no such holiday file") as caught:
        read_holiday_file(tmp_path / "missing.txt")
    assert caught.value.location.file == str(tmp_path / "missing.txt")


# --- settings ------------------------------------------------------------------------------


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Set RECOUP_CALENDAR__ variables, starting from an environment with no RECOUP_ at all."""
    for key in list(os.environ):
        if key.upper().startswith("RECOUP_"):
            monkeypatch.delenv(key)

    def set_(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"RECOUP_CALENDAR__{name.upper()}", value)

    return set_


def test_by_default_sla_clocks_run_around_the_clock(env: Callable[..., None]) -> None:
    env()
    section = load_settings().calendar

    assert section.business_hours is False
    assert section.timezone == "UTC"
    assert section.workday_numbers == frozenset(range(5))
    assert (section.opens, section.closes) == (time(9), time(17))
    assert section.domain(date(2026, 6, 1)) is ALWAYS


def test_business_hours_build_the_calendar(env: Callable[..., None], tmp_path: Path) -> None:
    days_off = tmp_path / "days.txt"
    days_off.write_text("2026-12-24  # Christmas Eve\n", encoding="utf-8")
    env(business_hours="true", timezone="Europe/Berlin", workdays="Mon-Thu,fri", opens="08:30",
        closes="16:00", holiday_country="de", holiday_subdivision="by",
        holidays_file=str(days_off))  # fmt: skip

    calendar = load_settings().calendar.domain(date(2026, 6, 1))

    assert isinstance(calendar, BusinessCalendar)
    assert calendar.timezone == "Europe/Berlin"
    assert calendar.workdays == frozenset(range(5))
    assert (calendar.opens, calendar.closes) == (time(8, 30), time(16))
    assert {date(2026, 12, 24), date(2026, 12, 25), date(2026, 1, 6)} <= calendar.holidays
    assert min(calendar.holidays).year == 2025
    assert max(calendar.holidays).year == 2028
    assert calendar.add(berlin(2026, 12, 23, 15, 0), timedelta(hours=2)) == berlin(
        2026, 12, 28, 9, 30
    )


def test_a_broken_holiday_file_is_named_when_the_calendar_is_built(
    env: Callable[..., None], tmp_path: Path
) -> None:
    days_off = tmp_path / "days.txt"
    days_off.write_text("2026-12-24\nChristmas\n", encoding="utf-8")
    env(business_hours="true", holidays_file=str(days_off))
    section = load_settings().calendar

    with pytest.raises(InvalidInputError, match=r"days.txt, line 2: not an ISO date"):
        section.domain(date(2026, 6, 1))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"timezone": "Berlin"}, "RECOUP_CALENDAR__TIMEZONE: unknown time zone 'Berlin'"),
        ({"workdays": "mon,funday"}, "RECOUP_CALENDAR__WORKDAYS: unknown weekday 'funday'"),
        ({"workdays": " , "}, "RECOUP_CALENDAR__WORKDAYS: at least one workday is needed"),
        ({"opens": "18:00"}, "RECOUP_CALENDAR__CLOSES (17:00) must be after"),
        ({"closes": "25:00"}, "RECOUP_CALENDAR__CLOSES"),
        ({"holiday_subdivision": "BY"}, "HOLIDAY_SUBDIVISION is set but"),
        ({"holiday_country": "XX"}, "no holiday data for country 'XX'"),
        ({"holiday_country": "DE", "holiday_subdivision": "ZZ"}, "subdivision 'ZZ' of DE"),
        ({"business_hours": "maybe"}, "RECOUP_CALENDAR__BUSINESS_HOURS"),
    ],
)
def test_bad_calendar_settings_are_refused(
    env: Callable[..., None], values: dict[str, str], message: str
) -> None:
    env(**values)

    with pytest.raises(ConfigurationError) as caught:
        load_settings()

    assert message in caught.value.message


def test_unknown_calendar_settings_are_refused(env: Callable[..., None]) -> None:
    env(holidays_country="DE")

    with pytest.raises(ConfigurationError, match="RECOUP_CALENDAR__HOLIDAYS_COUNTRY"):
        load_settings()


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("mon,tue,wed,thu,fri", {0, 1, 2, 3, 4}),
        ("Monday, Wednesday", {0, 2}),
        ("sun-thu", {6, 0, 1, 2, 3}),
        ("sat", {5}),
        ("fri-mon", {4, 5, 6, 0}),
    ],
)
def test_workdays_are_read_from_names_and_ranges(text: str, days: set[int]) -> None:
    assert parse_workdays(text) == days
    assert CalendarSettings(workdays=text).workday_numbers == days
