"""Expected-but-missing: an event creates an expectation (a payout to settle by its arrival
date, an invoice to be paid by its due date, an order to ship within the fulfilment SLA), kept
as a durable timer. The counterpart arriving meets it; otherwise it fires at its deadline and
becomes a finding.

Three moments, all deterministic:

- **open**: an event of one of ``rule.opens`` makes :meth:`ExpectationRule.expect` return an
  :class:`Expectation`. Its id follows from (rule, entity), so a redelivered or repeated opener
  (``invoice.created`` then ``invoice.finalized``) keeps one timer.
- **meet on arrival**: an event of one of ``rule.meets`` names the entities it satisfies
  (:meth:`ExpectationRule.met_keys`); their pending timers are marked met in the same
  transaction. Arrival cancels the timer.
- **fire**: when the clock passes ``due_at``, the timer runner loads the entity's timeline and
  asks :meth:`ExpectationRule.is_met` once more (a counterpart that arrived *before* its opener,
  or that is linked only through another identifier, is found here). Only then does it become a
  finding, whose trigger is the opening event.

If the counterpart arrives after the timer fired, the case resolves itself
(``domain/cases/outcomes.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum

from recoup.domain.detection.findings import Finding, finding_id
from recoup.domain.detection.taxonomy import finding_type
from recoup.domain.detection.timeline import EntityKey, Timeline
from recoup.domain.ids import derived_id
from recoup.domain.ingestion.event import Event
from recoup.domain.money import format_money


class ExpectationStatus(StrEnum):
    PENDING = "pending"
    MET = "met"
    FIRED = "fired"


@dataclass(frozen=True, slots=True)
class Expectation:
    """A durable timer: ``entity`` should see its counterpart by ``due_at``."""

    id: str
    rule: str
    entity_kind: str
    entity_key: str
    opened_by: str
    opened_at: datetime
    due_at: datetime
    expected: str
    """What is expected, in words ("payment of EUR 120.00 by 2026-10-18")."""
    amount: Decimal | None = None
    currency: str | None = None
    status: ExpectationStatus = ExpectationStatus.PENDING
    anchors: tuple[EntityKey, ...] = ()
    """Where to look for the counterpart when the timer is due (default: the entity)."""

    def timeline_anchors(self) -> tuple[EntityKey, ...]:
        return self.anchors or (self.entity,)

    @property
    def entity(self) -> EntityKey:
        return self.entity_kind, self.entity_key


@dataclass(frozen=True, slots=True)
class Meet:
    """An arriving event that satisfies the expectations of ``rule`` about ``entity``."""

    rule: str
    entity_kind: str
    entity_key: str
    event_id: str
    at: datetime


def expectation_id(rule: str, kind: str, key: str) -> str:
    return derived_id("expectation", rule, kind, key)


class ExpectationRule:
    """One kind of expectation. Subclasses set ``name`` (the finding type it fires as),
    ``opens`` and ``meets`` (event types), and implement the four methods."""

    name: str
    opens: frozenset[str]
    meets: frozenset[str]

    def expect(self, event: Event) -> Expectation | None:
        raise NotImplementedError

    def met_keys(self, event: Event) -> list[EntityKey]:
        """The entities whose expectation of this rule ``event`` satisfies."""
        raise NotImplementedError

    def is_met(self, expectation: Expectation, timeline: Timeline) -> bool:
        raise NotImplementedError

    def summary(self, expectation: Expectation) -> str:
        return f"expected {expectation.expected}; nothing arrived"

    def make(
        self,
        event: Event,
        entity: EntityKey,
        due_at: datetime,
        expected: str,
        anchors: Sequence[EntityKey] = (),
    ) -> Expectation:
        return Expectation(
            id=expectation_id(self.name, *entity),
            rule=self.name,
            entity_kind=entity[0],
            entity_key=entity[1],
            opened_by=event.event_id,
            opened_at=event.occurred_at,
            due_at=due_at,
            expected=expected,
            amount=event.amount,
            currency=event.currency,
            anchors=tuple(anchors),
        )

    def finding(
        self, expectation: Expectation, timeline: Timeline, detected_at: datetime
    ) -> Finding:
        spec = finding_type(self.name)
        evidence = tuple(e.event_id for e in timeline.events if e.event_id != expectation.opened_by)
        return Finding(
            id=finding_id(self.name, expectation.opened_by),
            type=self.name,
            entity_kind=expectation.entity_kind,
            entity_key=expectation.entity_key,
            occurred_at=expectation.due_at,
            detected_at=detected_at,
            trigger_event_id=expectation.opened_by,
            evidence_event_ids=(expectation.opened_by, *evidence[:20]),
            summary=self.summary(expectation),
            tier=spec.tier,
            amount=expectation.amount,
            currency=expectation.currency,
            exposure_key=f"{expectation.entity_kind}:{expectation.entity_key}",
            reason_code=None,
            detail={
                "expected": expectation.expected,
                "opened_at": expectation.opened_at.isoformat(),
                "due_at": expectation.due_at.isoformat(),
            },
        )


def span(window: timedelta) -> str:
    """``30 days``, ``24 hours``, ``90 minutes``: a window as people say it."""
    seconds = int(window.total_seconds())
    if seconds == 0:
        return "0 hours"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return str(window)


def money_or_none(event: Event) -> str:
    if event.amount is None or event.currency is None:
        return ""
    return f" of {format_money(event.amount, event.currency)}"


def date_attribute(event: Event, name: str) -> datetime | None:
    """``attributes[name]`` as the *end* of that day in UTC (a due date of 2026-10-18 is met by
    a payment at any time on the 18th), or as given when it is a full timestamp. None when the
    attribute is missing or unreadable: no expectation is guessed from a bad date."""
    value = event.attributes.get(name)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, time(0), tzinfo=UTC) + timedelta(days=1)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)


def first_ref(event: Event, kinds: Sequence[str]) -> EntityKey | None:
    for kind in kinds:
        value = getattr(event.refs, kind)
        if value is not None:
            return kind, value
    return None
