"""Read queries for the CLI (and later the API): cases, their timeline, findings and audit."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa

from recoup.adapters.store import tables as t
from recoup.adapters.store.rows import audit_from_row, case_from_row, finding_from_row
from recoup.domain.audit import AuditRecord
from recoup.domain.cases.case import Case, CaseStatus
from recoup.domain.detection.findings import Finding
from recoup.domain.errors import ConflictError, InvalidInputError, NotFoundError

OPEN_STATUSES = [s.value for s in CaseStatus if s.is_open]


def id_prefix_filter(column: Any, given: str) -> Any:
    """Match a full id, or a prefix of its hex digits (how people quote ids)."""
    digits = given.replace("-", "").lower()
    if not digits or any(ch not in "0123456789abcdef" for ch in digits):
        raise InvalidInputError(f"{given!r} is not an id or the start of one")
    return sa.func.replace(sa.cast(column, sa.String), "-", "").like(f"{digits}%")


class CaseQueriesMixin:
    conn: sa.Connection

    def cases_with_first_finding(self, limit: int | None) -> Iterator[tuple[Case, Finding]]:
        """Every case (oldest first) with the finding that opened it, for a policy backtest."""
        f = t.findings.c
        first = (
            sa.select(f.case_id, sa.func.min(f.occurred_at).label("at"))
            .group_by(f.case_id)
            .subquery()
        )
        query = (
            sa.select(t.cases, t.findings)
            .join(first, first.c.case_id == t.cases.c.id)
            .join(t.findings, sa.and_(f.case_id == first.c.case_id, f.occurred_at == first.c.at))
            .order_by(t.cases.c.opened_at, t.cases.c.id, f.id)
        )
        if limit is not None:
            query = query.limit(limit)
        seen: set[str] = set()
        for row in self.conn.execute(query):
            case = case_from_row(row)
            if case.id in seen:
                continue  # two findings at the same first instant: the lowest id opened it
            seen.add(case.id)
            yield case, finding_from_row(row, len(t.cases.c))

    def list_cases(self, filters: Mapping[str, Any], limit: int) -> list[Case]:
        c = t.cases.c
        query = sa.select(t.cases).order_by(c.opened_at.desc(), c.id).limit(limit)
        status = filters.get("status")
        if status == "open":
            query = query.where(c.status.in_(OPEN_STATUSES))
        elif status:
            query = query.where(c.status == status)
        for name in ("owner_team", "type", "tier", "queue", "kind", "assignee"):
            if filters.get(name):
                query = query.where(getattr(c, name) == filters[name])
        return [case_from_row(r) for r in self.conn.execute(query)]

    def open_case_rows(self) -> list[tuple[str, str, str | None, Any]]:
        """(owner team, type, currency, amount) of every open case, for summaries."""
        c = t.cases.c
        query = sa.select(c.owner_team, c.type, c.currency, c.amount).where(
            c.status.in_(OPEN_STATUSES)
        )
        return [tuple(r) for r in self.conn.execute(query)]

    def find_case(self, id_or_prefix: str) -> Case:
        try:  # a whole id is a primary-key lookup; only a prefix needs the scan
            where = t.cases.c.id == str(uuid.UUID(id_or_prefix))
        except ValueError:
            where = id_prefix_filter(t.cases.c.id, id_or_prefix)
        query = sa.select(t.cases).where(where).limit(2)
        rows = self.conn.execute(query).all()
        if not rows:
            raise NotFoundError(f"no case {id_or_prefix!r}")
        if len(rows) > 1:
            raise ConflictError(f"{id_or_prefix!r} matches several cases; give more digits")
        return case_from_row(rows[0])

    def case_timeline(self, case_id: str) -> list[dict[str, Any]]:
        tl = t.case_timeline.c
        query = sa.select(t.case_timeline).where(tl.case_id == case_id).order_by(tl.at, tl.id)
        return [dict(r._mapping) for r in self.conn.execute(query)]

    def case_findings(self, case_id: str) -> list[dict[str, Any]]:
        f = t.findings.c
        query = sa.select(t.findings).where(f.case_id == case_id).order_by(f.occurred_at, f.id)
        return [dict(r._mapping) for r in self.conn.execute(query)]

    def case_audit(self, case_id: str) -> list[AuditRecord]:
        a = t.audit_log.c
        query = (
            sa.select(t.audit_log)
            .where(a.subject_type == "case", a.subject_id == case_id)
            .order_by(a.seq)
        )
        return [audit_from_row(r) for r in self.conn.execute(query)]

    def event_summaries(self, ids: list[str]) -> list[dict[str, Any]]:
        e = t.events.c
        query = (
            sa.select(e.id, e.source, e.external_id, e.type, e.occurred_at, e.amount, e.currency,
                      e.reason_code)
            .where(e.id.in_(ids))
            .order_by(e.occurred_at)
        )  # fmt: skip
        return [dict(r._mapping) for r in self.conn.execute(query)]

    def store_counts(self) -> dict[str, int]:
        counts = {}
        for name, table in (("events", t.events), ("findings", t.findings),
                            ("cases", t.cases), ("quarantine", t.quarantine),
                            ("audit_records", t.audit_log)):  # fmt: skip
            counts[name] = int(self.conn.execute(sa.select(sa.func.count()).select_from(table))
                               .scalar_one())  # fmt: skip
        return counts
