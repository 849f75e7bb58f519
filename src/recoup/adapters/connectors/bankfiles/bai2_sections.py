"""The state of the BAI2 file, group and account being read, and the checks made when a section
closes: trailer control totals and counts, missing trailers, opening + credits - debits =
closing, and the 100/400 summaries against the details."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from recoup.adapters.connectors.bankfiles.bai2_records import (
    _amount,
    _BadRecord,
    _count,
    _Record,
    _Summary,
)
from recoup.adapters.connectors.base import FileFlag, Item, ParseContext
from recoup.domain.errors import InvalidInputError, Location
from recoup.domain.ingestion.canonical import Rejection
from recoup.domain.money import currency_exponent


@dataclass(slots=True)
class _Group:
    record: _Record
    originator: str
    as_of: date | None
    as_of_time: str
    currency: str
    status: str | None
    modifier: str | None
    problem: str | None  # why its records cannot become events
    records: int = 1
    accounts: int = 0
    totals: int = 0  # sum of the accounts' control totals


@dataclass(slots=True)
class _Account:
    record: _Record
    number: str
    currency: str
    key: str
    summaries: list[_Summary]
    records: int = 1
    total: int = 0  # every amount of its 03 and 16 records
    unreadable: int = 0  # records whose amounts could not be read
    details: int = 0
    credits: list[int] = field(default_factory=list)
    debits: list[int] = field(default_factory=list)
    undirected: int = 0


@dataclass(slots=True)
class _FileState:
    record: _Record | None = None
    created: str = ""
    file_id: str = ""
    records: int = 0
    groups: int = 0
    totals: int = 0


def _money(minor: int, currency: str) -> str:
    try:
        exponent = currency_exponent(currency)
    except InvalidInputError:
        return f"{minor:,} minor units of {currency}"
    return f"{Decimal(minor).scaleb(-exponent):,.{exponent}f} {currency}"


class _Sections:
    def __init__(self, context: ParseContext) -> None:
        self.context = context
        self.file = _FileState()
        self.group: _Group | None = None
        self.account: _Account | None = None
        self.keys: dict[str, int] = {}

    # locations and results

    def where(self, record: _Record, tag: bool = True) -> Location:
        return Location(self.context.label, record.line, record.code if tag else None)

    def reject(self, record: _Record, reason: str, code: str = "invalid_record") -> Rejection:
        return Rejection(self.where(record), code, reason, record.raw)

    def flag(self, record: _Record, code: str, reason: str) -> FileFlag:
        return FileFlag(self.where(record), code, reason)

    # closing sections and checking them

    def check_trailer(
        self,
        trailer: _Record,
        name: str,
        holds: str,
        *checks: tuple[str, int | None, int],
        note: str = "",
    ) -> Iterator[FileFlag]:
        """A ``control_total_mismatch`` for each ``(what, stated, found)`` whose trailer value is
        given and is not what the section (``name``, which ``holds``) was found to hold."""
        for what, stated, found in checks:
            if stated is not None and stated != found:
                yield self.flag(
                    trailer,
                    "control_total_mismatch",
                    f"{name}: the {trailer.code} trailer's {what} is {stated}, "
                    f"{holds} {found}{note}",
                )

    def close_account(self, trailer: _Record | None) -> Iterator[Item]:
        account = self.account
        if account is None:
            return
        self.account = None
        name = f"account {account.number or '(no number)'}"
        stated_total: int | None = None
        if trailer is None:
            yield self.flag(
                account.record,
                "missing_trailer",
                f"{name} has no 49 account trailer: it may be truncated",
            )
        else:
            try:
                fields = trailer.reader()
                stated_total = _amount(fields.take(), "account control total")
                records = _count(fields.take(), "number of records")
            except _BadRecord as exc:
                yield self.reject(trailer, str(exc))
            else:
                note = (
                    f" ({account.unreadable} unreadable records not counted)"
                    if account.unreadable
                    else ""
                )
                yield from self.check_trailer(
                    trailer,
                    name,
                    "the account's records add up to",
                    ("control total", stated_total, account.total),
                    ("number of records", records, account.records),
                    note=note,
                )
        if self.group is not None:
            self.group.totals += stated_total if stated_total is not None else account.total
        yield from self.check_balances(account, trailer)

    def check_balances(self, account: _Account, trailer: _Record | None) -> Iterator[Item]:
        where = trailer or account.record
        name = f"account {account.number or '(no number)'}"
        if self.group is not None and self.group.as_of is not None:
            name += f" on {self.group.as_of}"
        amounts = {s.code: s for s in account.summaries if s.amount is not None}
        credits, debits = sum(account.credits), sum(account.debits)
        opening, closing = amounts.get("010"), amounts.get("015")
        if opening is not None and closing is not None:
            assert opening.amount is not None
            assert closing.amount is not None
            expected = opening.amount + credits - debits
            if expected != closing.amount:
                cur = account.currency
                note = (
                    f"; {account.undirected} details with type codes outside 100-699 not counted"
                    if account.undirected
                    else ""
                )
                yield self.flag(
                    where,
                    "balance_mismatch",
                    f"{name}: opening ledger {_money(opening.amount, cur)} + credits "
                    f"{_money(credits, cur)} - debits {_money(debits, cur)} = "
                    f"{_money(expected, cur)}, but the closing ledger is "
                    f"{_money(closing.amount, cur)} (difference "
                    f"{_money(closing.amount - expected, cur)}){note}",
                )
        if not account.details:
            return  # a summary-only report: nothing to hold the totals against
        for code, side, amounts_of_side in (
            ("100", "credits", account.credits),
            ("400", "debits", account.debits),
        ):
            summary = amounts.get(code)
            if summary is None:
                continue
            total, count = sum(amounts_of_side), len(amounts_of_side)
            if summary.amount != total or summary.count not in (None, count):
                items = f" in {summary.count} items" if summary.count is not None else ""
                yield self.flag(
                    where,
                    "summary_total_mismatch",
                    f"{name}: the {code} summary gives total {side} of "
                    f"{_money(summary.amount or 0, account.currency)}{items}, the details hold "
                    f"{count} {side} for {_money(total, account.currency)}",
                )

    def close_group(self, trailer: _Record | None) -> Iterator[Item]:
        group = self.group
        if group is None:
            return
        self.group = None
        self.file.groups += 1
        name = f"group {group.originator or '(no originator)'}"
        if group.as_of is not None:
            name += f" as of {group.as_of}"
        stated_total: int | None = None
        if trailer is None:
            yield self.flag(
                group.record,
                "missing_trailer",
                f"{name} has no 98 group trailer: it may be truncated",
            )
        else:
            try:
                fields = trailer.reader()
                stated_total = _amount(fields.take(), "group control total")
                accounts = _count(fields.take(), "number of accounts")
                records = _count(fields.take(), "number of records")
            except _BadRecord as exc:
                yield self.reject(trailer, str(exc))
            else:
                yield from self.check_trailer(
                    trailer,
                    name,
                    "the group holds",
                    ("group control total", stated_total, group.totals),
                    ("number of accounts", accounts, group.accounts),
                    ("number of records", records, group.records),
                )
        self.file.totals += stated_total if stated_total is not None else group.totals
