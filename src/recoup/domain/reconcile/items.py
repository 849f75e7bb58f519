"""Reconciliation from the store: which events are items on which side, what a run produced,
and which breaks become findings.

- **Left** (what we expect to see at the bank): succeeded payments and refunds (grouped into
  their payout when the source says which), paid payouts, and finalised invoices.
- **Right** (what the bank says happened): booked statement lines, signed by direction.

A run reads the items not yet in an automatic, confirmed or forced match, so new files match
against what is still open and a run repeated changes nothing. The engine sits behind the
:class:`ReconcileEngine` port (DuckDB in ``adapters/reconcile``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from recoup.domain.cases.outcomes import Resolution
from recoup.domain.detection.detectors import default_tier
from recoup.domain.detection.findings import Finding, finding_id
from recoup.domain.ingestion.event import Event
from recoup.domain.reconcile.rules import Rules

LEFT_TYPES: Mapping[str, str] = {
    "payment.succeeded": "charge",
    "refund.succeeded": "refund",
    "payout.paid": "payout",
    "invoice.finalized": "invoice",
}
"""Event type -> item kind on the left."""
RIGHT_TYPES = frozenset({"bank.statement_line"})
MATCHED = ("auto", "confirmed", "forced")
"""Match statuses that take their items out of later runs."""
REVIEW = "suggested"
AGING = timedelta(days=3)
"""How long an expected payout or invoice may wait for its bank line before it is a break."""

_REFERENCE_ATTRIBUTES = ("remittance", "reference", "creditor_reference", "description", "number")
_NAME_ATTRIBUTES = ("counterparty_name", "customer_name", "name")


@dataclass(frozen=True, slots=True)
class Item:
    """One record to reconcile, in the engine's columns (see docs/reconcile.md)."""

    id: str
    side: str
    kind: str
    amount: Decimal
    currency: str
    date: date
    reference: str | None = None
    name: str | None = None
    payment_ref: str | None = None
    payout_ref: str | None = None
    end_to_end: str | None = None
    fx_rate: Decimal | None = None


def _text(event: Event, names: Sequence[str]) -> str | None:
    for name in names:
        value = event.attributes.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def item_of(event: Event) -> Item | None:
    """The reconciliation item an event is, or None (not a type that reconciles, no money)."""
    if event.amount is None or event.currency is None:
        return None
    kind = LEFT_TYPES.get(event.type)
    refs = event.refs
    if kind is not None:
        amount = -event.amount if kind == "refund" else event.amount
        payout = refs.payout
        reference = _text(event, _REFERENCE_ATTRIBUTES) or refs.invoice
        return Item(event.event_id, "left", kind, amount, event.currency,
                    event.occurred_at.date(), reference, _text(event, _NAME_ATTRIBUTES),
                    refs.payment or refs.charge, payout, refs.end_to_end)  # fmt: skip
    if event.type in RIGHT_TYPES:
        amount = -event.amount if event.direction == "debit" else event.amount
        return Item(event.event_id, "right", "bank_line", amount, event.currency,
                    event.occurred_at.date(), _text(event, _REFERENCE_ATTRIBUTES),
                    _text(event, _NAME_ATTRIBUTES), None, refs.payout,
                    refs.end_to_end)  # fmt: skip
    return None


@dataclass(frozen=True, slots=True)
class MatchRow:
    match_id: str
    left_id: str
    right_id: str
    rule: str
    score: float
    status: str
    group_size: int
    amount_diff: Decimal


@dataclass(frozen=True, slots=True)
class BreakRow:
    item_id: str
    side: str
    reason: str
    field: str | None
    expected: str | None
    actual: str | None
    candidate_id: str | None


@dataclass
class EngineResult:
    matches: list[MatchRow] = field(default_factory=list)
    breaks: list[BreakRow] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)


class ReconcileEngine(Protocol):
    """Matches left items with right items under ``rules``."""

    def run(self, left: Sequence[Item], right: Sequence[Item], rules: Rules) -> EngineResult: ...


def break_findings(
    breaks: Sequence[BreakRow], events: Mapping[str, Event], items: Mapping[str, Item],
    now: datetime,
) -> list[Finding]:  # fmt: skip
    """The breaks that are exceptions, as findings owned by finance:

    - a bank line that matches nothing (any reason) is ``unmatched_bank_line``, with the
      field that broke and the nearest candidate in its detail;
    - an expected payout whose bank line is missing past :data:`AGING` is
      ``settlement_delayed``; an invoice is ``missing_payment``.

    Charges and refunds reconcile through their payout, so their own breaks are not findings.
    A finding's id follows from its type and event, so a detector's finding about the same
    event and a repeated run add nothing."""
    found: list[Finding] = []
    for row in breaks:
        event, item = events.get(row.item_id), items.get(row.item_id)
        if event is None or item is None:
            continue
        if row.side == "right":
            found.append(_finding("unmatched_bank_line", "bank_transaction",
                                  event.refs.bank_transaction or event.event_id, event, item,
                                  row, now))  # fmt: skip
        elif row.reason == "missing_counterpart" and now - event.occurred_at >= AGING:
            if item.kind == "payout":
                found.append(_finding("settlement_delayed", "payout",
                                      event.refs.payout or event.event_id, event, item, row,
                                      now))  # fmt: skip
            elif item.kind == "invoice":
                found.append(_finding("missing_payment", "invoice",
                                      event.refs.invoice or event.event_id, event, item, row,
                                      now))  # fmt: skip
    return found


def _finding(type_: str, entity_kind: str, entity_key: str, event: Event, item: Item,
             row: BreakRow, now: datetime) -> Finding:  # fmt: skip
    why = row.reason.replace("_", " ")
    if row.field:
        why += f" ({row.field}: expected {row.expected}, found {row.actual})"
    money = f"{abs(item.amount):.2f} {item.currency}"
    summary = {
        "unmatched_bank_line": f"bank line of {money} matches nothing: {why}",
        "settlement_delayed": f"payout of {money} has no bank line after {AGING.days} days",
        "missing_payment": f"invoice of {money} has no payment after {AGING.days} days",
    }[type_]
    return Finding(
        id=finding_id(type_, event.event_id),
        type=type_,
        entity_kind=entity_kind,
        entity_key=entity_key,
        occurred_at=event.occurred_at,
        detected_at=now,
        trigger_event_id=event.event_id,
        evidence_event_ids=tuple(x for x in (event.event_id, row.candidate_id) if x),
        summary=summary,
        tier=default_tier(type_),
        amount=abs(item.amount),
        currency=item.currency,
        exposure_key=f"{entity_kind}:{entity_key}",
        reason_code=f"reconcile:{row.reason}",
        detail={
            "source": "reconcile",
            "reason": row.reason,
            "field": row.field,
            "expected": row.expected,
            "actual": row.actual,
            "candidate": row.candidate_id,
        },
    )


class ReconcileStore(Protocol):
    """Reconciliation persistence; every method is part of the caller's transaction."""

    def reconcile_open_events(self, types: Iterable[str]) -> list[Event]:
        """Events of these types not in a match that reconciles them."""
        ...

    def start_reconcile_run(self, run_id: str, version: int, rules_hash: str,
                            at: datetime) -> None: ...  # fmt: skip

    def finish_reconcile_run(self, run_id: str, at: datetime, stats: dict[str, Any]) -> None: ...

    def add_reconcile_matches(self, run_id: str, rows: Sequence[MatchRow], at: datetime) -> int: ...

    def record_breaks(self, run_id: str, rows: Sequence[BreakRow], at: datetime) -> int: ...

    def reconcile_matches(self, status: str | None, limit: int) -> list[dict[str, Any]]: ...

    def match_rows(self, match_id: str) -> list[dict[str, Any]]: ...

    def decide_match(self, match_id: str, status: str, actor: str, at: datetime,
                     justification: str) -> int: ...  # fmt: skip

    def reconciled_ids(self, ids: Iterable[str]) -> set[str]: ...

    def reconcile_counts(self) -> dict[str, Any]: ...

    def open_breaks(self, limit: int) -> list[dict[str, Any]]: ...


RESOLVED_BY_MATCH = {"payout": ("settlement_delayed", "payout"),
                     "invoice": ("missing_payment", "invoice")}  # fmt: skip


def match_resolutions(matches: Sequence[MatchRow], events: Mapping[str, Event],
                      now: datetime) -> list[Resolution]:  # fmt: skip
    """The open break cases a match settles: the payout's or invoice's missing counterpart, and
    the bank line that matched nothing; their outcome is ``reconciled``."""
    out: list[Resolution] = []
    for match in matches:
        if match.status not in MATCHED:
            continue
        left, right = events.get(match.left_id), events.get(match.right_id)
        if left is not None and (spec := RESOLVED_BY_MATCH.get(LEFT_TYPES.get(left.type, ""))):
            case_type, kind = spec
            key = getattr(left.refs, kind) or left.event_id
            summary = "matched with its bank line"
            out.append(Resolution(case_type, ((kind, key),), "reconciled", now, left.event_id,
                                  left.amount, left.currency, summary))  # fmt: skip
        if right is not None:
            key = right.refs.bank_transaction or right.event_id
            out.append(Resolution("unmatched_bank_line", (("bank_transaction", key),),
                                  "reconciled", now, right.event_id, right.amount,
                                  right.currency, "matched with an expected item"))  # fmt: skip
    return out
