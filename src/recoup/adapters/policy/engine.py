"""The zen engine over a policy folder: decisions are compiled once, through the loader, and
every evaluation returns the decision with its trace (table, row and inputs per output)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import zen

from recoup.adapters.policy.classes import NUMERIC_FIELDS, class_key, numeric_cuts, read_fields
from recoup.domain.cases.calendar import ALWAYS, Calendar
from recoup.domain.cases.teams import NO_TEAMS, TeamDirectory
from recoup.domain.detection.taxonomy import Tier
from recoup.domain.errors import ConfigurationError
from recoup.domain.policy import OUTPUTS, Decision, PolicyInput, TraceStep
from recoup.domain.recovery.ladder import LadderSpec

DEFAULT_POLICY_PATH = Path(__file__).parent / "default"
ENTRY = "decide.json"
"""The graph evaluated for every finding; other files in the folder may be sub-decisions."""


@dataclass(frozen=True, slots=True)
class TableInfo:
    """What the trace needs about one decision table node, read once from the JSON."""

    name: str
    outputs: tuple[str, ...]
    input_labels: dict[str, str]
    """column id -> the name shown in the trace (its field when that is a plain name)"""
    rules: tuple[tuple[str, tuple[str, ...]], ...]
    """per row: its _id and the ids of its non-blank input columns"""


def table_info(node: Mapping[str, Any]) -> TableInfo:
    content = node["content"]
    labels = {}
    for column in content["inputs"]:
        field_ = str(column.get("field") or "")
        labels[column["id"]] = (
            field_ if field_.isidentifier() else str(column.get("name") or field_)
        )
    rules = tuple(
        (
            str(rule.get("_id", "")),
            tuple(c for c in labels if str(rule.get(c, "") or "").strip()),
        )
        for rule in content["rules"]
    )
    outputs = tuple(str(column["field"]) for column in content["outputs"])
    return TableInfo(str(node["name"]), outputs, labels, rules)


def context_of(inp: PolicyInput) -> dict[str, Any]:
    """The JSON context a policy sees: the input's fields, the amount as a number."""
    return {
        "type": inp.type,
        "category": inp.category,
        "kind": inp.kind,
        "breakpoint": inp.breakpoint,
        "entity_kind": inp.entity_kind,
        "amount": None if inp.amount is None else float(Decimal(inp.amount)),
        "currency": inp.currency,
        "reason_code": inp.reason_code,
        "tier_hint": inp.tier_hint,
        "customer_tier": inp.customer_tier,
        "supplier_tier": inp.supplier_tier,
        "confidence": inp.confidence,
    }


def _get(data: Mapping[str, Any] | None, path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def trace_steps(trace: Mapping[str, Any], tables: Mapping[str, TableInfo]) -> list[TraceStep]:
    """The decision-table steps of a zen trace, in evaluation order."""
    steps = []
    for node in sorted(trace.values(), key=lambda n: n.get("order", 0)):
        info = tables.get(node.get("id", ""))
        data = node.get("traceData")
        if info is None or not isinstance(data, Mapping) or "index" not in data:
            continue  # not a table, or a collect table (a list of rows): not traced per row
        index = int(data["index"])
        rule_id, tested = info.rules[index]
        reference = data.get("reference_map") or {}
        inputs = {}
        for column_id in tested:
            label = info.input_labels[column_id]
            inputs[label] = reference.get(label, _get(node.get("input"), label))
        outputs = {name: _get(node.get("output"), name) for name in info.outputs}
        steps.append(TraceStep(info.name, rule_id, index, inputs, outputs))
    return steps


def _strip(message: str) -> str:
    return message.split("\n\nStack backtrace")[0].replace("\n\nCaused by:\n   ", ":").strip()


class ZenPolicy:
    """A validated policy folder behind the domain's ``PolicyEngine`` port."""

    def __init__(
        self,
        path: Path,
        files: Mapping[str, str],
        tables: Mapping[str, TableInfo],
        *,
        reuse: bool = True,
    ):
        self.path = path
        self.calendar: Calendar = ALWAYS
        self.teams: TeamDirectory = NO_TEAMS
        self.ladders: Mapping[str, LadderSpec] = {}
        self._files = dict(files)
        self._tables = dict(tables)
        # Each file is parsed and compiled once; the engine's loader hands the compiled
        # content back on every call (the loader path is about five times faster than
        # evaluating a decision object, which starts the binding's runtime per call).
        self._compiled = {key: zen.ZenDecisionContent(text) for key, text in self._files.items()}
        self._engine = zen.ZenEngine({"loader": self._load})
        # Decisions are reused within a class of inputs when the tables allow it (classes.py).
        # Only the entry graph counts: a graph of tables alone calls no other file.
        entry = [json.loads(self._files[ENTRY])]
        self._cuts = numeric_cuts(entry) if reuse else None
        self._fields = _class_fields(entry)
        self._reuse: dict[tuple[Any, ...], _Reusable] = {}

    @property
    def reuses_decisions(self) -> bool:
        """Whether decisions are reused within equivalence classes of inputs."""
        return self._cuts is not None

    def _load(self, key: str) -> Any:
        return self._compiled[key]

    def evaluate(self, context: Mapping[str, Any]) -> tuple[dict[str, Any], list[TraceStep]]:
        """The raw result and the trace for one context (validation and tests use this)."""
        try:
            response = self._engine.evaluate(ENTRY, dict(context), {"trace": True})
        except RuntimeError as exc:
            raise ConfigurationError(f"policy {self.path}: {_strip(str(exc))}") from exc
        return response["result"], trace_steps(response.get("trace") or {}, self._tables)

    def decide(self, inp: PolicyInput) -> Decision:
        context = context_of(inp)
        if self._cuts is None:
            return decision_of(*self.evaluate(context), kind=inp.kind)
        key = class_key(context, self._cuts, self._fields)
        known = self._reuse.get(key)
        if known is None:
            known = _Reusable.of(decision_of(*self.evaluate(context), kind=inp.kind))
            if len(self._reuse) >= REUSE_LIMIT:
                self._reuse.clear()
            self._reuse[key] = known
        return _with_numbers(known, context)

    @property
    def classes_seen(self) -> int:
        """How many input classes have a decision kept for reuse."""
        return len(self._reuse)


REUSE_LIMIT = 100_000
"""Decisions kept for reuse; the store starts over when full."""

DECIDED_FROM_INPUT = ("kind",)
"""Input fields copied into the decision as they are (not through the tables)."""
RESULT_FIELDS = (*OUTPUTS, "write_off")
"""What :func:`decision_of` reads from the result; a table passes its input through, so an
input of one of these names would reach the decision without any table naming it."""


def _class_fields(graphs: list[dict[str, Any]]) -> frozenset[str] | None:
    """The input fields a class is made of: those the tables read, those copied into the
    decision, and any named like a result field. None: every field."""
    names = list(context_of(PolicyInput("", "", "", "", "")))
    read = read_fields(graphs, names)
    if read is None:
        return None
    return read | {n for n in names if n in DECIDED_FROM_INPUT or n in RESULT_FIELDS}


@dataclass(frozen=True, slots=True)
class _Reusable:
    """A decision kept for its class, with the positions of the trace steps that show a
    number: only those differ between members of the class, so only those are rebuilt."""

    decision: Decision
    numeric_steps: tuple[int, ...]

    @classmethod
    def of(cls, decision: Decision) -> _Reusable:
        steps = tuple(
            index
            for index, step in enumerate(decision.trace)
            if any(name in step.inputs for name in NUMERIC_FIELDS)
        )
        return cls(decision, steps)


def _with_numbers(known: _Reusable, context: Mapping[str, Any]) -> Decision:
    """The kept decision with this context's own numbers in its trace (it was evaluated for
    another member of the class). The trace is a new list; steps without numbers are shared."""
    trace = list(known.decision.trace)
    for index in known.numeric_steps:
        trace[index] = _step_with_numbers(trace[index], context)
    return replace(known.decision, trace=trace)


def _step_with_numbers(step: TraceStep, context: Mapping[str, Any]) -> TraceStep:
    inputs = {k: context.get(k) if k in NUMERIC_FIELDS else v for k, v in step.inputs.items()}
    return replace(step, inputs=inputs)


def decision_of(result: Mapping[str, Any], trace: list[TraceStep], *, kind: str) -> Decision:
    """Build the Decision; a missing or malformed output is a ConfigurationError."""
    try:
        return Decision(
            tier=Tier(result["tier"]),
            owner_team=str(result["owner_team"]),
            kind=kind,
            sla_goal=timedelta(hours=float(result["sla_goal_hours"])),
            sla_deadline=timedelta(hours=float(result["sla_deadline_hours"])),
            pauses_automation=bool(result["pauses_automation"]),
            urgency=int(result["urgency"]),
            business_impact=str(result["business_impact"]),
            control_sensitivity=str(result["control_sensitivity"]),
            trace=trace,
            write_off=bool(result.get("write_off", False)),
        )
    except KeyError as exc:
        raise ConfigurationError(f"the policy produced no {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"the policy produced a malformed output: {exc}") from None
