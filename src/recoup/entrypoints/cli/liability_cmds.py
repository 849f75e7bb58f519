"""`recoup liability validate|decide|provisional-credit|reverse-credit`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

import typer

from recoup.domain.cases.case import Case
from recoup.domain.errors import InvalidInputError, Location
from recoup.domain.ids import short_id
from recoup.domain.recovery.liability import ClaimFacts, Validation
from recoup.entrypoints.cli.common import console, get_app, guarded, print_json
from recoup.services.liability import (
    FACT_NAMES,
    claim_facts,
    decide_liability,
    provisional_credit,
    reverse_provisional_credit,
    validate_case_claim,
)
from recoup.services.writeback import writeback_resolver

liability_app = typer.Typer(
    help="Who carries a loss: validate a claim, decide, grant or take back provisional credit.",
    no_args_is_help=True,
)

CaseId = Annotated[str, typer.Argument(help="case id or a unique prefix")]
Facts = Annotated[
    list[str] | None,
    typer.Option("--fact", help=f"name=value, repeatable; names: {', '.join(FACT_NAMES)}"),
]
Reason = Annotated[str, typer.Option(help="why (kept on the audit record)")]
Actor = Annotated[str, typer.Option(help="who is doing it")]
Json = Annotated[bool, typer.Option("--json", help="print JSON")]


def _facts(pairs: Sequence[str] | None, as_of: datetime) -> ClaimFacts:
    values: dict[str, str] = {}
    for pair in pairs or ():
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise InvalidInputError(
                f"--fact {pair!r} is not name=value", location=Location(field="--fact")
            )
        if name in values:
            raise InvalidInputError(
                f"--fact {name} is given twice", location=Location(field="--fact")
            )
        values[name] = value
    return claim_facts(values, as_of=as_of)


def _validation_json(validation: Validation) -> dict[str, Any]:
    return {
        "status": validation.status.value, "network": validation.network,
        "code": validation.code,
        "checks": [{"name": c.name, "status": c.status.value, "detail": c.detail}
                   for c in validation.checks],
        "choices": [c.value for c in validation.choices],
    }  # fmt: skip


def _case_json(case: Case) -> dict[str, Any]:
    return {
        "id": case.id, "status": case.status.value, "outcome": case.outcome,
        "amount": case.amount, "currency": case.currency,
        "written_off_amount": case.written_off_amount,
        "pending_resolution": case.pending_resolution,
    }  # fmt: skip


@liability_app.command("validate")
@guarded
def validate_command(case_id: CaseId, fact: Facts = None, as_json: Json = False) -> None:
    """Check a case's claim against its card network's rules (reason code, time limit, and
    for card-absent fraud: card presence, 3-D Secure, CVV2, fraud report, cardholder)."""
    app = get_app()
    validation = validate_case_claim(case_id, _facts(fact, app.clock.now()), reader=app.reader)
    if as_json:
        print_json(_validation_json(validation))
        return
    console.print(f"{validation.network}:{validation.code}: {validation.status.value}",
                  soft_wrap=True)  # fmt: skip
    for check in validation.checks:
        console.print(f"  {check.status.value:<12} {check.name}: {check.detail}", soft_wrap=True)
    if validation.choices:
        choices = ", ".join(c.value for c in validation.choices)
        console.print(
            f"decide with `recoup liability decide --choose` one of: {choices}", soft_wrap=True
        )


@liability_app.command("decide")
@guarded
def decide_command(
    case_id: CaseId,
    choose: Annotated[str, typer.Option(help="write_off, customer_liable or continue")],
    reason: Reason,
    fact: Facts = None,
    actor: Actor = "cli",
    as_json: Json = False,
) -> None:
    """Decide a claim that did not pass: write it off, hold the customer liable (both post to
    the journal and resolve the case, after its writeback when one is configured), or continue
    the claim anyway (the case stays open)."""
    app = get_app()
    rec = app.recovery()
    who = f"user:{actor}"
    case = decide_liability(
        case_id, choose, reason, _facts(fact, app.clock.now()), actor=who, uow=app.uow,
        clock=app.clock, ledger=rec.ledger, chart=rec.chart,
        resolve=writeback_resolver(app.settings.writeback.target, actor=who),
    )  # fmt: skip
    if as_json:
        print_json(_case_json(case))
        return
    if case.pending_resolution is not None:
        what = f"waits for its writeback to resolve as {case.pending_resolution['resolution']}"
    elif case.is_open:
        what = "continues: the claim may be submitted"
    else:
        what = f"resolved as {case.outcome}"
    console.print(f"case {short_id(case.id)} {what} (status {case.status.value})", soft_wrap=True)


@liability_app.command("provisional-credit")
@guarded
def provisional_credit_command(
    case_id: CaseId,
    product_type: Annotated[
        str, typer.Option(help="debit_card, prepaid_card, credit_card, bank_account, ...")
    ],
    transaction_type: Annotated[
        str, typer.Option(help="pos, card_not_present, atm, ach, transfer, foreign, ...")
    ],
    actor: Actor = "cli",
    as_json: Json = False,
) -> None:
    """Decide with the provisional-credit table whether the customer is credited ahead of the
    claim's outcome; a grant is posted once and its reversal deadline noted on the case."""
    app = get_app()
    rec = app.recovery()
    now = app.clock.now()
    decision = provisional_credit(
        case_id, product_type=product_type, transaction_type=transaction_type,
        policy=app.provisional_credit_policy(), actor=f"user:{actor}", uow=app.uow, clock=app.clock,
        ledger=rec.ledger, chart=rec.chart,
    )  # fmt: skip
    deadline = decision.reversal_deadline_at(now)
    if as_json:
        print_json({
            "grant": decision.grant, "amount": decision.amount.amount,
            "currency": decision.amount.currency,
            "reversal_deadline_days": decision.reversal_deadline_days,
            "reversal_deadline_at": None if deadline is None else deadline.isoformat(),
            "rule_id": decision.rule_id, "trace": decision.trace,
        })  # fmt: skip
        return
    if decision.grant and deadline is not None:
        console.print(f"granted {decision.amount}; it may be taken back until "
                      f"{deadline.isoformat()}", soft_wrap=True)  # fmt: skip
    else:
        console.print("no provisional credit")
    console.print(f"decided by {decision.trace}", soft_wrap=True)


@liability_app.command("reverse-credit")
@guarded
def reverse_credit_command(
    case_id: CaseId, reason: Reason, actor: Actor = "cli", as_json: Json = False
) -> None:
    """Take back a case's provisional credit (the claim failed), before its reversal
    deadline; posted once."""
    app = get_app()
    rec = app.recovery()
    reversal = reverse_provisional_credit(case_id, reason, actor=f"user:{actor}", uow=app.uow,
                                          clock=app.clock, ledger=rec.ledger,
                                          chart=rec.chart)  # fmt: skip
    if as_json:
        print_json({
            "case_id": reversal.case_id, "amount": reversal.amount.amount,
            "currency": reversal.amount.currency, "entry_id": reversal.entry_id,
            "reversed_at": reversal.reversed_at.isoformat(), "is_new": reversal.is_new,
        })  # fmt: skip
        return
    when = "now" if reversal.is_new else f"already, at {reversal.reversed_at.isoformat()}"
    console.print(f"provisional credit {reversal.amount} of case {short_id(reversal.case_id)} "
                  f"taken back {when}", soft_wrap=True)  # fmt: skip


__all__ = ["liability_app"]
