"""The recovery ladder: a finding type's ordered plan of steps, and the pure machine that climbs it.

A case climbs and stops at the first rung that finishes it safely:

    retry -> reduce (narrower, policy-eligible options) -> channel (another way, a better time)
        -> request_input (the one missing thing, with a timer) -> escalate (a person, full history)

The machine never performs anything. Each function takes the ladder's spec and state and returns
the next state and the :class:`Action` values to perform (through the outbox, with the action's
idempotency key). A service stores the state, the actions and a timer at ``state.next_at``
whenever it is set, and calls :func:`on_due` when the timer fires, :func:`on_outcome` when an
action reports back, :func:`defer` when an action may not run yet (quiet hours, a contact cap),
:func:`on_signal` when something outside the ladder happens to the case (a stop condition) and
:func:`intervene` when the customer or a person moves it.

Invariants, each kept by every function here:

- one budget for the whole climb: at most ``max_attempts`` steps run (an escalation to a person
  is a hand-off, not an attempt) and none starts after ``max_days`` from the start;
- every transition appends to ``history``; a step passed over gets a ``skipped`` entry saying why;
- a paused case (policy ``pauses_automation``) only escalates, except a ``request_input`` step
  marked ``while_paused``: it only gathers information and changes no record;
- the same inputs give the same state and actions, idempotency keys included.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from recoup.domain.errors import ConflictError, InvalidInputError

ParamValue = str | tuple[str, ...]
"""A step parameter: a name or text, or (``actions``) a list of names."""


class StepKind(StrEnum):
    RETRY = "retry"
    """retry the operation with fresh context"""
    REDUCE = "reduce"
    """offer a narrower set of policy-eligible actions (``actions``)"""
    CHANNEL = "channel"
    """contact through another channel (``channel``), at a better time (the step's ``wait``)"""
    REQUEST_INPUT = "request_input"
    """ask for the one missing thing (``input``) and wait up to ``timeout``"""
    ESCALATE = "escalate"
    """hand the case to a person with the full history; ends the climb"""


class LadderStatus(StrEnum):
    CLIMBING = "climbing"
    WAITING_INPUT = "waiting_input"
    STOPPED = "stopped"
    EXHAUSTED = "exhausted"
    ESCALATED = "escalated"


FINISHED = frozenset({LadderStatus.STOPPED, LadderStatus.EXHAUSTED, LadderStatus.ESCALATED})


class OutcomeKind(StrEnum):
    """What happened when a step ran."""

    SUCCEEDED = "succeeded"
    """the step finished the recovery (the retry collected, the customer took an option)"""
    FAILED = "failed"
    """it ran and did not finish it (a declined retry, a bounced message)"""
    NO_ANSWER = "no_answer"
    """it ran (the message went out) and nothing has finished the case yet"""
    INPUT_RECEIVED = "input_received"
    """the customer gave what was asked for"""
    NOT_ELIGIBLE = "not_eligible"
    """it could not run for this case (no channel on file, a hard decline, policy forbids it)"""


class Intervention(StrEnum):
    """A move from outside the timers: the customer's self-service choice or a person's."""

    RETRY_NOW = "retry_now"
    INPUT_RECEIVED = "input_received"
    STOP = "stop"
    ESCALATE = "escalate"


class HistoryEvent(StrEnum):
    STARTED = "started"
    SCHEDULED = "scheduled"
    RAN = "ran"
    OUTCOME = "outcome"
    TIMED_OUT = "timed_out"
    INPUT_RECEIVED = "input_received"
    SKIPPED = "skipped"
    STOPPED = "stopped"
    EXHAUSTED = "exhausted"
    ESCALATED = "escalated"


STOP_SIGNALS = ("succeeded", "recovered", "customer_replied", "disputed", "case_resolved", "paused")
"""What may stop a climb. ``succeeded`` (a step succeeded) always does; the others stop a ladder
that lists them in ``stop_on``."""

PAUSED_REASON = "paused by policy: only escalation is allowed"
DEFAULT_LADDER = "default"
"""The ladder of any type without its own."""

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_TEXT_PARAMS = frozenset({"template", "note"})
_NAME_PARAMS = frozenset({"channel", "input"})
# kind -> (required params, optional params)
PARAMS: dict[StepKind, tuple[frozenset[str], frozenset[str]]] = {
    StepKind.RETRY: (frozenset(), frozenset({"note"})),
    StepKind.REDUCE: (frozenset({"actions"}), frozenset({"channel", "template", "note"})),
    StepKind.CHANNEL: (frozenset({"channel"}), frozenset({"template", "actions", "note"})),
    StepKind.REQUEST_INPUT: (
        frozenset({"input"}),
        frozenset({"channel", "template", "actions", "note"}),
    ),
    StepKind.ESCALATE: (frozenset(), frozenset({"note"})),
}


def _param_problem(name: str, value: object) -> str | None:
    if name == "actions":
        if (
            not isinstance(value, tuple)
            or not value
            or not all(isinstance(v, str) and _NAME.match(v) for v in value)
        ):
            return "param 'actions' must be a non-empty list of action names"
    elif name in _NAME_PARAMS:
        if not isinstance(value, str) or not _NAME.match(value):
            return f"param {name!r} must be a lowercase name (letters, digits, _)"
    elif not isinstance(value, str) or not value.strip():
        return f"param {name!r} must be non-empty text"
    return None


def step_problem(step: Step) -> str | None:
    """The first thing wrong with a step, in words, or None."""
    required, optional = PARAMS[step.kind]
    if step.wait < timedelta(0):
        return "wait must not be negative"
    if step.kind is StepKind.REQUEST_INPUT:
        if step.timeout is None or step.timeout <= timedelta(0):
            return "a request_input step needs a positive timeout"
    elif step.timeout is not None:
        return f"timeout is only for request_input steps, not {step.kind}"
    if step.repeat < 1:
        return "repeat must be at least 1"
    if step.repeat > 1 and step.kind is not StepKind.RETRY:
        return f"only a retry step repeats, not {step.kind}"
    if step.while_paused and step.kind is not StepKind.REQUEST_INPUT:
        return "while_paused is only for request_input steps (they only gather information)"
    for name in sorted(required - set(step.params)):
        return f"a {step.kind} step needs param {name!r}"
    for name, value in step.params.items():
        if name not in required | optional:
            allowed = ", ".join(sorted(required | optional)) or "none"
            return f"unknown param {name!r} for a {step.kind} step; allowed: {allowed}"
        problem = _param_problem(name, value)
        if problem:
            return problem
    return None


@dataclass(frozen=True, slots=True)
class Step:
    """One rung. ``wait`` runs from the end of the previous step (or the start, or the previous
    run of a repeating retry) to this one; ``repeat`` runs a retry step up to that many times
    while the budget lasts."""

    kind: StepKind
    wait: timedelta = timedelta(0)
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    timeout: timedelta | None = None
    repeat: int = 1
    while_paused: bool = False

    def __post_init__(self) -> None:
        problem = step_problem(self)
        if problem:
            raise InvalidInputError(problem)


@dataclass(frozen=True, slots=True)
class Budget:
    max_attempts: int
    max_days: int

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.max_days < 1:
            raise InvalidInputError("a ladder budget needs max_attempts >= 1 and max_days >= 1")

    @property
    def duration(self) -> timedelta:
        return timedelta(days=self.max_days)


@dataclass(frozen=True, slots=True)
class LadderSpec:
    """The plan for one finding type (or ``default``). An ``escalate`` step may only come last:
    nothing runs after a hand-off."""

    type: str
    steps: tuple[Step, ...]
    budget: Budget
    stop_on: frozenset[str] = frozenset({"succeeded"})
    escalate_when_exhausted: bool = True

    def __post_init__(self) -> None:
        if not self.steps:
            raise InvalidInputError(f"ladder {self.type}: needs at least one step")
        for number, step in enumerate(self.steps[:-1], 1):
            if step.kind is StepKind.ESCALATE:
                raise InvalidInputError(
                    f"ladder {self.type}, step {number}: escalate ends the climb; "
                    "it must be the last step"
                )
        unknown = sorted(self.stop_on - set(STOP_SIGNALS))
        if unknown:
            raise InvalidInputError(
                f"ladder {self.type}: unknown stop condition {unknown[0]!r}; "
                f"known: {', '.join(STOP_SIGNALS)}"
            )


def fallback_ladder() -> LadderSpec:
    """When nothing else applies: a person looks at once."""
    return LadderSpec(DEFAULT_LADDER, (Step(StepKind.ESCALATE),), Budget(1, 30))


def ladder_for(ladders: Mapping[str, LadderSpec], finding_type: str) -> LadderSpec:
    """The type's own ladder, else the ``default`` one, else :func:`fallback_ladder`."""
    found = ladders.get(finding_type) or ladders.get(DEFAULT_LADDER)
    return found if found is not None else fallback_ladder()


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """What happened when the action with ``key`` (its idempotency key) ran."""

    kind: OutcomeKind
    key: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Action:
    """One step to perform now. ``step_index`` may equal the number of steps: the escalation a
    ladder without an escalate step makes when it is exhausted or paused."""

    case_id: str
    kind: StepKind
    step_index: int
    params: Mapping[str, ParamValue]
    due_at: datetime
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    at: datetime
    event: HistoryEvent
    step_index: int
    attempt: int
    detail: str
    key: str | None = None


@dataclass(frozen=True, slots=True)
class LadderState:
    """Where a case is on its ladder. ``next_at`` is when :func:`on_due` should be called (the
    next step, or the end of an input window); None while an action is out or once finished.
    ``pending_key`` is the idempotency key of the action whose outcome is awaited."""

    case_id: str
    ladder: str
    step_index: int
    attempts: int
    started_at: datetime
    next_at: datetime | None
    status: LadderStatus
    history: tuple[HistoryEntry, ...] = ()
    step_runs: int = 0
    pending_key: str | None = None

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED


Result = tuple[LadderState, list[Action]]


def idempotency_key(case_id: str, step_index: int, attempt: int) -> str:
    return f"ladder:{case_id}:{step_index}:{attempt}"


def _aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise InvalidInputError(f"time {now.isoformat()} must be timezone-aware (UTC)")


def _check(spec: LadderSpec, state: LadderState, now: datetime) -> None:
    _aware(now)
    if state.ladder != spec.type:
        raise ConflictError(f"case {state.case_id} climbs ladder {state.ladder}, not {spec.type}")


def _log(state: LadderState, now: datetime, event: HistoryEvent, detail: str, *,
         step_index: int | None = None, key: str | None = None) -> LadderState:  # fmt: skip
    index = state.step_index if step_index is None else step_index
    entry = HistoryEntry(now, event, index, state.attempts, detail, key)
    return replace(state, history=(*state.history, entry))


def _label(spec: LadderSpec, index: int) -> str:
    kind = spec.steps[index].kind if index < len(spec.steps) else StepKind.ESCALATE
    return f"step {index + 1} ({kind})"


def _deadline(spec: LadderSpec, state: LadderState) -> datetime:
    return state.started_at + spec.budget.duration


def _runs_while_paused(step: Step) -> bool:
    return step.kind is StepKind.ESCALATE or step.while_paused


def _skip(spec: LadderSpec, state: LadderState, now: datetime, first: int, last: int,
          reason: str) -> LadderState:  # fmt: skip
    for index in range(first, min(last, len(spec.steps))):
        state = _log(state, now, HistoryEvent.SKIPPED, f"{_label(spec, index)}: {reason}",
                     step_index=index)  # fmt: skip
    return state


def _stop(state: LadderState, now: datetime, reason: str) -> Result:
    state = replace(state, status=LadderStatus.STOPPED, next_at=None, pending_key=None)
    return _log(state, now, HistoryEvent.STOPPED, reason), []


def _escalate(spec: LadderSpec, state: LadderState, now: datetime, reason: str,
              first_unrun: int) -> Result:  # fmt: skip
    last = len(spec.steps) - 1
    target = last if spec.steps[last].kind is StepKind.ESCALATE else len(spec.steps)
    state = _skip(spec, state, now, first_unrun, target, reason)
    key = idempotency_key(state.case_id, target, state.attempts + 1)
    params: dict[str, ParamValue] = dict(spec.steps[target].params) if target <= last else {}
    params["reason"] = reason
    action = Action(state.case_id, StepKind.ESCALATE, target, params, now, key)
    state = replace(state, step_index=target, step_runs=0, status=LadderStatus.ESCALATED,
                    next_at=None, pending_key=None)  # fmt: skip
    return _log(state, now, HistoryEvent.ESCALATED, reason, key=key), [action]


def _exhaust(spec: LadderSpec, state: LadderState, now: datetime, reason: str,
             first_unrun: int) -> Result:  # fmt: skip
    state = _log(state, now, HistoryEvent.EXHAUSTED, reason,
                 step_index=min(first_unrun, len(spec.steps)))  # fmt: skip
    if spec.escalate_when_exhausted:
        return _escalate(spec, state, now, f"ladder exhausted: {reason}", first_unrun)
    state = _skip(spec, state, now, first_unrun, len(spec.steps), f"ladder exhausted: {reason}")
    state = replace(state, status=LadderStatus.EXHAUSTED, next_at=None, pending_key=None)
    return state, []


def _schedule(spec: LadderSpec, state: LadderState, index: int, now: datetime, *,
              paused: bool, runs: int = 0, note: str = "",
              at: datetime | None = None) -> Result:  # fmt: skip
    """Put step ``index`` on the timer after its wait, or ``at`` (run it now when due)."""
    if index >= len(spec.steps):
        return _exhaust(spec, state, now, "no steps left", index)
    step = spec.steps[index]
    if paused and not _runs_while_paused(step):
        return _escalate(spec, state, now, PAUSED_REASON, index)
    due = now + step.wait if at is None else at
    if step.kind is not StepKind.ESCALATE:
        if state.attempts >= spec.budget.max_attempts:
            return _exhaust(spec, state, now,
                            f"all {spec.budget.max_attempts} attempts used", index)  # fmt: skip
        if due > _deadline(spec, state):
            return _exhaust(spec, state, now,
                            f"{_label(spec, index)} would start at {due.isoformat()}, after the "
                            f"{spec.budget.max_days}-day budget ends", index)  # fmt: skip
    state = replace(state, step_index=index, step_runs=runs, next_at=due,
                    status=LadderStatus.CLIMBING, pending_key=None)  # fmt: skip
    state = _log(state, now, HistoryEvent.SCHEDULED,
                 f"{_label(spec, index)} due at {due.isoformat()}{note}")  # fmt: skip
    if due <= now:
        return on_due(spec, state, now, paused=paused)
    return state, []


def start(spec: LadderSpec, case_id: str, now: datetime, *, paused: bool = False) -> Result:
    """Begin the climb: the first step goes on the timer (or runs now when it has no wait)."""
    _aware(now)
    if not case_id.strip():
        raise InvalidInputError("a ladder needs a case id")
    state = LadderState(case_id, spec.type, 0, 0, now, None, LadderStatus.CLIMBING)
    budget = spec.budget
    state = _log(state, now, HistoryEvent.STARTED,
                 f"ladder {spec.type}: {len(spec.steps)} steps, budget {budget.max_attempts} "
                 f"attempts within {budget.max_days} days")  # fmt: skip
    return _schedule(spec, state, 0, now, paused=paused)


def on_due(spec: LadderSpec, state: LadderState, now: datetime, *, paused: bool = False) -> Result:
    """A timer fired: run the current step (or end its input window). A timer that is early,
    repeated, or for a finished ladder changes nothing."""
    _check(spec, state, now)
    if state.is_finished or state.next_at is None or now < state.next_at:
        return state, []
    index = state.step_index
    if state.status is LadderStatus.WAITING_INPUT:
        step = spec.steps[index]
        state = _log(state, now, HistoryEvent.TIMED_OUT,
                     f"{_label(spec, index)}: no {step.params['input']} within {step.timeout}",
                     key=state.pending_key)  # fmt: skip
        return _schedule(spec, replace(state, pending_key=None), index + 1, now, paused=paused)
    step = spec.steps[index]
    if paused and not _runs_while_paused(step):
        return _escalate(spec, state, now, PAUSED_REASON, index)
    if step.kind is StepKind.ESCALATE:
        note = step.params.get("note")
        reason = note if isinstance(note, str) else "the ladder hands the case to a person"
        return _escalate(spec, state, now, reason, index)
    if state.attempts >= spec.budget.max_attempts:
        return _exhaust(spec, state, now, f"all {spec.budget.max_attempts} attempts used", index)
    if now > _deadline(spec, state):
        return _exhaust(spec, state, now,
                        f"the {spec.budget.max_days}-day budget ended before "
                        f"{_label(spec, index)} could run", index)  # fmt: skip
    attempt = state.attempts + 1
    key = idempotency_key(state.case_id, index, attempt)
    action = Action(state.case_id, step.kind, index, dict(step.params), now, key)
    waiting = step.kind is StepKind.REQUEST_INPUT
    state = replace(
        state,
        attempts=attempt,
        step_runs=state.step_runs + 1,
        pending_key=key,
        status=LadderStatus.WAITING_INPUT if waiting else LadderStatus.CLIMBING,
        next_at=now + step.timeout if waiting and step.timeout else None,
    )
    runs = f" (run {state.step_runs} of {step.repeat})" if step.repeat > 1 else ""
    return _log(state, now, HistoryEvent.RAN, f"{_label(spec, index)}{runs}", key=key), [action]


def _has(state: LadderState, event: HistoryEvent, key: str) -> bool:
    return any(e.event is event and e.key == key for e in state.history)


def on_outcome(spec: LadderSpec, state: LadderState, outcome: StepOutcome, now: datetime, *,
               paused: bool = False) -> Result:  # fmt: skip
    """An action reported back: stop on success, repeat a failed retry while it may, else go on
    to the next step after its wait. A repeated report is a no-op; a late one (the ladder moved
    on) is recorded and changes nothing; one for an action never run is a ``ConflictError``."""
    _check(spec, state, now)
    if _has(state, HistoryEvent.OUTCOME, outcome.key):
        return state, []
    if not _has(state, HistoryEvent.RAN, outcome.key):
        raise ConflictError(f"case {state.case_id}: no ladder step ran as {outcome.key}")
    detail = f"{outcome.kind}" + (f": {outcome.detail}" if outcome.detail else "")
    if outcome.key != state.pending_key:
        late = _log(state, now, HistoryEvent.OUTCOME, f"{detail} (late: the ladder moved on)",
                    key=outcome.key)  # fmt: skip
        return late, []
    index = state.step_index
    state = _log(replace(state, pending_key=None), now, HistoryEvent.OUTCOME,
                 f"{_label(spec, index)}: {detail}", key=outcome.key)  # fmt: skip
    step = spec.steps[index]
    if outcome.kind is OutcomeKind.SUCCEEDED:
        return _stop(state, now, f"{_label(spec, index)} succeeded")
    if (outcome.kind is OutcomeKind.FAILED and step.kind is StepKind.RETRY
            and state.step_runs < step.repeat):  # fmt: skip
        return _schedule(spec, state, index, now, paused=paused, runs=state.step_runs,
                         note=f" (repeat {state.step_runs + 1} of {step.repeat})")  # fmt: skip
    return _schedule(spec, state, index + 1, now, paused=paused)


def on_signal(spec: LadderSpec, state: LadderState, signal: str, now: datetime) -> Result:
    """Something happened to the case outside the ladder. A stop condition of this ladder stops
    it; any other known signal changes nothing."""
    _check(spec, state, now)
    if signal not in STOP_SIGNALS:
        raise InvalidInputError(f"unknown signal {signal!r}; known: {', '.join(STOP_SIGNALS)}")
    if state.is_finished or (signal not in spec.stop_on and signal != "succeeded"):
        return state, []
    return _stop(state, now, f"stop condition: {signal}")


def defer(spec: LadderSpec, state: LadderState, key: str, until: datetime, now: datetime, *,
          reason: str, paused: bool = False) -> Result:  # fmt: skip
    """The action ``key`` may not run before ``until`` (quiet hours, a contact cap, a network's
    retry window): the same step goes back on the timer for then. The attempt still counts
    against the budget (its idempotency key is spent); a time past the budget exhausts it."""
    _check(spec, state, now)
    _aware(until)
    if key != state.pending_key:
        raise ConflictError(f"case {state.case_id}: {key} is not the action awaited")
    index = state.step_index
    state = _log(replace(state, pending_key=None), now, HistoryEvent.OUTCOME,
                 f"{_label(spec, index)}: deferred to {until.isoformat()}: {reason}",
                 key=key)  # fmt: skip
    return _schedule(spec, state, index, now, paused=paused, runs=state.step_runs - 1,
                     note=f" (deferred: {reason})", at=max(until, now))  # fmt: skip


def _next_retry(spec: LadderSpec, first: int) -> int | None:
    for index in range(first, len(spec.steps)):
        if spec.steps[index].kind is StepKind.RETRY:
            return index
    return None


def intervene(spec: LadderSpec, state: LadderState, intervention: Intervention, now: datetime,
              *, reason: str, paused: bool = False) -> Result:  # fmt: skip
    """The customer (through a self-service link) or a person moves the ladder:

    - ``retry_now``: run the next retry step now; steps before it are skipped, recorded;
    - ``input_received``: the awaited input arrived; the ladder goes on to its next step
      (with nothing awaited it is only recorded);
    - ``stop``: the climb ends here (an option was taken, a person took over);
    - ``escalate``: hand to a person now.

    A finished ladder refuses with ``ConflictError``; the budget and the pause still apply."""
    _check(spec, state, now)
    reason = reason.strip() or str(intervention)
    if state.is_finished:
        raise ConflictError(
            f"case {state.case_id}: the ladder is {state.status}; {intervention} cannot apply"
        )
    pending = state.pending_key
    first_unrun = state.step_index + 1 if pending else state.step_index
    if intervention is Intervention.STOP:
        return _stop(state, now, reason)
    if intervention is Intervention.ESCALATE:
        return _escalate(spec, state, now, reason, first_unrun)
    if intervention is Intervention.INPUT_RECEIVED:
        if state.status is LadderStatus.WAITING_INPUT and pending:
            outcome = StepOutcome(OutcomeKind.INPUT_RECEIVED, pending, reason)
            return on_outcome(spec, state, outcome, now, paused=paused)
        return _log(state, now, HistoryEvent.INPUT_RECEIVED, reason), []
    target = _next_retry(spec, first_unrun)
    if target is None:
        raise ConflictError(f"case {state.case_id}: ladder {spec.type} has no retry step left")
    if pending:
        state = _log(state, now, HistoryEvent.OUTCOME,
                     f"{_label(spec, state.step_index)}: {OutcomeKind.INPUT_RECEIVED}: {reason}",
                     key=pending)  # fmt: skip
    state = _skip(spec, replace(state, pending_key=None), now, first_unrun, target,
                  f"retry asked for now: {reason}")  # fmt: skip
    runs = state.step_runs if target == state.step_index else 0
    state = replace(state, step_index=target, step_runs=runs, next_at=now,
                    status=LadderStatus.CLIMBING)  # fmt: skip
    state = _log(state, now, HistoryEvent.SCHEDULED, f"{_label(spec, target)} now: {reason}")
    return on_due(spec, state, now, paused=paused)


__all__ = [
    "DEFAULT_LADDER",
    "FINISHED",
    "PARAMS",
    "PAUSED_REASON",
    "STOP_SIGNALS",
    "Action",
    "Budget",
    "HistoryEntry",
    "HistoryEvent",
    "Intervention",
    "LadderSpec",
    "LadderState",
    "LadderStatus",
    "OutcomeKind",
    "ParamValue",
    "Result",
    "Step",
    "StepKind",
    "StepOutcome",
    "defer",
    "fallback_ladder",
    "idempotency_key",
    "intervene",
    "ladder_for",
    "on_due",
    "on_outcome",
    "on_signal",
    "start",
    "step_problem",
]
