"""``recoup retention``: redact raw payloads past their retention period."""

from __future__ import annotations

from typing import Annotated

import typer

from recoup.entrypoints.cli.common import console, get_app, guarded
from recoup.services.retention import apply_retention

retention_app = typer.Typer(help="Redact raw payloads past their retention period.",
                            no_args_is_help=True)  # fmt: skip


@retention_app.command("run")
@guarded
def run_command(
    days: Annotated[
        int | None, typer.Option(min=1, help="override RECOUP_RETENTION__RAW_PAYLOAD_DAYS")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count, change nothing")] = False,
) -> None:
    """Replace raw payloads older than the period with their SHA-256 and size. Normalised
    events, cases and the audit chain are kept; the audit trail records each batch."""
    app = get_app()
    period = days or app.settings.retention.raw_payload_days
    if period is None:
        console.print("no retention period: set RECOUP_RETENTION__RAW_PAYLOAD_DAYS or --days")
        raise typer.Exit(2)

    def progress(table: str, n: int) -> None:
        console.print(f"{table}: redacted {n:,}")

    report = apply_retention(uow=app.uow, clock=app.clock, days=period,
                             batch=app.settings.retention.batch, dry_run=dry_run,
                             on_batch=progress)  # fmt: skip
    verb = "would redact" if dry_run else "redacted"
    counts = ", ".join(f"{n:,} {table}" for table, n in report.redacted.items())
    console.print(f"{verb} raw payloads before {report.cutoff}: {counts}")
