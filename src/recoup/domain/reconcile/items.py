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

from collections.abc import Iterable, Iterator, Mapping, Sequence
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


ITEM_REFS = ("payment", "charge", "payout", "end_to_end", "invoice", "bank_transaction")
"""The refs an item row carries, in its order (see :func:`item_columns`)."""
ITEM_ATTRIBUTES = (*_REFERENCE_ATTRIBUTES, *_NAME_ATTRIBUTES)
"""The attributes an item row carries after its refs, in this order: each the attribute's
value when it is a string, else None."""
_ITEM_FIELDS = ("id", "kind", "amount", "currency", "date", "reference", "name", "payment_ref",
                "payout_ref", "end_to_end", "fx_rate")  # fmt: skip


@dataclass(slots=True)
class ItemColumns:
    """One side's items as columns: a list per :class:`Item` field, all of one length, so a
    million items need no million objects. ``key`` is the entity key of the cases an item's
    break opens and its match settles (its payout, invoice or bank transaction, else its id)."""

    side: str
    id: list[str] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    amount: list[Decimal] = field(default_factory=list)
    currency: list[str] = field(default_factory=list)
    date: list[date] = field(default_factory=list)
    reference: list[str | None] = field(default_factory=list)
    name: list[str | None] = field(default_factory=list)
    payment_ref: list[str | None] = field(default_factory=list)
    payout_ref: list[str | None] = field(default_factory=list)
    end_to_end: list[str | None] = field(default_factory=list)
    fx_rate: list[Decimal | None] = field(default_factory=list)
    key: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.id)

    def append(self, item: Item, key: str | None = None) -> None:
        for name in _ITEM_FIELDS:
            getattr(self, name).append(getattr(item, name))
        self.key.append(key or item.id)

    def items(self) -> Iterator[Item]:
        columns = [getattr(self, name) for name in _ITEM_FIELDS]
        return (Item(row[0], self.side, *row[1:]) for row in zip(*columns, strict=True))

    @classmethod
    def of(cls, side: str, items: Iterable[Item]) -> ItemColumns:
        columns = cls(side)
        for item in items:
            columns.append(item)
        return columns


def _first_text(values: Sequence[Any]) -> str | None:
    for value in values:
        if isinstance(value, str) and (text := value.strip()):
            return text
    return None


def item_columns(rows: Iterable[Sequence[Any]]) -> tuple[ItemColumns, ItemColumns]:
    """The left and right items of stored event rows, as :func:`item_of` makes them (rows of
    another type or without money are left out). A row is (id, type, amount, currency,
    direction, UTC date of occurrence, the :data:`ITEM_REFS`, the :data:`ITEM_ATTRIBUTES`)."""
    left, right = ItemColumns("left"), ItemColumns("right")
    n_refs = len(_REFERENCE_ATTRIBUTES)
    for row in rows:
        id_, type_, amount, currency, direction, day = row[:6]
        payment, charge, payout, end_to_end, invoice, bank_transaction = row[6:12]
        texts = row[12:]
        if amount is None or currency is None:
            continue
        kind = LEFT_TYPES.get(type_)
        if kind is not None:
            side, key = (
                left,
                (payout if kind == "payout" else invoice if kind == "invoice" else None),
            )
            left.kind.append(kind)
            left.amount.append(-amount if kind == "refund" else amount)
            left.reference.append(_first_text(texts[:n_refs]) or invoice)
            left.payment_ref.append(payment or charge)
        elif type_ in RIGHT_TYPES:
            side, key = right, bank_transaction
            right.kind.append("bank_line")
            right.amount.append(-amount if direction == "debit" else amount)
            right.reference.append(_first_text(texts[:n_refs]))
            right.payment_ref.append(None)
        else:
            continue
        side.id.append(id_)
        side.currency.append(currency)
        side.date.append(day)
        side.name.append(_first_text(texts[n_refs:]))
        side.payout_ref.append(payout)
        side.end_to_end.append(end_to_end)
        side.fx_rate.append(None)
        side.key.append(key or id_)
    return left, right


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

    def run(self, left: ItemColumns, right: ItemColumns, rules: Rules) -> EngineResult: ...


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

    def reconcile_open_items(self) -> tuple[ItemColumns, ItemColumns]:
        """The left and right items not in a match that reconciles them."""
        ...

    def reconcile_events(self, ids: Iterable[str]) -> list[Event]: ...

    def open_case_keys(self, types: Iterable[str]) -> set[str]: ...

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


UNMATCHED_LINE = ("unmatched_bank_line", "bank_transaction")
BREAK_CASE_TYPES = (UNMATCHED_LINE[0], *(case for case, _ in RESOLVED_BY_MATCH.values()))
"""The case types a reconciliation run opens and settles."""


def finding_breaks(breaks: Sequence[BreakRow], left_kinds: Mapping[str, str]) -> list[BreakRow]:
    """The breaks :func:`break_findings` may turn into findings (every bank line's, and an
    expected payout's or invoice's missing counterpart): only their events need loading."""

    def cited(row: BreakRow) -> bool:
        if row.side == "right":
            return True
        return (
            row.reason == "missing_counterpart" and left_kinds.get(row.item_id) in RESOLVED_BY_MATCH
        )

    return [row for row in breaks if cited(row)]


def settling_matches(
    matches: Sequence[MatchRow],
    left: Mapping[str, tuple[str, str]],
    right: Mapping[str, str],
    open_keys: Iterable[str],
) -> list[MatchRow]:
    """The matches whose settlements (:func:`match_resolutions`) would close a case under one
    of ``open_keys`` (the open cases, and those this run's findings open); the others settle
    nothing, so their events need not be loaded. ``left`` maps an item id to its kind and key,
    ``right`` a bank line's id to its key."""
    wanted: dict[tuple[str, str], set[str]] = {}
    for text in open_keys:
        case_type, kind, key = text.split("|", 2)
        wanted.setdefault((case_type, kind), set()).add(key)
    if not wanted:
        return []
    lines = wanted.get(UNMATCHED_LINE, set())
    by_kind = {kind: wanted.get(spec, set()) for kind, spec in RESOLVED_BY_MATCH.items()}
    kept = []
    for match in matches:
        if match.status not in MATCHED:
            continue
        kind, key = left.get(match.left_id, ("", ""))
        if right.get(match.right_id) in lines or key in by_kind.get(kind, ()):
            kept.append(match)
    return kept
