"""ISO 20022 reason codes: what ``iso:AC04`` means.

One table covers the codes a bank sends back in status reports (``StsRsnInf``, pain.002 and
pacs.002), returns (``RtrRsnInf`` in pacs.004, ``RtrInf`` in camt.054) and cancellations: the
ISO 20022 external code sets ExternalStatusReason1Code, ExternalReturnReason1Code and
ExternalCancellationReason1Code share most of their codes and meanings. The file is
``iso20022_reasons.csv`` beside this module (origin in ``NOTICE-iso20022.md``); it is read once,
on first use.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

NAMESPACE = "iso"
DATA_FILE = "iso20022_reasons.csv"


@dataclass(frozen=True, slots=True)
class ReasonInfo:
    """One ISO 20022 reason code: ``AC04``, its ISO name and what it means in plain words."""

    code: str
    name: str
    meaning: str


@cache
def _table() -> dict[str, ReasonInfo]:
    text = resources.files(__package__).joinpath(DATA_FILE).read_text(encoding="utf-8")
    table: dict[str, ReasonInfo] = {}
    for row in csv.DictReader(text.splitlines()):
        info = ReasonInfo(code=row["code"], name=row["name"], meaning=row["meaning"])
        table[info.code] = info
    return table


def iso_reason(code: str | None) -> ReasonInfo | None:
    """The reason for ``AC04`` (or ``iso:AC04``, any case, surrounding blanks ignored), or None
    for a code that is not in the ISO lists (a bank's proprietary code, a typo)."""
    if not code:
        return None
    key = code.strip()
    if key[:4].lower() == f"{NAMESPACE}:":
        key = key[4:].strip()
    return _table().get(key.upper())


def iso_reasons() -> tuple[ReasonInfo, ...]:
    """Every known reason, in code order."""
    return tuple(sorted(_table().values(), key=lambda info: info.code))


__all__ = ["ReasonInfo", "iso_reason", "iso_reasons"]
