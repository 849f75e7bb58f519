"""`recoup assist train|evaluate|models|suggest|accept|override|summary|rates|scan`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from recoup.adapters.assist.history import generate_history
from recoup.adapters.assist.wiring import assist_options, assist_tools
from recoup.domain.assist.calibration import FieldQuality
from recoup.domain.errors import InvalidInputError, Location
from recoup.entrypoints.cli.common import console, get_app, guarded, print_json
from recoup.services.assist import (
    CaseAdvice,
    accept_suggestion,
    evaluate_model,
    list_models,
    override_suggestion,
    rates,
    scan_patterns,
    suggest_cases,
    summarise_case,
    train_model,
)

assist_app = typer.Typer(
    help="Learned triage suggestions, spike alerts and case summaries (advice; policy decides).",
    no_args_is_help=True,
)

Actor = Annotated[str, typer.Option(help="who decides (goes on the audit record)")]
Json = Annotated[bool, typer.Option("--json", help="print JSON")]
Generated = Annotated[
    int,
    typer.Option(
        "--generated",
        help="add this many generated labeled cases (trials and demos; see docs/assist.md)",
    ),
]


def _quality_table(title: str, scores: dict[str, FieldQuality], band: float) -> Table:
    table = Table(title=title)
    for column in ("field", "held out", "accuracy", "ECE", f"≥ {band:g}", "accuracy ≥ band"):
        table.add_column(column)
    for q in scores.values():
        above = "-" if q.accuracy_above_band is None else f"{q.accuracy_above_band:.1%}"
        table.add_row(
            q.field,
            str(q.examples),
            f"{q.accuracy:.1%}",
            f"{q.ece:.3f}",
            f"{q.coverage_above_band:.1%}",
            above,
        )
    return table


def _check_generated(count: int) -> None:
    if count < 0:
        raise InvalidInputError(
            "--generated must be 0 or more", location=Location(field="generated")
        )


@assist_app.command("train")
@guarded
def train_command(generated: Generated = 0, actor: Actor = "cli", as_json: Json = False) -> None:
    """Learn from resolved cases and operators' choices; store a new model version."""
    _check_generated(generated)
    app = get_app()
    extra = generate_history(generated) if generated else []
    report = train_model(
        uow=app.uow,
        clock=app.clock,
        tools=assist_tools(app.settings.assist),
        options=assist_options(app.settings.assist),
        actor=f"user:{actor}",
        extra=extra,
        extra_source="history" if extra else None,
    )
    if as_json:
        print_json(report.model.as_dict())
        return
    model = report.model
    console.print(
        f"model {model.version}: {model.label_count:,} labeled cases ({model.source}), "
        f"trained on {report.trained_on:,}, held out {report.held_out:,}"
    )
    console.print(_quality_table("held-out quality", report.quality, model.band))


@assist_app.command("evaluate")
@guarded
def evaluate_command(
    version: Annotated[str | None, typer.Option(help="a model version (default: newest)")] = None,
    generated: Generated = 0,
    as_json: Json = False,
) -> None:
    """Score a model on today's held-out labels (stores nothing)."""
    _check_generated(generated)
    app = get_app()
    options = assist_options(app.settings.assist)
    extra = generate_history(generated) if generated else []
    report = evaluate_model(
        reader=app.reader,
        tools=assist_tools(app.settings.assist),
        options=options,
        version=version,
        extra=extra,
    )
    if as_json:
        print_json(
            {
                "version": report.model.version,
                "held_out": report.held_out,
                "fields": {k: v.as_dict() for k, v in report.quality.items()},
            }
        )
        return
    console.print(
        _quality_table(
            f"model {report.model.version} on {report.held_out:,} held-out cases",
            report.quality,
            options.band,
        )
    )


@assist_app.command("models")
@guarded
def models_command(as_json: Json = False) -> None:
    """Trained model versions with their metrics, newest first; accept/override rates."""
    app = get_app()
    models = list_models(reader=app.reader)
    feedback = rates(reader=app.reader)
    if as_json:
        print_json({"models": [m.as_dict() for m in models], "rates": feedback})
        return
    table = Table(title="assist models")
    for column in ("version", "created", "labels", "source", "fields"):
        table.add_column(column)
    for m in models:
        table.add_row(
            m.version, m.created_at.isoformat(), f"{m.label_count:,}", m.source, ", ".join(m.fields)
        )
    console.print(table)
    if feedback:
        rows = Table(title="operator feedback")
        for column in ("model", "field", "suggested", "auto-accepted", "accepted", "overridden"):
            rows.add_column(column)
        for r in feedback:
            rows.add_row(
                r["model_version"],
                r["field"],
                str(r["total"]),
                str(r["auto_accepted"]),
                str(r["accepted"]),
                str(r["overridden"]),
            )
        console.print(rows)


def _print_advice(advice: CaseAdvice) -> None:
    if advice.note:
        console.print(advice.note)
    table = Table(title=f"suggestions for case {advice.case_id}")
    for column in ("field", "value", "confidence", "status", "verdict", "in force", "model"):
        table.add_column(column)
    for s in advice.suggestions:
        agrees = (
            ""
            if s.agrees_with_policy is None
            else (" (agrees with policy)" if s.agrees_with_policy else " (differs from policy)")
        )
        table.add_row(
            s.field,
            s.value,
            f"{s.confidence:.0%}",
            s.status.value + agrees,
            "" if s.verdict is None else f"{s.verdict.value}: {s.final_value}",
            s.value_in_force or "-",
            s.model_version,
        )
    console.print(table)
    if advice.needs_person:
        console.print("needs a person: a suggestion is below the band or differs from policy")


@assist_app.command("suggest")
@guarded
def suggest_command(case: str, as_json: Json = False) -> None:
    """Suggest type, owner, root cause and next action for an open case; stored and shown."""
    app = get_app()
    (advice,) = suggest_cases(
        [case],
        uow=app.uow,
        clock=app.clock,
        tools=assist_tools(app.settings.assist),
        options=assist_options(app.settings.assist),
    )
    if as_json:
        print_json(advice.as_dict())
        return
    _print_advice(advice)


@assist_app.command("accept")
@guarded
def accept_command(case: str, field: str, actor: Actor = "cli") -> None:
    """Accept a case's suggestion for FIELD (it becomes a label; policy fields stay as they
    are)."""
    app = get_app()
    s = accept_suggestion(case, field, actor=f"user:{actor}", uow=app.uow, clock=app.clock)
    console.print(f"{s.field} = {s.final_value} accepted on case {s.case_id}")


@assist_app.command("override")
@guarded
def override_command(case: str, field: str, value: str, actor: Actor = "cli") -> None:
    """Put your own VALUE for FIELD on a case (with or without a suggestion)."""
    app = get_app()
    s = override_suggestion(case, field, value, actor=f"user:{actor}", uow=app.uow, clock=app.clock)
    console.print(
        f"{s.field} = {s.final_value} set on case {s.case_id} "
        f"(suggested {s.value}, model {s.model_version})"
    )


@assist_app.command("summary")
@guarded
def summary_command(case: str, as_json: Json = False) -> None:
    """The hand-off summary of a case: what happened, money, what was tried, what is next."""
    app = get_app()
    summary = summarise_case(case, app.reader, now=app.clock.now())
    if as_json:
        print_json(summary.as_dict())
        return
    console.print(summary.text(), soft_wrap=True)


@assist_app.command("scan")
@guarded
def scan_command(as_json: Json = False) -> None:
    """Look for failures concentrating on one dimension value; raise pattern alerts."""
    app = get_app()
    report = scan_patterns(
        uow=app.uow, clock=app.clock, options=assist_options(app.settings.assist), policy=app.policy
    )
    if as_json:
        print_json(
            {
                "failures": report.failures,
                "cells": report.cells,
                "spiking": report.spikes,
                "alerts": report.alerts,
                "cleared": report.cleared,
                "cases_opened": report.cases_opened,
            }
        )
        return
    console.print(
        f"{report.failures:,} failures, {report.cells:,} cells tested, "
        f"{len(report.spikes)} spiking, {len(report.alerts)} new alert(s), "
        f"{report.cleared} cleared"
    )
    for line in report.alerts:
        console.print(f"  alert: {line}", soft_wrap=True)
