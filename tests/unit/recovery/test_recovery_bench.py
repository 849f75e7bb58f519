"""bench/recovery.py: the ladder's retries against a naive schedule, on the PSP simulator.

The bench's figures are only worth reading if every retry it counts is a real call to the
simulator, the naive schedule really ignores the decline codes and the ladder really follows
the planner; these tests check that on a few hand-made payments and a small demo month.
"""

from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from recoup.adapters.clock import FixedClock
from recoup.adapters.policy.ladders import load_ladders
from recoup.adapters.psp.simulator import SimulatedGateway
from recoup.adapters.simulation.demo_month import DemoSpec
from recoup.domain.money import Money
from recoup.domain.recovery.ladder import LadderSpec
from recoup.domain.recovery.psp import RetryRequest
from recoup.domain.recovery.retries import is_funding_date

BENCH = Path(__file__).resolve().parents[3] / "bench" / "recovery.py"
SEED = 11
MONDAY = datetime(2026, 10, 5, 14, 30, tzinfo=UTC)  # outside any funding window
D = timedelta(days=1)


@cache
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("recoup_bench_recovery", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


@cache
def ladder() -> LadderSpec:
    return load_ladders()["payment_failed"]


def payment(ref: str, reason: str, *, network: str = "visa", at: datetime = MONDAY) -> Any:
    return bench().FailedPayment(ref, Money(Decimal("40.00"), "EUR"), reason, network, at)


def only(result: Any) -> Any:
    (trial,) = result.trials
    return trial


@pytest.mark.parametrize(
    ("reason", "stop"),
    [
        ("stripe:stolen_card", "hard_decline"),
        ("visa:14", "hard_decline"),
        ("stripe:expired_card", "needs_data"),
        ("mc:54", "needs_data"),
    ],
)
def test_naive_retries_a_final_decline_four_times_and_the_ladder_never(
    reason: str, stop: str
) -> None:
    given = [payment("pi_final", reason, network="mastercard" if reason[:3] == "mc:" else "visa")]

    naive = only(bench().run_naive(given, SEED))
    ladder_ = only(bench().run_ladder(given, SEED, ladder()))

    assert naive.retried_at == tuple(MONDAY + n * 3 * D for n in (1, 2, 3, 4))
    assert naive.outcome == "retries_used"
    assert naive.simulator_attempts == 4
    assert (ladder_.retried_at, ladder_.outcome, ladder_.simulator_attempts) == ((), stop, 0)


def test_ladder_retries_insufficient_funds_on_funding_days_within_its_budget() -> None:
    given = [payment(f"pi_funds_{n}", "stripe:insufficient_funds") for n in range(40)]

    result = bench().run_ladder(given, SEED, ladder())

    times = [at for trial in result.trials for at in trial.retried_at]
    assert times
    assert all(is_funding_date(at.date()) and at.hour == 9 for at in times)
    assert all(MONDAY + D <= at <= MONDAY + 14 * D for at in times)
    assert max(len(trial.retried_at) for trial in result.trials) <= 4
    assert result.is_consistent


def test_default_ladder_makes_four_card_retries() -> None:
    # retry after 1d, twice more 1d apart; email 2h later; 3 days for a new card; one more retry
    assert bench().ladder_retries(ladder()) == [
        (D, 0),
        (D, 1),
        (D, 2),
        (timedelta(days=3, hours=2), 5),
    ]


def test_every_counted_retry_is_a_simulator_call_that_replays_the_same() -> None:
    sample = bench().failed_payments(DemoSpec(seed=SEED, payments=1_500, days=4), limit=60)
    assert len(sample) == 60

    comparison = bench().compare(sample, SEED, ladder())

    for result in (comparison.ladder, comparison.naive):
        assert result.is_consistent
        assert result.attempts == sum(t.simulator_attempts for t in result.trials) > 0
        assert result.recovered_payments > 0
        for trial in result.trials:
            # a fresh simulator of the same seed, asked at the same times, answers the same
            clock = FixedClock(trial.payment.failed_at)
            gateway = SimulatedGateway(SEED, clock)
            gateway.register(
                trial.payment.ref,
                trial.payment.reason,
                failed_at=trial.payment.failed_at,
                network=trial.payment.network,
            )
            statuses = []
            for number, at in enumerate(trial.retried_at, 1):
                clock.set(at)
                request = RetryRequest(trial.payment.ref, trial.payment.amount, f"replay:{number}")
                statuses.append(gateway.retry_payment(request).status)
            won = ["succeeded"] if trial.is_recovered else []
            assert statuses == ["declined"] * (len(statuses) - len(won)) + won
    assert comparison.ladder.attempts < comparison.naive.attempts


def test_recovered_money_is_summed_per_currency() -> None:
    def failed(ref: str, amount: str, currency: str) -> Any:
        return bench().FailedPayment(
            ref, Money(Decimal(amount), currency), "stripe:processing_error", "visa", MONDAY
        )

    given = [
        failed("pi_a", "10.50", "EUR"),
        failed("pi_b", "7.25", "USD"),
        failed("pi_c", "3", "EUR"),
    ]

    result = bench().run_naive(given, SEED)

    # processing errors clear at 90% on a later day: with this seed all three on the first retry
    assert [(t.outcome, len(t.retried_at)) for t in result.trials] == [("recovered", 1)] * 3
    assert result.recovered == {"EUR": Decimal("13.50"), "USD": Decimal("7.25")}
    assert result.failed_amount == result.recovered
    assert result.recovered_payments == 3
