"""Mapping one MT940/MT942 statement to events: each ``:61:`` as a ``bank.statement_line`` and
each balance as a ``bank.balance``, under keys that stay unique within the file."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

from recoup.adapters.connectors.bankfiles._common import account_source, midnight
from recoup.adapters.connectors.bankfiles.mt940_checks import _Checks
from recoup.adapters.connectors.bankfiles.mt940_details import _clean, _details
from recoup.adapters.connectors.bankfiles.mt940_fields import (
    _ENTRY,
    _IBAN,
    _NO_REFERENCE,
    _amount,
    _BadField,
    _Balance,
    _balance,
    _date,
    _entry_date,
    _Field,
    _Statement,
)
from recoup.adapters.connectors.bankfiles.mt940_parts import (
    _Entry,
    _first_day,
    _Parsed,
    _Parts,
    _parts,
    _statement_label,
)
from recoup.adapters.connectors.base import Item
from recoup.domain.ingestion.canonical import build_event

_BALANCE_TYPES = {
    "60F": "opening",
    "60M": "interim_opening",
    "62F": "closing",
    "62M": "interim_closing",
    "64": "available",
    "65": "forward_available",
}
_CREDIT = {
    "C": "credit",
    "D": "debit",
    "RC": "debit",
    "RD": "credit",
    "EC": "credit",
    "ED": "debit",
}


class _File(_Checks):
    def key(self, base: str, statement: _Statement) -> str:
        content = zlib.crc32("\n".join(item.raw for item in statement.fields).encode())
        seen = self.keys.get(base)
        if seen is None or seen[0] == content:
            self.keys[base] = (content, 1 if seen is None else seen[1])
            return base
        uses = seen[1] + 1
        self.keys[base] = (seen[0], uses)
        return f"{base}~{uses}"

    def statement(self, statement: _Statement) -> Iterator[Item]:
        parts = _parts(statement)
        kind = self._kind(statement, parts)
        account = parts.account.lines[0].strip() if parts.account is not None else ""
        balances: list[tuple[_Field, _Balance]] = []
        for item in parts.balances:
            try:
                balances.append((item, _balance(item)))
            except _BadField as exc:
                yield self.reject(item, "invalid_record", str(exc))
        opening = next((b for _, b in balances if b.tag in ("60F", "60M")), None)
        closing = next(((f, b) for f, b in balances if b.tag in ("62F", "62M")), None)
        currency = (
            (opening.currency if opening else None)
            or (closing[1].currency if closing else None)
            or parts.floor_currency
        )
        anchor = (
            opening.day.isoformat() if opening else (parts.date_time or _first_day(parts) or "")
        )
        label = _statement_label(parts, account)
        problem = self._problem(parts, account, currency)
        key = self.key(f"{parts.reference}:{parts.number}:{anchor}", statement)
        source = self.context.source or account_source(account)
        common: dict[str, Any] = {"message_type": kind, "statement_reference": parts.reference}
        if parts.number:
            common["statement_number"] = parts.number
        if parts.related and parts.related.upper() != "NONREF":
            common["related_reference"] = parts.related

        parsed: list[_Parsed] = []
        for index, entry in enumerate(parts.entries, start=1):
            result, amount = self._entry(
                entry, index, kind, key, source, account, currency, problem, common
            )
            parsed.append(amount)
            yield result

        forward = 0
        for item, balance in balances:
            balance_type = _BALANCE_TYPES[balance.tag]
            suffix = balance_type
            if balance.tag == "65":
                forward += 1
                suffix = f"{balance_type}:{forward}"
            if problem is not None:
                yield self.reject(item, *problem)
                continue
            attributes = {**common, "balance_type": balance_type}
            if item is (closing[0] if closing else None) and parts.info:
                attributes["information"] = _clean(" ".join(i.value for i in parts.info))
            fields = {
                "source": source,
                "external_id": f"{key}:{suffix}",
                "type": "bank.balance",
                "occurred_at": midnight(balance.day),
                "amount": balance.amount,
                "currency": balance.currency,
                "direction": "credit" if balance.mark == "C" else "debit",
                "refs": {"bank_account": account},
                "attributes": attributes,
            }
            yield build_event(
                fields,
                received_at=self.context.received_at,
                raw=item.raw,
                file=self.context.label,
                line=item.line,
                element=f":{item.tag}:",
            )

        yield from self._checks(parts, kind, label, account, opening, closing, parsed)

    def _kind(self, statement: _Statement, parts: _Parts) -> str:
        if statement.message_type in ("940", "942"):
            return f"MT{statement.message_type}"
        mt942_only = any(f.tag in ("13", "13D", "34F", "90C", "90D") for f in statement.fields)
        has_balances = any(f.tag[:2] in ("60", "62") for f in parts.balances)
        return "MT942" if mt942_only and not has_balances else "MT940"

    def _problem(self, parts: _Parts, account: str, currency: str | None) -> tuple[str, str] | None:
        """Why no line of this statement can become an event, if something makes it so."""
        if not parts.reference:
            return "incomplete_statement", "statement has no :20: transaction reference"
        if not account:
            return "incomplete_statement", "statement has no :25: account identification"
        if currency is None:
            return "incomplete_statement", "statement has no currency: no valid balance gives one"
        return None

    def _entry(
        self,
        entry: _Entry,
        index: int,
        kind: str,
        key: str,
        source: str,
        account: str,
        currency: str | None,
        problem: tuple[str, str] | None,
        common: dict[str, Any],
    ) -> tuple[Item, _Parsed]:
        item = entry.line
        match = _ENTRY.fullmatch(item.lines[0])
        if match is None:
            reason = (
                f"statement line {item.lines[0][:40]!r} is not <value date YYMMDD>[<entry date "
                "MMDD>]<C|D|RC|RD><amount><type><reference>, as in 230102C100,00NTRFNONREF"
            )
            return self.reject(item, "invalid_record", reason, entry.raw), _Parsed(None)
        value_date = _date(match["value"])
        if value_date is None:
            reason = f"value date {match['value']} is not a valid YYMMDD date"
            return self.reject(item, "invalid_record", reason, entry.raw), _Parsed(None)
        booked_on = value_date
        if match["entry"]:
            found = _entry_date(value_date, match["entry"])
            if found is None:
                reason = f"entry date {match['entry']} is not a valid MMDD date"
                return self.reject(item, "invalid_record", reason, entry.raw), _Parsed(None)
            booked_on = found
        mark = match["mark"]
        direction = _CREDIT[mark]
        amount = _amount(match["amount"])
        booked = mark[0] != "E"
        credit = direction == "credit"
        parsed = _Parsed(amount if credit else -amount, booked, credit)
        if problem is not None:
            return self.reject(item, *problem, raw=entry.raw), parsed

        customer, bank, extra = _references(match["rest"])
        attributes: dict[str, Any] = {**common, "value_date": value_date.isoformat()}
        if match["entry"]:
            attributes["entry_date"] = booked_on.isoformat()
        attributes["mark"] = mark
        if mark[0] == "R":
            attributes["reversal"] = True
        if match["funds"]:
            attributes["funds_code"] = match["funds"]
        transaction_type = (match["type"] or "").strip()
        if transaction_type:
            attributes["transaction_type"] = transaction_type
        if customer:
            attributes["customer_reference"] = customer
        if bank:
            attributes["bank_reference"] = bank
        supplementary = (
            _clean(" ".join([extra, *item.lines[1:]])) if extra or len(item.lines) > 1 else ""
        )
        if supplementary:
            attributes["supplementary_details"] = supplementary
        end_to_end = None
        if entry.info:
            details = _details([line for info in entry.info for line in info.lines])
            end_to_end = details.pop("end_to_end", None)
            attributes.update(details)
        if (
            supplementary
            and "counterparty_account" not in attributes
            and _IBAN.fullmatch(supplementary)
        ):
            attributes["counterparty_account"] = supplementary  # Rabobank's contra IBAN
        refs = {"bank_account": account}
        for reference in (bank, customer):
            if reference.upper() not in _NO_REFERENCE:
                refs["bank_transaction"] = reference
                break
        if end_to_end and end_to_end.upper() not in _NO_REFERENCE:
            refs["end_to_end"] = end_to_end
        fields = {
            "source": source,
            "external_id": f"{key}:{index}",
            "type": "bank.statement_line",
            "occurred_at": midnight(booked_on),
            "amount": amount,
            "currency": currency,
            "direction": direction,
            "status": "expected" if not booked else "interim" if kind == "MT942" else "booked",
            "refs": refs,
            "attributes": attributes,
        }
        event = build_event(
            fields,
            received_at=self.context.received_at,
            raw=entry.raw,
            file=self.context.label,
            line=item.line,
            element=":61:",
        )
        return event, parsed


def _references(rest: str) -> tuple[str, str, str]:
    """Customer reference (16x), bank reference (after ``//``, 16x) and what follows them."""
    if "//" in rest:
        customer, _, after = rest.partition("//")
        return customer.strip(), after[:16].strip(), after[16:].strip()
    return rest[:16].strip(), "", rest[16:].strip()
