"""Ledger files: a chart of accounts from TOML, write-off thresholds from CSV, and the journal
exported as CSV (one row per line) for a general ledger to import.

Amounts are written as exact decimal text with their currency's decimals (``5.00``, ``500``
for JPY), never in exponent form. Text cells that a spreadsheet would run as a formula
(starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) are prefixed with ``'``.
"""

from __future__ import annotations

import csv
import re
import tomllib
from collections.abc import Iterable, Iterator
from datetime import UTC
from pathlib import Path
from typing import TextIO

from recoup.domain.errors import InvalidInputError, Location
from recoup.domain.money import Money
from recoup.domain.recovery.ledger import (
    DEFAULT_CHART,
    ChartOfAccounts,
    JournalEntry,
    chart_from_mapping,
    in_currency_decimals,
)
from recoup.domain.recovery.liability import WriteOffThresholds

JOURNAL_COLUMNS = (
    "entry_id",
    "date",
    "case_id",
    "kind",
    "account_code",
    "account_name",
    "debit",
    "credit",
    "currency",
    "memo",
)

_TOML_LINE = re.compile(r"\(at line (\d+), column \d+\)")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def load_chart(path: Path | str, *, base: ChartOfAccounts = DEFAULT_CHART) -> ChartOfAccounts:
    """``base`` with the accounts of a TOML file (``[accounts.<role>]`` tables with ``code``,
    ``name`` and ``kind``; a field left out keeps the base value)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_LINE.search(str(exc))
        line = int(found.group(1)) if found else None
        raise InvalidInputError(
            f"not TOML: {_TOML_LINE.sub('', str(exc)).strip()}",
            location=Location(file=str(path), line=line),
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read: {exc}", location=Location(str(path))) from None
    return chart_from_mapping(data, source=str(path), base=base)


def load_write_off_thresholds(path: Path | str) -> WriteOffThresholds:
    """A ``currency,limit`` CSV file (see ``WriteOffThresholds.from_table``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read: {exc}", location=Location(str(path))) from None
    return WriteOffThresholds.from_table(text, source=str(path))


def amount_text(money: Money | None) -> str:
    """Exact decimal text with the currency's decimals; empty for no amount."""
    if money is None:
        return ""
    return format(in_currency_decimals(money).amount, "f")


def _cell(text: str) -> str:
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def journal_rows(entries: Iterable[JournalEntry]) -> Iterator[tuple[str, ...]]:
    """One row per line, in :data:`JOURNAL_COLUMNS` order; ``date`` is the UTC date."""
    for entry in entries:
        date = entry.at.astimezone(UTC).date().isoformat()
        for line in entry.lines:
            yield (
                entry.id,
                date,
                _cell(entry.case_id),
                entry.kind.value,
                _cell(line.account.code),
                _cell(line.account.name),
                amount_text(line.debit),
                amount_text(line.credit),
                line.money.currency,
                _cell(line.memo),
            )


def write_journal_csv(entries: Iterable[JournalEntry], stream: TextIO) -> int:
    """Write the header and the rows to ``stream`` (opened with ``newline=""``); return the
    number of rows written, header excluded."""
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(JOURNAL_COLUMNS)
    count = 0
    for row in journal_rows(entries):
        writer.writerow(row)
        count += 1
    return count


def export_journal(entries: Iterable[JournalEntry], path: Path | str) -> int:
    """Write the journal CSV (UTF-8) to ``path``; return the number of lines exported."""
    with Path(path).open("w", encoding="utf-8", newline="") as stream:
        return write_journal_csv(entries, stream)


__all__ = [
    "JOURNAL_COLUMNS",
    "amount_text",
    "export_journal",
    "journal_rows",
    "load_chart",
    "load_write_off_thresholds",
    "write_journal_csv",
]
