"""Mapping BAI2 records to events: the ``03`` status amounts as ``bank.balance`` and each
``16`` transaction detail as a ``bank.statement_line``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from recoup.adapters.connectors.bankfiles._common import account_source, midnight
from recoup.adapters.connectors.bankfiles.bai2_codes import (
    _BALANCE_TYPES,
    _FUNDS_TYPES,
    _LOAN_STATUS,
    TYPE_CODES,
    _direction,
)
from recoup.adapters.connectors.bankfiles.bai2_records import (
    _amount,
    _availability,
    _BadRecord,
    _code,
    _Record,
    _summaries,
    _Summary,
)
from recoup.adapters.connectors.bankfiles.bai2_sections import _Account, _Group, _Sections
from recoup.adapters.connectors.base import Item
from recoup.domain.ingestion.canonical import build_event


class _Events(_Sections):
    def on_account(self, record: _Record) -> Iterator[Item]:
        yield from self.close_account(None)
        fields = record.reader()
        number = fields.take()
        group = self.group
        currency = fields.take().upper() or (group.currency if group else "USD")
        base = f"{self.file.created}:{self.file.file_id}:"
        base += group.as_of.strftime("%y%m%d") if group and group.as_of else "-"
        uses = self.keys.get(f"{number}|{base}", 0) + 1
        self.keys[f"{number}|{base}"] = uses
        key = base if uses == 1 else f"{base}~{uses}"
        summaries: list[_Summary] = []
        problem: str | None = None
        try:
            summaries = _summaries(fields)
        except _BadRecord as exc:
            problem = str(exc)
        account = _Account(record, number, currency, key, summaries, records=len(record.rows))
        account.total = sum(s.amount or 0 for s in summaries)
        if problem is not None:
            account.unreadable += 1
        self.account = account
        if group is not None:
            group.accounts += 1
        if not number:
            yield self.reject(record, "account identifier (03) without an account number")
            return
        if problem is not None:
            yield self.reject(record, problem)
            return
        for summary in summaries:
            if summary.amount is None or not (summary.code < "100" or summary.code in _LOAN_STATUS):
                continue
            yield self.balance(record, account, summary)

    def balance(self, record: _Record, account: _Account, summary: _Summary) -> Item:
        group = self.group
        if group is None or group.as_of is None:
            reason = group.problem if group else "account (03) outside a group: no 02 before it"
            return self.reject(record, reason or "", "incomplete_group")
        assert summary.amount is not None
        attributes: dict[str, Any] = {
            "balance_type": _BALANCE_TYPES.get(summary.code, f"bai2_{summary.code}"),
            "type_code": summary.code,
            **self.group_attributes(group),
        }
        if summary.code in TYPE_CODES:
            attributes["type_description"] = TYPE_CODES[summary.code]
        if summary.count is not None:
            attributes["item_count"] = summary.count
        if summary.funds:
            attributes["funds_type"] = _FUNDS_TYPES[summary.funds]
            attributes.update(summary.availability)
        fields = {
            "source": self.context.source or account_source(account.number),
            "external_id": f"{account.key}:{summary.code}",
            "type": "bank.balance",
            "occurred_at": midnight(group.as_of),
            "amount_minor": abs(summary.amount),
            "currency": account.currency,
            "direction": "debit" if summary.amount < 0 else "credit",
            "refs": {"bank_account": account.number},
            "attributes": attributes,
        }
        return build_event(
            fields,
            received_at=self.context.received_at,
            raw=record.raw,
            file=self.context.label,
            line=record.line,
            element="03",
        )

    def group_attributes(self, group: _Group) -> dict[str, Any]:
        found: dict[str, Any] = {"as_of_date": group.as_of.isoformat() if group.as_of else None}
        if group.as_of_time:
            found["as_of_time"] = group.as_of_time
        if group.modifier:
            found["as_of_date_modifier"] = group.modifier
        if group.status and group.status != "update":
            found["group_status"] = group.status
        if group.originator:
            found["originator"] = group.originator
        return found

    def on_detail(self, record: _Record) -> Iterator[Item]:
        account, group = self.account, self.group
        if account is None:
            yield self.reject(record, "transaction detail (16) outside an account: no 03 before it")
            return
        account.details += 1
        index = account.details
        fields = record.reader()
        try:
            code = _code(fields.take())
            amount = _amount(fields.take(), "amount")
            if amount is not None and amount < 0:
                raise _BadRecord(f"amount {amount} is negative; the type code gives the direction")
            funds = fields.take()
            availability = _availability(funds, fields)
        except _BadRecord as exc:
            account.unreadable += 1
            yield self.reject(record, str(exc))
            return
        bank_reference, customer_reference = fields.take(), fields.take()
        text = fields.text()
        direction = _direction(code)
        account.total += amount or 0
        if direction == "credit":
            account.credits.append(amount or 0)
        elif direction == "debit":
            account.debits.append(amount or 0)
        else:
            account.undirected += 1
        if group is None or group.as_of is None:
            reason = group.problem if group else "transaction detail outside a group: no 02"
            yield self.reject(record, reason or "", "incomplete_group")
            return
        attributes: dict[str, Any] = {"type_code": code}
        if code in TYPE_CODES:
            attributes["type_description"] = TYPE_CODES[code]
        attributes.update(self.group_attributes(group))
        if customer_reference:
            attributes["customer_reference"] = customer_reference
        if bank_reference:
            attributes["bank_reference"] = bank_reference
        if funds:
            attributes["funds_type"] = _FUNDS_TYPES[funds]
            attributes.update(availability)
        if text:
            attributes["text"] = text
        # What the line says it pays, as detection reads it: the payer's reference and the
        # detail text (BAI2 has no remittance field of its own).
        remittance = " ".join(part for part in (customer_reference, text) if part)
        if remittance:
            attributes["remittance"] = remittance
        refs = {"bank_account": account.number}
        if bank_reference:
            refs["bank_transaction"] = bank_reference
        event: dict[str, Any] = {
            "source": self.context.source or account_source(account.number),
            "external_id": f"{account.key}:{index}",
            "type": "bank.statement_line",
            "occurred_at": midnight(group.as_of),
            "status": "interim" if group.modifier == "interim_same_day" else "booked",
            "refs": refs,
            "attributes": attributes,
        }
        if amount is not None:
            event["amount_minor"] = amount
            event["currency"] = account.currency
        if direction is not None:
            event["direction"] = direction
        yield build_event(
            event,
            received_at=self.context.received_at,
            raw=record.raw,
            file=self.context.label,
            line=record.line,
            element="16",
        )
