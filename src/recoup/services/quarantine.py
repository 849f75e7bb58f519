"""Quarantine: list rejected records, replay them through the current parser, or discard them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from recoup.domain.audit import AuditEntry
from recoup.domain.detection.detectors import Detectors
from recoup.domain.ingestion.canonical import Rejection, parse_record
from recoup.domain.ingestion.event import Event
from recoup.domain.ports import Clock, QuarantineItem, UnitOfWork
from recoup.services.ingest import store_events

REPLAY_ACTOR = "system:replay"


def list_quarantine(
    *, reader: Callable[[], UnitOfWork], status: str | None = "open", limit: int = 100
) -> list[QuarantineItem]:
    with reader() as tx:
        return tx.list_quarantine(status, limit)


@dataclass
class ReplayReport:
    replayed: list[QuarantineItem] = field(default_factory=list)
    still_bad: list[tuple[QuarantineItem, Rejection]] = field(default_factory=list)
    findings: int = 0
    cases_opened: int = 0


def replay_quarantined(
    ids: Sequence[str] | None,
    *,
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    detectors: Detectors,
) -> ReplayReport:
    """Parse each record again; the ones that now pass are ingested like any event (a record
    whose event already exists counts as replayed, not doubled). ``ids=None`` replays every
    open record. All of it happens in one transaction."""
    report = ReplayReport()
    with uow() as tx:
        items = tx.get_quarantine(ids)
        now = clock.now()
        good: list[tuple[QuarantineItem, Event]] = []
        audit: list[AuditEntry] = []
        for item in items:
            parsed = parse_record(item.raw, received_at=now, file=item.label, line=item.line)
            if isinstance(parsed, Rejection):
                report.still_bad.append((item, parsed))
                tx.mark_quarantine(item.id, status="open", at=now, event_id=None,
                                   reason=parsed.reason)  # fmt: skip
                continue
            good.append((item, parsed))
        stored = store_events([e for _, e in good], store=tx, clock=clock,
                              detectors=detectors, run_id=None)  # fmt: skip
        for item, event in good:
            tx.mark_quarantine(item.id, status="replayed", at=now, event_id=event.event_id,
                               reason=None)  # fmt: skip
            audit.append(AuditEntry(now, REPLAY_ACTOR, "quarantine.replayed", "quarantine",
                                    item.id, {"event_id": event.event_id}))  # fmt: skip
            report.replayed.append(item)
        for item, rejection in report.still_bad:
            audit.append(AuditEntry(now, REPLAY_ACTOR, "quarantine.replay_failed", "quarantine",
                                    item.id, {"reason": rejection.reason}))  # fmt: skip
        tx.append_audit([*stored.audit, *audit])
        tx.commit()
    report.findings = stored.findings
    report.cases_opened = stored.cases_opened
    return report


def discard_quarantined(
    item_id: str, *, reason: str, actor: str, uow: Callable[[], UnitOfWork], clock: Clock
) -> QuarantineItem:
    """Give up on a record, with a written reason. It stays stored; only its status changes."""
    with uow() as tx:
        (item,) = tx.get_quarantine([item_id])
        now = clock.now()
        tx.mark_quarantine(item.id, status="discarded", at=now, event_id=None, reason=None)
        tx.append_audit([AuditEntry(now, actor, "quarantine.discarded", "quarantine", item.id,
                                    {"reason": reason, "before": item.status})])  # fmt: skip
        tx.commit()
    return item
