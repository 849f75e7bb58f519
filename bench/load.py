"""A bounded load test on loopback: sustained signed webhook traffic against ``recoup serve`` on
PostgreSQL for minutes, with two and with four server processes.

Open loop: deliveries are sent at a fixed rate (``--rate`` per second) whatever the answers do,
each on its own schedule, and latency is measured from the moment a delivery was due, so a
stalled server shows up as latency instead of a slower client (no coordinated omission). A probe
sends ``GET /health`` once a second on its own connection in the same run: the ratio of the
deliveries' p50 to the probe's p50 is the cost of ingest over a bare round trip on this machine at
this moment.

Every ``--sample`` seconds: the resident memory of the server's process tree (the uvicorn parent
and its workers), and the latency and errors of the interval. At the end the store is counted: it
must hold exactly the events sent. Memory is "flat" when the last third of the run's samples grew
less than ``--flat`` (default 10%) over the first third's mean after warm-up.

    .venv/bin/python bench/load.py                          # 2 and 4 processes, 180 s each
    .venv/bin/python bench/load.py --duration 60 --rate 300 --processes 2
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa

from scratch import scratch_store
from webhooks import RawConnection, Server, bodies, signature


def tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants, MiB."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except FileNotFoundError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            todo.extend(int(c) for c in task.read_text().split())
    return total / 1024


@dataclass
class Interval:
    at: float
    rss_mib: float
    sent: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)


@dataclass
class Run:
    processes: int
    rate: float
    duration: float
    sent: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    probe: list[float] = field(default_factory=list)
    intervals: list[Interval] = field(default_factory=list)
    stored: int = 0
    lost_races: int = 0  # batches run again after losing a race (the servers' log)
    failed_batches: int = 0  # batches answered 503 (the servers' log)


def q(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


async def drive(server: Server, work: list[bytes], run: Run, sample: float, pool: int) -> None:
    target = httpx.URL(f"{server.url}/hooks/acme")
    idle: asyncio.Queue[RawConnection] = asyncio.Queue()
    for _ in range(pool):
        idle.put_nowait(RawConnection(target))
    start = time.monotonic()
    current = Interval(at=0.0, rss_mib=tree_rss_mib(server.proc.pid))
    run.intervals.append(current)
    pending: set[asyncio.Task[None]] = set()

    async def deliver(body: bytes, due: float, interval: Interval) -> None:
        conn = await idle.get()
        try:
            status, _ = await conn.post(body, signature(body))
            if status != 200:
                run.errors[str(status)] = run.errors.get(str(status), 0) + 1
                interval.errors += 1
        except Exception as exc:
            run.errors[type(exc).__name__] = run.errors.get(type(exc).__name__, 0) + 1
            interval.errors += 1
        finally:
            idle.put_nowait(conn)
        latency = time.monotonic() - due
        run.latencies.append(latency)
        interval.latencies.append(latency)

    async def probe() -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            while time.monotonic() - start < run.duration:
                t0 = time.monotonic()
                await client.get(f"{server.url}/health")
                run.probe.append(time.monotonic() - t0)
                await asyncio.sleep(1.0)

    prober = asyncio.create_task(probe())
    for i, body in enumerate(work):
        due = start + i / run.rate
        if due - start >= run.duration:
            break
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if time.monotonic() - start - current.at >= sample:
            current = Interval(at=time.monotonic() - start, rss_mib=tree_rss_mib(server.proc.pid))
            run.intervals.append(current)
        task = asyncio.create_task(deliver(body, due, current))
        pending.add(task)
        task.add_done_callback(pending.discard)
        current.sent += 1
        run.sent += 1
    await asyncio.gather(*pending)
    await prober


def count_events(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        n = conn.exec_driver_sql("SELECT count(*) FROM events").scalar_one()
    engine.dispose()
    return int(n)


def one_run(processes: int, args: argparse.Namespace, work: list[bytes]) -> Run:
    run = Run(processes=processes, rate=args.rate, duration=args.duration)
    with scratch_store("postgresql") as url, tempfile.TemporaryDirectory() as tmp:
        server = Server(url, Path(tmp) / "serve.log", baseline=False, workers=processes)
        try:
            asyncio.run(drive(server, work, run, args.sample, args.connections))
        finally:
            server.stop()
            log = server.log.read_text(errors="replace")
            run.lost_races = log.count(" lost a race (attempt")
            run.failed_batches = log.count(" deliveries was not stored")
        run.stored = count_events(url)
    return run


def flat(run: Run, limit: float) -> tuple[bool, float]:
    rss = [i.rss_mib for i in run.intervals[1:]]  # the first sample is before any traffic
    if len(rss) < 3:
        return True, 0.0
    third = max(1, len(rss) // 3)
    early, late = statistics.mean(rss[:third]), statistics.mean(rss[-third:])
    growth = (late - early) / early
    return growth < limit, growth


def report(run: Run, limit: float) -> None:
    ok, growth = flat(run, limit)
    errors = sum(run.errors.values())
    print(f"\n== {run.processes} server processes, {run.rate:.0f} deliveries/s for "
          f"{run.duration:.0f} s ==")  # fmt: skip
    print(f"sent {run.sent:,}, stored {run.stored:,} events, errors {errors} "
          f"({errors / max(run.sent, 1):.3%}) {run.errors or ''}")  # fmt: skip
    print(f"batches run again after a lost race {run.lost_races}, "
          f"batches not stored {run.failed_batches}")  # fmt: skip
    print(f"latency p50 {q(run.latencies, 0.5) * 1000:.1f} ms, p99 "
          f"{q(run.latencies, 0.99) * 1000:.1f} ms, max {max(run.latencies) * 1000:.1f} ms; "
          f"/health p50 {q(run.probe, 0.5) * 1000:.1f} ms; ingest/health p50 ratio "
          f"{q(run.latencies, 0.5) / q(run.probe, 0.5):.1f}x")  # fmt: skip
    print(f"memory (server tree RSS): first {run.intervals[1].rss_mib:.0f} MiB, last "
          f"{run.intervals[-1].rss_mib:.0f} MiB, growth late vs early {growth:+.1%} -> "
          f"{'flat' if ok else 'GROWING'}")  # fmt: skip
    print(f"{'t (s)':>6} {'sent':>6} {'err':>4} {'p50 ms':>7} {'p99 ms':>7} {'RSS MiB':>8}")
    for i in run.intervals:
        print(f"{i.at:6.0f} {i.sent:6d} {i.errors:4d} {q(i.latencies, 0.5) * 1000:7.1f} "
              f"{q(i.latencies, 0.99) * 1000:7.1f} {i.rss_mib:8.0f}")  # fmt: skip
    if run.stored != run.sent:
        print(f"!! the store holds {run.stored:,} events for {run.sent:,} sent")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", default="2,4", help="server process counts to run")
    parser.add_argument("--duration", type=float, default=180.0, help="seconds per run")
    parser.add_argument("--rate", type=float, default=200.0, help="deliveries per second")
    parser.add_argument("--sample", type=float, default=15.0, help="seconds per sample")
    parser.add_argument("--connections", type=int, default=64, help="keep-alive connections")
    parser.add_argument("--flat", type=float, default=0.10, help="memory growth allowed")
    args = parser.parse_args()
    work = bodies(int(args.rate * args.duration) + 1, 1)
    runs = [one_run(int(n), args, work) for n in args.processes.split(",")]
    for run in runs:
        report(run, args.flat)
    bad = [r for r in runs if r.stored != r.sent or not flat(r, args.flat)[0]]
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
