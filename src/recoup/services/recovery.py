"""Recovery: each case with a ladder climbs it, one due step at a time.

A case whose type has a ladder gets a climb row when it opens (``new``, due at once). The runner
claims due climbs in one short transaction and leases them (``next_at`` moves :data:`LEASE`
ahead, so a crashed runner's climbs come back), then for each climb, while the lease lasts and
only if nobody moved the climb since the claim, outside any transaction,
runs the due step: a retry through the PSP port (timed and limited by the retry planner), a
message through the outreach port (contact rules applied), a self-service link, or an
escalation to a person. Then, in one transaction per case: the attempts, messages and grants,
the new climb state, the case's timeline, its changes (escalated, resolved with the money
recovered) and their audit records.

Every external call carries the attempt's idempotency key (``ladder:<case>:<step>:<attempt>``),
so a turn repeated after a crash asks the PSP the same question and gets the first answer.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from recoup.domain.audit import AuditEntry
from recoup.domain.cases import lifecycle
from recoup.domain.cases.case import Case, CaseStatus
from recoup.domain.cases.casing import CasePlan, TimelineEntry
from recoup.domain.cases.sla import merge
from recoup.domain.errors import ConfigurationError, ConflictError, RecoupError
from recoup.domain.ids import derived_id
from recoup.domain.ingestion.event import Event
from recoup.domain.money import Money
from recoup.domain.ports import Clock, UnitOfWorkFactory
from recoup.domain.recovery import ladder as climb
from recoup.domain.recovery.ladder import (
    Action,
    LadderSpec,
    LadderState,
    LadderStatus,
    OutcomeKind,
    StepKind,
    StepOutcome,
)
from recoup.domain.recovery.ledger import (
    DEFAULT_CHART,
    ChartOfAccounts,
    LedgerOptions,
    PostingKind,
    postings_for,
)
from recoup.domain.recovery.outreach import (
    FINDING_TEMPLATES,
    Consent,
    Contact,
    ContactRules,
    ContactStatus,
    OutboundMessage,
    OutreachChannel,
    may_contact,
)
from recoup.domain.recovery.psp import (
    EvidenceOutcome,
    EvidenceRequest,
    PaymentGateway,
    RetryRequest,
)
from recoup.domain.recovery.retries import (
    DEFAULT_POLICY,
    Attempt,
    RetryPolicy,
    Schedule,
    plan_retry,
)
from recoup.domain.recovery.selfservice import eligible_actions, issue_link
from recoup.domain.recovery.store import AttemptRecord, GrantRecord, MessageRecord
from recoup.services.writeback import post_journal

ACTOR = "system:recovery"
LEASE = timedelta(minutes=5)
MAX_ACTIONS_PER_TURN = 12
FAILURE_TYPES = frozenset({"payment.failed", "charge.failed", "invoice.payment_failed"})
ACTION_COSTS: Mapping[str, Decimal] = {
    "retry": Decimal("0.10"),
    "channel": Decimal("0.05"),
    "request_input": Decimal("0.05"),
    "reduce": Decimal("0.05"),
    "escalate": Decimal("5.00"),
}
"""What one action costs to run, in the case's currency (PSP fees, message fees, a person's
first look); the case's ``handling_cost`` adds them up."""
RETRYABLE_ERROR_DELAY = timedelta(hours=1)
MAX_FAILED_SENDS = 3
"""Sends of one outreach step that may fail (the channel's server down or refusing) before the
ladder goes on without it; after each earlier failure the step waits
:data:`RETRYABLE_ERROR_DELAY` and runs again (a new attempt, a new message)."""
DISPUTE_TYPES = frozenset({"dispute_opened", "inquiry_opened"})
"""Types whose lost outcome is a chargeback posting."""
TIMING_ONLY = frozenset({Schedule.FUNDING_DAY.value, Schedule.SOFT_BACKOFF.value,
                         Schedule.PROCESSING_BACKOFF.value})  # fmt: skip
"""Planner reasons that only choose a good time; a customer's "retry now" may skip them."""
TRIED = frozenset({"succeeded", "failed", "sent", "error"})
CHARGED = TRIED | {"escalated"}
"""Attempt outcomes that cost something (see :data:`ACTION_COSTS`)."""
"""Attempt outcomes that reached the outside world. A ladder that ends without any leaves its
case where it is (in its queue, with a timeline note) rather than escalating it."""
LINK_ACTIONS = {"update_payment_method": "update_url", "retry_now": "update_url",
                "payment_plan": "pay_url", "confirm_address": "confirm_url"}  # fmt: skip


class Composer(Protocol):
    """Renders a template into a message (``adapters/outreach/templates.py``)."""

    def message(
        self,
        template: str,
        language: str,
        context: Mapping[str, Any],
        *,
        case_id: str,
        key: str,
        channel: str,
        to: str,
    ) -> OutboundMessage: ...

    def names(self) -> Sequence[str]: ...


@dataclass
class Recovery:
    """What the runner works with; built once at start (``bootstrap``)."""

    ladders: Mapping[str, LadderSpec]
    gateway: PaymentGateway | None = None
    channel: OutreachChannel | None = None
    composer: Composer | None = None
    rules: ContactRules = field(default_factory=ContactRules)
    language: str = "en"
    merchant_name: str = "our team"
    public_url: str = "http://127.0.0.1:8000"
    secret: bytes = b""
    link_ttl: timedelta = timedelta(hours=72)
    retry_policy: RetryPolicy = DEFAULT_POLICY
    resolve: Callable[..., CasePlan] | None = None
    """How a recovered case resolves: ``resolve(tx, case, resolution=, reason=, now=,
    payload=)`` returns the plan (resolved now, or waiting for its writeback). None: at once."""
    nonce_source: Callable[[int], bytes] = secrets.token_bytes
    ledger: LedgerOptions = field(default_factory=LedgerOptions)
    chart: ChartOfAccounts = DEFAULT_CHART
    lease: timedelta = LEASE
    """How long a claimed climb is held: a worker that dies mid-step is replaced after this."""


@dataclass
class RecoveryReport:
    climbs: int = 0
    started: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    recovered: int = 0
    recovered_money: dict[str, Decimal] = field(default_factory=dict)
    escalated: int = 0
    written_off: int = 0
    deferred: int = 0
    conflicts: int = 0


def has_ladder(ladders: Mapping[str, LadderSpec], case_type: str) -> bool:
    """Only types with a ladder of their own climb; the rest wait in their queue."""
    return case_type in ladders and case_type != climb.DEFAULT_LADDER


def climbs_to_start(plan: CasePlan, ladders: Mapping[str, LadderSpec]) -> list[str]:
    """The cases a plan opens that will climb a ladder."""
    return sorted(c.id for c in plan.created.values() if has_ladder(ladders, c.type))


@dataclass(frozen=True)
class RecoveryStatus:
    climbs: dict[str, dict[str, Any]]
    attempts: dict[tuple[str, str], int]


def recovery_status(*, reader: Callable[[], Any]) -> RecoveryStatus:
    """Climbs by status (with the next due time) and attempts by action and outcome."""
    with reader() as tx:
        return RecoveryStatus(tx.climb_counts(), tx.attempt_counts())


def case_recovery(
    case_id: str, *, reader: Callable[[], Any]
) -> tuple[LadderState | None, list[AttemptRecord]]:
    """A case's climb (None when it has none) and its attempts, oldest first."""
    with reader() as tx:
        return tx.climbs([case_id]).get(case_id), tx.attempts_of(case_id)


# -- the runner --------------------------------------------------------------------------------


def run_recovery(
    *, uow: UnitOfWorkFactory, clock: Clock, recovery: Recovery, chunk: int = 100,
    rounds: int = 1_000,
) -> RecoveryReport:  # fmt: skip
    """Run every climb due at ``clock.now()``."""
    report = RecoveryReport()
    for _ in range(rounds):
        now = clock.now()
        leased_until = now + recovery.lease
        with uow() as tx:
            claimed = tx.claim_due_climbs(now, chunk)
            if not claimed:
                break
            tx.lease_climbs([case_id for case_id, _ in claimed], leased_until)
            tx.commit()
        for case_id, state in claimed:
            if clock.now() >= leased_until:
                break  # our lease is over: another runner may hold the rest; claim again
            report.climbs += 1
            try:
                _turn(case_id, state, uow=uow, clock=clock, rec=recovery, report=report)
            except ConflictError:
                report.conflicts += 1  # the case changed meanwhile: the lease brings it back
        if len(claimed) < chunk:
            break
    return report


@dataclass
class _Turn:
    case: Case
    events: list[Event]
    attempts: list[AttemptRecord]
    now: datetime
    contacts: list[Contact] = field(default_factory=list)
    records: list[AttemptRecord] = field(default_factory=list)
    messages: list[MessageRecord] = field(default_factory=list)
    grants: list[GrantRecord] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    recovered: Money | None = None
    escalate: str | None = None
    write_off: bool = False
    notes: list[str] = field(default_factory=list)
    chargeback: bool = False
    customer_retry: bool = False
    """The customer asked for a retry now: the planner's timing (a funding day, a backoff)
    gives way; its limits (network windows, advice codes, the budget) do not."""


def apply_choice(
    case_id: str,
    move: climb.Intervention,
    reason: str,
    *,
    uow: UnitOfWorkFactory,
    clock: Clock,
    recovery: Recovery,
) -> RecoveryReport:
    """The customer (a self-service link) or a person moved the climb: ``retry_now`` runs the
    next retry at once, ``input_received`` goes on to the next step, ``stop`` ends the climb,
    ``escalate`` hands the case to a person. A case without a running climb refuses."""
    report = RecoveryReport()
    with uow() as tx:
        state = tx.climbs([case_id]).get(case_id)
    if state is None or state.is_finished:
        raise ConflictError(f"case {case_id} has no recovery under way to apply {move} to")
    _turn(case_id, state, uow=uow, clock=clock, rec=recovery, report=report,
          intervention=(move, reason))  # fmt: skip
    return report


def submit_evidence(
    id_or_prefix: str,
    evidence: Mapping[str, str],
    *,
    submit: bool,
    actor: str,
    uow: UnitOfWorkFactory,
    clock: Clock,
    recovery: Recovery,
) -> EvidenceOutcome:
    """Answer a dispute case with evidence through the PSP (staged, or submitted to the issuer
    with ``submit``); the answer goes on the case's timeline and audit trail. The same
    evidence sent again reuses its idempotency key, so the PSP sees it once."""
    if recovery.gateway is None:
        raise ConfigurationError("no payment gateway is configured (RECOUP_RECOVERY__GATEWAY)")
    with uow() as tx:
        case = tx.find_case(id_or_prefix)
    if case.entity_kind != "dispute" or not case.is_open:
        raise ConflictError(f"case {case.id} is not an open dispute case")
    fingerprint = sorted(evidence.items())
    key = derived_id("evidence", case.id, repr(fingerprint), str(submit))
    result = recovery.gateway.submit_dispute_evidence(
        EvidenceRequest(case.entity_key, dict(evidence), submit, key)
    )
    now = clock.now()
    with uow() as tx:
        record = AttemptRecord(key, case.id, -1, "evidence", now, result.status,
                               result.detail or "", data={"fields": sorted(evidence),
                                                          "submit": submit})  # fmt: skip
        if tx.add_attempts([record]):
            summary = f"evidence {'submitted' if submit else 'staged'}: {result.status}"
            entry = TimelineEntry(derived_id("timeline", case.id, "evidence", key), case.id, now,
                                  "recovery", actor, summary, data={"attempt": key})  # fmt: skip
            plan = CasePlan()
            plan.timeline.append(entry)
            tx.save_plan(plan, [])
            tx.append_audit([AuditEntry(now, actor, "recovery.evidence", "case", case.id,
                                        {"status": result.status, "fields": sorted(evidence),
                                         "submit": submit, "detail": result.detail})])  # fmt: skip
            tx.commit()
    return result


def _turn(case_id: str, state: LadderState | None, *, uow: UnitOfWorkFactory, clock: Clock,
          rec: Recovery, report: RecoveryReport,
          intervention: tuple[climb.Intervention, str] | None = None) -> None:  # fmt: skip
    now = clock.now()
    with uow() as tx:
        if intervention is None and tx.climbs([case_id]).get(case_id) != state:
            return  # another runner took the climb on since our claim: the turn was its
        case = tx.cases_by_id([case_id]).get(case_id)
        if case is None:
            return
        turn = _Turn(case, tx.case_source_events(case_id), tx.attempts_of(case_id), now)
        recipient = _recipient(turn.events)
        if recipient is not None:
            turn.contacts = tx.contacts_of(recipient)
    spec = climb.ladder_for(rec.ladders, case.type)
    paused = case.pauses_automation
    actions: list[Action] = []
    if intervention is not None and state is not None and case.is_open:
        move, why = intervention
        if move is climb.Intervention.ESCALATE:
            turn.escalate = why
        turn.customer_retry = move is climb.Intervention.RETRY_NOW
        state, actions = climb.intervene(spec, state, move, now, reason=why, paused=paused)
        _note(turn, f"{move}: {why}")
    elif state is not None and (later := _retry_later(spec, state, turn, rec)) is not None:
        _save(later, turn, uow=uow, rec=rec, report=report)
        report.deferred += 1
        return
    elif not case.is_open or case.pending_resolution:
        state = _stopped(spec, state, case, now)
        turn.chargeback = case.outcome == "lost" and case.type in DISPUTE_TYPES
    elif state is None and _writes_off(case):
        state = _log_stop(LadderState(case.id, spec.type, 0, 0, now, None, LadderStatus.STOPPED),
                          now, "written off by policy: no recovery is attempted")  # fmt: skip
        turn.write_off = True
    elif state is None:
        state, actions = climb.start(spec, case.id, now, paused=paused)
        report.started += 1
    else:
        state, actions = climb.on_due(spec, state, now, paused=paused)
    for _ in range(MAX_ACTIONS_PER_TURN):
        if not actions:
            break
        follow: list[Action] = []
        for action in actions:
            state, more = _perform(action, spec, state, turn, rec, report)
            follow.extend(more)
        actions = follow
    _save(state, turn, uow=uow, rec=rec, report=report)


def _retry_later(spec: LadderSpec, state: LadderState, turn: _Turn,
                 rec: Recovery) -> LadderState | None:  # fmt: skip
    """A retry step comes due but the retry planner wants a later time (a funding day, a
    network window, an advice code's wait): the step waits for it without spending an attempt.
    None when the step may run now (or will not run at all: the step then says why)."""
    if state.is_finished or state.status is not LadderStatus.CLIMBING or not turn.case.is_open:
        return None
    if (
        state.step_index >= len(spec.steps)
        or spec.steps[state.step_index].kind is not StepKind.RETRY
    ):
        return None
    history, _ = _history(turn)
    if not history:
        return None
    plan = plan_retry(history, turn.now, policy=rec.retry_policy)
    if plan.at is None or plan.at <= turn.now:
        return None
    entry = climb.HistoryEntry(turn.now, climb.HistoryEvent.SCHEDULED, state.step_index,
                               state.attempts, f"retry timed by the planner for "
                               f"{plan.at.isoformat()}: {plan.reason}")  # fmt: skip
    return replace(state, next_at=plan.at, history=(*state.history, entry))


def _writes_off(case: Case) -> bool:
    outputs = (case.decision or {}).get("outputs", {})
    return bool(outputs.get("write_off")) and case.amount is not None and bool(case.currency)


def _stopped(spec: LadderSpec, state: LadderState | None, case: Case,
             now: datetime) -> LadderState:  # fmt: skip
    reason = "the case is no longer open" if not case.is_open else "the case awaits its writeback"
    if state is None:
        state = LadderState(case.id, spec.type, 0, 0, now, None, LadderStatus.STOPPED)
        return _log_stop(state, now, reason)
    if state.is_finished:
        return state
    return climb.intervene(spec, state, climb.Intervention.STOP, now, reason=reason)[0]


def _note(turn: _Turn, summary: str) -> None:
    """A timeline entry and audit record for a move made from outside the climb."""
    case = turn.case
    entry_id = derived_id("timeline", case.id, "recovery_choice", str(case.version),
                          turn.now.isoformat(), summary)  # fmt: skip
    turn.timeline.append(TimelineEntry(id=entry_id, case_id=case.id, at=turn.now, kind="recovery",
                                       actor=ACTOR, summary=summary,
                                       data={"attempt": entry_id}))  # fmt: skip
    turn.audit.append(AuditEntry(turn.now, ACTOR, "recovery.choice", "case", case.id,
                                 {"attempt": entry_id, "choice": summary}))  # fmt: skip
    turn.notes.append(entry_id)


def _log_stop(state: LadderState, now: datetime, reason: str) -> LadderState:
    entry = climb.HistoryEntry(now, climb.HistoryEvent.STOPPED, 0, 0, reason)
    return LadderState(state.case_id, state.ladder, 0, 0, state.started_at, None,
                       LadderStatus.STOPPED, (entry,))  # fmt: skip


# -- performing one action -----------------------------------------------------------------------


def _perform(action: Action, spec: LadderSpec, state: LadderState, turn: _Turn, rec: Recovery,
             report: RecoveryReport) -> climb.Result:  # fmt: skip
    paused = turn.case.pauses_automation
    report.actions[action.kind.value] += 1
    if action.kind is StepKind.ESCALATE:
        reason = str(action.params.get("reason") or "the ladder hands the case to a person")
        if any(r.outcome in TRIED for r in [*turn.attempts, *turn.records]):
            turn.escalate = reason
            _attempt(turn, action, "escalated", reason)
        else:  # nothing automated could run: the case stays in its queue, said so once
            _attempt(turn, action, "handed_over", f"{reason}; no automated step could run")
        return state, []
    verdict: StepOutcome | tuple[datetime, str] | None
    if action.kind is StepKind.RETRY:
        verdict = _retry(action, turn, rec)
    else:
        verdict = _contact(action, spec, turn, rec)
    if isinstance(verdict, tuple):
        until, reason = verdict
        report.deferred += 1
        _attempt(turn, action, "deferred", f"not before {until.isoformat()}: {reason}")
        return climb.defer(spec, state, action.idempotency_key, until, turn.now, reason=reason,
                           paused=paused)  # fmt: skip
    if verdict is None:  # a request went out: the climb waits for the input (or its timeout)
        return state, []
    report.outcomes[verdict.kind.value] += 1
    return climb.on_outcome(spec, state, verdict, turn.now, paused=paused)


def _attempt(
    turn: _Turn,
    action: Action,
    outcome: str,
    detail: str,
    *,
    money: Money | None = None,
    data: Mapping[str, Any] | None = None,
) -> None:
    case = turn.case
    record = AttemptRecord(
        id=action.idempotency_key if outcome != "deferred"
        else f"{action.idempotency_key}:deferred",
        case_id=case.id, step_index=action.step_index, kind=action.kind.value, at=turn.now,
        outcome=outcome, detail=detail, amount=None if money is None else money.amount,
        currency=None if money is None else money.currency, data=dict(data or {}),
    )  # fmt: skip
    turn.records.append(record)
    summary = f"{action.kind.value} (step {action.step_index + 1}): {outcome}" + (
        f": {detail}" if detail else ""
    )
    turn.timeline.append(
        TimelineEntry(
            id=derived_id("timeline", case.id, "recovery", record.id), case_id=case.id,
            at=turn.now, kind="recovery", actor=ACTOR, summary=summary,
            data={"attempt": record.id, "step": action.step_index, "action": action.kind.value,
                  "outcome": outcome, **dict(data or {})},
        )
    )  # fmt: skip
    turn.audit.append(
        AuditEntry(turn.now, ACTOR, "recovery.attempt", "case", case.id,
                   {"attempt": record.id, "action": action.kind.value, "outcome": outcome,
                    "detail": detail, **dict(data or {})})
    )  # fmt: skip


def _history(turn: _Turn) -> tuple[list[Attempt], Event | None]:
    failures = [e for e in turn.events if e.type in FAILURE_TYPES]
    history = [
        Attempt(e.occurred_at, _network(e), e.reason_code, _advice(e), False, "source")
        for e in failures
    ]
    for record in turn.attempts + turn.records:
        if record.kind == "retry" and record.outcome in ("succeeded", "failed"):
            history.append(Attempt(record.at, str(record.data.get("network") or "other"),
                                   record.data.get("code"), record.data.get("advice_code"),
                                   record.outcome == "succeeded", "ladder"))  # fmt: skip
    return sorted(history, key=lambda a: a.at), (failures[-1] if failures else None)


def _network(event: Event) -> str:
    value = event.attributes.get("network") or event.attributes.get("card_brand")
    return str(value) if value else "other"


def _advice(event: Event) -> str | None:
    value = event.attributes.get("advice_code") or event.attributes.get("merchant_advice_code")
    return str(value) if value else None


def _retry(action: Action, turn: _Turn, rec: Recovery) -> StepOutcome | tuple[datetime, str]:
    key = action.idempotency_key
    history, last = _history(turn)
    if last is None or not history:
        _attempt(turn, action, "not_eligible", "no failed payment on the case to retry")
        return StepOutcome(OutcomeKind.NOT_ELIGIBLE, key, "no failed payment to retry")
    plan = plan_retry(history, turn.now, policy=rec.retry_policy)
    if plan.at is None:
        _attempt(turn, action, "not_eligible", plan.reason, data={"class": plan.decline_class})
        return StepOutcome(OutcomeKind.NOT_ELIGIBLE, key, plan.reason)
    if plan.at > turn.now and not (turn.customer_retry and plan.reason in TIMING_ONLY):
        return plan.at, plan.reason
    if rec.gateway is None:
        _attempt(turn, action, "not_eligible", "no payment gateway is configured")
        return StepOutcome(OutcomeKind.NOT_ELIGIBLE, key, "no payment gateway")
    money = _money(turn.case, last)
    if money is None:
        _attempt(turn, action, "not_eligible", "the case has no amount to collect")
        return StepOutcome(OutcomeKind.NOT_ELIGIBLE, key, "no amount")
    context = {
        "last_decline": last.reason_code or "unknown:unknown",
        "last_failed_at": last.occurred_at.isoformat(),
        "network": _network(last),
    }
    request = RetryRequest(last.refs.payment or turn.case.entity_key, money, key, context=context)
    result = rec.gateway.retry_payment(request)
    data = {"code": result.decline_code, "advice_code": result.advice_code,
            "network": result.network or _network(last), "reference": result.reference,
            "planned": plan.reason}  # fmt: skip
    if result.status == "succeeded":
        turn.recovered = result.amount or money
        _attempt(turn, action, "succeeded", f"collected {turn.recovered}", money=turn.recovered,
                 data=data)  # fmt: skip
        return StepOutcome(OutcomeKind.SUCCEEDED, key, f"collected {turn.recovered}")
    if result.status == "error":
        detail = result.detail or "the PSP answered with an error"
        if result.retryable_error:
            _attempt(turn, action, "error", detail, data=data)
            return turn.now + RETRYABLE_ERROR_DELAY, f"PSP error, trying again: {detail}"
        _attempt(turn, action, "not_eligible", detail, data=data)
        return StepOutcome(OutcomeKind.NOT_ELIGIBLE, key, detail)
    why = result.decline_code or result.status
    _attempt(turn, action, "failed", f"{result.status}: {why}", money=money, data=data)
    return StepOutcome(OutcomeKind.FAILED, key, why)


def _money(case: Case, last: Event) -> Money | None:
    if case.amount is not None and case.currency:
        return Money(case.amount, case.currency)
    if last.amount is not None and last.currency:
        return Money(last.amount, last.currency)
    return None


def _contact(action: Action, spec: LadderSpec, turn: _Turn,
             rec: Recovery) -> StepOutcome | tuple[datetime, str] | None:  # fmt: skip
    """A channel, request-input or reduce step: one message to the customer, with a
    self-service link when the step offers actions."""
    key, case = action.idempotency_key, turn.case
    waits = action.kind is StepKind.REQUEST_INPUT
    if waits and "channel" not in action.params:  # the ask went out at an earlier step, if any
        wanted = action.params.get("input", "input")
        if not any(r.outcome == "sent" for r in [*turn.attempts, *turn.records]):
            _attempt(turn, action, "not_eligible", f"nobody was asked for the {wanted}")
            return StepOutcome(OutcomeKind.FAILED, key, "nothing was asked")
        _attempt(turn, action, "waiting", f"waiting for the {wanted}")
        return None
    miss = OutcomeKind.FAILED if waits else OutcomeKind.NOT_ELIGIBLE
    channel = str(action.params.get("channel") or "email")
    recipient = _recipient(turn.events)
    problem = (
        "no outreach channel is configured" if rec.channel is None or rec.composer is None
        else "no contact address for the customer" if recipient is None else None
    )  # fmt: skip
    if problem is not None or rec.channel is None or rec.composer is None or recipient is None:
        _attempt(turn, action, "not_eligible", problem or "")
        return StepOutcome(miss, key, problem or "")
    verdict = may_contact(
        _contacts(turn, recipient), rec.rules, Consent(opted_in=frozenset({channel})), channel,
        turn.now, _zone(turn.events),
    )  # fmt: skip
    if not verdict.allowed:
        if verdict.not_before is not None and not verdict.needs_review:
            return verdict.not_before, verdict.reason
        _attempt(turn, action, "not_eligible", verdict.reason)
        return StepOutcome(miss, key, verdict.reason)
    template = _template(action, case, rec)
    context = _context(action, spec, turn, rec)
    try:
        message = rec.composer.message(template, rec.language, context, case_id=case.id,
                                       key=key, channel=channel, to=recipient)  # fmt: skip
    except RecoupError as exc:
        _attempt(turn, action, "not_eligible", exc.message)
        return StepOutcome(miss, key, exc.message)
    delivery = rec.channel.send(message)
    record = MessageRecord(message.id, case.id, channel, recipient, template, message.language,
                           message.kind.value, message.subject, delivery.status.value,
                           delivery.at, delivery.detail)  # fmt: skip
    turn.messages.append(record)
    data = {"message": message.id, "template": template, "channel": channel}
    if delivery.status.value != "sent":
        detail = delivery.detail or delivery.status.value
        _attempt(turn, action, "failed", detail, data=data)
        if _failed_sends(turn, action) < MAX_FAILED_SENDS:  # the channel may be down: later
            return turn.now + RETRYABLE_ERROR_DELAY, f"the {channel} send failed: {detail}"
        return StepOutcome(OutcomeKind.FAILED, key, delivery.detail)
    _attempt(turn, action, "sent", f"{template} to {recipient} by {channel}", data=data)
    if waits:
        return None
    return StepOutcome(OutcomeKind.NO_ANSWER, key, f"{template} sent")


def _failed_sends(turn: _Turn, action: Action) -> int:
    """Failed sends of this step so far (stored, and in this turn)."""
    return sum(1 for r in [*turn.attempts, *turn.records]
               if r.step_index == action.step_index and r.kind == action.kind.value
               and r.outcome == "failed")  # fmt: skip


def _recipient(events: Sequence[Event]) -> str | None:
    for event in reversed(events):
        for name in ("customer_email", "email", "receipt_email"):
            value = event.attributes.get(name)
            if isinstance(value, str) and "@" in value:
                return value
    return None


def _zone(events: Sequence[Event]) -> str:
    for event in reversed(events):
        value = event.attributes.get("customer_timezone") or event.attributes.get("timezone")
        if isinstance(value, str) and value:
            return value
    return "UTC"


def _contacts(turn: _Turn, recipient: str) -> list[Contact]:
    """Earlier messages to ``recipient`` (stored, and sent in this turn)."""
    sent = [Contact(m.at, m.channel, ContactStatus(m.status)) for m in turn.messages
            if m.recipient == recipient]  # fmt: skip
    return [*turn.contacts, *sent]


def _template(action: Action, case: Case, rec: Recovery) -> str:
    names = set(rec.composer.names()) if rec.composer is not None else set()
    given = action.params.get("template")
    if isinstance(given, str) and given in names:
        return given
    return FINDING_TEMPLATES.get(case.type, case.type)


def _context(action: Action, spec: LadderSpec, turn: _Turn, rec: Recovery) -> dict[str, Any]:
    case, now = turn.case, turn.now
    last = turn.events[-1] if turn.events else None
    attrs = last.attributes if last is not None else {}
    money = _money(case, last) if last is not None else None
    link = _link(action, spec, turn, rec)
    return {
        "amount": money,
        "customer_name": str(attrs.get("customer_name") or "customer"),
        "merchant_name": rec.merchant_name,
        "retry_on": (now + timedelta(days=3)).date(),
        "due_date": now.date(),
        "respond_by": (now + timedelta(days=7)).date(),
        "invoice_number": (last.refs.invoice if last is not None else None) or case.entity_key,
        "order_number": (last.refs.order if last is not None else None) or case.entity_key,
        "claim_reference": case.id[:8],
        "address": str(attrs.get("shipping_address") or attrs.get("address") or ""),
        "update_url": link,
        "pay_url": link,
        "confirm_url": link,
    }


def _link(action: Action, spec: LadderSpec, turn: _Turn, rec: Recovery) -> str:
    """A self-service link for the actions the step offers, or the case page when none."""
    step = spec.steps[action.step_index] if action.step_index < len(spec.steps) else None
    offered = eligible_actions(turn.case.type, turn.case.pauses_automation, step)
    base = rec.public_url.rstrip("/")
    if not offered or not rec.secret:
        return f"{base}/cases/{turn.case.id}"
    grant = issue_link(turn.case.id, offered, now=turn.now, ttl=rec.link_ttl, secret=rec.secret,
                       nonce_source=rec.nonce_source)  # fmt: skip
    turn.grants.append(GrantRecord(grant.nonce, turn.case.id, grant.actions, turn.now,
                                   grant.expires_at))  # fmt: skip
    return f"{base}/self-service/{grant.token}"


# -- saving a turn ---------------------------------------------------------------------------------


def _save(state: LadderState, turn: _Turn, *, uow: UnitOfWorkFactory, rec: Recovery,
          report: RecoveryReport) -> None:  # fmt: skip
    now, case_id = turn.now, turn.case.id
    with uow() as tx:
        case = tx.cases_by_id([case_id])[case_id]
        if case.version != turn.case.version:
            raise ConflictError(f"case {case_id} changed during its recovery turn")
        new = tx.add_attempts(turn.records)
        records = [r for r in turn.records if r.id in new]
        plans: list[CasePlan] = []
        costs = sum(
            (ACTION_COSTS.get(r.kind, Decimal(0)) for r in records if r.outcome in CHARGED),
            Decimal(0),
        )
        if costs and case.currency:
            case.handling_cost = (case.handling_cost or Decimal(0)) + costs
        if turn.chargeback and case.amount is not None and case.currency:
            money = Money(case.lost_amount or case.amount, case.currency)
            entry = postings_for(PostingKind.CHARGEBACK, money, case.id, now, rec.chart,
                                 key="source-outcome", memo=f"dispute {case.entity_key} lost",
                                 options=rec.ledger)  # fmt: skip
            post_journal(tx, [entry], rec.ledger, actor=ACTOR)
        if turn.write_off and case.is_open:
            plans.append(_write_off(tx, case, now, rec))
            report.written_off += 1
        elif turn.recovered is not None and case.is_open:
            plans.append(_recovered(tx, case, turn.recovered, now, rec))
            report.recovered += 1
            currency = turn.recovered.currency
            report.recovered_money[currency] = (
                report.recovered_money.get(currency, Decimal(0)) + turn.recovered.amount
            )
        elif turn.escalate is not None and case.is_open:
            plans.append(_escalated(case, turn.escalate, now))
            report.escalated += 1
        plan = merge(plans)
        plan.updated[case.id] = case
        kept = new | set(turn.notes)
        plan.timeline.extend(e for e in turn.timeline if e.data.get("attempt") in kept)
        tx.save_plan(plan, [])
        tx.add_messages(turn.messages)
        for grant in turn.grants:
            tx.add_grant(grant)
        tx.save_climbs([state], now)
        audit = [e for e in turn.audit if e.data.get("attempt") in kept]
        tx.append_audit([*audit, *plan.audit,
                         AuditEntry(now, ACTOR, "recovery.climb_saved", "case", case_id,
                                    {"status": state.status.value, "step": state.step_index,
                                     "attempts": state.attempts,
                                     "next_at": None if state.next_at is None
                                     else state.next_at.isoformat()})])  # fmt: skip
        tx.commit()


def _recovered(tx: Any, case: Case, money: Money, now: datetime, rec: Recovery) -> CasePlan:
    total = (case.recovered_amount or Decimal(0)) + money.amount
    return _resolve(tx, case, "recovered", f"recovered {money} by a retry", money, now, rec,
                    recovered_amount=str(total))  # fmt: skip


def _resolve(tx: Any, case: Case, resolution: str, reason: str, money: Money, now: datetime,
             rec: Recovery, **amounts: str) -> CasePlan:  # fmt: skip
    """Resolve through the writeback (the case waits for its confirmation) or at once."""
    payload: dict[str, Any] = {"outcome": resolution, "amount": str(money.amount),
                               "currency": money.currency, "case": case.id}  # fmt: skip
    if case.entity_kind in ("payment", "charge", "invoice", "order"):
        payload[{"payment": "payment_intent"}.get(case.entity_kind, case.entity_kind)] = (
            case.entity_key
        )
    if rec.resolve is not None:
        return rec.resolve(tx, case, resolution=resolution, reason=reason, now=now,
                           payload=payload, **amounts)  # fmt: skip
    for name, value in amounts.items():
        setattr(case, name, Decimal(value))
    return lifecycle.transition(case, CaseStatus.RESOLVED, reason=reason, actor=ACTOR, now=now,
                                resolution=resolution)  # fmt: skip


def _write_off(tx: Any, case: Case, now: datetime, rec: Recovery) -> CasePlan:
    """The policy wrote the money off (below the write-off threshold): post it to the ledger
    and resolve the case as written off, without climbing."""
    assert case.amount is not None
    assert case.currency is not None
    money = Money(case.amount, case.currency)
    entry = postings_for(PostingKind.WRITE_OFF, money, case.id, now, rec.chart, key="policy",
                         memo=f"{case.type} {case.entity_kind}:{case.entity_key}",
                         options=rec.ledger)  # fmt: skip
    post_journal(tx, [entry], rec.ledger, actor=ACTOR)
    return _resolve(tx, case, "written_off", f"written off by policy: {money} is below the "
                    "write-off threshold", money, now, rec,
                    written_off_amount=str(case.amount))  # fmt: skip


def _escalated(case: Case, reason: str, now: datetime) -> CasePlan:
    if case.status is CaseStatus.ESCALATED:
        return CasePlan()
    return lifecycle.transition(case, CaseStatus.ESCALATED, reason=reason, actor=ACTOR, now=now)
