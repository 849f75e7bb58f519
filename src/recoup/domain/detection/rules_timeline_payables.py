"""Timeline detector about a supplier's bank account: the account-changed half of
supplier_bank_mismatch (the invalid-IBAN and account-holder halves are stateless, in
``rules_payables``).

A ``supplier.payment_initiated`` or ``supplier.updated`` whose ``attributes.iban`` differs from
the IBAN of the supplier's previous ``supplier.payment_initiated`` (by time) is the classic
invoice-redirection fraud: someone asked for the money to go elsewhere. ``supplier`` is not a
link kind (a supplier names hundreds of unrelated transactions), so the detector asks for the
supplier as an anchor and reads the events that name it directly.

The finding's id is ``finding_id("supplier_bank_mismatch:changed", event id)``: never the id of
the invalid-IBAN (``supplier_bank_mismatch``) or account-holder (``supplier_bank_mismatch:name``)
finding on the same event. A full IBAN is never put in a finding: its country and last four only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from recoup.domain.detection.detectors import _finding, default_tier
from recoup.domain.detection.findings import Finding, finding_id
from recoup.domain.detection.rules_payables import SUPPLIER_BANK_MISMATCH, _compact
from recoup.domain.detection.rules_timeline_payments import merged_events
from recoup.domain.detection.timeline import EntityKey, Timeline, TimelineDetector
from recoup.domain.ingestion.event import Event

CHANGED_FINDING_KEY = f"{SUPPLIER_BANK_MISMATCH}:changed"

PAYMENT_INITIATED = "supplier.payment_initiated"
SUPPLIER_UPDATED = "supplier.updated"
CHANGED_TYPES = frozenset({PAYMENT_INITIATED, SUPPLIER_UPDATED})


def iban_of(event: Event) -> str | None:
    """``attributes.iban`` compacted (spaces, ``-``, ``.``, ``/`` removed, upper case)."""
    value = event.attributes.get("iban")
    if not isinstance(value, str):
        return None
    number = _compact(value)
    return number or None


def _shown(iban: str) -> str:
    """How an IBAN is shown: its country and last four."""
    return f"{iban[:2]} …{iban[-4:]}"


class SupplierAccountChanged(TimelineDetector):
    """The supplier's IBAN on a payment or an update differs from the one of its previous
    payment. Evaluated over the supplier's events, so a late-arriving earlier payment re-checks
    the events after it."""

    name = CHANGED_FINDING_KEY
    types = CHANGED_TYPES

    def anchors(self, event: Event) -> list[EntityKey]:
        supplier = event.refs.supplier
        if supplier is None or "iban" not in event.attributes:
            return []
        return [("supplier", supplier)]

    def evaluate(
        self, event: Event, timelines: Sequence[Timeline], detected_at: datetime
    ) -> list[Finding]:
        supplier = event.refs.supplier
        if supplier is None:
            return []
        at = (event.occurred_at, event.event_id)
        out: list[Finding] = []
        last: Event | None = None
        last_iban: str | None = None
        for other in merged_events(timelines):
            if other.type not in CHANGED_TYPES or other.refs.supplier != supplier:
                continue
            iban = iban_of(other)
            if iban is None:
                continue
            key = (other.occurred_at, other.event_id)
            if key >= at and last is not None and last_iban is not None and iban != last_iban:
                out.append(self._finding(other, supplier, last, last_iban, iban, detected_at))
            if other.type == PAYMENT_INITIATED:
                if key > at:
                    # The events after this payment compare with it, not with the event at hand.
                    break
                last, last_iban = other, iban
        return out

    def _finding(
        self,
        event: Event,
        supplier: str,
        previous: Event,
        before: str,
        after: str,
        detected_at: datetime,
    ) -> Finding:
        what = "payment" if event.type == PAYMENT_INITIATED else "supplier update"
        finding = _finding(
            event,
            SUPPLIER_BANK_MISMATCH,
            ("supplier", supplier),
            detected_at=detected_at,
            summary=f"{what} names bank account {_shown(after)}, not {_shown(before)} of the "
            f"previous payment ({previous.occurred_at:%Y-%m-%d})",
            tier=default_tier(SUPPLIER_BANK_MISMATCH),
            evidence=(previous.event_id, event.event_id),
            detail={
                "field": "iban",
                "reason": "account changed since the last payment",
                "previous_iban": _shown(before),
                "iban": _shown(after),
                "previous_payment_at": previous.occurred_at.isoformat(),
            },
        )
        return replace(finding, id=finding_id(CHANGED_FINDING_KEY, event.event_id))


def detectors() -> list[TimelineDetector]:
    return [SupplierAccountChanged()]
