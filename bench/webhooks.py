"""Webhook ingest over real HTTP: ``recoup serve`` on loopback, many signed deliveries at once.

The server runs as a subprocess (``python -m recoup serve``) on a free port with a scratch store
and one generic source with a secret. Client processes (``--clients``) keep ``--concurrency``
deliveries in flight in all, one per keep-alive connection, each a canonical demo-month event
(or a JSON array of ``--per-delivery`` events), built before the clock starts and signed with
``X-Recoup-Signature`` as it is sent. The client is a minimal asyncio HTTP/1.1 client by
default (about 30 microseconds of CPU a request); ``--client httpx`` uses ``httpx.AsyncClient``
instead, which costs about 0.6 ms of CPU a request here: on a 2-core machine it competes with
the server for the second core and measures less than the server can do.

Two server runs per database, each on a fresh store:

- group commit: the default settings (``RECOUP_WEBHOOKS__MAX_BATCH``/``__MAX_WAIT_MS``);
- baseline: one commit per delivery (``MAX_BATCH=1``, ``MAX_WAIT_MS=0``), same client.

Reported: events/s, deliveries per commit (from ``GET /hooks/stats``), p50/p99 latency, errors,
the CPU the server and the clients used per second of wall time (100% is one core; the server's
Python code holds the GIL, so about 100% means the server is the bottleneck, a client process
near 100% means the client is), and the ratio of the two runs. After each run the server is
stopped and the store counted: it must hold exactly the events sent, or the run fails.

    .venv/bin/python bench/webhooks.py                                   # SQLite
    .venv/bin/python bench/webhooks.py --backends sqlite,postgresql
    .venv/bin/python bench/webhooks.py --client httpx --clients 2
    .venv/bin/python bench/webhooks.py --per-delivery 10 --deliveries 5000
    .venv/bin/python bench/webhooks.py --no-worker     # intake alone, no worker in the server

By default the server runs the worker in process, as ``recoup serve`` does.

Targets on a 2-core machine, SQLite: >= 5,000 events/s with group commit and >= 2.5x the
one-commit-per-delivery baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import httpx
import msgspec
import sqlalchemy as sa

from recoup.adapters.connectors.webhooks.signatures import sign_generic
from recoup.adapters.simulation.demo_month import DemoSpec, demo_lines
from scratch import scratch_store

SOURCE = "acme"  # the webhook source: POST /hooks/acme, events of source acme:<demo source>
SECRET = "bench-webhook-secret"  # a scratch server's secret
TICKS = os.sysconf("SC_CLK_TCK")


# --- the payloads --------------------------------------------------------------------------------


def bodies(deliveries: int, per_delivery: int) -> list[bytes]:
    """Demo-month events, ``per_delivery`` per body; their source moved under ours
    (``stripe`` -> ``acme:stripe``), as a generic source requires, with unique ids."""
    count = deliveries * per_delivery
    spec = DemoSpec(payments=int(count / 1.1) + 1000)
    lines = itertools.islice(demo_lines(spec), count)
    decode, encode = msgspec.json.decode, msgspec.json.Encoder().encode
    events = []
    for line in lines:
        event = decode(line)
        event["source"] = f"{SOURCE}:{event['source']}"
        events.append(event)
    if len(events) < count:
        raise SystemExit(f"the generator gave {len(events)} events, fewer than {count}")
    if per_delivery == 1:
        return [encode(event) for event in events]
    return [encode(events[i : i + per_delivery]) for i in range(0, count, per_delivery)]


def signature(body: bytes) -> str:
    """``X-Recoup-Signature``, made as the delivery is sent, as a sender would (a few
    microseconds of HMAC-SHA256; pre-signed bodies would go stale on long runs)."""
    return sign_generic(body, SECRET, timestamp=int(time.time()))


# --- the server ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``python -m recoup serve`` on a free loopback port."""

    def __init__(
        self, db_url: str, log: Path, *, baseline: bool, workers: int = 1, worker: bool = True
    ) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = {k: v for k, v in os.environ.items() if not k.startswith("RECOUP_")}
        env |= {
            "RECOUP_DATABASE__URL": db_url,
            "RECOUP_WEBHOOKS__SOURCES": json.dumps(
                {SOURCE: {"provider": "generic", "secret": SECRET}}
            ),
        }
        if baseline:
            env |= {"RECOUP_WEBHOOKS__MAX_BATCH": "1", "RECOUP_WEBHOOKS__MAX_WAIT_MS": "0"}
        env["RECOUP_SERVER__WORKERS"] = str(workers)
        env["RECOUP_SERVER__WORKER"] = "true" if worker else "false"
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "recoup", "serve", "--port", str(self.port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise SystemExit(f"the server did not start:\n{log.read_text()}")

    def cpu_seconds(self) -> float:
        """User + system CPU of the server process, all its threads."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def stats(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/hooks/stats", timeout=10).json())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / TICKS, sum(values) / TICKS


def count_events(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        n = int(conn.exec_driver_sql("SELECT count(*) FROM events").scalar_one())
    engine.dispose()
    return n


# --- the clients ---------------------------------------------------------------------------------


@dataclass
class ClientResult:
    started: float = 0.0
    finished: float = 0.0
    cpu: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    new_events: int = 0

    def error(self, key: str) -> None:
        self.errors[key] = self.errors.get(key, 0) + 1


class RawConnection:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams: what a load generator needs
    and nothing more, so that the client is not the bottleneck."""

    def __init__(self, url: httpx.URL) -> None:
        self.url = url
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def open(self) -> None:
        self.streams = await asyncio.open_connection(self.url.host, self.url.port)

    async def post(self, body: bytes, signed: str) -> tuple[int, bytes]:
        if self.streams is None:
            await self.open()
        assert self.streams is not None
        reader, writer = self.streams
        writer.write(
            b"POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
            b"X-Recoup-Signature: %s\r\nContent-Length: %d\r\n\r\n%s"
            % (
                self.url.raw_path,
                self.url.raw_host,
                self.url.port or 80,
                signed.encode(),
                len(body),
                body,
            )
        )
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            lower = head.lower()
            at = lower.index(b"content-length:") + 15
            length = int(lower[at : lower.index(b"\r\n", at)])
            payload = await reader.readexactly(length)
        except BaseException:
            await self.close()  # a half-read answer leaves the connection unusable
            raise
        if b"connection: close" in lower:
            await self.close()
        return status, payload

    async def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


class HttpxConnection:
    """One ``httpx.AsyncClient`` per connection: a single client with 64 connections spends
    most of its time scanning its pool (httpcore 1.0), which measures httpx, not the server."""

    def __init__(self, url: httpx.URL) -> None:
        self.url = url
        self.client = httpx.AsyncClient(timeout=120)

    async def open(self) -> None:
        await self.client.get(self.url.copy_with(path="/health"))

    async def post(self, body: bytes, signed: str) -> tuple[int, bytes]:
        headers = {"X-Recoup-Signature": signed, "Content-Type": "application/json"}
        response = await self.client.post(self.url, content=body, headers=headers)
        return response.status_code, response.content

    async def close(self) -> None:
        await self.client.aclose()


async def _drive(url: str, work: list[bytes], concurrency: int, kind: str) -> ClientResult:
    result = ClientResult()
    target = httpx.URL(url)
    connections = [
        RawConnection(target) if kind == "raw" else HttpxConnection(target)
        for _ in range(concurrency)
    ]
    # open every connection before the clock starts: the run measures steady keep-alive
    await asyncio.gather(*(c.open() for c in connections))
    queue = iter(work)

    async def worker(connection: RawConnection | HttpxConnection) -> None:
        for body in queue:
            sent = time.perf_counter()
            try:
                status, payload = await connection.post(body, signature(body))
            except (OSError, asyncio.IncompleteReadError, ValueError, httpx.HTTPError) as exc:
                result.error(type(exc).__name__)
                continue
            result.latencies.append(time.perf_counter() - sent)
            if status != 200:
                result.error(f"HTTP {status}")
                continue
            result.new_events += int(json.loads(payload)["new"])

    cpu = time.process_time()
    result.started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in connections))
    result.finished = time.perf_counter()
    result.cpu = time.process_time() - cpu
    await asyncio.gather(*(c.close() for c in connections))
    return result


def _client_process(
    url: str,
    work: list[bytes],
    concurrency: int,
    kind: str,
    barrier: Barrier,
    out: Connection,
) -> None:
    if kind == "httpx":
        # httpcore imports sniffio on every request and, when it is not installed, searches
        # sys.path for it each time; a None entry makes that import fail at once.
        sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]

    async def run() -> ClientResult:
        barrier.wait()  # every client process is ready: the parent reads the CPU counters
        return await _drive(url, work, concurrency, kind)

    out.send(asyncio.run(run()))
    out.close()


@dataclass
class RunResult:
    seconds: float
    deliveries: int
    events: int
    stored: int
    new_events: int
    latencies: list[float]
    errors: dict[str, int]
    server_cpu: float
    client_cpu: list[float]
    machine_cpu: float  # share of all cores, every process on the box
    commits: int
    committed_deliveries: int

    @property
    def ok(self) -> bool:
        return not self.errors and self.stored == self.events == self.new_events


def run(
    backend: str,
    folder: Path,
    payloads: list[bytes],
    per_delivery: int,
    *,
    baseline: bool,
    clients: int,
    concurrency: int,
    warmup: int,
    kind: str,
    workers: int = 1,
    worker: bool = True,
) -> RunResult:
    context = multiprocessing.get_context("fork")
    with scratch_store(backend, folder) as db_url:
        log = folder / f"serve-{'baseline' if baseline else 'group'}-{backend}.log"
        server = Server(db_url, log, baseline=baseline, workers=workers, worker=worker)
        try:
            url = f"{server.url}/hooks/{SOURCE}"
            with httpx.Client(timeout=60) as client:  # warm the server up, then forget it
                for body in payloads[:warmup]:
                    client.post(url, content=body, headers={"X-Recoup-Signature": signature(body)})
            work = payloads[warmup:]
            shares = [work[i::clients] for i in range(clients)]
            barrier = context.Barrier(clients + 1)
            pipes, processes = [], []
            for n, share in enumerate(shares):
                receive, send = context.Pipe(duplex=False)
                width = concurrency // clients + (n < concurrency % clients)
                process = context.Process(
                    target=_client_process, args=(url, share, width, kind, barrier, send)
                )
                process.start()
                pipes.append(receive)
                processes.append(process)
            stats_before = server.stats()
            barrier.wait()
            server_cpu, (busy, total) = server.cpu_seconds(), machine_busy()
            results: list[ClientResult] = [pipe.recv() for pipe in pipes]
            server_cpu = server.cpu_seconds() - server_cpu
            busy_after, total_after = machine_busy()
            for process in processes:
                process.join()
            stats = server.stats()
        finally:
            server.stop()
        stored = count_events(db_url)
    seconds = max(r.finished for r in results) - min(r.started for r in results)
    errors: dict[str, int] = {}
    for r in results:
        for key, n in r.errors.items():
            errors[key] = errors.get(key, 0) + n
    return RunResult(
        seconds=seconds,
        deliveries=len(work),
        events=len(payloads) * per_delivery,
        stored=stored,
        new_events=sum(r.new_events for r in results) + warmup * per_delivery,
        latencies=sorted(x for r in results for x in r.latencies),
        errors=errors,
        server_cpu=server_cpu / seconds,
        client_cpu=[r.cpu / seconds for r in results],
        machine_cpu=(busy_after - busy) / max(total_after - total, 1e-9),
        commits=stats["batches"] - stats_before["batches"],
        committed_deliveries=stats["deliveries"] - stats_before["deliveries"],
    )


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=20_000, help="group-commit run")
    parser.add_argument("--baseline-deliveries", type=int, default=3_000)
    parser.add_argument("--per-delivery", type=int, default=1, help="events per delivery")
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight, in all")
    parser.add_argument("--clients", type=int, default=1, help="client processes")
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="raw asyncio HTTP/1.1 (cheap) or httpx.AsyncClient",
    )
    parser.add_argument("--warmup", type=int, default=200, help="deliveries before the clock")
    parser.add_argument("--backends", default="sqlite", help="sqlite,postgresql")
    parser.add_argument(
        "--workers", type=int, default=1, help="server processes (server CPU counts the parent)"
    )
    parser.add_argument(
        "--no-worker",
        action="store_true",
        help="intake alone: RECOUP_SERVER__WORKER=false, as when `recoup worker` runs elsewhere",
    )
    args = parser.parse_args()

    print(
        f"{os.cpu_count()} cores; {args.clients} {args.client} client process(es), "
        f"{args.concurrency} deliveries in flight, {args.per_delivery} event(s) per delivery, "
        "keep-alive; "
        f"{args.warmup} warm-up deliveries per run not timed (but counted in the store)"
    )
    head = (
        f"{'backend':<11}{'run':<14}{'deliveries':>11}{'events/s':>10}{'per commit':>11}"
        f"{'p50 ms':>8}{'p99 ms':>8}{'errors':>7}{'server':>8}{'clients':>9}{'machine':>9}"
        f"{'stored':>9}"
    )
    for backend in args.backends.split(","):
        total = args.warmup + args.deliveries
        payloads = bodies(total + args.warmup + args.baseline_deliveries, args.per_delivery)
        group_payloads = payloads[:total]
        base_payloads = payloads[total:]
        print(f"\n{head}\n{'-' * len(head)}")
        rates = {}
        with tempfile.TemporaryDirectory(dir=Path(__file__).parent) as scratch:
            folder = Path(scratch)
            for label, baseline, work in (
                ("group commit", False, group_payloads),
                ("1 per commit", True, base_payloads),
            ):
                r = run(
                    backend,
                    folder,
                    work,
                    args.per_delivery,
                    baseline=baseline,
                    clients=args.clients,
                    concurrency=args.concurrency,
                    warmup=args.warmup,
                    kind=args.client,
                    workers=args.workers,
                    worker=not args.no_worker,
                )
                rate = r.deliveries * args.per_delivery / r.seconds
                rates[label] = rate
                per_commit = r.committed_deliveries / max(r.commits, 1)
                clients_cpu = "+".join(f"{c:.0%}" for c in r.client_cpu)
                verdict = "ok" if r.ok else "LOST"
                print(
                    f"{backend:<11}{label:<14}{r.deliveries:>11,}{rate:>10,.0f}"
                    f"{per_commit:>11.1f}{_quantile(r.latencies, 0.5) * 1000:>8.1f}"
                    f"{_quantile(r.latencies, 0.99) * 1000:>8.1f}{sum(r.errors.values()):>7}"
                    f"{r.server_cpu:>8.0%}{clients_cpu:>9}{r.machine_cpu:>9.0%}"
                    f"{r.stored:>8,} {verdict}"
                )
                if not r.ok:
                    log = folder / f"serve-{'baseline' if baseline else 'group'}-{backend}.log"
                    print(
                        f"  FAILED: {r.events:,} events sent, {r.new_events:,} acknowledged as "
                        f"new, {r.stored:,} stored; errors {r.errors}\n"
                        f"  server log:\n{log.read_text()[-3000:]}"
                    )
                    raise SystemExit(1)
        ratio = rates["group commit"] / rates["1 per commit"]
        print(
            f"{backend}: group commit {rates['group commit']:,.0f} events/s = {ratio:.1f}x the "
            f"one-commit-per-delivery baseline"
        )
    print(
        "\nserver, clients: CPU seconds per wall second (100% = one core); machine: every "
        "process on the box, share of all cores; latency: from sending a delivery to its 200 "
        "(sent after the commit); stored: events counted in the store after the run, warm-up "
        "included, which must equal the events sent"
    )


if __name__ == "__main__":
    main()
