"""camt.052 (intraday report), camt.053 (statement) and camt.054 (debit/credit notification).

The three share one structure: a group header, then records (``Rpt``, ``Stmt``, ``Ntfctn``),
each with its account, balances (``Bal``) and entries (``Ntry``), each entry with zero or more
transaction details (``NtryDtls/TxDtls``).

- An entry becomes one ``bank.statement_line``; a batch entry with several ``TxDtls`` becomes one
  event per transaction, each carrying the entry's booking date, status and direction. A camt.054
  transaction with return information (``RtrInf``) is a ``bank.transfer_returned``.
- Each balance becomes a ``bank.balance``.
- Each record with an opening (``OPBD``, else ``PRCD``) and a closing (``CLBD``) balance is
  checked: opening + booked credits - booked debits = closing, else a ``balance_mismatch`` flag.
"""

from __future__ import annotations

from collections.abc import Iterator
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from recoup.adapters.connectors.bankfiles import iso20022_camt_tx as tx
from recoup.adapters.connectors.bankfiles.iso20022_index import Node, node_date, node_text
from recoup.adapters.connectors.bankfiles.iso20022_index import index as index_element
from recoup.adapters.connectors.bankfiles.iso20022_xml import (
    Element,
    Message,
    Names,
    Problem,
    account_id,
    amount,
    children,
    date_choice,
    dig_text,
    direction,
    evidence,
    first,
    kids,
    source_for,
    text,
)
from recoup.adapters.connectors.base import FileFlag, Item
from recoup.domain.errors import Location

RECORD_TAGS = {"camt.053": "Stmt", "camt.052": "Rpt", "camt.054": "Ntfctn"}
OPENING = ("OPBD", "PRCD")
CLOSING = "CLBD"

_DIRECTIONS = {"CRDT": "credit", "DBIT": "debit"}
EMPTY_NODE = tx.EMPTY

STATEMENT_LINE = "bank.statement_line"
RETURNED = "bank.transfer_returned"
BALANCE = "bank.balance"


@dataclass(slots=True)
class _Record:
    """What every event of one statement/report/notification shares."""

    tag: str
    index: int
    element: Element
    path: str
    key: str
    record_id: str | None
    account: str | None
    source: str
    attributes: dict[str, Any]
    opening: tuple[Decimal, str] | None = None
    closing: tuple[Decimal, str] | None = None
    booked: dict[str, Decimal] = field(default_factory=dict)
    unreadable: int = 0


def parse_camt(message: Message) -> Iterator[Item]:
    q = message.q
    tag = RECORD_TAGS[message.family]
    records = children(message.root, getattr(q, tag))
    if not records:
        path = f"{q.local(message.root.tag)}/{tag}"
        reason = f"the {message.family} message has no {tag}: there is nothing to read"
        yield message.reject(message.root, path, "missing_element", reason)
        return
    seen: set[str] = set()
    for index, element in enumerate(records, start=1):
        record = _record(message, tag, index, element, seen)
        for balance_index, balance in enumerate(children(element, q.Bal), start=1):
            yield _balance(message, record, balance_index, balance)
        for entry_index, entry in enumerate(children(element, q.Ntry), start=1):
            yield from _entry(message, record, entry_index, entry)
        flag = _check_balances(message, record)
        if flag is not None:
            yield flag


def _record(message: Message, tag: str, index: int, element: Element, seen: set[str]) -> _Record:
    q = message.q
    found = kids(element)
    record_id = text(found.get(q.Id))
    account_element = found.get(q.Acct)
    account = account_id(account_element, q)
    key_id = record_id or str(index)
    if key_id in seen:  # two records with one Id: keep every key unique within the file
        key_id = f"{key_id}#{index}"
    seen.add(key_id)
    key = f"{message.key}:{key_id}"
    attributes: dict[str, Any] = {"message_id": message.msg_id} if message.msg_id else {}
    if record_id:
        attributes["statement_id"] = record_id
    currency = dig_text(account_element, q.Ccy)
    if currency:
        attributes["account_currency"] = currency
    sequence = text(found.get(q.ElctrncSeqNb)) or text(found.get(q.LglSeqNb))
    if sequence:
        attributes["sequence_number"] = sequence
    return _Record(
        tag=tag,
        index=index,
        element=element,
        path=f"{tag}[{index}]",
        key=key,
        record_id=record_id,
        account=account,
        source=source_for(account, message.context),
        attributes=attributes,
    )


def _refs(record: _Record, **more: str | None) -> dict[str, str]:
    refs = {"bank_account": record.account} if record.account else {}
    refs.update({name: value for name, value in more.items() if value})
    return refs


# -- balances ------------------------------------------------------------------------------------


def _balance(message: Message, record: _Record, index: int, element: Element) -> Item:
    q = message.q
    path = f"{record.path}/Bal[{index}]"
    found = kids(element)
    kind = _balance_type(found.get(q.Tp), q)
    try:
        value, currency = amount(found.get(q.Amt), f"{path}/Amt")
        indicator = found.get(q.CdtDbtInd)
        sign = direction(text(indicator), f"{path}/CdtDbtInd", indicator)
        when = date_choice(found.get(q.Dt), q, f"{path}/Dt")
        if when is None:
            raise Problem(element, f"{path}/Dt", "missing_element", f"{path}/Dt is missing")
    except Problem as problem:
        return message.refuse(problem, element)
    signed = value if sign == "credit" else -value
    if kind in OPENING and (record.opening is None or kind == "OPBD"):
        record.opening = (signed, currency)
    elif kind == CLOSING:
        record.closing = (signed, currency)
    attributes = dict(record.attributes, balance_type=kind or "unknown")
    fields = {
        "source": record.source,
        "external_id": f"{record.key}:bal{index}",
        "type": BALANCE,
        "occurred_at": when,
        "amount": value,
        "currency": currency,
        "direction": sign,
        "refs": _refs(record),
        "attributes": attributes,
    }
    return message.event(fields, element, path)


def _balance_type(element: Element | None, q: Names) -> str | None:
    """``Tp/CdOrPrtry/Cd`` (version 2 on), ``Tp/Cd`` (version 1) or the proprietary type."""
    choice = first(element, q.CdOrPrtry)
    holder = choice if choice is not None else element
    return dig_text(holder, q.Cd) or dig_text(holder, q.Prtry)


def _check_balances(message: Message, record: _Record) -> FileFlag | None:
    if record.opening is None or record.closing is None:
        return None
    (opening, currency), (closing, closing_currency) = record.opening, record.closing
    name = record.record_id or record.path
    where = Location(message.label, record.element.sourceline, record.path)
    others = sorted(set(record.booked) - {currency})
    if closing_currency != currency or others:
        found = ", ".join(sorted({closing_currency, *others} - {currency}))
        reason = (
            f"{record.tag} {name}: balances cannot be checked, the opening balance is in "
            f"{currency} but the closing balance or booked entries are in {found}"
        )
        return FileFlag(where, "balance_mismatch", reason)
    expected = opening + record.booked.get(currency, Decimal(0))
    if expected == closing and not record.unreadable:
        return None
    difference = closing - expected
    reason = (
        f"{record.tag} {name}: opening {opening} {currency} + booked entries "
        f"{record.booked.get(currency, Decimal(0))} = {expected} {currency}, but the closing "
        f"balance is {closing} {currency} (difference {difference} {currency})"
    )
    if record.unreadable:
        reason += f"; {record.unreadable} booked entries have no readable amount"
    return FileFlag(where, "balance_mismatch", reason)


# -- entries -------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Entry:
    index: int
    element: Element
    path: str
    value: Decimal
    currency: str
    direction: str
    occurred_at: datetime
    status: str | None
    bank_transaction: str | None
    attributes: dict[str, Any]


def _entry(message: Message, record: _Record, index: int, element: Element) -> Iterator[Item]:
    path = f"{record.path}/Ntry[{index}]"
    node = index_element(element, tx.ENTRY, message.q)
    status = tx.status(node)
    try:
        value, currency = amount(node.get("Amt"), f"{path}/Amt")
        sign = direction(node.get("CdtDbtInd"), f"{path}/CdtDbtInd", None)
    except Problem as problem:
        if status == "BOOK":
            record.unreadable += 1
        yield message.refuse(problem, element)
        return
    if status == "BOOK":
        signed = value if sign == "credit" else -value
        record.booked[currency] = record.booked.get(currency, Decimal(0)) + signed
    try:
        booked = node_date(node.get("BookgDt"), f"{path}/BookgDt")
        valued = node_date(node.get("ValDt"), f"{path}/ValDt")
    except Problem as problem:
        yield message.refuse(problem, element)
        return
    occurred_at = booked or valued
    if occurred_at is None:
        reason = f"{path} has no booking date (BookgDt) and no value date (ValDt)"
        yield message.reject(element, f"{path}/BookgDt", "missing_element", reason)
        return
    attributes = dict(record.attributes)
    get = node.get  # leaves of the index are stripped text (or None)
    entry_ref = get("NtryRef")
    if entry_ref:
        attributes["entry_reference"] = entry_ref
    if valued is not None:
        day = get("ValDt", EMPTY_NODE)
        moment = day.get("Dt")
        attributes["value_date"] = node_text(moment if moment is not None else day.get("DtTm"))
    code = tx.bank_transaction_code(node.get("BkTxCd"))
    if code:
        attributes["bank_transaction_code"] = code
    fees = tx.charges(node.get("Chrgs"))
    if fees:
        attributes["charges"] = fees
    info = get("AddtlNtryInf")
    if info:
        attributes["additional_info"] = info
    if get("RvslInd") in ("true", "1"):
        # CdtDbtInd is already the direction of this (reversing) entry: ISO 20022 says a CRDT
        # reversal undoes an original debit, so nothing is flipped here.
        attributes["reversal"] = True
    entry = _Entry(
        index=index,
        element=element,
        path=path,
        value=value,
        currency=currency,
        direction=sign,
        occurred_at=occurred_at,
        status=status,
        bank_transaction=get("AcctSvcrRef") or entry_ref,
        attributes=attributes,
    )
    details = [
        (f"{path}/NtryDtls[{d}]/TxDtls[{t}]", detail)
        for d, block in enumerate(node.get("NtryDtls", ()), start=1)
        for t, detail in enumerate(block.get("TxDtls", ()), start=1)
    ]
    if len(details) <= 1:
        tx_path, detail = details[0] if details else (path, None)
        yield _line(message, record, entry, detail, tx_path, None, evidence(element))
        return
    yield from _batch(message, record, entry, details)


def _batch(
    message: Message, record: _Record, entry: _Entry, details: list[tuple[str, Node]]
) -> Iterator[Item]:
    """One event per transaction of a batch entry, each with its own amount when it has one."""
    amounts: list[tuple[Decimal, str] | None] = []
    for number, (tx_path, detail) in enumerate(details, start=1):
        try:
            amounts.append(tx.transaction_amount(detail, tx_path))
        except Problem as problem:
            amounts.append(None)
            yield message.refuse(problem, detail[""])
            continue
        batch = (number, len(details), amounts[-1])
        raw = _batch_raw(entry.element, detail[""])
        yield _line(message, record, entry, detail, tx_path, batch, raw)
    given = [pair for pair in amounts if pair is not None]
    if len(given) == len(details) and all(ccy == entry.currency for _, ccy in given):
        total = sum((value for value, _ in given), Decimal(0))
        if total != entry.value:
            reason = (
                f"{entry.path}: the {len(details)} transaction details add up to {total} "
                f"{entry.currency} but the entry is {entry.value} {entry.currency}"
            )
            where = Location(message.label, entry.element.sourceline, entry.path)
            yield FileFlag(where, "batch_mismatch", reason)


def _batch_raw(original: Element, detail: Element) -> str:
    """The entry as evidence with only this transaction's details, not the whole batch again."""
    shell = original.makeelement(original.tag, original.attrib, nsmap=original.nsmap)
    for child in original:
        if child.tag != detail.tag and any(c is detail for c in child):
            block = child.makeelement(child.tag, child.attrib, nsmap=child.nsmap)
            block.extend(deepcopy(c) for c in child if c.tag != detail.tag or c is detail)
            shell.append(block)
        else:
            shell.append(deepcopy(child))
    return evidence(shell)


def _line(
    message: Message,
    record: _Record,
    entry: _Entry,
    detail: Node | None,
    path: str,
    batch: tuple[int, int, tuple[Decimal, str] | None] | None,
    raw: str,
) -> Item:
    attributes = dict(entry.attributes)
    external_id = f"{record.key}:{entry.index}"
    value: Decimal | None = entry.value
    currency: str | None = entry.currency
    refs: dict[str, str | None] = {"bank_transaction": entry.bank_transaction}
    reason: dict[str, Any] | None = None
    if batch is not None:
        number, size, own = batch
        external_id += f":{number}"
        attributes["batch_size"] = size
        attributes["entry_amount"] = {"amount": str(entry.value), "currency": entry.currency}
        value, currency = own if own is not None else (None, None)
    if detail is not None:
        if batch is None:
            try:
                own_amount = tx.transaction_amount(detail, path)
            except Problem:
                own_amount = None
            if own_amount is not None and own_amount != (entry.value, entry.currency):
                attributes["transaction_amount"] = {
                    "amount": str(own_amount[0]),
                    "currency": own_amount[1],
                }
        said = _DIRECTIONS.get(detail.get("CdtDbtInd") or "")
        if said is not None and said != entry.direction:
            attributes["transaction_direction"] = said
        tx.references(detail, refs, attributes)
        tx.details(detail, entry.direction, attributes)
        reason = tx.return_reason(detail, attributes)
    returned = reason is not None and message.family == "camt.054"
    fields: dict[str, Any] = {
        "source": record.source,
        "external_id": external_id,
        "type": RETURNED if returned else STATEMENT_LINE,
        "occurred_at": entry.occurred_at,
        "direction": entry.direction,
        "refs": _refs(record, **refs),
        "attributes": attributes,
    }
    if value is not None:
        fields["amount"] = value
        fields["currency"] = currency
    if entry.status:
        fields["status"] = entry.status.lower()
    if reason:
        fields.update(reason)
    element = detail[""] if detail is not None else entry.element
    return message.event(fields, element, path, raw)


__all__ = ["parse_camt"]
