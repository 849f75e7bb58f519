"""Ingest: parse -> dedupe -> persist -> correlate -> detect -> open or attach cases -> audit.

One transaction per batch, never one per event. A redelivered event is a counted no-op because
its id follows from (source, external id) and the store refuses a second copy. A bad record is
never dropped: it is quarantined with its location and counted, so that
``accepted + quarantined == records read`` holds for every run.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from recoup.domain.audit import AuditEntry
from recoup.domain.cases.case import open_key
from recoup.domain.cases.casing import plan_cases
from recoup.domain.detection.detectors import Detectors, WindowState
from recoup.domain.detection.findings import Finding
from recoup.domain.ingestion.canonical import Rejection, parse_record
from recoup.domain.ingestion.event import Event
from recoup.domain.ports import Clock, IngestStore, RunCounts, UnitOfWorkFactory

INGEST_ACTOR = "system:ingest"


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record as read, with where it came from."""

    data: bytes
    file: str | None
    line: int | None


@dataclass
class IngestReport:
    run_id: str = ""
    records: int = 0
    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    findings: int = 0
    cases_opened: int = 0
    cases_attached: int = 0
    batches: int = 0
    findings_by_type: Counter[str] = field(default_factory=Counter)
    first_rejections: list[Rejection] = field(default_factory=list)

    @property
    def new_events(self) -> int:
        return self.accepted - self.duplicates

    def add(self, other: BatchResult) -> None:
        self.records += other.counts.lines_read
        self.accepted += other.counts.accepted
        self.duplicates += other.counts.duplicates
        self.quarantined += other.counts.quarantined
        self.findings += other.counts.findings
        self.cases_opened += other.counts.cases_opened
        self.cases_attached += other.counts.cases_attached
        self.batches += 1
        self.findings_by_type.update(other.findings_by_type)
        room = 20 - len(self.first_rejections)
        self.first_rejections.extend(other.rejections[: max(room, 0)])


@dataclass
class BatchResult:
    counts: RunCounts
    findings_by_type: Counter[str]
    rejections: list[Rejection]
    audit: list[AuditEntry]


def _batches(records: Iterable[RawRecord], size: int) -> Iterator[list[RawRecord]]:
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


def ingest_records(
    records: Iterable[RawRecord],
    *,
    uow: UnitOfWorkFactory,
    clock: Clock,
    detectors: Detectors,
    label: str,
    batch_size: int = 5000,
    on_batch: Callable[[IngestReport, list[RawRecord]], None] | None = None,
) -> IngestReport:
    """Ingest ``records`` as one run, committing every ``batch_size`` records."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    report = IngestReport(run_id=str(uuid.uuid4()))
    with uow() as tx:
        tx.start_run(report.run_id, label, clock.now())
        tx.commit()
    status = "failed"
    try:
        for batch in _batches(records, batch_size):
            with uow() as tx:
                result = ingest_batch(batch, store=tx, clock=clock, detectors=detectors,
                                      run_id=report.run_id)  # fmt: skip
                tx.append_audit([*result.audit, _batch_audit(report.run_id, label, result, clock)])
                tx.commit()
            report.add(result)
            if on_batch is not None:
                on_batch(report, batch)
        status = "completed"
    finally:
        with uow() as tx:
            tx.finish_run(report.run_id, clock.now(), status)
            tx.commit()
    return report


def _batch_audit(run_id: str, label: str, result: BatchResult, clock: Clock) -> AuditEntry:
    counts = result.counts
    return AuditEntry(
        clock.now(),
        INGEST_ACTOR,
        "ingest.batch_committed",
        "ingest_run",
        run_id,
        {
            "label": label,
            "records": counts.lines_read,
            "accepted": counts.accepted,
            "duplicates": counts.duplicates,
            "quarantined": counts.quarantined,
            "findings": counts.findings,
            "cases_opened": counts.cases_opened,
            "cases_attached": counts.cases_attached,
        },
    )


def parse_batch(records: Iterable[RawRecord], clock: Clock) -> tuple[list[Event], list[Rejection]]:
    received_at = clock.now()
    events: list[Event] = []
    rejections: list[Rejection] = []
    for record in records:
        parsed = parse_record(record.data, received_at=received_at, file=record.file,
                              line=record.line)  # fmt: skip
        if isinstance(parsed, Rejection):
            rejections.append(parsed)
        else:
            events.append(parsed)
    return events, rejections


def ingest_batch(
    records: list[RawRecord],
    *,
    store: IngestStore,
    clock: Clock,
    detectors: Detectors,
    run_id: str | None,
) -> BatchResult:
    """Everything one batch does, inside the caller's transaction."""
    events, rejections = parse_batch(records, clock)
    result = store_events(events, store=store, clock=clock, detectors=detectors, run_id=run_id)
    store.quarantine(rejections, run_id, clock.now())
    counts = RunCounts(
        lines_read=len(records),
        accepted=len(events),
        duplicates=len(events) - result.new_events,
        quarantined=len(rejections),
        findings=result.findings,
        cases_opened=result.cases_opened,
        cases_attached=result.cases_attached,
    )
    if run_id is not None:
        store.add_run_counts(run_id, counts)
    return BatchResult(counts, result.findings_by_type, rejections, result.audit)


@dataclass
class StoredEvents:
    new_events: int
    findings: int
    cases_opened: int
    cases_attached: int
    findings_by_type: Counter[str]
    audit: list[AuditEntry]


def store_events(
    events: list[Event],
    *,
    store: IngestStore,
    clock: Clock,
    detectors: Detectors,
    run_id: str | None,
) -> StoredEvents:
    """Persist new events, link them, run the detectors and open or attach cases.

    Returns the audit entries to append: the caller appends once per transaction, so the
    audit head is held for as short a time as possible."""
    unique: dict[str, Event] = {}
    for event in events:
        unique.setdefault(event.event_id, event)
    inserted = store.insert_events(list(unique.values()), run_id)
    new = [event for event in unique.values() if event.event_id in inserted]
    store.link_entities(new)
    state = WindowState.of(store.load_windows(detectors.window_requests(new)))
    detection = detectors.run(new, state, clock.now())
    store.add_windows(detection.window_entries)
    findings = _unseen(detection.findings, store)
    plan = plan_cases(findings, store.open_cases(_open_keys(findings)), clock.now())
    store.save_plan(plan, findings)
    return StoredEvents(
        new_events=len(new),
        findings=len(findings),
        cases_opened=len(plan.created),
        cases_attached=plan.attached,
        findings_by_type=Counter(f.type for f in findings),
        audit=plan.audit,
    )


def _unseen(findings: list[Finding], store: IngestStore) -> list[Finding]:
    if not findings:
        return findings
    seen = store.existing_findings(f.id for f in findings)
    fresh: dict[str, Finding] = {}
    for finding in findings:
        if finding.id not in seen:
            fresh.setdefault(finding.id, finding)
    return list(fresh.values())


def _open_keys(findings: list[Finding]) -> set[str]:
    return {open_key(f.type, f.entity_kind, f.entity_key) for f in findings}
