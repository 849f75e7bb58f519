"""Guardrails: policy fields get advice only, open fields are filled only at the band."""

from __future__ import annotations

from copy import deepcopy

import pytest

from recoup.domain.assist.guardrails import check_band, guard, needs_person, policy_view
from recoup.domain.assist.model import Prediction, SuggestionStatus, Verdict
from tests.unit.assist.cases import T, a_case


@pytest.mark.parametrize("field", ["type", "owner_team"])
@pytest.mark.parametrize("confidence", [0.1, 0.95, 1.0])
def test_a_policy_field_is_advice_whatever_the_confidence(field: str, confidence: float) -> None:
    case = a_case()
    before = deepcopy(case)

    s = guard(case, field, Prediction("fraud_review", confidence), 0.9, "m1", T)

    assert s.status is SuggestionStatus.ADVISORY
    assert s.agrees_with_policy is False
    assert s.value_in_force is None
    assert case == before
    assert policy_view(case) == policy_view(before)


def test_advice_that_agrees_with_policy_needs_no_person() -> None:
    s = guard(a_case(), "owner_team", Prediction("payments_ops", 0.6), 0.9, "m1", T)

    assert (s.status, s.agrees_with_policy) == (SuggestionStatus.ADVISORY, True)
    assert needs_person([s]) is False


@pytest.mark.parametrize(
    ("confidence", "status", "in_force"),
    [
        (0.9, SuggestionStatus.AUTO_ACCEPTED, "expired_card"),
        (0.97, SuggestionStatus.AUTO_ACCEPTED, "expired_card"),
        (0.8999, SuggestionStatus.NEEDS_PERSON, None),
    ],
)
def test_an_open_field_is_filled_only_at_the_band(
    confidence: float, status: SuggestionStatus, in_force: str | None
) -> None:
    s = guard(a_case(), "root_cause", Prediction("expired_card", confidence), 0.9, "m1", T)

    assert (s.status, s.value_in_force, s.model_version) == (status, in_force, "m1")
    assert needs_person([s]) is (status is SuggestionStatus.NEEDS_PERSON)


def test_an_operator_verdict_wins_and_settles_the_need_for_a_person() -> None:
    from dataclasses import replace

    low = guard(a_case(), "next_action", Prediction("retry_later", 0.4), 0.9, "m1", T)
    decided = replace(low, verdict=Verdict.OVERRIDDEN, final_value="contact_customer")

    assert needs_person([low]) is True
    assert needs_person([decided]) is False
    assert decided.value_in_force == "contact_customer"


@pytest.mark.parametrize("band", [0.49, 1.01])
def test_the_band_must_be_a_probability_above_a_coin_flip(band: float) -> None:
    with pytest.raises(ValueError, match=r"between 0\.5 and 1"):
        check_band(band)
