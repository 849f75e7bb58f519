"""A case built by hand for the pure assist tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from recoup.domain.cases.case import Case, CaseStatus
from recoup.domain.detection.taxonomy import Tier

T = datetime(2026, 10, 1, 12, tzinfo=UTC)


def a_case(**over: Any) -> Case:
    case = Case(
        id="0b6f0e4c-1111-4222-8333-444455556666",
        type="payment_failed",
        category="payments",
        entity_kind="payment",
        entity_key="pi_1",
        status=CaseStatus.NEW,
        tier=Tier.STRAIGHT_THROUGH,
        owner_team="payments_ops",
        queue="payments_ops.system",
        breakpoint="transaction",
        kind="system",
        title="payment failed",
        opened_at=T,
        updated_at=T,
        first_seen_at=T,
        last_seen_at=T + timedelta(hours=2),
        sla_goal_at=T + timedelta(hours=4),
        sla_due_at=T + timedelta(days=1),
        pauses_automation=False,
        finding_count=2,
        amount=Decimal("1234.50"),
        currency="EUR",
        exposures={"payment:pi_1": "1234.50"},
        decision={"tier": "straight_through"},
    )
    return replace(case, **over)
