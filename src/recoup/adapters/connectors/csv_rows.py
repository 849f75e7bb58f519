"""One CSV row, through a profile, to a canonical event or a rejection that names the column.

The mapper is built once per file from the profile and the header (each mapped column becomes
an index), so mapping a row is index lookups, a few cell readers and :func:`build_event`.

External ids when the export has none
-------------------------------------
Many exports (most bank CSVs) have no id column, yet ``(source, external_id)`` is what makes
ingest idempotent. The id is then derived from the row itself: a hash of the cells of every
column the profile maps (in profile order, trimmed), plus how many times that same content has
already appeared earlier in this file: ``row:<hash>:1``, ``row:<hash>:2``, ...

- Importing the same file again gives every row the same id, so nothing is counted twice.
- Two genuinely identical rows in one export (two equal card payments on the same day) differ
  in their occurrence count, so they stay two events instead of collapsing into one.
- The id depends on the text of the mapped cells: a re-export that formats amounts or dates
  differently, or an export that overlaps another and starts between two identical rows, gives
  different ids. Map an id column whenever the export has a real one.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from typing import Any

from recoup.adapters.connectors.base import FileFlag
from recoup.adapters.connectors.csv_profile import Columns, CsvProfile
from recoup.adapters.connectors.csv_values import DateTimeReader, NumberReader
from recoup.domain.errors import Location
from recoup.domain.ingestion.canonical import Rejection, build_event
from recoup.domain.ingestion.event import Event


def header_key(name: str) -> str:
    """How header names are compared: case, repeated blanks and a stray BOM do not matter."""
    return " ".join(name.replace("\ufeff", "").split()).casefold()


def _q(text: str) -> str:
    """A cell's text quoted for a message: ``"31/02/2026"`` (cut when long)."""
    return f'"{text[:60]}..."' if len(text) > 63 else f'"{text}"'


class CellError(Exception):
    """A row cannot become an event because of one cell (or a missing one)."""

    def __init__(self, column: str | None, code: str, reason: str) -> None:
        super().__init__(reason)
        self.column, self.code, self.reason = column, code, reason


class RowMapper:
    """Maps the rows of one file whose header is ``header``."""

    def __init__(
        self,
        profile: CsvProfile,
        header: list[str],
        *,
        label: str,
        source: str | None,
        received_at: datetime,
    ) -> None:
        self.profile = profile
        self.label = label
        self.source = source or profile.source
        self.received_at = received_at
        self.width = width = len(header)
        self.absent = width  # rows are padded with one empty cell, where absent columns point
        self._index: dict[str, int] = {}
        for position, name in enumerate(header):
            self._index.setdefault(header_key(name), position)
        self._names: dict[int, str] = {i: name.strip() for i, name in enumerate(header)}
        self.missing = [c[0] for c in profile.required_columns() if self.at(c) == width]
        p, o = profile, profile.occurred_at
        self.dates = DateTimeReader(o)
        self.number = NumberReader(p.numbers)
        self.date_i, self.time_i = self.at(o.date_column), self.at(o.time_column)
        self.zone_i = self.at(o.timezone_column)
        self.id_i = self.at(p.external_id)
        self.status_i, self.message_i = self.at(p.status), self.at(p.reason_message)
        self.reason_i = self.at(p.reason_code.column if p.reason_code else None)
        self.refs = [(kind, self.at(columns)) for kind, columns in p.refs]
        self.attributes = [(a.name, self.at(a.column), a.kind) for a in p.attributes]
        self.type_map = dict(p.event_type.map)
        self.type_i = self.at(p.event_type.column)
        self.rules = [
            (
                [(self.at(c), values) for c, values in rule.when],
                rule.type,
                [(kind, self.at(columns)) for kind, columns in rule.refs],
            )
            for rule in p.event_type.rules
        ]
        a = p.amount
        self.amount_i = self.at(a.column) if a else width
        self.debit_i = self.at(a.debit_column) if a else width
        self.credit_i = self.at(a.credit_column) if a else width
        self.indicator_i = self.at(a.indicator_column) if a else width
        self.currency_i = self.at(a.currency_column) if a else width
        self.hashed = [self.at(columns) for columns in p.mapped_columns()]
        self.seen: dict[bytes, int] = {}
        self.fields_to_columns: dict[str, int] = {
            "external_id": self.id_i,
            "occurred_at": self.date_i,
            "currency": self.currency_i,
            "status": self.status_i,
            "reason_code": self.reason_i,
            "reason_message": self.message_i,
            "type": self.type_i,
        }
        self.amount_column = width
        self.ref_columns: dict[str, int] = {}
        self.type_columns = sorted({i for conditions, _, _ in self.rules for i, _ in conditions})

    def at(self, columns: Columns | None) -> int:
        """The position of a column in a padded row (``absent`` when the header lacks it)."""
        for name in columns or ():
            position = self._index.get(header_key(name))
            if position is not None:
                return position
        return self.absent

    def name(self, position: int) -> str:
        return self._names.get(position, "?")

    def padded(self, row: list[str]) -> list[str]:
        """The row's cells, trimmed, cut or padded to the header, plus the empty absent cell."""
        cells = [cell.strip() for cell in row[: self.width]]
        cells.extend([""] * (self.width + 1 - len(cells)))
        return cells

    # --- one row --------------------------------------------------------------------------------

    def map(self, row: list[str], line: int, raw: str) -> Event | Rejection | FileFlag:
        try:
            fields = self.fields(row)
        except CellError as error:
            on_date = error.code == "invalid_date" and error.column == self.name(self.date_i)
            label = self.summary_label(row) if on_date else None
            if label is not None:
                reason = f"summary row ({_q(label)}), not a transaction: not imported"
                return FileFlag(Location(self.label, line), "summary_row", reason)
            return Rejection(
                Location(self.label, line, error.column), error.code, error.reason, raw
            )
        result = build_event(
            fields, received_at=self.received_at, raw=raw, file=self.label, line=line
        )
        if isinstance(result, Rejection):
            return self.relocated(result)
        return result

    def relocated(self, rejection: Rejection) -> Rejection:
        """Point a schema rejection at the column the bad value came from."""
        field = rejection.location.field or ""
        if field == "amount":
            position: int | None = self.amount_column
        elif field.startswith("refs."):
            position = self.ref_columns.get(field[5:])
        else:
            position = self.fields_to_columns.get(field)
        if position is None or position == self.absent:
            return rejection
        column = self.name(position)
        location = Location(rejection.location.file, rejection.location.line, column)
        return Rejection(
            location, rejection.code, f"{rejection.reason} (column {column})", rejection.raw
        )

    def summary_label(self, row: list[str]) -> str | None:
        """The cell that makes this a summary row (``Total``), if the profile names one."""
        labels = self.profile.file.summary_labels
        for cell in row if labels else ():
            if cell.strip().rstrip(":").strip().casefold() in labels:
                return cell.strip()
        return None

    def fields(self, row: list[str]) -> dict[str, Any]:
        if self.missing:
            names = ", ".join(self.missing)
            raise CellError(
                self.missing[0],
                "missing_column",
                f"the header has no column {names} (profile {self.profile.name})",
            )
        if len(row) > self.width and "".join(row[self.width :]).strip():
            raise CellError(
                None, "extra_cells", f"the row has {len(row)} cells but the header has {self.width}"
            )
        row = self.padded(row)
        fields: dict[str, Any] = {"source": self.source, "occurred_at": self.occurred_at(row)}
        event_type, rule_refs = self.event_type(row)
        fields["type"] = event_type
        if self.profile.amount is not None:
            self.amount(row, fields)
        if status := row[self.status_i]:
            fields["status"] = status
        if message := row[self.message_i]:
            fields["reason_message"] = message
        if (code := row[self.reason_i]) and self.profile.reason_code:
            fields["reason_code"] = f"{self.profile.reason_code.namespace}:{code}"
        self.ref_columns = dict(self.refs)
        self.ref_columns.update(rule_refs)
        refs = {kind: value for kind, i in self.ref_columns.items() if (value := row[i])}
        if refs:
            fields["refs"] = refs
        if self.attributes:
            fields["attributes"] = self.attribute_values(row)
        fields["external_id"] = self.external_id(row)
        return fields

    def occurred_at(self, row: list[str]) -> datetime:
        column = self.name(self.date_i)
        text = row[self.date_i]
        if not text:
            raise CellError(column, "invalid_date", f"no date in column {column}")
        moment = self.dates.date(text)
        if moment is None:
            formats = " or ".join(self.dates.date_formats)
            raise CellError(
                column,
                "invalid_date",
                f"unparseable date {_q(text)} in column {column} (expected {formats})",
            )
        if time_text := row[self.time_i]:
            clock = self.dates.time(time_text)
            if clock is None:
                column = self.name(self.time_i)
                formats = " or ".join(self.dates.time_formats)
                raise CellError(
                    column,
                    "invalid_date",
                    f"unparseable time {_q(time_text)} in column {column} (expected {formats})",
                )
            moment = moment.replace(
                hour=clock.hour,
                minute=clock.minute,
                second=clock.second,
                microsecond=clock.microsecond,
                tzinfo=clock.tzinfo or moment.tzinfo,
            )
        if moment.tzinfo is None:
            zone = self.dates.default_zone
            if zone_text := row[self.zone_i]:
                zone = self.dates.zone(zone_text)
                if zone is None:
                    column = self.name(self.zone_i)
                    raise CellError(
                        column,
                        "invalid_timezone",
                        f"unknown time zone {_q(zone_text)} in column {column}",
                    )
            if zone is None:
                column = self.name(self.zone_i) if self.zone_i != self.absent else column
                raise CellError(column, "invalid_timezone", f"no time zone in column {column}")
            moment = moment.replace(tzinfo=zone)
        return moment

    def event_type(self, row: list[str]) -> tuple[str, list[tuple[str, int]]]:
        folded = {i: row[i].casefold() for i in self.type_columns}
        for conditions, event_type, refs in self.rules:
            if all(folded[i] in values for i, values in conditions):
                return event_type, refs
        if self.type_i != self.absent:
            found = self.type_map.get(row[self.type_i].casefold())
            if found is not None:
                return found, []
        spec = self.profile.event_type
        if spec.value is not None:
            return spec.value, []
        if spec.default is not None:
            return spec.default, []
        shown = sorted(set(self.type_columns) | ({self.type_i} - {self.absent}))
        values = ", ".join(f"{self.name(i)} {_q(row[i])}" for i in shown)
        column = self.name(shown[0]) if shown else None
        raise CellError(
            column, "unknown_type", f"no event type for {values} in profile {self.profile.name}"
        )

    def read_number(self, row: list[str], position: int, what: str) -> Decimal | None:
        text = row[position]
        if not text:
            return None
        value = self.number(text)
        if value is None:
            column = self.name(position)
            raise CellError(
                column, "invalid_amount", f"{what} {_q(text)} in column {column} is not a number"
            )
        return value

    def amount(self, row: list[str], fields: dict[str, Any]) -> None:
        spec = self.profile.amount
        assert spec is not None
        style, direction = spec.style, None
        if style == "debit_credit":
            debit = self.read_number(row, self.debit_i, "amount")
            credit = self.read_number(row, self.credit_i, "amount")
            if debit and credit:
                raise CellError(
                    self.name(self.debit_i),
                    "invalid_amount",
                    f"both {self.name(self.debit_i)} ({debit}) and "
                    f"{self.name(self.credit_i)} ({credit}) hold an amount",
                )
            if debit is None and credit is None:
                raise CellError(
                    self.name(self.debit_i),
                    "invalid_amount",
                    f"no amount in column {self.name(self.debit_i)} or {self.name(self.credit_i)}",
                )
            use_debit = bool(debit) or credit is None
            self.amount_column = self.debit_i if use_debit else self.credit_i
            value = debit if use_debit else credit
            assert value is not None
            direction = None if not value else ("debit" if use_debit else "credit")
        else:
            self.amount_column = self.amount_i
            found = self.read_number(row, self.amount_i, "amount")
            if found is None:
                column = self.name(self.amount_i)
                raise CellError(column, "invalid_amount", f"no amount in column {column}")
            value = found
            if style == "indicator":
                direction = self.indicated(row)
            elif value:
                other = "credit" if spec.negative_means == "debit" else "debit"
                direction = spec.negative_means if value < 0 else other
        if spec.currency is not None:
            currency = spec.currency
        elif not (currency := row[self.currency_i].upper()):
            column = self.name(self.currency_i)
            raise CellError(column, "missing_value", f"no currency in column {column}")
        fields["amount"] = abs(value)
        fields["currency"] = currency
        if direction is not None:
            fields["direction"] = direction

    def indicated(self, row: list[str]) -> str:
        spec = self.profile.amount
        assert spec is not None
        text = row[self.indicator_i]
        if text.casefold() in spec.debit_values:
            return "debit"
        if text.casefold() in spec.credit_values:
            return "credit"
        column = self.name(self.indicator_i)
        expected = "/".join(spec.debit_values + spec.credit_values)
        raise CellError(
            column,
            "invalid_value",
            f"unknown debit/credit indicator {_q(text)} in column {column} "
            f"(expected one of {expected})",
        )

    def attribute_values(self, row: list[str]) -> dict[str, str]:
        values: dict[str, str] = {}
        for name, position, kind in self.attributes:
            text = row[position]
            if not text:
                continue
            if kind == "number":
                number = self.read_number(row, position, name)
                values[name] = str(number)
            elif kind == "date":
                moment = self.dates.date(text)
                if moment is None:
                    column = self.name(position)
                    raise CellError(
                        column, "invalid_date", f"unparseable date {_q(text)} in column {column}"
                    )
                values[name] = moment.date().isoformat()
            else:
                values[name] = text
        return values

    def external_id(self, row: list[str]) -> str:
        """The id column's value; without one, ``row:<hash of the mapped cells>:<occurrence>``,
        the same on every import of the file and distinct for identical rows (module doc)."""
        if self.id_i != self.absent:
            value = row[self.id_i]
            if not value:
                column = self.name(self.id_i)
                raise CellError(column, "missing_value", f"no id in column {column}")
            return value
        content = "\x1f".join([row[i] for i in self.hashed])
        digest = hashlib.blake2b(content.encode("utf-8", "surrogatepass"), digest_size=12).digest()
        count = self.seen[digest] = self.seen.get(digest, 0) + 1
        return f"row:{digest.hex()}:{count}"


__all__ = ["CellError", "RowMapper", "header_key"]
