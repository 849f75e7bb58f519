"""`recoup writeback status|run|replay` and `recoup ledger export`."""

from __future__ import annotations

import random
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from recoup.adapters.ledger_files import export_journal as write_journal_file
from recoup.domain.errors import ConfigurationError, InvalidInputError
from recoup.domain.recovery.outbox import OutboxItem
from recoup.entrypoints.cli.common import console, get_app, guarded, print_json
from recoup.services.writeback import DeliveryReport, deliver_due, export_journal, outbox_overview
from recoup.services.writeback import replay as replay_items

writeback_app = typer.Typer(
    help="Writebacks to the system of record: the outbox.", no_args_is_help=True
)
ledger_app = typer.Typer(help="Journal entries (double-entry postings).", no_args_is_help=True)


def _item_json(item: OutboxItem) -> dict[str, Any]:
    return {
        "id": item.id, "case_id": item.case_id, "target": item.target,
        "operation": item.operation, "status": item.status.value, "attempts": item.attempts,
        "created_at": item.created_at.isoformat(),
        "next_at": None if item.next_at is None else item.next_at.isoformat(),
        "last_http_status": item.last_http_status, "last_detail": item.last_detail,
    }  # fmt: skip


@writeback_app.command("status")
@guarded
def status_command(
    limit: Annotated[int, typer.Option(min=1, help="dead items to list at most")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Writebacks by status, the oldest one still to be sent, and the dead letters."""
    overview = outbox_overview(reader=get_app().reader, dead_limit=limit)
    oldest = overview.oldest_due
    if as_json:
        print_json(
            {
                "counts": overview.counts,
                "oldest_due": None if oldest is None else _item_json(oldest),
                "dead": [_item_json(item) for item in overview.dead],
            }
        )
        return
    console.print(", ".join(f"{status} {count:,}" for status, count in overview.counts.items()))
    if oldest is not None:
        due = "-" if oldest.next_at is None else oldest.next_at.isoformat()
        console.print(
            f"oldest to send: {oldest.id} (case {oldest.case_id}) queued "
            f"{oldest.created_at.isoformat()}, {oldest.attempts} attempts, next {due}",
            soft_wrap=True,
        )
    if overview.dead:
        console.print("dead letters (fix the cause, then `recoup writeback replay ID`):")
    for item in overview.dead:
        console.print(
            f"  {item.id} case {item.case_id} {item.target}/{item.operation}, "
            f"{item.attempts} attempts: {item.last_detail or '-'}",
            soft_wrap=True,
        )


def _print_report(report: DeliveryReport) -> None:
    console.print(
        f"sent {report.claimed:,}: confirmed {report.confirmed:,}, retrying {report.retrying:,}, "
        f"dead {report.dead:,}; cases resolved {report.cases_resolved:,}"
        + (f", not resolved {report.resolutions_refused:,}" if report.resolutions_refused else "")
    )


@writeback_app.command("run")
@guarded
def run_command(
    once: Annotated[bool, typer.Option("--once", help="send what is due now and exit")] = False,
    interval: Annotated[float, typer.Option(min=0.1, help="seconds between idle rounds")] = 5.0,
    chunk: Annotated[int, typer.Option(min=1, help="items claimed per round")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON (with --once)")] = False,
) -> None:
    """Send due writebacks to the configured system of record and record every answer.
    Without --once it keeps running until stopped (SIGTERM, Ctrl-C); several runners may
    share a PostgreSQL store, each item is sent by one."""
    app = get_app()
    port = app.writeback_port()
    if port is None:
        raise ConfigurationError(
            "writeback is off (RECOUP_WRITEBACK__TARGET=none): set a target to send writebacks"
        )
    rng = random.Random()  # jitter: fresh per process, on purpose (runners must not align)
    max_attempts = app.settings.writeback.max_attempts

    def deliver() -> DeliveryReport:
        return deliver_due(uow=app.uow, clock=app.clock, port=port, rng=rng, chunk=chunk,
                           max_attempts=max_attempts)  # fmt: skip

    if once:
        report = deliver()
        if as_json:
            print_json(report)
        else:
            _print_report(report)
        return
    stop = {"now": False}

    def _stop(signum: int, frame: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    while not stop["now"]:
        report = deliver()
        if report.claimed:
            _print_report(report)
        else:
            time.sleep(interval)
    console.print("writeback runner stopped")


@writeback_app.command("replay")
@guarded
def replay_command(
    ids: Annotated[list[str] | None, typer.Argument(help="writeback ids (or prefixes)")] = None,
    all_dead: Annotated[bool, typer.Option("--all-dead", help="replay every dead item")] = False,
    actor: Annotated[str, typer.Option(help="who is doing it")] = "operator",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Send dead writebacks again (after fixing what the last error says). A confirmed item
    is left as it is."""
    if bool(ids) == all_dead:
        raise InvalidInputError("give writeback ids or --all-dead, not both or neither")
    app = get_app()
    report = replay_items(uow=app.uow, clock=app.clock, ids=None if all_dead else ids,
                          actor=actor)  # fmt: skip
    if as_json:
        print_json(report)
        return
    console.print(f"replayed {len(report.replayed):,}")
    for item_id in report.already_confirmed:
        console.print(f"  {item_id}: already confirmed, nothing to replay")
    for item_id in report.not_dead:
        console.print(f"  {item_id}: not dead (still being sent), left as it is")


def _moment(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 time with a zone, or a date meaning its start in UTC."""
    if value is None:
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(f"{option} {value!r} is not an ISO 8601 date or time") from None
    if len(text) == 10:
        parsed = parsed.replace(tzinfo=UTC)
    if parsed.tzinfo is None:
        raise InvalidInputError(f"{option} {value!r} has no time zone; add Z or +hh:mm")
    return parsed.astimezone(UTC)


@ledger_app.command("export")
@guarded
def export_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="the CSV file to write")],
    since: Annotated[
        str | None, typer.Option(help="from this time (ISO 8601 with a zone, or a date)")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="before this time (ISO 8601 with a zone, or a date)")
    ] = None,
) -> None:
    """Write the journal as CSV (one row per line of each entry) for a general ledger."""
    start, end = _moment(since, "--since"), _moment(until, "--until")
    if not output.parent.is_dir():
        raise InvalidInputError(f"--output {output}: folder {output.parent} does not exist")
    rows = export_journal(reader=get_app().reader, since=start, until=end,
                          write=lambda entries: write_journal_file(entries, output))  # fmt: skip
    console.print(f"wrote {rows:,} journal lines to {output}", soft_wrap=True)
