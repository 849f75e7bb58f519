"""NACHA ACH files: fixed-width 94-character records, one canonical event per entry.

A file is a file header (``1``), batches (``5`` batch header, ``6`` entry details each followed
by its ``7`` addenda records, ``8`` batch control), a file control (``9``) and lines of ``9``
that fill the last block of ten records. CRLF or LF line ends, a missing final newline, trailing
blanks after column 94, trailing block-fill lines, a file written as one long line of 94-character
records, and header or file control records whose optional blank tail was stripped are all read.

Every entry detail record becomes exactly one event or one rejection:

- with a type 99 addenda, ``bank.transfer_returned``: ``reason_code`` ``ach:R01``,
  ``reason_message`` the code's NACHA title. ``refs.ach_trace`` is the *original* entry's trace
  number from the addenda, so the return links to the entry it returns; the return entry's own
  trace is in ``attributes.trace_number`` and ``refs.bank_transaction``. Dishonored (R61-R70) and
  contested (R71-R77) returns have their own addenda layouts; ``attributes.return_kind`` says
  which (``return``, ``dishonored``, ``contested``). An entry carrying several return addenda (a
  return, its dishonor and the contest) is reported at its latest stage, all of them listed in
  ``attributes.return_addenda``;
- with a type 98 addenda, ``bank.notification_of_change``: ``ach:C01``, the corrected data in
  ``attributes.corrected`` (refused NOCs, C61-C69, too);
- ACK and ATX entries (an RDFI acknowledging a CCD or CTX credit) are
  ``bank.transfer_accepted`` for the acknowledged entry's trace;
- anything else is ``bank.transfer_initiated``.

``amount`` is the entry amount in USD (prenotes and zero-dollar entries keep 0). ``direction`` is
seen from the **originator** (the company that sent the file through its ODFI, the Recoup user),
not from the receiver as NACHA names transaction codes: a debit entry (27, 37, ...) collects
money from the receiver, so it is ``credit``; a credit entry (22, 32, ...) pays the receiver, so
it is ``debit``. Return and NOC entries (21, 26, 31, 36, ...) are addressed to the originator, so
their NACHA side already is the originator's: the return of a debit (26) takes the money back
(``debit``), the return of a credit (21) brings it back (``credit``). The receiver's side is kept
as ``attributes.receiver_direction``. A NOC moves no money and has no direction.

``occurred_at`` is the batch's effective entry date at midnight UTC; when that is blank, not a
date (returns often carry ``000000``) or more than a year away from the file creation date (a
placeholder such as ``000101``), the file creation date is used instead and
``attributes.occurred_at_from`` says so. An entry with neither date is rejected.

``source`` is ``bank:ach-<immediate origin>`` (the immediate destination when the origin is
blank) unless the parse context names one. ``external_id`` is
``<file creation date><time><file ID modifier><immediate origin>:<batch number>:<trace number>``
(``1906240000A0121042882:1:121042880000001``): NACHA makes the trace number unique within a
batch and the rest identifies the file, so a file read twice gives the same event ids. A trace
number repeated within a batch rejects the second entry.

Trace numbers are kept exactly in refs. Copies in attributes and the raw record pass through
canonical ingestion's card-number masking like everything else there, which masks the one in ten
15-digit trace numbers that happen to pass the Luhn check.

Account numbers are sensitive: the DFI account number (and a corrected account number in a NOC,
a card account number in SHR entries) is masked to its last four digits everywhere it is kept:
``refs.bank_account`` (``<receiver's routing number>:<masked account>``), attributes and the raw
record kept as evidence.

Problems with a whole batch or the file (control totals that do not add up, a malformed header)
are :class:`FileFlag` values; an entry that cannot be read, or carries a return or change code
that is not in the NACHA lists, is a located :class:`Rejection`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from recoup.adapters.connectors.bankfiles._common import full_year, midnight
from recoup.adapters.connectors.base import FileFlag, Item, ParseContext
from recoup.domain.errors import Location
from recoup.domain.ingestion.canonical import Rejection, build_event
from recoup.domain.ingestion.event import Event
from recoup.domain.reference.ach import (
    CONTESTED,
    DISHONORED,
    REFUSED,
    ReasonInfo,
    ach_change_reason,
    ach_return_reason,
)

RECORD_LENGTH = 94
CURRENCY = "USD"
BLOCKING_FACTOR = 10
# An effective entry date further than this from the file creation date is a placeholder
# (``000101`` in a file created in 2018), not the day the entry settles.
PLAUSIBLE_DAYS = 366

# The shortest a record may be when its tail was blank and got stripped: the file header's names
# and reference code and the file control's reserved tail are optional; every other record ends
# with a mandatory field.
_MIN_LENGTH = {"1": 40, "9": 55}

SEC_CODES = frozenset(
    {
        "ACK", "ADV", "ARC", "ATX", "BOC", "CCD", "CIE", "COR", "CTX", "DNE", "ENR", "IAT",
        "MTE", "POP", "POS", "PPD", "RCK", "SHR", "TEL", "TRC", "TRX", "WEB", "XCK",
    }
)  # fmt: skip
SERVICE_CLASSES = {"200": "mixed", "220": "credits only", "225": "debits only", "280": "ADV"}

_ACCOUNT_TYPES = {2: "checking", 3: "savings", 4: "general_ledger", 5: "loan"}
# last digit of a transaction code -> (receiver's side, kind of entry)
_TRANSACTION_KINDS = {
    1: ("credit", "return"),
    2: ("credit", "entry"),
    3: ("credit", "prenote"),
    4: ("credit", "zero_dollar"),
    6: ("debit", "return"),
    7: ("debit", "entry"),
    8: ("debit", "prenote"),
    9: ("debit", "zero_dollar"),
}

_FILE_NAME = re.compile(r"\.(ach|nacha)(\.txt)?$", re.IGNORECASE)
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")


@dataclass(frozen=True, slots=True)
class _Transaction:
    code: int
    account_type: str
    receiver_side: str
    kind: str

    @property
    def direction(self) -> str:
        """Which way the money moves for the originator (see the module docstring)."""
        if self.kind == "return":
            return self.receiver_side
        return "credit" if self.receiver_side == "debit" else "debit"


def _transaction(number: int) -> _Transaction | None:
    account = _ACCOUNT_TYPES.get(number // 10)
    if account is None:
        return None
    if number == 55:  # loan account debit (reversals only)
        return _Transaction(number, account, "debit", "entry")
    if account == "loan" and number > 56:
        return None
    side_kind = _TRANSACTION_KINDS.get(number % 10)
    if side_kind is None:
        return None
    return _Transaction(number, account, side_kind[0], side_kind[1])


_TRANSACTIONS = {
    f"{number:02d}": tx for number in range(100) if (tx := _transaction(number)) is not None
}


def transaction(code: str) -> _Transaction | None:
    """What a two-digit transaction code means, or None when it is not a NACHA code."""
    return _TRANSACTIONS.get(code)


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


@lru_cache(maxsize=4096)
def check_digit(routing8: str) -> int:
    """The ABA check digit of an 8-digit DFI identification."""
    total = sum(int(d) * w for d, w in zip(routing8, (3, 7, 1, 3, 7, 1, 3, 7), strict=True))
    return (10 - total % 10) % 10


def mask_account(value: str) -> str:
    """An account number with every character before its last four digits replaced by ``*``
    (``744-5678-99`` -> ``******78-99``); surrounding blanks are dropped."""
    text = value.strip()
    seen = 0
    first_digit = len(text)
    for index in range(len(text) - 1, -1, -1):
        if text[index].isdigit():
            seen += 1
            first_digit = index
            if seen == 4:
                break
    return "*" * first_digit + text[first_digit:]


def _yymmdd(text: str) -> date | None:
    if len(text) != 6 or not _digits(text):
        return None
    yy, mm, dd = int(text[:2]), int(text[2:4]), int(text[4:])
    try:
        return date(full_year(yy), mm, dd)
    except ValueError:
        return None


def _hhmm(text: str) -> bool:
    return len(text) == 4 and _digits(text) and int(text[:2]) < 24 and int(text[2:]) < 60


def _clean(text: str) -> str | None:
    value = text.strip()
    return value or None


def _number(text: str) -> int | None:
    value = text.strip()
    return int(value) if value and _digits(value) else None


# --------------------------------------------------------------------------------------------
# reading records


@dataclass(slots=True)
class _Record:
    line: int
    text: str  # as in the file, line end removed
    record: str  # padded or trimmed to 94 when that loses nothing
    length_problem: str | None
    # a short record whose missing tail holds only optional fields (read as if blank)
    tolerated: bool = False

    @property
    def type(self) -> str:
        return self.text[:1]


def _decode(data: bytes) -> str:
    """NACHA files are ASCII; UTF-8 is read as such (a name with an accent keeps its column),
    anything else as Latin-1, which never fails. A NUL byte, which no database text column
    takes, is read as U+FFFD."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text.lstrip("\ufeff").replace("\x00", "\ufffd")


def _lines(data: bytes) -> list[tuple[int, str]]:
    text = _decode(data).rstrip("\ufffd\x1a \t\r\n")
    if not text:
        return []
    if "\n" in text:
        lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
    elif "\r" in text:
        lines = text.split("\r")
    else:
        lines = [text]
    if len(lines) == 1 and len(text) > RECORD_LENGTH and len(text) % RECORD_LENGTH == 0:
        # a file without line ends: one line of 94-character records, numbered as records
        return [
            (index + 1, text[start : start + RECORD_LENGTH])
            for index, start in enumerate(range(0, len(text), RECORD_LENGTH))
        ]
    return list(enumerate(lines, start=1))


def _is_padding(line: str) -> bool:
    stripped = line.rstrip()
    return len(stripped) >= 10 and stripped.count("9") == len(stripped)


def _fit(line_number: int, text: str) -> _Record:
    length = len(text)
    if length == RECORD_LENGTH:
        return _Record(line_number, text, text, None)
    if length > RECORD_LENGTH and not text[RECORD_LENGTH:].strip():
        return _Record(line_number, text, text[:RECORD_LENGTH], None)
    problem = f"record is {length} characters long, not {RECORD_LENGTH}"
    if length < RECORD_LENGTH and length >= _MIN_LENGTH.get(text[:1], RECORD_LENGTH + 1):
        return _Record(line_number, text, text.ljust(RECORD_LENGTH), problem, tolerated=True)
    return _Record(line_number, text, text[:RECORD_LENGTH].ljust(RECORD_LENGTH), problem)


# --------------------------------------------------------------------------------------------
# file and batch state


@dataclass(slots=True)
class _FileHeader:
    line: int
    origin: str
    destination: str
    creation_raw: str
    time_raw: str
    modifier: str
    created: date | None

    @property
    def file_id(self) -> str:
        """Creation date, time, modifier and immediate origin: with the batch and trace numbers
        this identifies an entry (``1906240000A121042882``)."""
        time = self.time_raw if self.time_raw.strip() else "0000"
        return _NOT_ALNUM.sub("_", f"{self.creation_raw}{time}{self.modifier}") + self.origin


_NO_HEADER = _FileHeader(0, "", "", "000000", "0000", "-", None)


@dataclass(slots=True)
class _Totals:
    count: int = 0
    entry_hash: int = 0
    debit: int = 0
    credit: int = 0
    hash_known: bool = True
    amounts_known: bool = True


@dataclass(slots=True)
class _Batch:
    line: int
    raw: str
    sec: str
    service_class: str
    number_raw: str
    number: int | None
    attributes: dict[str, Any]
    effective: date | None
    effective_raw: str
    problem: str | None
    # the SEC code whose record layout the entries follow, as far as it can be told (a shifted
    # header's code); None when unknown. Only used to mask account numbers in rejections.
    layout: str | None = None
    totals: _Totals = field(default_factory=_Totals)
    has_debits: bool = False
    has_credits: bool = False

    @property
    def label(self) -> str:
        number = self.number if self.number is not None else self.number_raw.strip() or "?"
        return f"batch {number} (header on line {self.line})"


@dataclass(slots=True)
class _Entry:
    record: _Record
    batch: _Batch | None
    addenda: list[_Record] = field(default_factory=list)


@dataclass(slots=True)
class _FileState:
    header: _FileHeader | None = None
    header_seen: bool = False
    batches: int = 0
    records: int = 0  # every record but block fill, for the block count
    totals: _Totals = field(default_factory=_Totals)
    control_seen: bool = False
    has_adv: bool = False


# --------------------------------------------------------------------------------------------
# the format


class AchFormat:
    """NACHA ACH files (``recoup ingest --format ach``)."""

    name = "ach"
    description = (
        "NACHA ACH file: entries, returns (R-codes, dishonored and contested), notifications "
        "of change (C-codes)"
    )

    def sniff(self, name: str, head: bytes) -> bool:
        first = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0].rstrip(b"\r")
        if len(first) < 40 or first[:1] != b"1" or not first[1:3].isdigit():
            return False
        if b"," in first[:40]:
            return False
        return b"094" in first[30:40] or bool(_FILE_NAME.search(name))

    def parse(self, data: bytes, context: ParseContext) -> Iterator[Item]:
        yield from _Parser(context).run(data)


FORMATS: tuple[AchFormat, ...] = (AchFormat(),)


class _Parser:
    def __init__(self, context: ParseContext) -> None:
        self.context = context
        self.label = context.label
        self.file = _FileState()
        self.batch: _Batch | None = None
        self.entry: _Entry | None = None
        self.traces: dict[tuple[str, str, str], int] = {}

    # -- helpers ------------------------------------------------------------------------------

    def _where(self, line: int | None, field_name: str | None = None) -> Location:
        return Location(self.label, line, field_name)

    def _flag(self, line: int | None, code: str, reason: str) -> FileFlag:
        return FileFlag(self._where(line), code, reason)

    def _reject(
        self, line: int, code: str, reason: str, raw: str, field_name: str | None = None
    ) -> Rejection:
        return Rejection(self._where(line, field_name), code, reason, raw)

    @property
    def header(self) -> _FileHeader:
        return self.file.header or _NO_HEADER

    # -- driver -------------------------------------------------------------------------------

    def run(self, data: bytes) -> Iterator[Item]:
        lines = _lines(data)
        seen_any = False
        for number, text in lines:
            if not text.strip() or _is_padding(text):
                continue
            seen_any = True
            record = _fit(number, text)
            kind = record.type
            if kind != "7":
                yield from self._flush_entry()
            if kind == "1":
                yield from self._file_header(record)
            elif kind == "5":
                yield from self._batch_header(record)
            elif kind == "6":
                self._count(record)
                self.entry = _Entry(record, self.batch)
            elif kind == "7":
                yield from self._addenda(record)
            elif kind == "8":
                yield from self._batch_control(record)
            elif kind == "9":
                yield from self._file_control(record)
            else:
                yield self._reject(
                    number,
                    "unknown_record",
                    f"unknown record type {kind!r}: an ACH record starts with 1, 5, 6, 7, 8 or 9",
                    text,
                    "record_type",
                )
        yield from self._flush_entry()
        yield from self._finish(seen_any, lines[-1][0] if lines else None)

    def _finish(self, seen_any: bool, last_line: int | None) -> Iterator[Item]:
        if not seen_any:
            yield self._flag(None, "empty_file", "the file holds no ACH records")
            return
        if self.batch is not None:
            yield self._missing_batch_control(self.batch, None)
        if not self.file.control_seen:
            yield self._flag(
                last_line,
                "missing_file_control",
                "the file has no file control record (type 9): it may have been cut short",
            )

    # -- file header --------------------------------------------------------------------------

    def _file_header(self, record: _Record) -> Iterator[Item]:
        if self.file.header_seen:
            if self.batch is not None:
                yield self._missing_batch_control(self.batch, record.line)
            if not self.file.control_seen:
                yield self._flag(
                    record.line,
                    "missing_file_control",
                    "a new file header starts before the previous file's file control record",
                )
            self.file = _FileState()
            self.traces.clear()
        self.file.header_seen = True
        self.file.records += 1
        r = record.record
        header = _FileHeader(
            line=record.line,
            origin=_NOT_ALNUM.sub("", r[13:23]),
            destination=_NOT_ALNUM.sub("", r[3:13]),
            creation_raw=r[23:29],
            time_raw=r[29:33],
            modifier=r[33:34],
            created=_yymmdd(r[23:29]),
        )
        self.file.header = header
        problems = []
        if r[1:3] != "01":
            problems.append(f"priority code {r[1:3]!r} (columns 2-3) should be 01")
        if not header.destination:
            problems.append("immediate destination (columns 4-13) is blank")
        if not header.origin:
            problems.append("immediate origin (columns 14-23) is blank")
        if header.created is None:
            problems.append(f"file creation date {r[23:29]!r} (columns 24-29) is not a YYMMDD date")
        if r[29:33].strip() and not _hhmm(r[29:33]):
            problems.append(f"file creation time {r[29:33]!r} (columns 30-33) is not HHMM")
        if not (r[33:34].isascii() and r[33:34].isalnum()):
            problems.append(f"file ID modifier {r[33:34]!r} (column 34) should be A-Z or 0-9")
        if r[34:37] != "094":
            problems.append(f"record size {r[34:37]!r} (columns 35-37) should be 094")
        if r[37:39] != "10":
            problems.append(f"blocking factor {r[37:39]!r} (columns 38-39) should be 10")
        if r[39:40] != "1":
            problems.append(f"format code {r[39:40]!r} (column 40) should be 1")
        if problems:
            shift = _shift_hint(
                r, "094101", 34, "'094101' (record size, blocking factor, format code)"
            )
            if shift:
                problems.insert(0, shift)
        if record.length_problem and (problems or not record.tolerated):
            problems.insert(0, record.length_problem)
        if problems:
            yield self._flag(
                record.line, "invalid_file_header", "file header: " + "; ".join(problems)
            )

    def _need_header(self, record: _Record) -> Iterator[Item]:
        if not self.file.header_seen:
            self.file.header_seen = True
            yield self._flag(
                record.line,
                "missing_file_header",
                "the file does not start with a file header record (type 1); entries are read "
                "without the file's origin and creation date",
            )

    # -- batches ------------------------------------------------------------------------------

    def _batch_header(self, record: _Record) -> Iterator[Item]:
        yield from self._need_header(record)
        if self.batch is not None:
            yield self._missing_batch_control(self.batch, record.line)
        self.file.records += 1
        self.file.batches += 1
        r = record.record
        sec = r[50:53]
        service_class = r[1:4]
        iat = sec == "IAT"
        problems = []
        if record.length_problem:
            problems.append(record.length_problem)
        if service_class not in SERVICE_CLASSES:
            problems.append(
                f"service class code {service_class!r} (columns 2-4) should be 200, 220, 225 or 280"
            )
        layout = sec if sec in SEC_CODES else None
        if sec not in SEC_CODES:
            problem = f"standard entry class code {sec!r} (columns 51-53) is not a NACHA SEC code"
            for code in sorted(SEC_CODES):
                shift = _shift_hint(r, code, 50, f"{code!r}")
                if shift:
                    problem += f" ({shift})"
                    layout = code
                    break
            problems.append(problem)
        number = _number(r[87:94])
        if number is None:
            problems.append(f"batch number {r[87:94]!r} (columns 88-94) is not a number")
        effective = _yymmdd(r[69:75])
        attributes: dict[str, Any] = {"sec_code": sec, "service_class_code": _number(service_class)}
        if iat:
            attributes["company_id"] = _clean(r[40:50])
            attributes["iat"] = {
                key: value
                for key, value in (
                    ("foreign_exchange_indicator", _clean(r[20:22])),
                    ("foreign_exchange_reference", _clean(r[23:38])),
                    ("destination_country", _clean(r[38:40])),
                    ("originating_currency", _clean(r[63:66])),
                    ("destination_currency", _clean(r[66:69])),
                )
                if value is not None
            }
        else:
            attributes["company_name"] = _clean(r[4:20])
            attributes["company_discretionary_data"] = _clean(r[20:40])
            attributes["company_id"] = _clean(r[40:50])
            attributes["company_descriptive_date"] = _clean(r[63:69])
        attributes["company_entry_description"] = _clean(r[53:63])
        if effective is not None:
            attributes["effective_entry_date"] = effective.isoformat()
        attributes["settlement_date"] = _clean(r[75:78])
        attributes["odfi"] = _clean(r[79:87])
        attributes["batch_number"] = number
        batch = _Batch(
            line=record.line,
            raw=record.text,
            sec=sec,
            service_class=service_class,
            number_raw=r[87:94],
            number=number,
            attributes={k: v for k, v in attributes.items() if v is not None},
            effective=effective,
            effective_raw=r[69:75],
            problem="; ".join(problems) or None,
            layout=layout,
        )
        if sec == "ADV" or service_class == "280":
            self.file.has_adv = True
        self.batch = batch
        if batch.problem:
            yield self._flag(
                record.line,
                "invalid_batch_header",
                f"{batch.label}: {batch.problem}; its entries are rejected",
            )

    def _count(self, record: _Record) -> None:
        """Add an entry detail record to its batch's running totals (read as it stands, so the
        totals check what the file says, whether or not the entry itself is accepted)."""
        self.file.records += 1
        batch = self.batch
        if batch is None:
            return
        totals = batch.totals
        totals.count += 1
        r = record.record
        rdfi = r[3:11]
        if _digits(rdfi):
            totals.entry_hash += int(rdfi)
        else:
            totals.hash_known = False
        if batch.sec == "ADV":
            return
        amount = r[29:39]
        tx = transaction(r[1:3])
        if tx is None or not _digits(amount):
            totals.amounts_known = False
            return
        if tx.receiver_side == "debit":
            totals.debit += int(amount)
            batch.has_debits = True
        else:
            totals.credit += int(amount)
            batch.has_credits = True

    def _missing_batch_control(self, batch: _Batch, line: int | None) -> FileFlag:
        self._add_to_file(batch.totals)
        self.batch = None
        return self._flag(
            batch.line,
            "missing_batch_control",
            f"{batch.label} has no batch control record (type 8) before "
            + ("the end of the file" if line is None else f"line {line}"),
        )

    def _add_to_file(self, totals: _Totals) -> None:
        file_totals = self.file.totals
        file_totals.count += totals.count
        file_totals.entry_hash += totals.entry_hash
        file_totals.debit += totals.debit
        file_totals.credit += totals.credit
        file_totals.hash_known &= totals.hash_known
        file_totals.amounts_known &= totals.amounts_known

    def _batch_control(self, record: _Record) -> Iterator[Item]:
        self.file.records += 1
        batch = self.batch
        if batch is None:
            yield self._flag(
                record.line,
                "unexpected_record",
                "batch control record (type 8) without a batch header before it",
            )
            return
        self.batch = None
        r = record.record
        if record.length_problem:
            self._add_to_file(batch.totals)
            yield self._flag(
                record.line,
                "invalid_batch_control",
                f"{batch.label}: batch control {record.length_problem}; its totals are not checked",
            )
            return
        declared = _Totals(
            count=_number(r[4:10]) or 0,
            entry_hash=_number(r[10:20]) or 0,
            debit=_number(r[20:32]) or 0,
            credit=_number(r[32:44]) or 0,
        )
        unreadable = [
            name
            for name, text in (
                ("entry/addenda count (columns 5-10)", r[4:10]),
                ("entry hash (columns 11-20)", r[10:20]),
                ("total debit (columns 21-32)", r[20:32]),
                ("total credit (columns 33-44)", r[32:44]),
            )
            if not _digits(text)
        ]
        # The file control is checked against the entries too (not against the batch controls,
        # as NACHA adds it up), so one wrong batch control is one flag, on its batch.
        self._add_to_file(batch.totals)
        if unreadable:
            yield self._flag(
                record.line,
                "invalid_batch_control",
                f"{batch.label}: batch control fields are not numbers: {', '.join(unreadable)}",
            )
            return
        if batch.sec != "ADV":
            mismatches = _compare(declared, batch.totals)
            if mismatches:
                yield self._flag(
                    record.line,
                    "control_total_mismatch",
                    f"{batch.label}: the batch control on line {record.line} does not match its "
                    f"entries: {'; '.join(mismatches)}",
                )
        other = []
        if r[1:4] != batch.service_class:
            other.append(
                f"service class code {r[1:4]!r} differs from the header's {batch.service_class!r}"
            )
        if r[87:94] != batch.number_raw:
            other.append(
                f"batch number {r[87:94]!r} differs from the header's {batch.number_raw!r}"
            )
        header_company = batch.raw[40:50] if len(batch.raw) >= 50 else ""
        if batch.sec != "ADV" and r[44:54].strip() != header_company.strip():
            other.append(
                f"company identification {r[44:54].strip()!r} differs from the header's "
                f"{header_company.strip()!r}"
            )
        if other:
            yield self._flag(
                record.line, "batch_control_mismatch", f"{batch.label}: {'; '.join(other)}"
            )
        if batch.service_class == "220" and batch.has_debits:
            yield self._flag(
                batch.line,
                "service_class_mismatch",
                f"{batch.label} is declared credits only (service class 220) but holds debits",
            )
        if batch.service_class == "225" and batch.has_credits:
            yield self._flag(
                batch.line,
                "service_class_mismatch",
                f"{batch.label} is declared debits only (service class 225) but holds credits",
            )

    # -- file control -------------------------------------------------------------------------

    def _file_control(self, record: _Record) -> Iterator[Item]:
        yield from self._need_header(record)
        if self.batch is not None:
            yield self._missing_batch_control(self.batch, record.line)
        if self.file.control_seen:
            yield self._flag(
                record.line, "unexpected_record", "a second file control record (type 9)"
            )
            return
        self.file.control_seen = True
        self.file.records += 1
        r = record.record
        if record.length_problem and not record.tolerated:
            yield self._flag(
                record.line,
                "invalid_file_control",
                f"file control {record.length_problem}; the file totals are not checked",
            )
            return
        fields = (
            ("batch count", "columns 2-7", r[1:7]),
            ("block count", "columns 8-13", r[7:13]),
            ("entry/addenda count", "columns 14-21", r[13:21]),
            ("entry hash", "columns 22-31", r[21:31]),
            ("total debit", "columns 32-43", r[31:43]),
            ("total credit", "columns 44-55", r[43:55]),
        )
        unreadable = [f"{name} ({cols})" for name, cols, text in fields if not _digits(text)]
        if unreadable:
            yield self._flag(
                record.line,
                "invalid_file_control",
                f"file control fields are not numbers: {', '.join(unreadable)}",
            )
            return
        if self.file.has_adv:
            return  # ADV files have their own control layout; their totals are not checked
        declared = _Totals(
            count=int(r[13:21]), entry_hash=int(r[21:31]), debit=int(r[31:43]), credit=int(r[43:55])
        )
        mismatches = []
        if int(r[1:7]) != self.file.batches:
            mismatches.append(f"batch count is {int(r[1:7])}, the file has {self.file.batches}")
        blocks = -(-self.file.records // BLOCKING_FACTOR)
        if int(r[7:13]) != blocks:
            mismatches.append(
                f"block count is {int(r[7:13])}, the file's {self.file.records} records fill "
                f"{blocks}"
            )
        mismatches += _compare(declared, self.file.totals)
        if mismatches:
            yield self._flag(
                record.line,
                "control_total_mismatch",
                f"the file control on line {record.line} does not match the batches: "
                + "; ".join(mismatches),
            )

    # -- entries ------------------------------------------------------------------------------

    def _addenda(self, record: _Record) -> Iterator[Item]:
        self.file.records += 1
        if self.entry is None:
            yield self._reject(
                record.line,
                "orphan_addenda",
                "addenda record (type 7) without an entry detail record before it",
                record.text,
            )
            return
        self.entry.addenda.append(record)
        if self.entry.batch is not None and self.entry.batch is self.batch:
            self.entry.batch.totals.count += 1

    def _flush_entry(self) -> Iterator[Item]:
        entry = self.entry
        if entry is None:
            return
        self.entry = None
        yield _EntryReader(self, entry).item()


def _shift_hint(record: str, expected: str, index: int, what: str) -> str | None:
    """When ``expected`` is missing from its columns but sits one to three columns off, say so:
    a field before it has the wrong width, which is what a person needs to fix the file."""
    if record[index : index + len(expected)] == expected:
        return None
    for offset in (-1, 1, -2, 2, -3, 3):
        start = index + offset
        if start >= 0 and record[start : start + len(expected)] == expected:
            columns = f"{start + 1}-{start + len(expected)}"
            side = "short" if offset < 0 else "long"
            plural = "s" if abs(offset) > 1 else ""
            return (
                f"found {what} at columns {columns}, {abs(offset)} column{plural} "
                f"{'early' if offset < 0 else 'late'}: a field before it is {abs(offset)} "
                f"character{plural} too {side}"
            )
    return None


def _compare(declared: _Totals, computed: _Totals) -> list[str]:
    problems = []
    if declared.count != computed.count:
        problems.append(
            f"entry/addenda count is {declared.count}, the records add up to {computed.count}"
        )
    if computed.hash_known and declared.entry_hash != computed.entry_hash % 10**10:
        problems.append(
            f"entry hash is {declared.entry_hash:010d}, the routing numbers add up to "
            f"{computed.entry_hash % 10**10:010d}"
        )
    if computed.amounts_known:
        if declared.debit != computed.debit:
            problems.append(
                f"total debit is {_dollars(declared.debit)}, the entries add up to "
                f"{_dollars(computed.debit)}"
            )
        if declared.credit != computed.credit:
            problems.append(
                f"total credit is {_dollars(declared.credit)}, the entries add up to "
                f"{_dollars(computed.credit)}"
            )
    return problems


def _dollars(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


# --------------------------------------------------------------------------------------------
# one entry: its detail record and addenda to one event or rejection


class _Invalid(Exception):
    """An entry that cannot become an event; carries where and why."""

    def __init__(self, line: int, code: str, reason: str, field_name: str | None = None) -> None:
        super().__init__(reason)
        self.line = line
        self.code = code
        self.reason = reason
        self.field_name = field_name


# Standard entry detail layouts by SEC code, columns 40-78 (0-based slices): the identification
# and name fields and what else the SEC puts there.
_Slice = tuple[int, int]
_DEFAULT_LAYOUT: dict[str, _Slice] = {
    "individual_id": (39, 54),
    "individual_name": (54, 76),
    "discretionary_data": (76, 78),
}
_LAYOUTS: dict[str, dict[str, _Slice]] = {
    "CTX": {
        "individual_id": (39, 54),
        "number_of_addenda": (54, 58),
        "individual_name": (58, 74),
        "discretionary_data": (76, 78),
    },
    "ENR": {
        "individual_id": (39, 54),
        "number_of_addenda": (54, 58),
        "individual_name": (58, 74),
        "discretionary_data": (76, 78),
    },
    "TRX": {
        "individual_id": (39, 54),
        "number_of_addenda": (54, 58),
        "individual_name": (58, 74),
        "item_type_indicator": (76, 78),
    },
    "ATX": {
        "original_entry_trace_number": (39, 54),
        "number_of_addenda": (54, 58),
        "individual_name": (58, 74),
        "discretionary_data": (76, 78),
    },
    "ACK": {
        "original_entry_trace_number": (39, 54),
        "individual_name": (54, 76),
        "discretionary_data": (76, 78),
    },
    "CIE": {
        "individual_name": (39, 54),
        "individual_id": (54, 76),
        "discretionary_data": (76, 78),
    },
    "MTE": {
        "individual_name": (39, 54),
        "individual_id": (54, 76),
        "discretionary_data": (76, 78),
    },
    "ARC": {
        "check_serial_number": (39, 54),
        "individual_name": (54, 76),
        "discretionary_data": (76, 78),
    },
    "BOC": {
        "check_serial_number": (39, 54),
        "individual_name": (54, 76),
        "discretionary_data": (76, 78),
    },
    "RCK": {
        "check_serial_number": (39, 54),
        "individual_name": (54, 76),
        "discretionary_data": (76, 78),
    },
    "POP": {
        "check_serial_number": (39, 48),
        "terminal_city": (48, 52),
        "terminal_state": (52, 54),
        "individual_name": (54, 76),
        "discretionary_data": (76, 78),
    },
    "XCK": {
        "check_serial_number": (39, 54),
        "process_control_field": (54, 60),
        "item_research_number": (60, 76),
        "discretionary_data": (76, 78),
    },
    "TRC": {
        "check_serial_number": (39, 54),
        "process_control_field": (54, 60),
        "item_research_number": (60, 76),
        "item_type_indicator": (76, 78),
    },
    "SHR": {
        "card_expiration_date": (39, 43),
        "document_reference_number": (43, 54),
        "card_account_number": (54, 76),
        "card_transaction_type": (76, 78),
    },
    "POS": {
        "individual_id": (39, 54),
        "individual_name": (54, 76),
        "card_transaction_type": (76, 78),
    },
    "WEB": {"individual_id": (39, 54), "individual_name": (54, 76), "payment_type": (76, 78)},
    "TEL": {"individual_id": (39, 54), "individual_name": (54, 76), "payment_type": (76, 78)},
}
_MASKED_FIELDS = {"card_account_number"}

_ACCOUNT_COLUMNS = (12, 29)
_IAT_ACCOUNT_COLUMNS = (39, 74)
_CORRECTED_COLUMNS = (35, 64)
# Where a change code's corrected data holds an account number, inside the 29-character field.
_CORRECTED_ACCOUNT = {"C01": (0, 17), "C03": (12, 29), "C06": (0, 17), "C07": (9, 26)}

_STAGE = {"return": 1, DISHONORED: 2, CONTESTED: 3}

# a return or change addenda: its code and what it says
_Reason = tuple[ReasonInfo, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class _Detail:
    transaction: _Transaction
    routing: str  # the receiving DFI's 9-digit routing number
    masked_account: str
    amount: int
    trace: str


def _masked_at(text: str, start: int, end: int) -> str:
    if len(text) <= start:
        return text
    value = text[start:end]
    masked = mask_account(value)
    return text[:start] + masked.ljust(len(value)) + text[end:]


class _EntryReader:
    def __init__(self, parser: _Parser, entry: _Entry) -> None:
        self.parser = parser
        self.entry = entry
        self.batch = entry.batch
        self.line = entry.record.line

    # -- evidence -----------------------------------------------------------------------------

    def _masked_detail(self) -> str:
        """The entry detail record with its account number masked. In a batch whose layout
        cannot be told, every place an account number may sit is masked."""
        text = self.entry.record.text
        layout = self.batch.layout if self.batch is not None else None
        if layout != "IAT":
            text = _masked_at(text, *_ACCOUNT_COLUMNS)
        if layout in ("IAT", None):
            text = _masked_at(text, *_IAT_ACCOUNT_COLUMNS)
        if layout in ("SHR", None):
            text = _masked_at(text, 54, 76)
        return text

    @staticmethod
    def _masked_addenda(record: _Record) -> str:
        text = record.text
        if text[1:3] != "98":
            return text
        code = text[3:6]
        info = ach_change_reason(code)
        if info is not None and info.group == REFUSED:
            code = text[64:67]
            info = ach_change_reason(code)
        start, end = _CORRECTED_COLUMNS
        if info is None:  # an unknown code: the corrected data may be an account number
            return _masked_at(text, start, end)
        span = _CORRECTED_ACCOUNT.get(code)
        if span is None:
            return text
        return _masked_at(text, start + span[0], start + span[1])

    def raw(self) -> str:
        return "\n".join(
            [self._masked_detail(), *(self._masked_addenda(r) for r in self.entry.addenda)]
        )

    # -- result -------------------------------------------------------------------------------

    def item(self) -> Event | Rejection:
        raw = self.raw()
        try:
            fields = self._fields()
        except _Invalid as bad:
            where = Location(self.parser.label, bad.line, bad.field_name)
            return Rejection(where, bad.code, bad.reason, raw)
        return build_event(
            fields,
            received_at=self.parser.context.received_at,
            raw=raw,
            file=self.parser.label,
            line=self.line,
        )

    def _fail(
        self, code: str, reason: str, field_name: str | None = None, line: int | None = None
    ) -> _Invalid:
        return _Invalid(self.line if line is None else line, code, reason, field_name)

    def _fields(self) -> dict[str, Any]:
        batch = self._readable_batch()
        detail = self._detail(batch)
        attributes = self._attributes(batch, detail)
        returns, change = self._read_addenda(attributes)
        tx, trace = detail.transaction, detail.trace
        refs: dict[str, str] = {"ach_trace": trace}
        routing: str | None = detail.routing
        event_type = "bank.transfer_initiated"
        direction: str | None = tx.direction
        reason: ReasonInfo | None = None
        original: str | None = None
        if returns:
            reason, details = max(returns, key=lambda item: _STAGE[item[0].kind])
            event_type = "bank.transfer_returned"
            attributes["return_kind"] = reason.kind
            attributes["return_addenda"] = [d for _, d in returns]
            original = details.get("original_entry_trace_number")
            routing = _routing(details.get("original_rdfi"))
        elif change is not None:
            reason, details = change
            event_type = "bank.notification_of_change"
            direction = None  # a NOC moves no money
            corrected = details.pop("corrected", None)
            attributes["change"] = details
            if corrected:
                attributes["corrected"] = corrected
            original = details.get("original_entry_trace_number")
            routing = _routing(details.get("original_rdfi"))
        elif tx.kind == "return" or batch.sec == "COR":
            what = (
                "a notification of change (COR)"
                if batch.sec == "COR"
                else f"a return or notification of change (transaction code {tx.code})"
            )
            raise self._fail(
                "missing_addenda",
                f"the entry is {what} but has no type 99 (return) or 98 (change) addenda record",
            )
        elif batch.sec in ("ACK", "ATX"):
            event_type = "bank.transfer_accepted"
            original = attributes.pop("original_entry_trace_number", None)
        if event_type != "bank.transfer_initiated":
            # the entry's own trace; ach_trace points at the entry it answers
            refs["bank_transaction"] = trace
            if original:
                refs["ach_trace"] = original
                attributes["original_trace_number"] = original
        if routing is not None:
            refs["bank_account"] = f"{routing}:{detail.masked_account}"
        customer = attributes.get("individual_id") or attributes.get("individual_name")
        if customer:
            refs["customer"] = customer
        batch_number = batch.number if batch.number is not None else batch.number_raw.strip()
        fields: dict[str, Any] = {
            "source": self.parser.context.source or self._source(),
            "external_id": f"{self.parser.header.file_id}:{batch_number}:{trace}",
            "type": event_type,
            "occurred_at": self._occurred_at(attributes),
            "refs": refs,
            "amount_minor": detail.amount,
            "currency": CURRENCY,
            "attributes": attributes,
        }
        if direction is not None:
            fields["direction"] = direction
        if reason is not None:
            fields["reason_code"] = reason.reason_code
            fields["reason_message"] = reason.title
        return fields

    def _readable_batch(self) -> _Batch:
        """The entry's batch, when the entry's records can be read at all."""
        entry, batch = self.entry, self.batch
        if batch is None:
            raise self._fail(
                "entry_outside_batch",
                "entry detail record (type 6) is not inside a batch: no batch header before it",
            )
        if entry.record.length_problem:
            raise self._fail("record_length", f"entry detail {entry.record.length_problem}")
        for record in entry.addenda:
            if record.length_problem:
                raise self._fail(
                    "record_length",
                    f"addenda {record.length_problem} (entry detail on line {self.line})",
                    line=record.line,
                )
        if batch.problem:
            raise self._fail(
                "invalid_batch_header",
                f"the batch header on line {batch.line} is not valid ({batch.problem}), so this "
                "entry cannot be read",
            )
        if batch.sec == "ADV":
            raise self._fail(
                "unsupported_entry",
                "ADV entries are automated accounting advices from the ACH operator, not "
                "transfers; they are not read as events",
            )
        return batch

    def _detail(self, batch: _Batch) -> _Detail:
        """The entry detail record's mandatory fields, checked."""
        r = self.entry.record.record
        iat = batch.sec == "IAT"
        tx = transaction(r[1:3])
        if tx is None:
            raise self._fail(
                "invalid_field",
                f"transaction code {r[1:3]!r} (columns 2-3) is not a NACHA transaction code",
                "transaction_code",
            )
        rdfi, given_check = r[3:11], r[11:12]
        if not _digits(rdfi):
            raise self._fail(
                "invalid_field",
                f"receiving DFI identification {rdfi!r} (columns 4-11) must be 8 digits",
                "receiving_dfi_identification",
            )
        if not _digits(given_check) or int(given_check) != check_digit(rdfi):
            raise self._fail(
                "invalid_field",
                f"check digit {given_check!r} (column 12) is wrong for routing number {rdfi}: "
                f"it should be {check_digit(rdfi)}",
                "check_digit",
            )
        amount_text = r[29:39]
        if not _digits(amount_text):
            raise self._fail(
                "invalid_field",
                f"amount {amount_text!r} (columns 30-39) must be 10 digits of cents",
                "amount",
            )
        amount = int(amount_text)
        account = (r[39:74] if iat else r[12:29]).strip()
        if not account:
            raise self._fail(
                "invalid_field",
                f"DFI account number (columns {'40-74' if iat else '13-29'}) is blank",
                "dfi_account_number",
            )
        trace = r[79:94]
        if not _digits(trace):
            raise self._fail(
                "invalid_field",
                f"trace number {trace!r} (columns 80-94) must be 15 digits",
                "trace_number",
            )
        indicator = r[78:79]
        if indicator not in ("0", "1"):
            raise self._fail(
                "invalid_field",
                f"addenda record indicator {indicator!r} (column 79) must be 0 or 1",
                "addenda_record_indicator",
            )
        if indicator == "0" and self.entry.addenda:
            raise self._fail(
                "unexpected_addenda",
                "the entry's addenda record indicator is 0 but an addenda record follows it on "
                f"line {self.entry.addenda[0].line}",
                "addenda_record_indicator",
            )
        if tx.kind == "prenote" and amount != 0:
            raise self._fail(
                "invalid_field",
                f"transaction code {tx.code} is a prenote, which must have a zero amount, "
                f"not {_dollars(amount)}",
                "amount",
            )
        key = (self.parser.header.file_id, batch.number_raw, trace)
        first = self.parser.traces.setdefault(key, self.line)
        if first != self.line:
            raise self._fail(
                "duplicate_trace",
                f"trace number {trace} appears twice in {batch.label} (first on line {first})",
                "trace_number",
            )
        return _Detail(tx, f"{rdfi}{given_check}", mask_account(account), amount, trace)

    def _attributes(self, batch: _Batch, detail: _Detail) -> dict[str, Any]:
        r = self.entry.record.record
        tx = detail.transaction
        attributes: dict[str, Any] = dict(batch.attributes)
        attributes |= {
            "transaction_code": tx.code,
            "account_type": tx.account_type,
            "receiver_direction": tx.receiver_side,
            "receiving_dfi": detail.routing,
            "account_number": detail.masked_account,
            "trace_number": detail.trace,
        }
        if tx.kind == "prenote":
            attributes["prenote"] = True
        if tx.kind == "zero_dollar":
            attributes["zero_dollar"] = True
        if batch.sec == "IAT":
            if (count := _clean(r[12:16])) is not None:
                attributes["number_of_addenda"] = count
            return attributes
        for name, (start, end) in _LAYOUTS.get(batch.sec, _DEFAULT_LAYOUT).items():
            value = _clean(r[start:end])
            if value is not None:
                attributes[name] = mask_account(value) if name in _MASKED_FIELDS else value
        return attributes

    def _source(self) -> str:
        header = self.parser.header
        routing = header.origin or header.destination
        return f"bank:ach-{routing}" if routing else "bank:ach"

    def _occurred_at(self, attributes: dict[str, Any]) -> datetime:
        batch = self.batch
        assert batch is not None
        created = self.parser.header.created
        effective = batch.effective
        if effective is not None and (
            created is None or abs((effective - created).days) <= PLAUSIBLE_DAYS
        ):
            return midnight(effective)
        if created is None:
            raise self._fail(
                "invalid_field",
                f"no date for the entry: the batch's effective entry date {batch.effective_raw!r} "
                f"(line {batch.line}, columns 70-75) and the file creation date "
                f"{self.parser.header.creation_raw!r} are not YYMMDD dates",
                "effective_entry_date",
            )
        attributes["occurred_at_from"] = "file_creation_date"
        attributes.pop("effective_entry_date", None)
        attributes["effective_entry_date_raw"] = batch.effective_raw
        return midnight(created)

    # -- addenda ------------------------------------------------------------------------------

    def _read_addenda(self, attributes: dict[str, Any]) -> tuple[list[_Reason], _Reason | None]:
        """Read the addenda into ``attributes``; the return and change addenda come back."""
        returns: list[_Reason] = []
        change: _Reason | None = None
        payment_info: list[str] = []
        iat: dict[str, Any] = dict(attributes.get("iat", {}))
        for record in self.entry.addenda:
            r = record.record
            kind = r[1:3]
            if kind == "05" or kind == "17":
                text = _clean(r[3:83])
                if text is not None:
                    payment_info.append(text)
            elif kind == "02":
                attributes["terminal"] = _pick(
                    r,
                    {
                        "reference_information_1": (3, 10),
                        "reference_information_2": (10, 13),
                        "terminal_identification_code": (13, 19),
                        "transaction_serial_number": (19, 25),
                        "transaction_date": (25, 29),
                        "authorization_code_or_card_expiration": (29, 35),
                        "terminal_location": (35, 62),
                        "terminal_city": (62, 77),
                        "terminal_state": (77, 79),
                    },
                )
            elif kind in ("10", "11", "12", "13", "14", "15", "16", "18"):
                self._iat_addenda(kind, r, attributes, iat)
            elif kind == "99":
                returns.append(self._return_addenda(record))
            elif kind == "98":
                if change is not None:
                    raise self._fail(
                        "unexpected_addenda",
                        f"a second notification of change addenda (type 98) for the entry on "
                        f"line {self.line}",
                        line=record.line,
                    )
                change = self._change_addenda(record)
            else:
                raise self._fail(
                    "unknown_addenda_type",
                    f"addenda type code {kind!r} (columns 2-3) is not a NACHA addenda type "
                    f"(entry detail on line {self.line})",
                    "addenda_type_code",
                    line=record.line,
                )
        if payment_info:
            attributes["payment_related_information"] = payment_info
        if iat:
            attributes["iat"] = iat
        return returns, change

    def _iat_addenda(
        self, kind: str, r: str, attributes: dict[str, Any], iat: dict[str, Any]
    ) -> None:
        if kind == "10":
            iat |= _pick(
                r,
                {
                    "transaction_type_code": (3, 6),
                    "foreign_payment_amount": (6, 24),
                    "foreign_trace_number": (24, 46),
                },
            )
            name = _clean(r[46:81])
            if name is not None:
                attributes["individual_name"] = name
        elif kind == "11":
            name = _clean(r[3:38])
            if name is not None:
                attributes["company_name"] = name
        elif kind == "13":
            iat |= _pick(r, {"odfi_name": (3, 38), "odfi_branch_country": (74, 77)})
        elif kind == "14":
            iat |= _pick(r, {"rdfi_name": (3, 38), "rdfi_branch_country": (74, 77)})
        elif kind == "15":
            receiver_id = _clean(r[3:18])
            if receiver_id is not None:
                attributes["individual_id"] = receiver_id

    def _return_addenda(self, record: _Record) -> _Reason:
        r = record.record
        code = r[3:6]
        info = ach_return_reason(code)
        if info is None:
            raise self._fail(
                "unknown_return_code",
                f"unknown ACH return code {_shown(code)}: not in the NACHA return "
                f"reason codes (addenda on line {record.line}, entry detail on line {self.line})",
                "return_reason_code",
                line=record.line,
            )
        details: dict[str, Any] = {"kind": info.kind, "code": info.code, "line": record.line}
        if info.group == DISHONORED:
            details |= _pick(
                r,
                {
                    "original_entry_trace_number": (6, 21),
                    "original_rdfi": (27, 35),
                    "return_trace_number": (38, 53),
                    "return_settlement_date": (53, 56),
                    "return_reason_code": (56, 58),
                    "addenda_information": (58, 79),
                    "trace_number": (79, 94),
                },
            )
        elif info.group == CONTESTED:
            details |= _pick(
                r,
                {
                    "original_entry_trace_number": (6, 21),
                    "date_original_entry_returned": (21, 27),
                    "original_rdfi": (27, 35),
                    "original_settlement_date": (35, 38),
                    "return_trace_number": (38, 53),
                    "return_settlement_date": (53, 56),
                    "return_reason_code": (56, 58),
                    "dishonored_return_trace_number": (58, 73),
                    "dishonored_return_settlement_date": (73, 76),
                    "dishonored_return_reason_code": (76, 78),
                    "trace_number": (79, 94),
                },
            )
        else:
            details |= _pick(
                r,
                {
                    "original_entry_trace_number": (6, 21),
                    "date_of_death": (21, 27),
                    "original_rdfi": (27, 35),
                    "addenda_information": (35, 79),
                    "trace_number": (79, 94),
                },
            )
        for key in ("return_reason_code", "dishonored_return_reason_code"):
            if key in details and _digits(details[key]):
                details[key] = f"R{details[key]}"
        return info, details

    def _change_addenda(self, record: _Record) -> _Reason:
        r = record.record
        code = r[3:6]
        info = ach_change_reason(code)
        if info is None:
            raise self._fail(
                "unknown_change_code",
                f"unknown ACH change code {_shown(code)}: not in the NACHA change "
                f"codes (addenda on line {record.line}, entry detail on line {self.line})",
                "change_code",
                line=record.line,
            )
        details: dict[str, Any] = {"code": info.code, "line": record.line}
        details |= _pick(
            r,
            {
                "original_entry_trace_number": (6, 21),
                "original_rdfi": (27, 35),
                "trace_number": (79, 94),
            },
        )
        corrected_code = info.code
        if info.group == REFUSED:
            details["refused"] = True
            details |= _pick(r, {"change_code": (64, 67), "trace_sequence_number": (67, 74)})
            corrected_code = details.get("change_code", "")
        corrected = _corrected(corrected_code, r[35:64])
        if corrected:
            details["corrected"] = corrected
        if corrected_code not in _CORRECTED_ACCOUNT:
            data = _clean(r[35:64])
            if data is not None:
                details["corrected_data"] = data
        return info, details


def _shown(code: str) -> str:
    """A code as a person reads it: ``R96`` as is, a blank or odd one quoted."""
    return code if code.isascii() and code.isalnum() else repr(code)


def _pick(record: str, spans: dict[str, _Slice]) -> dict[str, Any]:
    picked = {}
    for name, (start, end) in spans.items():
        value = _clean(record[start:end])
        if value is not None:
            picked[name] = value
    return picked


def _routing(dfi: Any) -> str | None:
    """A 9-digit routing number from an 8-digit DFI identification (addenda give only 8)."""
    if not isinstance(dfi, str) or len(dfi) != 8 or not _digits(dfi):
        return None
    return f"{dfi}{check_digit(dfi)}"


def _corrected(code: str, data: str) -> dict[str, Any]:
    """The corrected data of a NOC as named fields, account numbers masked (NACHA positions
    inside the 29-character field; a field written with other spacing is split on blanks)."""
    data = data.ljust(29)
    parts = data.split()
    out: dict[str, Any] = {}

    def put(name: str, start: int, end: int, index: int | None = None) -> None:
        value = _clean(data[start:end])
        if value is None and index is not None and len(parts) > index:
            value = parts[index]
        if value is not None:
            out[name] = mask_account(value) if name == "account_number" else value

    if code == "C01":
        put("account_number", 0, 17, 0)
    elif code == "C02":
        put("routing_number", 0, 9, 0)
    elif code == "C03":
        put("routing_number", 0, 9, 0)
        put("account_number", 12, 29, 1)
    elif code == "C04":
        put("individual_name", 0, 22)
    elif code == "C05":
        put("transaction_code", 0, 2, 0)
    elif code == "C06":
        put("account_number", 0, 17, 0)
        put("transaction_code", 20, 22, 1)
    elif code == "C07":
        put("routing_number", 0, 9)
        put("account_number", 9, 26)
        put("transaction_code", 26, 28)
    elif code == "C08":
        put("receiving_dfi_identification", 0, 29)
    elif code == "C09":
        put("individual_id", 0, 22)
    elif code == "C14":
        put("sec_code", 0, 3)
    return out


__all__ = ["FORMATS", "AchFormat", "check_digit", "mask_account", "transaction"]
