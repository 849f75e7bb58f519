"""Recovered money and card attempts: the payment_failed ladder's retries against a naive schedule.

Every payment of the demo month whose first attempt was declined is retried twice, in the same
process, against the seeded PSP simulator (``adapters/psp/simulator.py``), each strategy with
its own ``SimulatedGateway`` of the same seed, so both face the same odds:

- **ladder**: the card retries the ``payment_failed`` ladder of the default policy pack makes
  (``ladders.toml``: retry after 1 day, repeated once a day later; an email; 3 days waiting for
  a new payment method; one more retry), each timed by the retry planner (``plan_retry``:
  funding days, backoffs, network windows; no retry after a hard decline, an expired card or
  wrong data that nobody fixed, or an unknown code), within the ladder's budget (6 steps,
  14 days). A retry step runs when both the ladder's wait and the planner's time have come.
- **naive**: a fixed dunning schedule: every 3 days, 4 times, whatever the decline said.

Both strategies are card retries only: the ladder's email and wait for a new payment method
recover nothing here (no customer answers), so neither side gets credit for the customer.

    .venv/bin/python bench/recovery.py                       # the demo month, seed 2026
    .venv/bin/python bench/recovery.py --seed 7 --days 10 --limit 500
    .venv/bin/python bench/recovery.py --ladders path/to/policy   # another ladders.toml

Target: the ladder recovers more money with fewer card attempts. The bench exits 0 either way
and says whether the target is met.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import msgspec

from recoup.adapters.clock import FixedClock
from recoup.adapters.policy.ladders import ladders_file, load_ladders
from recoup.adapters.psp.simulator import SimulatedGateway, profile_for
from recoup.adapters.simulation.demo_month import DemoSpec, demo_lines
from recoup.domain.detection.declines import classify_decline
from recoup.domain.money import Money
from recoup.domain.recovery.ladder import LadderSpec, StepKind
from recoup.domain.recovery.psp import RetryRequest
from recoup.domain.recovery.retries import Attempt, RetryPolicy, plan_retry

LADDER_TYPE = "payment_failed"
NAIVE_INTERVAL = timedelta(days=3)
NAIVE_RETRIES = 4
RECOVERED = "recovered"


@dataclass(frozen=True, slots=True)
class FailedPayment:
    """A payment whose first attempt was declined, as the demo month's event tells it."""

    ref: str
    amount: Money
    reason: str
    network: str
    failed_at: datetime

    @property
    def profile(self) -> str:
        """The simulator's odds profile of the decline (``funds``, ``issuer``, ``never`` ...)."""
        return profile_for(classify_decline(self.reason), new_payment_method=False)


@dataclass(frozen=True, slots=True)
class Trial:
    """What one strategy did to one payment: the times of its card retries, how it ended
    (``recovered``, a planner stop such as ``hard_decline``, ``ladder_budget`` or
    ``retries_used``), and the attempts the simulator itself counted for the payment."""

    payment: FailedPayment
    retried_at: tuple[datetime, ...]
    outcome: str
    simulator_attempts: int = 0

    @property
    def is_recovered(self) -> bool:
        return self.outcome == RECOVERED


@dataclass(frozen=True, slots=True)
class StrategyResult:
    """Every trial of one strategy."""

    strategy: str
    trials: tuple[Trial, ...]

    @property
    def attempts(self) -> int:
        return sum(len(t.retried_at) for t in self.trials)

    @property
    def is_consistent(self) -> bool:
        """Every retry counted here is one the simulator counted too."""
        return all(len(t.retried_at) == t.simulator_attempts for t in self.trials)

    def for_currency(self, currency: str) -> StrategyResult:
        trials = tuple(t for t in self.trials if t.payment.amount.currency == currency)
        return StrategyResult(self.strategy, trials)

    @property
    def failed_amount(self) -> dict[str, Decimal]:
        return _sums(t.payment.amount for t in self.trials)

    @property
    def recovered(self) -> dict[str, Decimal]:
        return _sums(t.payment.amount for t in self.trials if t.is_recovered)

    @property
    def recovered_payments(self) -> int:
        return sum(1 for t in self.trials if t.is_recovered)


def _sums(amounts: Iterable[Money]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for money in amounts:
        out[money.currency] = out.get(money.currency, Decimal(0)) + money.amount
    return out


# -- the demo month ------------------------------------------------------------------------


def failed_payments(spec: DemoSpec, limit: int | None = None) -> list[FailedPayment]:
    """The payments of the demo month whose first attempt failed, in time order (the demo's
    own later attempts are left out: both strategies start from the first decline)."""
    decode = msgspec.json.Decoder().decode
    out: list[FailedPayment] = []
    for line in demo_lines(spec):
        event = decode(line)
        if event["type"] != "payment.failed" or event["attributes"]["attempt"] != 1:
            continue
        out.append(
            FailedPayment(
                ref=event["refs"]["payment"],
                amount=Money(Decimal(event["amount"]), event["currency"]),
                reason=event["reason_code"],
                network=event["attributes"]["network"],
                failed_at=datetime.fromisoformat(event["occurred_at"]).astimezone(UTC),
            )
        )
        if limit is not None and len(out) >= limit:
            break
    return out


# -- the strategies ------------------------------------------------------------------------


class _Retrier:
    """One strategy's gateway and clock: registers each payment with its original decline and
    retries it at the time the strategy chose."""

    def __init__(self, strategy: str, seed: int) -> None:
        self.strategy = strategy
        self.clock = FixedClock()
        self.gateway = SimulatedGateway(seed, self.clock)

    def register(self, payment: FailedPayment) -> None:
        self.gateway.register(
            payment.ref, payment.reason, failed_at=payment.failed_at, network=payment.network
        )

    def retry(self, payment: FailedPayment, at: datetime, number: int) -> Attempt:
        self.clock.set(at)
        key = f"bench:{self.strategy}:{payment.ref}:{number}"
        outcome = self.gateway.retry_payment(RetryRequest(payment.ref, payment.amount, key))
        if outcome.status not in ("succeeded", "declined"):
            raise RuntimeError(f"{payment.ref}: the simulator answered {outcome}")
        return Attempt(
            at,
            outcome.network or payment.network,
            outcome.decline_code,
            outcome.advice_code,
            outcome.status == "succeeded",
            "scheduled",
        )


def _run(
    strategy: str,
    seed: int,
    payments: Sequence[FailedPayment],
    one: Callable[[_Retrier, FailedPayment], Trial],
) -> StrategyResult:
    retrier = _Retrier(strategy, seed)
    trials = []
    for payment in payments:
        retrier.register(payment)
        trial = one(retrier, payment)
        trials.append(replace(trial, simulator_attempts=retrier.gateway.attempts(payment.ref)))
    return StrategyResult(strategy, tuple(trials))


def ladder_retries(spec: LadderSpec) -> list[tuple[timedelta, int]]:
    """(wait, ladder steps run before it) of each card retry the ladder makes, in order; the
    non-retry steps before a retry add their wait (and a request_input step its timeout)."""
    out: list[tuple[timedelta, int]] = []
    carried, steps_run = timedelta(0), 0
    for step in spec.steps:
        if step.kind is StepKind.ESCALATE:
            break
        if step.kind is StepKind.RETRY:
            for _ in range(step.repeat):
                out.append((carried + step.wait, steps_run))
                carried, steps_run = timedelta(0), steps_run + 1
        else:
            carried += step.wait + (step.timeout or timedelta(0))
            steps_run += 1
    return out


def run_ladder(payments: Sequence[FailedPayment], seed: int, spec: LadderSpec) -> StrategyResult:
    """The ladder's card retries, each at the later of the ladder's due time and the planner's
    time, until a success, a planner stop or the ladder's budget (steps or days)."""
    policy = RetryPolicy(max_days=spec.budget.max_days)
    retries = ladder_retries(spec)
    max_steps = spec.budget.max_attempts

    def one(retrier: _Retrier, payment: FailedPayment) -> Trial:
        history = [
            Attempt(payment.failed_at, payment.network, payment.reason, None, False, "checkout")
        ]
        deadline = payment.failed_at + spec.budget.duration
        retried: list[datetime] = []
        last = payment.failed_at
        for wait, steps_before in retries:
            due = last + wait
            if steps_before >= max_steps or due > deadline:
                return Trial(payment, tuple(retried), "ladder_budget")
            plan = plan_retry(history, due, policy=policy)
            if plan.at is None:
                return Trial(payment, tuple(retried), plan.reason)
            if plan.at > deadline:
                return Trial(payment, tuple(retried), "ladder_budget")
            attempt = retrier.retry(payment, plan.at, len(retried) + 1)
            history.append(attempt)
            retried.append(plan.at)
            if attempt.succeeded:
                return Trial(payment, tuple(retried), RECOVERED)
            last = plan.at
        return Trial(payment, tuple(retried), "retries_used")

    return _run("ladder", seed, payments, one)


def run_naive(
    payments: Sequence[FailedPayment],
    seed: int,
    *,
    interval: timedelta = NAIVE_INTERVAL,
    count: int = NAIVE_RETRIES,
) -> StrategyResult:
    """Every ``interval`` after the decline, ``count`` times, whatever the decline said."""

    def one(retrier: _Retrier, payment: FailedPayment) -> Trial:
        retried: list[datetime] = []
        for number in range(1, count + 1):
            at = payment.failed_at + number * interval
            retried.append(at)
            if retrier.retry(payment, at, number).succeeded:
                return Trial(payment, tuple(retried), RECOVERED)
        return Trial(payment, tuple(retried), "retries_used")

    return _run("naive", seed, payments, one)


@dataclass(frozen=True, slots=True)
class Comparison:
    ladder: StrategyResult
    naive: StrategyResult
    currencies: tuple[str, ...] = field(default=())

    @property
    def is_met(self) -> bool:
        """More money recovered in every currency, with fewer card attempts in all."""
        more = all(
            self.ladder.recovered.get(c, Decimal(0)) > self.naive.recovered.get(c, Decimal(0))
            for c in self.currencies
        )
        return more and self.ladder.attempts < self.naive.attempts


def compare(payments: Sequence[FailedPayment], seed: int, spec: LadderSpec) -> Comparison:
    """Both strategies on the same payments, each with its own simulator of the same seed."""
    currencies = tuple(sorted({p.amount.currency for p in payments}))
    return Comparison(run_ladder(payments, seed, spec), run_naive(payments, seed), currencies)


# -- the report ----------------------------------------------------------------------------


def _ratio(a: Decimal | int, b: Decimal | int) -> str:
    return f"{Decimal(a) / Decimal(b):.2f}" if b else "n/a"


def _row(label: str, currency: str, result: StrategyResult) -> str:
    failed = result.failed_amount.get(currency, Decimal(0))
    recovered = result.recovered.get(currency, Decimal(0))
    rate = f"{recovered / failed:.1%}" if failed else "n/a"
    per_attempt = f"{recovered / result.attempts:.2f}" if result.attempts else "n/a"
    return (
        f"  {label:<8} {len(result.trials):>8} {result.attempts:>9} {recovered:>16,.2f} "
        f"{result.recovered_payments:>19} {rate:>14} {per_attempt:>18}"
    )


def report(comparison: Comparison) -> None:
    ladder, naive = comparison.ladder, comparison.naive
    for currency in comparison.currencies:
        print(f"\n{currency}: card retries only (no customer-side recovery in either strategy)")
        print(
            f"  {'strategy':<8} {'payments':>8} {'attempts':>9} {f'recovered ({currency})':>16} "
            f"{'recovered payments':>19} {'recovery rate':>14} "
            f"{'money per attempt':>18}"
        )
        mine, theirs = ladder.for_currency(currency), naive.for_currency(currency)
        print(_row("ladder", currency, mine))
        print(_row("naive", currency, theirs))
        money = _ratio(mine.recovered.get(currency, 0), theirs.recovered.get(currency, 0))
        print(
            f"  ladder/naive: recovered {money}, attempts {_ratio(mine.attempts, theirs.attempts)}"
        )
    print(
        f"\nall currencies: attempts ladder {ladder.attempts:,} / naive {naive.attempts:,} "
        f"= {_ratio(ladder.attempts, naive.attempts)}; recovered payments "
        f"{ladder.recovered_payments:,} / {naive.recovered_payments:,} = "
        f"{_ratio(ladder.recovered_payments, naive.recovered_payments)}"
    )
    print("\nby decline profile (the simulator's odds table): attempts, recovered payments")
    profiles = Counter(t.payment.profile for t in ladder.trials)
    for profile, count in profiles.most_common():
        cells = []
        for result in (ladder, naive):
            trials = [t for t in result.trials if t.payment.profile == profile]
            attempts = sum(len(t.retried_at) for t in trials)
            cells.append(
                f"{result.strategy} {attempts:>5} / {sum(t.is_recovered for t in trials):>4}"
            )
        print(f"  {profile:<15} {count:>5} payments   " + "   ".join(cells))
    stops = Counter(t.outcome for t in ladder.trials)
    print(
        "\nhow the ladder's trials ended: " + ", ".join(f"{k} {v}" for k, v in stops.most_common())
    )
    verdict = "met" if comparison.is_met else "NOT met"
    print(f"\ntarget: ladder recovers more with fewer attempts: {verdict}")


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seed",
        type=int,
        default=DemoSpec.seed,
        help="seed of the demo month and of both simulators",
    )
    parser.add_argument("--days", type=int, default=DemoSpec.days, help="length of the month")
    parser.add_argument(
        "--payments",
        type=int,
        default=DemoSpec.payments,
        help="payments in the month (about 9%% fail)",
    )
    parser.add_argument("--limit", type=int, default=None, help="at most this many failed payments")
    parser.add_argument(
        "--ladders",
        type=Path,
        default=None,
        help="a ladders.toml or policy folder (default: the default pack)",
    )
    args = parser.parse_args()

    started = time.perf_counter()
    spec = DemoSpec(seed=args.seed, payments=args.payments, days=args.days)
    payments = failed_payments(spec, args.limit)
    ladder = load_ladders(args.ladders)[LADDER_TYPE]
    comparison = compare(payments, args.seed, ladder)
    for result in (comparison.ladder, comparison.naive):
        assert result.is_consistent, f"{result.strategy}: attempts differ from the simulator's"
    print(
        f"demo month: seed {args.seed}, {args.days} days, {args.payments:,} payments; "
        f"{len(payments):,} failed on their first attempt"
    )
    print(
        f"ladder: {LADDER_TYPE} ({_shown(ladders_file(args.ladders))}), at most "
        f"{len(ladder_retries(ladder))} card retries, budget {ladder.budget.max_attempts} "
        f"steps within {ladder.budget.max_days} days, timed by plan_retry; naive: every "
        f"{NAIVE_INTERVAL.days} days, {NAIVE_RETRIES} times, decline codes ignored"
    )
    report(comparison)
    print(f"({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
