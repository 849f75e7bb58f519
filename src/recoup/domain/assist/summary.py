"""A case summary for hand-offs and escalations, built only from the evidence.

Deterministic: the same case, findings, events and timeline give the same words, with no model
in the loop, so a summary can be quoted in an escalation and checked against the record. Four
parts: what happened, the money at stake, what was tried, what is next.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from recoup.domain.assist.model import Suggestion
from recoup.domain.cases.case import Case
from recoup.domain.ids import short_id

TRIED_KINDS = frozenset({
    "recovery", "assigned", "triaged", "in_progress", "waiting", "escalated", "snoozed",
    "woken", "reopened", "duplicate", "duplicate_dismissed", "accepted", "resolved", "closed",
    "note", "attachment", "resolution_pending", "resolution_dropped",
})  # fmt: skip
"""Timeline entries that record something a person or the ladder did (not a finding arriving)."""
MAX_TRIED = 8


@dataclass(frozen=True, slots=True)
class CaseSummary:
    case_id: str
    what_happened: str
    money_at_stake: str
    what_was_tried: list[str]
    what_is_next: str

    def text(self) -> str:
        tried = "\n".join(f"  - {line}" for line in self.what_was_tried) or "  - nothing yet"
        return (
            f"Case {short_id(self.case_id)}\n"
            f"What happened: {self.what_happened}\n"
            f"Money at stake: {self.money_at_stake}\n"
            f"What was tried:\n{tried}\n"
            f"What is next: {self.what_is_next}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "text": self.text()}


def _day(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def _money(amount: Decimal | None, currency: str | None) -> str:
    if amount is None or currency is None:
        return "none recorded"
    return f"{amount:,.2f} {currency}"


def summarise(
    case: Case,
    findings: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
    timeline: Sequence[Mapping[str, Any]],
    suggestions: Sequence[Suggestion] = (),
    now: datetime | None = None,
) -> CaseSummary:
    type_words = case.type.replace("_", " ")
    codes = sorted({str(f["reason_code"]) for f in findings if f.get("reason_code")})
    sources = sorted({str(e["source"]) for e in events if e.get("source")})
    happened = (
        f"{type_words} on {case.entity_kind} {case.entity_key}: {len(findings)} "
        f"finding(s) from {case.first_seen_at.strftime('%Y-%m-%d')} to "
        f"{case.last_seen_at.strftime('%Y-%m-%d')}"
    )
    if codes:
        happened += f", reason {', '.join(codes)}"
    if sources:
        happened += f", reported by {', '.join(sources)}"
    if findings:
        happened += f". First finding: {str(findings[0]['summary']).rstrip('.')}."
    money = _money(case.amount, case.currency)
    extra = [
        f"{label} {_money(value, case.currency)}"
        for label, value in (
            ("recovered", case.recovered_amount),
            ("written off", case.written_off_amount),
            ("lost", case.lost_amount),
        )
        if value
    ]
    if extra:
        money += f" ({'; '.join(extra)})"
    if len(case.exposures) > 1:
        money += f", over {len(case.exposures)} distinct exposures"
    acts = [row for row in timeline if str(row.get("kind")) in TRIED_KINDS]
    tried = [f"{_day(row['at'])} {row['kind']}: {row['summary']}" for row in acts[-MAX_TRIED:]]
    if len(acts) > MAX_TRIED:
        counts = Counter(str(r["kind"]) for r in acts[:-MAX_TRIED])
        earlier = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        tried.insert(0, f"earlier: {earlier}")
    return CaseSummary(case.id, happened, money, tried, _next(case, suggestions, now))


def _next(case: Case, suggestions: Sequence[Suggestion], now: datetime | None) -> str:
    if not case.is_open:
        return f"nothing: the case is {case.status.value}" + (
            f" as {case.outcome}" if case.outcome else ""
        )
    who = case.assignee or f"the {case.queue} queue"
    parts = [f"{case.status.value}, {case.tier.value} tier, with {who}"]
    due = f"deadline {_day(case.sla_due_at)}"
    if now is not None and case.sla_due_at <= now:
        due = f"deadline passed {_day(case.sla_due_at)}"
    parts.append(due)
    if case.waiting_on:
        parts.append(f"waiting on the {case.waiting_on}")
    if case.pauses_automation:
        parts.append("automation paused until a person decides")
    by_field = {s.field: s for s in suggestions}
    action = by_field.get("next_action")
    if action is not None and action.value_in_force:
        parts.append(f"next action {action.value_in_force.replace('_', ' ')}")
    elif action is not None:
        parts.append(
            f"suggested next action {action.value.replace('_', ' ')} "
            f"({action.confidence:.0%}, needs a person)"
        )
    cause = by_field.get("root_cause")
    if cause is not None and cause.value_in_force:
        parts.append(f"root cause {cause.value_in_force.replace('_', ' ')}")
    return "; ".join(parts)


__all__ = ["CaseSummary", "summarise"]
