"""Decisions reused within an equivalence class of inputs.

A policy made only of decision tables is a pure function of its inputs. Its categorical inputs
(type, tier, team, ...) take few values; its numeric ones (``amount``, ``confidence``) take
many, but the tables only compare them with constants: ``>= 1000``, ``< 0.9``, ``[100..500)``.
Two amounts between the same two constants (or equal to the same constant) pass and fail the
same cells, so they get the same decision. :func:`numeric_cuts` reads those constants from
the graph once; :func:`class_key` maps a context to its class; the engine evaluates the first
context of a class and reuses the decision for the rest, with the real numbers put back in the
trace.

The reuse is only switched on when it is provably safe: every node is an input, output or
decision table node, a numeric field is only tested by plain comparisons and ranges with
constants in its own column, and no other cell (input or output) names it. Otherwise
:func:`numeric_cuts` returns None and every decision is evaluated.

A field no table names (the default pack never looks at ``reason_code`` or ``currency``)
cannot change a decision either, so :func:`read_fields` leaves it out of the class: one
evaluation serves every reason code. That too only holds when no cell can reach the context
without naming the field (``$root``, ``$nodes``, a table's input field or output path);
otherwise :func:`read_fields` returns None and every field is part of the class.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Collection, Iterable, Mapping
from typing import Any

NUMERIC_FIELDS = ("amount", "confidence")
"""The continuous inputs of :class:`recoup.domain.policy.PolicyInput`."""
SAFE_NODES = frozenset({"inputNode", "outputNode", "decisionTableNode"})

_NUMBER = r"-?\d+(?:\.\d+)?"
_COMPARISON = re.compile(rf"^(?:(<=|>=|<|>|==|!=)\s*)?({_NUMBER})$")
_RANGE = re.compile(rf"^[\[(\]]\s*({_NUMBER})\s*\.\.\s*({_NUMBER})\s*[\])\[]$")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_REACH = re.compile(r"\$[\w.\[]")
"""``$`` as more than the column's own value: ``$root``, ``$nodes``, ``$.x``, ``$[...]``."""


def _cell_numbers(cell: str) -> list[float] | None:
    """The constants of a cell made only of comparisons and ranges (comma-separated), or None
    when the cell is anything else."""
    numbers: list[float] = []
    for part in (p.strip() for p in cell.split(",")):
        if match := _COMPARISON.match(part):
            numbers.append(float(match.group(2)))
        elif match := _RANGE.match(part):
            numbers.extend((float(match.group(1)), float(match.group(2))))
        else:
            return None
    return numbers


def _names(cell: str, field: str) -> bool:
    """Whether ``cell`` refers to ``field`` outside string literals."""
    return re.search(rf"\b{field}\b", _STRING.sub('""', cell)) is not None


def numeric_cuts(graphs: Iterable[Mapping[str, Any]]) -> dict[str, tuple[float, ...]] | None:
    """Per numeric field, the sorted constants the tables compare it with; None when the
    graphs do anything with a numeric field that is not a plain comparison in its column."""
    cuts: dict[str, set[float]] = {name: set() for name in NUMERIC_FIELDS}
    tables = _tables(graphs)
    if tables is None or not all(_table_cuts(content, cuts) for content in tables):
        return None
    return {name: tuple(sorted(values)) for name, values in cuts.items()}


def _tables(graphs: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]] | None:
    """The contents of the graphs' decision tables; None when a node is anything else than a
    table, an input or an output (its effect on the decision cannot be read off)."""
    tables: list[Mapping[str, Any]] = []
    for graph in graphs:
        for node in graph.get("nodes", []):
            if node.get("type") not in SAFE_NODES:
                return None
            if node.get("type") == "decisionTableNode":
                tables.append(node.get("content") or {})
    return tables


def _table_cuts(content: Mapping[str, Any], cuts: dict[str, set[float]]) -> bool:
    inputs = {str(c["id"]): str(c.get("field") or "") for c in content.get("inputs", [])}
    outputs = [str(c["id"]) for c in content.get("outputs", [])]
    for rule in content.get("rules", []):
        for column, field in inputs.items():
            cell = str(rule.get(column, "") or "").strip()
            if not cell:
                continue
            if field in cuts:
                numbers = _cell_numbers(cell)
                if numbers is None:
                    return False
                cuts[field].update(numbers)
            elif any(_names(cell, name) or _names(field, name) for name in cuts):
                return False
        for column in outputs:
            cell = str(rule.get(column, "") or "")
            if any(_names(cell, name) for name in cuts):
                return False
    return True


def numeric_class(value: Any, cuts: tuple[float, ...]) -> Any:
    """Which interval between (or which one of) ``cuts`` the value falls in."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return ("value", value)
    at = bisect_left(cuts, value)
    return (at, at < len(cuts) and cuts[at] == value)


def read_fields(graphs: Iterable[Mapping[str, Any]], names: Iterable[str]) -> frozenset[str] | None:
    """Those of ``names`` that some table names in a column (its field or its label) or a cell;
    None when a table could read a field without naming it, or a node is not a table."""
    tables = _tables(graphs)
    if tables is None:
        return None
    texts: list[str] = []
    for content in tables:
        table = _table_texts(content)
        if table is None:
            return None
        texts.extend(table)
    return frozenset(name for name in names if any(_names(text, name) for text in texts))


def _table_texts(content: Mapping[str, Any]) -> list[str] | None:
    """Every text of a table that is evaluated or shown in the trace: column fields and
    labels, input and output cells. None when one of them can reach the whole context: a
    ``$`` that is more than an input column's own value, or an input field or output path."""
    if content.get("inputField") or content.get("outputPath"):
        return None
    inputs, outputs = content.get("inputs", []), content.get("outputs", [])
    # (text, whether a bare ``$`` in it is its column's own value)
    columns = [*inputs, *outputs]
    texts = [(str(c.get(key) or ""), False) for c in columns for key in ("field", "name")]
    for rule in content.get("rules", []):
        texts += [(str(rule.get(c["id"], "") or ""), bool(c.get("field"))) for c in inputs]
        texts += [(str(rule.get(c["id"], "") or ""), False) for c in outputs]
    for text, own_value in texts:
        bare = _STRING.sub('""', text)
        if "$" in bare and (not own_value or _REACH.search(bare)):
            return None
    return [text for text, _own_value in texts]


def class_key(
    context: Mapping[str, Any],
    cuts: Mapping[str, tuple[float, ...]],
    fields: Collection[str] | None = None,
) -> tuple[Any, ...]:
    """A hashable key equal for two contexts exactly when every table treats them alike:
    the context's (name, value) pairs in order, each numeric value replaced by its class,
    and only the ``fields`` that matter (all of them when None).

    Every new case asks for one, so the pairs come from the context in one step and only the
    few numeric fields are visited."""
    if fields is None:
        classed = dict(context)
    else:
        classed = {name: value for name, value in context.items() if name in fields}
    for name, points in cuts.items():
        if name in classed:
            classed[name] = numeric_class(classed[name], points)
    return tuple(classed.items())
