"""Bulk work on cases: move many at once, and export a queue to CSV and import the edited file.

Both are all-or-nothing: every change is checked against the lifecycle first, and if any row
or case fails, nothing is applied and every problem is reported (by line for a file). The
changes that pass are applied in one transaction, each with its timeline entry and audit record.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from recoup.domain.audit import AuditEntry
from recoup.domain.cases import lifecycle
from recoup.domain.cases.case import Case
from recoup.domain.cases.casing import CasePlan
from recoup.domain.cases.teams import TeamDirectory
from recoup.domain.errors import InvalidInputError, Location, RecoupError
from recoup.domain.ports import Clock, UnitOfWork, UnitOfWorkFactory
from recoup.services.cases import CaseFilter, assignment, list_cases

EXPORT_COLUMNS = (
    "id", "type", "status", "tier", "queue", "entity", "amount", "currency", "opened_at",
    "sla_due_at", "outcome", "to", "resolution", "waiting_on", "reason",
)  # fmt: skip
"""The columns of an export. ``to``, ``resolution``, ``waiting_on`` and ``reason`` are the ones
to fill in; the others are for reading and are ignored on import."""


@dataclass(frozen=True, slots=True)
class Change:
    case_id: str
    to: str
    reason: str
    resolution: str | None = None
    waiting_on: str | None = None
    line: int | None = None


@dataclass
class BulkReport:
    applied: list[tuple[str, str, str]] = field(default_factory=list)
    """(case id, from, to) for each case moved."""
    skipped: int = 0
    """Rows with nothing to do (an empty ``to``)."""


def export_cases(filters: CaseFilter, *, reader: Callable[[], UnitOfWork], limit: int) -> str:
    """The cases matching ``filters`` as CSV text with the editable columns empty."""
    cases = list_cases(filters, reader=reader, limit=limit)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for case in cases:
        writer.writerow([
            case.id, case.type, case.status.value, case.tier.value, case.queue,
            f"{case.entity_kind}:{case.entity_key}",
            "" if case.amount is None else str(case.amount), case.currency or "",
            case.opened_at.isoformat(), case.sla_due_at.isoformat(), case.outcome or "",
            "", "", "", "",
        ])  # fmt: skip
    return out.getvalue()


def read_changes(text: str, *, file: str) -> tuple[list[Change], int]:
    """The changes asked for in an edited export; rows with an empty ``to`` are skipped.
    Raises ``InvalidInputError`` naming every bad line."""
    reader = csv.DictReader(io.StringIO(text))
    missing = {"id", "to", "reason"} - set(reader.fieldnames or ())
    if missing:
        names = ", ".join(sorted(missing))
        raise InvalidInputError(f"the file has no {names} column", location=Location(file, 1))
    changes: list[Change] = []
    problems: list[str] = []
    skipped = 0
    for row in reader:
        line = reader.line_num
        to = (row.get("to") or "").strip()
        if not to:
            skipped += 1
            continue
        case_id = (row.get("id") or "").strip()
        reason = (row.get("reason") or "").strip()
        if not case_id:
            problems.append(f"line {line}: no case id")
        elif not reason:
            problems.append(f"line {line}: a reason is required to move case {case_id}")
        else:
            resolution = (row.get("resolution") or "").strip() or None
            waiting_on = (row.get("waiting_on") or "").strip() or None
            changes.append(Change(case_id, to, reason, resolution, waiting_on, line))
    if problems:
        raise _refused(problems, file)
    return changes, skipped


def _refused(problems: Sequence[str], file: str | None) -> InvalidInputError:
    shown = "; ".join(problems[:20]) + (f"; and {len(problems) - 20} more" if len(problems) > 20
                                         else "")  # fmt: skip
    message = f"nothing applied: {len(problems)} problem(s): {shown}"
    return InvalidInputError(message, location=Location(file=file) if file else None)


def apply_changes(
    changes: Sequence[Change],
    *,
    actor: str,
    uow: UnitOfWorkFactory,
    clock: Clock,
    file: str | None = None,
) -> BulkReport:
    """Check every change, then apply all of them in one transaction, or none."""
    by_id = {change.case_id: change for change in changes}
    return _all_or_nothing(
        [(c.case_id, c.line) for c in changes],
        lambda case, now: _move(case, by_id[case.id], actor, now),
        actor=actor, uow=uow, clock=clock, file=file,
    )  # fmt: skip


def _all_or_nothing(
    targets: Sequence[tuple[str, int | None]],
    plan_for: Callable[[Case, datetime], CasePlan],
    *,
    actor: str,
    uow: UnitOfWorkFactory,
    clock: Clock,
    file: str | None = None,
) -> BulkReport:
    """Plan a change for every (case id, line) with ``plan_for``; if any fails, raise with
    every problem and apply nothing; else apply all in one transaction."""
    now = clock.now()
    report = BulkReport()
    with uow() as tx:
        cases = tx.cases_by_id([case_id for case_id, _ in targets])
        plans: list[CasePlan] = []
        problems: list[str] = []
        seen: set[str] = set()
        for case_id, line in targets:
            where = f"line {line}: " if line is not None else ""
            case = cases.get(case_id)
            if case is None:
                problems.append(f"{where}no case {case_id}")
                continue
            if case.id in seen:
                problems.append(f"{where}case {case.id} is listed twice")
                continue
            seen.add(case.id)
            before = case.status.value
            try:
                plans.append(plan_for(case, now))
            except RecoupError as exc:
                problems.append(f"{where}{exc.message}")
                continue
            report.applied.append((case.id, before, case.status.value))
        if problems:
            raise _refused(problems, file)
        for plan in plans:
            tx.save_plan(plan, [])
        entries = [entry for plan in plans for entry in plan.audit]
        summary = AuditEntry(now, actor, "cases.bulk_changed", "cases", f"bulk-{now.isoformat()}",
                             {"cases": len(plans), "file": file})  # fmt: skip
        tx.append_audit([*entries, summary])
        tx.commit()
    return report


def _move(case: Case, change: Change, actor: str, now: datetime) -> CasePlan:
    return lifecycle.transition(
        case, lifecycle.target_stage(change.to), reason=change.reason, actor=actor, now=now,
        resolution=change.resolution, waiting_on=change.waiting_on,
    )  # fmt: skip


def bulk_move(
    filters: CaseFilter,
    to: str,
    reason: str,
    *,
    actor: str,
    uow: UnitOfWorkFactory,
    reader: Callable[[], UnitOfWork],
    clock: Clock,
    limit: int,
    resolution: str | None = None,
    waiting_on: str | None = None,
) -> BulkReport:
    """Move every case matching ``filters`` (up to ``limit``), all or nothing."""
    cases = list_cases(filters, reader=reader, limit=limit)
    changes = [Change(c.id, to, reason, resolution, waiting_on) for c in cases]
    return apply_changes(changes, actor=actor, uow=uow, clock=clock)


def bulk_assign(
    filters: CaseFilter,
    member: str | None,
    reason: str,
    *,
    actor: str,
    uow: UnitOfWorkFactory,
    reader: Callable[[], UnitOfWork],
    clock: Clock,
    limit: int,
    directory: TeamDirectory,
) -> BulkReport:
    """Give every matching open case (up to ``limit``) to ``member``, or back to the queue with
    None; all or nothing (a case of a team ``member`` is not in refuses the whole batch)."""
    cases = list_cases(filters, reader=reader, limit=limit)
    return _all_or_nothing(
        [(c.id, None) for c in cases],
        lambda case, now: assignment(case, member, reason, actor, now, directory),
        actor=actor, uow=uow, clock=clock,
    )  # fmt: skip
