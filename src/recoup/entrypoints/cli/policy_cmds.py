"""`recoup policy validate|test|backtest`: check a policy pack before anyone ships it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from recoup.adapters.policy import DEFAULT_POLICY_PATH, PolicyError, load_policy
from recoup.domain.errors import InvalidInputError, Location
from recoup.domain.policy import Decision, PolicyInput, explain
from recoup.entrypoints.cli.common import (
    console,
    err_console,
    get_app,
    guarded,
    money,
    print_json,
)
from recoup.services.policy import backtest
from recoup.settings import load_settings

policy_app = typer.Typer(
    help="Decision-table policies: validate, test and backtest.", no_args_is_help=True
)

EXIT_FAILED = 3


def _policy_path(path: Path | None) -> Path:
    """The folder asked for, else RECOUP_POLICY__PATH, else the packaged default pack."""
    if path is not None:
        return path
    return load_settings().policy.path or DEFAULT_POLICY_PATH


@policy_app.command("validate")
@guarded
def validate_command(
    path: Annotated[
        Path | None, typer.Argument(help="policy folder (default: the configured one)")
    ] = None,
) -> None:
    """Load a policy folder and check every file, table and output; list every problem."""
    folder = _policy_path(path)
    try:
        load_policy(folder)
    except PolicyError as exc:
        for problem in exc.problems:
            err_console.print(f"[bold red]error:[/] {problem}", soft_wrap=True)
        raise typer.Exit(EXIT_FAILED) from None
    console.print(f"policy {folder}: valid")


def read_cases(file: Path) -> list[dict[str, Any]]:
    """Test cases from a JSON list or JSONL file: {"name", "input", "expect"}."""
    text = file.read_text(encoding="utf-8")
    rows: list[tuple[int | None, Any]]
    try:
        if file.suffix == ".jsonl":
            rows = [
                (n, json.loads(line)) for n, line in enumerate(text.splitlines(), 1) if line.strip()
            ]
        else:
            data = json.loads(text)
            rows = [(None, item) for item in (data if isinstance(data, list) else [data])]
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"not JSON: {exc.msg}", location=Location(str(file), exc.lineno)
        ) from None
    cases = []
    for line, case in rows:
        if not isinstance(case, dict) or not isinstance(case.get("input"), dict) \
                or not isinstance(case.get("expect"), dict):  # fmt: skip
            raise InvalidInputError("a case needs an object input and an object expect",
                                    location=Location(str(file), line))  # fmt: skip
        cases.append(case)
    return cases


def outputs_of(decision: Decision) -> dict[str, Any]:
    """A decision as the flat values a test file names."""
    return {
        "tier": decision.tier.value,
        "owner_team": decision.owner_team,
        "queue": decision.queue,
        "sla_goal_hours": decision.sla_goal.total_seconds() / 3600,
        "sla_deadline_hours": decision.sla_deadline.total_seconds() / 3600,
        "pauses_automation": decision.pauses_automation,
        "urgency": decision.urgency,
        "business_impact": decision.business_impact,
        "control_sensitivity": decision.control_sensitivity,
    }


def _input(case: dict[str, Any]) -> PolicyInput:
    data = dict(case["input"])
    if data.get("amount") is not None:
        data["amount"] = str(data["amount"])
    try:
        return PolicyInput(**data)
    except TypeError as exc:
        raise InvalidInputError(f"case {case.get('name')!r}: {exc}") from None


@policy_app.command("test")
@guarded
def run_tests_command(
    file: Annotated[
        Path,
        typer.Argument(help="JSON or JSONL of {name, input, expect}", exists=True, dir_okay=False),
    ],
    policy: Annotated[
        Path | None, typer.Option("--policy", help="policy folder (default: the configured one)")
    ] = None,
) -> None:
    """Decide each case and compare with its expected outputs; exit 3 when any differs."""
    engine = load_policy(_policy_path(policy))
    cases = read_cases(file)
    failed = 0
    for number, case in enumerate(cases, 1):
        name = case.get("name") or f"case {number}"
        decision = engine.decide(_input(case))
        actual = outputs_of(decision)
        differing = {k: (v, actual.get(k)) for k, v in case["expect"].items() if actual.get(k) != v}
        if not differing:
            console.print(f"[green]pass[/] {name}")
            continue
        failed += 1
        console.print(f"[bold red]FAIL[/] {name}")
        for key, (expected, got) in differing.items():
            console.print(f"    {key}: expected {expected!r}, got {got!r}")
        for line in explain(decision):
            console.print(f"      {line}")
    console.print(f"{len(cases) - failed} passed, {failed} failed")
    if failed:
        raise typer.Exit(EXIT_FAILED)


@policy_app.command("backtest")
@guarded
def backtest_command(
    candidate: Annotated[Path, typer.Argument(help="the candidate policy folder")],
    limit: Annotated[int | None, typer.Option(min=1, help="only the oldest N cases")] = None,
    show: Annotated[int, typer.Option(min=0, help="changed cases to list")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Re-decide the stored cases with a candidate policy and report what would change (tier
    shifts, owner changes, money newly written off); nothing is changed in the store."""
    app = get_app()
    try:
        engine = load_policy(candidate)
    except PolicyError as exc:
        for problem in exc.problems:
            err_console.print(f"  {problem}", soft_wrap=True)
        raise
    report = backtest(engine, current=app.policy, reader=app.reader, limit=limit)
    if as_json:
        print_json(
            {
                "cases": report.cases,
                "changed": [
                    {"case_id": c.case_id, "type": c.type, "entity": c.entity,
                     "amount": c.amount, "currency": c.currency,
                     "changes": {k: list(v) for k, v in c.changes.items()}}
                    for c in report.changed
                ],
                "by_output": dict(report.by_output),
                "newly_written_off": report.newly_written_off,
            }
        )  # fmt: skip
        return
    console.print(f"candidate {candidate}")
    console.print(f"{report.cases:,} cases re-decided: {len(report.changed):,} would change")
    for output, count in sorted(report.by_output.items()):
        console.print(f"  {output}: {count:,}")
    for (old, new), count in sorted(report.tier_shifts.items()):
        console.print(f"  tier {old} -> {new}: {count:,}")
    for (old, new), count in sorted(report.owner_changes.items()):
        console.print(f"  owner {old} -> {new}: {count:,}")
    for currency, amount in sorted(report.newly_written_off.items()):
        console.print(f"  newly written off: {money(amount, currency)}")
    for currency, amount in sorted(report.no_longer_written_off.items()):
        console.print(f"  no longer written off: {money(amount, currency)}")
    for change in report.changed[:show]:
        what = "; ".join(f"{k} {v[0]} -> {v[1]}" for k, v in sorted(change.changes.items()))
        shown = money(change.amount, change.currency)
        line = f"  {change.case_id} {change.type} {change.entity} {shown}: {what}"
        console.print(line, soft_wrap=True)
    if len(report.changed) > show:
        console.print(f"  ... and {len(report.changed) - show:,} more (--show N, --json)")
