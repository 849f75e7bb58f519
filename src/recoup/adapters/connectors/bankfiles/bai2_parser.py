"""The BAI2 parser's state machine: which record opens, continues and closes which section
(file ``01``/``99``, group ``02``/``98``, account ``03``/``49``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from recoup.adapters.connectors.bankfiles.bai2_codes import _GROUP_STATUS, _MODIFIERS
from recoup.adapters.connectors.bankfiles.bai2_events import _Events
from recoup.adapters.connectors.bankfiles.bai2_records import (
    _amount,
    _BadRecord,
    _count,
    _date,
    _Record,
    _records,
)
from recoup.adapters.connectors.bankfiles.bai2_sections import _FileState, _Group
from recoup.adapters.connectors.base import Item
from recoup.domain.errors import Location
from recoup.domain.ingestion.canonical import Rejection


class _Parser(_Events):
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
