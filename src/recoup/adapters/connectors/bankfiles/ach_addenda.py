"""ACH addenda records: payment information, POS terminals, IAT addenda, returns (R-codes,
dishonored and contested) and notifications of change (C-codes) (see :mod:`.ach`)."""

from __future__ import annotations

from typing import Any

from recoup.adapters.connectors.bankfiles.ach_batches import _BatchReader
from recoup.adapters.connectors.bankfiles.ach_fields import (
    _clean,
    _digits,
    check_digit,
    mask_account,
)
from recoup.adapters.connectors.bankfiles.ach_layouts import _CORRECTED_ACCOUNT, _Slice
from recoup.adapters.connectors.bankfiles.ach_records import _Entry, _Record
from recoup.domain.reference.ach import (
    CONTESTED,
    DISHONORED,
    REFUSED,
    ReasonInfo,
    ach_change_reason,
    ach_return_reason,
)


class _Invalid(Exception):
    """An entry that cannot become an event; carries where and why."""

    def __init__(self, line: int, code: str, reason: str, field_name: str | None = None) -> None:
        super().__init__(reason)
        self.line = line
        self.code = code
        self.reason = reason
        self.field_name = field_name


# a return or change addenda: its code and what it says
_Reason = tuple[ReasonInfo, dict[str, Any]]


class _AddendaReader:
    def __init__(self, parser: _BatchReader, entry: _Entry) -> None:
        self.parser = parser
        self.entry = entry
        self.batch = entry.batch
        self.line = entry.record.line

    def _fail(
        self, code: str, reason: str, field_name: str | None = None, line: int | None = None
    ) -> _Invalid:
        return _Invalid(self.line if line is None else line, code, reason, field_name)

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
