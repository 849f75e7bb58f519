"""`recoup recover run|status|show|link|redeem|evidence`: ladders, links, dispute evidence."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from recoup.adapters.clock import FixedClock
from recoup.domain.errors import InvalidInputError
from recoup.domain.ports import Clock
from recoup.entrypoints.cli.case_cmds import parse_until
from recoup.entrypoints.cli.common import console, get_app, guarded, money
from recoup.services.cases import show_case
from recoup.services.recovery import (
    case_recovery,
    recovery_status,
    run_recovery,
    submit_evidence,
)
from recoup.services.selfservice import issue_case_link, redeem_link

recover_app = typer.Typer(help="Recovery ladders: retries, outreach, hand-offs.",
                          no_args_is_help=True)  # fmt: skip


@recover_app.command("run")
@guarded
def run_command(
    as_of: Annotated[
        str | None, typer.Option(help="run what is due at this ISO 8601 time instead of now")
    ] = None,
) -> None:
    """Run every due ladder step once (the worker does this every round)."""
    app = get_app()
    clock: Clock = app.clock
    if as_of is not None:
        clock = FixedClock(parse_until(as_of, None, app.clock.now()))
    report = run_recovery(uow=app.uow, clock=clock, recovery=app.recovery())
    console.print(f"as of {clock.now().isoformat()}: {report.climbs:,} climbs due, "
                  f"{report.started:,} started")  # fmt: skip
    actions = ", ".join(f"{k} {v:,}" for k, v in sorted(report.actions.items())) or "none"
    console.print(f"actions: {actions}")
    recovered = ", ".join(money(v, k) for k, v in sorted(report.recovered_money.items()))
    console.print(f"recovered {report.recovered:,} cases ({recovered or 'no money'}); "
                  f"handed to a person {report.escalated:,}; waiting for a better time "
                  f"{report.deferred:,}")  # fmt: skip


@recover_app.command("status")
@guarded
def status_command() -> None:
    """Climbs by status and attempts by action and outcome."""
    status = recovery_status(reader=get_app().reader)
    table = Table(title="climbs")
    for column in ("status", "climbs", "next due"):
        table.add_column(column)
    for name, row in sorted(status.climbs.items()):
        due = row["next_at"].isoformat() if row["next_at"] is not None else "-"
        table.add_row(name, f"{row['count']:,}", due)
    console.print(table)
    attempts = Table(title="attempts")
    for column in ("action", "outcome", "attempts"):
        attempts.add_column(column)
    for (kind, outcome), count in sorted(status.attempts.items()):
        attempts.add_row(kind, outcome, f"{count:,}")
    console.print(attempts)


@recover_app.command("show")
@guarded
def show_command(
    case_id: Annotated[str, typer.Argument(help="case id or a unique prefix")],
) -> None:
    """One case's climb: where it is on its ladder, and every attempt."""
    app = get_app()
    case = show_case(case_id, reader=app.reader).case
    state, attempts = case_recovery(case.id, reader=app.reader)
    console.print(f"[bold]case {case.id}[/] {case.type}, {case.status.value}")
    console.print(f"  recovered {money(case.recovered_amount, case.currency)}, written off "
                  f"{money(case.written_off_amount, case.currency)}, handling cost "
                  f"{money(case.handling_cost, case.currency)}")  # fmt: skip
    if state is None:
        console.print("  no ladder: this type waits in its queue for a person")
        return
    due = state.next_at.isoformat() if state.next_at else "-"
    console.print(f"  ladder {state.ladder}: {state.status.value}, step {state.step_index + 1}, "
                  f"{state.attempts} attempts, next {due}")  # fmt: skip
    for entry in state.history:
        console.print(f"    {entry.at.isoformat()}  {entry.event.value:<14} {entry.detail}",
                      soft_wrap=True)  # fmt: skip
    for attempt in attempts:
        console.print(f"  attempt {attempt.id}: {attempt.kind} {attempt.outcome} "
                      f"{attempt.detail}", soft_wrap=True)  # fmt: skip


@recover_app.command("link")
@guarded
def link_command(
    case_id: Annotated[str, typer.Argument(help="case id or a unique prefix")],
    actions: Annotated[
        str | None,
        typer.Option(
            help="comma-separated, e.g. retry_now,update_payment_method (default: what "
            "the case's current ladder step offers)"
        ),
    ] = None,
    actor: Annotated[str, typer.Option(help="who issues it (goes on the audit record)")] = "cli",
) -> None:
    """Issue a self-service link for a case; prints the link and its one-time code (shown once,
    never stored)."""
    app = get_app()
    chosen = [a.strip() for a in actions.split(",") if a.strip()] if actions else None
    issued = issue_case_link(case_id, chosen, actor=f"user:{actor}", uow=app.uow, clock=app.clock,
                             recovery=app.recovery())  # fmt: skip
    console.print(f"link: {issued.url}", soft_wrap=True)
    console.print(f"code: {issued.grant.code}  (send it by another channel; it is not stored)")
    console.print(f"offers {', '.join(issued.grant.actions)} until "
                  f"{issued.grant.expires_at.isoformat()}")  # fmt: skip


@recover_app.command("redeem")
@guarded
def redeem_command(
    token: Annotated[str, typer.Argument(help="the token of the link (after /self-service/)")],
    code: Annotated[str, typer.Option(help="the six-digit code")],
    action: Annotated[str, typer.Option(help="one of the actions the link offers")],
) -> None:
    """Redeem a self-service choice as the customer would (the page calls the same service)."""
    app = get_app()
    case_id = redeem_link(token.rsplit("/", 1)[-1], code, action, uow=app.uow, clock=app.clock,
                          recovery=app.recovery())  # fmt: skip
    console.print(f"case {case_id}: {action} applied")


@recover_app.command("evidence")
@guarded
def evidence_command(
    case_id: Annotated[str, typer.Argument(help="a dispute case id or a unique prefix")],
    field: Annotated[
        list[str], typer.Option("--field", help="NAME=VALUE, e.g. product_description=...")
    ],
    submit: Annotated[bool, typer.Option(help="submit to the issuer now (once only)")] = False,
    actor: Annotated[str, typer.Option(help="who sends it (goes on the audit record)")] = "cli",
) -> None:
    """Answer a dispute with evidence through the PSP: staged, or submitted with --submit."""
    evidence: dict[str, str] = {}
    for item in field:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InvalidInputError(f"--field {item!r}: write NAME=VALUE")
        evidence[name.strip()] = value
    app = get_app()
    result = submit_evidence(case_id, evidence, submit=submit, actor=f"user:{actor}",
                             uow=app.uow, clock=app.clock, recovery=app.recovery())  # fmt: skip
    console.print(f"evidence {result.status}: {result.detail or ''}")
