"""The synthetic reconciliation dataset: deterministic, in the engine's schemas, and its truth
is consistent with the records (the benches score the engine against it)."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace
from decimal import Decimal

import pyarrow as pa
import pytest
from rapidfuzz.distance import Levenshtein

from recoup.adapters.reconcile.synthetic import (
    INVOICE_NOISE,
    SyntheticDataset,
    SyntheticSpec,
    generate,
)
from recoup.domain.errors import InvalidInputError

SPEC = SyntheticSpec(payments=6_000, seed=11)


@pytest.fixture(scope="module")
def data() -> SyntheticDataset:
    return generate(SPEC)


def _rows(table: pa.Table) -> dict[str, dict[str, object]]:
    return {row["id"]: row for row in table.to_pylist()}


def test_the_same_seed_gives_the_same_tables_and_another_seed_does_not() -> None:
    first, again = generate(SPEC), generate(SPEC)
    other = generate(replace(SPEC, seed=12))

    for name in ("left", "right", "truth", "unmatched"):
        assert getattr(first, name).equals(getattr(again, name)), name
    assert not first.right.equals(other.right)


def test_the_tables_have_the_schemas_of_the_shared_interface(data: SyntheticDataset) -> None:
    s, amount, day = pa.string(), pa.decimal128(18, 4), pa.date32()
    left = [("id", s), ("kind", s), ("amount", amount), ("currency", s), ("date", day),
            ("reference", s), ("name", s), ("payment_ref", s), ("payout_ref", s),
            ("end_to_end", s), ("fx_rate", pa.decimal128(18, 8))]  # fmt: skip
    right = [("id", s), ("amount", amount), ("currency", s), ("date", day), ("reference", s),
             ("name", s), ("end_to_end", s), ("payout_ref", s), ("kind", s)]  # fmt: skip

    assert [(f.name, f.type) for f in data.left.schema] == left
    assert [(f.name, f.type) for f in data.right.schema] == right
    assert not data.left.schema.field("id").nullable
    assert not data.right.schema.field("id").nullable
    assert set(data.left.column("kind").to_pylist()) == {
        "invoice", "order", "charge", "refund", "fee", "adjustment",
    }  # fmt: skip
    assert set(data.right.column("kind").to_pylist()) == {"bank_line"}


def test_ids_are_unique_and_every_record_is_in_the_truth_or_known_unmatched(
    data: SyntheticDataset,
) -> None:
    left_ids = data.left.column("id").to_pylist()
    right_ids = data.right.column("id").to_pylist()
    assert len(set(left_ids)) == len(left_ids)
    assert len(set(right_ids)) == len(right_ids)

    truth = data.truth.to_pylist()
    unmatched = data.unmatched.to_pylist()
    in_truth_left = {t["left_id"] for t in truth}
    in_truth_right = {t["right_id"] for t in truth}
    alone_left = {u["item_id"] for u in unmatched if u["side"] == "left"}
    alone_right = {u["item_id"] for u in unmatched if u["side"] == "right"}

    assert in_truth_left | alone_left == set(left_ids)
    assert in_truth_right | alone_right == set(right_ids)
    assert not in_truth_left & alone_left
    assert not in_truth_right & alone_right
    assert len({(t["left_id"], t["right_id"]) for t in truth}) == len(truth)
    for u in unmatched:
        assert (u["duplicate_of"] is not None) == (u["reason"] == "duplicate")
        assert u["duplicate_of"] is None or u["duplicate_of"] in in_truth_right


def test_a_payout_line_is_the_exact_sum_of_its_members(data: SyntheticDataset) -> None:
    left, right = _rows(data.left), _rows(data.right)
    groups: dict[str, list[dict[str, object]]] = {}
    for t in data.truth.to_pylist():
        if t["pattern"] == "many_to_one":
            groups.setdefault(t["match_group"], []).append(t)

    assert len(groups) > 100
    for pairs in groups.values():
        (line_id,) = {p["right_id"] for p in pairs}
        members = [left[p["left_id"]] for p in pairs]
        line = right[line_id]
        total = sum((m["amount"] for m in members), Decimal(0))
        assert isinstance(line["amount"], Decimal)
        assert total == line["amount"] > 0
        assert {m["currency"] for m in members} == {line["currency"]}
        assert {m["payout_ref"] for m in members} == {line["reference"].split()[-1]}
        assert line["payout_ref"] in (None, members[0]["payout_ref"])


def test_amounts_of_each_noise_kind_relate_as_described(data: SyntheticDataset) -> None:
    left, right = _rows(data.left), _rows(data.right)
    by_group: dict[str, list[dict[str, object]]] = {}
    for t in data.truth.to_pylist():
        if t["pattern"] != "many_to_one" and left[t["left_id"]]["kind"] == "invoice":
            by_group.setdefault(t["match_group"], []).append(t)
    seen = Counter()
    for pairs in by_group.values():
        noise = pairs[0]["noise"]
        seen[noise] += 1
        invoice = left[pairs[0]["left_id"]]
        lines = [right[p["right_id"]] for p in pairs]
        paid = sum((line["amount"] for line in lines), Decimal(0))
        if noise == "partial":
            assert len(lines) == 2
            assert paid == invoice["amount"]
            assert all(0 < line["amount"] < invoice["amount"] for line in lines)
        elif noise == "bank_fee":
            assert Decimal("0.10") <= invoice["amount"] - paid <= SPEC.bank_fee_max
        elif noise == "fx":
            assert lines[0]["currency"] != invoice["currency"]
            converted = invoice["amount"] * invoice["fx_rate"]
            assert converted * Decimal("0.985") <= paid <= converted * Decimal("1.005")
        else:
            assert len(lines) == 1
            assert paid == invoice["amount"]
            assert lines[0]["currency"] == invoice["currency"]
            assert invoice["fx_rate"] is None
    assert set(seen) == set(INVOICE_NOISE) - {"orphan_left"}


def test_a_duplicated_bank_line_repeats_its_original_but_for_the_id(
    data: SyntheticDataset,
) -> None:
    right = _rows(data.right)
    duplicates = [u for u in data.unmatched.to_pylist() if u["reason"] == "duplicate"]

    assert duplicates
    for u in duplicates:
        copy, original = dict(right[u["item_id"]]), dict(right[u["duplicate_of"]])
        assert copy.pop("id") != original.pop("id")
        assert copy == original


def test_noisy_references_are_changed_the_way_their_kind_says(data: SyntheticDataset) -> None:
    left, right = _rows(data.left), _rows(data.right)
    checked = Counter()
    for t in data.truth.to_pylist():
        expected = left[t["left_id"]]
        if expected["kind"] != "invoice":
            continue
        ref, bank = expected["reference"], right[t["right_id"]]["reference"]
        match t["noise"]:
            case "reference_typo":
                assert 1 <= Levenshtein.distance(ref, bank) <= 2, (ref, bank)
            case "reference_truncated":
                assert ref not in bank
                assert ref[:-3] in bank
            case "reference_extra":
                assert ref in bank
                assert len(bank) > len(ref)
            case "clean" | "bank_fee" | "fx" | "duplicate" | "partial":
                assert bank == ref
        checked[t["noise"]] += 1
    assert {"reference_typo", "reference_truncated", "reference_extra"} <= set(checked)


def test_noise_kinds_and_date_shifts_appear_at_the_configured_rates() -> None:
    spec = SyntheticSpec(payments=40_000, seed=5, payout_share=0.0, order_share=0.0)
    data = generate(spec)
    invoices = data.left.num_rows
    kinds = {t["left_id"]: t["noise"] for t in data.truth.to_pylist()}
    counts = Counter(kinds.values())
    counts["orphan_left"] = sum(1 for u in data.unmatched.to_pylist() if u["side"] == "left")
    left, right = _rows(data.left), _rows(data.right)

    for kind, rate in zip(INVOICE_NOISE, spec.noise_rates(), strict=True):
        tolerance = 4 * math.sqrt(rate * (1 - rate) / invoices) + 1e-9
        assert abs(counts[kind] / invoices - rate) <= tolerance, (kind, counts[kind])
    orphans = sum(1 for u in data.unmatched.to_pylist() if u["reason"] == "orphan")
    assert orphans - counts["orphan_left"] == round(spec.payments * spec.orphan_right)

    shifts = Counter(
        (right[t["right_id"]]["date"] - left[t["left_id"]]["date"]).days
        for t in data.truth.to_pylist()
        if t["noise"] == "clean"
    )
    total = sum(shifts.values())
    assert set(shifts) == {0, 1, 2, 3}
    for days, weight in enumerate(spec.date_shift_weights):
        assert abs(shifts[days] / total - weight) <= 4 * math.sqrt(weight / total)


def test_orders_share_the_payment_ref_and_amount_of_their_invoice(data: SyntheticDataset) -> None:
    left = _rows(data.left)
    groups: dict[str, set[str]] = {}
    for t in data.truth.to_pylist():
        if t["pattern"] == "three_way":
            groups.setdefault(t["match_group"], set()).add(t["left_id"])

    assert groups
    for members in groups.values():
        kinds = sorted(left[i]["kind"] for i in members)
        assert kinds == ["invoice", "order"]
        order, invoice = sorted((left[i] for i in members), key=lambda r: r["kind"] != "order")
        assert order["payment_ref"] == invoice["payment_ref"]
        assert order["amount"] == invoice["amount"]


def test_rates_that_add_up_to_more_than_one_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="noise rates"):
        generate(replace(SPEC, reference_extra=0.9, fx=0.2))
