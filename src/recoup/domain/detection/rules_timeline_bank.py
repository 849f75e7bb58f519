"""Timeline detector about bank money that arrived short: fee_mismatch.

A statement line or a returned transfer is compared with its counterpart on the same end-to-end
id (the transfer that was initiated) or payout (the payout the processor announced). Less money
than the counterpart, in the same currency, by no more than a fee plausibly costs (a percentage
of the counterpart, or exactly the fee or charges the bank reported), is a fee taken on the way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal, InvalidOperation

from recoup.domain.detection.detectors import DetectionSettings, _finding, default_tier
from recoup.domain.detection.findings import Finding, finding_id
from recoup.domain.detection.rules_timeline_payments import merged_events
from recoup.domain.detection.timeline import EntityKey, Timeline, TimelineDetector
from recoup.domain.ingestion.event import Event
from recoup.domain.money import format_money

FEE_MISMATCH = "fee_mismatch"

_DEFAULTS = DetectionSettings()

LINE_TYPES = frozenset({"bank.statement_line", "bank.transfer_returned"})
# Counterparts in order of preference: the transfer itself, the payout as paid, as announced.
COUNTERPART_TYPES = ("bank.transfer_initiated", "payout.paid", "payout.created")
FEE_TYPES = frozenset({*LINE_TYPES, *COUNTERPART_TYPES})
# The refs a line shares with its counterpart, in the order they are tried.
MATCH_KINDS = ("end_to_end", "payout")
FEE_ENTITY = ("end_to_end", "payout", "bank_transaction")
FEE_ATTRIBUTES = ("fee", "charges")


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        number = Decimal(value.strip() if isinstance(value, str) else str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _reported_fees(event: Event) -> list[Decimal]:
    fees = (_decimal(event.attributes.get(name)) for name in FEE_ATTRIBUTES)
    return [fee for fee in fees if fee is not None]


class FeeMismatch(TimelineDetector):
    """A ``bank.statement_line`` or ``bank.transfer_returned`` whose counterpart (same
    ``refs.end_to_end``, else same ``refs.payout``: ``bank.transfer_initiated``, ``payout.paid``,
    ``payout.created``, the first of these types present) is larger by ``d``, same currency,
    with ``0 < d <= fee_percent`` of the counterpart or ``d`` equal to the reported
    ``attributes.fee`` / ``attributes.charges``. Read from either side: the counterpart's
    arrival evaluates the lines already there."""

    name = FEE_MISMATCH
    types = FEE_TYPES

    def __init__(self, fee_percent: Decimal = _DEFAULTS.fee_tolerance_percent) -> None:
        if fee_percent < 0:
            raise ValueError("the fee percentage must not be negative")
        self.fee_percent = fee_percent

    def anchors(self, event: Event) -> list[EntityKey]:
        refs = event.refs
        e2e, payout = refs.end_to_end, refs.payout
        if e2e is None and payout is None:
            return []
        if event.amount is None:
            return []
        out: list[EntityKey] = []
        if e2e is not None:
            out.append(("end_to_end", e2e))
        if payout is not None:
            out.append(("payout", payout))
        return out

    def evaluate(
        self, event: Event, timelines: Sequence[Timeline], detected_at: datetime
    ) -> list[Finding]:
        anchors = set(self.anchors(event))
        if not anchors:
            return []
        events = merged_events(timelines)
        out: list[Finding] = []
        for line in events:
            if line.type not in LINE_TYPES or line.amount is None:
                continue
            if not any(getattr(line.refs, kind) == key for kind, key in anchors):
                continue
            finding = self.check(line, events, detected_at)
            if finding is not None:
                out.append(finding)
        return out

    def counterpart(self, line: Event, events: Sequence[Event]) -> Event | None:
        for kind in MATCH_KINDS:
            key = getattr(line.refs, kind)
            if key is None:
                continue
            mine = [e for e in events if getattr(e.refs, kind) == key and e.amount is not None]
            for type_ in COUNTERPART_TYPES:
                found = next((e for e in mine if e.type == type_), None)
                if found is not None:
                    return found
        return None

    def check(self, line: Event, events: Sequence[Event], detected_at: datetime) -> Finding | None:
        other = self.counterpart(line, events)
        if other is None or line.currency is None or other.currency != line.currency:
            return None
        if line.amount is None or other.amount is None:
            return None
        difference = other.amount - line.amount
        if difference <= 0:
            return None
        fees = _reported_fees(line)
        by_fee = difference in fees
        if not by_fee and difference > other.amount * self.fee_percent / 100:
            return None
        currency = line.currency
        entity = next(
            ((k, v) for k in FEE_ENTITY if (v := getattr(line.refs, k)) is not None),
            ("bank_transaction", f"{line.source}:{line.external_id}"),
        )
        what = "returned" if line.type == "bank.transfer_returned" else "received"
        finding = _finding(
            line,
            FEE_MISMATCH,
            entity,
            detected_at=detected_at,
            summary=f"{format_money(line.amount, currency)} {what} against "
            f"{format_money(other.amount, currency)} ({other.type}): "
            f"{format_money(difference, currency)} short, "
            + ("the reported fee" if by_fee else f"within {self.fee_percent}%"),
            tier=default_tier(FEE_MISMATCH),
            evidence=(other.event_id, line.event_id),
            detail={
                "counterpart_amount": str(other.amount),
                "received_amount": str(line.amount),
                "fee_difference": str(difference),
                "currency": currency,
                "counterpart_type": other.type,
                "reported_fee": None if not fees else str(fees[0]),
                "matched_by": "reported_fee" if by_fee else "percent",
            },
        )
        return replace(
            finding,
            id=finding_id(FEE_MISMATCH, line.event_id),
            amount=difference,
            currency=currency,
        )


def detectors(settings: DetectionSettings) -> list[TimelineDetector]:
    return [FeeMismatch(settings.fee_tolerance_percent)]
