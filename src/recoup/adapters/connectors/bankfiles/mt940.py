"""SWIFT MT940 customer statements and MT942 interim transaction reports.

One format, ``mt940``, reads both: they share the field grammar, and a file says which it is in
its ``{2:}`` block or through the MT942-only fields (``:13D:``, ``:34F:``, ``:90D:``/``:90C:``).
The parser is our own and tolerant of the dialects real banks send: statements with or without
the SWIFT ``{1:}{2:}{4:`` envelope and ``-}`` trailers, several statements per file, DOS or Unix
line endings, no final newline, UTF-8 or Latin-1 text, ``:61:`` lines with or without the entry
date, with a funds code, a space before the transaction type, the bank reference after ``//`` and
supplementary details on the next line, and ``:86:`` in free form, in the German ``?20`` style,
in Triodos' ``>20`` style or in the Dutch ``/EREF/`` style (the PyPI package ``mt-940`` was
measured against the jejik samples and not used: it raises on two of them, mis-splits the
``:61:`` of three and merges the statements of a file into one set of balances).

Mapping, per statement:

- each ``:61:`` is one ``bank.statement_line``: the amount with the statement's currency (from
  ``:60F:``/``:60M:``, else ``:62F:``/``:62M:``, else the MT942 floor limit ``:34F:``);
  ``C``/``D`` are credit/debit, ``RC`` (reversal of a credit) is a debit and ``RD`` a credit, both
  with ``attributes.reversal``; ``EC``/``ED`` (expected, MT942) keep their direction, get status
  ``expected`` and are left out of the balance check; ``occurred_at`` is the entry (booking) date,
  else the value date, at midnight UTC, the entry date's year being the one nearest the value
  date; status ``booked`` (``interim`` in an MT942); ``refs.bank_account`` is ``:25:``,
  ``refs.bank_transaction`` the bank reference after ``//`` or else the customer reference
  (never ``NONREF``), ``refs.end_to_end`` the SEPA end-to-end id of ``:86:`` (never
  ``NOTPROVIDED``);
- every balance is one ``bank.balance`` with ``attributes.balance_type``: ``:60F:`` opening,
  ``:60M:`` interim_opening, ``:62F:`` closing, ``:62M:`` interim_closing, ``:64:`` available,
  ``:65:`` forward_available; the direction is the balance's C/D sign;
- ``source`` is ``bank:<account>`` (characters outside ``[A-Za-z0-9_.-]`` become ``-``) unless
  the caller names one.

``external_id`` is ``<:20:>:<:28C:>:<statement date>:<entry index>`` (``...:<balance type>`` for
balances), the statement date being the opening balance's (MT942: ``:13D:``). The date is there
because banks reuse ``:20:`` and ``:28C:``: the Volksbank, Sparkasse and Rabobank samples carry
several different statements under one ``STARTUMS``/``0`` pair, and without it their lines would
be taken for redeliveries of each other and dropped. A statement that repeats another's key with
different content gets ``~2``, ``~3``... after it.

Attributes of a statement line: ``message_type`` (MT940/MT942), ``statement_reference`` (:20:),
``statement_number`` (:28C:), ``value_date``, ``entry_date``, ``mark``, ``reversal``,
``funds_code``, ``transaction_type`` (``NTRF``...), ``customer_reference``, ``bank_reference``,
``supplementary_details``; from a free-form ``:86:`` its text as ``description``; from a
structured one ``remittance`` (SVWZ+, /REMI/ or the purpose lines), ``counterparty_name``,
``counterparty_account``, ``counterparty_bank``, the German ``transaction_code`` (GVC) and
``posting_text``, and the other SEPA fields (KREF, MREF, CRED, /MARF/, /CSID/...) under ``sepa``.
A ``:86:`` after the closing balance is the closing balance's ``information``.

Checks, as file flags: opening + entries = closing (``balance_mismatch``, with the difference);
a statement without an opening or closing balance (``balance_missing``); a statement that does not
open where the previous one of the same account closed (``balance_gap``); MT942 ``:90D:``/``:90C:``
counts and sums against the entries (``control_total_mismatch``). A bad field is a
:class:`Rejection` at its line; a file with no statement at all is one rejection.
"""

from __future__ import annotations

import re
import zlib
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

# --- reading lines into fields ----------------------------------------------------------------

_TAG = re.compile(r":(\d\d[A-Z]?):", re.ASCII)
_MESSAGE_TYPE = re.compile(r"\{2:[IO](\d{3})")
_ENVELOPE = re.compile(r"\{\d:")
_CONTROL = "\x01\x03\x1a"  # SOH/ETX around SWIFT messages, DOS end-of-file


@dataclass(slots=True)
class _Field:
    tag: str
    line: int
    lines: list[str]

    @property
    def value(self) -> str:
        return self.lines[0] if len(self.lines) == 1 else "\n".join(self.lines)

    @property
    def raw(self) -> str:
        return f":{self.tag}:" + "\n".join(self.lines)


@dataclass(slots=True)
class _Statement:
    fields: list[_Field] = field(default_factory=list)
    message_type: str | None = None  # from the {2:} block


def _statements(text: str) -> Iterator[_Statement]:
    """Group the file's fields into statements: a ``:20:`` or a ``-`` trailer ends one."""
    current = _Statement()
    message_type: str | None = None
    open_field: _Field | None = None
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, line in enumerate(lines, start=1):
        if not line:
            continue
        if line[0] in _CONTROL:
            line = line.lstrip(_CONTROL)
            if not line:
                continue
        first = line[0]
        if first == "-" and (line.startswith("-}") or line.rstrip(_CONTROL + " ") == "-"):
            if current.fields:
                yield current
            current = _Statement()
            open_field = None
            line = line[2:].lstrip(_CONTROL + " ") if line.startswith("-}") else ""
            if not line:
                continue
            first = line[0]
        if first == "{" and _ENVELOPE.match(line):
            found = _MESSAGE_TYPE.search(line)
            if found:
                message_type = found.group(1)
            open_field = None
            position = line.find("{4:")
            if position < 0 or not line[position + 3 :].startswith(":"):
                continue
            line = line[position + 3 :]
            first = ":"
        if first == ":":
            tag = _TAG.match(line)
            if tag is not None:
                name = tag.group(1)
                if name == "20" and current.fields:
                    yield current
                    current = _Statement()
                if not current.fields:
                    current.message_type = message_type
                open_field = _Field(name, number, [line[tag.end() :].rstrip(_CONTROL)])
                current.fields.append(open_field)
                continue
        if open_field is not None:
            open_field.lines.append(line.rstrip(_CONTROL))
        # else: a line outside any field (an ABNANL2A / 940 preamble): not a record
    if current.fields:
        yield current


# --- values -----------------------------------------------------------------------------------

# At most 20 digits before the comma: more is no amount, and would overflow Decimal arithmetic.
_AMOUNT = r"(\d{1,20}(?:[,.]\d{0,10})?|[,.]\d{1,10})"
_BALANCE = re.compile(r"\s*([CD])\s*(\d{6})\s*([A-Z]{3})\s*" + _AMOUNT + r"\s*", re.ASCII)
_ENTRY = re.compile(
    r"\s*(?P<value>\d{6})(?P<entry>\d{4})?\s*(?P<mark>R?[CD]|E[CD])(?P<funds>[A-Z])?\s*"
    r"(?P<amount>\d{1,20}(?:[,.]\d{0,10})?|[,.]\d{1,10})\s*(?P<type>[A-Z][A-Z0-9 ]{0,3})?"
    r"(?P<rest>.*)",
    re.ASCII,
)
_COUNT_SUM = re.compile(r"\s*(\d{1,9})\s*([A-Z]{3})\s*" + _AMOUNT + r"\s*", re.ASCII)
_FLOOR = re.compile(r"\s*([A-Z]{3})")
# Placeholders banks write where a reference would be: never an identifier to link on.
_NO_REFERENCE = frozenset(
    {"", "NONREF", "NOTPROVIDED", "NOT PROVIDED", "EREF", "KREF", "KREF+", "MREF", "MREF+", "PREF"}
)
_IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}")


def _amount(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))  # "9," and ",5" are fine as "9." and ".5"


def _date(yymmdd: str) -> date | None:
    try:
        return date(full_year(int(yymmdd[:2])), int(yymmdd[2:4]), int(yymmdd[4:6]))
    except ValueError:
        return None


def _entry_date(value_date: date, mmdd: str) -> date | None:
    """The booking date nearest the value date: an entry booked on 2 January for a value date
    of 31 December belongs to the next year."""
    month, day = int(mmdd[:2]), int(mmdd[2:])
    year = value_date.year
    if month - value_date.month > 6:
        year -= 1  # value 2024-01-02, booked 1231: 2023-12-31
    elif value_date.month - month > 6:
        year += 1  # value 2023-12-31, booked 0102: 2024-01-02
    try:
        return date(year, month, day)
    except ValueError:
        return None


class _BadField(ValueError):
    """A field that does not follow its format; the message is the rejection's reason."""


@dataclass(frozen=True, slots=True)
class _Balance:
    tag: str
    mark: str
    day: date
    currency: str
    amount: Decimal

    @property
    def signed(self) -> Decimal:
        return self.amount if self.mark == "C" else -self.amount


def _balance(item: _Field) -> _Balance:
    value = item.lines[0].strip()  # one line by definition; what follows is not the balance
    match = _BALANCE.fullmatch(value)
    if match is None:
        raise _BadField(_balance_problem(value))
    mark, yymmdd, currency, amount = match.groups()
    day = _date(yymmdd)
    if day is None:
        raise _BadField(f"balance date {yymmdd} is not a valid YYMMDD date")
    return _Balance(_balance_tag(item.tag), mark, day, currency, _amount(amount))


def _balance_tag(tag: str) -> str:
    """``:65F:`` (seen in the wild) is ``:65:``; 60 and 62 keep their F/M."""
    return tag if tag[:2] in ("60", "62") else tag[:2]


def _balance_problem(value: str) -> str:
    expected = "expected C or D, a YYMMDD date, a currency and an amount like C230101EUR100,00"
    if not value:
        return f"empty balance; {expected}"
    if value[0] not in "CD":
        return f"balance {value!r} does not start with C or D; {expected}"
    if not value[1:7].isdigit():
        return f"balance date {value[1:7]!r} is not YYMMDD; {expected}"
    if not re.fullmatch(r"\s*[A-Z]{3}", value[7:10]):
        return f"balance currency {value[7:10]!r} is not a 3-letter code; {expected}"
    return f"balance amount {value[10:]!r} is not a number with a decimal comma; {expected}"


# --- :86: information to account owner ---------------------------------------------------------

_GERMAN = re.compile(r"(\d{3})([?>])\d\d", re.ASCII)
_GERMAN_SUBFIELD = {"?": re.compile(r"\?(\d\d)", re.ASCII), ">": re.compile(r">(\d\d)", re.ASCII)}
_SEPA_KEYWORD = re.compile(
    r"(EREF|KREF|MREF|CRED|DEBT|SVWZ|ABWA|ABWE|COAM|OAMT|PURP|SQTP|ORCR|ORMR|DDAT|BREF|RREF)\+"
)
_PURPOSE_CODES = frozenset({*(str(n) for n in range(20, 30)), "60", "61", "62", "63"})
# The Dutch banks' codes; a longer code comes before one it begins with (CDTRREFTP, CDTRREF).
_DUTCH = re.compile(
    r"/(CDTRREFTP|CDTRREF|RTRN|CREF|EREF|IREF|MARF|CSID|CNTP|REMI|PURP|ULTC|ULTD|ULTB|BENM|ORDP"
    r"|NAME|ADDR|ISDT|TRCD|BUSP|SVCL|PREF|ATOM|EXCH|OCMT|CHGS|ISSR|SCOR|IBAN|BIC|ID)/"
)


def _clean(text: str) -> str:
    """Runs of white space (the padding of fixed-width lines) as one space."""
    return " ".join(text.split())


def _details(lines: list[str]) -> dict[str, Any]:
    """What ``:86:`` says, as attributes (and ``end_to_end``, taken out by the caller)."""
    joined = "".join(lines)
    german = _GERMAN.match(joined)
    if german is not None:
        return _german_details(german.group(1), german.group(2), joined[3:])
    if joined.startswith("/") and _DUTCH.match(joined):
        return _dutch_details(joined)
    text = _clean(" ".join(line.rstrip() for line in lines))
    return {"description": text} if text else {}


def _german_details(code: str, separator: str, text: str) -> dict[str, Any]:
    """The German banking industry's ``?NN`` subfields (Triodos writes ``>NN``)."""
    parts = _GERMAN_SUBFIELD[separator].split(text)
    repeated: dict[str, list[str]] = {}
    purposes: list[str] = []  # ?20-?29 and ?60-?63, in the file's order
    for position in range(1, len(parts) - 1, 2):
        name, value = parts[position], parts[position + 1]
        if name in _PURPOSE_CODES:
            purposes.append(value)
        elif name in repeated:
            repeated[name].append(value)
        else:
            repeated[name] = [value]
    subfields = {name: "".join(values) for name, values in repeated.items()}
    purpose = "".join(purposes)
    found: dict[str, Any] = {"transaction_code": code}
    pieces = _SEPA_KEYWORD.split(purpose)
    sepa: dict[str, str] = {}
    for position in range(1, len(pieces) - 1, 2):
        value = _clean(pieces[position + 1])
        if value:
            sepa[pieces[position]] = value
    remittance = sepa.pop("SVWZ", None) or _clean(pieces[0])
    for key, value in (
        ("posting_text", subfields.get("00")),
        ("remittance", remittance),
        ("counterparty_name", subfields.get("32", "") + subfields.get("33", "")),
        ("counterparty_account", subfields.get("31")),
        ("counterparty_bank", subfields.get("30")),
    ):
        if value and (value := _clean(value)):
            found[key] = value
    if sepa:
        found["sepa"] = sepa
        if "EREF" in sepa:
            found["end_to_end"] = sepa["EREF"]
    return found


def _dutch_details(text: str) -> dict[str, Any]:
    """The Dutch banks' SEPA layout: ``/EREF/.../CNTP/iban/bic/name/city/REMI/...``."""
    codes = list(_DUTCH.finditer(text))
    repeated: dict[str, list[str]] = {}
    for index, match in enumerate(codes):
        end = codes[index + 1].start() if index + 1 < len(codes) else len(text)
        value = _clean(text[match.end() : end]).rstrip("/").strip()
        repeated.setdefault(match.group(1), []).append(value)
    subfields = {name: " ".join(v for v in values if v) for name, values in repeated.items()}
    found: dict[str, Any] = {}
    remittance = subfields.get("REMI", "")
    for prefix in ("USTD//", "USTD/", "STRD/"):
        if remittance.startswith(prefix):
            remittance = remittance[len(prefix) :]
            break
    counterparty = subfields.get("CNTP", "").split("/")
    account = counterparty[0] if counterparty[0] else subfields.get("IBAN", "")
    bank = counterparty[1] if len(counterparty) > 1 else subfields.get("BIC", "")
    name = counterparty[2] if len(counterparty) > 2 else subfields.get("NAME", "")
    for key, value in (
        ("remittance", remittance.strip("/ ")),
        ("counterparty_name", name.strip()),
        ("counterparty_account", account.strip()),
        ("counterparty_bank", bank.strip()),
    ):
        if value:
            found[key] = value
    if subfields.get("EREF"):
        found["end_to_end"] = subfields["EREF"]
    sepa = {name: value for name, value in subfields.items() if value and name != "REMI"}
    if sepa:
        found["sepa"] = sepa
    return found


# --- one statement -----------------------------------------------------------------------------

_BALANCE_TYPES = {
    "60F": "opening",
    "60M": "interim_opening",
    "62F": "closing",
    "62M": "interim_closing",
    "64": "available",
    "65": "forward_available",
}
_NEXT_STATEMENT_DAYS = 7  # daily statements skip weekends and holidays; monthly ones share a day
_CREDIT = {
    "C": "credit",
    "D": "debit",
    "RC": "debit",
    "RD": "credit",
    "EC": "credit",
    "ED": "debit",
}


@dataclass(slots=True)
class _Entry:
    line: _Field
    info: list[_Field] = field(default_factory=list)

    @property
    def raw(self) -> str:
        return "\n".join([self.line.raw, *(item.raw for item in self.info)])


@dataclass(frozen=True, slots=True)
class _Parsed:
    """What the balance check needs of a ``:61:``: its signed amount, or why it has none."""

    signed: Decimal | None
    booked: bool = True
    credit: bool = True


@dataclass(slots=True)
class _Parts:
    reference: str | None = None
    related: str | None = None
    account: _Field | None = None
    number: str = ""
    date_time: str | None = None
    floor_currency: str | None = None
    balances: list[_Field] = field(default_factory=list)
    entries: list[_Entry] = field(default_factory=list)
    totals: list[_Field] = field(default_factory=list)  # :90D: / :90C:
    info: list[_Field] = field(default_factory=list)  # :86: not after a :61:
    first: _Field | None = None


def _parts(statement: _Statement) -> _Parts:
    parts = _Parts(first=statement.fields[0])
    last_entry: _Entry | None = None
    for item in statement.fields:
        tag = item.tag
        if tag == "86":
            (last_entry.info if last_entry is not None else parts.info).append(item)
            continue
        last_entry = None
        if tag == "61":
            last_entry = _Entry(item)
            parts.entries.append(last_entry)
        elif tag == "20":
            parts.reference = item.lines[0].strip()
        elif tag == "21":
            parts.related = item.lines[0].strip()
        elif tag in ("25", "25P"):
            parts.account = item
        elif tag in ("28", "28C"):
            parts.number = item.lines[0].strip()
        elif tag in ("13", "13D"):
            parts.date_time = item.lines[0].strip()
        elif tag == "34F":
            floor = _FLOOR.match(item.value)
            if floor is not None and parts.floor_currency is None:
                parts.floor_currency = floor.group(1)
        elif tag in ("60F", "60M", "62F", "62M") or tag[:2] in ("64", "65"):
            parts.balances.append(item)
        elif tag in ("90C", "90D"):
            parts.totals.append(item)
    return parts


class _File:
    """The state that spans statements: the ids used so far and the last closing balance."""

    def __init__(self, context: ParseContext) -> None:
        self.context = context
        self.keys: dict[str, tuple[int, int]] = {}  # statement key -> (content hash, uses)
        self.previous: tuple[str, str, _Balance] | None = None  # account, label, closing

    def location(self, item: _Field | None, tag: bool = True) -> Location:
        if item is None:
            return Location(self.context.label)
        return Location(self.context.label, item.line, f":{item.tag}:" if tag else None)

    def reject(self, item: _Field, code: str, reason: str, raw: str | None = None) -> Rejection:
        return Rejection(self.location(item), code, reason, raw if raw is not None else item.raw)

    def key(self, base: str, statement: _Statement) -> str:
        content = zlib.crc32("\n".join(item.raw for item in statement.fields).encode())
        seen = self.keys.get(base)
        if seen is None or seen[0] == content:
            self.keys[base] = (content, 1 if seen is None else seen[1])
            return base
        uses = seen[1] + 1
        self.keys[base] = (seen[0], uses)
        return f"{base}~{uses}"

    def statement(self, statement: _Statement) -> Iterator[Item]:
        parts = _parts(statement)
        kind = self._kind(statement, parts)
        account = parts.account.lines[0].strip() if parts.account is not None else ""
        balances: list[tuple[_Field, _Balance]] = []
        for item in parts.balances:
            try:
                balances.append((item, _balance(item)))
            except _BadField as exc:
                yield self.reject(item, "invalid_record", str(exc))
        opening = next((b for _, b in balances if b.tag in ("60F", "60M")), None)
        closing = next(((f, b) for f, b in balances if b.tag in ("62F", "62M")), None)
        currency = (
            (opening.currency if opening else None)
            or (closing[1].currency if closing else None)
            or parts.floor_currency
        )
        anchor = (
            opening.day.isoformat() if opening else (parts.date_time or _first_day(parts) or "")
        )
        label = _statement_label(parts, account)
        problem = self._problem(parts, account, currency)
        key = self.key(f"{parts.reference}:{parts.number}:{anchor}", statement)
        source = self.context.source or account_source(account)
        common: dict[str, Any] = {"message_type": kind, "statement_reference": parts.reference}
        if parts.number:
            common["statement_number"] = parts.number
        if parts.related and parts.related.upper() != "NONREF":
            common["related_reference"] = parts.related

        parsed: list[_Parsed] = []
        for index, entry in enumerate(parts.entries, start=1):
            result, amount = self._entry(
                entry, index, kind, key, source, account, currency, problem, common
            )
            parsed.append(amount)
            yield result

        forward = 0
        for item, balance in balances:
            balance_type = _BALANCE_TYPES[balance.tag]
            suffix = balance_type
            if balance.tag == "65":
                forward += 1
                suffix = f"{balance_type}:{forward}"
            if problem is not None:
                yield self.reject(item, *problem)
                continue
            attributes = {**common, "balance_type": balance_type}
            if item is (closing[0] if closing else None) and parts.info:
                attributes["information"] = _clean(" ".join(i.value for i in parts.info))
            fields = {
                "source": source,
                "external_id": f"{key}:{suffix}",
                "type": "bank.balance",
                "occurred_at": midnight(balance.day),
                "amount": balance.amount,
                "currency": balance.currency,
                "direction": "credit" if balance.mark == "C" else "debit",
                "refs": {"bank_account": account},
                "attributes": attributes,
            }
            yield build_event(
                fields,
                received_at=self.context.received_at,
                raw=item.raw,
                file=self.context.label,
                line=item.line,
                element=f":{item.tag}:",
            )

        yield from self._checks(parts, kind, label, account, opening, closing, parsed)

    def _kind(self, statement: _Statement, parts: _Parts) -> str:
        if statement.message_type in ("940", "942"):
            return f"MT{statement.message_type}"
        mt942_only = any(f.tag in ("13", "13D", "34F", "90C", "90D") for f in statement.fields)
        has_balances = any(f.tag[:2] in ("60", "62") for f in parts.balances)
        return "MT942" if mt942_only and not has_balances else "MT940"

    def _problem(self, parts: _Parts, account: str, currency: str | None) -> tuple[str, str] | None:
        """Why no line of this statement can become an event, if something makes it so."""
        if not parts.reference:
            return "incomplete_statement", "statement has no :20: transaction reference"
        if not account:
            return "incomplete_statement", "statement has no :25: account identification"
        if currency is None:
            return "incomplete_statement", "statement has no currency: no valid balance gives one"
        return None

    def _entry(
        self,
        entry: _Entry,
        index: int,
        kind: str,
        key: str,
        source: str,
        account: str,
        currency: str | None,
        problem: tuple[str, str] | None,
        common: dict[str, Any],
    ) -> tuple[Item, _Parsed]:
        item = entry.line
        match = _ENTRY.fullmatch(item.lines[0])
        if match is None:
            reason = (
                f"statement line {item.lines[0][:40]!r} is not <value date YYMMDD>[<entry date "
                "MMDD>]<C|D|RC|RD><amount><type><reference>, as in 230102C100,00NTRFNONREF"
            )
            return self.reject(item, "invalid_record", reason, entry.raw), _Parsed(None)
        value_date = _date(match["value"])
        if value_date is None:
            reason = f"value date {match['value']} is not a valid YYMMDD date"
            return self.reject(item, "invalid_record", reason, entry.raw), _Parsed(None)
        booked_on = value_date
        if match["entry"]:
            found = _entry_date(value_date, match["entry"])
            if found is None:
                reason = f"entry date {match['entry']} is not a valid MMDD date"
                return self.reject(item, "invalid_record", reason, entry.raw), _Parsed(None)
            booked_on = found
        mark = match["mark"]
        direction = _CREDIT[mark]
        amount = _amount(match["amount"])
        booked = mark[0] != "E"
        credit = direction == "credit"
        parsed = _Parsed(amount if credit else -amount, booked, credit)
        if problem is not None:
            return self.reject(item, *problem, raw=entry.raw), parsed

        customer, bank, extra = _references(match["rest"])
        attributes: dict[str, Any] = {**common, "value_date": value_date.isoformat()}
        if match["entry"]:
            attributes["entry_date"] = booked_on.isoformat()
        attributes["mark"] = mark
        if mark[0] == "R":
            attributes["reversal"] = True
        if match["funds"]:
            attributes["funds_code"] = match["funds"]
        transaction_type = (match["type"] or "").strip()
        if transaction_type:
            attributes["transaction_type"] = transaction_type
        if customer:
            attributes["customer_reference"] = customer
        if bank:
            attributes["bank_reference"] = bank
        supplementary = (
            _clean(" ".join([extra, *item.lines[1:]])) if extra or len(item.lines) > 1 else ""
        )
        if supplementary:
            attributes["supplementary_details"] = supplementary
        end_to_end = None
        if entry.info:
            details = _details([line for info in entry.info for line in info.lines])
            end_to_end = details.pop("end_to_end", None)
            attributes.update(details)
        if (
            supplementary
            and "counterparty_account" not in attributes
            and _IBAN.fullmatch(supplementary)
        ):
            attributes["counterparty_account"] = supplementary  # Rabobank's contra IBAN
        refs = {"bank_account": account}
        for reference in (bank, customer):
            if reference.upper() not in _NO_REFERENCE:
                refs["bank_transaction"] = reference
                break
        if end_to_end and end_to_end.upper() not in _NO_REFERENCE:
            refs["end_to_end"] = end_to_end
        fields = {
            "source": source,
            "external_id": f"{key}:{index}",
            "type": "bank.statement_line",
            "occurred_at": midnight(booked_on),
            "amount": amount,
            "currency": currency,
            "direction": direction,
            "status": "expected" if not booked else "interim" if kind == "MT942" else "booked",
            "refs": refs,
            "attributes": attributes,
        }
        event = build_event(
            fields,
            received_at=self.context.received_at,
            raw=entry.raw,
            file=self.context.label,
            line=item.line,
            element=":61:",
        )
        return event, parsed

    def _checks(
        self,
        parts: _Parts,
        kind: str,
        label: str,
        account: str,
        opening: _Balance | None,
        closing: tuple[_Field, _Balance] | None,
        parsed: list[_Parsed],
    ) -> Iterator[Item]:
        unread = sum(1 for p in parsed if p.signed is None)
        note = f" ({unread} unreadable :61: not counted)" if unread else ""
        if kind == "MT940":
            if opening is None or closing is None:
                missing = "opening (:60F:/:60M:)" if opening is None else "closing (:62F:/:62M:)"
                where = self.location(closing[0] if closing else parts.first, tag=False)
                yield FileFlag(
                    where,
                    "balance_missing",
                    f"{label} has no valid {missing} balance, so it cannot be checked",
                )
            else:
                yield from self._balance_check(label, opening, closing, parsed, note)
            if opening is not None and self.previous is not None:
                yield from self._continuity(parts, label, account, opening)
            self.previous = (account, label, closing[1]) if closing is not None else None
        for item in parts.totals:
            yield from self._total_check(item, label, parsed, note)

    def _continuity(
        self, parts: _Parts, label: str, account: str, opening: _Balance
    ) -> Iterator[FileFlag]:
        """A statement opens where the account's previous one (within a week) closed."""
        assert self.previous is not None
        previous_account, previous_label, before = self.previous
        if (
            previous_account == account
            and before.currency == opening.currency
            and 0 <= (opening.day - before.day).days <= _NEXT_STATEMENT_DAYS
            and before.signed != opening.signed
        ):
            item = next(f for f in parts.balances if f.tag in ("60F", "60M"))
            yield FileFlag(
                self.location(item),
                "balance_gap",
                f"{label} opens on {opening.day} at {_money(opening.signed, opening.currency)} "
                f"but {previous_label} closed on {before.day} at "
                f"{_money(before.signed, before.currency)}: a statement may be missing",
            )

    def _balance_check(
        self,
        label: str,
        opening: _Balance,
        closing: tuple[_Field, _Balance],
        parsed: list[_Parsed],
        note: str,
    ) -> Iterator[FileFlag]:
        item, final = closing
        where = self.location(item)
        if opening.currency != final.currency:
            reason = (
                f"{label} opens in {opening.currency} but closes in {final.currency}, so its "
                "balances cannot be checked"
            )
            yield FileFlag(where, "balance_mismatch", reason)
            return
        movement = sum((p.signed for p in parsed if p.signed is not None and p.booked), Decimal(0))
        expected = opening.signed + movement
        if expected != final.signed:
            currency = final.currency
            reason = (
                f"{label}: opening balance {_money(opening.signed, currency)} + entries "
                f"{_money(movement, currency)} = {_money(expected, currency)}, but the closing "
                f"balance is {_money(final.signed, currency)} (difference "
                f"{_money(final.signed - expected, currency)}){note}"
            )
            yield FileFlag(where, "balance_mismatch", reason)

    def _total_check(
        self, item: _Field, label: str, parsed: list[_Parsed], note: str
    ) -> Iterator[Item]:
        match = _COUNT_SUM.fullmatch(item.lines[0])
        if match is None:
            reason = f"{item.lines[0].strip()[:40]!r} is not <count><currency><amount>"
            yield self.reject(item, "invalid_record", reason)
            return
        credit = item.tag == "90C"
        mine = [p.signed for p in parsed if p.signed is not None and p.credit == credit]
        count, total = len(mine), abs(sum(mine, Decimal(0)))
        stated_count, stated = int(match.group(1)), _amount(match.group(3))
        if (count, total) != (stated_count, stated):
            side = "credits" if credit else "debits"
            currency = match.group(2)
            reason = (
                f"{label}: :{item.tag}: states {stated_count} {side} totalling "
                f"{_money(stated, currency)}, the entries hold {count} totalling "
                f"{_money(total, currency)}{note}"
            )
            yield FileFlag(self.location(item), "control_total_mismatch", reason)


def _references(rest: str) -> tuple[str, str, str]:
    """Customer reference (16x), bank reference (after ``//``, 16x) and what follows them."""
    if "//" in rest:
        customer, _, after = rest.partition("//")
        return customer.strip(), after[:16].strip(), after[16:].strip()
    return rest[:16].strip(), "", rest[16:].strip()


def _first_day(parts: _Parts) -> str | None:
    for entry in parts.entries:
        day = _date(entry.line.lines[0].strip()[:6])
        if day is not None:
            return day.isoformat()
    return None


def _statement_label(parts: _Parts, account: str) -> str:
    name = f"statement {parts.reference or '(no :20:)'}"
    if parts.number:
        name += f" {parts.number}"
    return f"{name} of account {account}" if account else name


def _money(amount: Decimal, currency: str) -> str:
    try:
        places = max(currency_exponent(currency), -int(amount.as_tuple().exponent))
    except InvalidInputError:
        places = max(0, -int(amount.as_tuple().exponent))
    return f"{amount:,.{places}f} {currency}"


_STATEMENT_TAGS = frozenset({"20", "25", "25P", "28", "28C", "60F", "60M", "61", "62F", "62M"})


class Mt940Format:
    """SWIFT MT940 statements and MT942 interim reports (see the module's docstring)."""

    name = "mt940"
    description = "SWIFT MT940 bank statements and MT942 interim transaction reports"

    _HEAD = re.compile(rb"(?:^|[\r\n]|\{4:)\s*:20:")
    _BODY = re.compile(rb"[\r\n]\s*:(?:25P?|28C?|60[FM]|61|34F|13D?):")

    def sniff(self, name: str, head: bytes) -> bool:
        return bool(self._HEAD.search(head) and self._BODY.search(head))

    def parse(self, data: bytes, context: ParseContext) -> Iterator[Item]:
        state = _File(context)
        found = False
        for statement in _statements(decode_text(data)):
            if any(item.tag in _STATEMENT_TAGS for item in statement.fields):
                found = True
                yield from state.statement(statement)
        if not found:
            yield Rejection(
                Location(context.label, 1),
                "not_mt940",
                "not an MT940/MT942 file: no :20: statement or other SWIFT field found",
                decode_text(data[:200]),
            )


FORMATS: tuple[Mt940Format, ...] = (Mt940Format(),)

__all__ = ["FORMATS", "Mt940Format"]
