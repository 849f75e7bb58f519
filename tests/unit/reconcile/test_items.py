"""Items as columns: the store's rows give the same items as the events they come from, and
only the breaks and matches that can raise or settle a case are followed up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from recoup.domain.ingestion.event import Event, Refs
from recoup.domain.reconcile.items import (
    ITEM_ATTRIBUTES,
    ITEM_REFS,
    LEFT_TYPES,
    RIGHT_TYPES,
    BreakRow,
    ItemColumns,
    MatchRow,
    finding_breaks,
    item_columns,
    item_of,
    settling_matches,
)

TYPES = [*LEFT_TYPES, *RIGHT_TYPES, "payment.failed", "dispute.opened"]
TEXT = st.one_of(
    st.none(),
    st.sampled_from(["", "   ", " INV-7 ", "\tRF18 5390\n", "Acme GmbH", "\u00a0x\u2003"]),
    st.integers(-5, 5),
    st.booleans(),
    st.lists(st.text(max_size=3), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
REF = st.one_of(st.none(), st.sampled_from(["po_1", "inv_1", "pi_1", "ch_1", "e2e", "bt_1"]))


@st.composite
def events(draw: st.DrawFn) -> Event:
    refs = {name: draw(REF) for name in ITEM_REFS}
    attributes = {name: value for name in ITEM_ATTRIBUTES if (value := draw(TEXT)) is not None}
    money = draw(st.booleans())
    at = datetime(2026, 10, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 4000)))
    return Event(
        id=f"ev_{draw(st.integers(0, 10**9))}",
        source="stripe",
        external_id="x",
        type=draw(st.sampled_from(TYPES)),
        occurred_at=at,
        refs=Refs(**{k: v for k, v in refs.items() if v is not None}),
        amount=Decimal(draw(st.sampled_from(["0.01", "12.50", "1000"]))) if money else None,
        currency=draw(st.sampled_from(["EUR", None])) if money else None,
        direction=draw(st.sampled_from(["credit", "debit", None])),
        attributes=attributes,
    )


def row_of(event: Event) -> tuple[Any, ...]:
    """The row the store reads for an event: string attributes only, the UTC date."""
    texts = [v if isinstance(v := event.attributes.get(n), str) else None for n in ITEM_ATTRIBUTES]
    return (event.event_id, event.type, event.amount, event.currency, event.direction,
            event.occurred_at.date(), *(getattr(event.refs, n) for n in ITEM_REFS),
            *texts)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(events(), max_size=12, unique_by=lambda e: e.id))
def test_rows_give_the_items_of_their_events(batch: list[Event]) -> None:
    left, right = item_columns(row_of(e) for e in batch)
    expected = [item for e in batch if (item := item_of(e)) is not None]
    assert [*left.items(), *right.items()] == [
        *(i for i in expected if i.side == "left"),
        *(i for i in expected if i.side == "right"),
    ]
    keys = {**dict(zip(left.id, left.key, strict=True)),
            **dict(zip(right.id, right.key, strict=True))}  # fmt: skip
    for e in batch:
        item = item_of(e)
        if item is None:
            assert e.event_id not in keys
            continue
        own = {"payout": e.refs.payout, "invoice": e.refs.invoice, "bank_line":
               e.refs.bank_transaction}.get(item.kind)  # fmt: skip
        assert keys[e.event_id] == (own or e.event_id)


def test_columns_round_trip_items() -> None:
    left, _ = item_columns([row_of(Event(id="a", source="s", external_id="a",
                                         type="payout.paid", occurred_at=datetime.now(UTC),
                                         amount=Decimal("5"), currency="EUR"))])  # fmt: skip
    again = ItemColumns.of("left", left.items())
    assert list(again.items()) == list(left.items())
    assert len(again) == 1


def _match(left: str, right: str, status: str = "auto") -> MatchRow:
    return MatchRow(f"m_{left}", left, right, "r", 1.0, status, 1, Decimal(0))


def test_only_matches_that_can_settle_an_open_case_are_followed() -> None:
    left = {"p1": ("payout", "po_1"), "p2": ("payout", "po_2"), "c1": ("charge", "c1"),
            "i1": ("invoice", "inv_1")}  # fmt: skip
    right = {"b1": "bt_1", "b2": "bt_2", "b3": "bt_3", "b4": "bt_4"}
    matches = [_match("p1", "b1"), _match("p2", "b2"), _match("c1", "b3"),
               _match("i1", "b4", "suggested")]  # fmt: skip
    open_keys = {"settlement_delayed|payout|po_2", "unmatched_bank_line|bank_transaction|bt_3",
                 "missing_payment|invoice|inv_1"}  # fmt: skip
    kept = settling_matches(matches, left, right, open_keys)
    assert [m.left_id for m in kept] == ["p2", "c1"]  # a suggestion settles nothing
    assert settling_matches(matches, left, right, set()) == []


def test_only_breaks_that_can_be_findings_load_their_events() -> None:
    rows = [BreakRow("b1", "right", "amount_over", "amount", "1", "2", None),
            BreakRow("p1", "left", "missing_counterpart", None, None, None, None),
            BreakRow("c1", "left", "missing_counterpart", None, None, None, None),
            BreakRow("i1", "left", "date", "date", None, None, None)]  # fmt: skip
    kinds = {"p1": "payout", "c1": "charge", "i1": "invoice"}
    assert [r.item_id for r in finding_breaks(rows, kinds)] == ["b1", "p1"]
