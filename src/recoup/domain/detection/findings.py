"""A finding: a detector fired. It names the entity, the money at stake and the evidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from recoup.domain.detection.taxonomy import FindingType, Tier, finding_type
from recoup.domain.ids import derived_id


@dataclass(frozen=True, slots=True)
class Finding:
    """What a detector saw. ``exposure_key`` names the distinct money at stake: two findings
    with the same exposure key (two failed retries of one payment) are the same money."""

    id: str
    type: str
    entity_kind: str
    entity_key: str
    occurred_at: datetime
    detected_at: datetime
    trigger_event_id: str
    evidence_event_ids: tuple[str, ...]
    summary: str
    tier: Tier
    amount: Decimal | None = None
    currency: str | None = None
    exposure_key: str | None = None
    reason_code: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def spec(self) -> FindingType:
        return finding_type(self.type)


def finding_id(type_: str, trigger_event_id: str) -> str:
    return derived_id("finding", type_, trigger_event_id)
