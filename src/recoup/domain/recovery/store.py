"""The recovery store port: ladder climbs, attempts, messages and self-service grants; and how
a climb is written as JSON."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from recoup.domain.ingestion.event import Event
from recoup.domain.recovery.ladder import HistoryEntry, HistoryEvent, LadderState, LadderStatus
from recoup.domain.recovery.outreach import Contact


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One action a ladder ran, stored once under its idempotency key."""

    id: str
    case_id: str
    step_index: int
    kind: str
    at: datetime
    outcome: str
    detail: str
    amount: Decimal | None = None
    currency: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MessageRecord:
    id: str
    case_id: str
    channel: str
    recipient: str
    template: str
    language: str
    kind: str
    subject: str
    status: str
    at: datetime
    detail: str


@dataclass(frozen=True, slots=True)
class GrantRecord:
    nonce: str
    case_id: str
    actions: tuple[str, ...]
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    used_action: str | None = None
    failed_attempts: int = 0


class RecoveryStore(Protocol):
    """Recovery persistence; every method is part of the caller's transaction."""

    def save_climbs(self, states: Sequence[LadderState], now: datetime) -> None:
        """Insert or replace each case's climb."""
        ...

    def climbs(self, case_ids: Iterable[str]) -> dict[str, LadderState]:
        """The started climbs of these cases (a climb not started yet is left out)."""
        ...

    def add_new_climbs(self, case_ids: Sequence[str], now: datetime) -> None:
        """Climbs to start, due now (a case that has one already keeps it)."""
        ...

    def claim_due_climbs(self, now: datetime, limit: int) -> list[tuple[str, LadderState | None]]:
        """(case id, climb) whose next step is due, oldest first, None for a climb not started
        yet; on PostgreSQL locked to this transaction (others skip them)."""
        ...

    def lease_climbs(self, case_ids: Sequence[str], until: datetime) -> None: ...

    def climb_counts(self) -> dict[str, dict[str, Any]]:
        """Climb status -> {"count": n, "next_at": the earliest due time}."""
        ...

    def attempt_counts(self) -> dict[tuple[str, str], int]:
        """(action kind, outcome) -> attempts."""
        ...

    def add_attempts(self, attempts: Sequence[AttemptRecord]) -> set[str]:
        """Store the attempts not stored yet; returns the ids that were new."""
        ...

    def attempts_of(self, case_id: str) -> list[AttemptRecord]: ...

    def case_source_events(self, case_id: str) -> list[Event]:
        """The evidence events of the case's findings, oldest first."""
        ...

    def add_messages(self, messages: Sequence[MessageRecord]) -> None: ...

    def contacts_of(self, recipient: str) -> list[Contact]: ...

    def add_grant(self, grant: GrantRecord) -> None: ...

    def grant(self, nonce: str) -> GrantRecord | None: ...

    def use_grant(self, nonce: str, action: str, at: datetime) -> bool:
        """Mark the grant used; False when it was used already (a race lost)."""
        ...

    def fail_grant(self, nonce: str) -> int:
        """Count a wrong code; returns the failures so far."""
        ...


def climb_to_json(state: LadderState) -> dict[str, Any]:
    return {
        "case_id": state.case_id,
        "ladder": state.ladder,
        "step_index": state.step_index,
        "attempts": state.attempts,
        "started_at": state.started_at.isoformat(),
        "next_at": None if state.next_at is None else state.next_at.isoformat(),
        "status": state.status.value,
        "step_runs": state.step_runs,
        "pending_key": state.pending_key,
        "history": [
            [e.at.isoformat(), e.event.value, e.step_index, e.attempt, e.detail, e.key]
            for e in state.history
        ],
    }


def climb_from_json(data: Mapping[str, Any]) -> LadderState:
    return LadderState(
        case_id=str(data["case_id"]),
        ladder=str(data["ladder"]),
        step_index=int(data["step_index"]),
        attempts=int(data["attempts"]),
        started_at=datetime.fromisoformat(data["started_at"]),
        next_at=None if data["next_at"] is None else datetime.fromisoformat(data["next_at"]),
        status=LadderStatus(data["status"]),
        history=tuple(
            HistoryEntry(
                datetime.fromisoformat(at),
                HistoryEvent(event),
                int(index),
                int(attempt),
                str(detail),
                key,
            )
            for at, event, index, attempt, detail, key in data["history"]
        ),
        step_runs=int(data["step_runs"]),
        pending_key=data["pending_key"],
    )
