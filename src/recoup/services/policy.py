"""Policy backtest: re-decide the stored cases with a candidate policy and report what would
change before anyone ships it.

Each case is re-decided from the finding that opened it (type, amount, reason, the detector's
tier, the entity), exactly as ingest decided it. What it is compared with: the decision stored
with the case; for a case opened before policies were recorded, the current policy's decision.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from recoup.domain.cases.casing import policy_input
from recoup.domain.policy import Decision, PolicyEngine, to_record
from recoup.domain.ports import UnitOfWork

COMPARED = (
    "tier",
    "owner_team",
    "queue",
    "sla_goal_hours",
    "sla_deadline_hours",
    "pauses_automation",
    "business_impact",
    "control_sensitivity",
    "urgency",
    "write_off",
)


@dataclass(frozen=True, slots=True)
class CaseChange:
    case_id: str
    type: str
    entity: str
    amount: Decimal | None
    currency: str | None
    changes: dict[str, tuple[Any, Any]]
    """Output -> (before, after)."""


@dataclass
class BacktestReport:
    cases: int = 0
    changed: list[CaseChange] = field(default_factory=list)
    by_output: Counter[str] = field(default_factory=Counter)
    tier_shifts: Counter[tuple[str, str]] = field(default_factory=Counter)
    owner_changes: Counter[tuple[str, str]] = field(default_factory=Counter)
    newly_written_off: dict[str, Decimal] = field(default_factory=dict)
    """Currency -> the money the candidate would write off that the current policy would not."""
    no_longer_written_off: dict[str, Decimal] = field(default_factory=dict)

    def written_off_cases(self) -> list[CaseChange]:
        return [c for c in self.changed if c.changes.get("write_off") == (False, True)]


def _outputs(decision: Decision) -> dict[str, Any]:
    outputs: dict[str, Any] = to_record(decision)["outputs"]
    return outputs


def backtest(
    candidate: PolicyEngine,
    *,
    current: PolicyEngine,
    reader: Callable[[], UnitOfWork],
    limit: int | None = None,
) -> BacktestReport:
    """Re-decide every stored case (or the first ``limit``) with ``candidate``."""
    report = BacktestReport()
    with reader() as tx:
        for case, finding in tx.cases_with_first_finding(limit):
            report.cases += 1
            inp = policy_input(finding)
            before: dict[str, Any]
            if case.decision is not None:
                before = dict(case.decision.get("outputs", {}))
            else:
                before = _outputs(current.decide(inp))
            after = _outputs(candidate.decide(inp))
            changes = {
                name: (before.get(name, False if name == "write_off" else None), after.get(name))
                for name in COMPARED
                if before.get(name, False if name == "write_off" else None) != after.get(name)
            }
            if not changes:
                continue
            change = CaseChange(case.id, case.type, f"{case.entity_kind}:{case.entity_key}",
                                finding.amount, finding.currency, changes)  # fmt: skip
            report.changed.append(change)
            report.by_output.update(changes.keys())
            if "tier" in changes:
                report.tier_shifts[(str(changes["tier"][0]), str(changes["tier"][1]))] += 1
            if "owner_team" in changes:
                old, new = changes["owner_team"]
                report.owner_changes[(str(old), str(new))] += 1
            if "write_off" in changes and finding.amount is not None and finding.currency:
                target = (report.newly_written_off if changes["write_off"][1]
                          else report.no_longer_written_off)  # fmt: skip
                target[finding.currency] = target.get(finding.currency, Decimal(0)) + finding.amount
    return report
