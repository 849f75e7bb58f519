"""The policy port: what a decision-table policy decides for one finding, and why.

The engine behind it (GoRules zen, JDM files) lives in ``recoup.adapters.policy``; the domain
sees only :class:`PolicyInput` in, :class:`Decision` out, and a trace naming the table and row
that decided each output, so every routing choice can be read back in plain words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from recoup.domain.cases.calendar import Calendar
from recoup.domain.cases.teams import TeamDirectory
from recoup.domain.detection.taxonomy import Tier
from recoup.domain.recovery.ladder import LadderSpec

BUSINESS_IMPACTS = ("low", "medium", "high", "critical")
CONTROL_SENSITIVITIES = ("low", "medium", "high")

OUTPUTS = (
    "tier",
    "owner_team",
    "sla_goal_hours",
    "sla_deadline_hours",
    "pauses_automation",
    "urgency",
    "business_impact",
    "control_sensitivity",
)
"""The fields a policy must produce for every finding (the queue follows from the owner)."""


@dataclass(frozen=True, slots=True)
class PolicyInput:
    """What the policy sees about one finding. ``amount`` is a decimal string in major units."""

    type: str
    category: str
    kind: str
    breakpoint: str
    entity_kind: str
    amount: str | None = None
    currency: str | None = None
    reason_code: str | None = None
    tier_hint: str | None = None
    customer_tier: str | None = None
    supplier_tier: str | None = None
    confidence: float | None = None
    """How sure the detector is, 0..1, when it can be unsure (a fuzzy match); None: certain."""


@dataclass(frozen=True, slots=True)
class TraceStep:
    """One decision table's contribution: the row that matched (``rule_index`` counts from 0),
    the input values its non-blank conditions tested (``inputs``: column field -> value) and
    what it set (``outputs``)."""

    table: str
    rule_id: str
    rule_index: int
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Decision:
    tier: Tier
    owner_team: str
    kind: str
    sla_goal: timedelta
    sla_deadline: timedelta
    pauses_automation: bool
    urgency: int
    business_impact: str
    control_sensitivity: str
    trace: list[TraceStep] = field(default_factory=list)
    write_off: bool = False
    """The money may be written off without recovery (an optional output; default no)."""

    @property
    def queue(self) -> str:
        """Policy and system exceptions never share a queue."""
        return f"{self.owner_team}.{self.kind}"

    def step_for(self, output: str) -> TraceStep | None:
        """The last step that set ``output`` (a later table overrides an earlier one)."""
        for step in reversed(self.trace):
            if output in step.outputs:
                return step
        return None


class PolicyEngine(Protocol):
    calendar: Calendar
    """The clock SLA targets run on: around the clock, or business hours with holidays."""
    teams: TeamDirectory
    """Who works each owner team's cases, and how new cases are shared out."""
    ladders: Mapping[str, LadderSpec]
    """The recovery ladder of each finding type (empty: no case climbs)."""

    def decide(self, inp: PolicyInput) -> Decision: ...


_SHOWN = {
    "sla_goal_hours": "SLA goal",
    "sla_deadline_hours": "SLA deadline",
    "pauses_automation": "pauses automation",
    "owner_team": "owner team",
    "business_impact": "business impact",
    "control_sensitivity": "control sensitivity",
}


def _condition(field_: str, value: Any) -> str:
    if value is True:
        return field_
    if value is False:
        return f"not {field_}"
    return f"{field_} = {'none' if value is None else value}"


def _value(output: str, value: Any) -> str:
    if output.endswith("_hours"):
        return f"{value} h"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def to_record(decision: Decision) -> dict[str, Any]:
    """The decision as stored with the case: its outputs and the rows that decided them."""
    return {
        "outputs": {
            "tier": decision.tier.value,
            "owner_team": decision.owner_team,
            "queue": decision.queue,
            "sla_goal_hours": decision.sla_goal.total_seconds() / 3600,
            "sla_deadline_hours": decision.sla_deadline.total_seconds() / 3600,
            "pauses_automation": decision.pauses_automation,
            "urgency": decision.urgency,
            "business_impact": decision.business_impact,
            "control_sensitivity": decision.control_sensitivity,
            "write_off": decision.write_off,
        },
        "kind": decision.kind,
        "trace": [
            {"table": s.table, "rule_id": s.rule_id, "rule_index": s.rule_index,
             "inputs": s.inputs, "outputs": s.outputs}
            for s in decision.trace
        ],
    }  # fmt: skip


def explain_record(record: dict[str, Any]) -> list[str]:
    """``explain`` for a decision as stored with a case."""
    outputs = record.get("outputs", {})
    trace = [
        TraceStep(str(s.get("table")), str(s.get("rule_id")), int(s.get("rule_index", 0)),
                  dict(s.get("inputs") or {}), dict(s.get("outputs") or {}))
        for s in record.get("trace", [])
    ]  # fmt: skip
    lines = []
    for step in trace:
        why = ", ".join(_condition(f, v) for f, v in step.inputs.items()) or "otherwise"
        for output, value in step.outputs.items():
            name = _SHOWN.get(output, output)
            lines.append(
                f"{name} {_value(output, value)}: table {step.table!r} "
                f"row {step.rule_index + 1} ({why})"
            )
    if "queue" in outputs:
        lines.append(f"queue {outputs['queue']}: owner team and kind ({record.get('kind')})")
    return lines


def explain(decision: Decision) -> list[str]:
    """One plain-words line per output: the value, the table and row, and why the row matched,
    e.g. ``tier human: table 'tier' row 1 (type = sanctions_alert)``."""
    return explain_record(to_record(decision))


__all__ = [
    "BUSINESS_IMPACTS",
    "CONTROL_SENSITIVITIES",
    "OUTPUTS",
    "Decision",
    "PolicyEngine",
    "PolicyInput",
    "TraceStep",
    "explain",
    "explain_record",
    "to_record",
]
