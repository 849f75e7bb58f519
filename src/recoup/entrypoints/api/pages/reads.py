"""Read models behind the pages: queues with counts, one queue page, one case page.

Read-only pages may query the store directly (STYLE.md). The queue page is keyset-paginated
on ``(opened_at, id)`` newest first, so page 1,000 costs what page 1 costs; its open-case scan
uses the partial index ``ix_cases_open_queue`` (migration 0012), whose condition the query
repeats word for word (``status NOT IN ('resolved', 'closed')``) so that SQLite and PostgreSQL
both see that the index covers it. A case is read by its full id through the primary key; a
short prefix falls back to the prefix search.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from recoup.adapters.store import tables as t
from recoup.adapters.store.rows import case_from_row
from recoup.adapters.store.uow import SqlUnitOfWork
from recoup.domain.audit import AuditRecord
from recoup.domain.cases.case import Case, CaseStatus
from recoup.domain.detection.taxonomy import ALL_TYPES, Tier
from recoup.domain.errors import InvalidInputError, NotFoundError
from recoup.domain.recovery.ladder import LadderSpec, LadderState
from recoup.domain.recovery.ledger import JournalEntry
from recoup.domain.recovery.store import AttemptRecord

OPEN_CONDITION = "cases.status NOT IN ('resolved', 'closed')"
"""The partial index's condition, repeated exactly (a bound parameter would not match it)."""
PAGE_SIZE = 50
COUNT_CAP = 1_000
"""A queue page counts its matches up to this many ("1,000+"); the overview counts exactly."""
STATUSES = ("open", *(s.value for s in CaseStatus))
KINDS = ("policy", "system")


@dataclass(frozen=True, slots=True)
class QueueFilters:
    tier: str | None = None
    kind: str | None = None
    type: str | None = None
    status: str = "open"
    assignee: str | None = None

    def check(self) -> None:
        if self.status not in STATUSES:
            raise InvalidInputError(f"status: unknown status {self.status!r}")
        if self.tier is not None and self.tier not in {x.value for x in Tier}:
            raise InvalidInputError(f"tier: unknown tier {self.tier!r}")
        if self.kind is not None and self.kind not in KINDS:
            raise InvalidInputError(f"kind: unknown kind {self.kind!r}; use policy or system")
        if self.type is not None and self.type not in ALL_TYPES:
            raise InvalidInputError(f"type: unknown case type {self.type!r}")

    def query_args(self) -> dict[str, str]:
        """The filters as query parameters (for links that keep them)."""
        args = {"tier": self.tier, "kind": self.kind, "type": self.type, "assignee": self.assignee}
        found = {k: v for k, v in args.items() if v}
        if self.status != "open":
            found["status"] = self.status
        return found


@dataclass(frozen=True, slots=True)
class QueueRow:
    queue: str
    owner_team: str
    kind: str
    open: int
    overdue: int


@dataclass(frozen=True, slots=True)
class QueuePage:
    queue: str
    cases: list[Case]
    count: int
    count_capped: bool
    next_cursor: str | None


def encode_cursor(case: Case) -> str:
    text = f"{case.opened_at.isoformat()}|{case.id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, case_id = text.partition("|")
        moment = datetime.fromisoformat(at)
        uuid.UUID(case_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInputError("after: not a page cursor from this site") from None
    if moment.tzinfo is None:
        raise InvalidInputError("after: not a page cursor from this site")
    return moment, case_id


def queue_rows(tx: SqlUnitOfWork, now: datetime) -> list[QueueRow]:
    """Every queue with open cases: how many, and how many are past their SLA deadline. Grouped
    by queue alone, so ``ix_cases_open_queue`` answers it without reading the table; the team
    and kind are the two halves of the queue's name (``<team>.<kind>``)."""
    c = t.cases.c
    overdue = sa.func.sum(sa.case((c.sla_due_at < now, 1), else_=0))
    query = (
        sa.select(c.queue, sa.func.count(), overdue)
        .where(sa.text(OPEN_CONDITION))
        .group_by(c.queue)
        .order_by(c.queue)
    )
    rows = []
    for queue, n, late in tx.conn.execute(query):
        team, _, kind = str(queue).rpartition(".")
        rows.append(QueueRow(queue, team or str(queue), kind, int(n), int(late or 0)))
    return rows


def _where(queue: str, filters: QueueFilters) -> list[Any]:
    c = t.cases.c
    terms: list[Any] = [c.queue == queue]
    if filters.status == "open":
        terms.append(sa.text(OPEN_CONDITION))
    else:
        terms.append(c.status == filters.status)
    for name in ("tier", "kind", "type", "assignee"):
        value = getattr(filters, name)
        if value:
            terms.append(getattr(c, name) == value)
    return terms


def queue_page(
    tx: SqlUnitOfWork, queue: str, filters: QueueFilters, *, after: str | None = None,
    size: int = PAGE_SIZE,
) -> QueuePage:  # fmt: skip
    """One page of a queue, newest first, after the cursor of the previous page's last case."""
    filters.check()
    c = t.cases.c
    terms = _where(queue, filters)
    counted = sa.select(sa.literal(1)).where(*terms).limit(COUNT_CAP + 1).subquery()
    count = int(tx.conn.execute(sa.select(sa.func.count()).select_from(counted)).scalar_one())
    query = sa.select(t.cases).where(*terms)
    if after:
        at, case_id = decode_cursor(after)
        # A row-value comparison, so both databases seek the index to the cursor.
        query = query.where(
            sa.tuple_(c.opened_at, c.id)
            < sa.tuple_(sa.literal(at, c.opened_at.type), sa.literal(case_id, c.id.type))
        )
    query = query.order_by(c.opened_at.desc(), c.id.desc()).limit(size + 1)
    cases = [case_from_row(row) for row in tx.conn.execute(query)]
    more = len(cases) > size
    cases = cases[:size]
    return QueuePage(queue, cases, min(count, COUNT_CAP), count > COUNT_CAP,
                     encode_cursor(cases[-1]) if more and cases else None)  # fmt: skip


def find_case(tx: SqlUnitOfWork, id_or_prefix: str) -> Case:
    """By primary key when a full id is given (the page's links), else by unique prefix."""
    try:
        full = str(uuid.UUID(id_or_prefix))
    except ValueError:
        return tx.find_case(id_or_prefix)
    row = tx.conn.execute(sa.select(t.cases).where(t.cases.c.id == full)).first()
    if row is None:
        raise NotFoundError(f"no case {id_or_prefix!r}")
    return case_from_row(row)


@dataclass
class CasePage:
    case: Case
    findings: list[dict[str, Any]]
    events: list[dict[str, Any]]
    timeline: list[dict[str, Any]]
    audit: list[AuditRecord]
    climb: LadderState | None
    ladder: LadderSpec | None
    attempts: list[AttemptRecord]
    messages: list[dict[str, Any]]
    postings: list[JournalEntry]
    outbox: list[Any]
    links: list[dict[str, Any]]
    duplicate: Case | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def case_page(tx: SqlUnitOfWork, id_or_prefix: str, ladders: dict[str, LadderSpec]) -> CasePage:
    case = find_case(tx, id_or_prefix)
    findings = tx.case_findings(case.id)
    evidence = sorted({str(e) for f in findings for e in (f["evidence"] or [])})
    m = t.messages.c
    messages = [dict(r._mapping) for r in tx.conn.execute(
        sa.select(t.messages).where(m.case_id == case.id).order_by(m.at, m.id))]  # fmt: skip
    g = t.selfservice_grants.c
    grants = sa.select(g.nonce, g.actions, g.created_at, g.expires_at, g.used_at, g.used_action,
                       g.failed_attempts).where(g.case_id == case.id)  # fmt: skip
    links = [dict(r._mapping) for r in tx.conn.execute(grants.order_by(g.created_at))]
    duplicate = None
    if case.duplicate_of:
        row = tx.conn.execute(sa.select(t.cases).where(t.cases.c.id == case.duplicate_of)).first()
        duplicate = None if row is None else case_from_row(row)
    climb = tx.climbs([case.id]).get(case.id)
    ladder = ladders.get(case.type) if ladders else None
    if climb is not None and ladder is None:
        ladder = ladders.get(climb.ladder)
    return CasePage(
        case=case,
        findings=findings,
        events=tx.event_summaries(evidence) if evidence else [],
        timeline=tx.case_timeline(case.id),
        audit=tx.case_audit(case.id),
        climb=climb,
        ladder=ladder,
        attempts=tx.attempts_of(case.id),
        messages=messages,
        postings=tx.journal_entries(case_id=case.id),
        outbox=tx.outbox_of_case(case.id),
        links=links,
        duplicate=duplicate,
    )
