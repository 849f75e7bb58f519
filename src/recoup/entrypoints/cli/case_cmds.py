"""`recoup cases list|show|move|resolve|reopen|snooze|wake|accept|assign|export|import|
bulk-move|bulk-assign|not-duplicate`."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from recoup.domain.audit import AuditRecord
from recoup.domain.cases.case import Case
from recoup.domain.cases.lifecycle import RESOLUTION_CODES
from recoup.domain.cases.urgency import urgency_score
from recoup.domain.errors import InvalidInputError
from recoup.domain.ids import short_id
from recoup.domain.policy import explain_record
from recoup.entrypoints.cli.common import console, get_app, guarded, money, print_json
from recoup.services.bulk import (
    apply_changes,
    bulk_assign,
    bulk_move,
    export_cases,
    read_changes,
)
from recoup.services.cases import (
    CaseDetail,
    CaseFilter,
    accept_case,
    assign_case,
    dismiss_duplicate,
    list_cases,
    move_case,
    show_case,
    snooze_case,
    wake_case,
)
from recoup.services.recovery import case_recovery

cases_app = typer.Typer(help="Work with cases.", no_args_is_help=True)


@cases_app.command("list")
@guarded
def list_command(
    owner: Annotated[str | None, typer.Option(help="owner team, e.g. payments_ops")] = None,
    type_: Annotated[str | None, typer.Option("--type", help="finding type")] = None,
    status: Annotated[str, typer.Option(help="open (default), all, or a status")] = "open",
    tier: Annotated[str | None, typer.Option(help="straight_through, guided or human")] = None,
    queue: Annotated[str | None, typer.Option(help="queue, e.g. disputes.policy")] = None,
    assignee: Annotated[str | None, typer.Option(help="the member working the case")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    sort: Annotated[str, typer.Option(help="newest (default) or urgency")] = "newest",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List cases, newest first or most urgent first."""
    filters = CaseFilter(owner_team=owner, type=type_, status=None if status == "all" else status,
                         tier=tier, queue=queue, assignee=assignee)  # fmt: skip
    app = get_app()
    now = app.clock.now()
    found = list_cases(filters, reader=app.reader, limit=limit, sort=sort, now=now)
    if as_json:
        print_json([{**_fields(case), "urgency_score": urgency_score(case, now)} for case in found])
        return
    table = Table(title=f"{len(found)} cases")
    for column in ("id", "type", "status", "tier", "owner", "assignee", "entity", "at stake",
                   "SLA due", "urgency", "findings"):  # fmt: skip
        table.add_column(column, overflow="fold")
    for case in found:
        table.add_row(
            short_id(case.id), case.type, case.status.value, case.tier.value, case.queue,
            case.assignee or "-", f"{case.entity_kind}:{case.entity_key}",
            money(case.amount, case.currency),
            case.sla_due_at.strftime("%Y-%m-%d %H:%M"), f"{urgency_score(case, now):g}",
            str(case.finding_count) + (" dup?" if case.duplicate_of else ""),
        )  # fmt: skip
    console.print(table)


def _fields(case: Case) -> dict[str, Any]:
    return {name: getattr(case, name) for name in Case.__slots__}


def _plain(detail: CaseDetail) -> dict[str, Any]:
    return {
        "case": detail.case,
        "findings": detail.findings,
        "events": detail.events,
        "timeline": detail.timeline,
        "audit": [
            {"seq": a.seq, "at": a.at, "actor": a.actor, "action": a.action, "data": a.data}
            for a in detail.audit
        ],
    }


@cases_app.command("show")
@guarded
def show_command(
    case_id: Annotated[str, typer.Argument(help="case id or the start of it")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Show one case: what it is about, its evidence, its timeline and its audit trail."""
    detail = show_case(case_id, reader=get_app().reader)
    if as_json:
        print_json(_plain(detail))
        return
    case = detail.case
    console.print(f"[bold]case {case.id}[/]  {case.title}", soft_wrap=True)
    rows = [
        ("type", f"{case.type} ({case.category}, {case.kind} exception, breakpoint "
                 f"{case.breakpoint})"),
        ("entity", f"{case.entity_kind}:{case.entity_key}"),
        ("status", f"{case.status.value}; tier {case.tier.value}"
                   + ("; automation paused" if case.pauses_automation else "")
                   + (f"; outcome {case.outcome}" if case.outcome else "")
                   + (f" at {case.resolved_at.isoformat()}" if case.resolved_at else "")),
        ("owner", f"{case.owner_team} (queue {case.queue}); "
                  f"assignee {case.assignee or 'none, in the queue'}"),
        ("money at stake", money(case.amount, case.currency)),
        ("opened", case.opened_at.isoformat()),
        ("SLA", f"goal {case.sla_goal_at.isoformat()}, deadline {case.sla_due_at.isoformat()}"),
        ("urgency", f"{urgency_score(case, get_app().clock.now()):g} (rises with age and money)"),
        ("counterparty", case.counterparty or "unknown"),
        ("outcome money", f"recovered {money(case.recovered_amount, case.currency)}, written off "
                          f"{money(case.written_off_amount, case.currency)}, lost "
                          f"{money(case.lost_amount, case.currency)}, handling cost "
                          f"{money(case.handling_cost, case.currency)}"),
        ("seen", f"{case.first_seen_at.isoformat()} .. {case.last_seen_at.isoformat()}, "
                 f"{case.finding_count} finding(s)"),
    ]  # fmt: skip
    for label, value in rows:
        console.print(f"  {label:>15}: {value}", soft_wrap=True)
    if case.pending_resolution:
        console.print(f"  {'writeback':>15}: resolves as "
                      f"{case.pending_resolution.get('resolution')} once its writeback is "
                      "confirmed (`recoup writeback status`)", soft_wrap=True)  # fmt: skip
    climb, attempts = case_recovery(case.id, reader=get_app().reader)
    if climb is not None:
        due = climb.next_at.isoformat() if climb.next_at else "-"
        console.print(f"  {'recovery':>15}: ladder {climb.ladder} {climb.status.value}, step "
                      f"{climb.step_index + 1}, {len(attempts)} attempts, next {due} "
                      "(`recoup recover show`)", soft_wrap=True)  # fmt: skip
    if case.duplicate_of:
        console.print(
            f"  {'duplicate?':>15}: likely the same claim as case {case.duplicate_of} "
            f"(score {case.duplicate_score:.2f}); resolve with --code duplicate or run "
            "`recoup cases not-duplicate`", soft_wrap=True,
        )  # fmt: skip
    _decision(case)
    _events(detail)
    _timeline(detail)
    _audit(detail.audit)


def _decision(case: Case) -> None:
    """Why the case is routed as it is: each output, the table and row that decided it."""
    if case.decision is None:
        console.print("\n[bold]decision[/]: taxonomy defaults (no policy decision recorded)")
        return
    console.print("\n[bold]decision[/] (policy)")
    for line in explain_record(case.decision):
        console.print(f"  {line}", soft_wrap=True)


def _events(detail: CaseDetail) -> None:
    table = Table(title="evidence events")
    for column in ("occurred", "source", "external id", "type", "amount", "reason"):
        table.add_column(column, overflow="fold")
    for e in detail.events:
        table.add_row(e["occurred_at"].isoformat(), e["source"], e["external_id"], e["type"],
                      money(e["amount"], e["currency"]), e["reason_code"] or "")  # fmt: skip
    console.print(table)


def _timeline(detail: CaseDetail) -> None:
    table = Table(title="timeline")
    for column in ("at", "what", "by", "summary"):
        table.add_column(column, overflow="fold")
    for entry in detail.timeline:
        table.add_row(entry["at"].isoformat(), entry["kind"], entry["actor"], entry["summary"])
    console.print(table)


def _audit(records: list[AuditRecord]) -> None:
    table = Table(title="audit trail")
    for column in ("#", "at", "actor", "action", "hash"):
        table.add_column(column, overflow="fold")
    for r in records:
        table.add_row(str(r.seq), r.at.isoformat(), r.actor, r.action, r.hash[:16])
    console.print(table)


_DURATION = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_until(until: str | None, for_: str | None, now: datetime) -> datetime:
    """``--until`` (an ISO 8601 time with a zone, or a date meaning its start in UTC) or
    ``--for`` (a duration: 30m, 12h, 3d, 2w), exactly one of them."""
    if (until is None) == (for_ is None):
        raise InvalidInputError("give exactly one of --until and --for")
    if for_ is not None:
        match = _DURATION.match(for_.strip().lower())
        if match is None:
            raise InvalidInputError(f"--for {for_!r}: use a number and m, h, d or w (e.g. 3d)")
        return now + timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    assert until is not None
    try:
        parsed = datetime.fromisoformat(until.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(f"--until {until!r} is not an ISO 8601 date or time") from None
    if len(until.strip()) == 10:
        parsed = parsed.replace(tzinfo=UTC)
    if parsed.tzinfo is None:
        raise InvalidInputError(f"--until {until!r} has no time zone; add Z or +hh:mm")
    return parsed.astimezone(UTC)


Until = Annotated[str | None, typer.Option(help="ISO 8601 time with a zone, or a date")]
For = Annotated[str | None, typer.Option("--for", help="a duration: 30m, 12h, 3d, 2w")]
Reason = Annotated[str, typer.Option(help="why (kept on the audit record)")]
Actor = Annotated[str, typer.Option(help="who is doing it")]


def _done(case: Case, what: str) -> None:
    console.print(f"case {short_id(case.id)} {what} (status {case.status.value})")


@cases_app.command("snooze")
@guarded
def snooze_command(
    case_id: Annotated[str, typer.Argument(help="case id or a unique prefix")],
    reason: Reason,
    until: Until = None,
    for_: For = None,
    actor: Actor = "cli",
) -> None:
    """Snooze an open case: it leaves the working queue until then, findings still attach."""
    app = get_app()
    when = parse_until(until, for_, app.clock.now())
    case = snooze_case(case_id, when, reason, actor=f"user:{actor}", uow=app.uow,
                       clock=app.clock)  # fmt: skip
    _done(case, f"snoozed until {when.isoformat()}")


@cases_app.command("wake")
@guarded
def wake_command(
    case_id: Annotated[str, typer.Argument(help="case id or a unique prefix")],
    actor: Actor = "cli",
) -> None:
    """End a snooze now."""
    app = get_app()
    _done(wake_case(case_id, actor=f"user:{actor}", uow=app.uow, clock=app.clock), "woken")


@cases_app.command("accept")
@guarded
def accept_command(
    case_id: Annotated[str, typer.Argument(help="case id or a unique prefix")],
    reason: Reason,
    until: Until = None,
    for_: For = None,
    actor: Actor = "cli",
) -> None:
    """Accept a discrepancy until then: resolved as accepted; findings with the same evidence
    are suppressed, new evidence reopens the case."""
    app = get_app()
    when = parse_until(until, for_, app.clock.now())
    case = accept_case(case_id, when, reason, actor=f"user:{actor}", uow=app.uow,
                       clock=app.clock)  # fmt: skip
    _done(case, f"accepted until {when.isoformat()}")


MOVE_HELP = "triaged, in_progress, waiting, escalated, resolved, closed"
CODE_HELP = ", ".join(sorted(RESOLUTION_CODES))


@cases_app.command("move")
@guarded
def move_command(
    case_id: Annotated[str, typer.Argument(help="case id or a unique prefix")],
    to: Annotated[str, typer.Option("--to", help=MOVE_HELP)],
    reason: Reason,
    resolution: Annotated[
        str | None, typer.Option(help="with --to resolved: recovered, written_off, ...")
    ] = None,
    on: Annotated[
        str | None, typer.Option("--on", help="with --to waiting: customer, counterparty, internal")
    ] = None,
    actor: Actor = "cli",
) -> None:
    """Move a case along its lifecycle; a move the lifecycle does not allow exits 5."""
    app = get_app()
    case = move_case(case_id, to, reason, actor=f"user:{actor}", uow=app.uow, clock=app.clock,
                     resolution=resolution, waiting_on=on)  # fmt: skip
    _done(case, f"moved to {case.status.value}")


@cases_app.command("resolve")
@guarded
def resolve_command(
    case_id: Annotated[str, typer.Argument(help="case id or a unique prefix")],
    code: Annotated[str, typer.Option(help=CODE_HELP)],
    reason: Reason,
    actor: Actor = "cli",
) -> None:
    """Resolve a case with a resolution code."""
    app = get_app()
    case = move_case(case_id, "resolved", reason, actor=f"user:{actor}", uow=app.uow,
                     clock=app.clock, resolution=code)  # fmt: skip
    _done(case, f"resolved as {case.outcome}")


@cases_app.command("reopen")
@guarded
def reopen_command(
    case_id: Annotated[str, typer.Argument(help="case id or a unique prefix")],
    reason: Reason,
    actor: Actor = "cli",
) -> None:
    """Reopen a resolved or closed case (counted as rework)."""
    app = get_app()
    case = move_case(case_id, "triaged", reason, actor=f"user:{actor}", uow=app.uow,
                     clock=app.clock)  # fmt: skip
    _done(case, f"reopened ({case.reopen_count} times so far)")


Owner = Annotated[str | None, typer.Option(help="owner team, e.g. payments_ops")]
TypeOpt = Annotated[str | None, typer.Option("--type", help="finding type")]
Status = Annotated[str, typer.Option(help="open (default), all, or a status")]
Queue = Annotated[str | None, typer.Option(help="queue, e.g. disputes.policy")]
Limit = Annotated[int, typer.Option(min=1, max=100_000)]


def _filters(owner: str | None, type_: str | None, status: str, queue: str | None) -> CaseFilter:
    return CaseFilter(owner_team=owner, type=type_, queue=queue,
                      status=None if status == "all" else status)  # fmt: skip


@cases_app.command("export")
@guarded
def export_command(
    owner: Owner = None,
    type_: TypeOpt = None,
    status: Status = "open",
    queue: Queue = None,
    limit: Limit = 10_000,
    output: Annotated[Path | None, typer.Option(help="write here instead of stdout")] = None,
) -> None:
    """Export cases to CSV; fill in to / resolution / waiting_on / reason and import it back."""
    app = get_app()
    text = export_cases(_filters(owner, type_, status, queue), reader=app.reader, limit=limit)
    if output is None:
        sys.stdout.write(text)
        return
    output.write_text(text, encoding="utf-8")
    console.print(f"{text.count(chr(10)) - 1:,} cases written to {output}")


@cases_app.command("import")
@guarded
def import_command(
    file: Annotated[Path, typer.Argument(help="an edited `recoup cases export` file")],
    actor: Actor = "cli",
) -> None:
    """Apply the moves of an edited export: every row is checked first; one bad row and nothing
    is applied (exit 3, every problem listed with its line)."""
    app = get_app()
    try:
        text = file.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InvalidInputError(f"cannot read {file}: {exc.strerror}") from None
    changes, skipped = read_changes(text, file=str(file))
    report = apply_changes(changes, actor=f"user:{actor}", uow=app.uow, clock=app.clock,
                           file=str(file))  # fmt: skip
    console.print(f"{len(report.applied):,} cases moved, {skipped:,} rows without a move")


@cases_app.command("bulk-move")
@guarded
def bulk_move_command(
    to: Annotated[str, typer.Option("--to", help=MOVE_HELP)],
    reason: Reason,
    owner: Owner = None,
    type_: TypeOpt = None,
    status: Status = "open",
    queue: Queue = None,
    limit: Limit = 1_000,
    resolution: Annotated[str | None, typer.Option(help="with --to resolved")] = None,
    on: Annotated[str | None, typer.Option("--on", help="with --to waiting")] = None,
    actor: Actor = "cli",
) -> None:
    """Move every matching case (up to --limit) at once; all or nothing."""
    app = get_app()
    report = bulk_move(_filters(owner, type_, status, queue), to, reason, actor=f"user:{actor}",
                       uow=app.uow, reader=app.reader, clock=app.clock, limit=limit,
                       resolution=resolution, waiting_on=on)  # fmt: skip
    console.print(f"{len(report.applied):,} cases moved to {to}")


@cases_app.command("assign")
@guarded
def assign_command(
    case_id: Annotated[str, typer.Argument(help="case id or a unique prefix")],
    reason: Reason,
    to: Annotated[str | None, typer.Option("--to", help="a member of the case's team")] = None,
    unassign: Annotated[bool, typer.Option("--unassign", help="back to the queue")] = False,
    actor: Actor = "cli",
) -> None:
    """Give a case to a member of its owner team, or back to the queue."""
    if (to is None) == (not unassign):
        raise InvalidInputError("give exactly one of --to and --unassign")
    app = get_app()
    case = assign_case(case_id, to, reason, actor=f"user:{actor}", uow=app.uow, clock=app.clock,
                       directory=app.policy.teams)  # fmt: skip
    _done(case, f"assigned to {case.assignee}" if case.assignee else "back in the queue")


@cases_app.command("bulk-assign")
@guarded
def bulk_assign_command(
    reason: Reason,
    to: Annotated[str | None, typer.Option("--to", help="a member of the cases' team")] = None,
    unassign: Annotated[bool, typer.Option("--unassign", help="back to the queue")] = False,
    owner: Owner = None,
    type_: TypeOpt = None,
    queue: Queue = None,
    limit: Limit = 1_000,
    actor: Actor = "cli",
) -> None:
    """Assign every matching open case (up to --limit) at once; all or nothing."""
    if (to is None) == (not unassign):
        raise InvalidInputError("give exactly one of --to and --unassign")
    app = get_app()
    report = bulk_assign(_filters(owner, type_, "open", queue), to, reason,
                         actor=f"user:{actor}", uow=app.uow, reader=app.reader, clock=app.clock,
                         limit=limit, directory=app.policy.teams)  # fmt: skip
    console.print(f"{len(report.applied):,} cases assigned to {to or 'the queue'}")


@cases_app.command("not-duplicate")
@guarded
def not_duplicate_command(
    case_id: Annotated[str, typer.Argument(help="case id or a unique prefix")],
    reason: Reason,
    actor: Actor = "cli",
) -> None:
    """Dismiss a likely-duplicate link and go on working the case."""
    app = get_app()
    case = dismiss_duplicate(case_id, reason, actor=f"user:{actor}", uow=app.uow,
                             clock=app.clock)  # fmt: skip
    _done(case, "no longer marked as a duplicate")
