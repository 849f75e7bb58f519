"""One ACH entry: its entry detail record and addenda to one event or rejection (see
:mod:`.ach`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from recoup.adapters.connectors.bankfiles._common import midnight
from recoup.adapters.connectors.bankfiles.ach_addenda import _AddendaReader, _Invalid, _routing
from recoup.adapters.connectors.bankfiles.ach_checks import _dollars
from recoup.adapters.connectors.bankfiles.ach_fields import (
    _clean,
    _digits,
    _Transaction,
    check_digit,
    mask_account,
    transaction,
)
from recoup.adapters.connectors.bankfiles.ach_layouts import (
    _ACCOUNT_COLUMNS,
    _CORRECTED_ACCOUNT,
    _CORRECTED_COLUMNS,
    _DEFAULT_LAYOUT,
    _IAT_ACCOUNT_COLUMNS,
    _LAYOUTS,
    _MASKED_FIELDS,
    _masked_at,
)
from recoup.adapters.connectors.bankfiles.ach_records import _Batch, _Record
from recoup.domain.errors import Location
from recoup.domain.ingestion.canonical import Rejection, build_event
from recoup.domain.ingestion.event import Event
from recoup.domain.reference.ach import (
    CONTESTED,
    DISHONORED,
    REFUSED,
    ReasonInfo,
    ach_change_reason,
)

CURRENCY = "USD"
# An effective entry date further than this from the file creation date is a placeholder
# (``000101`` in a file created in 2018), not the day the entry settles.
PLAUSIBLE_DAYS = 366

_STAGE = {"return": 1, DISHONORED: 2, CONTESTED: 3}


@dataclass(frozen=True, slots=True)
class _Detail:
    transaction: _Transaction
    routing: str  # the receiving DFI's 9-digit routing number
    masked_account: str
    amount: int
    trace: str


class _EntryReader(_AddendaReader):
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
