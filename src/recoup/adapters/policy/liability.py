"""The provisional-credit decision table, evaluated by the zen engine.

Like the routing policy (``engine.py``): the JDM graph is read and validated once, compiled
once, and every evaluation goes through the engine's loader with a trace, so each decision
names the table row that made it. The packaged table is ``default/provisional_credit.json``;
a policy folder may carry its own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

import zen

from recoup.adapters.policy.engine import (
    DEFAULT_POLICY_PATH,
    TableInfo,
    _strip,
    table_info,
    trace_steps,
)
from recoup.adapters.policy.loading import PolicyError, graph_problems
from recoup.domain.errors import ConfigurationError
from recoup.domain.money import Money, currency_exponent
from recoup.domain.policy import TraceStep
from recoup.domain.recovery.liability import ProvisionalCreditDecision, ProvisionalCreditRequest

PROVISIONAL_CREDIT_FILE = "provisional_credit.json"
DEFAULT_PROVISIONAL_CREDIT_PATH = DEFAULT_POLICY_PATH / PROVISIONAL_CREDIT_FILE
OUTPUTS = ("grant", "amount", "reversal_deadline_days")

SAMPLES: tuple[dict[str, Any], ...] = tuple(
    {"exception_type": t, "product_type": p, "transaction_type": x, "reason_code": r,
     "amount": 120.0}
    for t in ("dispute_opened", "payment_failed")
    for p in ("debit_card", "credit_card", "bank_account", "other")
    for x in ("pos", "atm", "ach")
    for r in (None, "visa:10.4", "visa:13.3")
)  # fmt: skip
"""Requests every table must answer with valid outputs before it is used."""


def context_of(request: ProvisionalCreditRequest) -> dict[str, Any]:
    """What the table sees: the request's fields, the amount as a number in major units."""
    return {
        "exception_type": request.exception_type,
        "product_type": request.product_type,
        "transaction_type": request.transaction_type,
        "reason_code": request.reason_code,
        "amount": float(request.amount.amount),
    }


def trace_text(file: str, steps: list[TraceStep]) -> str:
    """``provisional_credit.json, table 'provisional_credit' row 3 (pc.debit_purchase_or_foreign):
    exception_type = dispute_opened, product_type = debit_card, transaction_type = pos``."""
    parts = []
    for step in steps:
        tested = ", ".join(f"{k} = {'none' if v is None else v}" for k, v in step.inputs.items())
        parts.append(
            f"{file}, table {step.table!r} row {step.rule_index + 1} ({step.rule_id}): "
            f"{tested or 'otherwise'}"
        )
    return "; ".join(parts) or f"{file}: no table row matched"


class ZenProvisionalCredit:
    """A validated provisional-credit graph behind the ``ProvisionalCreditPolicy`` port."""

    def __init__(self, path: Path, text: str, tables: Mapping[str, TableInfo]) -> None:
        self.path = path
        self._tables = dict(tables)
        self._amount_cells = amount_cells(json.loads(text))
        self._compiled = zen.ZenDecisionContent(text)  # compiled once, handed out by the loader
        self._engine = zen.ZenEngine({"loader": self._load})

    def _load(self, key: str) -> Any:
        return self._compiled

    def evaluate(self, context: Mapping[str, Any]) -> tuple[dict[str, Any], list[TraceStep]]:
        try:
            response = self._engine.evaluate(self.path.name, dict(context), {"trace": True})
        except RuntimeError as exc:
            raise ConfigurationError(f"{self.path}: {_strip(str(exc))}") from exc
        return response["result"], trace_steps(response.get("trace") or {}, self._tables)

    def decide(self, request: ProvisionalCreditRequest) -> ProvisionalCreditDecision:
        result, steps = self.evaluate(context_of(request))
        trace = trace_text(self.path.name, steps)
        problem = output_problem(result)
        if problem:
            raise ConfigurationError(f"{trace}: {problem}")
        step = next((s for s in reversed(steps) if "amount" in s.outputs), None)
        cell = self._amount_cells.get((step.table, step.rule_index), "") if step else ""
        amount = _granted(result["amount"], request.amount, passed_through=cell == "amount")
        if amount.amount > request.amount.amount:
            raise ConfigurationError(
                f"{trace}: grants {amount} for a claim of {request.amount}: never more than "
                "the disputed amount"
            )
        return ProvisionalCreditDecision(
            grant=result["grant"],
            amount=amount,
            reversal_deadline_days=result.get("reversal_deadline_days"),
            rule_id=steps[-1].rule_id if steps else "",
            trace=trace,
        )


def amount_cells(graph: Mapping[str, Any]) -> dict[tuple[str, int], str]:
    """(table name, row index) -> the text of the row's ``amount`` output cell."""
    cells = {}
    for node in graph.get("nodes") or []:
        if node.get("type") != "decisionTableNode":
            continue
        content = node.get("content") or {}
        ids = [c["id"] for c in content.get("outputs") or [] if c.get("field") == "amount"]
        for index, rule in enumerate(content.get("rules") or []):
            for column_id in ids:
                cells[(str(node["name"]), index)] = str(rule.get(column_id) or "").strip()
    return cells


def _granted(value: float, disputed: Money, *, passed_through: bool) -> Money:
    """The table's number as money. A row whose amount cell is just ``amount`` grants the
    exact disputed amount (the engine's number is a float, which loses digits of a large
    amount); a computed amount is rounded down to the currency's decimals."""
    if passed_through:
        return disputed
    step = Decimal(1).scaleb(-currency_exponent(disputed.currency))
    return Money(Decimal(repr(value)).quantize(step, rounding=ROUND_DOWN), disputed.currency)


def output_problem(result: Mapping[str, Any]) -> str | None:
    """What is wrong with one evaluation's outputs, or None."""
    grant: Any = result.get("grant")
    amount: Any = result.get("amount")
    days: Any = result.get("reversal_deadline_days")
    if not isinstance(grant, bool):
        return f"grant must be true or false, got {grant!r}"
    if not _number(amount) or amount < 0:
        return f"amount must be a number of at least 0, got {amount!r}"
    if days is not None and (not _number(days) or days != int(days) or days < 0):
        return f"reversal_deadline_days must be a whole number of days or null, got {days!r}"
    if grant and (days is None or amount <= 0):
        return "a grant needs a positive amount and a reversal deadline"
    if not grant and amount != 0:
        return f"no grant, but an amount of {amount}"
    return None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def load_provisional_credit(path: Path | str | None = None) -> ZenProvisionalCredit:
    """Read, validate and compile a provisional-credit graph (a file, or a policy folder
    holding ``provisional_credit.json``); raise PolicyError naming every problem."""
    file = Path(path) if path is not None else DEFAULT_PROVISIONAL_CREDIT_PATH
    if file.is_dir():
        file = file / PROVISIONAL_CREDIT_FILE
    try:
        text = file.read_text(encoding="utf-8")
        graph = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyError([f"{file}, line {exc.lineno}: not JSON: {exc.msg}"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError([f"{file}: cannot read: {exc}"]) from None
    problems = list(graph_problems(file.name, graph))
    if problems:
        raise PolicyError(problems)
    try:
        zen.ZenEngine().create_decision(text)
    except Exception as exc:
        raise PolicyError([f"{file.name}: zen refuses the graph: {_strip(str(exc))}"]) from None
    nodes = [n for n in graph["nodes"] if n.get("type") == "decisionTableNode"]
    if not nodes:
        raise PolicyError([f"{file.name}: no decision table"])
    policy = ZenProvisionalCredit(file, text, {n["id"]: table_info(n) for n in nodes})
    for sample in SAMPLES:
        try:
            result, steps = policy.evaluate(sample)
        except ConfigurationError as exc:
            problems.append(exc.message)
            continue
        problem = output_problem(result) or (
            f"amount {result['amount']} exceeds the disputed {sample['amount']}"
            if result["amount"] > sample["amount"]
            else None
        )
        if problem:
            problems.append(f"{trace_text(file.name, steps)}: {problem}")
    if problems:
        raise PolicyError(list(dict.fromkeys(problems)))
    return policy


__all__ = [
    "DEFAULT_PROVISIONAL_CREDIT_PATH",
    "OUTPUTS",
    "PROVISIONAL_CREDIT_FILE",
    "ZenProvisionalCredit",
    "amount_cells",
    "context_of",
    "load_provisional_credit",
    "output_problem",
    "trace_text",
]
