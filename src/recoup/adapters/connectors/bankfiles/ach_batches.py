"""The ACH parser's state and helpers, and its batches: batch headers, the running totals of
their entries and batch controls (see :mod:`.ach`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from recoup.adapters.connectors.bankfiles.ach_checks import _compare, _shift_hint
from recoup.adapters.connectors.bankfiles.ach_fields import (
    _clean,
    _digits,
    _number,
    _yymmdd,
    transaction,
)
from recoup.adapters.connectors.bankfiles.ach_records import (
    _NO_HEADER,
    _Batch,
    _Entry,
    _FileHeader,
    _FileState,
    _Record,
    _Totals,
)
from recoup.adapters.connectors.base import FileFlag, Item, ParseContext
from recoup.domain.errors import Location
from recoup.domain.ingestion.canonical import Rejection

SEC_CODES = frozenset(
    {
        "ACK", "ADV", "ARC", "ATX", "BOC", "CCD", "CIE", "COR", "CTX", "DNE", "ENR", "IAT",
        "MTE", "POP", "POS", "PPD", "RCK", "SHR", "TEL", "TRC", "TRX", "WEB", "XCK",
    }
)  # fmt: skip
SERVICE_CLASSES = {"200": "mixed", "220": "credits only", "225": "debits only", "280": "ADV"}


class _BatchReader:
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
