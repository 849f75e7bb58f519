"""Ingest: parse -> dedupe -> persist -> correlate -> detect -> open or attach cases -> audit.

One transaction per batch, never one per event. A redelivered event is a counted no-op because
its id follows from (source, external id) and the store refuses a second copy. A bad record is
never dropped: it is quarantined with its location and counted, so that
``accepted + quarantined == records read`` holds for every run.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

from recoup.domain.audit import AuditEntry
from recoup.domain.cases.case import open_key
from recoup.domain.cases.casing import CasePlan, plan_cases
from recoup.domain.cases.outcomes import (
    RESOLVABLE_CASE_TYPES,
    RESOLVING_TYPES,
    Resolution,
    resolutions,
)
from recoup.domain.detection.detectors import Detectors, WindowState
from recoup.domain.detection.findings import Finding
from recoup.domain.detection.timeline import EntityGraph
from recoup.domain.ingestion.canonical import Rejection, parse_record
from recoup.domain.ingestion.event import Event
from recoup.domain.ingestion.flags import FileFlag
from recoup.domain.policy import PolicyEngine
from recoup.domain.ports import Clock, IngestStore, RunCounts, UnitOfWorkFactory
from recoup.services.cases import assign_new_cases, link_duplicate_claims
from recoup.services.races import retry_lost_races
from recoup.services.recovery import climbs_to_start

INGEST_ACTOR = "system:ingest"


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One canonical JSON record as read, with where it came from."""

    data: bytes
    file: str | None
    line: int | None


Item = RawRecord | Event | Rejection | FileFlag
"""What a run ingests: canonical JSON records still to parse, events a connector already
built, records a connector refused, and flags about a whole file."""


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
    cases_resolved: int = 0
    batches: int = 0
    findings_by_type: Counter[str] = field(default_factory=Counter)
    first_rejections: list[Rejection] = field(default_factory=list)
    flags: list[FileFlag] = field(default_factory=list)

    @property
    def new_events(self) -> int:
        return self.accepted - self.duplicates

    def merge(self, other: IngestReport) -> None:
        """Fold another run's report into this one (a summary over several files)."""
        self.records += other.records
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.quarantined += other.quarantined
        self.findings += other.findings
        self.cases_opened += other.cases_opened
        self.cases_attached += other.cases_attached
        self.cases_resolved += other.cases_resolved
        self.batches += other.batches
        self.findings_by_type.update(other.findings_by_type)
        room = 20 - len(self.first_rejections)
        self.first_rejections.extend(other.first_rejections[: max(room, 0)])
        self.flags.extend(other.flags)

    def add(self, other: BatchResult) -> None:
        self.records += other.counts.lines_read
        self.accepted += other.counts.accepted
        self.duplicates += other.counts.duplicates
        self.quarantined += other.counts.quarantined
        self.findings += other.counts.findings
        self.cases_opened += other.counts.cases_opened
        self.cases_attached += other.counts.cases_attached
        self.cases_resolved += other.counts.cases_resolved
        self.batches += 1
        self.findings_by_type.update(other.findings_by_type)
        room = 20 - len(self.first_rejections)
        self.first_rejections.extend(other.rejections[: max(room, 0)])
        self.flags.extend(other.flags)


@dataclass
class BatchResult:
    counts: RunCounts
    findings_by_type: Counter[str]
    rejections: list[Rejection]
    audit: list[AuditEntry]
    flags: list[FileFlag] = field(default_factory=list)
    timers: dict[str, int] = field(default_factory=dict)
    """Expected-but-missing timers opened and met by the batch."""


def _batches(records: Iterable[Item], size: int) -> Iterator[list[Item]]:
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


def ingest_records(
    records: Iterable[Item],
    *,
    uow: UnitOfWorkFactory,
    clock: Clock,
    detectors: Detectors,
    label: str,
    format_name: str = "canonical",
    batch_size: int = 5000,
    on_batch: Callable[[IngestReport, list[Item]], None] | None = None,
    policy: PolicyEngine | None = None,
) -> IngestReport:
    """Ingest ``records`` as one run, committing every ``batch_size`` records."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    report = IngestReport(run_id=str(uuid.uuid4()))
    with uow() as tx:
        tx.start_run(report.run_id, label, format_name, clock.now())
        tx.commit()
    status = "failed"
    try:
        for batch in _batches(records, batch_size):

            def one(batch: list[Item] = batch) -> BatchResult:
                with uow() as tx:
                    result = ingest_batch(batch, store=tx, clock=clock, detectors=detectors,
                                          run_id=report.run_id, format_name=format_name,
                                          policy=policy)  # fmt: skip
                    entry = batch_audit(report.run_id, label, result.counts, clock.now(),
                                        **result.timers)  # fmt: skip
                    tx.append_audit([*result.audit, entry])
                    tx.commit()
                return result

            result = retry_lost_races(one, what=f"ingest batch of {len(batch)} records")
            report.add(result)
            if on_batch is not None:
                on_batch(report, batch)
        status = "completed"
    finally:
        with uow() as tx:
            tx.finish_run(report.run_id, clock.now(), status)
            tx.commit()
    return report


def batch_audit(
    run_id: str, label: str, counts: RunCounts, at: datetime, **extra: object
) -> AuditEntry:
    """The audit record of one committed batch: what it read and what it did."""
    data: dict[str, object] = {"label": label, **asdict(counts), **extra}
    return AuditEntry(at, INGEST_ACTOR, "ingest.batch_committed", "ingest_run", run_id, data)


def run_counts(
    records: int, events: int, stored: StoredEvents, quarantined: int, flags: int = 0
) -> RunCounts:
    return RunCounts(
        lines_read=records,
        accepted=events,
        duplicates=events - stored.new_events,
        quarantined=quarantined,
        flags=flags,
        findings=stored.findings,
        cases_opened=stored.cases_opened,
        cases_attached=stored.cases_attached,
        cases_resolved=stored.cases_resolved,
    )


@dataclass
class ParsedBatch:
    records: int = 0
    events: list[Event] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    flags: list[FileFlag] = field(default_factory=list)


def parse_batch(items: Iterable[Item], clock: Clock) -> ParsedBatch:
    received_at = clock.now()
    out = ParsedBatch()
    for item in items:
        if isinstance(item, RawRecord):
            item = parse_record(item.data, received_at=received_at, file=item.file,
                                line=item.line)  # fmt: skip
        if isinstance(item, Event):
            out.events.append(item)
        elif isinstance(item, Rejection):
            out.rejections.append(item)
        else:
            out.flags.append(item)
            continue
        out.records += 1
    return out


def ingest_batch(
    records: list[Item],
    *,
    store: IngestStore,
    clock: Clock,
    detectors: Detectors,
    run_id: str | None,
    format_name: str = "canonical",
    policy: PolicyEngine | None = None,
) -> BatchResult:
    """Everything one batch does, inside the caller's transaction."""
    parsed = parse_batch(records, clock)
    events, rejections = parsed.events, parsed.rejections
    result = store_events(events, store=store, clock=clock, detectors=detectors, run_id=run_id,
                          policy=policy)  # fmt: skip
    store.quarantine(rejections, run_id, format_name, clock.now())
    store.flag(parsed.flags, run_id, clock.now())
    counts = run_counts(parsed.records, len(events), result, len(rejections), len(parsed.flags))
    if run_id is not None:
        store.add_run_counts(run_id, counts)
    return BatchResult(counts, result.findings_by_type, rejections, result.audit, parsed.flags,
                       result.timers())  # fmt: skip


@dataclass
class StoredEvents:
    new_events: int
    findings: int
    cases_opened: int
    cases_attached: int
    findings_by_type: Counter[str]
    audit: list[AuditEntry]
    inserted: set[str] = field(default_factory=set)
    cases_resolved: int = 0
    expectations_opened: int = 0
    expectations_met: int = 0

    def timers(self) -> dict[str, int]:
        return {
            "expectations_opened": self.expectations_opened,
            "expectations_met": self.expectations_met,
        }


def store_events(
    events: list[Event],
    *,
    store: IngestStore,
    clock: Clock,
    detectors: Detectors,
    run_id: str | None,
    policy: PolicyEngine | None = None,
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
    now = clock.now()
    detection = detectors.run(new, state, now)
    store.add_windows(detection.window_entries)
    reads = detectors.plan_timelines(new, state)
    if reads.anchors:
        hops = detectors.settings.timeline_hops
        graph = EntityGraph.of(store.load_timeline_events(sorted(reads.anchors), hops))
        detection.findings.extend(detectors.run_timelines(reads, graph, now))
    opened = store.add_expectations(detection.expectations)
    met = store.meet_expectations(detection.meets)
    findings = unseen_findings(detection.findings, store)
    plan = store_findings(findings, store, now, settled=resolutions(new), policy=policy,
                          events=unique)  # fmt: skip
    return StoredEvents(
        new_events=len(new),
        findings=len(findings),
        cases_opened=len(plan.created),
        cases_attached=plan.attached,
        findings_by_type=Counter(f.type for f in findings),
        audit=plan.audit,
        inserted=inserted,
        cases_resolved=len(plan.resolved),
        expectations_opened=opened,
        expectations_met=met,
    )


def unseen_findings(findings: list[Finding], store: IngestStore) -> list[Finding]:
    """The findings not stored yet, each id once (a redelivery or re-evaluation adds none)."""
    if not findings:
        return findings
    seen = store.existing_findings(f.id for f in findings)
    fresh: dict[str, Finding] = {}
    for finding in findings:
        if finding.id not in seen:
            fresh.setdefault(finding.id, finding)
    return list(fresh.values())


def _already_settled(
    findings: Sequence[Finding], settled: Sequence[Resolution], store: Any
) -> list[Resolution]:
    """Outcomes stored before the findings they settle arrived: a retry that succeeded, delivered
    ahead of the failure it recovers. Without these, the order of delivery would decide whether a
    case stays open. ``plan_cases`` applies each only to a case opened before it occurred."""
    resolvable = [f for f in findings if f.type in RESOLVABLE_CASE_TYPES]
    if not resolvable:
        return []
    anchors = {(f.entity_kind, f.entity_key) for f in resolvable}
    # A finding's own evidence never settles it (a payout that reconciliation found without its
    # bank line is the payout.paid event itself).
    known = {r.event_id for r in settled}
    known |= {e for f in resolvable for e in (f.trigger_event_id, *f.evidence_event_ids)}
    earliest = min(f.occurred_at for f in resolvable)
    stored = [
        e
        for e in store.load_timeline_events(sorted(anchors), 0)
        if e.type in RESOLVING_TYPES and e.occurred_at >= earliest and e.event_id not in known
    ]
    return resolutions(sorted(stored, key=lambda e: (e.occurred_at, e.event_id)))


def store_findings(
    findings: Sequence[Finding],
    store: Any,
    now: datetime,
    *,
    settled: Sequence[Resolution] = (),
    policy: PolicyEngine | None = None,
    events: Mapping[str, Event] | None = None,
) -> CasePlan:
    """Open or attach the cases of new ``findings`` and resolve the cases ``settled`` closes,
    in the caller's transaction: link duplicate claims (when the triggering ``events`` are at
    hand), assign new cases to their team, save, and start the ladders of the new cases.
    Returns the plan (its audit entries are the caller's to append)."""
    settled = [*settled, *_already_settled(findings, settled, store)]
    keys = {open_key(f.type, f.entity_kind, f.entity_key) for f in findings}
    keys |= {k for r in settled for k in r.open_keys()}
    plan = plan_cases(findings, store.open_cases(keys), now, settled, policy)
    link_duplicate_claims(plan, findings, events or {}, store, now)
    if policy is not None:
        assign_new_cases(plan, store, policy.teams, now)
    store.save_plan(plan, findings)
    if policy is not None and policy.ladders:
        store.add_new_climbs(climbs_to_start(plan, policy.ladders), now)
    return plan
