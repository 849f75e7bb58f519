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

from recoup.adapters.connectors.bankfiles.ach_control import _FileReader
from recoup.adapters.connectors.bankfiles.ach_entries import _EntryReader
from recoup.adapters.connectors.bankfiles.ach_fields import check_digit, mask_account, transaction
from recoup.adapters.connectors.bankfiles.ach_records import (
    _Entry,
    _fit,
    _is_padding,
    _lines,
    _Record,
)
from recoup.adapters.connectors.base import Item, ParseContext

_FILE_NAME = re.compile(r"\.(ach|nacha)(\.txt)?$", re.IGNORECASE)


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


class _Parser(_FileReader):
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


__all__ = ["FORMATS", "AchFormat", "check_digit", "mask_account", "transaction"]
