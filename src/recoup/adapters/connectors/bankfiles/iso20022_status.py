"""pain.002 and pacs.002 (payment status reports) and pacs.004 (payment returns).

Status reports say what became of the payments a customer (pain.001/pain.008) or a bank
(pacs.008/pacs.003) sent. Each transaction status is one event; a status given only for a whole
payment-information block or for the whole original message is one event for that block or
message (``attributes.scope``), and a transaction without its own status takes its block's, then
the group's.

- ``RJCT`` (rejected), ``CANC`` (cancelled) and ``BLCK`` (blocked) -> ``bank.transfer_rejected``
  with ``reason_code`` ``iso:<StsRsnInf/Rsn/Cd>``;
- every other known status, accepting or still open (``ACTC``, ``ACCP``, ``ACSP``, ``ACSC``,
  ``ACCC``, ``PDNG``, ``RCVD``, ...) -> ``bank.transfer_accepted``, with ``status`` the ISO code
  in lower case so that ``pdng`` (pending, not final) is never mistaken for ``acsc`` (settled).

A pacs.004 return is one ``bank.transfer_returned`` per ``TxInf``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from recoup.adapters.connectors.bankfiles.iso20022_xml import (
    Element,
    Message,
    Names,
    Problem,
    account_id,
    amount,
    children,
    date_time,
    dig,
    dig_text,
    first,
    kids,
    reason_fields,
    source_for,
    text,
)
from recoup.adapters.connectors.base import Item

REJECTED = "bank.transfer_rejected"
ACCEPTED = "bank.transfer_accepted"
RETURNED = "bank.transfer_returned"

REJECTING = frozenset({"RJCT", "CANC", "BLCK"})
ACCEPTING = frozenset(
    {
        "ACCC",  # accepted, settlement completed (creditor's account credited)
        "ACCP",  # accepted, customer profile checks passed
        "ACFC",  # accepted, funds checked
        "ACIS",  # accepted, cheque issued
        "ACPD",  # accepted, clearing processed
        "ACSC",  # accepted, settlement completed (debtor's account debited)
        "ACSP",  # accepted, settlement in process
        "ACTC",  # accepted, technical validation passed
        "ACWC",  # accepted with change
        "ACWP",  # accepted without posting
        "PART",  # partially accepted (the group holds accepted and rejected transactions)
        "PATC",  # partially accepted, technically correct
        "PDNG",  # pending: further checks to come
        "PRES",  # presented (cheques)
        "RCVD",  # received
    }
)


@dataclass(slots=True)
class _Status:
    """A status and its reasons, inherited from the group to the block to the transaction."""

    code: str | None
    reasons: list[Element]


def _sender(message: Message) -> str | None:
    """Who sent the report: the BIC (or other id) of the initiating party or instructing agent."""
    q = message.q
    header = first(message.root, q.GrpHdr)
    party = dig(header, q.InitgPty, q.Id, q.OrgId)
    for tag in (q.AnyBIC, q.BICOrBEI, q.BIC):
        value = dig_text(party, tag)
        if value:
            return value
    for agent in (q.InstgAgt, q.DbtrAgt, q.CdtrAgt):
        institution = dig(header, agent, q.FinInstnId)
        value = dig_text(institution, q.BICFI) or dig_text(institution, q.BIC)
        if value:
            return value
    return None


def _header_time(message: Message) -> datetime:
    if message.created is None:
        raise Problem(
            first(message.root, message.q.GrpHdr),
            "GrpHdr/CreDtTm",
            "missing_element",
            "GrpHdr/CreDtTm (creation date and time) is missing or not a date-time",
        )
    return message.created


def parse_status_report(message: Message) -> Iterator[Item]:
    q = message.q
    root_name = q.local(message.root.tag)
    source = source_for(_sender(message), message.context)
    groups = children(message.root, q.OrgnlGrpInfAndSts)
    group = groups[0] if groups else None
    group_found = kids(group) if group is not None else {}
    group_status = _Status(text(group_found.get(q.GrpSts)), children(group, q.StsRsnInf))
    original_message = text(group_found.get(q.OrgnlMsgId))
    original_name = text(group_found.get(q.OrgnlMsgNmId)) or ""
    ours = q.CdtrAcct if original_name.startswith(("pain.008", "pacs.003")) else q.DbtrAcct
    base: dict[str, Any] = {"message_id": message.msg_id} if message.msg_id else {}
    if original_message:
        base["original_message_id"] = original_message
    if original_name:
        base["original_message_name"] = original_name
    key = message.key
    blocks = children(message.root, q.OrgnlPmtInfAndSts)
    loose = children(message.root, q.TxInfAndSts)
    if not blocks and not loose:
        path = f"{root_name}/OrgnlGrpInfAndSts"
        if group_status.code is None:
            reason = f"the {message.family} report holds no group, payment or transaction status"
            yield message.reject(
                group if group is not None else message.root, path, "missing_element", reason
            )
            return
        refs = {"instruction": original_message}
        attributes = dict(base, scope="group")
        yield _status_event(
            message, source, f"{key}:group", group_status, refs, attributes, group, path, None
        )
        return
    for p, block in enumerate(blocks, start=1):
        block_found = kids(block)
        block_status = _Status(
            text(block_found.get(q.PmtInfSts)) or group_status.code,
            children(block, q.StsRsnInf)
            or (group_status.reasons if block_found.get(q.PmtInfSts) is None else []),
        )
        block_path = f"{root_name}/OrgnlPmtInfAndSts[{p}]"
        block_attributes = dict(base)
        block_id = text(block_found.get(q.OrgnlPmtInfId))
        if block_id:
            block_attributes["original_payment_information_id"] = block_id
        transactions = children(block, q.TxInfAndSts)
        if not transactions:
            attributes = dict(block_attributes, scope="payment_information")
            refs = {"instruction": block_id}
            yield _status_event(
                message,
                source,
                f"{key}:pmtinf{p}",
                block_status,
                refs,
                attributes,
                block,
                block_path,
                None,
            )
            continue
        for t, tx in enumerate(transactions, start=1):
            yield _transaction(
                message,
                source,
                f"{key}:pmtinf{p}:tx{t}",
                block_status,
                block_attributes,
                tx,
                f"{block_path}/TxInfAndSts[{t}]",
                ours,
            )
    for t, tx in enumerate(loose, start=1):
        yield _transaction(
            message,
            source,
            f"{key}:tx{t}",
            group_status,
            base,
            tx,
            f"{root_name}/TxInfAndSts[{t}]",
            ours,
        )


def _transaction(
    message: Message,
    source: str,
    external_id: str,
    inherited: _Status,
    base: dict[str, Any],
    tx: Element,
    path: str,
    ours: str,
) -> Item:
    q = message.q
    found = kids(tx)
    own = text(found.get(q.TxSts))
    status = _Status(
        own or inherited.code,
        children(tx, q.StsRsnInf) or ([] if own else inherited.reasons),
    )
    reference = found.get(q.OrgnlTxRef)
    refs = {
        "end_to_end": text(found.get(q.OrgnlEndToEndId)),
        "instruction": text(found.get(q.OrgnlInstrId)),
        "uetr": text(found.get(q.OrgnlUETR)),
        "bank_transaction": text(found.get(q.OrgnlTxId)),
        "bank_account": account_id(first(reference, ours), q),
    }
    attributes = dict(base, scope="transaction")
    for tag, name in (("StsId", "status_id"), ("AcctSvcrRef", "account_servicer_reference")):
        value = text(found.get(getattr(q, tag)))
        if value:
            attributes[name] = value
    original_group = dig_text(tx, q.OrgnlGrpInf, q.OrgnlMsgId)
    if original_group:
        attributes["original_message_id"] = original_group
    try:
        accepted_at = date_time(found.get(q.AccptncDtTm), f"{path}/AccptncDtTm")
        money = _original_amount(reference, q, f"{path}/OrgnlTxRef")
    except Problem as problem:
        return message.refuse(problem, tx)
    return _status_event(
        message, source, external_id, status, refs, attributes, tx, path, money, accepted_at
    )


def _original_amount(reference: Element | None, q: Names, path: str) -> Any:
    """The original amount: instructed (pain) or interbank settlement (pacs), when given."""
    if reference is None:
        return None
    instructed = dig(reference, q.Amt, q.InstdAmt)
    if instructed is not None:
        return amount(instructed, f"{path}/Amt/InstdAmt")
    equivalent = dig(reference, q.Amt, q.EqvtAmt, q.Amt)
    if equivalent is not None:
        return amount(equivalent, f"{path}/Amt/EqvtAmt/Amt")
    settled = first(reference, q.IntrBkSttlmAmt)
    if settled is not None:
        return amount(settled, f"{path}/IntrBkSttlmAmt")
    return None


def _status_event(
    message: Message,
    source: str,
    external_id: str,
    status: _Status,
    refs: dict[str, str | None],
    attributes: dict[str, Any],
    element: Element | None,
    path: str,
    money: Any,
    when: datetime | None = None,
) -> Item:
    q = message.q
    anchor = element if element is not None else message.root
    code = status.code
    if code is None:
        reason = f"{path} has no status (TxSts, PmtInfSts or GrpSts)"
        return message.reject(anchor, f"{path}/TxSts", "missing_element", reason)
    if code in REJECTING:
        kind = REJECTED
    elif code in ACCEPTING:
        kind = ACCEPTED
    else:
        reason = f"{path}: unknown payment status {code!r}"
        return message.reject(anchor, path, "invalid_value", reason)
    try:
        occurred_at = when or _header_time(message)
    except Problem as problem:
        return message.refuse(problem, anchor)
    fields: dict[str, Any] = {
        "source": source,
        "external_id": external_id,
        "type": kind,
        "occurred_at": occurred_at,
        "status": code.lower(),
        "refs": {name: value for name, value in refs.items() if value},
        "attributes": attributes,
    }
    if money is not None:
        fields["amount"], fields["currency"] = money
    fields.update(_reasons(status.reasons, q, attributes))
    return message.event(fields, anchor, path)


def _reasons(reasons: list[Element], q: Names, attributes: dict[str, Any]) -> dict[str, Any]:
    """The first coded reason as ``reason_code``; every reason's text kept in attributes."""
    fields: dict[str, Any] = {}
    notes: list[str] = []
    codes: list[str] = []
    for info in reasons:
        reason = first(info, q.Rsn)
        if reason is None:
            reason = first(info, q.StsRsn)  # version 2
        code = dig_text(reason, q.Cd)
        proprietary = dig_text(reason, q.Prtry)
        if code or proprietary:
            codes.append(code or proprietary or "")
            if not fields:
                fields = reason_fields(code, proprietary)
        notes.extend(value for line in children(info, q.AddtlInf) if (value := text(line)))
    if len(codes) > 1:
        attributes["reason_codes"] = codes
    if notes:
        attributes["reason_info"] = " ".join(notes)
        if "reason_message" not in fields:
            fields["reason_message"] = attributes["reason_info"][:1000]
    return fields


# -- pacs.004 ------------------------------------------------------------------------------------


def parse_return(message: Message) -> Iterator[Item]:
    q = message.q
    root_name = q.local(message.root.tag)
    source = source_for(_sender(message), message.context)
    header = first(message.root, q.GrpHdr)
    group = first(message.root, q.OrgnlGrpInf)
    group_reasons = children(group, q.RtrRsnInf)
    base: dict[str, Any] = {"message_id": message.msg_id} if message.msg_id else {}
    group_message = dig_text(group, q.OrgnlMsgId)
    if group_message:
        base["original_message_id"] = group_message
    transactions = children(message.root, q.TxInf)
    if not transactions:
        reason = "the pacs.004 message has no TxInf: there is nothing to read"
        yield message.reject(message.root, f"{root_name}/TxInf", "missing_element", reason)
        return
    key = message.key
    for t, tx in enumerate(transactions, start=1):
        path = f"{root_name}/TxInf[{t}]"
        try:
            yield _returned(message, source, f"{key}:tx{t}", base, header, group_reasons, tx, path)
        except Problem as problem:
            yield message.refuse(problem, tx)


def _returned(
    message: Message,
    source: str,
    external_id: str,
    base: dict[str, Any],
    header: Element | None,
    group_reasons: list[Element],
    tx: Element,
    path: str,
) -> Item:
    q = message.q
    found = kids(tx)
    value, currency = amount(found.get(q.RtrdIntrBkSttlmAmt), f"{path}/RtrdIntrBkSttlmAmt")
    settled = date_time(found.get(q.IntrBkSttlmDt), f"{path}/IntrBkSttlmDt") or date_time(
        first(header, q.IntrBkSttlmDt), "GrpHdr/IntrBkSttlmDt"
    )
    attributes = dict(base)
    return_id = text(found.get(q.RtrId))
    if return_id:
        attributes["return_id"] = return_id
    original_group = dig_text(tx, q.OrgnlGrpInf, q.OrgnlMsgId)
    if original_group:
        attributes["original_message_id"] = original_group
    original = found.get(q.OrgnlIntrBkSttlmAmt)
    if original is not None:
        original_value, original_currency = amount(original, f"{path}/OrgnlIntrBkSttlmAmt")
        attributes["original_amount"] = {
            "amount": str(original_value),
            "currency": original_currency,
        }
    if settled is not None:
        attributes["settlement_date"] = settled.date().isoformat()
    charge_bearer = text(found.get(q.ChrgBr))
    if charge_bearer:
        attributes["charge_bearer"] = charge_bearer
    fields: dict[str, Any] = {
        "source": source,
        "external_id": external_id,
        "type": RETURNED,
        "occurred_at": settled or _header_time(message),
        "amount": value,
        "currency": currency,
        "status": "returned",
        "refs": {
            name: value
            for name, value in (
                ("end_to_end", text(found.get(q.OrgnlEndToEndId))),
                ("instruction", text(found.get(q.OrgnlInstrId))),
                ("uetr", text(found.get(q.OrgnlUETR))),
                ("bank_transaction", text(found.get(q.OrgnlTxId))),
            )
            if value
        },
        "attributes": attributes,
    }
    reasons = children(tx, q.RtrRsnInf) or group_reasons
    fields.update(_return_reasons(reasons, q, attributes))
    return message.event(fields, tx, path)


def _return_reasons(reasons: list[Element], q: Names, attributes: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    notes: list[str] = []
    for info in reasons:
        reason = first(info, q.Rsn)
        if reason is None:
            reason = first(info, q.RtrRsn)  # version 1
        code = dig_text(reason, q.Cd)
        proprietary = dig_text(reason, q.Prtry)
        if (code or proprietary) and not fields:
            fields = reason_fields(code, proprietary)
            if proprietary and not code:
                attributes["reason_proprietary"] = proprietary
        notes.extend(value for line in children(info, q.AddtlInf) if (value := text(line)))
    if notes:
        attributes["reason_info"] = " ".join(notes)
        if "reason_message" not in fields:
            fields["reason_message"] = attributes["reason_info"][:1000]
    return fields


__all__ = ["parse_return", "parse_status_report"]
