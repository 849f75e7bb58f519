"""The labeled month: reproducible, canonical, every finding type labeled, clean traffic clean."""

from __future__ import annotations

import csv
import itertools
import json
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path

import msgspec
import pytest
from stdnum import iban
from stdnum.eu import vat

from recoup.adapters.simulation.labeled import (
    LabeledMonth,
    LabeledSpec,
    labeled_month,
    read_labels,
    write_labeled_month,
)
from recoup.adapters.simulation.labeled_tools import (
    break_iban,
    break_vat,
    iban_check_digits,
    make_iban,
    make_vat,
)
from recoup.domain.detection.sanctions import name_score
from recoup.domain.detection.taxonomy import TAXONOMY
from recoup.domain.ingestion.canonical import parse_record
from recoup.domain.ingestion.event import Event

SANCTIONED = (
    "ZANTHOR MARITIME HOLDINGS LIMITED",
    "QUILLBERRY, Orvano Desmet",
    "BRASKVALE ARMAMENTS GMBH",
)
RECEIVED = datetime(2026, 12, 1, tzinfo=UTC)
# The entity column of the detection spec: the kinds a finding of each type may name.
SPEC_ENTITIES = {
    "payment_failed": "payment charge invoice subscription",
    "capture_failed": "payment charge",
    "retry_exhausted": "payment invoice subscription",
    "duplicate_charge": "customer",
    "dispute_opened": "dispute charge payment",
    "inquiry_opened": "dispute charge payment",
    "authorization_expired": "payment charge",
    "refund_failed": "refund charge payment",
    "payout_failed": "payout",
    "amount_mismatch": "invoice order",
    "missing_payment": "invoice",
    "orphan_payment": "payment charge",
    "settlement_delayed": "payout",
    "bank_rejected": "end_to_end instruction uetr bank_transaction",
    "bank_returned": "end_to_end instruction uetr ach_trace bank_transaction",
    "unmatched_bank_line": "bank_transaction",
    "fee_mismatch": "end_to_end payout bank_transaction",
    "duplicate_invoice": "supplier",
    "supplier_bank_mismatch": "supplier invoice",
    "blocked_payment": "invoice supplier",
    "tax_validation_failed": "invoice supplier",
    "missing_remittance": "bank_transaction",
    "sanctions_alert": "supplier customer",
    "order_stalled": "order",
    "duplicate_order": "order",
    "split_conflict": "order",
    "stock_unavailable": "order",
    "carrier_conflict": "order",
    "address_risk": "order",
    "high_value_review": "order payment",
    "fraud_review": "charge payment order",
}


def small(**overrides: object) -> LabeledSpec:
    values: dict[str, object] = {
        "seed": 7,
        "days": 9,
        "orders_per_day": 12,
        "per_type": 2,
        "receivable_invoices_per_day": 3,
        "suppliers": 5,
        "supplier_invoices_per_day": 3,
        "sanctioned_names": SANCTIONED,
    }
    return LabeledSpec(**(values | overrides))  # type: ignore[arg-type]


@cache
def month(inject: bool = True) -> LabeledMonth:
    return labeled_month(small(inject=inject))


@cache
def events(inject: bool = True) -> tuple[Event, ...]:
    out = []
    for n, line in enumerate(month(inject).lines, 1):
        event = parse_record(line, received_at=RECEIVED, file="labeled.jsonl", line=n)
        assert isinstance(event, Event), str(event)
        out.append(event)
    return tuple(out)


def test_the_same_spec_gives_the_same_bytes_and_labels() -> None:
    again = labeled_month(small())
    assert again.lines == month().lines
    assert again.labels == month().labels
    assert again.as_of == month().as_of
    assert labeled_month(small(seed=8)).lines != month().lines


def test_every_line_is_a_canonical_event_in_time_order_with_unique_ids() -> None:
    for inject in (True, False):
        parsed = events(inject)
        assert [e.occurred_at for e in parsed] == sorted(e.occurred_at for e in parsed)
        ids = [(e.source, e.external_id) for e in parsed]
        assert len(set(ids)) == len(ids)
        spec = small()
        assert all(
            spec.start <= e.occurred_at < spec.start + timedelta(days=spec.days) for e in parsed
        )
        assert len({e.source for e in parsed}) >= 5


def test_labels_cover_every_finding_type_and_name_entities_in_the_data() -> None:
    labels = month().labels
    assert {label.type for label in labels} == set(TAXONOMY)
    keys = [(x.type, x.entity_kind, x.entity_key) for x in labels]
    assert len(set(keys)) == len(keys)
    refs = {(kind, value) for e in events() for kind, value in e.refs.items()}
    for label in labels:
        assert (label.entity_kind, label.entity_key) in refs, label
        assert label.entity_kind in SPEC_ENTITIES[label.type].split(), label


def test_each_type_is_injected_per_type_times_at_least() -> None:
    counts = month().label_counts()
    assert all(counts[name] >= 2 for name in TAXONOMY)


def test_clean_traffic_has_no_labels_and_sanctions_need_names() -> None:
    assert month(inject=False).labels == []
    without = labeled_month(small(sanctioned_names=()))
    assert "sanctions_alert" not in without.label_counts()
    assert labeled_month(small(per_type=0)).labels == []


def test_as_of_is_after_the_month() -> None:
    spec = small()
    assert month().as_of == spec.start + timedelta(days=spec.days + spec.as_of_days)


def test_generated_ibans_and_vat_numbers_are_valid_and_broken_ones_are_not() -> None:
    rng = random.Random(1)
    for country in ("DE", "AT", "NL"):
        for _ in range(50):
            good_iban, good_vat = make_iban(rng, country), make_vat(rng, country)
            assert iban.is_valid(good_iban), good_iban
            assert vat.is_valid(good_vat), good_vat
            assert not iban.is_valid(break_iban(good_iban))
            assert not vat.is_valid(break_vat(good_vat))
    assert iban_check_digits("DE", "370400440532013000") == "89"


def test_clean_suppliers_have_valid_ibans_vat_numbers_and_consistent_names() -> None:
    seen = 0
    for event in events(inject=False):
        attrs = event.attributes
        if event.type.startswith("supplier."):
            if "iban" in attrs:
                assert iban.is_valid(attrs["iban"])
                seen += 1
            if "vat_number" in attrs:
                assert vat.is_valid(attrs["vat_number"])
            if "account_holder_name" in attrs:
                assert attrs["account_holder_name"] == attrs["name"]
        if event.type == "invoice.created":
            assert vat.is_valid(attrs["vat_number"])
    assert seen >= small().suppliers


def test_clean_names_are_far_from_sanctioned_names() -> None:
    fields = ("customer_name", "name", "creditor_name", "account_holder_name")
    names = {e.attributes[f] for e in events(inject=False) for f in fields if f in e.attributes}
    assert len(names) > 20
    worst = max(name_score(a, b) for a in names for b in SANCTIONED)
    assert worst < 80


def test_clean_traffic_never_repeats_an_amount_inside_a_duplicate_window() -> None:
    by_key: dict[tuple[str, str, str, Decimal | None, str | None], list[datetime]] = defaultdict(
        list
    )
    for event in events(inject=False):
        party = (
            event.refs.customer
            if event.type in ("payment.succeeded", "order.created")
            else (event.refs.supplier if event.type == "invoice.created" else None)
        )
        if party is not None:
            by_key[(event.type, party, "", event.amount, event.currency)].append(event.occurred_at)
    window = {
        "payment.succeeded": timedelta(hours=1),
        "order.created": timedelta(minutes=10),
        "invoice.created": timedelta(days=7),
    }
    for key, times in by_key.items():
        times.sort()
        assert all(b - a > window[key[0]] for a, b in itertools.pairwise(times)), key


def test_clean_orders_are_paid_matched_and_shipped_within_two_days() -> None:
    created: dict[str, Event] = {}
    paid: dict[str, datetime] = {}
    shipped: dict[str, int] = {}
    payments: dict[str, Decimal] = {}
    for event in events(inject=False):
        order = event.refs.order
        if order is None:
            continue
        if event.type == "order.created":
            created[order] = event
            assert event.amount is not None
            assert event.amount < 5000
        elif event.type == "order.paid":
            paid[order] = event.occurred_at
        elif event.type == "fulfillment.created":
            assert order in paid
            assert event.occurred_at - paid[order] < timedelta(hours=48)
            shipped[order] = shipped.get(order, 0) + event.attributes["item_count"]
        elif event.type == "payment.succeeded":
            assert event.amount is not None
            payments[order] = payments.get(order, Decimal(0)) + event.amount
    assert created.keys() == paid.keys() == shipped.keys() == payments.keys()
    for order, event in created.items():
        assert payments[order] == event.amount
        assert shipped[order] == event.attributes["item_count"]


def test_write_labeled_month_writes_events_labels_and_spec(tmp_path: Path) -> None:
    spec = small()
    written = write_labeled_month(tmp_path / "out", spec)
    folder = tmp_path / "out"
    assert (folder / "events.jsonl").read_bytes() == b"".join(x + b"\n" for x in month().lines)
    with (folder / "labels.csv").open(newline="") as f:
        assert next(csv.reader(f)) == ["type", "entity_kind", "entity_key", "note"]
    assert read_labels(folder / "labels.csv") == written.labels == month().labels
    meta = json.loads((folder / "spec.json").read_text())
    assert meta["seed"] == spec.seed
    assert meta["as_of"] == "2026-10-17T00:00:00Z"
    assert meta["counts"]["events"] == len(month().lines)
    assert meta["counts"]["labels"] == len(month().labels)
    assert sorted(p.name for p in folder.iterdir()) == ["events.jsonl", "labels.csv", "spec.json"]


@pytest.mark.parametrize(
    "bad", [{"days": 3}, {"start": datetime(2026, 10, 1)}, {"per_type": -1}, {"as_of_days": 1}]
)
def test_a_bad_spec_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="LabeledSpec"):
        small(**bad)


def test_lines_are_compact_json_objects() -> None:
    first = msgspec.json.decode(month().lines[0])
    assert set(first) >= {"source", "external_id", "type", "occurred_at"}


def test_the_cli_writes_a_labeled_month(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from recoup.entrypoints.cli.main import create_cli

    monkeypatch.chdir(tmp_path)
    sdn = Path(__file__).resolve().parent.parent / "fixtures" / "sanctions" / "sdn-sample.csv"
    args = ["scenarios", "generate", "out", "--days", "8", "--per-type", "1", "--seed", "3"]
    result = CliRunner().invoke(create_cli(), [*args, "--sanctions-list", str(sdn)])

    assert result.exit_code == 0, result.output
    assert "labels" in result.output
    labels = read_labels(tmp_path / "out" / "labels.csv")
    assert {label.type for label in labels} == set(TAXONOMY)
    clean = CliRunner().invoke(
        create_cli(), ["scenarios", "generate", "clean", "--clean", "--days", "8"]
    )
    assert clean.exit_code == 0, clean.output
    assert read_labels(tmp_path / "clean" / "labels.csv") == []
