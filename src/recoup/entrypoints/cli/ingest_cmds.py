"""`recoup ingest` and `recoup demo`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from recoup.adapters.connectors.jsonl import JsonLinesReader
from recoup.adapters.simulation.demo_month import DemoSpec, write_demo_month
from recoup.entrypoints.cli.common import console, get_app, guarded, money
from recoup.services.cases import summarise_open_cases
from recoup.services.ingest import IngestReport, RawRecord, ingest_records

DEMO_FILE = "recoup-demo-month.jsonl"


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[records]:>9,} records"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
        disable=not console.is_terminal,
    )


def run_ingest(path: Path, *, batch_size: int | None) -> tuple[IngestReport, JsonLinesReader]:
    app = get_app()
    reader = JsonLinesReader.open(path)
    size = batch_size or app.settings.ingest.batch_size
    with _progress() as progress:
        task = progress.add_task(f"ingest {path.name}", total=reader.size, records=0)

        def on_batch(report: IngestReport, _batch: list[RawRecord]) -> None:
            progress.update(task, completed=reader.bytes_read, records=report.records)

        stream = sys.stdin.buffer if str(path) == "-" else None
        report = ingest_records(
            reader.records(stream),
            uow=app.uow,
            clock=app.clock,
            detectors=app.detectors,
            label=reader.label,
            batch_size=size,
            on_batch=on_batch,
        )
    return report, reader


def print_ingest_report(report: IngestReport, reader: JsonLinesReader) -> None:
    console.print(
        f"records read {report.records:,} = accepted {report.accepted:,} "
        f"({report.new_events:,} new, {report.duplicates:,} duplicate) "
        f"+ quarantined {report.quarantined:,}"
        + (f"; {reader.blank_lines:,} blank lines skipped" if reader.blank_lines else "")
    )
    console.print(
        f"findings {report.findings:,}; cases opened {report.cases_opened:,}, "
        f"findings attached to open cases {report.cases_attached:,}"
    )
    for rejection in report.first_rejections[:10]:
        console.print(f"  [yellow]quarantined[/] {rejection}", soft_wrap=True)
    if report.quarantined > 10:
        console.print("  see all with `recoup quarantine list`")


def register(app: typer.Typer) -> None:
    @app.command()
    @guarded
    def ingest(
        file: Annotated[Path, typer.Argument(help="JSON Lines of canonical events; - for stdin")],
        batch_size: Annotated[int | None, typer.Option(min=1, help="records per commit")] = None,
    ) -> None:
        """Ingest a JSON Lines file of canonical events (see docs/event-schema.md)."""
        report, reader = run_ingest(file, batch_size=batch_size)
        print_ingest_report(report, reader)

    @app.command()
    @guarded
    def demo(
        seed: Annotated[int, typer.Option(help="random seed; same seed, same month")] = 2026,
        payments: Annotated[int, typer.Option(min=100, help="payments in the month")] = 50_000,
        file: Annotated[Path, typer.Option(help="where to write the month")] = Path(DEMO_FILE),
    ) -> None:
        """Generate a realistic month for a mid-size merchant, ingest it and summarise."""
        spec = DemoSpec(seed=seed, payments=payments)
        lines = write_demo_month(file, spec)
        console.print(f"generated {lines:,} events for {payments:,} payments into {file}")
        report, reader = run_ingest(file, batch_size=None)
        print_ingest_report(report, reader)
        print_summary(report)


def print_summary(report: IngestReport) -> None:
    app = get_app()
    with app.reader() as tx:
        counts = tx.store_counts()
    summary = summarise_open_cases(reader=app.reader)
    console.print(
        f"\n[bold]store[/]: {counts['events']:,} events, {counts['findings']:,} findings, "
        f"{counts['cases']:,} cases, {counts['quarantine']:,} quarantined records, "
        f"{counts['audit_records']:,} audit records"
    )
    if report.findings_by_type:
        table = Table(title="findings this run, by type")
        table.add_column("type")
        table.add_column("findings", justify="right")
        for name, n in sorted(report.findings_by_type.items(), key=lambda kv: -kv[1]):
            table.add_row(name, f"{n:,}")
        console.print(table)
    table = Table(title=f"open cases by owner ({summary.total:,})")
    table.add_column("owner team")
    table.add_column("cases", justify="right")
    table.add_column("money at stake", justify="right")
    for owner, n in sorted(summary.by_owner.items(), key=lambda kv: -kv[1]):
        stake = summary.at_stake_by_owner.get(owner, {})
        table.add_row(owner, f"{n:,}", ", ".join(money(v, c) for c, v in sorted(stake.items())))
    console.print(table)
    total = ", ".join(money(v, c) for c, v in sorted(summary.at_stake.items())) or "-"
    console.print(f"[bold]money at stake in open cases[/]: {total}")
