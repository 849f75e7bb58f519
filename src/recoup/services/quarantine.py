"""Quarantine: list rejected records, replay them through the current parser, or discard them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from recoup.domain.audit import AuditEntry
from recoup.domain.detection.detectors import Detectors
from recoup.domain.errors import InvalidInputError, Location
from recoup.domain.ingestion.canonical import Rejection, parse_record
from recoup.domain.ingestion.event import Event
from recoup.domain.policy import PolicyEngine
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


Reparse = Callable[[QuarantineItem, datetime], list[Event | Rejection]]
"""Parse a quarantined record again in the format it came in; may yield several events (a
webhook body can carry a batch)."""


def reparse_canonical(item: QuarantineItem, at: datetime) -> list[Event | Rejection]:
    return [parse_record(item.raw, received_at=at, file=item.label, line=item.line)]


def _not_replayable(item: QuarantineItem) -> Rejection:
    reason = (
        f"records from {item.format} files cannot be parsed alone; ingest the corrected file "
        "again (already stored records are skipped as duplicates)"
    )
    return Rejection(Location(item.label, item.line, item.field), "not_replayable", reason,
                     item.raw)  # fmt: skip


def replay_quarantined(
    ids: Sequence[str] | None,
    *,
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    detectors: Detectors,
    policy: PolicyEngine | None = None,
    reparsers: Mapping[str, Reparse] | None = None,
    actor: str = REPLAY_ACTOR,
) -> ReplayReport:
    """Parse each record again; the ones that now pass are ingested like any event (a record
    whose event already exists counts as replayed, not doubled). ``ids=None`` replays every
    open record. ``reparsers`` says how to parse each format again (canonical records always
    can be). All of it happens in one transaction."""
    parsers: dict[str, Reparse] = {"canonical": reparse_canonical, **(reparsers or {})}
    report = ReplayReport()
    with uow() as tx:
        items = tx.get_quarantine(ids)
        now = clock.now()
        good: list[tuple[QuarantineItem, list[Event]]] = []
        audit: list[AuditEntry] = []
        for item in items:
            reparse = parsers.get(item.format)
            results = reparse(item, now) if reparse else [_not_replayable(item)]
            refused = [r for r in results if isinstance(r, Rejection)]
            if refused or not results:
                problem = refused[0] if refused else _not_replayable(item)
                report.still_bad.append((item, problem))
                tx.mark_quarantine(item.id, status="open", at=now, event_id=None,
                                   reason=problem.reason)  # fmt: skip
                continue
            good.append((item, [r for r in results if isinstance(r, Event)]))
        stored = store_events([e for _, events in good for e in events], store=tx, clock=clock,
                              detectors=detectors, run_id=None, policy=policy)  # fmt: skip
        for item, events in good:
            event_id = events[0].event_id
            tx.mark_quarantine(item.id, status="replayed", at=now, event_id=event_id,
                               reason=None)  # fmt: skip
            replayed = {"event_ids": [e.event_id for e in events]}
            audit.append(AuditEntry(now, actor, "quarantine.replayed", "quarantine",
                                    item.id, replayed))  # fmt: skip
            report.replayed.append(item)
        for item, rejection in report.still_bad:
            audit.append(AuditEntry(now, actor, "quarantine.replay_failed", "quarantine",
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
    if not reason.strip():
        raise InvalidInputError("a reason is required to discard a record")
    with uow() as tx:
        (item,) = tx.get_quarantine([item_id])
        now = clock.now()
        tx.mark_quarantine(item.id, status="discarded", at=now, event_id=None, reason=None)
        tx.append_audit([AuditEntry(now, actor, "quarantine.discarded", "quarantine", item.id,
                                    {"reason": reason, "before": item.status})])  # fmt: skip
        tx.commit()
    return item
