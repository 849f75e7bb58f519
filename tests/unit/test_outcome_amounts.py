"""A source's own outcome fills the case's outcome figures: recovered, lost, written off."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from recoup.domain.cases.outcomes import Resolution, settle_amounts
from tests.unit.test_urgency_and_claims import case

NOW = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


def resolution(outcome: str, amount: str | None = None, currency: str | None = "EUR") -> Resolution:
    return Resolution("dispute_opened", (("dispute", "dp_1"),), outcome, NOW, "ev1",
                      None if amount is None else Decimal(amount), currency, "s")  # fmt: skip


@pytest.mark.parametrize(
    ("outcome", "field"),
    [("won", "recovered_amount"), ("recovered", "recovered_amount"),
     ("settled", "recovered_amount"), ("lost", "lost_amount"),
     ("written_off", "written_off_amount")],
)  # fmt: skip
def test_each_money_outcome_fills_its_figure_with_the_money_at_stake(
    outcome: str, field: str
) -> None:
    c = case(amount="100.00")
    settle_amounts(c, resolution(outcome))
    assert getattr(c, field) == Decimal("100.00")


def test_the_sources_amount_counts_when_it_is_in_the_cases_currency_and_not_more() -> None:
    partial = case(amount="100.00")
    settle_amounts(partial, resolution("won", "60.00"))
    assert partial.recovered_amount == Decimal("60.00")
    other = case(amount="100.00")
    settle_amounts(other, resolution("won", "60.00", "USD"))
    assert other.recovered_amount == Decimal("100.00")
    capped = case(amount="100.00")
    settle_amounts(capped, resolution("won", "150.00"))
    assert capped.recovered_amount == Decimal("100.00")


def test_outcomes_without_money_leave_the_figures_alone() -> None:
    c = case(amount="100.00")
    settle_amounts(c, resolution("shipped"))
    assert (c.recovered_amount, c.lost_amount, c.written_off_amount) == (None, None, None)
