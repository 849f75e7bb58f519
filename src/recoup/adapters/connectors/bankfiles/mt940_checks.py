"""The state that spans an MT940 file's statements and the checks made on each statement:
opening + entries = closing, missing balances, gaps between statements, MT942 ``:90C:``/``:90D:``
totals."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from recoup.adapters.connectors.bankfiles.mt940_fields import _COUNT_SUM, _amount, _Balance, _Field
from recoup.adapters.connectors.bankfiles.mt940_parts import _Parsed, _Parts
from recoup.adapters.connectors.base import FileFlag, Item, ParseContext
from recoup.domain.errors import InvalidInputError, Location
from recoup.domain.ingestion.canonical import Rejection
from recoup.domain.money import currency_exponent

_NEXT_STATEMENT_DAYS = 7  # daily statements skip weekends and holidays; monthly ones share a day


class _Checks:
    """The state that spans statements: the ids used so far and the last closing balance."""

    def __init__(self, context: ParseContext) -> None:
        self.context = context
        self.keys: dict[str, tuple[int, int]] = {}  # statement key -> (content hash, uses)
        self.previous: tuple[str, str, _Balance] | None = None  # account, label, closing

    def location(self, item: _Field | None, tag: bool = True) -> Location:
        if item is None:
            return Location(self.context.label)
        return Location(self.context.label, item.line, f":{item.tag}:" if tag else None)

    def reject(self, item: _Field, code: str, reason: str, raw: str | None = None) -> Rejection:
        return Rejection(self.location(item), code, reason, raw if raw is not None else item.raw)

    def _checks(
        self,
        parts: _Parts,
        kind: str,
        label: str,
        account: str,
        opening: _Balance | None,
        closing: tuple[_Field, _Balance] | None,
        parsed: list[_Parsed],
    ) -> Iterator[Item]:
        unread = sum(1 for p in parsed if p.signed is None)
        note = f" ({unread} unreadable :61: not counted)" if unread else ""
        if kind == "MT940":
            if opening is None or closing is None:
                missing = "opening (:60F:/:60M:)" if opening is None else "closing (:62F:/:62M:)"
                where = self.location(closing[0] if closing else parts.first, tag=False)
                yield FileFlag(
                    where,
                    "balance_missing",
                    f"{label} has no valid {missing} balance, so it cannot be checked",
                )
            else:
                yield from self._balance_check(label, opening, closing, parsed, note)
            if opening is not None and self.previous is not None:
                yield from self._continuity(parts, label, account, opening)
            self.previous = (account, label, closing[1]) if closing is not None else None
        for item in parts.totals:
            yield from self._total_check(item, label, parsed, note)

    def _continuity(
        self, parts: _Parts, label: str, account: str, opening: _Balance
    ) -> Iterator[FileFlag]:
        """A statement opens where the account's previous one (within a week) closed."""
        assert self.previous is not None
        previous_account, previous_label, before = self.previous
        if (
            previous_account == account
            and before.currency == opening.currency
            and 0 <= (opening.day - before.day).days <= _NEXT_STATEMENT_DAYS
            and before.signed != opening.signed
        ):
            item = next(f for f in parts.balances if f.tag in ("60F", "60M"))
            yield FileFlag(
                self.location(item),
                "balance_gap",
                f"{label} opens on {opening.day} at {_money(opening.signed, opening.currency)} "
                f"but {previous_label} closed on {before.day} at "
                f"{_money(before.signed, before.currency)}: a statement may be missing",
            )

    def _balance_check(
        self,
        label: str,
        opening: _Balance,
        closing: tuple[_Field, _Balance],
        parsed: list[_Parsed],
        note: str,
    ) -> Iterator[FileFlag]:
        item, final = closing
        where = self.location(item)
        if opening.currency != final.currency:
            reason = (
                f"{label} opens in {opening.currency} but closes in {final.currency}, so its "
                "balances cannot be checked"
            )
            yield FileFlag(where, "balance_mismatch", reason)
            return
        movement = sum((p.signed for p in parsed if p.signed is not None and p.booked), Decimal(0))
        expected = opening.signed + movement
        if expected != final.signed:
            currency = final.currency
            reason = (
                f"{label}: opening balance {_money(opening.signed, currency)} + entries "
                f"{_money(movement, currency)} = {_money(expected, currency)}, but the closing "
                f"balance is {_money(final.signed, currency)} (difference "
                f"{_money(final.signed - expected, currency)}){note}"
            )
            yield FileFlag(where, "balance_mismatch", reason)

    def _total_check(
        self, item: _Field, label: str, parsed: list[_Parsed], note: str
    ) -> Iterator[Item]:
        match = _COUNT_SUM.fullmatch(item.lines[0])
        if match is None:
            reason = f"{item.lines[0].strip()[:40]!r} is not <count><currency><amount>"
            yield self.reject(item, "invalid_record", reason)
            return
        credit = item.tag == "90C"
        mine = [p.signed for p in parsed if p.signed is not None and p.credit == credit]
        count, total = len(mine), abs(sum(mine, Decimal(0)))
        stated_count, stated = int(match.group(1)), _amount(match.group(3))
        if (count, total) != (stated_count, stated):
            side = "credits" if credit else "debits"
            currency = match.group(2)
            reason = (
                f"{label}: :{item.tag}: states {stated_count} {side} totalling "
                f"{_money(stated, currency)}, the entries hold {count} totalling "
                f"{_money(total, currency)}{note}"
            )
            yield FileFlag(self.location(item), "control_total_mismatch", reason)


def _money(amount: Decimal, currency: str) -> str:
    try:
        places = max(currency_exponent(currency), -int(amount.as_tuple().exponent))
    except InvalidInputError:
        places = max(0, -int(amount.as_tuple().exponent))
    return f"{amount:,.{places}f} {currency}"
