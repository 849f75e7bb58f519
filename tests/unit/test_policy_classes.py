"""Reusing a decision within an equivalence class of inputs gives exactly the decision (and the
trace) that evaluating would; anything the tables do with a number other than compare it with a
constant switches reuse off."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recoup.adapters.policy import DEFAULT_POLICY_PATH, ENTRY, load_policy
from recoup.adapters.policy.classes import class_key, numeric_cuts
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
