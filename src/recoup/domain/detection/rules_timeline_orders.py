"""Timeline detectors about an order's shipments: more items shipped than ordered
(split_conflict), and a carrier moving goods of a cancelled order (carrier_conflict).

Both read the order's whole timeline, so either arrival order gives the same finding, named by
the shipment event that crossed the line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from recoup.domain.detection.detectors import _finding, default_tier
from recoup.domain.detection.findings import Finding, finding_id
from recoup.domain.detection.rules_timeline_payments import merged_events
from recoup.domain.detection.timeline import EntityKey, Timeline, TimelineDetector
from recoup.domain.ingestion.event import Event
from recoup.domain.money import format_money

SPLIT_CONFLICT = "split_conflict"
CARRIER_CONFLICT = "carrier_conflict"

ORDER_CREATED = "order.created"
FULFILLMENT_CREATED = "fulfillment.created"
FULFILLMENT_UPDATED = "fulfillment.updated"
ORDER_CANCELLED = "order.cancelled"
SPLIT_TYPES = frozenset({ORDER_CREATED, FULFILLMENT_CREATED})
CARRIER_TYPES = frozenset({FULFILLMENT_UPDATED, ORDER_CANCELLED})
# Shipment statuses (lower case, "-" and " " as "_") that say the goods are on their way.
PROGRESS_STATUSES = frozenset({"in_transit", "out_for_delivery", "delivered"})


def _order_anchor(event: Event) -> list[EntityKey]:
    order = event.refs.order
    return [] if order is None else [("order", order)]


def item_count(event: Event) -> int | None:
    """``attributes.item_count`` as a whole non-negative number (or numeric text)."""
    value = event.attributes.get("item_count")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    return None


def _status(event: Event) -> str | None:
    value = event.attributes.get("shipment_status")
    if not isinstance(value, str):
        return None
    return value.strip().lower().replace("-", "_").replace(" ", "_")


def _order_money(events: Sequence[Event]) -> tuple[Decimal | None, str | None]:
    """The order's amount: its cancellation's, else its creation's, when they carry one."""
    for type_ in (ORDER_CANCELLED, ORDER_CREATED):
        for event in events:
            if event.type == type_ and event.amount is not None and event.currency is not None:
                return event.amount, event.currency
    return None, None


def _of(amount: Decimal | None, currency: str | None) -> str:
    return "" if amount is None or currency is None else f" of {format_money(amount, currency)}"


class SplitConflict(TimelineDetector):
    """``fulfillment.created`` events of an order whose ``attributes.item_count`` add up to more
    than the ``order.created`` ``attributes.item_count``. Fires once, at the shipment that takes
    the total past the order (each shipment counted once, in time order)."""

    name = SPLIT_CONFLICT
    types = SPLIT_TYPES

    def anchors(self, event: Event) -> list[EntityKey]:
        if event.refs.order is None or item_count(event) is None:
            return []
        return [("order", event.refs.order)]

    def evaluate(
        self, event: Event, timelines: Sequence[Timeline], detected_at: datetime
    ) -> list[Finding]:
        order = event.refs.order
        if order is None:
            return []
        mine = [e for e in merged_events(timelines) if e.refs.order == order]
        created = next(
            (e for e in mine if e.type == ORDER_CREATED and item_count(e) is not None), None
        )
        if created is None:
            return []
        ordered = item_count(created)
        assert ordered is not None
        shipped = 0
        shipments: list[Event] = []
        for shipment in mine:
            if shipment.type != FULFILLMENT_CREATED:
                continue
            count = item_count(shipment)
            if count is None:
                continue
            shipped += count
            shipments.append(shipment)
            if shipped > ordered:
                return [self._finding(created, shipment, shipments, ordered, shipped, mine,
                                      detected_at)]  # fmt: skip
        return []

    def _finding(
        self,
        created: Event,
        crossing: Event,
        shipments: list[Event],
        ordered: int,
        shipped: int,
        mine: Sequence[Event],
        detected_at: datetime,
    ) -> Finding:
        order = crossing.refs.order
        assert order is not None
        amount, currency = _order_money(mine)
        finding = _finding(
            crossing,
            SPLIT_CONFLICT,
            ("order", order),
            detected_at=detected_at,
            summary=f"order {order}: {shipped} items shipped in {len(shipments)} shipments, "
            f"{ordered} ordered",
            tier=default_tier(SPLIT_CONFLICT),
            evidence=(created.event_id, *(e.event_id for e in shipments)),
            detail={"ordered": ordered, "shipped": shipped, "shipments": len(shipments)},
        )
        return replace(
            finding,
            id=finding_id(SPLIT_CONFLICT, crossing.event_id),
            amount=amount,
            currency=currency,
        )


class CarrierConflict(TimelineDetector):
    """A carrier progress event (``fulfillment.updated`` with ``attributes.shipment_status``
    in_transit, out_for_delivery or delivered) on an order whose timeline holds
    ``order.cancelled``, whichever arrived first. One finding per order and conflict, named by
    the first progress event in time."""

    name = CARRIER_CONFLICT
    types = CARRIER_TYPES

    def anchors(self, event: Event) -> list[EntityKey]:
        if event.type == FULFILLMENT_UPDATED and _status(event) not in PROGRESS_STATUSES:
            return []
        return _order_anchor(event)

    def evaluate(
        self, event: Event, timelines: Sequence[Timeline], detected_at: datetime
    ) -> list[Finding]:
        order = event.refs.order
        if order is None:
            return []
        mine = [e for e in merged_events(timelines) if e.refs.order == order]
        cancelled = next((e for e in mine if e.type == ORDER_CANCELLED), None)
        if cancelled is None:
            return []
        progress = next(
            (e for e in mine if e.type == FULFILLMENT_UPDATED and _status(e) in PROGRESS_STATUSES),
            None,
        )
        if progress is None:
            return []
        amount, currency = _order_money(mine)
        status = _status(progress)
        finding = _finding(
            progress,
            CARRIER_CONFLICT,
            ("order", order),
            detected_at=detected_at,
            summary=f"carrier reports {status} for order {order}{_of(amount, currency)}, "
            f"cancelled {cancelled.occurred_at:%Y-%m-%d %H:%M} UTC",
            tier=default_tier(CARRIER_CONFLICT),
            evidence=(cancelled.event_id, progress.event_id),
            detail={
                "shipment_status": status,
                "cancelled_at": cancelled.occurred_at.isoformat(),
                "shipment_at": progress.occurred_at.isoformat(),
            },
        )
        return [
            replace(
                finding,
                id=finding_id(CARRIER_CONFLICT, progress.event_id),
                amount=amount,
                currency=currency,
            )
        ]


def detectors() -> list[TimelineDetector]:
    return [SplitConflict(), CarrierConflict()]
