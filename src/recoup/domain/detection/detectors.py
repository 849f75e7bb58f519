"""The first detectors. Each reads new events (and, when stateful, a window of recent ones) and
emits findings with their evidence. Detectors never touch storage: the ingest service loads the
window entries they ask for and stores the ones they add.

Detection is deterministic: events are handled in (occurred_at, id) order, so the same input
gives the same findings however it was batched.

Stateless rules (one event is enough evidence) take ``(event, detected_at)`` and return a
finding or None. Each declares the event types it reads; :class:`Detectors` turns that into a
dict from event type to rules on first use, so an event no rule cares about costs one lookup.
The rules beside the ones here live in ``rules_payments``, ``rules_bank``, ``rules_orders`` and
``rules_payables`` (imported when the dispatch is first built: they use the helpers of this
module).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from operator import attrgetter
from types import MappingProxyType
from typing import TypeVar

from recoup.domain.detection import rules_expected
from recoup.domain.detection.declines import FRAUD_REASONS, classify_decline
from recoup.domain.detection.duplicates import (
    DEFAULT_DUPLICATE_WINDOW as DEFAULT_DUPLICATE_WINDOW,
)
from recoup.domain.detection.duplicates import (
    DEFAULT_INVOICE_AMOUNT_WINDOW,
    DEFAULT_INVOICE_NUMBER_WINDOW,
    DEFAULT_ORDER_WINDOW,
    DuplicateInvoiceDetector,
    DuplicateOrderDetector,
    PairDetector,
)
from recoup.domain.detection.duplicates import DUPLICATE_CHARGE as DUPLICATE_CHARGE
from recoup.domain.detection.duplicates import (
    DuplicateChargeDetector as DuplicateChargeDetector,
)
from recoup.domain.detection.duplicates import WindowEntry as WindowEntry
from recoup.domain.detection.duplicates import WindowRequest as WindowRequest
from recoup.domain.detection.duplicates import WindowState as WindowState
from recoup.domain.detection.duplicates import duplicate_key as duplicate_key
from recoup.domain.detection.expectations import Expectation, ExpectationRule, Meet
from recoup.domain.detection.findings import Finding, finding_id
from recoup.domain.detection.taxonomy import Tier, finding_type
from recoup.domain.detection.timeline import (
    DEFAULT_HOPS,
    EntityGraph,
    EntityKey,
    TimelineDetector,
)
from recoup.domain.ingestion.event import Event
from recoup.domain.money import format_money

FAILED_PAYMENT_TYPES = frozenset(
    {"payment.failed", "invoice.payment_failed", "subscription.payment_failed"}
)
DISPUTE_TYPES = frozenset({"dispute.opened", "dispute.inquiry_opened"})
REFUND_FAILED_TYPES = frozenset({"refund.failed"})

# An order or authorisation at or above this amount pauses for a fraud review. About 5,000 in
# the major currencies; 750,000 JPY is the same order of magnitude. A currency that is not
# listed is never flagged: a threshold is not guessed through an exchange rate.
DEFAULT_HIGH_VALUE_THRESHOLDS: Mapping[str, Decimal] = MappingProxyType(
    {
        "EUR": Decimal(5000),
        "USD": Decimal(5000),
        "GBP": Decimal(5000),
        "JPY": Decimal(750_000),
    }
)

_T = TypeVar("_T")

# Gate marks never expire: a settled order stays settled.
GATE_START = datetime(1970, 1, 1, tzinfo=UTC)
GATE_END = datetime(9999, 12, 31, tzinfo=UTC)

StatelessRule = Callable[[Event, datetime], Finding | None]
"""A rule that needs one event: ``(event, detected_at) -> Finding | None``."""

RuleSpec = tuple[frozenset[str], StatelessRule]
"""A stateless rule and the event types it reads."""


@dataclass
class Detection:
    findings: list[Finding] = field(default_factory=list)
    window_entries: list[WindowEntry] = field(default_factory=list)
    expectations: list[Expectation] = field(default_factory=list)
    """Timers the batch opens (expected-but-missing)."""
    meets: list[Meet] = field(default_factory=list)
    """Pending timers the batch's events satisfy."""


@dataclass(frozen=True, slots=True)
class DetectionSettings:
    duplicate_window: timedelta = DEFAULT_DUPLICATE_WINDOW
    duplicate_order_window: timedelta = DEFAULT_ORDER_WINDOW
    duplicate_invoice_number_window: timedelta = DEFAULT_INVOICE_NUMBER_WINDOW
    duplicate_invoice_amount_window: timedelta = DEFAULT_INVOICE_AMOUNT_WINDOW
    high_value_thresholds: Mapping[str, Decimal] = field(
        default_factory=lambda: DEFAULT_HIGH_VALUE_THRESHOLDS
    )
    """Currency -> the amount at or above which an order or authorisation is reviewed."""
    payment_grace: timedelta = rules_expected.DEFAULT_PAYMENT_GRACE
    """missing_payment: how long past an invoice's due date before it fires."""
    settlement_grace: timedelta = rules_expected.DEFAULT_SETTLEMENT_GRACE
    """settlement_delayed: how long past a payout's arrival date before it fires."""
    sanctions: RuleSpec | None = None
    """sanctions_alert: ``SanctionsScreen(list, threshold).spec``; None (no list) turns it off."""
    fulfilment_sla: timedelta = rules_expected.DEFAULT_FULFILMENT_SLA
    """order_stalled: how long after payment an order must ship."""
    orphan_grace: timedelta = rules_expected.DEFAULT_ORPHAN_GRACE
    """orphan_payment: how long a payment may wait for an order or invoice to claim it."""
    bank_line_grace: timedelta = rules_expected.DEFAULT_BANK_LINE_GRACE
    """unmatched_bank_line: how long a referenced line may wait for its counterpart."""
    timeline_hops: int = DEFAULT_HOPS
    """How many identifier links a timeline follows from its entity."""
    retry_limits: Mapping[str, tuple[int, timedelta]] = field(
        default_factory=lambda: MappingProxyType(
            {
                "visa": (15, timedelta(days=30)),
                "mastercard": (10, timedelta(hours=24)),
                "other": (8, timedelta(days=30)),
            }
        )
    )
    """retry_exhausted: network -> (failed attempts, within); ``other`` for any network not
    listed."""
    amount_tolerance: Decimal = Decimal(0)
    """amount_mismatch: the absolute difference let through (0: exact to the minor unit)."""
    amount_tolerance_percent: Decimal = Decimal(0)
    """amount_mismatch: the difference let through as a percentage of the expected amount (the
    larger of the two tolerances applies)."""
    fee_tolerance_percent: Decimal = Decimal(2)
    """fee_mismatch: the largest shortfall read as a fee, as a percentage of the counterpart."""


def _entity(event: Event, *kinds: str) -> tuple[str, str]:
    for kind in kinds:
        value = getattr(event.refs, kind)
        if value is not None:
            return kind, value
    return "event", f"{event.source}:{event.external_id}"


def _money(event: Event) -> str:
    if event.amount is None or event.currency is None:
        return "an unknown amount"
    return format_money(event.amount, event.currency)


def _finding(
    event: Event,
    type_: str,
    entity: tuple[str, str],
    *,
    detected_at: datetime,
    summary: str,
    tier: Tier,
    evidence: tuple[str, ...] | None = None,
    exposure_key: str | None = None,
    detail: dict[str, object] | None = None,
) -> Finding:
    return Finding(
        id=finding_id(type_, event.event_id),
        type=type_,
        entity_kind=entity[0],
        entity_key=entity[1],
        occurred_at=event.occurred_at,
        detected_at=detected_at,
        trigger_event_id=event.event_id,
        evidence_event_ids=evidence or (event.event_id,),
        summary=summary,
        tier=tier,
        amount=event.amount,
        currency=event.currency,
        exposure_key=exposure_key or f"{entity[0]}:{entity[1]}",
        reason_code=event.reason_code,
        detail=dict(detail or {}),
    )


def default_tier(type_: str) -> Tier:
    """The taxonomy's tier for a finding type."""
    return finding_type(type_).tier


def detect_payment_failed(event: Event, detected_at: datetime) -> Finding | None:
    if event.type not in FAILED_PAYMENT_TYPES:
        return None
    decline = classify_decline(event.reason_code, event.attributes)
    if decline.normalized_reason in FRAUD_REASONS:
        tier = Tier.HUMAN
    elif decline.is_soft:
        tier = Tier.STRAIGHT_THROUGH
    else:
        tier = Tier.GUIDED
    entity = _entity(event, "payment", "charge", "invoice", "subscription")
    code = event.reason_code or "no reason code"
    return _finding(
        event,
        "payment_failed",
        entity,
        detected_at=detected_at,
        summary=f"{decline.decline_type} decline ({code}) of {_money(event)}",
        tier=tier,
        detail={
            "decline_type": decline.decline_type,
            "advice": decline.advice,
            "normalized_reason": decline.normalized_reason,
        },
    )


def detect_dispute_opened(event: Event, detected_at: datetime) -> Finding | None:
    if event.type == "dispute.opened":
        type_, tier, what = "dispute_opened", Tier.HUMAN, "dispute"
    elif event.type == "dispute.inquiry_opened":
        type_, tier, what = "inquiry_opened", Tier.GUIDED, "inquiry"
    else:
        return None
    entity = _entity(event, "dispute", "charge", "payment")
    code = event.reason_code or "no reason code"
    return _finding(
        event,
        type_,
        entity,
        detected_at=detected_at,
        summary=f"{what} opened ({code}) for {_money(event)}",
        tier=tier,
        exposure_key=f"payment:{event.refs.payment or event.refs.charge or entity[1]}",
        detail={"evidence_due_by": event.attributes.get("evidence_due_by")},
    )


def detect_refund_failed(event: Event, detected_at: datetime) -> Finding | None:
    if event.type != "refund.failed":
        return None
    entity = _entity(event, "refund", "charge", "payment")
    code = event.reason_code or "no reason code"
    return _finding(
        event,
        "refund_failed",
        entity,
        detected_at=detected_at,
        summary=f"refund of {_money(event)} failed ({code})",
        tier=Tier.GUIDED,
    )


def stateless_rules(settings: DetectionSettings) -> list[RuleSpec]:
    """Every stateless rule with the event types it reads, in the order they run on an event."""
    from recoup.domain.detection import rules_bank, rules_orders, rules_payables, rules_payments

    return [
        (FAILED_PAYMENT_TYPES, detect_payment_failed),
        (DISPUTE_TYPES, detect_dispute_opened),
        (REFUND_FAILED_TYPES, detect_refund_failed),
        *rules_payments.rules(),
        *rules_bank.rules(),
        *rules_orders.rules(settings.high_value_thresholds),
        *rules_payables.rules(),
        *([settings.sanctions] if settings.sanctions is not None else []),
    ]


def dispatch_table(specs: Iterable[RuleSpec]) -> dict[str, tuple[StatelessRule, ...]]:
    """Event type -> the rules that read it, each list in the order of ``specs``."""
    table: dict[str, list[StatelessRule]] = {}
    for types, rule in specs:
        for type_ in sorted(types):
            table.setdefault(type_, []).append(rule)
    return {type_: tuple(rules) for type_, rules in table.items()}


class Detectors:
    """Every detector, run over a batch of new events."""

    def __init__(self, settings: DetectionSettings | None = None) -> None:
        self.settings = settings or DetectionSettings()
        self.duplicate = DuplicateChargeDetector(self.settings.duplicate_window)
        self.duplicate_order = DuplicateOrderDetector(self.settings.duplicate_order_window)
        self.duplicate_invoice = DuplicateInvoiceDetector(
            self.settings.duplicate_invoice_number_window,
            self.settings.duplicate_invoice_amount_window,
        )
        self.stateful: tuple[PairDetector, ...] = (
            self.duplicate,
            self.duplicate_invoice,
            self.duplicate_order,
        )
        # Event type -> the stateful detectors that read it, so other events cost one lookup.
        self._stateful_for: dict[str, tuple[PairDetector, ...]] = {}
        for detector in self.stateful:
            for type_ in sorted(detector.types):
                self._stateful_for[type_] = (*self._stateful_for.get(type_, ()), detector)
        self._dispatch: dict[str, tuple[StatelessRule, ...]] | None = None
        self._handlers_by_type: dict[str, _Handlers] | None = None
        self.expectation_rules: tuple[ExpectationRule, ...] = tuple(
            rules_expected.rules(
                payment_grace=self.settings.payment_grace,
                settlement_grace=self.settings.settlement_grace,
                fulfilment_sla=self.settings.fulfilment_sla,
                orphan_grace=self.settings.orphan_grace,
                bank_line_grace=self.settings.bank_line_grace,
            )
        )
        self._rule_by_name = {rule.name: rule for rule in self.expectation_rules}
        self._opens_for = _by_type((r.opens, r) for r in self.expectation_rules)
        self._meets_for = _by_type((r.meets, r) for r in self.expectation_rules)
        self._meets_any = tuple(r for r in self.expectation_rules if "*" in r.meets)
        self.timeline_detectors: tuple[TimelineDetector, ...] = tuple(
            timeline_detectors(self.settings)
        )
        self._timeline_for = _by_type((d.types, d) for d in self.timeline_detectors)

    @property
    def dispatch(self) -> dict[str, tuple[StatelessRule, ...]]:
        """Event type -> stateless rules; built on first use, then kept."""
        if self._dispatch is None:
            self._dispatch = dispatch_table(stateless_rules(self.settings))
        return self._dispatch

    def _handlers(self) -> dict[str, _Handlers]:
        """Event type -> everything ``run`` calls on an event of that type, in the order it
        calls them (built with the dispatch, then kept: one lookup per event)."""
        if self._handlers_by_type is None:
            dispatch = self.dispatch
            types = {*dispatch, *self._stateful_for, *self._timeline_for, *self._opens_for,
                     *self._meets_for}  # fmt: skip
            self._handlers_by_type = {
                type_: (
                    dispatch.get(type_, ()),
                    self._stateful_for.get(type_, ()),
                    self._timeline_for.get(type_, ()),
                    self._opens_for.get(type_, ()),
                    (*self._meets_for.get(type_, ()), *self._meets_any),
                )
                for type_ in types
            }
        return self._handlers_by_type

    def expectation_rule(self, name: str) -> ExpectationRule | None:
        return self._rule_by_name.get(name)

    def plan_timelines(
        self, events: Sequence[Event], state: WindowState | None = None
    ) -> TimelinePlan:
        """Which timeline detectors read which events, and the entities whose timelines they
        need. A detector that gates an event (``TimelineDetector.waits_on``) reads it only
        when the gate is open in ``state`` (loaded by ``window_requests``, marked by ``run``)."""
        plan = TimelinePlan()
        timeline_for = self._timeline_for.get
        for event in sorted(events, key=time_order):
            for detector in timeline_for(event.type, ()):
                if not _gate_open(detector, event, state):
                    continue
                anchors = detector.anchors(event)
                if anchors:
                    plan.reads.append((event, detector, anchors))
                    plan.anchors.update(anchors)
        return plan

    def run_timelines(
        self, plan: TimelinePlan, graph: EntityGraph, detected_at: datetime
    ) -> list[Finding]:
        """The timeline detectors of ``plan``, reading the loaded ``graph``."""
        out: list[Finding] = []
        hops = self.settings.timeline_hops
        for event, detector, anchors in plan.reads:
            timelines = [graph.timeline(kind, key, hops) for kind, key in anchors]
            out.extend(detector.evaluate(event, timelines, detected_at))
        return out

    def window_requests(self, events: Sequence[Event]) -> list[WindowRequest]:
        requests = [r for detector in self.stateful for r in detector.requests(events)]
        gates: set[tuple[str, str]] = set()
        timeline_for = self._timeline_for.get
        for event in events:
            for detector in timeline_for(event.type, ()):
                waits = detector.waits_on(event)
                if waits is not None:
                    gates.update((detector.gate, key) for key in waits)
        requests.extend(WindowRequest(gate, key, GATE_START, GATE_END) for gate, key in gates)
        return requests

    def run(self, events: Sequence[Event], state: WindowState, detected_at: datetime) -> Detection:
        out = Detection()
        handlers_for = self._handlers().get
        nothing: _Handlers = ((), (), (), (), self._meets_any)
        findings_out, entries_out = out.findings, out.window_entries
        for event in sorted(events, key=time_order):
            rules, stateful, readers, openers, meeters = handlers_for(event.type, nothing)
            for rule in rules:
                finding = rule(event, detected_at)
                if finding is not None:
                    findings_out.append(finding)
            for detector in stateful:
                findings, entries = detector.observe(event, state, detected_at)
                findings_out.extend(findings)
                entries_out.extend(entries)
            for reader in readers:
                for key in reader.marks(event):
                    mark = WindowEntry(reader.gate, key, event.event_id, event.occurred_at, "")
                    state.add(mark)
                    entries_out.append(mark)
            for opener in openers:
                expectation = opener.expect(event)
                if expectation is not None:
                    out.expectations.append(expectation)
            for meeter in meeters:
                for kind, key in meeter.met_keys(event):
                    out.meets.append(
                        Meet(meeter.name, kind, key, event.event_id, event.occurred_at)
                    )
        return out


_Handlers = tuple[
    tuple[StatelessRule, ...],
    tuple[PairDetector, ...],
    tuple[TimelineDetector, ...],
    tuple[ExpectationRule, ...],
    tuple[ExpectationRule, ...],
]
"""What ``Detectors.run`` calls on an event of one type: stateless rules, stateful detectors,
gate markers, timer openers and timer meeters."""


time_order: Callable[[Event], tuple[datetime, str]] = attrgetter("occurred_at", "id")
"""The order detectors handle (normalised) events in: (occurred_at, id)."""


@dataclass
class TimelinePlan:
    """The (event, detector, anchors) reads of a batch, in event order, and every anchor."""

    reads: list[tuple[Event, TimelineDetector, list[EntityKey]]] = field(default_factory=list)
    anchors: set[EntityKey] = field(default_factory=set)


def _gate_open(detector: TimelineDetector, event: Event, state: WindowState | None) -> bool:
    waits = detector.waits_on(event)
    if waits is None or state is None:
        return True
    need = detector.gate_threshold
    return any(len(state.get(detector.gate, key)) >= need for key in waits)


def _by_type(specs: Iterable[tuple[frozenset[str], _T]]) -> dict[str, tuple[_T, ...]]:
    """Event type -> the detectors that read it ("*" entries are left to the caller)."""
    table: dict[str, tuple[_T, ...]] = {}
    for types, item in specs:
        for type_ in sorted(types - {"*"}):
            table[type_] = (*table.get(type_, ()), item)
    return table


def timeline_detectors(settings: DetectionSettings) -> list[TimelineDetector]:
    """Every detector that reads entity timelines, in the order they run on an event."""
    from recoup.domain.detection import (
        rules_timeline_bank,
        rules_timeline_orders,
        rules_timeline_payables,
        rules_timeline_payments,
    )

    return [
        *rules_timeline_payments.detectors(settings),
        *rules_timeline_bank.detectors(settings),
        *rules_timeline_orders.detectors(),
        *rules_timeline_payables.detectors(),
    ]
