"""Correlation: the entity graph that links events across sources and formats, and the timeline
detectors that read it.

Every event names the entities it is about in its refs (a charge names its payment intent and
invoice, a refund its charge, a pacs.002 status its end-to-end id, an ACH return its trace
number), and ingest indexes each (kind, key) pair in ``entity_links``. Two events are *linked*
when they share a transaction identifier; an entity's **timeline** is every event reachable from
it through such links, in time order. So a dispute (refs dispute + charge) reaches the charge
(refs charge + payment + invoice), which reaches the invoice and its order: payment intent,
charge, invoice, order, refund, dispute and payout, or credit transfer, status report, return
and statement line, end up on one timeline.

Only identifiers of one business transaction are followed (:data:`LINK_KINDS`). A customer, a
supplier, a bank account or a subscription names hundreds of unrelated transactions: they are
loaded when a detector asks for them directly (an anchor) but never walked through, so one busy
customer cannot pull the whole store into a batch. Payouts are anchors only for the same reason
(one payout settles a day of charges).

Timeline detectors are deterministic whatever the arrival order: they evaluate the whole
timeline known at the time (which includes the batch at hand) and derive the finding's id from
what crossed the line, so evaluating again later, or from the other side of a pair, gives the
same finding, which the store keeps once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from recoup.domain.detection.findings import Finding
from recoup.domain.ingestion.event import Event

LINK_KINDS: frozenset[str] = frozenset(
    {
        "payment",
        "charge",
        "order",
        "invoice",
        "refund",
        "dispute",
        "end_to_end",
        "instruction",
        "uetr",
        "ach_trace",
        "bank_transaction",
    }
)
"""Ref kinds that identify one transaction, and so link the events that carry them."""

DEFAULT_HOPS = 2
"""How many links a timeline follows from its anchor: a refund reaches its charge (1) and the
charge's invoice or order (2)."""

DEFAULT_TIMELINE_LIMIT = 500
"""The most events one timeline load returns; past this a timeline is truncated (the oldest
links first are kept) and the detectors see what was loaded."""

EntityKey = tuple[str, str]


def link_keys(event: Event) -> list[EntityKey]:
    """The (kind, key) pairs of ``event`` that link it to other events."""
    return [(kind, key) for kind, key in event.refs.items() if kind in LINK_KINDS]


@dataclass(frozen=True, slots=True)
class TimelineRequest:
    """A detector wants the timeline of ``(kind, key)``."""

    kind: str
    key: str


@dataclass
class Timeline:
    """The events of one entity's timeline, oldest first (ties broken by event id)."""

    anchor: EntityKey
    events: list[Event]

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)

    def of_type(self, *types: str) -> list[Event]:
        wanted = set(types)
        return [e for e in self.events if e.type in wanted]

    def has(self, *types: str) -> bool:
        wanted = set(types)
        return any(e.type in wanted for e in self.events)

    def first(self, *types: str) -> Event | None:
        wanted = set(types)
        return next((e for e in self.events if e.type in wanted), None)

    def referencing(self, kind: str, key: str) -> list[Event]:
        """The events whose refs name ``kind`` = ``key`` directly."""
        return [e for e in self.events if getattr(e.refs, kind, None) == key]


@dataclass
class EntityGraph:
    """The events loaded for a batch, indexed by every (kind, key) their refs name."""

    by_key: dict[EntityKey, dict[str, Event]] = field(default_factory=dict)

    @classmethod
    def of(cls, events: Iterable[Event]) -> EntityGraph:
        graph = cls()
        graph.add(events)
        return graph

    def add(self, events: Iterable[Event]) -> None:
        for event in events:
            for pair in event.refs.items():
                self.by_key.setdefault(pair, {})[event.event_id] = event

    def timeline(self, kind: str, key: str, hops: int = DEFAULT_HOPS) -> Timeline:
        """Every loaded event reachable from ``(kind, key)`` within ``hops`` links."""
        anchor = (kind, key)
        found: dict[str, Event] = dict(self.by_key.get(anchor, {}))
        seen_keys = {anchor}
        frontier = list(found.values())
        for _ in range(hops):
            next_keys = [
                pair for event in frontier for pair in link_keys(event) if pair not in seen_keys
            ]
            frontier = []
            for pair in next_keys:
                if pair in seen_keys:
                    continue
                seen_keys.add(pair)
                for event_id, event in self.by_key.get(pair, {}).items():
                    if event_id not in found:
                        found[event_id] = event
                        frontier.append(event)
            if not frontier:
                break
        events = sorted(found.values(), key=lambda e: (e.occurred_at, e.event_id))
        return Timeline(anchor, events)


class TimelineDetector:
    """A stateful detector that reads entity timelines.

    ``types`` are the event types that make it look; ``anchors`` names the entities whose
    timelines it needs for one of them; ``evaluate`` sees the event and those timelines and
    returns its findings. Evaluation must depend on the timeline only (not on which event of it
    arrived last), and finding ids on what crossed the line, so the result is the same whatever
    the arrival order and batching."""

    name: str
    types: frozenset[str]
    gate_threshold: int = 1
    """How many marks a gate key needs before a waiting event reads its timeline."""

    def anchors(self, event: Event) -> list[EntityKey]:
        raise NotImplementedError

    def marks(self, event: Event) -> list[str]:
        """Gate keys this event marks (remembered in the window store)."""
        return []

    def waits_on(self, event: Event) -> list[str] | None:
        """None: the event always reads its timeline. Else the gate keys it waits on: it reads
        its timeline only when one of them has ``gate_threshold`` marks or more (this batch's
        included). A gate saves loading timelines that cannot change the outcome: a payment
        for an order that is not settled, the second failed attempt of a payment when the
        smallest retry limit is eight."""
        return None

    @property
    def gate(self) -> str:
        """The detector name the gate marks are stored under."""
        return f"gate.{self.name}"

    def evaluate(
        self, event: Event, timelines: Sequence[Timeline], detected_at: datetime
    ) -> list[Finding]:
        raise NotImplementedError


def sum_distinct(events: Iterable[Event], ref_kind: str) -> tuple[dict[str, Event], set[str]]:
    """The events keyed by their ``ref_kind`` ref (one per distinct object: a payment seen
    twice, by two sources, counts once), and the currencies among them."""
    by_ref: dict[str, Event] = {}
    currencies: set[str] = set()
    for event in events:
        ref = getattr(event.refs, ref_kind, None) or event.event_id
        if ref not in by_ref:
            by_ref[ref] = event
            if event.currency is not None:
                currencies.add(event.currency)
    return by_ref, currencies
