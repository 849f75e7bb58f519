"""SLA timer firing: how fast the worker fires due timers while a large number are pending, and
how late a timer fires after its due time, on SQLite and PostgreSQL.

Setup: ``--pending`` timers (two per case: goal and deadline) in a scratch store, almost all due
in the future. Then:

1. **Throughput.** ``--due`` of them are due; ``fire_sla_timers`` fires them in chunks of 500
   (claim, apply, mark fired, audit: one transaction per chunk). The baseline is the same code
   with chunks of one timer, in the same process on the same store.
2. **Lateness.** ``--stream`` timers come due over ``--seconds`` seconds of wall-clock time while
   a worker loop polls every 0.2 s; lateness is fired_at - due_at, reported as p50, p99 and max.

    .venv/bin/python bench/timers.py                          # 1,000,000 pending, both databases
    .venv/bin/python bench/timers.py --pending 200000 --backends sqlite

Targets (issue 5): >= 5,000 timers/s with 1,000,000 pending; p99 lateness <= 1 s.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from recoup.adapters.clock import FixedClock, SystemClock
from recoup.adapters.store import tables as t
from recoup.adapters.store.bulk import Bulk
from recoup.adapters.store.rows import CASE_COLUMNS, TIMER_COLUMNS, case_values, timer_values
from recoup.bootstrap import App, bootstrap
from recoup.domain.cases.case import Case, CaseStatus, open_key
from recoup.domain.cases.casing import Timer
from recoup.domain.detection.taxonomy import Tier
from recoup.services.worker import fire_sla_timers
from recoup.settings import DatabaseSettings, Settings
from scratch import scratch_store

PAST = datetime(2026, 1, 1, tzinfo=UTC)
FUTURE = datetime(2099, 1, 1, tzinfo=UTC)


def _case(n: int) -> Case:
    return Case(
        id=f"00000000-0000-4000-8000-{n:012d}",
        type="payment_failed", category="payments", entity_kind="payment",
        entity_key=f"pi_{n}", status=CaseStatus.NEW, tier=Tier.GUIDED,
        owner_team="payments_ops", queue="payments_ops.system", breakpoint="transaction",
        kind="system", title="bench", opened_at=PAST, updated_at=PAST, first_seen_at=PAST,
        last_seen_at=PAST, sla_goal_at=FUTURE, sla_due_at=FUTURE, pauses_automation=False,
        finding_count=1, open_key=open_key("payment_failed", "payment", f"pi_{n}"),
    )  # fmt: skip


def seed(app: App, cases: int, due: dict[int, datetime]) -> None:
    """``cases`` cases with a goal and a deadline timer each; ``due`` gives some goals a due
    time (the rest are due in 2099)."""
    step = 20_000
    for start in range(0, cases, step):
        with app.engine.begin() as conn:
            b = Bulk(conn)
            batch = [_case(n) for n in range(start, min(start + step, cases))]
            b.insert(t.cases, CASE_COLUMNS, [case_values(b, c) for c in batch])
            timers = []
            for n, case in zip(range(start, start + len(batch)), batch, strict=True):
                goal = due.get(n, FUTURE)
                timers.append(Timer(f"10000000-0000-4000-8000-{n:012d}", case.id, "sla_goal", goal))
                timers.append(Timer(f"20000000-0000-4000-8000-{n:012d}", case.id,
                                    "sla_deadline", FUTURE))  # fmt: skip
            b.insert(t.timers, TIMER_COLUMNS, [timer_values(b, x) for x in timers])
        pass
    if app.engine.dialect.name == "postgresql":
        with app.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE cases")
            conn.exec_driver_sql("ANALYZE timers")


def throughput(app: App, chunk: int) -> tuple[int, float]:
    started = time.perf_counter()
    report = fire_sla_timers(uow=app.uow, clock=FixedClock(PAST + timedelta(days=1)), chunk=chunk)
    return report.due, time.perf_counter() - started


def lateness(app: App, first: int, count: int, seconds: float) -> list[float]:
    """Timers ``first``.. come due over ``seconds`` from now; a worker loop fires them."""
    start = datetime.now(UTC) + timedelta(seconds=1)
    tm = t.timers.c
    with app.engine.begin() as conn:
        for i in range(count):
            due_at = start + timedelta(seconds=seconds * i / count)
            conn.execute(
                t.timers.update()
                .where(tm.id == f"10000000-0000-4000-8000-{first + i:012d}")
                .values(due_at=due_at)
            )
    clock = SystemClock()
    deadline = time.monotonic() + seconds + 5
    while time.monotonic() < deadline:
        fire_sla_timers(uow=app.uow, clock=clock)
        time.sleep(0.2)
    ids = [f"10000000-0000-4000-8000-{first + i:012d}" for i in range(count)]
    with app.engine.connect() as conn:
        rows = conn.execute(sa.select(tm.due_at, tm.fired_at).where(tm.id.in_(ids[:30_000]))).all()
    return sorted((fired - due).total_seconds() for due, fired in rows if fired is not None)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pending", type=int, default=1_000_000, help="timers pending")
    parser.add_argument("--due", type=int, default=20_000, help="timers due for throughput")
    parser.add_argument("--baseline", type=int, default=1_000, help="due timers, chunks of 1")
    parser.add_argument("--stream", type=int, default=5_000, help="timers for lateness")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    cases = args.pending // 2
    print(f"{cases * 2:,} timers pending ({cases:,} cases); {args.due:,} due, baseline "
          f"{args.baseline:,} one per transaction; {args.stream:,} streamed over "
          f"{args.seconds:g} s")  # fmt: skip
    rows = []
    for backend in args.backends.split(","):
        with scratch_store(backend) as url:
            app = bootstrap(Settings(database=DatabaseSettings(url=url)))
            app.ensure_schema()
            base_first = args.due
            stream_first = args.due + args.baseline
            due = {n: PAST for n in range(args.due)}
            seed(app, cases, due)
            fired, elapsed = throughput(app, 500)
            rate = fired / elapsed
            with app.engine.begin() as conn:  # the baseline's timers come due now
                tm = t.timers.c
                ids = [f"10000000-0000-4000-8000-{n:012d}"
                       for n in range(base_first, base_first + args.baseline)]  # fmt: skip
                conn.execute(t.timers.update().where(tm.id.in_(ids)).values(due_at=PAST))
            base_fired, base_elapsed = throughput(app, 1)
            base_rate = base_fired / base_elapsed
            late = lateness(app, stream_first, args.stream, args.seconds)
            app.close()
        rows.append((backend, rate, base_rate, late))
        print(f"  {backend}: {fired:,} fired in {elapsed:.1f} s")
    print(f"{'backend':<12}{'timers/s':>10}{'baseline/s':>12}{'ratio':>8}"
          f"{'p50 late':>10}{'p99 late':>10}{'max late':>10}")  # fmt: skip
    for backend, rate, base_rate, late in rows:
        print(f"{backend:<12}{rate:>10,.0f}{base_rate:>12,.0f}{rate / base_rate:>7.1f}x"
              f"{percentile(late, 50):>9.2f}s{percentile(late, 99):>9.2f}s"
              f"{(late[-1] if late else float('nan')):>9.2f}s")  # fmt: skip


if __name__ == "__main__":
    main()
