"""`recoup timers run|status`: the expected-but-missing timers and snoozes."""

from __future__ import annotations

import signal
from typing import Annotated

import typer
from rich.table import Table

from recoup.adapters.clock import FixedClock
from recoup.domain.ports import Clock
from recoup.entrypoints.cli.case_cmds import parse_until
from recoup.entrypoints.cli.common import console, get_app, guarded, print_json
from recoup.services.expectations import TimerReport, fire_due, timer_counts
from recoup.services.worker import WorkerReport

timers_app = typer.Typer(help="Expected-but-missing timers and snoozes.", no_args_is_help=True)


@timers_app.command("run")
@guarded
def run_command(
    as_of: Annotated[
        str | None,
        typer.Option(help="fire what is due at this ISO 8601 time instead of now (backfills)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Wake ended snoozes and fire every due timer once; safe to run again at any time."""
    app = get_app()
    clock: Clock = app.clock
    if as_of is not None:
        clock = FixedClock(parse_until(as_of, None, app.clock.now()))

    def progress(report: TimerReport) -> None:
        if not as_json:
            console.print(f"  {report.due:,} due so far, {report.fired:,} fired")

    report = fire_due(uow=app.uow, clock=clock, detectors=app.detectors, on_round=progress,
                      policy=app.policy)  # fmt: skip
    if as_json:
        print_json(report)
        return
    console.print(f"as of {clock.now().isoformat()}")
    console.print(f"timers due {report.due:,}: met {report.met:,}, fired {report.fired:,}")
    console.print(
        f"findings {report.findings:,}: cases opened {report.cases_opened:,}, "
        f"attached {report.cases_attached:,}"
    )
    console.print(f"snoozed cases woken {report.woken:,}")
    for type_, count in sorted(report.findings_by_type.items()):
        console.print(f"  {type_}: {count:,}")


@timers_app.command("status")
@guarded
def status_command(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Timers by rule and status, and when the next one is due."""
    counts = timer_counts(reader=get_app().reader)
    if as_json:
        print_json(counts)
        return
    table = Table(title="expected-but-missing timers")
    for column in ("rule", "pending", "met", "fired", "next due"):
        table.add_column(column)
    for rule, row in sorted(counts.items()):
        table.add_row(rule, *(f"{row.get(s, 0):,}" for s in ("pending", "met", "fired")),
                      str(row.get("next_due") or "-"))  # fmt: skip
    console.print(table)


@guarded
def worker_command(
    once: Annotated[bool, typer.Option("--once", help="run one round and exit")] = False,
    interval: Annotated[float, typer.Option(min=0.1, help="seconds between idle rounds")] = 5.0,
) -> None:
    """Fire due timers forever: snoozes, expected-but-missing timers, SLA goals and deadlines.
    Run as many as you like against PostgreSQL; each timer fires once."""
    app = get_app()
    stop = {"now": False}

    def _stop(signum: int, frame: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

    def progress(report: WorkerReport) -> None:
        if report.fired:
            console.print(
                f"{app.clock.now().isoformat()} timers {report.timers.due:,} "
                f"(fired {report.timers.fired:,}), snoozes woken {report.timers.woken:,}, "
                f"SLA {report.sla.due:,} (reminded {report.sla.reminded:,}, "
                f"escalated {report.sla.escalated:,}, "
                f"aging alerts {report.sla.aging_alerts:,}), recovery steps "
                f"{report.recovery.climbs:,} (recovered {report.recovery.recovered:,}, "
                f"escalated {report.recovery.escalated:,}), writebacks "
                f"{report.writeback.claimed:,} (confirmed {report.writeback.confirmed:,})"
            )

    rounds = app.run_worker(interval=interval, rounds=1 if once else None, on_round=progress,
                            should_stop=lambda: stop["now"])  # fmt: skip
    console.print(f"worker stopped after {rounds:,} rounds")
