"""Conversions between domain objects and table rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from recoup.adapters.store import tables
from recoup.domain.audit import AuditRecord
from recoup.domain.cases.case import Case, CaseStatus
from recoup.domain.cases.casing import TimelineEntry, Timer
from recoup.domain.detection.expectations import Expectation, ExpectationStatus
from recoup.domain.detection.findings import Finding
from recoup.domain.detection.taxonomy import Tier
from recoup.domain.ingestion.event import Event, Refs

if TYPE_CHECKING:
    from recoup.adapters.store.bulk import Bulk


def raw_text(event: Event) -> str:
    if isinstance(event.raw, str):
        return event.raw
    return msgspec.json.encode(event.raw).decode("utf-8")


def case_row(case: Case) -> dict[str, Any]:
    return {
        "id": case.id,
        "type": case.type,
        "category": case.category,
        "entity_kind": case.entity_kind,
        "entity_key": case.entity_key,
        "status": case.status.value,
        "tier": case.tier.value,
        "owner_team": case.owner_team,
        "queue": case.queue,
        "breakpoint": case.breakpoint,
        "kind": case.kind,
        "title": case.title,
        "opened_at": case.opened_at,
        "updated_at": case.updated_at,
        "first_seen_at": case.first_seen_at,
        "last_seen_at": case.last_seen_at,
        "sla_goal_at": case.sla_goal_at,
        "sla_due_at": case.sla_due_at,
        "closed_at": case.closed_at,
        "resolved_at": case.resolved_at,
        "outcome": case.outcome,
        "pauses_automation": case.pauses_automation,
        "finding_count": case.finding_count,
        "amount": case.amount,
        "currency": case.currency,
        "exposures": case.exposures,
        "open_key": case.open_key,
        "version": case.version,
        "snoozed_until": case.snoozed_until,
        "accepted_until": case.accepted_until,
        "accepted_fingerprint": case.accepted_fingerprint,
        "triaged_at": case.triaged_at,
        "in_progress_at": case.in_progress_at,
        "waiting_at": case.waiting_at,
        "waiting_on": case.waiting_on,
        "escalated_at": case.escalated_at,
        "escalation_level": case.escalation_level,
        "sla_breached_at": case.sla_breached_at,
        "reopen_count": case.reopen_count,
        "decision": case.decision,
        "assignee": case.assignee,
        "counterparty": case.counterparty,
        "duplicate_of": case.duplicate_of,
        "duplicate_score": case.duplicate_score,
        "recovered_amount": case.recovered_amount,
        "written_off_amount": case.written_off_amount,
        "lost_amount": case.lost_amount,
        "handling_cost": case.handling_cost,
        "pending_resolution": case.pending_resolution,
    }


def case_from_row(row: Any) -> Case:
    m = row._mapping
    return Case(
        id=str(m["id"]),
        type=m["type"],
        category=m["category"],
        entity_kind=m["entity_kind"],
        entity_key=m["entity_key"],
        status=CaseStatus(m["status"]),
        tier=Tier(m["tier"]),
        owner_team=m["owner_team"],
        queue=m["queue"],
        breakpoint=m["breakpoint"],
        kind=m["kind"],
        title=m["title"],
        opened_at=m["opened_at"],
        updated_at=m["updated_at"],
        first_seen_at=m["first_seen_at"],
        last_seen_at=m["last_seen_at"],
        sla_goal_at=m["sla_goal_at"],
        sla_due_at=m["sla_due_at"],
        pauses_automation=bool(m["pauses_automation"]),
        finding_count=m["finding_count"],
        amount=m["amount"],
        currency=m["currency"],
        exposures=dict(m["exposures"] or {}),
        open_key=m["open_key"],
        closed_at=m["closed_at"],
        resolved_at=m["resolved_at"],
        outcome=m["outcome"],
        version=m["version"],
        snoozed_until=m["snoozed_until"],
        accepted_until=m["accepted_until"],
        accepted_fingerprint=m["accepted_fingerprint"],
        triaged_at=m["triaged_at"],
        in_progress_at=m["in_progress_at"],
        waiting_at=m["waiting_at"],
        waiting_on=m["waiting_on"],
        escalated_at=m["escalated_at"],
        escalation_level=m["escalation_level"],
        sla_breached_at=m["sla_breached_at"],
        reopen_count=m["reopen_count"],
        decision=dict(m["decision"]) if m["decision"] else None,
        assignee=m["assignee"],
        counterparty=m["counterparty"],
        duplicate_of=None if m["duplicate_of"] is None else str(m["duplicate_of"]),
        duplicate_score=m["duplicate_score"],
        recovered_amount=m["recovered_amount"],
        written_off_amount=m["written_off_amount"],
        lost_amount=m["lost_amount"],
        handling_cost=m["handling_cost"],
        pending_resolution=dict(m["pending_resolution"]) if m["pending_resolution"] else None,
    )


def event_from_row(row: Any) -> Event:
    """An event as stored, without its raw body (detectors read the normalised fields)."""
    m = row._mapping
    refs = m["refs"]
    attributes = m["attributes"]
    return Event(
        id=str(m["id"]),
        source=m["source"],
        external_id=m["external_id"],
        type=m["type"],
        occurred_at=m["occurred_at"],
        received_at=m["received_at"],
        amount=m["amount"],
        currency=m["currency"],
        direction=m["direction"],
        reason_code=m["reason_code"],
        status=m["status"],
        refs=Refs(**refs) if refs else Refs(),
        attributes=dict(attributes or {}),
    )


EXPECTATION_COLUMNS = (
    "id", "rule", "entity_kind", "entity_key", "anchors", "opened_by", "opened_at", "due_at",
    "expected", "amount", "currency", "status",
)  # fmt: skip


def expectation_from_row(row: Any) -> Expectation:
    m = row._mapping
    return Expectation(
        id=str(m["id"]),
        rule=m["rule"],
        entity_kind=m["entity_kind"],
        entity_key=m["entity_key"],
        anchors=tuple((str(kind), str(key)) for kind, key in m["anchors"]),
        opened_by=str(m["opened_by"]),
        opened_at=m["opened_at"],
        due_at=m["due_at"],
        expected=m["expected"],
        amount=m["amount"],
        currency=m["currency"],
        status=ExpectationStatus(m["status"]),
    )


def finding_from_row(row: Any, offset: int = 0) -> Finding:
    """A finding from a row whose finding columns start at ``offset`` (after a join)."""
    values = tuple(row)[offset:]
    m = dict(zip([c.name for c in tables.findings.c], values, strict=True))
    return Finding(
        id=str(m["id"]),
        type=m["type"],
        entity_kind=m["entity_kind"],
        entity_key=m["entity_key"],
        occurred_at=m["occurred_at"],
        detected_at=m["detected_at"],
        trigger_event_id=str(m["trigger_event_id"]),
        evidence_event_ids=tuple(str(e) for e in m["evidence"] or ()),
        summary=m["summary"],
        tier=Tier(m["tier"]),
        amount=m["amount"],
        currency=m["currency"],
        exposure_key=m["exposure_key"],
        reason_code=m["reason_code"],
        detail=dict(m["detail"] or {}),
    )


def audit_row(record: AuditRecord) -> dict[str, Any]:
    return {
        "seq": record.seq,
        "at": record.at,
        "actor": record.actor,
        "action": record.action,
        "subject_type": record.subject_type,
        "subject_id": record.subject_id,
        "data": record.data,
        "prev_hash": record.prev_hash,
        "hash": record.hash,
    }


def audit_from_row(row: Any) -> AuditRecord:
    m = row._mapping
    return AuditRecord(
        seq=m["seq"],
        at=m["at"],
        actor=m["actor"],
        action=m["action"],
        subject_type=m["subject_type"],
        subject_id=m["subject_id"],
        data=m["data"],
        prev_hash=m["prev_hash"],
        hash=m["hash"],
    )


EVENT_COLUMNS = (
    "id", "source", "external_id", "type", "occurred_at", "received_at", "amount", "currency",
    "direction", "reason_code", "status", "refs", "attributes", "raw", "run_id",
)  # fmt: skip


def event_rows(b: Bulk, events: Sequence[Event], run_id: str | None) -> list[tuple[Any, ...]]:
    """The ``EVENT_COLUMNS`` rows of ``events``: ``b``'s encoders, unrolled (this runs for every
    event ingested)."""
    json, run = b.json, b.uid(run_id)
    if not b.is_sqlite:
        return [
            (
                e.id, e.source, e.external_id, e.type, e.occurred_at, e.received_at, e.amount,
                e.currency, e.direction, e.reason_code, e.status, json(e.refs),
                json(e.attributes), raw_text(e), run,
            )
            for e in events
        ]  # fmt: skip
    rows: list[tuple[Any, ...]] = []
    received, received_text = None, None  # one value for most of a batch: converted once
    for e in events:
        if e.received_at is not received:
            received, received_text = e.received_at, b.dt(e.received_at)
        rows.append((
            None if e.id is None else e.id.replace("-", ""), e.source, e.external_id, e.type,
            b.dt(e.occurred_at), received_text, None if e.amount is None else str(e.amount),
            e.currency, e.direction, e.reason_code, e.status, json(e.refs), json(e.attributes),
            raw_text(e), run,
        ))  # fmt: skip
    return rows


CASE_COLUMNS = (
    "id", "type", "category", "entity_kind", "entity_key", "status", "tier", "owner_team",
    "queue", "breakpoint", "kind", "title", "opened_at", "updated_at", "first_seen_at",
    "last_seen_at", "sla_goal_at", "sla_due_at", "closed_at", "resolved_at", "outcome",
    "pauses_automation",
    "finding_count", "amount", "currency", "exposures", "open_key", "version",
    "snoozed_until", "accepted_until", "accepted_fingerprint",
    "triaged_at", "in_progress_at", "waiting_at", "waiting_on", "escalated_at",
    "escalation_level", "sla_breached_at", "reopen_count", "decision", "assignee",
    "counterparty", "duplicate_of", "duplicate_score",
    "recovered_amount", "written_off_amount", "lost_amount", "handling_cost", "pending_resolution",
)  # fmt: skip


def case_values(b: Bulk, c: Case) -> tuple[Any, ...]:
    return (
        b.uid(c.id), c.type, c.category, c.entity_kind, c.entity_key, c.status.value,
        c.tier.value, c.owner_team, c.queue, c.breakpoint, c.kind, c.title, b.dt(c.opened_at),
        b.dt(c.updated_at), b.dt(c.first_seen_at), b.dt(c.last_seen_at), b.dt(c.sla_goal_at),
        b.dt(c.sla_due_at), b.dt(c.closed_at), b.dt(c.resolved_at), c.outcome,
        b.flag(c.pauses_automation), c.finding_count,
        b.dec(c.amount), c.currency, b.json(c.exposures), c.open_key, c.version,
        b.dt(c.snoozed_until), b.dt(c.accepted_until), c.accepted_fingerprint,
        b.dt(c.triaged_at), b.dt(c.in_progress_at), b.dt(c.waiting_at), c.waiting_on,
        b.dt(c.escalated_at), c.escalation_level, b.dt(c.sla_breached_at), c.reopen_count,
        None if c.decision is None else b.json(c.decision), c.assignee,
        c.counterparty, None if c.duplicate_of is None else b.uid(c.duplicate_of),
        c.duplicate_score,
        b.dec(c.recovered_amount), b.dec(c.written_off_amount), b.dec(c.lost_amount),
        b.dec(c.handling_cost),
        None if c.pending_resolution is None else b.json(c.pending_resolution),
    )  # fmt: skip


FINDING_COLUMNS = (
    "id", "type", "entity_kind", "entity_key", "occurred_at", "detected_at", "trigger_event_id",
    "evidence", "summary", "tier", "breakpoint", "kind", "amount", "currency", "exposure_key",
    "reason_code", "detail", "case_id",
)  # fmt: skip


def finding_values(b: Bulk, f: Finding, case_id: str) -> tuple[Any, ...]:
    spec = f.spec
    return (
        b.uid(f.id), f.type, f.entity_kind, f.entity_key, b.dt(f.occurred_at),
        b.dt(f.detected_at), b.uid(f.trigger_event_id), b.json(list(f.evidence_event_ids)),
        f.summary, f.tier.value, spec.breakpoint.value, spec.kind.value, b.dec(f.amount),
        f.currency, f.exposure_key, f.reason_code, b.json(f.detail), b.uid(case_id),
    )  # fmt: skip


TIMELINE_COLUMNS = ("id", "case_id", "at", "kind", "actor", "summary", "finding_id", "data")


def timeline_values(b: Bulk, e: TimelineEntry) -> tuple[Any, ...]:
    return (
        b.uid(e.id), b.uid(e.case_id), b.dt(e.at), e.kind, e.actor, e.summary,
        b.uid(e.finding_id), b.json(e.data),
    )  # fmt: skip


TIMER_COLUMNS = ("id", "case_id", "kind", "due_at", "status", "attempts")


def timer_values(b: Bulk, timer: Timer) -> tuple[Any, ...]:
    return (b.uid(timer.id), b.uid(timer.case_id), timer.kind, b.dt(timer.due_at), "pending", 0)
