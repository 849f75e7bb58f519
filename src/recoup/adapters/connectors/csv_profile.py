"""CSV mapping profiles: how one kind of CSV export becomes canonical events.

A profile is a TOML file (see ``docs/csv-profiles.md``) that
:func:`recoup.adapters.connectors.csv_loader.load_profile` reads and checks into the frozen,
typed :class:`CsvProfile` defined here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Columns = tuple[str, ...]
"""A column, as the names it may go by in the header (first one present wins)."""

ENCODINGS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "utf-8-sig": "utf-8-sig",
    "utf8-sig": "utf-8-sig",
    "cp1252": "cp1252",
    "windows-1252": "cp1252",
    "latin-1": "latin-1",
    "latin1": "latin-1",
    "iso-8859-1": "latin-1",
}
DELIMITERS = {",": ",", ";": ";", "\t": "\t", "tab": "\t", "|": "|", "auto": "auto"}
THOUSANDS = ("", ",", ".", " ", "'", "\u00a0", "\u202f", "_")
NEGATIVE_STYLES = ("minus", "parentheses", "trailing_minus")
ATTRIBUTE_KINDS = ("text", "number", "date")
_OFFSET = re.compile(r"^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$")
_UTC_NAMES = frozenset({"UTC", "GMT", "Z", "UT", "ETC/UTC", "ETC/GMT"})
DEFAULT_TIME_FORMATS = ("%H:%M:%S", "%H:%M")


def resolve_zone(text: str) -> tzinfo | None:
    """A time zone from an IANA name (``Europe/Berlin``), an offset (``+02:00``, ``-0500``,
    ``UTC+1``) or ``UTC``; None when it is none of these."""
    text = text.strip()
    if text.upper() in _UTC_NAMES:
        return UTC
    match = _OFFSET.match(text)
    if match:
        sign, hours, minutes = match.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
        if delta >= timedelta(hours=24) or (minutes and int(minutes) >= 60):
            return None
        return timezone(-delta if sign == "-" else delta)
    if not text or text.startswith(("/", ".")) or "\x00" in text:
        return None
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


@dataclass(frozen=True, slots=True)
class FileSpec:
    """How the bytes are laid out: encoding, delimiter, quote, where the header is."""

    encoding: str = "utf-8-sig"
    delimiter: str = "auto"
    quote: str = '"'
    header_line: int = 1
    summary_labels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NumberFormat:
    decimal: str = "."
    thousands: str = ""
    negatives: tuple[str, ...] = NEGATIVE_STYLES


@dataclass(frozen=True, slots=True)
class OccurredAtSpec:
    """Where the time of the event is: a date column (maybe with the time in it), an optional
    time column, and the zone (from a column, through ``timezone_names``, or the default)."""

    date_column: Columns
    date_formats: tuple[str, ...]
    time_column: Columns | None = None
    time_formats: tuple[str, ...] = DEFAULT_TIME_FORMATS
    timezone_column: Columns | None = None
    timezone: str | None = None
    timezone_names: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class AmountSpec:
    """The money and which way it moved: a signed ``column``; or ``column`` plus an
    ``indicator_column``; or separate ``debit_column`` / ``credit_column``."""

    column: Columns | None = None
    debit_column: Columns | None = None
    credit_column: Columns | None = None
    indicator_column: Columns | None = None
    debit_values: tuple[str, ...] = ()
    credit_values: tuple[str, ...] = ()
    negative_means: str = "debit"
    currency_column: Columns | None = None
    currency: str | None = None

    @property
    def style(self) -> str:
        if self.debit_column is not None:
            return "debit_credit"
        return "indicator" if self.indicator_column is not None else "signed"


@dataclass(frozen=True, slots=True)
class TypeRule:
    """``when`` every listed column holds one of its values (case-insensitive), the row is
    ``type``, with ``refs`` overriding the profile's refs for that row."""

    when: tuple[tuple[Columns, frozenset[str]], ...]
    type: str
    refs: tuple[tuple[str, Columns], ...] = ()


@dataclass(frozen=True, slots=True)
class EventTypeSpec:
    value: str | None = None
    column: Columns | None = None
    map: tuple[tuple[str, str], ...] = ()
    rules: tuple[TypeRule, ...] = ()
    default: str | None = None


@dataclass(frozen=True, slots=True)
class AttributeSpec:
    name: str
    column: Columns
    kind: str = "text"


@dataclass(frozen=True, slots=True)
class ReasonCodeSpec:
    column: Columns
    namespace: str


@dataclass(frozen=True, slots=True)
class CsvProfile:
    """One CSV export's mapping onto canonical events. Build it with :func:`load_profile`."""

    name: str
    description: str
    source: str
    origin: str
    file: FileSpec
    event_type: EventTypeSpec
    occurred_at: OccurredAtSpec
    numbers: NumberFormat = NumberFormat()
    external_id: Columns | None = None
    amount: AmountSpec | None = None
    status: Columns | None = None
    reason_message: Columns | None = None
    reason_code: ReasonCodeSpec | None = None
    refs: tuple[tuple[str, Columns], ...] = ()
    attributes: tuple[AttributeSpec, ...] = ()

    def required_columns(self) -> tuple[Columns, ...]:
        """The columns without which no row can become an event (the header must have them)."""
        needed: list[Columns | None] = [self.external_id, self.occurred_at.date_column]
        if self.amount is not None:
            a = self.amount
            needed += [a.column, a.debit_column, a.credit_column, a.indicator_column]
            needed.append(a.currency_column)
        needed.append(self.event_type.column)
        needed += [columns for rule in self.event_type.rules for columns, _ in rule.when]
        return tuple(dict.fromkeys(c for c in needed if c is not None))

    def mapped_columns(self) -> tuple[Columns, ...]:
        """Every column the profile reads, in profile order: the content of a row that the
        derived external id is a hash of."""
        o, a = self.occurred_at, self.amount
        found: list[Columns | None] = [self.external_id, o.date_column, o.time_column]
        found.append(o.timezone_column)
        if a is not None:
            found += [a.column, a.debit_column, a.credit_column, a.indicator_column]
            found.append(a.currency_column)
        found += [self.event_type.column, *self.required_columns()]
        found += [self.status, self.reason_message]
        found.append(self.reason_code.column if self.reason_code else None)
        found += [columns for _, columns in self.refs]
        found += [c for rule in self.event_type.rules for _, c in rule.refs]
        found += [attribute.column for attribute in self.attributes]
        return tuple(dict.fromkeys(c for c in found if c))


__all__ = [
    "ATTRIBUTE_KINDS",
    "DEFAULT_TIME_FORMATS",
    "DELIMITERS",
    "ENCODINGS",
    "NEGATIVE_STYLES",
    "THOUSANDS",
    "AmountSpec",
    "AttributeSpec",
    "Columns",
    "CsvProfile",
    "EventTypeSpec",
    "FileSpec",
    "NumberFormat",
    "OccurredAtSpec",
    "ReasonCodeSpec",
    "TypeRule",
    "resolve_zone",
]
