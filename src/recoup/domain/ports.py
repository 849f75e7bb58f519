"""The world as the services see it: small protocols that adapters implement."""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from recoup.domain.audit import AuditEntry, AuditRecord
from recoup.domain.cases.case import Case
from recoup.domain.cases.casing import CasePlan
from recoup.domain.cases.teams import Loads
from recoup.domain.detection.detectors import WindowEntry, WindowRequest
from recoup.domain.detection.expectations import Expectation, ExpectationStatus, Meet
from recoup.domain.detection.findings import Finding
from recoup.domain.detection.timeline import EntityKey
from recoup.domain.ingestion.canonical import Rejection
from recoup.domain.ingestion.event import Event
from recoup.domain.ingestion.flags import FileFlag
from recoup.domain.reconcile.items import ReconcileStore
from recoup.domain.recovery.outbox import OutboxStore
from recoup.domain.recovery.store import RecoveryStore


class Clock(Protocol):
    """The only source of "now": tz-aware UTC, injected so tests and demos are repeatable."""

    def now(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class RunCounts:
    lines_read: int = 0
    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    flags: int = 0
    findings: int = 0
    cases_opened: int = 0
    cases_attached: int = 0
    cases_resolved: int = 0


@dataclass(frozen=True, slots=True)
class QuarantineItem:
    id: str
    format: str
    label: str | None
    line: int | None
    field: str | None
    code: str
    reason: str
    raw: str
    status: str
    seen_count: int
    attempts: int
    first_seen_at: datetime
    last_seen_at: datetime
    event_id: str | None


class IngestStore(Protocol):
    """What the ingest pipeline writes; every method is part of the caller's transaction."""

    def start_run(self, run_id: str, label: str, format_name: str, at: datetime) -> None: ...

    def add_run_counts(self, run_id: str, counts: RunCounts) -> None: ...

    def finish_run(self, run_id: str, at: datetime, status: str) -> None: ...

    def insert_events(self, events: Sequence[Event], run_id: str | None) -> set[str]:
        """Insert, skipping any whose (source, external id) exists; return the ids inserted."""
        ...

    def link_entities(self, events: Sequence[Event]) -> None: ...

    def load_windows(self, requests: Sequence[WindowRequest]) -> list[WindowEntry]: ...

    def add_windows(self, entries: Sequence[WindowEntry]) -> None: ...

    def load_timeline_events(self, anchors: Iterable[EntityKey], hops: int) -> list[Event]:
        """The events linked to ``anchors`` and, ``hops`` times, to what those link to."""
        ...

    def add_expectations(self, expectations: Sequence[Expectation]) -> int:
        """Store new pending timers (one per rule and entity); returns how many were new."""
        ...

    def meet_expectations(self, meets: Sequence[Meet]) -> int:
        """Mark the pending timers these arrivals satisfy as met; returns how many."""
        ...

    def existing_findings(self, ids: Iterable[str]) -> set[str]: ...

    def open_cases(self, keys: Iterable[str]) -> dict[str, Case]: ...

    def save_plan(self, plan: CasePlan, findings: Sequence[Finding]) -> None: ...

    def add_new_climbs(self, case_ids: Sequence[str], now: datetime) -> None:
        """Recovery climbs to start for new cases (see ``RecoveryStore``)."""
        ...

    def quarantine(
        self, rejections: Sequence[Rejection], run_id: str | None, format_name: str, at: datetime
    ) -> None:
        """Keep rejected records; a record already held is counted again, not duplicated."""
        ...

    def flag(self, flags: Sequence[FileFlag], run_id: str | None, at: datetime) -> None:
        """Keep file flags; the same flag raised again is counted, not duplicated."""
        ...


class TimerStore(Protocol):
    def claim_due_expectations(self, now: datetime, limit: int) -> list[Expectation]:
        """Pending timers due at ``now``, locked to this transaction where the store can."""
        ...

    def settle_expectations(
        self, ids: Sequence[str], status: ExpectationStatus, at: datetime
    ) -> None: ...

    def expectation_counts(self) -> dict[str, dict[str, Any]]:
        """Rule -> {status: count, "next_due": the earliest pending due time}."""
        ...

    def claim_due_timers(self, now: datetime, limit: int) -> list[tuple[str, str, str, datetime]]:
        """Pending SLA timers due at ``now``: (timer id, case id, kind, due at)."""
        ...

    def mark_timers_fired(self, ids: Sequence[str], at: datetime) -> None: ...

    def cases_by_id(self, ids: Sequence[str]) -> dict[str, Case]: ...

    def assignment_loads(self, teams: Sequence[str]) -> Loads:
        """Open cases per (team, assignee) and cases ever assigned per team."""
        ...

    def claim_candidates(self, counterparties: Iterable[str], since: datetime) -> list[Case]:
        """Cases of these counterparties that are open or were closed since ``since``."""
        ...

    def due_snoozes(self, now: datetime, limit: int) -> list[Case]:
        """Snoozed cases whose snooze has ended, locked to this transaction where possible."""
        ...


class CursorStore(Protocol):
    """Where a pull connector (``recoup sync``) remembers how far it has read."""

    def get_cursor(self, name: str) -> str | None: ...

    def set_cursor(self, name: str, cursor: str, at: datetime) -> None: ...


class QuarantineStore(Protocol):
    def list_quarantine(self, status: str | None, limit: int) -> list[QuarantineItem]: ...

    def get_quarantine(self, ids: Sequence[str] | None) -> list[QuarantineItem]: ...

    def mark_quarantine(
        self, item_id: str, *, status: str, at: datetime, event_id: str | None, reason: str | None
    ) -> None: ...


class AuditStore(Protocol):
    def append_audit(self, entries: Sequence[AuditEntry]) -> None:
        """Seal and append after the current head, holding the head until commit."""
        ...

    def audit_records(self) -> Generator[AuditRecord]: ...

    def audit_head(self) -> tuple[int, str]: ...


class CaseQueries(Protocol):
    def cases_with_first_finding(self, limit: int | None) -> Iterator[tuple[Case, Finding]]:
        """Every case, oldest first, with the finding that opened it."""
        ...

    def list_cases(self, filters: Mapping[str, Any], limit: int) -> list[Case]: ...

    def find_case(self, id_or_prefix: str) -> Case: ...

    def case_timeline(self, case_id: str) -> list[dict[str, Any]]: ...

    def case_findings(self, case_id: str) -> list[dict[str, Any]]: ...

    def case_audit(self, case_id: str) -> list[AuditRecord]: ...

    def event_summaries(self, ids: list[str]) -> list[dict[str, Any]]: ...

    def open_case_rows(self) -> list[tuple[str, str, str | None, Any]]: ...

    def store_counts(self) -> dict[str, int]: ...


class UnitOfWork(
    IngestStore,
    QuarantineStore,
    AuditStore,
    CaseQueries,
    CursorStore,
    TimerStore,
    RecoveryStore,
    OutboxStore,
    ReconcileStore,
    Protocol,
):
    """One transaction. Leaving the ``with`` block without ``commit()`` rolls back."""

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...
