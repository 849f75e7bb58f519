"""NACHA ACH checks: control totals compared with the records, and hints at shifted fields
(see :mod:`.ach`)."""

from __future__ import annotations

from recoup.adapters.connectors.bankfiles.ach_records import _Totals


def _shift_hint(record: str, expected: str, index: int, what: str) -> str | None:
    """When ``expected`` is missing from its columns but sits one to three columns off, say so:
    a field before it has the wrong width, which is what a person needs to fix the file."""
    if record[index : index + len(expected)] == expected:
        return None
    for offset in (-1, 1, -2, 2, -3, 3):
        start = index + offset
        if start >= 0 and record[start : start + len(expected)] == expected:
            columns = f"{start + 1}-{start + len(expected)}"
            side = "short" if offset < 0 else "long"
            plural = "s" if abs(offset) > 1 else ""
            return (
                f"found {what} at columns {columns}, {abs(offset)} column{plural} "
                f"{'early' if offset < 0 else 'late'}: a field before it is {abs(offset)} "
                f"character{plural} too {side}"
            )
    return None


def _compare(declared: _Totals, computed: _Totals) -> list[str]:
    problems = []
    if declared.count != computed.count:
        problems.append(
            f"entry/addenda count is {declared.count}, the records add up to {computed.count}"
        )
    if computed.hash_known and declared.entry_hash != computed.entry_hash % 10**10:
        problems.append(
            f"entry hash is {declared.entry_hash:010d}, the routing numbers add up to "
            f"{computed.entry_hash % 10**10:010d}"
        )
    if computed.amounts_known:
        if declared.debit != computed.debit:
            problems.append(
                f"total debit is {_dollars(declared.debit)}, the entries add up to "
                f"{_dollars(computed.debit)}"
            )
        if declared.credit != computed.credit:
            problems.append(
                f"total credit is {_dollars(declared.credit)}, the entries add up to "
                f"{_dollars(computed.credit)}"
            )
    return problems


def _dollars(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"
