"""`recoup reconcile run|status|review|confirm|reject|force|breaks|export`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recoup.adapters.reconcile.export import FORMATS, write_rows
from recoup.adapters.reconcile.port import DuckDbEngine
from recoup.adapters.reconcile.rules_file import DEFAULT_RULES, load_rules, parse_rules
from recoup.domain.errors import InvalidInputError
from recoup.entrypoints.cli.common import console, get_app, guarded, money, print_json
from recoup.services.reconcile import (
    decide_suggestion,
    force_match,
    reconcile_status,
    review_queue,
    rules_hash,
    run_reconcile,
)

reconcile_app = typer.Typer(help="Reconcile expected payments and payouts with bank lines.",
                            no_args_is_help=True)  # fmt: skip

Reason = Annotated[str, typer.Option(help="why (goes on the audit record)")]
Actor = Annotated[str, typer.Option(help="who decides (goes on the audit record)")]
MATCH_COLUMNS = ("match_id", "left_id", "right_id", "rule", "score", "status", "group_size",
                 "amount_diff", "decided_by", "justification")  # fmt: skip
BREAK_COLUMNS = ("item_id", "side", "reason", "field", "expected", "actual", "candidate_id",
                 "first_seen_at")  # fmt: skip


@reconcile_app.command("run")
@guarded
def run_command(
    rules: Annotated[
        Path | None, typer.Option(help="a rules file (default: the shipped rules)")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="report only; store nothing")] = False,
) -> None:
    """Match every open item; store matches, the review queue, breaks and their cases."""
    app = get_app()
    if rules is None:
        from importlib import resources

        text = (resources.files("recoup.adapters.reconcile") / DEFAULT_RULES).read_text("utf-8")
        parsed = parse_rules(text, source=DEFAULT_RULES)
    else:
        parsed = load_rules(rules)
        text = rules.read_text(encoding="utf-8")
    report = run_reconcile(uow=app.uow, clock=app.clock, engine=DuckDbEngine(), rules=parsed,
                           rules_digest=rules_hash(text), dry_run=dry_run, policy=app.policy,
                           progress=lambda message: console.print(f"  {message}"))  # fmt: skip
    console.print(f"{'dry run: nothing stored' if dry_run else f'run {report.run_id}'}")
    suggested = report.pairs_by_status.get("suggested", 0)
    console.print(f"match rate {report.match_rate:.1%}: {report.left_matched:,} of "
                  f"{report.left:,} expected items automatic, {suggested:,} suggested pairs "
                  "to review")  # fmt: skip
    breaks = ", ".join(f"{k} {v:,}" for k, v in sorted(report.breaks_by_reason.items()))
    console.print(f"breaks: {breaks or 'none'}")
    open_money = ", ".join(money(v, c) for c, v in sorted(report.unreconciled.items()))
    console.print(f"money unreconciled: {open_money or 'none'}")
    if not dry_run:
        console.print(f"findings {report.findings:,}; cases opened {report.cases_opened:,}")


@reconcile_app.command("status")
@guarded
def status_command(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Match pairs by status, open breaks by reason, the last run."""
    status = reconcile_status(reader=get_app().reader)
    if as_json:
        print_json(status)
        return
    pairs = ", ".join(f"{k} {v:,}" for k, v in sorted(status["pairs"].items()))
    breaks = ", ".join(f"{k} {v:,}" for k, v in sorted(status["breaks"].items()))
    console.print(f"pairs: {pairs or 'none'}")
    console.print(f"open breaks: {breaks or 'none'}")
    last = status["last_run"]
    if last is not None:
        console.print(
            f"last run {last['id']} at {last['started_at'].isoformat()}: {last['status']}"
        )


@reconcile_app.command("review")
@guarded
def review_command(limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50) -> None:
    """Suggested matches waiting for an operator."""
    rows = review_queue(reader=get_app().reader, limit=limit)
    if not rows:
        console.print("nothing to review")
    for row in rows:
        pair = f"{row['left_id']} <-> {row['right_id']}"
        console.print(f"{row['match_id']}  {row['rule']}  score {row['score']:.3f}  {pair}  "
                      f"diff {row['amount_diff']}")  # fmt: skip


@reconcile_app.command("confirm")
@guarded
def confirm_command(match_id: str, reason: Reason, actor: Actor = "cli") -> None:
    """Confirm a suggested match: its items are reconciled."""
    app = get_app()
    n = decide_suggestion(match_id, True, reason, actor=f"user:{actor}", uow=app.uow,
                          clock=app.clock)  # fmt: skip
    console.print(f"confirmed {n} pair(s)")


@reconcile_app.command("reject")
@guarded
def reject_command(match_id: str, reason: Reason, actor: Actor = "cli") -> None:
    """Reject a suggested match: its items go back to the open items."""
    app = get_app()
    n = decide_suggestion(match_id, False, reason, actor=f"user:{actor}", uow=app.uow,
                          clock=app.clock)  # fmt: skip
    console.print(f"rejected {n} pair(s)")


@reconcile_app.command("force")
@guarded
def force_command(
    left: Annotated[list[str], typer.Option("--left", help="an expected item's event id")],
    right: Annotated[list[str], typer.Option("--right", help="a bank line's event id")],
    reason: Annotated[str, typer.Option(help="the written justification")],
    actor: Actor = "cli",
) -> None:
    """Match items the engine did not, with a written justification."""
    app = get_app()
    match_id = force_match(left, right, reason, actor=f"user:{actor}", uow=app.uow,
                           clock=app.clock)  # fmt: skip
    console.print(f"forced match {match_id}")


@reconcile_app.command("export")
@guarded
def export_command(
    output: Annotated[Path, typer.Option(help="a folder for matched.* and unmatched.*")],
    file_format: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
    limit: Annotated[int, typer.Option(min=1)] = 10_000_000,
) -> None:
    """Export the matched pairs and the open breaks (the unmatched set)."""
    if file_format not in FORMATS:
        raise InvalidInputError(f"--format {file_format!r}: use csv or parquet")
    output.mkdir(parents=True, exist_ok=True)
    app = get_app()
    with app.reader() as tx:
        matched = [r for r in tx.reconcile_matches(None, limit)
                   if r["status"] in ("auto", "confirmed", "forced")]  # fmt: skip
        unmatched = tx.open_breaks(limit)
    n = write_rows(matched, MATCH_COLUMNS, output / f"matched.{file_format}", file_format)
    m = write_rows(unmatched, BREAK_COLUMNS, output / f"unmatched.{file_format}", file_format)
    console.print(f"wrote {n:,} matched pairs and {m:,} open breaks to {output}")
