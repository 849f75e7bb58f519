"""Reading cases: the queue, one case with its evidence, and money at stake."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from recoup.domain.audit import AuditEntry, AuditRecord
from recoup.domain.cases import duplicates, lifecycle, noise
from recoup.domain.cases.case import Case, CaseStatus
from recoup.domain.cases.casing import CasePlan, change_plan
from recoup.domain.cases.teams import TeamDirectory, choose, teams_of
from recoup.domain.cases.urgency import urgency_score
from recoup.domain.detection.findings import Finding
from recoup.domain.detection.taxonomy import ALL_TYPES, Tier
from recoup.domain.errors import ConflictError, InvalidInputError
from recoup.domain.ingestion.event import Event
from recoup.domain.ports import Clock, UnitOfWork, UnitOfWorkFactory

FILTER_FIELDS = ("owner_team", "type", "status", "tier", "queue", "assignee")
STATUS_FILTERS = {"open", *(s.value for s in CaseStatus)}


@dataclass(frozen=True, slots=True)
class CaseFilter:
    owner_team: str | None = None
    type: str | None = None
    status: str | None = "open"
    tier: str | None = None
    queue: str | None = None
    assignee: str | None = None

    def check(self) -> None:
        if self.status is not None and self.status not in STATUS_FILTERS:
            allowed = ", ".join(sorted(STATUS_FILTERS))
            raise InvalidInputError(f"unknown status {self.status!r}; use one of {allowed}")
        if self.type is not None and self.type not in ALL_TYPES:
            raise InvalidInputError(f"unknown case type {self.type!r}")
        if self.tier is not None and self.tier not in {t.value for t in Tier}:
            raise InvalidInputError(f"unknown tier {self.tier!r}")


SORTS = ("newest", "urgency")
URGENCY_SCAN = 100_000
"""Sorting by urgency reads at most this many matching cases (newest first) to rank."""


def list_cases(
    filters: CaseFilter,
    *,
    reader: Callable[[], UnitOfWork],
    limit: int = 50,
    sort: str = "newest",
    now: datetime | None = None,
) -> list[Case]:
    """Matching cases, newest first, or most urgent first (``sort="urgency"``, at ``now``)."""
    filters.check()
    if limit < 1:
        raise InvalidInputError("limit must be at least 1")
    if sort not in SORTS:
        raise InvalidInputError(f"unknown sort {sort!r}; use one of {', '.join(SORTS)}")
    wanted = {k: getattr(filters, k) for k in FILTER_FIELDS}
    with reader() as tx:
        if sort == "newest":
            return tx.list_cases(wanted, limit)
        found = tx.list_cases(wanted, max(limit, URGENCY_SCAN))
    if now is None:
        raise InvalidInputError("sorting by urgency needs the time")
    found.sort(key=lambda case: (-urgency_score(case, now), case.opened_at, case.id))
    return found[:limit]


@dataclass(frozen=True)
class CaseDetail:
    case: Case
    findings: list[dict[str, Any]]
    events: list[dict[str, Any]]
    timeline: list[dict[str, Any]]
    audit: list[AuditRecord]


def show_case(id_or_prefix: str, *, reader: Callable[[], UnitOfWork]) -> CaseDetail:
    with reader() as tx:
        case = tx.find_case(id_or_prefix)
        findings = tx.case_findings(case.id)
        evidence = sorted({str(e) for f in findings for e in f["evidence"]})
        return CaseDetail(
            case=case,
            findings=findings,
            events=tx.event_summaries(evidence),
            timeline=tx.case_timeline(case.id),
            audit=tx.case_audit(case.id),
        )


@dataclass(frozen=True)
class OpenCaseSummary:
    by_owner: dict[str, int]
    by_type: dict[str, int]
    at_stake: dict[str, Decimal]
    at_stake_by_owner: dict[str, dict[str, Decimal]]
    total: int


def summarise_open_cases(*, reader: Callable[[], UnitOfWork]) -> OpenCaseSummary:
    by_owner: dict[str, int] = defaultdict(int)
    by_type: dict[str, int] = defaultdict(int)
    at_stake: dict[str, Decimal] = defaultdict(Decimal)
    by_owner_money: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    with reader() as tx:
        rows = tx.open_case_rows()
    for owner, type_, currency, amount in rows:
        by_owner[owner] += 1
        by_type[type_] += 1
        if currency is not None and amount is not None:
            at_stake[currency] += amount
            by_owner_money[owner][currency] += amount
    return OpenCaseSummary(
        by_owner=dict(by_owner),
        by_type=dict(by_type),
        at_stake=dict(at_stake),
        at_stake_by_owner={k: dict(v) for k, v in by_owner_money.items()},
        total=len(rows),
    )


# -- noise control ---------------------------------------------------------------------------


def _change(
    id_or_prefix: str,
    change: Callable[[Case, datetime], CasePlan],
    *,
    uow: UnitOfWorkFactory,
    clock: Clock,
) -> Case:
    """Apply one change to one case, with its timeline entry and audit record, in one
    transaction. A concurrent change makes the store refuse (ConflictError): retry."""
    now = clock.now()
    with uow() as tx:
        case = tx.find_case(id_or_prefix)
        plan = change(case, now)
        tx.save_plan(plan, [])
        tx.append_audit(plan.audit)
        tx.commit()
    return case


def snooze_case(
    id_or_prefix: str,
    until: datetime,
    reason: str,
    *,
    actor: str,
    uow: UnitOfWorkFactory,
    clock: Clock,
) -> Case:
    """Snooze an open case until ``until``; findings keep attaching meanwhile."""
    return _change(id_or_prefix, lambda case, now: noise.snooze(case, until, reason, actor, now),
                   uow=uow, clock=clock)  # fmt: skip


def wake_case(id_or_prefix: str, *, actor: str, uow: UnitOfWorkFactory, clock: Clock) -> Case:
    return _change(id_or_prefix, lambda case, now: noise.wake(case, now, actor),
                   uow=uow, clock=clock)  # fmt: skip


def accept_case(
    id_or_prefix: str,
    until: datetime,
    reason: str,
    *,
    actor: str,
    uow: UnitOfWorkFactory,
    clock: Clock,
) -> Case:
    """Accept a case's discrepancy until ``until`` (resolved as ``accepted``); a later finding
    with new evidence reopens it."""
    return _change(id_or_prefix, lambda case, now: noise.accept(case, until, reason, actor, now),
                   uow=uow, clock=clock)  # fmt: skip


def move_case(
    id_or_prefix: str,
    to: str,
    reason: str,
    *,
    actor: str,
    uow: UnitOfWorkFactory,
    clock: Clock,
    resolution: str | None = None,
    waiting_on: str | None = None,
) -> Case:
    """Move a case along its lifecycle (``lifecycle.TRANSITIONS``), audited."""
    status = lifecycle.target_stage(to)
    return _change(
        id_or_prefix,
        lambda case, now: lifecycle.transition(
            case, status, reason=reason, actor=actor, now=now, resolution=resolution,
            waiting_on=waiting_on,
        ),
        uow=uow,
        clock=clock,
    )  # fmt: skip


# -- assignment ------------------------------------------------------------------------------

ASSIGN_ACTOR = "system:assignment"


def assign_new_cases(plan: CasePlan, store: UnitOfWork | Any, directory: TeamDirectory,
                     now: datetime) -> int:  # fmt: skip
    """Give each case the plan opens to a member of its owner team (see ``teams.py``), with an
    audit record each; returns how many were assigned. Teams without members are skipped."""
    teams = teams_of((c.owner_team for c in plan.created.values()), directory)
    if not teams:
        return 0
    loads = store.assignment_loads([team.name for team in teams])
    assigned = 0
    for case in sorted(plan.created.values(), key=lambda c: (c.opened_at, c.id)):
        team = directory.team(case.owner_team)
        member = choose(team, loads) if team is not None else None
        if member is None or team is None:
            continue
        case.assignee = member
        assigned += 1
        plan.audit.append(AuditEntry(now, ASSIGN_ACTOR, "case.assigned", "case", case.id,
                                     {"assignee": member, "strategy": team.strategy}))  # fmt: skip
    return assigned


def link_duplicate_claims(
    plan: CasePlan,
    findings: Sequence[Finding],
    events: Mapping[str, Event],
    store: UnitOfWork | Any,
    now: datetime,
) -> int:
    """Note the counterparty of each case ``plan`` opens (from the event that triggered it,
    when that event is in ``events``) and link the likely duplicate claims among them and the
    stored cases (see ``domain/cases/duplicates.py``); returns how many were linked."""
    if not plan.created:
        return 0
    by_finding = {f.id: f for f in findings}
    for finding_id, case_id in plan.assignments.items():
        case = plan.created.get(case_id)
        finding = by_finding.get(finding_id)
        if case is None or finding is None or case.counterparty is not None:
            continue
        event = events.get(finding.trigger_event_id)
        if event is not None:
            case.counterparty = duplicates.counterparty_of(event.refs)
    parties = {c.counterparty for c in plan.created.values() if c.counterparty is not None}
    if not parties:
        return 0
    candidates = store.claim_candidates(parties, now - duplicates.LOOKBACK)
    return duplicates.plan_links(plan, candidates, now)


def dismiss_duplicate(
    id_or_prefix: str, reason: str, *, actor: str, uow: UnitOfWorkFactory, clock: Clock
) -> Case:
    """The operator says the case is not a duplicate and continues working it."""
    return _change(
        id_or_prefix,
        lambda case, now: duplicates.dismiss(case, actor=actor, reason=reason, now=now),
        uow=uow,
        clock=clock,
    )


def assign_case(
    id_or_prefix: str,
    member: str | None,
    reason: str,
    *,
    actor: str,
    uow: UnitOfWorkFactory,
    clock: Clock,
    directory: TeamDirectory,
) -> Case:
    """Give a case to ``member`` of its owner team (or back to the queue with None)."""
    return _change(
        id_or_prefix,
        lambda case, now: assignment(case, member, reason, actor, now, directory),
        uow=uow,
        clock=clock,
    )


def assignment(
    case: Case, member: str | None, reason: str, actor: str, now: datetime,
    directory: TeamDirectory,
) -> CasePlan:  # fmt: skip
    """The plan that gives ``case`` to ``member`` (a member of its team, when the team is
    known) or back to the queue."""
    if not reason.strip():
        raise InvalidInputError("a reason is required (it goes on the audit record)")
    if not case.is_open:
        raise ConflictError(f"case {case.id} is {case.status.value}: only open cases are assigned")
    known_team = directory.team(case.owner_team) is not None
    if member is not None and known_team and not directory.is_member(case.owner_team, member):
        raise InvalidInputError(f"{member!r} is not a member of {case.owner_team}")
    before = case.snapshot()
    case.assignee = member
    case.updated_at = now
    who = member or "the queue"
    return change_plan(case, before, now=now, actor=actor, action="case.assigned",
                       kind="assigned", summary=f"assigned to {who}: {reason.strip()}",
                       data={"assignee": member, "reason": reason.strip()})  # fmt: skip
