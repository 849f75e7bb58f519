"""Advice inside the guardrails: a suggestion never changes what policy decided.

Policy decides a case's type, tier, owner team, queue, SLA and pause; a suggestion for a field
policy decided is advice, shown next to the decision and never applied, however confident. A
suggestion fills only a field policy left open (root cause, next action), and only at or above
the confidence band; below it the field waits for a person. Nothing here touches the case.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from recoup.domain.assist.labels import POLICY_FIELDS
from recoup.domain.assist.model import Prediction, Suggestion, SuggestionStatus
from recoup.domain.cases.case import Case

POLICY_DECIDED = (
    "type",
    "tier",
    "owner_team",
    "queue",
    "sla_goal_at",
    "sla_due_at",
    "pauses_automation",
    "decision",
)
"""The case fields that belong to detection and policy; assist reads them, never writes them."""


def check_band(band: float) -> float:
    if not 0.5 <= band <= 1.0:
        raise ValueError(f"the confidence band must be between 0.5 and 1 (got {band})")
    return band


def guard(
    case: Case, field: str, prediction: Prediction, band: float, model_version: str, now: datetime
) -> Suggestion:
    """The suggestion ``prediction`` becomes for ``case`` under the guardrails."""
    check_band(band)
    agrees: bool | None = None
    if field in POLICY_FIELDS:
        status = SuggestionStatus.ADVISORY
        agrees = prediction.value == getattr(case, field)
    elif prediction.confidence >= band:
        status = SuggestionStatus.AUTO_ACCEPTED
    else:
        status = SuggestionStatus.NEEDS_PERSON
    return Suggestion(
        case_id=case.id,
        field=field,
        value=prediction.value,
        confidence=prediction.confidence,
        model_version=model_version,
        status=status,
        created_at=now,
        agrees_with_policy=agrees,
    )


def needs_person(suggestions: Iterable[Suggestion]) -> bool:
    """Whether a person must look: an open field below the band and not yet decided, or advice
    that disagrees with policy and nobody has confirmed."""
    for s in suggestions:
        if s.verdict is not None:
            continue
        if s.status is SuggestionStatus.NEEDS_PERSON or s.agrees_with_policy is False:
            return True
    return False


def policy_view(case: Case) -> dict[str, object]:
    """The policy-decided fields of a case, to compare before and after assist ran."""
    return {name: getattr(case, name) for name in POLICY_DECIDED}


__all__ = ["POLICY_DECIDED", "check_band", "guard", "needs_person", "policy_view"]
