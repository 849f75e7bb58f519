"""Writeback use cases: queue a writeback with the case change that needs it, deliver what is
due after the commit, replay dead letters; post and export journal entries.

Writeback first: a case whose outcome must reach a system of record is not resolved when the
outcome is decided. :func:`enqueue_writeback` writes the outbox item in the caller's
transaction and parks the resolution on the case (``pending_resolution``);
:func:`deliver_due` sends due items **outside** any transaction and, when the system of record
confirms, resolves the case in the transaction that records the result. With writeback off
(no adapter configured), :func:`resolve_or_enqueue` resolves at once instead.

Crash safety. Claiming an item moves its ``next_at`` on by a lease (default five minutes)
and commits, so a second runner does not send it meanwhile; the attempt is then recorded in a
new transaction. A crash between sending and recording leaves the item leased: once the lease
is over it is sent again with the same idempotency key, which the adapter makes harmless, and
the resolution is applied only while the case still has a ``pending_resolution``, so it is
never applied twice.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from recoup.domain.audit import AuditEntry
from recoup.domain.cases.case import Case
from recoup.domain.cases.casing import CasePlan, change_plan
from recoup.domain.errors import ConflictError, InvalidInputError
from recoup.domain.ports import Clock, UnitOfWork, UnitOfWorkFactory
from recoup.domain.recovery.ledger import JournalEntry, LedgerOptions
from recoup.domain.recovery.outbox import (
    OutboxItem,
    OutboxStatus,
    OutboxStore,
    after_attempt,
    apply_on_confirm,
    check_on_confirm,
    new_item,
    on_confirm_of,
    replayed,
)
from recoup.domain.recovery.writeback import (
    DEFAULT_BASE,
    DEFAULT_CAP,
    MAX_ATTEMPTS,
    WritebackPort,
    WritebackResult,
)

WRITEBACK_ACTOR = "system:writeback"
LEDGER_ACTOR = "system:ledger"
DEFAULT_CHUNK = 100
DEFAULT_LEASE = timedelta(minutes=5)
"""How long a claimed item is kept from other runners while it is being sent: longer than
an adapter's timeout (at most 300 s by the settings), so a slow answer is not sent twice."""
_RECORD_TRIES = 3
_STATUS_ACTIONS = {
    OutboxStatus.CONFIRMED: "writeback.confirmed",
    OutboxStatus.RETRYING: "writeback.retry_scheduled",
    OutboxStatus.DEAD: "writeback.dead",
}

Disposition = Literal["resolved", "queued", "already_queued"]


# -- in the case's transaction ---------------------------------------------------------------


def enqueue_writeback(
    tx: OutboxStore,
    plan: CasePlan,
    case: Case,
    *,
    target: str,
    operation: str,
    payload: Mapping[str, Any],
    key: str,
    now: datetime,
    on_confirm: Mapping[str, Any] | None = None,
    actor: str = WRITEBACK_ACTOR,
) -> OutboxItem | None:
    """Queue one writeback of ``case`` in the caller's transaction ``tx``.

    The outbox row is written now (its idempotency key is ``<case id>:<operation>:<key>``, so
    ``key`` names the change: a ladder step, an attempt id; never the attempt number). When
    ``on_confirm`` is given (build it with ``on_confirm_of``), it is parked on the case as
    ``pending_resolution`` and the case is added to ``plan`` with a timeline entry; the case
    resolves when the writeback is confirmed. The audit records go into ``plan.audit``: the
    caller stores the plan as usual (``tx.save_plan(plan, findings)``,
    ``tx.append_audit(plan.audit)``) and commits.

    Returns the new item, or None when a writeback with the same key is already stored
    (queued before, possibly confirmed since): nothing is changed then. Refused
    (``ConflictError``) before anything is written: a resolution for a case that is not open,
    or a different resolution than the one already waiting on the case."""
    item = new_item(case_id=case.id, target=target, operation=operation, payload=payload,
                    key=key, now=now, on_confirm=on_confirm)  # fmt: skip
    if on_confirm is not None:
        _check_can_wait(case, on_confirm)
    if not tx.add_outbox([item]):
        return None
    plan.audit.append(
        AuditEntry(now, actor, "writeback.queued", "writeback", item.id,
                   {"case_id": case.id, "target": target, "operation": operation,
                    "idempotency_key": item.idempotency_key,
                    "on_confirm": None if on_confirm is None else dict(on_confirm)})
    )  # fmt: skip
    if on_confirm is not None and case.pending_resolution != dict(on_confirm):
        before = case.snapshot()
        case.pending_resolution = dict(on_confirm)
        case.updated_at = now
        _absorb(plan, change_plan(
            case, before, now=now, actor=actor, action="case.resolution_pending",
            kind="resolution_pending",
            summary=f"resolution {on_confirm['resolution']} waits for writeback to {target}",
            data={"writeback_id": item.id, "resolution": on_confirm["resolution"]},
        ))  # fmt: skip
    return item


def resolve_or_enqueue(
    tx: OutboxStore,
    plan: CasePlan,
    case: Case,
    *,
    target: str | None,
    operation: str,
    payload: Mapping[str, Any],
    key: str,
    now: datetime,
    on_confirm: Mapping[str, Any],
    actor: str = WRITEBACK_ACTOR,
) -> Disposition:
    """Resolve ``case`` now when writeback is off (``target`` None or ``"none"``), else
    :func:`enqueue_writeback`. Either way the changes land in ``plan`` for the caller to
    store. Returns ``"resolved"``, ``"queued"`` or ``"already_queued"``."""
    if target is None or target == "none":
        _absorb(plan, apply_on_confirm(case, on_confirm, now, actor))
        return "resolved"
    item = enqueue_writeback(tx, plan, case, target=target, operation=operation,
                             payload=payload, key=key, now=now, on_confirm=on_confirm,
                             actor=actor)  # fmt: skip
    return "queued" if item is not None else "already_queued"


def writeback_resolver(
    target: str | None, *, operation: str = "record_outcome", actor: str = WRITEBACK_ACTOR
) -> Callable[..., CasePlan]:
    """A ``resolve(tx, case, *, resolution, reason, now, payload, key=None, **amounts)``
    function for a caller that decides outcomes (the recovery runner): it returns the plan of
    :func:`resolve_or_enqueue` for ``target`` (None or ``"none"``: resolved at once).
    ``amounts`` are the case figures of :func:`on_confirm_of` (``recovered_amount=``, ...).
    The default ``key`` is ``resolve:<resolution>:<reopen count>``: one writeback per
    resolution of one case, and a new one after the case was reopened."""

    def resolve(
        tx: OutboxStore,
        case: Case,
        *,
        resolution: str,
        reason: str,
        now: datetime,
        payload: Mapping[str, Any],
        key: str | None = None,
        **amounts: Any,
    ) -> CasePlan:
        plan = CasePlan()
        resolve_or_enqueue(
            tx, plan, case, target=target, operation=operation, payload=payload,
            key=key or f"resolve:{resolution}:{case.reopen_count}", now=now,
            on_confirm=on_confirm_of(resolution, reason, **amounts), actor=actor,
        )  # fmt: skip
        return plan

    return resolve


def _check_can_wait(case: Case, on_confirm: Mapping[str, Any]) -> None:
    check_on_confirm(on_confirm)
    if not case.is_open:
        raise ConflictError(
            f"case {case.id} is {case.status.value}; a resolution can only wait on an open case"
        )
    waiting = case.pending_resolution
    if waiting is not None and waiting != dict(on_confirm):
        raise ConflictError(
            f"case {case.id} already waits to be resolved as {waiting.get('resolution')!r} "
            f"on a writeback; it cannot also wait for {on_confirm.get('resolution')!r}"
        )


def _absorb(into: CasePlan, other: CasePlan) -> None:
    into.updated.update(other.updated)
    into.timeline.extend(other.timeline)
    into.audit.extend(other.audit)
    into.resolved.update(other.resolved)


# -- delivery ----------------------------------------------------------------------------------


@dataclass
class DeliveryReport:
    claimed: int = 0
    confirmed: int = 0
    retrying: int = 0
    dead: int = 0
    cases_resolved: int = 0
    resolutions_refused: int = 0
    """Confirmed writebacks whose case the lifecycle would not resolve (already resolved)."""
    stale: int = 0
    """Attempts not recorded because another runner had recorded the item meanwhile."""
    rounds: int = 0
    resolved_case_ids: list[str] = field(default_factory=list)


def deliver_due(
    *,
    uow: UnitOfWorkFactory,
    clock: Clock,
    port: WritebackPort,
    rng: random.Random,
    chunk: int = DEFAULT_CHUNK,
    max_attempts: int = MAX_ATTEMPTS,
    lease: timedelta = DEFAULT_LEASE,
    base: timedelta = DEFAULT_BASE,
    cap: timedelta = DEFAULT_CAP,
    rounds: int | None = None,
) -> DeliveryReport:
    """Send every outbox item due at ``clock.now()`` (at most ``rounds`` claims of ``chunk``
    items when given) and record each result: ``confirmed`` resolves the case as its
    ``on_confirm`` says, ``retry`` schedules the next attempt, ``terminal`` or the last allowed
    attempt makes it ``dead``. Adapters classify remote failures; an adapter that raises (our
    own bug or configuration) stops the run, and the item it held is due again after the
    lease."""
    if chunk < 1:
        raise InvalidInputError(f"chunk must be at least 1, got {chunk}")
    report = DeliveryReport()
    while rounds is None or report.rounds < rounds:
        claimed = _claim(uow, clock.now(), chunk, lease)
        if not claimed:
            break
        report.rounds += 1
        report.claimed += len(claimed)
        for item in claimed:
            result = port.deliver(item.request())
            _record(uow, clock, item, result, rng, max_attempts, base, cap, report)
    return report


def _claim(uow: UnitOfWorkFactory, now: datetime, chunk: int, lease: timedelta) -> list[OutboxItem]:
    with uow() as tx:
        items = tx.claim_due_outbox(now, chunk, now + lease)
        tx.append_audit([
            AuditEntry(now, WRITEBACK_ACTOR, "writeback.sent", "writeback", item.id,
                       {"case_id": item.case_id, "attempt": item.attempts + 1,
                        "target": item.target, "operation": item.operation,
                        "idempotency_key": item.idempotency_key})
            for item in items
        ])  # fmt: skip
        tx.commit()
    return items


def _record(
    uow: UnitOfWorkFactory,
    clock: Clock,
    claimed: OutboxItem,
    result: WritebackResult,
    rng: random.Random,
    max_attempts: int,
    base: timedelta,
    cap: timedelta,
    report: DeliveryReport,
) -> None:
    outcome: tuple[OutboxStatus, bool, bool] | None = None
    for attempt in range(1, _RECORD_TRIES + 1):
        try:
            with uow() as tx:
                outcome = _record_in(tx, claimed, result, clock.now(), rng, max_attempts,
                                     base, cap)  # fmt: skip
                tx.commit()
            break
        except ConflictError:
            if attempt == _RECORD_TRIES:
                raise
            # the case changed under us (optimistic version check): read it again
    if outcome is None:
        report.stale += 1
        return
    status, resolved, refused = outcome
    if status is OutboxStatus.CONFIRMED:
        report.confirmed += 1
    elif status is OutboxStatus.RETRYING:
        report.retrying += 1
    else:
        report.dead += 1
    if resolved:
        report.cases_resolved += 1
        report.resolved_case_ids.append(claimed.case_id)
    report.resolutions_refused += int(refused)


def _record_in(
    tx: UnitOfWork,
    claimed: OutboxItem,
    result: WritebackResult,
    now: datetime,
    rng: random.Random,
    max_attempts: int,
    base: timedelta,
    cap: timedelta,
) -> tuple[OutboxStatus, bool, bool] | None:
    """Record one attempt; returns (new status, case resolved, resolution refused), or None
    when the item is no longer the one claimed (another runner recorded it)."""
    current = tx.lock_outbox_item(claimed.id)
    if current is None or not current.status.is_due_status or current.attempts != claimed.attempts:
        return None
    after = after_attempt(current, result, now, rng, max_attempts, base=base, cap=cap)
    resolved = refused = False
    note: str | None = None
    if after.status is OutboxStatus.CONFIRMED and after.on_confirm is not None:
        resolved, refused, note = _apply_confirmation(tx, after, now)
        if note is not None:
            after = replace(after, last_detail=f"{after.last_detail}; {note}")
    tx.update_outbox(after)
    data: dict[str, Any] = {
        "case_id": after.case_id, "attempt": after.attempts, "result": result.status,
        "http_status": result.http_status, "detail": after.last_detail,
    }  # fmt: skip
    if result.reference is not None:
        data["reference"] = result.reference
    if after.next_at is not None:
        data["next_at"] = after.next_at.isoformat()
    if resolved:
        data["case_resolved"] = True
    action = _STATUS_ACTIONS[after.status]
    tx.append_audit([AuditEntry(now, WRITEBACK_ACTOR, action, "writeback", after.id, data)])
    return after.status, resolved, refused


def _apply_confirmation(
    tx: UnitOfWork, item: OutboxItem, now: datetime
) -> tuple[bool, bool, str | None]:
    """Resolve the item's case if this was the last writeback its resolution waits on.
    Returns (resolved, refused by the lifecycle, a note for ``last_detail`` or None)."""
    assert item.on_confirm is not None
    case = tx.cases_by_id([item.case_id]).get(item.case_id)
    if case is None or case.pending_resolution is None:
        return False, False, None  # applied before (a resend after a crash), or never parked
    waiting = [
        other.id
        for other in tx.outbox_of_case(item.case_id)
        if other.id != item.id
        and other.on_confirm is not None
        and other.status is not OutboxStatus.CONFIRMED
    ]
    if waiting:
        return False, False, f"case waits for {len(waiting)} more writeback(s) before it resolves"
    try:
        plan = apply_on_confirm(case, item.on_confirm, now, WRITEBACK_ACTOR)
    except (ConflictError, InvalidInputError) as exc:
        before = case.snapshot()
        case.pending_resolution = None
        case.updated_at = now
        plan = change_plan(
            case, before, now=now, actor=WRITEBACK_ACTOR, action="case.resolution_dropped",
            kind="resolution_dropped", summary=f"writeback confirmed; not resolved: {exc}",
            data={"writeback_id": item.id, "problem": str(exc)},
        )  # fmt: skip
        tx.save_plan(plan, [])
        tx.append_audit(plan.audit)
        return False, True, f"case not resolved: {exc}"
    tx.save_plan(plan, [])
    tx.append_audit(plan.audit)
    return True, False, None


# -- operator commands -------------------------------------------------------------------------


@dataclass
class ReplayReport:
    replayed: list[str] = field(default_factory=list)
    already_confirmed: list[str] = field(default_factory=list)
    """Asked for but confirmed: replaying them would do nothing, so nothing was done."""
    not_dead: list[str] = field(default_factory=list)
    """Asked for but pending or retrying: they are sent anyway; left as they are."""


def replay(
    *,
    uow: UnitOfWorkFactory,
    clock: Clock,
    ids: Sequence[str] | None = None,
    actor: str = "operator",
    chunk: int = 500,
) -> ReplayReport:
    """Move dead items back to ``pending``, due now: those named by ``ids`` (full ids or
    unique prefixes; an unknown id is a ``NotFoundError`` and nothing is replayed), or every
    dead item when ``ids`` is None. Each replay is audited (``writeback.replayed``)."""
    report = ReplayReport()
    if ids is not None:
        with uow() as tx:
            items = tx.outbox_items(ids)
            _replay_in(tx, items, clock.now(), actor, report)
            tx.commit()
        return report
    while True:
        with uow() as tx:
            items = tx.list_outbox(OutboxStatus.DEAD, chunk)
            if not items:
                return report
            _replay_in(tx, items, clock.now(), actor, report)
            tx.commit()


def _replay_in(
    tx: UnitOfWork, items: Sequence[OutboxItem], now: datetime, actor: str, report: ReplayReport
) -> None:
    audit: list[AuditEntry] = []
    for item in {i.id: i for i in items}.values():
        if item.status is OutboxStatus.CONFIRMED:
            report.already_confirmed.append(item.id)
            continue
        if item.status is not OutboxStatus.DEAD:
            report.not_dead.append(item.id)
            continue
        again = replayed(item, now)
        tx.update_outbox(again)
        report.replayed.append(item.id)
        audit.append(
            AuditEntry(now, actor, "writeback.replayed", "writeback", item.id,
                       {"case_id": item.case_id, "attempts_before": item.attempts,
                        "last_detail": item.last_detail})
        )  # fmt: skip
    tx.append_audit(audit)


@dataclass(frozen=True, slots=True)
class OutboxOverview:
    counts: dict[str, int]
    """Every status, with zero where there is none."""
    oldest_due: OutboxItem | None
    dead: list[OutboxItem]


def outbox_overview(*, reader: Callable[[], UnitOfWork], dead_limit: int = 50) -> OutboxOverview:
    """Counts by status, the oldest item still to be sent, and the dead letters (oldest first,
    at most ``dead_limit``) with their last error."""
    with reader() as tx:
        counts = tx.outbox_counts()
        return OutboxOverview(
            counts={status.value: counts.get(status.value, 0) for status in OutboxStatus},
            oldest_due=tx.oldest_due_outbox(),
            dead=tx.list_outbox(OutboxStatus.DEAD, dead_limit),
        )


# -- journal -----------------------------------------------------------------------------------


def post_journal(
    tx: UnitOfWork,
    entries: Iterable[JournalEntry | None],
    options: LedgerOptions,
    *,
    actor: str = LEDGER_ACTOR,
) -> set[str]:
    """Store journal entries in the caller's transaction, each once (an entry already stored
    under its id is left as it is: its id follows from the case, the kind and the caller's
    key). Nothing is stored when accounting is off. Each new entry is audited
    (``ledger.posted``). Returns the ids stored now."""
    if not options.accounting_enabled:
        return set()
    wanted = [entry for entry in entries if entry is not None]
    inserted = tx.add_journal_entries(wanted)
    tx.append_audit([
        AuditEntry(entry.at, actor, "ledger.posted", "journal_entry", entry.id,
                   {"case_id": entry.case_id, "kind": entry.kind.value,
                    "reverses": entry.reverses, "lines": len(entry.lines)})
        for entry in wanted
        if entry.id in inserted
    ])  # fmt: skip
    if options.needs_writeback and options.external_target is not None:
        fresh = [entry for entry in wanted if entry.id in inserted]
        _send_entries(tx, fresh, options.external_target, actor)
    return inserted


JOURNAL_OPERATION = "journal_entry"


def journal_payload(entry: JournalEntry) -> dict[str, Any]:
    """An entry as the external ledger receives it: exact decimal strings per line."""
    return {
        "entry": entry.id, "case": entry.case_id, "kind": entry.kind.value,
        "at": entry.at.isoformat(), "reverses": entry.reverses,
        "lines": [
            {"account": line.account.code, "name": line.account.name,
             "debit": None if line.debit is None else str(line.debit.amount),
             "credit": None if line.credit is None else str(line.credit.amount),
             "currency": line.money.currency, "memo": line.memo}
            for line in entry.lines
        ],
    }  # fmt: skip


def _send_entries(tx: UnitOfWork, entries: Sequence[JournalEntry], target: str,
                  actor: str) -> None:  # fmt: skip
    """Queue each new entry for the external ledger (one outbox item per entry, keyed by it)."""
    items = [new_item(case_id=e.case_id, target=target, operation=JOURNAL_OPERATION,
                      payload=journal_payload(e), key=e.id, now=e.at) for e in entries]  # fmt: skip
    added = tx.add_outbox(items)
    tx.append_audit([
        AuditEntry(item.created_at, actor, "writeback.queued", "writeback", item.id,
                   {"case_id": item.case_id, "operation": item.operation, "target": target})
        for item in items
        if item.id in added
    ])  # fmt: skip


def journal_entries(
    *,
    reader: Callable[[], UnitOfWork],
    since: datetime | None = None,
    until: datetime | None = None,
    case_id: str | None = None,
) -> list[JournalEntry]:
    """Stored entries with ``since <= at < until`` (either bound optional), oldest first."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.utcoffset() is None:
            raise InvalidInputError(f"--{name} {value.isoformat()} has no time zone")
    if since is not None and until is not None and until <= since:
        raise InvalidInputError(
            f"--until {until.isoformat()} is not after --since {since.isoformat()}"
        )
    with reader() as tx:
        return tx.journal_entries(case_id=case_id, since=since, until=until)


def export_journal(
    *,
    reader: Callable[[], UnitOfWork],
    write: Callable[[Sequence[JournalEntry]], int],
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    """Read the entries in the range and hand them to ``write`` (the CSV writer lives in the
    adapters: ``recoup.adapters.ledger_files.export_journal``); returns what ``write``
    returns (the lines written)."""
    return write(journal_entries(reader=reader, since=since, until=until))


__all__ = [
    "DEFAULT_LEASE",
    "WRITEBACK_ACTOR",
    "DeliveryReport",
    "Disposition",
    "OutboxOverview",
    "ReplayReport",
    "deliver_due",
    "enqueue_writeback",
    "export_journal",
    "journal_entries",
    "outbox_overview",
    "post_journal",
    "replay",
    "resolve_or_enqueue",
    "writeback_resolver",
]
