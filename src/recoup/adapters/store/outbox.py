"""Outbox and journal queries, mixed into the unit of work.

Both tables are written insert-if-absent (``ON CONFLICT DO NOTHING`` on their unique keys),
never check-then-insert: two writers adding the same writeback or the same journal entry end
with one row, whoever commits first.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from recoup.adapters.store import tables as t
from recoup.adapters.store.queries import id_prefix_filter
from recoup.domain.errors import ConflictError, NotFoundError
from recoup.domain.money import Money
from recoup.domain.recovery.ledger import Account, AccountKind, JournalEntry, Line, PostingKind
from recoup.domain.recovery.outbox import OutboxItem, OutboxStatus

DUE = [OutboxStatus.PENDING.value, OutboxStatus.RETRYING.value]


class OutboxMixin:
    conn: sa.Connection
    dialect: str

    def _insert_ignoring_duplicates(self, table: sa.Table) -> Any:
        insert = (postgresql if self.dialect == "postgresql" else sqlite).insert(table)
        return insert.on_conflict_do_nothing()

    # -- outbox ----------------------------------------------------------------------------

    def add_outbox(self, items: Sequence[OutboxItem]) -> set[str]:
        statement = self._insert_ignoring_duplicates(t.outbox).returning(t.outbox.c.id)
        inserted: set[str] = set()
        for item in {i.idempotency_key: i for i in items}.values():
            row = self.conn.execute(statement, _outbox_row(item)).first()
            if row is not None:
                inserted.add(_uuid(row[0]))
        return inserted

    def claim_due_outbox(
        self, now: datetime, limit: int, lease_until: datetime
    ) -> list[OutboxItem]:
        o = t.outbox.c
        query = (
            sa.select(t.outbox)
            .where(o.status.in_(DUE), o.next_at <= now)
            .order_by(o.next_at, o.created_at, o.id)
            .limit(limit)
        )
        if self.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        items = [_outbox_item(row) for row in self.conn.execute(query)]
        if items:
            # Locked (PostgreSQL) or under the exclusive write transaction (SQLite): the rows
            # are still due, so select them by primary key alone.
            self.conn.execute(
                t.outbox.update()
                .where(o.id.in_([item.id for item in items]))
                .values(next_at=lease_until)
            )
        return items

    def outbox_items(self, ids: Sequence[str]) -> list[OutboxItem]:
        found: list[OutboxItem] = []
        for given in ids:
            query = sa.select(t.outbox).where(id_prefix_filter(t.outbox.c.id, given)).limit(2)
            rows = self.conn.execute(query).all()
            if not rows:
                raise NotFoundError(f"no writeback {given!r}")
            if len(rows) > 1:
                raise ConflictError(f"{given!r} matches several writebacks; give more digits")
            found.append(_outbox_item(rows[0]))
        return found

    def lock_outbox_item(self, item_id: str) -> OutboxItem | None:
        query = sa.select(t.outbox).where(t.outbox.c.id == item_id)
        if self.dialect == "postgresql":
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        return None if row is None else _outbox_item(row)

    def update_outbox(self, item: OutboxItem) -> None:
        self.conn.execute(
            t.outbox.update()
            .where(t.outbox.c.id == item.id)
            .values(
                status=item.status.value, attempts=item.attempts, next_at=item.next_at,
                confirmed_at=item.confirmed_at, last_http_status=item.last_http_status,
                last_detail=item.last_detail,
            )
        )  # fmt: skip

    def list_outbox(self, status: OutboxStatus | None, limit: int) -> list[OutboxItem]:
        o = t.outbox.c
        query = sa.select(t.outbox).order_by(o.created_at, o.id).limit(limit)
        if status is not None:
            query = query.where(o.status == status.value)
        return [_outbox_item(row) for row in self.conn.execute(query)]

    def outbox_counts(self) -> dict[str, int]:
        o = t.outbox.c
        query = sa.select(o.status, sa.func.count()).group_by(o.status)
        return {status: int(count) for status, count in self.conn.execute(query)}

    def outbox_of_case(self, case_id: str) -> list[OutboxItem]:
        o = t.outbox.c
        query = sa.select(t.outbox).where(o.case_id == case_id).order_by(o.created_at, o.id)
        return [_outbox_item(row) for row in self.conn.execute(query)]

    def oldest_due_outbox(self) -> OutboxItem | None:
        o = t.outbox.c
        query = sa.select(t.outbox).where(o.status.in_(DUE)).order_by(o.created_at, o.id).limit(1)
        row = self.conn.execute(query).first()
        return None if row is None else _outbox_item(row)

    # -- journal ---------------------------------------------------------------------------

    def add_journal_entries(self, entries: Sequence[JournalEntry]) -> set[str]:
        statement = self._insert_ignoring_duplicates(t.journal_entries).returning(
            t.journal_entries.c.id
        )
        inserted: set[str] = set()
        for entry in {e.id: e for e in entries}.values():
            row = self.conn.execute(statement, _journal_row(entry)).first()
            if row is not None:
                inserted.add(_uuid(row[0]))
        return inserted

    def journal_entries(
        self,
        *,
        case_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[JournalEntry]:
        j = t.journal_entries.c
        query = sa.select(t.journal_entries).order_by(j.at, j.id)
        if case_id is not None:
            query = query.where(j.case_id == case_id)
        if since is not None:
            query = query.where(j.at >= since)
        if until is not None:
            query = query.where(j.at < until)
        return [_journal_entry(row._mapping) for row in self.conn.execute(query)]


def _uuid(value: Any) -> str:
    return str(uuid.UUID(str(value)))


def _outbox_row(item: OutboxItem) -> dict[str, Any]:
    return {
        "id": item.id, "case_id": item.case_id, "target": item.target,
        "operation": item.operation, "payload": dict(item.payload),
        "idempotency_key": item.idempotency_key, "status": item.status.value,
        "attempts": item.attempts, "next_at": item.next_at, "created_at": item.created_at,
        "confirmed_at": item.confirmed_at, "last_http_status": item.last_http_status,
        "last_detail": item.last_detail,
        "on_confirm": None if item.on_confirm is None else dict(item.on_confirm),
    }  # fmt: skip


def _outbox_item(row: Any) -> OutboxItem:
    m: Mapping[str, Any] = row._mapping
    return OutboxItem(
        id=_uuid(m["id"]), case_id=_uuid(m["case_id"]), target=m["target"],
        operation=m["operation"], payload=dict(m["payload"] or {}),
        idempotency_key=m["idempotency_key"], status=OutboxStatus(m["status"]),
        attempts=m["attempts"], next_at=m["next_at"], created_at=m["created_at"],
        confirmed_at=m["confirmed_at"], last_http_status=m["last_http_status"],
        last_detail=m["last_detail"],
        on_confirm=None if m["on_confirm"] is None else dict(m["on_confirm"]),
    )  # fmt: skip


def _journal_row(entry: JournalEntry) -> dict[str, Any]:
    lines = [
        {
            "account_code": line.account.code,
            "account_name": line.account.name,
            "account_kind": line.account.kind.value,
            "debit": None if line.debit is None else str(line.debit.amount),
            "credit": None if line.credit is None else str(line.credit.amount),
            "currency": line.money.currency,
            "memo": line.memo,
        }
        for line in entry.lines
    ]
    return {
        "id": entry.id, "case_id": entry.case_id, "kind": entry.kind.value, "at": entry.at,
        "reverses": entry.reverses, "lines": lines,
    }  # fmt: skip


def _journal_entry(m: Any) -> JournalEntry:
    def money(value: str | None, currency: str) -> Money | None:
        return None if value is None else Money(Decimal(value), currency)

    lines = tuple(
        Line(
            Account(x["account_code"], x["account_name"], AccountKind(x["account_kind"])),
            money(x["debit"], x["currency"]),
            money(x["credit"], x["currency"]),
            x["memo"],
        )
        for x in m["lines"]
    )
    return JournalEntry(
        id=_uuid(m["id"]), case_id=_uuid(m["case_id"]), kind=PostingKind(m["kind"]),
        at=m["at"], lines=lines, reverses=None if m["reverses"] is None else _uuid(m["reverses"]),
    )  # fmt: skip
