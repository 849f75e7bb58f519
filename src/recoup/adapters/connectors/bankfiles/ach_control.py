"""The ACH parser's file-level records: the file header, the file control and its totals, and
what is missing at the end of the file (see :mod:`.ach`)."""

from __future__ import annotations

from collections.abc import Iterator

from recoup.adapters.connectors.bankfiles.ach_batches import _BatchReader
from recoup.adapters.connectors.bankfiles.ach_checks import _compare, _shift_hint
from recoup.adapters.connectors.bankfiles.ach_fields import _NOT_ALNUM, _digits, _hhmm, _yymmdd
from recoup.adapters.connectors.bankfiles.ach_records import (
    _FileHeader,
    _FileState,
    _Record,
    _Totals,
)
from recoup.adapters.connectors.base import Item

BLOCKING_FACTOR = 10


class _FileReader(_BatchReader):
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
