"""Read queries the REST API needs beyond the CLI's, and case attachments; mixed into the unit
of work.

Lists are pages, newest first, continued by keyset: ``before`` is the (time, id) of the last row
of the previous page, and a page holds the rows strictly after it in that order. A row inserted
meanwhile never shifts a page, and the index on (time, id) serves every page equally fast.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from recoup.adapters.store import tables as t
from recoup.adapters.store.queries import OPEN_STATUSES
from recoup.adapters.store.rows import case_from_row
from recoup.adapters.store.tables_api import case_attachments
from recoup.domain.cases.case import Case

Before = tuple[datetime, str] | None
"""The (time, id) the page continues after, or None for the first page."""


def _after(time_column: Any, id_column: Any, before: Before) -> Any:
    """Rows after ``before`` in (time desc, id desc) order."""
    assert before is not None
    at, last_id = before
    return sa.or_(time_column < at, sa.and_(time_column == at, id_column < last_id))


def _plain(row: Any) -> dict[str, Any]:
    """A row as a dict with its uuid columns as canonical strings."""
    out = dict(row._mapping)
    for name, value in out.items():
        if isinstance(value, uuid.UUID):
            out[name] = str(value)
    return out


class ApiQueriesMixin:
    conn: sa.Connection
    dialect: str
    _insert: Callable[[sa.Table], Any]

    # -- events ------------------------------------------------------------------------------

    def event_page(self, filters: Mapping[str, Any], before: Before,
                   limit: int) -> list[dict[str, Any]]:  # fmt: skip
        """Events matching ``filters`` (source, type, ref_kind and ref_key, occurred_from
        inclusive, occurred_to exclusive), without their raw body."""
        e = t.events.c
        columns = [col for col in t.events.c if col.name != "raw"]
        query = sa.select(*columns).order_by(e.occurred_at.desc(), e.id.desc()).limit(limit)
        if filters.get("source"):
            query = query.where(e.source == filters["source"])
        if filters.get("type"):
            query = query.where(e.type == filters["type"])
        if filters.get("occurred_from") is not None:
            query = query.where(e.occurred_at >= filters["occurred_from"])
        if filters.get("occurred_to") is not None:
            query = query.where(e.occurred_at < filters["occurred_to"])
        if filters.get("ref_kind"):
            links = t.entity_links.c
            linked = sa.select(links.event_id).where(
                links.kind == filters["ref_kind"], links.key == filters["ref_key"]
            )
            query = query.where(e.id.in_(linked))
        if before is not None:
            query = query.where(_after(e.occurred_at, e.id, before))
        return [_plain(row) for row in self.conn.execute(query)]

    def event_detail(self, event_id: str) -> dict[str, Any] | None:
        """One event with its raw body, or None."""
        row = self.conn.execute(sa.select(t.events).where(t.events.c.id == event_id)).first()
        return None if row is None else _plain(row)

    # -- findings ----------------------------------------------------------------------------

    def finding_page(self, filters: Mapping[str, Any], before: Before,
                     limit: int) -> list[dict[str, Any]]:  # fmt: skip
        """Findings of a type and/or a case, newest (by when it happened) first."""
        f = t.findings.c
        query = sa.select(t.findings).order_by(f.occurred_at.desc(), f.id.desc()).limit(limit)
        if filters.get("type"):
            query = query.where(f.type == filters["type"])
        if filters.get("case_id"):
            query = query.where(f.case_id == filters["case_id"])
        if before is not None:
            query = query.where(_after(f.occurred_at, f.id, before))
        return [_plain(row) for row in self.conn.execute(query)]

    def finding_detail(self, finding_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(sa.select(t.findings).where(t.findings.c.id == finding_id)).first()
        return None if row is None else _plain(row)

    # -- cases -------------------------------------------------------------------------------

    def case_page(self, filters: Mapping[str, Any], before: Before, limit: int) -> list[Case]:
        """Cases matching ``filters`` (the fields of ``CaseFilter`` plus ``kind``), newest
        opened first."""
        c = t.cases.c
        query = sa.select(t.cases).order_by(c.opened_at.desc(), c.id.desc()).limit(limit)
        status = filters.get("status")
        if status == "open":
            query = query.where(c.status.in_(OPEN_STATUSES))
        elif status:
            query = query.where(c.status == status)
        for name in ("owner_team", "type", "tier", "queue", "kind", "assignee"):
            if filters.get(name):
                query = query.where(getattr(c, name) == filters[name])
        if before is not None:
            query = query.where(_after(c.opened_at, c.id, before))
        return [case_from_row(row) for row in self.conn.execute(query)]

    def queue_counts(self, now: datetime) -> list[tuple[str, str, str, str, int, int]]:
        """(queue, owner team, kind, tier, open cases, breached) over the open cases; breached
        means the SLA deadline has passed (whether or not the worker has escalated it yet)."""
        c = t.cases.c
        breached = sa.case((sa.or_(c.sla_breached_at.is_not(None), c.sla_due_at < now), 1),
                           else_=0)  # fmt: skip
        query = (
            sa.select(c.queue, c.owner_team, c.kind, c.tier, sa.func.count(), sa.func.sum(breached))
            .where(c.status.in_(OPEN_STATUSES))
            .group_by(c.queue, c.owner_team, c.kind, c.tier)
            .order_by(c.queue, c.tier)
        )
        return [(q, team, kind, tier, int(n), int(b or 0))
                for q, team, kind, tier, n, b in self.conn.execute(query)]  # fmt: skip

    def case_messages(self, case_id: str) -> list[dict[str, Any]]:
        m = t.messages.c
        query = sa.select(t.messages).where(m.case_id == case_id).order_by(m.at, m.id)
        return [_plain(row) for row in self.conn.execute(query)]

    # -- attachments -------------------------------------------------------------------------

    def add_attachment(self, row: Mapping[str, Any]) -> bool:
        """Store an attachment; False when the case already holds this file (same SHA-256)."""
        a = case_attachments.c
        stmt = self._insert(case_attachments).values(dict(row))
        stmt = stmt.on_conflict_do_nothing(index_elements=[a.case_id, a.sha256])
        result = self.conn.execute(stmt)
        return bool(result.rowcount)

    def case_attachments(self, case_id: str) -> list[dict[str, Any]]:
        """A case's attachments, oldest first, without their content."""
        a = case_attachments.c
        columns = [col for col in case_attachments.c if col.name != "content"]
        query = sa.select(*columns).where(a.case_id == case_id).order_by(a.uploaded_at, a.id)
        return [_plain(row) for row in self.conn.execute(query)]

    def attachment(self, case_id: str, attachment_id: str) -> dict[str, Any] | None:
        """One attachment with its content, or None (also when it belongs to another case)."""
        a = case_attachments.c
        query = sa.select(case_attachments).where(a.id == attachment_id, a.case_id == case_id)
        row = self.conn.execute(query).first()
        return None if row is None else _plain(row)

    def attachment_by_hash(self, case_id: str, sha256: str) -> dict[str, Any] | None:
        a = case_attachments.c
        columns = [col for col in case_attachments.c if col.name != "content"]
        query = sa.select(*columns).where(a.case_id == case_id, a.sha256 == sha256)
        row = self.conn.execute(query).first()
        return None if row is None else _plain(row)

    # -- reconciliation ----------------------------------------------------------------------

    def reconcile_run_list(self, limit: int) -> list[dict[str, Any]]:
        r = t.reconcile_runs.c
        query = sa.select(t.reconcile_runs).order_by(r.started_at.desc(), r.id.desc()).limit(limit)
        return [_plain(row) for row in self.conn.execute(query)]

    def reconcile_run(self, run_id: str) -> dict[str, Any] | None:
        query = sa.select(t.reconcile_runs).where(t.reconcile_runs.c.id == run_id)
        row = self.conn.execute(query).first()
        return None if row is None else _plain(row)

    def break_page(self, filters: Mapping[str, Any], before: Before,
                   limit: int) -> list[dict[str, Any]]:  # fmt: skip
        """Breaks by status (default any), reason and side, newest first seen first."""
        b = t.reconcile_breaks.c
        query = (
            sa.select(t.reconcile_breaks).order_by(b.first_seen_at.desc(), b.id.desc()).limit(limit)
        )
        for name in ("status", "reason", "side"):
            if filters.get(name):
                query = query.where(getattr(b, name) == filters[name])
        if filters.get("run_id"):
            query = query.where(b.run_id == filters["run_id"])
        if before is not None:
            query = query.where(_after(b.first_seen_at, b.id, before))
        return [_plain(row) for row in self.conn.execute(query)]
