"""BAI2 cash management balance reports (BAI Version 2), the US banks' prior- and current-day
format.

The parser is our own. The PyPI package ``bai2`` (ministryofjustice) reads all four moj samples
correctly, but it is all-or-nothing: one malformed record or one control total that does not add up
raises for the whole file, and it keeps no line numbers, where a connector must keep every good
record, locate every bad one and report the totals as flags.

Records are comma-separated and end with ``/``; ``88`` records continue the record before them
(the text of a ``16``, the summaries of an ``03``). Mapping:

- each ``16`` transaction detail is one ``bank.statement_line``: ``amount_minor`` is the amount
  (BAI2 amounts are in the currency's minor unit, without a point) in the account's currency
  (``03``, else ``02``, else USD); type codes 100-399 are credits and 400-699 debits (others,
  such as 890 non-monetary information, carry no direction); ``occurred_at`` is the group's
  as-of date at midnight UTC; ``refs.bank_transaction`` is the bank reference; the type code and
  its BAI name, the customer reference, the funds type and availability and the text (its ``88``
  continuations joined with a space) are attributes; status is ``booked``, or ``interim`` for a
  group whose as-of-date modifier says "interim, same day";
- each status amount of an ``03`` (codes below 100, and the loan balances 701-709) is one
  ``bank.balance``: 010 ``opening``, 015 ``closing``, 030 ``current``, 040 ``opening_available``,
  045 ``closing_available``, 060 ``current_available``, other codes ``bai2_<code>``; negative
  amounts are debit balances. Summary amounts (100 total credits, 400 total debits, ...) are
  checked, not stored.
- ``source`` is ``bank:<account>`` (characters outside ``[A-Za-z0-9_.-]`` become ``-``) unless the
  caller names one; ``external_id`` is ``<file creation date and time>:<file id>:<as-of date>``
  then ``:<index of the 16 within the account>`` or ``:<type code>`` for balances (``~2`` after
  the as-of date when an account is reported twice for the same day in one file).

Checks, as file flags: the ``49``, ``98`` and ``99`` trailers' control totals and record, account
and group counts (``control_total_mismatch``; a blank total is not checked); a missing trailer
(``missing_trailer``); opening ledger + credits - debits = closing ledger where both are given
(``balance_mismatch``); total credits (100) and debits (400) with their item counts against the
details, for accounts reported with details (``summary_total_mismatch``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from recoup.adapters.connectors.bankfiles._common import (
    account_source,
    decode_text,
    full_year,
    midnight,
)
from recoup.adapters.connectors.base import FileFlag, Item, ParseContext
from recoup.domain.errors import InvalidInputError, Location
from recoup.domain.ingestion.canonical import Rejection, build_event
from recoup.domain.money import currency_exponent

# --- the BAI2 type codes -----------------------------------------------------------------------

_BALANCE_TYPES = {
    "010": "opening",
    "015": "closing",
    "030": "current",
    "040": "opening_available",
    "045": "closing_available",
    "060": "current_available",
}
_LOAN_STATUS = frozenset({"701", "703", "705", "707", "709"})

TYPE_CODES: dict[str, str] = {
    # status (balances and float)
    "010": "Opening Ledger",
    "011": "Average Opening Ledger MTD",
    "012": "Average Opening Ledger YTD",
    "015": "Closing Ledger",
    "020": "Average Closing Ledger MTD",
    "021": "Average Closing Ledger - Previous Month",
    "022": "Aggregate Balance Adjustments",
    "024": "Average Closing Ledger YTD - Previous Month",
    "025": "Average Closing Ledger YTD",
    "030": "Current Ledger",
    "037": "ACH Net Position",
    "039": "Opening Available + Total Same-Day ACH DTC Deposit",
    "040": "Opening Available",
    "041": "Average Opening Available MTD",
    "042": "Average Opening Available YTD",
    "043": "Average Available - Previous Month",
    "044": "Disbursing Opening Available Balance",
    "045": "Closing Available",
    "050": "Average Closing Available MTD",
    "051": "Average Closing Available - Last Month",
    "054": "Average Closing Available YTD - Last Month",
    "055": "Average Closing Available YTD",
    "056": "Loan Balance",
    "057": "Total Investment Position",
    "059": "Current Available (CRS Suppressed)",
    "060": "Current Available",
    "061": "Average Current Available MTD",
    "062": "Average Current Available YTD",
    "063": "Total Float",
    "065": "Target Balance",
    "066": "Adjusted Balance",
    "067": "Adjusted Balance MTD",
    "068": "Adjusted Balance YTD",
    "070": "0-Day Float",
    "072": "1-Day Float",
    "073": "Float Adjustment",
    "074": "2 or More Days Float",
    "075": "3 or More Days Float",
    "076": "Adjustment to Balances",
    "077": "Average Adjustment to Balances MTD",
    "078": "Average Adjustment to Balances YTD",
    "079": "4-Day Float",
    "080": "5-Day Float",
    "081": "6-Day Float",
    "082": "Average 1-Day Float MTD",
    "083": "Average 1-Day Float YTD",
    "084": "Average 2-Day Float MTD",
    "085": "Average 2-Day Float YTD",
    "086": "Transfer Calculation",
    "701": "Principal Loan Balance",
    "703": "Available Commitment Amount",
    "705": "Payment Amount Due",
    "707": "Principal Amount Past Due",
    "709": "Interest Amount Past Due",
    # credits
    "100": "Total Credits",
    "108": "Credit (Any Type)",
    "110": "Total Lockbox Deposits",
    "115": "Lockbox Deposit",
    "116": "Item in Lockbox Deposit",
    "118": "Lockbox Adjustment Credit",
    "121": "EDI Transaction Credit",
    "122": "EDIBANX Credit Received",
    "123": "EDIBANX Credit Return",
    "135": "DTC Concentration Credit",
    "136": "Item in DTC Deposit",
    "140": "Total ACH Credits",
    "142": "ACH Credit Received",
    "143": "Item in ACH Deposit",
    "145": "ACH Concentration Credit",
    "147": "Individual Bank Card Deposit",
    "155": "Preauthorized Draft Credit",
    "156": "Item in PAC Deposit",
    "158": "Real Time Payment Credit",
    "164": "Corporate Trade Payment Credit",
    "165": "Preauthorized ACH Credit",
    "166": "ACH Settlement",
    "169": "Miscellaneous ACH Credit",
    "171": "Individual Loan Deposit",
    "172": "Deposit Correction",
    "173": "Bank-Prepared Deposit",
    "174": "Other Deposit",
    "175": "Check Deposit Package",
    "176": "Re-presented Check Deposit",
    "184": "Draft Deposit",
    "187": "Cash Letter Credit",
    "189": "Cash Letter Adjustment",
    "190": "Total Incoming Money Transfers",
    "191": "Individual Incoming Internal Money Transfer",
    "195": "Incoming Money Transfer",
    "196": "Money Transfer Adjustment",
    "198": "Compensation",
    "201": "Individual Automatic Transfer Credit",
    "202": "Bond Operations Credit",
    "206": "Book Transfer Credit",
    "208": "Individual International Money Transfer Credit",
    "212": "Foreign Letter of Credit",
    "213": "Letter of Credit",
    "214": "Foreign Exchange of Credit",
    "216": "Foreign Remittance Credit",
    "218": "Foreign Collection Credit",
    "221": "Foreign Check Purchase",
    "222": "Foreign Checks Deposited",
    "224": "Commission",
    "226": "International Money Market Trading",
    "227": "Standing Order",
    "229": "Miscellaneous International Credit",
    "232": "Sale of Debt Security",
    "233": "Securities Sold",
    "234": "Sale of Equity Security",
    "235": "Matured Reverse Repurchase Order",
    "236": "Maturity of Debt Security",
    "237": "Individual Collection Credit",
    "238": "Collection of Dividends",
    "240": "Coupon Collections - Banks",
    "241": "Bankers' Acceptances",
    "242": "Collection of Interest Income",
    "243": "Matured Fed Funds Purchased",
    "244": "Interest/Matured Principal Payment",
    "246": "Commercial Paper",
    "247": "Capital Change",
    "248": "Savings Bonds Sales Adjustment",
    "249": "Miscellaneous Security Credit",
    "252": "Debit Reversal",
    "254": "Posting Error Correction Credit",
    "255": "Check Posted and Returned",
    "257": "Individual ACH Return Item",
    "258": "ACH Reversal Credit",
    "261": "Individual Rejected Credit",
    "263": "Overdraft",
    "266": "Return Item",
    "268": "Return Item Adjustment",
    "275": "ZBA Credit",
    "276": "ZBA Float Adjustment",
    "277": "ZBA Credit Transfer",
    "278": "ZBA Credit Adjustment",
    "281": "Individual Controlled Disbursing Credit",
    "286": "Individual DTC Disbursing Credit",
    "295": "ATM Credit",
    "301": "Commercial Deposit",
    "354": "Interest Credit",
    "357": "Credit Adjustment",
    "395": "Check Reversal",
    "399": "Miscellaneous Credit",
    # debits
    "400": "Total Debits",
    "408": "Float Adjustment",
    "409": "Debit (Any Type)",
    "415": "Lockbox Debit",
    "421": "EDI Transaction Debit",
    "422": "EDIBANX Settlement Debit",
    "423": "EDIBANX Return Item Debit",
    "445": "ACH Concentration Debit",
    "447": "ACH Disbursement Funding Debit",
    "450": "Total ACH Debits",
    "451": "ACH Debit Received",
    "455": "Preauthorized ACH Debit",
    "462": "Account Holder Initiated ACH Debit",
    "466": "ACH Settlement",
    "469": "Miscellaneous ACH Debit",
    "474": "Certified Check Debit",
    "475": "Check Paid",
    "476": "Federal Reserve Bank Letter Debit",
    "477": "Bank Originated Debit",
    "481": "Individual Loan Payment",
    "484": "Draft",
    "485": "DTC Debit",
    "487": "Cash Letter Debit",
    "489": "Cash Letter Adjustment",
    "491": "Individual Outgoing Internal Money Transfer",
    "493": "Customer Terminal Initiated Money Transfer",
    "495": "Outgoing Money Transfer",
    "496": "Money Transfer Adjustment",
    "498": "Compensation",
    "501": "Individual Automatic Transfer Debit",
    "502": "Bond Operations Debit",
    "506": "Book Transfer Debit",
    "508": "Individual International Money Transfer Debit",
    "512": "Letter of Credit Debit",
    "514": "Foreign Exchange Debit",
    "516": "Foreign Remittance Debit",
    "518": "Foreign Collection Debit",
    "522": "Foreign Checks Paid",
    "524": "Commission",
    "526": "International Money Market Trading",
    "527": "Standing Order",
    "529": "Miscellaneous International Debit",
    "531": "Securities Purchased",
    "533": "Security Collection Debit",
    "535": "Purchase of Equity Securities",
    "538": "Matured Repurchase Order",
    "540": "Coupon Collection Debit",
    "541": "Bankers' Acceptances",
    "542": "Purchase of Debt Securities",
    "543": "Domestic Collection",
    "544": "Interest/Matured Principal Payment",
    "546": "Commercial Paper",
    "547": "Capital Change",
    "548": "Savings Bonds Sales Adjustment",
    "549": "Miscellaneous Security Debit",
    "552": "Credit Reversal",
    "554": "Posting Error Correction Debit",
    "555": "Deposited Item Returned",
    "557": "Individual ACH Return Item",
    "558": "ACH Reversal Debit",
    "561": "Individual Rejected Debit",
    "563": "Overdraft",
    "564": "Overdraft Fee",
    "566": "Return Item",
    "567": "Return Item Fee",
    "568": "Return Item Adjustment",
    "575": "ZBA Debit",
    "577": "ZBA Debit Transfer",
    "578": "ZBA Debit Adjustment",
    "581": "Individual Controlled Disbursing Debit",
    "595": "ATM Debit",
    "597": "ARP Debit",
    "616": "Federal Reserve Bank - Commercial Bank Debit",
    "622": "Broker Debit",
    "627": "Fed Funds Purchased",
    "629": "Cash Center Debit",
    "631": "Debit Adjustment",
    "633": "Trust Debit",
    "641": "Individual Escrow Debit",
    "651": "Individual Investment Purchased",
    "654": "Interest Debit",
    "656": "Sweep Principal Buy",
    "658": "Principal Payments Debit",
    "661": "Account Analysis Fee",
    "664": "Loan Participation",
    "666": "Currency and Coin Shipped",
    "669": "Clearing Settlement Debit",
    "673": "Customer Payroll",
    "691": "Universal Debit",
    "694": "Deposit Reversal",
    "695": "Deposit Correction Debit",
    "696": "Regular Collection Debit",
    "698": "Miscellaneous Fees",
    "699": "Miscellaneous Debit",
    # other
    "890": "Contains Non-monetary Information",
}
"""Names of the BAI2 type codes that banks commonly send (from the BAI2 specification's
type-code list); an unlisted code keeps its number and gets no name."""

_FUNDS_TYPES = {
    "": None,
    "Z": "unknown",
    "0": "immediate",
    "1": "one_day",
    "2": "two_or_more_days",
    "V": "value_dated",
    "S": "distributed",
    "D": "distributed",
}
_MODIFIERS = {
    "1": "interim_previous_day",
    "2": "final_previous_day",
    "3": "interim_same_day",
    "4": "final_same_day",
}
_GROUP_STATUS = {"1": "update", "2": "deletion", "3": "correction", "4": "test_only"}


def _direction(code: str) -> str | None:
    if "100" <= code <= "399":
        return "credit"
    if "400" <= code <= "699":
        return "debit"
    return None


# --- records ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Record:
    """One logical record: its physical lines (an ``88`` continues the one before)."""

    code: str
    line: int
    rows: list[str]
    content: str  # after the record code, continuations joined

    @property
    def raw(self) -> str:
        return "\n".join(self.rows)

    def fields(self) -> list[str]:
        """The fields of a record without free text: up to the ``/`` that ends it."""
        return self.content.split("/", 1)[0].split(",")

    def reader(self) -> _Fields:
        return _Fields(self.content.split(","))


def _records(text: str) -> Iterator[_Record | tuple[int, str]]:
    """Logical records, or ``(line, text)`` for an ``88`` with nothing to continue.

    An ``88`` after a record that ended with ``/`` starts a new field; after one that stopped
    mid-field (free text running on) it goes on after a space."""
    current: _Record | None = None
    pieces: list[str] = []
    last = -1  # the last piece that is not empty
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, row in enumerate(lines, start=1):
        row = row.rstrip()
        if not row:
            continue
        code, _, content = row.partition(",")
        code = code.strip()
        if code == "88":
            if current is None:
                yield number, row
                continue
            current.rows.append(row)
            tail = pieces[last][-1] if last >= 0 else ""
            if tail == "/":
                pieces[last] = pieces[last][:-1]
                pieces.append(",")
                last = len(pieces) - 1
            elif tail not in (",", ""):
                pieces.append(" ")
                last = len(pieces) - 1
            pieces.append(content)
            if content:
                last = len(pieces) - 1
            continue
        if current is not None:
            current.content = "".join(pieces)
            yield current
        current = _Record(code, number, [row], "")
        pieces, last = [content], (0 if content else -1)
    if current is not None:
        current.content = "".join(pieces)
        yield current


class _BadRecord(ValueError):
    """A field that does not follow its format; the message is the rejection's reason."""


# ASCII digits only (str.isdigit() takes "²", which int() refuses), and few enough of them
# that int() does not refuse them either.
_AMOUNT = re.compile(r"[+-]?[0-9]{1,20}")
_DIGITS = re.compile(r"[0-9]{1,18}")


def _amount(text: str, what: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not _AMOUNT.fullmatch(text):
        raise _BadRecord(f"{what} {text!r} is not a whole number of minor units")
    return int(text)


def _count(text: str, what: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not _DIGITS.fullmatch(text):
        raise _BadRecord(f"{what} {text!r} is not a number")
    return int(text)


def _date(text: str, what: str) -> date:
    text = text.strip()
    try:
        if len(text) != 6 or not _DIGITS.fullmatch(text):
            raise ValueError
        return date(full_year(int(text[:2])), int(text[2:4]), int(text[4:]))
    except ValueError:
        raise _BadRecord(f"{what} {text!r} is not a valid YYMMDD date") from None


def _code(text: str, what: str = "type code") -> str:
    text = text.strip()
    if len(text) != 3 or not _DIGITS.fullmatch(text):
        raise _BadRecord(f"{what} {text!r} is not a 3-digit BAI2 type code")
    return text


class _Fields:
    """Reads a record's fields in order; a ``/`` ends the record, and what is left is blank."""

    def __init__(self, parts: list[str]) -> None:
        self.parts = parts
        self.position = 0
        self.ended = False

    def more(self) -> bool:
        return not self.ended and self.position < len(self.parts)

    def take(self) -> str:
        if not self.more():
            return ""
        value = self.parts[self.position]
        self.position += 1
        if "/" in value:
            value = value.split("/", 1)[0]
            self.ended = True
        return value.strip()

    def text(self) -> str:
        """The free text that ends a 16 record: everything left, commas and slashes included."""
        if not self.more():
            return ""
        text = ",".join(self.parts[self.position :]).strip()
        self.position = len(self.parts)
        return text[:-1].rstrip() if text.endswith("/") else text


def _availability(funds: str, fields: _Fields) -> dict[str, Any]:
    """The funds type's own fields: a value date, or how much becomes available when."""
    if funds not in _FUNDS_TYPES:
        raise _BadRecord(f"funds type {funds!r} is not one of Z, 0, 1, 2, V, S, D")
    found: dict[str, Any] = {}
    if funds == "V":
        value_date, value_time = fields.take(), fields.take()
        if value_date:
            found["value_date"] = _date(value_date, "value date").isoformat()
        if value_time:
            found["value_time"] = value_time
    elif funds == "S":
        for name in ("immediate", "one_day", "two_or_more_days"):
            value = _amount(fields.take(), "availability amount")
            if value is not None:
                found[name] = value
    elif funds == "D":
        count = _count(fields.take(), "number of distributions") or 0
        if count > len(fields.parts):
            raise _BadRecord(f"{count} distributions announced, fewer given")
        distributions: dict[str, int] = {}
        for _ in range(count):
            days = fields.take()
            distributions[days] = _amount(fields.take(), "distribution amount") or 0
        found["distribution"] = distributions
    return found


@dataclass(slots=True)
class _Summary:
    code: str
    amount: int | None
    count: int | None
    funds: str
    availability: dict[str, Any]


def _summaries(fields: _Fields) -> list[_Summary]:
    """The 03 record's ``type code, amount, item count, funds type[, ...]`` groups."""
    found: list[_Summary] = []
    while fields.more():
        code = fields.take()
        if not code:  # the stray trailing comma some banks write before ``/``
            continue
        code = _code(code)
        amount = _amount(fields.take(), f"amount of {code}")
        count = _count(fields.take(), f"item count of {code}")
        funds = fields.take()
        found.append(_Summary(code, amount, count, funds, _availability(funds, fields)))
    return found


# --- the file's structure ---------------------------------------------------------------------


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


class _Parser:
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

    # the records

    def parse(self, text: str) -> Iterator[Item]:
        seen = False
        for record in _records(text):
            if isinstance(record, tuple):
                line, row = record
                where = Location(self.context.label, line, "88")
                yield Rejection(where, "invalid_record", "88 continuation with no record", row)
                continue
            if not seen:
                if record.code not in ("01", "02", "03", "16"):
                    yield Rejection(
                        Location(self.context.label, record.line),
                        "not_bai2",
                        "not a BAI2 file: it does not start with a 01 file header record",
                        _first_bytes(text),
                    )
                    return
                seen = True
            count = len(record.rows)
            self.file.records += count
            if self.group is not None:
                self.group.records += count
            if self.account is not None:
                self.account.records += count
            handler = _HANDLERS.get(record.code)
            if handler is None:
                yield self.reject(record, f"unknown BAI2 record code {record.code[:10]!r}")
                continue
            yield from handler(self, record)
        if not seen:
            yield Rejection(
                Location(self.context.label, 1), "not_bai2", "not a BAI2 file: it is empty", ""
            )
            return
        yield from self.close_account(None)
        yield from self.close_group(None)
        if self.file.record is not None:
            yield self.flag(
                self.file.record,
                "missing_trailer",
                "the file has no 99 file trailer: it may be truncated",
            )

    def on_file_header(self, record: _Record) -> Iterator[Item]:
        yield from self.close_account(None)
        yield from self.close_group(None)
        if self.file.record is not None:
            yield self.flag(
                self.file.record,
                "missing_trailer",
                "the file has no 99 file trailer before the next 01 header",
            )
        fields = record.fields() + [""] * 8
        created = "".join(c for c in fields[2] + fields[3] if c.isalnum())  # "14:59:35" seen
        self.file = _FileState(record, created, fields[4].strip(), records=len(record.rows))

    def on_group_header(self, record: _Record) -> Iterator[Item]:
        yield from self.close_account(None)
        yield from self.close_group(None)
        fields = record.fields() + [""] * 8
        problem = None
        as_of: date | None = None
        try:
            as_of = _date(fields[3], "as-of date")
        except _BadRecord as exc:
            problem = f"group header on line {record.line}: {exc}"
            yield self.reject(record, str(exc))
        self.group = _Group(
            record=record,
            originator=fields[1].strip(),
            as_of=as_of,
            as_of_time=fields[4].strip(),
            currency=fields[5].strip().upper() or "USD",
            status=_GROUP_STATUS.get(fields[2].strip()),
            modifier=_MODIFIERS.get(fields[6].strip()),
            problem=problem,
            records=len(record.rows),
        )

    def on_account(self, record: _Record) -> Iterator[Item]:
        yield from self.close_account(None)
        fields = record.reader()
        number = fields.take()
        group = self.group
        currency = fields.take().upper() or (group.currency if group else "USD")
        base = f"{self.file.created}:{self.file.file_id}:"
        base += group.as_of.strftime("%y%m%d") if group and group.as_of else "-"
        uses = self.keys.get(f"{number}|{base}", 0) + 1
        self.keys[f"{number}|{base}"] = uses
        key = base if uses == 1 else f"{base}~{uses}"
        summaries: list[_Summary] = []
        problem: str | None = None
        try:
            summaries = _summaries(fields)
        except _BadRecord as exc:
            problem = str(exc)
        account = _Account(record, number, currency, key, summaries, records=len(record.rows))
        account.total = sum(s.amount or 0 for s in summaries)
        if problem is not None:
            account.unreadable += 1
        self.account = account
        if group is not None:
            group.accounts += 1
        if not number:
            yield self.reject(record, "account identifier (03) without an account number")
            return
        if problem is not None:
            yield self.reject(record, problem)
            return
        for summary in summaries:
            if summary.amount is None or not (summary.code < "100" or summary.code in _LOAN_STATUS):
                continue
            yield self.balance(record, account, summary)

    def balance(self, record: _Record, account: _Account, summary: _Summary) -> Item:
        group = self.group
        if group is None or group.as_of is None:
            reason = group.problem if group else "account (03) outside a group: no 02 before it"
            return self.reject(record, reason or "", "incomplete_group")
        assert summary.amount is not None
        attributes: dict[str, Any] = {
            "balance_type": _BALANCE_TYPES.get(summary.code, f"bai2_{summary.code}"),
            "type_code": summary.code,
            **self.group_attributes(group),
        }
        if summary.code in TYPE_CODES:
            attributes["type_description"] = TYPE_CODES[summary.code]
        if summary.count is not None:
            attributes["item_count"] = summary.count
        if summary.funds:
            attributes["funds_type"] = _FUNDS_TYPES[summary.funds]
            attributes.update(summary.availability)
        fields = {
            "source": self.context.source or account_source(account.number),
            "external_id": f"{account.key}:{summary.code}",
            "type": "bank.balance",
            "occurred_at": midnight(group.as_of),
            "amount_minor": abs(summary.amount),
            "currency": account.currency,
            "direction": "debit" if summary.amount < 0 else "credit",
            "refs": {"bank_account": account.number},
            "attributes": attributes,
        }
        return build_event(
            fields,
            received_at=self.context.received_at,
            raw=record.raw,
            file=self.context.label,
            line=record.line,
            element="03",
        )

    def group_attributes(self, group: _Group) -> dict[str, Any]:
        found: dict[str, Any] = {"as_of_date": group.as_of.isoformat() if group.as_of else None}
        if group.as_of_time:
            found["as_of_time"] = group.as_of_time
        if group.modifier:
            found["as_of_date_modifier"] = group.modifier
        if group.status and group.status != "update":
            found["group_status"] = group.status
        if group.originator:
            found["originator"] = group.originator
        return found

    def on_detail(self, record: _Record) -> Iterator[Item]:
        account, group = self.account, self.group
        if account is None:
            yield self.reject(record, "transaction detail (16) outside an account: no 03 before it")
            return
        account.details += 1
        index = account.details
        fields = record.reader()
        try:
            code = _code(fields.take())
            amount = _amount(fields.take(), "amount")
            if amount is not None and amount < 0:
                raise _BadRecord(f"amount {amount} is negative; the type code gives the direction")
            funds = fields.take()
            availability = _availability(funds, fields)
        except _BadRecord as exc:
            account.unreadable += 1
            yield self.reject(record, str(exc))
            return
        bank_reference, customer_reference = fields.take(), fields.take()
        text = fields.text()
        direction = _direction(code)
        account.total += amount or 0
        if direction == "credit":
            account.credits.append(amount or 0)
        elif direction == "debit":
            account.debits.append(amount or 0)
        else:
            account.undirected += 1
        if group is None or group.as_of is None:
            reason = group.problem if group else "transaction detail outside a group: no 02"
            yield self.reject(record, reason or "", "incomplete_group")
            return
        attributes: dict[str, Any] = {"type_code": code}
        if code in TYPE_CODES:
            attributes["type_description"] = TYPE_CODES[code]
        attributes.update(self.group_attributes(group))
        if customer_reference:
            attributes["customer_reference"] = customer_reference
        if bank_reference:
            attributes["bank_reference"] = bank_reference
        if funds:
            attributes["funds_type"] = _FUNDS_TYPES[funds]
            attributes.update(availability)
        if text:
            attributes["text"] = text
        refs = {"bank_account": account.number}
        if bank_reference:
            refs["bank_transaction"] = bank_reference
        event: dict[str, Any] = {
            "source": self.context.source or account_source(account.number),
            "external_id": f"{account.key}:{index}",
            "type": "bank.statement_line",
            "occurred_at": midnight(group.as_of),
            "status": "interim" if group.modifier == "interim_same_day" else "booked",
            "refs": refs,
            "attributes": attributes,
        }
        if amount is not None:
            event["amount_minor"] = amount
            event["currency"] = account.currency
        if direction is not None:
            event["direction"] = direction
        yield build_event(
            event,
            received_at=self.context.received_at,
            raw=record.raw,
            file=self.context.label,
            line=record.line,
            element="16",
        )

    def on_account_trailer(self, record: _Record) -> Iterator[Item]:
        if self.account is None:
            yield self.reject(record, "account trailer (49) with no account (03) open")
            return
        yield from self.close_account(record)

    def on_group_trailer(self, record: _Record) -> Iterator[Item]:
        yield from self.close_account(None)
        if self.group is None:
            yield self.reject(record, "group trailer (98) with no group (02) open")
            return
        yield from self.close_group(record)

    def on_file_trailer(self, record: _Record) -> Iterator[Item]:
        yield from self.close_account(None)
        yield from self.close_group(None)
        state = self.file
        if state.record is None:
            yield self.reject(record, "file trailer (99) with no file header (01)")
            return
        try:
            fields = record.reader()
            total = _amount(fields.take(), "file control total")
            groups = _count(fields.take(), "number of groups")
            records = _count(fields.take(), "number of records")
        except _BadRecord as exc:
            yield self.reject(record, str(exc))
        else:
            yield from self.check_trailer(
                record,
                f"file {state.file_id}",
                "the file holds",
                ("file control total", total, state.totals),
                ("number of groups", groups, state.groups),
                ("number of records", records, state.records),
            )
        self.file = _FileState()

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


_HANDLERS = {
    "01": _Parser.on_file_header,
    "02": _Parser.on_group_header,
    "03": _Parser.on_account,
    "16": _Parser.on_detail,
    "49": _Parser.on_account_trailer,
    "98": _Parser.on_group_trailer,
    "99": _Parser.on_file_trailer,
}


def _first_bytes(text: str) -> str:
    return text[:200]


class Bai2Format:
    """BAI2 balance and transaction reports (see the module's docstring)."""

    name = "bai2"
    description = "BAI2 cash management balance reports (US banks' prior- and current-day)"

    _HEAD = re.compile(rb"\s*01,[^\r\n]*[\r\n]+\s*02,")

    def sniff(self, name: str, head: bytes) -> bool:
        head = head.removeprefix(b"\xef\xbb\xbf")
        if name.lower().endswith((".bai", ".bai2")) and head.lstrip().startswith(b"01,"):
            return True
        return bool(self._HEAD.match(head))

    def parse(self, data: bytes, context: ParseContext) -> Iterator[Item]:
        yield from _Parser(context).parse(decode_text(data))


FORMATS: tuple[Bai2Format, ...] = (Bai2Format(),)

__all__ = ["FORMATS", "TYPE_CODES", "Bai2Format"]
