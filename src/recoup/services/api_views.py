"""What the REST API reads: pages of events, findings, cases and breaks; one case with all it
carries; queues with their counts; the audit trail up to its head.

Pages are newest first and continue by keyset (``before``: the time and id of the last row
seen), except cases sorted by urgency, which are ranked by :func:`services.cases.list_cases`
and continue by position.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from recoup.domain.audit import AuditRecord, ChainBreak, verify_chain
from recoup.domain.cases.case import Case, CaseStatus
from recoup.domain.errors import InvalidInputError, Location, NotFoundError
from recoup.domain.ports import UnitOfWork
from recoup.domain.recovery.ladder import LadderState
from recoup.domain.recovery.ledger import JournalEntry
from recoup.domain.recovery.outbox import OutboxItem
from recoup.domain.recovery.store import AttemptRecord
from recoup.services.cases import CaseDetail, CaseFilter, list_cases, show_case

Before = tuple[datetime, str] | None
KINDS = ("policy", "system")


class ApiStore(UnitOfWork, Protocol):
    """The reads of ``adapters/store/api_queries.py`` on top of the unit of work."""

    def event_page(self, filters: Mapping[str, Any], before: Before,
                   limit: int) -> list[dict[str, Any]]: ...  # fmt: skip

    def event_detail(self, event_id: str) -> dict[str, Any] | None: ...

    def finding_page(self, filters: Mapping[str, Any], before: Before,
                     limit: int) -> list[dict[str, Any]]: ...  # fmt: skip

    def finding_detail(self, finding_id: str) -> dict[str, Any] | None: ...

    def case_page(self, filters: Mapping[str, Any], before: Before, limit: int) -> list[Case]: ...

    def queue_counts(self, now: datetime) -> list[tuple[str, str, str, str, int, int]]: ...

    def case_messages(self, case_id: str) -> list[dict[str, Any]]: ...

    def case_attachments(self, case_id: str) -> list[dict[str, Any]]: ...

    def attachment(self, case_id: str, attachment_id: str) -> dict[str, Any] | None: ...

    def attachment_by_hash(self, case_id: str, sha256: str) -> dict[str, Any] | None: ...

    def add_attachment(self, row: Mapping[str, Any]) -> bool: ...

    def reconcile_run_list(self, limit: int) -> list[dict[str, Any]]: ...

    def reconcile_run(self, run_id: str) -> dict[str, Any] | None: ...

    def break_page(self, filters: Mapping[str, Any], before: Before,
                   limit: int) -> list[dict[str, Any]]: ...  # fmt: skip


Reader = Callable[[], ApiStore]


def _range(start: datetime | None, end: datetime | None, names: tuple[str, str]) -> None:
    for name, value in zip(names, (start, end), strict=True):
        if value is not None and value.utcoffset() is None:
            raise InvalidInputError(f"{name} needs a time zone", location=Location(field=name))
    if start is not None and end is not None and end <= start:
        raise InvalidInputError(f"{names[1]} must be after {names[0]}",
                                location=Location(field=names[1]))  # fmt: skip


# -- events and findings -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventFilter:
    source: str | None = None
    type: str | None = None
    ref: str | None = None
    """``kind:key`` of an entity the event names, e.g. ``payment:pi_1``."""
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None

    def query(self) -> dict[str, Any]:
        _range(self.occurred_from, self.occurred_to, ("occurred_from", "occurred_to"))
        wanted: dict[str, Any] = {"source": self.source, "type": self.type,
                                  "occurred_from": self.occurred_from,
                                  "occurred_to": self.occurred_to}  # fmt: skip
        if self.ref is not None:
            kind, sep, key = self.ref.partition(":")
            if not sep or not kind or not key:
                raise InvalidInputError(f"ref {self.ref!r}: use kind:key, e.g. payment:pi_1",
                                        location=Location(field="ref"))  # fmt: skip
            wanted.update(ref_kind=kind, ref_key=key)
        return wanted


def event_page(filters: EventFilter, *, reader: Reader, before: Before,
               limit: int) -> list[dict[str, Any]]:  # fmt: skip
    wanted = filters.query()
    with reader() as tx:
        return tx.event_page(wanted, before, limit)


def get_event(event_id: str, *, reader: Reader) -> dict[str, Any]:
    with reader() as tx:
        found = tx.event_detail(event_id)
    if found is None:
        raise NotFoundError(f"no event {event_id}")
    return found


def finding_page(type_: str | None, case_id: str | None, *, reader: Reader, before: Before,
                 limit: int) -> list[dict[str, Any]]:  # fmt: skip
    with reader() as tx:
        return tx.finding_page({"type": type_, "case_id": case_id}, before, limit)


def get_finding(finding_id: str, *, reader: Reader) -> dict[str, Any]:
    with reader() as tx:
        found = tx.finding_detail(finding_id)
    if found is None:
        raise NotFoundError(f"no finding {finding_id}")
    return found


# -- cases -------------------------------------------------------------------------------------


def case_page(
    filters: CaseFilter,
    *,
    kind: str | None,
    sort: str,
    reader: Reader,
    before: Before,
    offset: int,
    limit: int,
    now: datetime,
) -> list[Case]:
    """One page of matching cases. ``newest`` continues after ``before``; ``urgency`` ranks
    with ``list_cases`` (at ``now``) and continues at ``offset``."""
    filters.check()
    if kind is not None and kind not in KINDS:
        raise InvalidInputError(f"unknown kind {kind!r}; use policy or system",
                                location=Location(field="kind"))  # fmt: skip
    if sort == "urgency":
        if kind is not None:
            raise InvalidInputError("sort=urgency does not filter by kind; filter by queue "
                                    "(queues are <team>.<kind>)",
                                    location=Location(field="kind"))  # fmt: skip
        ranked = list_cases(filters, reader=reader, limit=offset + limit, sort="urgency", now=now)
        return ranked[offset:]
    if sort != "newest":
        raise InvalidInputError(f"unknown sort {sort!r}; use newest or urgency",
                                location=Location(field="sort"))  # fmt: skip
    wanted = {"owner_team": filters.owner_team, "type": filters.type, "status": filters.status,
              "tier": filters.tier, "queue": filters.queue, "assignee": filters.assignee,
              "kind": kind}  # fmt: skip
    with reader() as tx:
        return tx.case_page(wanted, before, limit)


@dataclass(frozen=True)
class CaseView:
    """One case with everything it carries, as the case page and ``GET /cases/{id}`` show it."""

    detail: CaseDetail
    climb: LadderState | None
    attempts: list[AttemptRecord]
    messages: list[dict[str, Any]]
    postings: list[JournalEntry]
    writebacks: list[OutboxItem]
    attachments: list[dict[str, Any]]
    next_action: str


def case_view(id_or_prefix: str, *, reader: Reader, now: datetime) -> CaseView:
    detail = show_case(id_or_prefix, reader=reader)
    case_id = detail.case.id
    with reader() as tx:
        climb = tx.climbs([case_id]).get(case_id)
        attempts = tx.attempts_of(case_id)
        messages = tx.case_messages(case_id)
        postings = tx.journal_entries(case_id=case_id)
        writebacks = tx.outbox_of_case(case_id)
        attachments = tx.case_attachments(case_id)
    return CaseView(detail, climb, attempts, messages, postings, writebacks, attachments,
                    next_action(detail.case, climb, now))  # fmt: skip


def next_action(case: Case, climb: LadderState | None, now: datetime) -> str:
    """The one thing to do next, from the case's state alone (no model, no extra reads)."""
    status = case.status
    if case.pending_resolution:
        return ("wait for the writeback to be confirmed; the case resolves as "
                f"{case.pending_resolution.get('resolution')} then")  # fmt: skip
    if not case.is_open:
        return "nothing: the case is " + status.value
    if case.duplicate_of:
        return (f"decide whether it duplicates case {case.duplicate_of}: resolve as duplicate "
                "or dismiss the link")  # fmt: skip
    if status is CaseStatus.SNOOZED and case.snoozed_until is not None:
        return f"nothing until {case.snoozed_until.isoformat()} (snoozed)"
    if climb is not None and not climb.is_finished:
        due = climb.next_at.isoformat() if climb.next_at else "when the pending action reports"
        return f"the {climb.ladder} ladder runs step {climb.step_index + 1} next ({due})"
    if status is CaseStatus.WAITING:
        return f"wait for {case.waiting_on or 'the input asked for'}, then move to in_progress"
    if case.sla_due_at <= now or status is CaseStatus.ESCALATED:
        return "act now: the SLA deadline has passed"
    if case.assignee is None:
        return f"assign it to a member of {case.owner_team}"
    if status is CaseStatus.NEW:
        return "triage it"
    return f"work it before the SLA goal at {case.sla_goal_at.isoformat()}"


@dataclass
class QueueView:
    queue: str
    owner_team: str
    kind: str
    open: int = 0
    breached: int = 0
    by_tier: dict[str, int] = field(default_factory=dict)


def queue_overview(*, reader: Reader, now: datetime) -> list[QueueView]:
    """Every queue with open cases: counts by tier and breached deadlines."""
    queues: dict[str, QueueView] = {}
    with reader() as tx:
        rows = tx.queue_counts(now)
    for queue, team, kind, tier, count, breached in rows:
        view = queues.setdefault(queue, QueueView(queue, team, kind))
        view.open += count
        view.breached += breached
        view.by_tier[tier] = view.by_tier.get(tier, 0) + count
    return sorted(queues.values(), key=lambda v: v.queue)


# -- reconciliation ----------------------------------------------------------------------------


def reconcile_runs(*, reader: Reader, limit: int) -> list[dict[str, Any]]:
    with reader() as tx:
        return tx.reconcile_run_list(limit)


def reconcile_run(run_id: str, *, reader: Reader) -> dict[str, Any]:
    with reader() as tx:
        found = tx.reconcile_run(run_id)
    if found is None:
        raise NotFoundError(f"no reconciliation run {run_id}")
    return found


def break_page(filters: Mapping[str, Any], *, reader: Reader, before: Before,
               limit: int) -> list[dict[str, Any]]:  # fmt: skip
    with reader() as tx:
        return tx.break_page(filters, before, limit)


# -- audit -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditSnapshot:
    """The head of the trail at one moment and whether every record up to it holds."""

    head_seq: int
    head_hash: str
    records: int
    problem: ChainBreak | None

    @property
    def is_intact(self) -> bool:
        return self.problem is None


def audit_snapshot(*, reader: Reader) -> AuditSnapshot:
    """Read the head, then verify the chain up to it (records appended meanwhile are not
    counted, so a busy system does not look broken)."""
    with reader() as tx:
        head_seq, head_hash = tx.audit_head()
        records = tx.audit_records()
        try:
            check = verify_chain(itertools.takewhile(lambda r: r.seq <= head_seq, records))
        finally:
            records.close()
    problem = check.problem
    if problem is None and (check.records != head_seq or check.last_hash != head_hash):
        problem = ChainBreak(check.records + 1, f"the trail ends at record {check.records} but "
                             f"the head says {head_seq}; records were removed")  # fmt: skip
    return AuditSnapshot(head_seq, head_hash, check.records, problem)


def audit_records_upto(head_seq: int, *, reader: Reader) -> Iterator[AuditRecord]:
    """The records 1..``head_seq`` in order, streamed (nothing held in memory)."""
    with reader() as tx:
        records = tx.audit_records()
        try:
            for record in records:
                if record.seq > head_seq:
                    break
                yield record
        finally:
            records.close()
