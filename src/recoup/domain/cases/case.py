"""The case: owner, timer, outcome. No case exists without all three."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from recoup.domain.detection.taxonomy import Tier


class CaseStatus(StrEnum):
    """Where a case is in its life. Only ``resolved`` and ``closed`` are not open."""

    NEW = "new"
    TRIAGED = "triaged"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"
    SNOOZED = "snoozed"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def is_open(self) -> bool:
        return self.value not in _ENDED


_ENDED = frozenset({"resolved", "closed"})
"""The statuses that are not open (by value: a set lookup, hot in the timer path)."""

TIER_RANK = {Tier.STRAIGHT_THROUGH: 0, Tier.GUIDED: 1, Tier.HUMAN: 2}


@dataclass(slots=True)
class Case:
    """An owned work item. ``open_key`` is set while the case takes new findings about its
    entity and type; the store keeps it unique, so two writers cannot open twin cases."""

    id: str
    type: str
    category: str
    entity_kind: str
    entity_key: str
    status: CaseStatus
    tier: Tier
    owner_team: str
    queue: str
    breakpoint: str
    kind: str
    title: str
    opened_at: datetime
    updated_at: datetime
    first_seen_at: datetime
    last_seen_at: datetime
    sla_goal_at: datetime
    sla_due_at: datetime
    pauses_automation: bool
    finding_count: int = 0
    amount: Decimal | None = None
    currency: str | None = None
    exposures: dict[str, str] = field(default_factory=dict)
    open_key: str | None = None
    closed_at: datetime | None = None
    resolved_at: datetime | None = None
    outcome: str | None = None
    version: int = 1
    snoozed_until: datetime | None = None
    """While set and in the future, the case is snoozed: findings attach without a touch."""
    accepted_until: datetime | None = None
    """While set and in the future, the discrepancy is accepted (resolved as ``accepted``)."""
    accepted_fingerprint: str | None = None
    """The evidence that was accepted; a finding with other evidence reopens the case."""
    triaged_at: datetime | None = None
    in_progress_at: datetime | None = None
    waiting_at: datetime | None = None
    waiting_on: str | None = None
    """While waiting: ``customer``, ``counterparty`` or ``internal``."""
    escalated_at: datetime | None = None
    escalation_level: int = 0
    sla_breached_at: datetime | None = None
    reopen_count: int = 0
    """How often the case was reopened after it was resolved or closed (rework)."""
    assignee: str | None = None
    """The team member working the case; None while it waits in the queue."""
    decision: dict[str, Any] | None = None
    """The policy decision that routed the case: outputs and the rows that decided them."""
    counterparty: str | None = None
    """``customer:<id>`` or ``supplier:<id>`` of the event that opened the case, when known."""
    duplicate_of: str | None = None
    """A case this one likely duplicates (same counterparty and money), until an operator
    resolves it as ``duplicate`` or dismisses the link."""
    duplicate_score: float | None = None
    """How alike the two cases are, 0..1 (see ``domain/cases/duplicates.py``)."""
    recovered_amount: Decimal | None = None
    """Money brought back (a retry that succeeded, a dispute won), in the case's currency."""
    written_off_amount: Decimal | None = None
    lost_amount: Decimal | None = None
    """Money neither recovered nor written off when the case ended (a dispute lost)."""
    handling_cost: Decimal | None = None
    """What working the case cost (attempt and message fees, per the policy's cost table)."""
    pending_resolution: dict[str, Any] | None = None
    """A resolution waiting for its writeback to be confirmed: the case resolves only then."""

    @property
    def is_open(self) -> bool:
        return self.status.is_open

    def snapshot(self) -> dict[str, Any]:
        """The fields an auditor wants to see before and after a change."""
        return {
            "status": self.status.value,
            "tier": self.tier.value,
            "owner_team": self.owner_team,
            "queue": self.queue,
            "finding_count": self.finding_count,
            "amount": None if self.amount is None else str(self.amount),
            "currency": self.currency,
            "sla_due_at": self.sla_due_at.isoformat(),
            "last_seen_at": self.last_seen_at.isoformat(),
            "accepts_findings": self.open_key is not None,
            "outcome": self.outcome,
            "snoozed_until": None if self.snoozed_until is None else self.snoozed_until.isoformat(),
            "accepted_until": (
                None if self.accepted_until is None else self.accepted_until.isoformat()
            ),
            "waiting_on": self.waiting_on,
            "escalation_level": self.escalation_level,
            "reopen_count": self.reopen_count,
            "assignee": self.assignee,
            "duplicate_of": self.duplicate_of,
            "recovered_amount": _text(self.recovered_amount),
            "written_off_amount": _text(self.written_off_amount),
            "lost_amount": _text(self.lost_amount),
            "pending_resolution": self.pending_resolution,
        }


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


def open_key(type_: str, entity_kind: str, entity_key: str) -> str:
    return f"{type_}|{entity_kind}|{entity_key}"
