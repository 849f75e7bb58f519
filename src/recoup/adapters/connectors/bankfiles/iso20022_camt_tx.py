"""The details of one camt entry or transaction: references, parties, remittance, return reason.

Entries are indexed in one walk (:func:`.iso20022_xml.index`) along the specs below, which name
every element read here and nothing else; the mapping is then plain dict look-ups.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from recoup.adapters.connectors.bankfiles.iso20022_index import (
    ELEMENT,
    Node,
    Spec,
    at,
    at_text,
    node_text,
)
from recoup.adapters.connectors.bankfiles.iso20022_xml import Problem, amount, reason_fields

NOT_PROVIDED = "NOTPROVIDED"
EMPTY: Node = {}
"""An absent node (never written to): ``node.get("Refs", EMPTY).get("EndToEndId")``."""

_DATE: Spec = {"Dt": ELEMENT, "DtTm": ELEMENT}
_BANK_TRANSACTION_CODE: Spec = {
    "Domn": {"Cd": None, "Fmly": {"Cd": None, "SubFmlyCd": None}},
    "Prtry": {"Cd": None},
}
_CHARGES: Spec = {"TtlChrgsAndTaxAmt": ELEMENT, "Rcrd": {"Amt": ELEMENT}}
_ACCOUNT: Spec = {
    "Id": {
        "IBAN": None,
        "BBAN": None,
        "UPIC": None,
        "Othr": {"Id": None},
        "PrtryAcct": {"Id": None},
    }
}
_PARTY: Spec = {"Nm": None, "Pty": {"Nm": None}, "Agt": {"FinInstnId": {"Nm": None}}}

TRANSACTION: Spec = {
    "Refs": {
        "EndToEndId": None,
        "InstrId": None,
        "UETR": None,
        "AcctSvcrRef": None,
        "PmtInfId": None,
        "TxId": None,
        "MndtId": None,
        "ChqNb": None,
    },
    "Amt": ELEMENT,
    "CdtDbtInd": None,
    "AmtDtls": {"TxAmt": {"Amt": ELEMENT}},
    "BkTxCd": _BANK_TRANSACTION_CODE,
    "Chrgs": _CHARGES,
    "RltdPties": {"Dbtr": _PARTY, "DbtrAcct": _ACCOUNT, "Cdtr": _PARTY, "CdtrAcct": _ACCOUNT},
    "RmtInf": {"Ustrd": None, "Strd": {"CdtrRefInf": {"Ref": None}}},
    "AddtlTxInf": None,
    "RtrInf": {"Rsn": {"Cd": None, "Prtry": None}, "AddtlInf": None},
}

ENTRY: Spec = {
    "Amt": ELEMENT,
    "CdtDbtInd": None,
    "RvslInd": None,
    "Sts": {"Cd": None, "Prtry": None},
    "BookgDt": _DATE,
    "ValDt": _DATE,
    "AcctSvcrRef": None,
    "NtryRef": None,
    "BkTxCd": _BANK_TRANSACTION_CODE,
    "Chrgs": _CHARGES,
    "AddtlNtryInf": None,
    "NtryDtls": {"TxDtls": TRANSACTION},
}


def status(entry: Node) -> str | None:
    """``Sts`` is a code up to version 7 and ``Sts/Cd`` (or ``Sts/Prtry``) from version 8."""
    node = entry.get("Sts")
    if node is None:
        return None
    return node_text(node) or at_text(node, "Cd") or at_text(node, "Prtry")


def bank_transaction_code(node: Node | None) -> str | None:
    """``PMNT/ICDT/DMCT`` from ``Domn``, else the proprietary code."""
    if node is None:
        return None
    domain = node.get("Domn")
    if domain is not None:
        family = domain.get("Fmly", EMPTY)
        parts = (domain.get("Cd"), family.get("Cd"), family.get("SubFmlyCd"))
        if all(parts):
            return "/".join(part for part in parts if part)
    proprietary: str | None = node.get("Prtry", EMPTY).get("Cd")
    return proprietary


def charges(node: Node | None) -> dict[str, str] | None:
    """The total of charges and taxes, or the sum of the charge records in one currency."""
    if node is None:
        return None
    try:
        total = node.get("TtlChrgsAndTaxAmt")
        if total is not None:
            value, currency = amount(total, "Chrgs/TtlChrgsAndTaxAmt")
            return {"amount": str(value), "currency": currency}
        records = [amount(at(rec, "Amt"), "Chrgs/Rcrd/Amt") for rec in node.get("Rcrd", ())]
    except Problem:
        return None
    if not records or len({currency for _, currency in records}) != 1:
        return None
    total_value = sum((value for value, _ in records), Decimal(0))
    return {"amount": str(total_value), "currency": records[0][1]}


def account(node: Node | None) -> str | None:
    """An account's identification: IBAN, ``Othr/Id``, or a version-1 proprietary/BBAN/UPIC id."""
    ident = at(node, "Id")
    if ident is None:
        return None
    for name in ("IBAN", "Othr", "BBAN", "UPIC", "PrtryAcct"):
        value = ident.get(name)
        if value is not None:
            return at_text(value, "Id") if isinstance(value, dict) else node_text(value)
    return None


def transaction_amount(tx: Node, path: str) -> tuple[Decimal, str] | None:
    """``TxDtls/Amt`` (version 3 on) or ``TxDtls/AmtDtls/TxAmt/Amt`` (version 2)."""
    direct = tx.get("Amt")
    if direct is not None:
        return amount(direct, f"{path}/Amt")
    nested = at(tx, "AmtDtls", "TxAmt", "Amt")
    if nested is not None:
        return amount(nested, f"{path}/AmtDtls/TxAmt/Amt")
    return None


def references(tx: Node, refs: dict[str, str | None], attributes: dict[str, Any]) -> None:
    """``Refs``: end-to-end id (not the ``NOTPROVIDED`` placeholder), instruction id, UETR into
    ``refs``; the other identifiers into ``attributes``."""
    found = tx.get("Refs")
    if found is None:
        return
    get = found.get
    end_to_end = get("EndToEndId")
    if end_to_end and end_to_end.replace(" ", "").upper() != NOT_PROVIDED:
        refs["end_to_end"] = end_to_end
    refs["instruction"] = get("InstrId")
    refs["uetr"] = get("UETR")
    if not refs.get("bank_transaction"):
        refs["bank_transaction"] = get("AcctSvcrRef")
    for tag, name in (
        ("AcctSvcrRef", "transaction_reference"),
        ("PmtInfId", "payment_information_id"),
        ("TxId", "transaction_id"),
        ("MndtId", "mandate_id"),
        ("ChqNb", "cheque_number"),
    ):
        value = get(tag)
        if value and value != refs.get("bank_transaction"):
            attributes[name] = value


def details(tx: Node, sign: str, attributes: dict[str, Any]) -> None:
    """Bank transaction code, charges, counterparty, remittance and notes of a transaction."""
    code = bank_transaction_code(tx.get("BkTxCd"))
    if code:
        attributes["bank_transaction_code"] = code
    fees = charges(tx.get("Chrgs"))
    if fees:
        attributes["charges"] = fees
    parties = tx.get("RltdPties")
    if parties is not None:
        # money in: the payer is the counterparty; money out: the payee
        party, account_name = ("Dbtr", "DbtrAcct") if sign == "credit" else ("Cdtr", "CdtrAcct")
        name = _party_name(parties.get(party))
        if name:
            attributes["counterparty_name"] = name
        counter_account = account(parties.get(account_name))
        if counter_account:
            attributes["counterparty_account"] = counter_account
    remittance = tx.get("RmtInf")
    if remittance is not None:
        lines = [value for line in remittance.get("Ustrd", ()) if (value := node_text(line))]
        refs = [
            value
            for block in remittance.get("Strd", ())
            if (value := block.get("CdtrRefInf", EMPTY).get("Ref"))
        ]
        if lines or refs:
            attributes["remittance"] = " ".join(lines) if lines else " ".join(refs)
        if refs:
            attributes["creditor_reference"] = refs[0]
    info = tx.get("AddtlTxInf")
    if info:
        attributes["additional_info"] = info


def _party_name(party: Node | None) -> str | None:
    """``Nm`` of a party, also inside ``Pty`` (version 8 on) or a financial institution."""
    if party is None:
        return None
    return (
        party.get("Nm")
        or party.get("Pty", EMPTY).get("Nm")
        or at_text(party, "Agt", "FinInstnId", "Nm")
    )


def return_reason(tx: Node, attributes: dict[str, Any]) -> dict[str, Any] | None:
    """``reason_code``/``reason_message`` from ``RtrInf``, or None when the transaction has none."""
    info = tx.get("RtrInf")
    if info is None:
        return None
    reason = info.get("Rsn", EMPTY)
    code, proprietary = reason.get("Cd"), reason.get("Prtry")
    notes = [value for line in info.get("AddtlInf", ()) if (value := node_text(line))]
    attributes["returned"] = True
    if proprietary and not code:
        attributes["return_reason_proprietary"] = proprietary
    if notes:
        attributes["return_info"] = " ".join(notes)
    fields = reason_fields(code, proprietary)
    if "reason_message" not in fields and notes:
        fields["reason_message"] = " ".join(notes)[:1000]
    return fields


__all__ = [
    "ENTRY",
    "TRANSACTION",
    "account",
    "bank_transaction_code",
    "charges",
    "details",
    "references",
    "return_reason",
    "status",
    "transaction_amount",
]
