"""Ingest throughput: canonical events through parse, dedupe, persist, correlate, detect, cases
and audit, in process, on SQLite and PostgreSQL.

Every detector runs and every new case is routed by the default policy pack. The baseline is
the same code path committing once per event (batch size 1), run in the same
process on a fresh store, so the ratio does not depend on how busy the machine is.

    .venv/bin/python bench/ingest.py                    # 100,000 events, both databases
    .venv/bin/python bench/ingest.py --backends sqlite --events 20000

Targets on a 2-core machine: >= 30,000 events/s on SQLite, >= 15,000 on PostgreSQL, and >= 5x
the per-event-commit baseline.
"""

from __future__ import annotations

import argparse
import itertools
import time

from recoup.adapters.clock import SystemClock
from recoup.adapters.simulation.demo_month import DemoSpec, demo_lines
from recoup.bootstrap import bootstrap
from recoup.services.ingest import IngestReport, RawRecord, ingest_records
from recoup.settings import DatabaseSettings, Settings
from scratch import scratch_store


def events(count: int) -> list[bytes]:
    # About 1.2 events per payment in the demo month: ask for enough payments, keep `count`.
    spec = DemoSpec(payments=int(count / 1.1) + 1000)
    lines = list(itertools.islice(demo_lines(spec), count))
    if len(lines) < count:
        raise SystemExit(f"the generator gave {len(lines)} events, fewer than {count}")
    return lines


def run(backend: str, lines: list[bytes], batch_size: int) -> tuple[float, IngestReport]:
    with scratch_store(backend) as url:
        app = bootstrap(Settings(database=DatabaseSettings(url=url)), clock=SystemClock())
        app.ensure_schema()
        records = [RawRecord(data, "bench.jsonl", n) for n, data in enumerate(lines, 1)]
        started = time.perf_counter()
        report = ingest_records(records, uow=app.uow, clock=app.clock, detectors=app.detectors,
                                label="bench", batch_size=batch_size,
                                policy=app.policy)  # fmt: skip
        elapsed = time.perf_counter() - started
        app.close()
    assert report.accepted == len(lines), report
    return len(lines) / elapsed, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--baseline-events", type=int, default=3_000)
    parser.add_argument("--batch-size", type=int, default=5_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()

    lines = events(args.events)
    print(f"{len(lines):,} demo-month events; batch size {args.batch_size:,}; "
          f"baseline: first {args.baseline_events:,} events, one commit per event")  # fmt: skip
    print(f"{'backend':<11}{'batched ev/s':>14}{'baseline ev/s':>15}{'ratio':>8}"
          f"{'findings':>10}{'cases':>8}")  # fmt: skip
    for backend in args.backends.split(","):
        batched, report = run(backend, lines, args.batch_size)
        baseline, _ = run(backend, lines[: args.baseline_events], 1)
        print(f"{backend:<11}{batched:>14,.0f}{baseline:>15,.0f}{batched / baseline:>7.1f}x"
              f"{report.findings:>10,}{report.cases_opened:>8,}")  # fmt: skip


if __name__ == "__main__":
    main()
