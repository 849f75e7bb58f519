"""Load a policy folder and validate it before anything is decided with it.

Every ``*.json`` file must be a JDM graph whose cells compile; the entry graph must hold the
required tables; and for every finding type of the taxonomy, with sample inputs, it must produce
every output with a valid value. Each problem names the file, the node and the rule.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import zen

from recoup.adapters.policy.engine import ENTRY, TableInfo, ZenPolicy, _strip, table_info
from recoup.domain.detection.taxonomy import ALL_TYPES, FindingType, Tier
from recoup.domain.errors import ConfigurationError
from recoup.domain.policy import BUSINESS_IMPACTS, CONTROL_SENSITIVITIES, OUTPUTS, TraceStep

REQUIRED_TABLES = ("impact", "tier", "owner", "sla", "pause", "control", "urgency")
NODE_TYPES = {
    "inputNode", "outputNode", "decisionTableNode", "expressionNode", "switchNode",
    "functionNode", "decisionNode", "customNode",
}  # fmt: skip
HIT_POLICIES = ("first", "collect")
TEAM = re.compile(r"^[a-z][a-z0-9_]*$")


class PolicyError(ConfigurationError):
    """The policy is not valid."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{problems[0]}{more}")


def _where(file: str, node: Mapping[str, Any] | None = None, rule: str | None = None,
           row: int | None = None) -> str:  # fmt: skip
    parts = [file]
    if node is not None:
        parts.append(f"node {node.get('name') or node.get('id')!r}")
    if rule is not None:
        parts.append(f"rule {rule!r}" + (f" (row {row})" if row is not None else ""))
    return ", ".join(parts)


def _compiles(expression: str, *, unary: bool) -> str | None:
    try:
        (zen.compile_unary_expression if unary else zen.compile_expression)(expression)
    except Exception as exc:
        return _strip(str(exc))
    return None


def _table_problems(file: str, node: Mapping[str, Any]) -> Iterator[str]:
    content = node.get("content")
    if not isinstance(content, Mapping):
        yield f"{_where(file, node)}: a decision table needs content"
        return
    if content.get("hitPolicy") not in HIT_POLICIES:
        yield f"{_where(file, node)}: hitPolicy must be one of {', '.join(HIT_POLICIES)}"
    columns: dict[str, bool] = {}
    for side, unary in (("inputs", True), ("outputs", False)):
        for column in content.get(side) or []:
            if not isinstance(column, Mapping) or not column.get("id"):
                yield f"{_where(file, node)}: every column of {side} needs an id"
                continue
            if side == "outputs" and not column.get("field"):
                yield f"{_where(file, node)}: output column {column['id']!r} needs a field"
            columns[str(column["id"])] = unary
    if not isinstance(content.get("rules"), list):
        yield f"{_where(file, node)}: rules must be a list"
        return
    for row, rule in enumerate(content["rules"], 1):
        rule_id = str(rule.get("_id") or f"#{row}")
        for column_id, unary in columns.items():
            cell = str(rule.get(column_id) or "").strip()
            if not cell:
                continue
            error = _compiles(cell, unary=unary)
            if error:
                yield (f"{_where(file, node, rule_id, row)}: column {column_id!r}: "
                       f"cannot read {cell!r}: {error}")  # fmt: skip


def graph_problems(file: str, graph: Any) -> Iterator[str]:
    """Structural problems of one JDM graph: nodes, tables, expressions, edges."""
    if not isinstance(graph, Mapping) or not isinstance(graph.get("nodes"), list):
        yield f"{file}: not a JDM decision graph (no list of nodes)"
        return
    ids = set()
    for node in graph["nodes"]:
        if not isinstance(node, Mapping) or not node.get("id") or not node.get("name"):
            yield f"{file}: every node needs an id and a name"
            continue
        ids.add(node["id"])
        if node.get("type") not in NODE_TYPES:
            yield f"{_where(file, node)}: unknown node type {node.get('type')!r}"
        elif node["type"] == "decisionTableNode":
            yield from _table_problems(file, node)
        elif node["type"] == "expressionNode":
            for item in (node.get("content") or {}).get("expressions") or []:
                error = _compiles(str(item.get("value") or ""), unary=False)
                if error:
                    yield f"{_where(file, node)}: expression {item.get('key')!r}: {error}"
    for edge in graph.get("edges") or []:
        for end in ("sourceId", "targetId"):
            if edge.get(end) not in ids:
                yield f"{file}: edge {edge.get('id')!r}: {end} {edge.get(end)!r} names no node"


def sample_contexts(spec: FindingType) -> Iterator[dict[str, Any]]:
    """Inputs every policy must handle for a type: small, none and critical amounts."""
    base = {"type": spec.name, "category": spec.category.value, "kind": spec.kind.value,
            "breakpoint": spec.breakpoint.value, "entity_kind": spec.entity,
            "currency": "EUR", "reason_code": None, "customer_tier": None,
            "supplier_tier": None}  # fmt: skip
    yield {**base, "amount": 10.0, "tier_hint": spec.tier.value}
    yield {**base, "amount": None, "tier_hint": None}
    yield {**base, "amount": 50_000.0, "tier_hint": spec.tier.value, "customer_tier": "vip"}


def _step_for(trace: list[TraceStep], output: str) -> TraceStep | None:
    return next((s for s in reversed(trace) if output in s.outputs), None)


def output_problems(result: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(output, problem) for every missing or invalid output."""
    tiers = ", ".join(t.value for t in Tier)
    impacts, sensitivities = ", ".join(BUSINESS_IMPACTS), ", ".join(CONTROL_SENSITIVITIES)
    checks: dict[str, tuple[Any, str]] = {
        "tier": (lambda v: v in {t.value for t in Tier}, f"one of {tiers}"),
        "owner_team": (lambda v: isinstance(v, str) and TEAM.match(v), "a lowercase team name"),
        "sla_goal_hours": (lambda v: _number(v) and v > 0, "a positive number of hours"),
        "sla_deadline_hours": (lambda v: _number(v) and v > 0, "a positive number of hours"),
        "pauses_automation": (lambda v: isinstance(v, bool), "true or false"),
        "urgency": (lambda v: _number(v) and v == int(v) and 0 <= v <= 100,
                    "a whole number 0-100"),
        "business_impact": (lambda v: v in BUSINESS_IMPACTS, f"one of {impacts}"),
        "control_sensitivity": (lambda v: v in CONTROL_SENSITIVITIES, f"one of {sensitivities}"),
    }  # fmt: skip
    for output in OUTPUTS:
        if output not in result or result[output] is None:
            yield output, "no table produces it"
            continue
        valid, expected = checks[output]
        if not valid(result[output]):
            yield output, f"{result[output]!r} is not {expected}"
    goal: Any = result.get("sla_goal_hours")
    deadline: Any = result.get("sla_deadline_hours")
    if _number(goal) and _number(deadline) and goal > deadline:
        yield "sla_goal_hours", f"the goal ({goal} h) is after the deadline ({deadline} h)"


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def read_files(path: Path) -> tuple[dict[str, str], dict[str, Any], list[str]]:
    """Every ``*.json`` under the folder: text and parsed graph by key, and parse problems."""
    if not path.is_dir():
        return {}, {}, [f"{path}: not a folder"]
    texts, graphs, problems = {}, {}, []
    for file in sorted(path.rglob("*.json")):
        key = file.relative_to(path).as_posix()
        try:
            texts[key] = file.read_text(encoding="utf-8")
            graphs[key] = json.loads(texts[key])
        except json.JSONDecodeError as exc:
            problems.append(f"{key}, line {exc.lineno}: not JSON: {exc.msg}")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{key}: cannot read: {exc}")
    return texts, graphs, problems


def load_policy(path: Path | str, *, reuse: bool = True) -> ZenPolicy:
    """Read, validate and compile a policy folder; raise PolicyError listing every problem."""
    path = Path(path)
    texts, graphs, problems = read_files(path)
    for key, graph in graphs.items():
        problems.extend(graph_problems(key, graph))
    entry = graphs.get(ENTRY)
    if entry is None and not problems:
        problems.append(f"{path}: no {ENTRY} (the graph decided for every finding)")
    if problems:
        raise PolicyError(problems)
    for key, text in texts.items():
        try:
            zen.ZenEngine().create_decision(text)
        except Exception as exc:
            problems.append(f"{key}: zen refuses the graph: {_strip(str(exc))}")
    assert entry is not None  # checked above
    nodes = [n for n in entry["nodes"] if n.get("type") == "decisionTableNode"]
    names = {n["name"] for n in nodes}
    problems.extend(f"{ENTRY}: no decision table named {t!r}" for t in REQUIRED_TABLES
                    if t not in names)  # fmt: skip
    if problems:
        raise PolicyError(problems)
    tables: dict[str, TableInfo] = {n["id"]: table_info(n) for n in nodes}
    policy = ZenPolicy(path, texts, tables, reuse=reuse)
    for spec in ALL_TYPES.values():
        for context in sample_contexts(spec):
            try:
                result, trace = policy.evaluate(context)
            except ConfigurationError as exc:
                problems.append(f"{ENTRY}: type {spec.name}: {exc.message}")
                continue
            for output, problem in output_problems(result):
                step = _step_for(trace, output)
                where = (_where(ENTRY, {"name": step.table}, step.rule_id, step.rule_index + 1)
                         if step else ENTRY)  # fmt: skip
                sample = f"amount {context['amount']}, tier hint {context['tier_hint']}"
                problems.append(f"{where}: {output}: {problem} (type {spec.name}, {sample})")
        if len(problems) > 20:
            break
    if problems:
        raise PolicyError(list(dict.fromkeys(problems)))
    return policy
