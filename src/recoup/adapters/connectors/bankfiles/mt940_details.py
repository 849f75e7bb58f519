"""The ``:86:`` information to account owner: the German ``?NN`` subfields (Triodos' ``>NN``),
the Dutch ``/EREF/`` layout, or free text."""

from __future__ import annotations

import re
from typing import Any

_GERMAN = re.compile(r"(\d{3})([?>])\d\d", re.ASCII)
_GERMAN_SUBFIELD = {"?": re.compile(r"\?(\d\d)", re.ASCII), ">": re.compile(r">(\d\d)", re.ASCII)}
_SEPA_KEYWORD = re.compile(
    r"(EREF|KREF|MREF|CRED|DEBT|SVWZ|ABWA|ABWE|COAM|OAMT|PURP|SQTP|ORCR|ORMR|DDAT|BREF|RREF)\+"
)
_PURPOSE_CODES = frozenset({*(str(n) for n in range(20, 30)), "60", "61", "62", "63"})
# The Dutch banks' codes; a longer code comes before one it begins with (CDTRREFTP, CDTRREF).
_DUTCH = re.compile(
    r"/(CDTRREFTP|CDTRREF|RTRN|CREF|EREF|IREF|MARF|CSID|CNTP|REMI|PURP|ULTC|ULTD|ULTB|BENM|ORDP"
    r"|NAME|ADDR|ISDT|TRCD|BUSP|SVCL|PREF|ATOM|EXCH|OCMT|CHGS|ISSR|SCOR|IBAN|BIC|ID)/"
)


def _clean(text: str) -> str:
    """Runs of white space (the padding of fixed-width lines) as one space."""
    return " ".join(text.split())


def _details(lines: list[str]) -> dict[str, Any]:
    """What ``:86:`` says, as attributes (and ``end_to_end``, taken out by the caller)."""
    joined = "".join(lines)
    german = _GERMAN.match(joined)
    if german is not None:
        return _german_details(german.group(1), german.group(2), joined[3:])
    if joined.startswith("/") and _DUTCH.match(joined):
        return _dutch_details(joined)
    text = _clean(" ".join(line.rstrip() for line in lines))
    return {"description": text} if text else {}


def _german_details(code: str, separator: str, text: str) -> dict[str, Any]:
    """The German banking industry's ``?NN`` subfields (Triodos writes ``>NN``)."""
    parts = _GERMAN_SUBFIELD[separator].split(text)
    repeated: dict[str, list[str]] = {}
    purposes: list[str] = []  # ?20-?29 and ?60-?63, in the file's order
    for position in range(1, len(parts) - 1, 2):
        name, value = parts[position], parts[position + 1]
        if name in _PURPOSE_CODES:
            purposes.append(value)
        elif name in repeated:
            repeated[name].append(value)
        else:
            repeated[name] = [value]
    subfields = {name: "".join(values) for name, values in repeated.items()}
    purpose = "".join(purposes)
    found: dict[str, Any] = {"transaction_code": code}
    pieces = _SEPA_KEYWORD.split(purpose)
    sepa: dict[str, str] = {}
    for position in range(1, len(pieces) - 1, 2):
        value = _clean(pieces[position + 1])
        if value:
            sepa[pieces[position]] = value
    remittance = sepa.pop("SVWZ", None) or _clean(pieces[0])
    for key, value in (
        ("posting_text", subfields.get("00")),
        ("remittance", remittance),
        ("counterparty_name", subfields.get("32", "") + subfields.get("33", "")),
        ("counterparty_account", subfields.get("31")),
        ("counterparty_bank", subfields.get("30")),
    ):
        if value and (value := _clean(value)):
            found[key] = value
    if sepa:
        found["sepa"] = sepa
        if "EREF" in sepa:
            found["end_to_end"] = sepa["EREF"]
    return found


def _dutch_details(text: str) -> dict[str, Any]:
    """The Dutch banks' SEPA layout: ``/EREF/.../CNTP/iban/bic/name/city/REMI/...``."""
    codes = list(_DUTCH.finditer(text))
    repeated: dict[str, list[str]] = {}
    for index, match in enumerate(codes):
        end = codes[index + 1].start() if index + 1 < len(codes) else len(text)
        value = _clean(text[match.end() : end]).rstrip("/").strip()
        repeated.setdefault(match.group(1), []).append(value)
    subfields = {name: " ".join(v for v in values if v) for name, values in repeated.items()}
    found: dict[str, Any] = {}
    remittance = subfields.get("REMI", "")
    for prefix in ("USTD//", "USTD/", "STRD/"):
        if remittance.startswith(prefix):
            remittance = remittance[len(prefix) :]
            break
    counterparty = subfields.get("CNTP", "").split("/")
    account = counterparty[0] if counterparty[0] else subfields.get("IBAN", "")
    bank = counterparty[1] if len(counterparty) > 1 else subfields.get("BIC", "")
    name = counterparty[2] if len(counterparty) > 2 else subfields.get("NAME", "")
    for key, value in (
        ("remittance", remittance.strip("/ ")),
        ("counterparty_name", name.strip()),
        ("counterparty_account", account.strip()),
        ("counterparty_bank", bank.strip()),
    ):
        if value:
            found[key] = value
    if subfields.get("EREF"):
        found["end_to_end"] = subfields["EREF"]
    sepa = {name: value for name, value in subfields.items() if value and name != "REMI"}
    if sepa:
        found["sepa"] = sepa
    return found
