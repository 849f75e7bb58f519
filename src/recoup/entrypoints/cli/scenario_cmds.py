"""`recoup scenarios generate`: a labeled month (clean traffic plus known, labeled exceptions)
for measuring what the detectors find."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from recoup.adapters.sanctions_list import load_sanctions_list
from recoup.adapters.simulation.labeled import LabeledSpec, write_labeled_month
from recoup.entrypoints.cli.common import console, guarded
from recoup.settings import load_settings

scenarios_app = typer.Typer(
    help="Labeled scenario months for measuring detection quality.", no_args_is_help=True
)


def _sanctioned_names(path: Path | None, alt_names: Path | None) -> tuple[str, ...]:
    """People and companies on the list (aliases included); vessels and aircraft are no
    customers or suppliers. The configured list when no path is given; none when neither."""
    if path is None:
        detection = load_settings().detection
        path, alt_names = detection.sanctions_list, detection.sanctions_alt_names
        if path is None:
            return ()
    sanctions = load_sanctions_list(path, alt_names)
    return tuple(
        name
        for entry in sanctions
        if entry.type not in ("vessel", "aircraft")
        for name in (entry.name, *entry.aliases)
    )


@scenarios_app.command("generate")
@guarded
def generate(
    out_dir: Annotated[Path, typer.Argument(help="folder for events.jsonl, labels.csv, spec.json")],
    clean: Annotated[
        bool, typer.Option("--clean", help="clean traffic only, no exceptions")
    ] = False,
    seed: Annotated[int, typer.Option(help="random seed; same seed, same month")] = 2026,
    per_type: Annotated[int, typer.Option(min=0, help="scenarios injected per finding type")] = 12,
    days: Annotated[int, typer.Option(min=8, help="days in the month")] = 31,
    sanctions_list: Annotated[
        Path | None,
        typer.Option(
            help="SDN CSV whose names the sanctions scenarios use (default: the "
            "configured RECOUP_DETECTION__SANCTIONS_LIST; none: no sanctions scenarios)"
        ),
    ] = None,
    sanctions_alt_names: Annotated[
        Path | None, typer.Option(help="its alternate names (ALT CSV)")
    ] = None,
) -> None:
    """Generate a labeled month: events, the exceptions injected into them, and when to fire
    the timers (as_of). Ingest events.jsonl, fire timers as of as_of, compare with labels.csv."""
    names = _sanctioned_names(sanctions_list, sanctions_alt_names)
    spec = LabeledSpec(
        seed=seed, days=days, per_type=per_type, inject=not clean, sanctioned_names=names
    )
    month = write_labeled_month(out_dir, spec)
    console.print(
        f"wrote {len(month.lines):,} events and {len(month.labels):,} labels to {out_dir}; "
        f"fire timers as of {month.as_of.isoformat().replace('+00:00', 'Z')}",
        soft_wrap=True,
    )
    if not names and not clean:
        console.print("no sanctions list: sanctions_alert scenarios were not injected")
    counts = month.label_counts()
    if counts:
        table = Table(title="labels by finding type")
        table.add_column("type")
        table.add_column("labels", justify="right")
        for name, n in sorted(counts.items()):
            table.add_row(name, str(n))
        console.print(table)
