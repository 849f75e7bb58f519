"""NACHA ACH reason codes: what ``ach:R01`` and ``ach:C01`` mean.

Two tables beside this module, kept with the columns of their origin (``code``, ``reason``,
``description``; see ``NOTICE-ach.md``), are read once, on first use:

- ``nacha_return_codes.csv``: the return reason codes an RDFI (or the ODFI, for dishonored
  returns) puts in a type 99 addenda record;
- ``nacha_change_codes.csv``: the change codes of a Notification of Change (type 98 addenda).

The NACHA rules file the return codes under groups, which decide the layout of the addenda and
what a code may be used for. The CSV has no column for them; the groups below are those of the
moov-io/ach documentation the tables come from (``returns.md``, ``changes.md``):

- ``general``: returns by the RDFI (R01-R39);
- ``enr``: returns of ENR entries by a federal government agency (R40-R47);
- ``rck``: returns of RCK entries (R50-R53);
- ``dishonored``: the ODFI dishonors a return (R61, R62, R67-R70);
- ``contested``: the RDFI contests a dishonored return (R71-R77);
- ``iat``: returns of international entries by a gateway (R80-R85);
- ``change``: a Notification of Change (C01-C14);
- ``refused``: the ODFI refuses a Notification of Change (C61-C69).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

NAMESPACE = "ach"
RETURN_CODES_FILE = "nacha_return_codes.csv"
CHANGE_CODES_FILE = "nacha_change_codes.csv"

GENERAL = "general"
ENR = "enr"
RCK = "rck"
DISHONORED = "dishonored"
CONTESTED = "contested"
IAT = "iat"
CHANGE = "change"
REFUSED = "refused"

RETURN_GROUPS = (GENERAL, ENR, RCK, DISHONORED, CONTESTED, IAT)
CHANGE_GROUPS = (CHANGE, REFUSED)

_DISHONORED = frozenset({61, 62, 67, 68, 69, 70})


@dataclass(frozen=True, slots=True)
class ReasonInfo:
    """One NACHA return or change code: ``R01``, its title ("Insufficient Funds"), the longer
    description (None where the list gives none) and the group it belongs to."""

    code: str
    title: str
    description: str | None
    group: str

    @property
    def kind(self) -> str:
        """Which kind of entry carries the code: ``return``, ``dishonored`` or ``contested`` for
        a return code (each has its own addenda layout), ``change`` or ``refused`` for a change
        code."""
        if self.group in (DISHONORED, CONTESTED, CHANGE, REFUSED):
            return self.group
        return "return"

    @property
    def reason_code(self) -> str:
        """The namespaced code an event carries: ``ach:R01``."""
        return f"{NAMESPACE}:{self.code}"


def _return_group(code: str) -> str:
    number = int(code[1:])
    if number in _DISHONORED:
        return DISHONORED
    if 71 <= number <= 77:
        return CONTESTED
    if 80 <= number <= 89:
        return IAT
    if 50 <= number <= 59:
        return RCK
    if 40 <= number <= 49:
        return ENR
    return GENERAL


def _change_group(code: str) -> str:
    return REFUSED if int(code[1:]) >= 61 else CHANGE


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def _info(row: dict[str, str], group: str) -> ReasonInfo:
    description = row["description"].strip()
    return ReasonInfo(
        code=row["code"].strip(),
        title=row["reason"].strip(),
        description=description or None,
        group=group,
    )


@cache
def _returns() -> dict[str, ReasonInfo]:
    rows = _rows(RETURN_CODES_FILE)
    return {row["code"].strip(): _info(row, _return_group(row["code"].strip())) for row in rows}


@cache
def _changes() -> dict[str, ReasonInfo]:
    rows = _rows(CHANGE_CODES_FILE)
    return {row["code"].strip(): _info(row, _change_group(row["code"].strip())) for row in rows}


def _key(code: str | None) -> str | None:
    if not code:
        return None
    key = code.strip()
    if key[:4].lower() == f"{NAMESPACE}:":
        key = key[4:].strip()
    return key.upper()


def ach_return_reason(code: str | None) -> ReasonInfo | None:
    """The return reason for ``R01`` (or ``ach:R01``, any case, surrounding blanks ignored), or
    None for a code that is not in the NACHA list."""
    key = _key(code)
    return None if key is None else _returns().get(key)


def ach_change_reason(code: str | None) -> ReasonInfo | None:
    """The change reason for ``C01`` (or ``ach:C01``), or None for a code not in the NACHA
    list."""
    key = _key(code)
    return None if key is None else _changes().get(key)


def ach_return_reasons() -> tuple[ReasonInfo, ...]:
    """Every return code, in code order."""
    return tuple(sorted(_returns().values(), key=lambda info: info.code))


def ach_change_reasons() -> tuple[ReasonInfo, ...]:
    """Every change code, in code order."""
    return tuple(sorted(_changes().values(), key=lambda info: info.code))


__all__ = [
    "ReasonInfo",
    "ach_change_reason",
    "ach_change_reasons",
    "ach_return_reason",
    "ach_return_reasons",
]
