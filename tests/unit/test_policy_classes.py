"""Reusing a decision within an equivalence class of inputs gives exactly the decision (and the
trace) that evaluating would; anything the tables do with a number other than compare it with a
constant switches reuse off."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recoup.adapters.policy import DEFAULT_POLICY_PATH, ENTRY, load_policy
from recoup.adapters.policy.classes import class_key, numeric_cuts, read_fields
from recoup.domain.detection.taxonomy import TAXONOMY
from recoup.domain.policy import PolicyInput

DEFAULT = json.loads((DEFAULT_POLICY_PATH / ENTRY).read_text())
REUSING = load_policy(DEFAULT_POLICY_PATH)
EVALUATING = load_policy(DEFAULT_POLICY_PATH, reuse=False)


def test_the_default_pack_compares_amount_and_confidence_with_constants() -> None:
    assert numeric_cuts([DEFAULT]) == {
        "amount": (5.0, 100.0, 1000.0, 10000.0),
        "confidence": (0.9,),
    }
    assert REUSING.reuses_decisions
    assert not EVALUATING.reuses_decisions


def test_a_context_is_classed_by_the_interval_its_numbers_fall_in() -> None:
    cuts = {"amount": (5.0, 100.0)}

    def key(amount: Any) -> tuple[Any, ...]:
        return class_key({"type": "x", "amount": amount}, cuts)

    assert key(6.0) == key(99.99) != key(100.0) != key(100.01)
    assert key(4.99) != key(5.0) != key(5.01)
    assert key(None) != key(0.0)
    assert class_key({"type": "y", "amount": 6.0}, cuts) != key(6.0)


def _with_cell(table: str, column_field: str, cell: str) -> dict[str, Any]:
    graph = copy.deepcopy(DEFAULT)
    node = next(n for n in graph["nodes"] if n.get("name") == table)
    column = next(c for c in node["content"]["inputs"] if c["field"] == column_field)
    node["content"]["rules"][0][column["id"]] = cell
    return graph


@pytest.mark.parametrize(
    ("table", "field", "cell"),
    [
        ("impact", "amount", "> amount / 2"),  # not a constant
        ("impact", "amount", "$ * 2 > 100"),  # arithmetic on the number
        ("tier", "type", 'amount > 5 and $ == "payment_failed"'),  # another column reads it
        ("pause", "confidence", "> 0.5 and < 0.8"),  # not a plain comparison or range
    ],
)
def test_anything_but_comparisons_with_constants_switches_reuse_off(
    table: str, field: str, cell: str
) -> None:
    assert numeric_cuts([_with_cell(table, field, cell)]) is None


def test_ranges_and_lists_are_understood_and_an_output_naming_a_number_is_refused() -> None:
    cuts = numeric_cuts([_with_cell("impact", "amount", "[50..75), 300")])  # was ">= 10000"
    assert cuts is not None
    assert cuts["amount"] == (5.0, 50.0, 75.0, 100.0, 300.0, 1000.0)
    graph = copy.deepcopy(DEFAULT)
    node = next(n for n in graph["nodes"] if n.get("name") == "urgency")
    out = node["content"]["outputs"][0]["id"]
    node["content"]["rules"][0][out] = "amount / 10"
    assert numeric_cuts([graph]) is None
    graph["nodes"].append({"id": "x", "type": "expressionNode", "name": "x", "content": {}})
    assert numeric_cuts([graph]) is None


NEAR_CUTS = st.sampled_from([0, 4.99, 5, 5.01, 99.99, 100, 100.01, 999.99, 1000, 9999.99,
                             10000, 10000.01, 123456.78])  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(sorted(TAXONOMY)),
    amount=st.one_of(st.none(), NEAR_CUTS, st.decimals(0, 10**6, places=2).map(float)),
    confidence=st.one_of(st.none(), st.sampled_from([0.0, 0.5, 0.89, 0.9, 0.91, 1.0])),
    customer_tier=st.sampled_from([None, "vip", "standard"]),
)
def test_a_reused_decision_is_the_evaluated_decision_with_its_own_numbers(
    name: str, amount: float | None, confidence: float | None, customer_tier: str | None
) -> None:
    spec = TAXONOMY[name]
    inp = PolicyInput(
        type=name, category=spec.category.value, kind=spec.kind.value,
        breakpoint=spec.breakpoint.value, entity_kind=spec.entity,
        amount=None if amount is None else f"{amount:.2f}", currency="EUR",
        tier_hint=spec.tier.value, customer_tier=customer_tier, confidence=confidence,
    )  # fmt: skip
    assert REUSING.decide(inp) == EVALUATING.decide(inp)


FIELDS = ("type", "category", "kind", "breakpoint", "entity_kind", "amount", "currency",
          "reason_code", "tier_hint", "customer_tier", "supplier_tier", "confidence")  # fmt: skip


def test_the_fields_no_table_names_are_left_out_of_the_class() -> None:
    assert read_fields([DEFAULT], FIELDS) == {
        "type", "category", "kind", "amount", "tier_hint", "customer_tier", "supplier_tier",
        "confidence",
    }  # fmt: skip
    context = {"type": "x", "reason_code": "card_declined", "amount": 6.0}
    other = {**context, "reason_code": "insufficient_funds"}
    cuts = {"amount": (5.0, 100.0)}
    assert class_key(context, cuts, {"type", "amount"}) == class_key(
        other, cuts, {"type", "amount"}
    )
    assert class_key(context, cuts) != class_key(other, cuts)


@pytest.mark.parametrize(
    ("table", "field", "cell"),
    [
        ("tier", "type", '$root.reason_code == "x"'),  # the whole context
        ("tier", "type", "len(keys($root)) > 3"),
        ("tier", "type", '$nodes.finding.currency == "EUR"'),  # an earlier node's output
    ],
)
def test_a_cell_that_can_reach_any_field_keeps_every_field_in_the_class(
    table: str, field: str, cell: str
) -> None:
    assert read_fields([_with_cell(table, field, cell)], FIELDS) is None


def test_a_table_reading_a_sub_object_or_an_output_naming_dollar_keeps_every_field() -> None:
    graph = copy.deepcopy(DEFAULT)
    node = next(n for n in graph["nodes"] if n.get("name") == "sla")
    node["content"]["inputField"] = "finding"
    assert read_fields([graph], FIELDS) is None
    graph = copy.deepcopy(DEFAULT)
    node = next(n for n in graph["nodes"] if n.get("name") == "urgency")
    node["content"]["rules"][0][node["content"]["outputs"][0]["id"]] = "$"
    assert read_fields([graph], FIELDS) is None
    assert read_fields([_with_cell("tier", "type", '"$root"')], FIELDS) is not None  # a string


@settings(max_examples=200, deadline=None)
@given(
    name=st.sampled_from(sorted(TAXONOMY)),
    amount=st.one_of(st.none(), NEAR_CUTS),
    currency=st.sampled_from([None, "EUR", "USD", "JPY"]),
    reason_code=st.sampled_from([None, "card_declined", "insufficient_funds", "do_not_honor"]),
    entity_kind=st.sampled_from(["payment", "customer", "invoice"]),
)
def test_a_decision_reused_across_fields_no_table_reads_is_the_evaluated_decision(
    name: str, amount: float | None, currency: str | None, reason_code: str | None,
    entity_kind: str,
) -> None:  # fmt: skip
    spec = TAXONOMY[name]
    inp = PolicyInput(
        type=name, category=spec.category.value, kind=spec.kind.value,
        breakpoint=spec.breakpoint.value, entity_kind=entity_kind,
        amount=None if amount is None else f"{amount:.2f}", currency=currency,
        reason_code=reason_code, tier_hint=spec.tier.value,
    )  # fmt: skip
    assert REUSING.decide(inp) == EVALUATING.decide(inp)


def test_the_kind_stays_in_the_class_when_no_table_reads_it(tmp_path: Path) -> None:
    """The decision copies the input's kind (it makes the queue), so two inputs that differ
    only in kind never share a decision, whatever the tables read."""
    folder = tmp_path / "pack"
    shutil.copytree(DEFAULT_POLICY_PATH, folder)
    graph = json.loads((folder / ENTRY).read_text())
    control = next(n for n in graph["nodes"] if n.get("name") == "control")
    column = next(c for c in control["content"]["inputs"] if c["field"] == "kind")
    control["content"]["inputs"].remove(column)
    for rule in control["content"]["rules"]:
        rule.pop(column["id"], None)
    (folder / ENTRY).write_text(json.dumps(graph))
    assert "kind" not in (read_fields([graph], FIELDS) or {"kind"})
    reusing, evaluating = load_policy(folder), load_policy(folder, reuse=False)
    spec = TAXONOMY["payment_failed"]
    decisions = []
    for kind in ("system", "policy"):
        inp = PolicyInput(type=spec.name, category=spec.category.value, kind=kind,
                          breakpoint=spec.breakpoint.value, entity_kind=spec.entity)  # fmt: skip
        decisions.append(reusing.decide(inp))
        assert decisions[-1] == evaluating.decide(inp)
    assert [d.queue for d in decisions] == [
        f"{spec.owner_team}.system",
        f"{spec.owner_team}.policy",
    ]


def test_a_reused_decision_hands_out_its_own_trace() -> None:
    spec = TAXONOMY["refund_failed"]
    inp = PolicyInput(type=spec.name, category=spec.category.value, kind=spec.kind.value,
                      breakpoint=spec.breakpoint.value, entity_kind=spec.entity,
                      amount="250.00")  # fmt: skip
    first = REUSING.decide(inp)
    first.trace.clear()
    assert REUSING.decide(inp) == EVALUATING.decide(inp)
