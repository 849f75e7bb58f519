"""The urgency score: what to work next. It rises with age and with money at stake.

    score = base + age + money

- **base**: the policy's urgency at opening (0-100, ``Case.decision``); without a policy, by
  tier: straight-through 20, guided 35, human 50.
- **age**: up to :data:`AGE_POINTS` as the case uses its SLA window (opening to deadline), and
  on past the deadline up to 1.5 times that.
- **money**: :data:`MONEY_POINTS_PER_DECADE` per power of ten of the amount at stake in major
  units, at most :data:`MONEY_POINTS_MAX` (1,000.00 gives 15, 100,000.00 gives 25).

A closed case scores 0. The score is computed when asked, from the clock, so it is never stale.
"""

from __future__ import annotations

import math
from datetime import datetime

from recoup.domain.cases.case import Case
from recoup.domain.detection.taxonomy import Tier

AGE_POINTS = 30.0
AGE_CAP = 1.5
MONEY_POINTS_PER_DECADE = 5.0
MONEY_POINTS_MAX = 25.0
TIER_BASE = {Tier.STRAIGHT_THROUGH: 20.0, Tier.GUIDED: 35.0, Tier.HUMAN: 50.0}


def base_urgency(case: Case) -> float:
    outputs = (case.decision or {}).get("outputs", {})
    urgency = outputs.get("urgency")
    if isinstance(urgency, int | float):
        return float(urgency)
    return TIER_BASE[case.tier]


def age_points(case: Case, now: datetime) -> float:
    window = (case.sla_due_at - case.opened_at).total_seconds()
    used = (now - case.opened_at).total_seconds()
    if window <= 0:
        return AGE_POINTS * AGE_CAP if used > 0 else 0.0
    return AGE_POINTS * min(max(used / window, 0.0), AGE_CAP)


def money_points(case: Case) -> float:
    if case.amount is None:
        return 0.0
    return min(MONEY_POINTS_PER_DECADE * math.log10(1 + abs(float(case.amount))), MONEY_POINTS_MAX)


def urgency_score(case: Case, now: datetime) -> float:
    """The case's urgency at ``now`` (0 when it is no longer open), to one decimal."""
    if not case.is_open:
        return 0.0
    return round(base_urgency(case) + age_points(case, now) + money_points(case), 1)
