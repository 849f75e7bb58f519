"""NACHA ACH records: splitting a file into 94-character records, and the state of the file,
its batches and entries while they are read (see :mod:`.ach`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from recoup.adapters.connectors.bankfiles.ach_fields import _NOT_ALNUM

RECORD_LENGTH = 94

# The shortest a record may be when its tail was blank and got stripped: the file header's names
# and reference code and the file control's reserved tail are optional; every other record ends
# with a mandatory field.
_MIN_LENGTH = {"1": 40, "9": 55}


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
