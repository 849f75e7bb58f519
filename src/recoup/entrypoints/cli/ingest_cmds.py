"""`recoup ingest` and `recoup demo`."""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from recoup.adapters.connectors.base import FileFormat, ParseContext
from recoup.adapters.connectors.csvfiles import CsvFormat, load_profile
from recoup.adapters.connectors.jsonl import JsonLinesReader
from recoup.adapters.connectors.registry import (
    CANONICAL,
    SNIFF_BYTES,
    detect_format,
    file_formats,
    get_format,
)
from recoup.adapters.psp.simulator import SimulatedGateway
from recoup.adapters.simulation.demo_month import DemoSpec, write_demo_month
from recoup.domain.errors import InvalidInputError, Location
from recoup.entrypoints.cli.common import console, get_app, guarded, money
from recoup.services.cases import summarise_open_cases
from recoup.services.expectations import fire_due
from recoup.services.ingest import IngestReport, Item, ingest_records
from recoup.services.recovery import run_recovery

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
    """Stream a canonical JSON Lines file (or stdin) through the pipeline with a progress bar."""
    app = get_app()
    reader = JsonLinesReader.open(path)
    with _progress() as progress:
        task = progress.add_task(f"ingest {path.name}", total=reader.size, records=0)

        def on_batch(report: IngestReport, _batch: list[Item]) -> None:
            progress.update(task, completed=reader.bytes_read, records=report.records)

        stream = sys.stdin.buffer if str(path) == "-" else None
        report = ingest_records(
            reader.records(stream),
            uow=app.uow,
            clock=app.clock,
            detectors=app.detectors,
            policy=app.policy,
            label=reader.label,
            batch_size=batch_size or app.settings.ingest.batch_size,
            on_batch=on_batch,
        )
    return report, reader


def run_format(
    path: Path, fmt: FileFormat, *, source: str | None, batch_size: int | None
) -> IngestReport:
    """Parse a file in a connector format and ingest what it yields."""
    app = get_app()
    data = path.read_bytes()
    context = ParseContext(label=str(path), received_at=app.clock.now(), source=source)
    with _progress() as progress:
        task = progress.add_task(f"ingest {path.name} ({fmt.name})", total=len(data), records=0)

        def on_batch(report: IngestReport, _batch: list[Item]) -> None:
            progress.update(task, records=report.records)

        report = ingest_records(
            fmt.parse(data, context),
            uow=app.uow,
            clock=app.clock,
            detectors=app.detectors,
            policy=app.policy,
            label=str(path),
            format_name=fmt.name,
            batch_size=batch_size or app.settings.ingest.batch_size,
            on_batch=on_batch,
        )
        progress.update(task, completed=len(data))
    return report


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files as given; folders recursively, in name order, skipping hidden files."""
    found: list[Path] = []
    for path in paths:
        if str(path) == "-":
            found.append(path)
        elif path.is_dir():
            found.extend(
                p for p in sorted(path.rglob("*"))
                if p.is_file() and not _hidden(p.relative_to(path))
            )  # fmt: skip
        elif path.exists():
            found.append(path)
        else:
            raise InvalidInputError("file not found", location=Location(file=str(path)))
    return found


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def format_for(path: Path, forced: str | None, profile: Path | None) -> FileFormat | None:
    """The connector for ``path``; None means canonical JSON Lines."""
    if profile is not None:
        return CsvFormat(load_profile(profile))
    if forced is not None:
        return get_format(forced)
    if str(path) == "-":
        return None
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    return detect_format(path.name, head)


def print_file_line(label: str, fmt: str, report: IngestReport, blank: int = 0) -> None:
    console.print(
        f"{label} [{fmt}]: read {report.records:,} = accepted {report.accepted:,} "
        f"({report.new_events:,} new, {report.duplicates:,} duplicate) "
        f"+ quarantined {report.quarantined:,}"
        + (f"; {len(report.flags):,} flagged" if report.flags else "")
        + (f"; {blank:,} blank lines skipped" if blank else ""),
        soft_wrap=True,
        markup=False,
    )


def print_ingest_report(report: IngestReport, reader: JsonLinesReader | None = None) -> None:
    blank = reader.blank_lines if reader is not None else 0
    console.print(
        f"records read {report.records:,} = accepted {report.accepted:,} "
        f"({report.new_events:,} new, {report.duplicates:,} duplicate) "
        f"+ quarantined {report.quarantined:,}"
        + (f"; {blank:,} blank lines skipped" if blank else ""),
        soft_wrap=True,
    )
    console.print(
        f"findings {report.findings:,}; cases opened {report.cases_opened:,}, "
        f"findings attached to open cases {report.cases_attached:,}, "
        f"cases resolved by the source {report.cases_resolved:,}"
    )
    for rejection in report.first_rejections[:10]:
        console.print(f"  [yellow]quarantined[/] {rejection}", soft_wrap=True)
    if report.quarantined > 10:
        console.print("  see all with `recoup quarantine list`")
    for flag in report.flags[:10]:
        console.print(f"  [red]flagged[/] {flag}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    @app.command()
    @guarded
    def ingest(
        paths: Annotated[
            list[Path], typer.Argument(help="files or folders; - reads canonical JSON Lines")
        ],
        format_: Annotated[
            str | None, typer.Option("--format", help="skip detection; see `recoup formats`")
        ] = None,
        source: Annotated[
            str | None, typer.Option(help="source name for the events, e.g. bank:main-eur")
        ] = None,
        profile: Annotated[
            Path | None, typer.Option(help="a CSV mapping profile (TOML) for CSV files")
        ] = None,
        batch_size: Annotated[int | None, typer.Option(min=1, help="records per commit")] = None,
    ) -> None:
        """Ingest files: canonical JSON Lines, bank files, CSV exports or saved webhook bodies.

        Each file's format is detected unless --format is given; folders are read
        recursively. Every file gets a line: read = accepted + quarantined."""
        files = expand_paths(paths)
        total = IngestReport()
        skipped = 0
        for path in files:
            try:
                fmt = format_for(path, format_, profile)
            except InvalidInputError as exc:
                if len(files) == 1:
                    raise
                console.print(f"[red]skipped[/] {exc}", soft_wrap=True)
                skipped += 1
                continue
            if fmt is None:
                report, reader = run_ingest(path, batch_size=batch_size)
                print_file_line(reader.label, CANONICAL, report, reader.blank_lines)
            else:
                report = run_format(path, fmt, source=source, batch_size=batch_size)
                print_file_line(str(path), fmt.name, report)
            total.merge(report)
        if len(files) > 1:
            console.print(f"[bold]{len(files) - skipped} of {len(files)} files ingested[/]")
        print_ingest_report(total)
        if skipped:
            raise typer.Exit(3)

    @app.command()
    def formats() -> None:
        """List the file formats `recoup ingest` reads."""
        console.print(f"{CANONICAL:24} canonical events, one JSON object per line", markup=False)
        for fmt in file_formats().values():
            console.print(f"{fmt.name:24} {fmt.description}", markup=False)

    @app.command()
    @guarded
    def demo(
        seed: Annotated[int, typer.Option(help="random seed; same seed, same month")] = 2026,
        payments: Annotated[int, typer.Option(min=100, help="payments in the month")] = 50_000,
        file: Annotated[Path, typer.Option(help="where to write the month")] = Path(DEMO_FILE),
        start: Annotated[
            str | None,
            typer.Option(
                help="first day of the month, YYYY-MM-DD (default: 31 days ago, so "
                "recent declines are still inside their retry windows)"
            ),
        ] = None,
    ) -> None:
        """Generate a realistic month for a mid-size merchant, ingest it and summarise."""
        first_day = _demo_start(start, get_app().clock.now())
        spec = DemoSpec(seed=seed, payments=payments, start=first_day)
        lines = write_demo_month(file, spec)
        console.print(f"generated {lines:,} events for {payments:,} payments into {file}")
        report, reader = run_ingest(file, batch_size=None)
        print_ingest_report(report, reader)
        app = get_app()
        timers = fire_due(uow=app.uow, clock=app.clock, detectors=app.detectors,
                          policy=app.policy)  # fmt: skip
        console.print(f"timers due {timers.due:,}: met {timers.met:,}, fired {timers.fired:,}")
        report.findings_by_type.update(timers.findings_by_type)
        if app.settings.recovery.enabled:
            recovery = app.recovery()
            if recovery.gateway is None:  # the demo retries against the seeded simulator
                recovery = replace(recovery, gateway=SimulatedGateway(seed, app.clock))
            climbed = run_recovery(uow=app.uow, clock=app.clock, recovery=recovery)
            console.print(
                f"recovery: {climbed.started:,} ladders started, {climbed.written_off:,} small "
                f"failures written off by policy; retries and messages follow on their "
                f"schedule (`recoup worker`, `recoup recover status`)"
            )
        print_summary(report)


def _demo_start(given: str | None, now: datetime) -> datetime:
    if given is None:
        today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return today - timedelta(days=31)
    try:
        day = date.fromisoformat(given)
    except ValueError:
        raise InvalidInputError(f"--start {given!r}: write a date as YYYY-MM-DD") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


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
