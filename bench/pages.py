"""The operators' pages with a million cases in the store: queue page and case page latency.

Fills a fresh store with ``--cases`` cases (default 1,000,000): ``--detailed`` of them (default
2,000) the real way, failed payments through ``ingest_records`` (events, findings, timeline,
audit records, policy decision) with their ladders started by the recovery runner; the rest by
bulk insert in chunks of 20,000 rows, spread over 12 queues (6 teams, policy and system) and a
year, about 30% open (new, triaged, in progress, waiting, escalated) and 70% resolved or closed,
tiers 80 / 15 / 5. SQLite is not ANALYZEd (Recoup never runs it); PostgreSQL gets the
``VACUUM ANALYZE`` autovacuum would run after such a load (``--no-analyze`` skips it).

Then, through the full ASGI app (``TestClient``: routing, the session cookie looked up in the
store, the page's reads, Jinja rendering), it times ``--requests`` requests of each of

- queue page: ``GET /queues/{queue}``, the first page of open cases, rotating over the queues;
- queue page 2: the next keyset page (``?after=...``) of the same queues;
- queue filtered: ``?tier=human&status=escalated``;
- case page: ``GET /cases/{id}`` of the detailed cases (timeline, findings, evidence, ladder,
  attempts, messages, postings, audit, approvals);
- the queues overview ``GET /queues`` (every queue's open and past-deadline counts), and, for
  the actions a case page posts, the services' case lookup (``find_case``);

and, in the same process, the same reads straight from the store (``pages.reads``) and
``GET /health`` (the HTTP floor) as baselines. It prints p50 / p95 / p99 in milliseconds and
the ratio of each page's p95 to its store-only p95. Target: queue page and case page p95
<= 150 ms.

    .venv/bin/python bench/pages.py                       # SQLite, 1,000,000 cases
    .venv/bin/python bench/pages.py --postgres            # SQLite and PostgreSQL
    .venv/bin/python bench/pages.py --cases 100000 --requests 100 --explain
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
import sqlalchemy as sa
from fastapi.testclient import TestClient

from recoup.adapters.clock import FixedClock
from recoup.adapters.passwords import fast_credentials
from recoup.adapters.store import tables as t
from recoup.bootstrap import App, bootstrap
from recoup.domain.detection.taxonomy import TAXONOMY
from recoup.entrypoints.api.app import create_app
from recoup.entrypoints.api.auth import SessionAuthenticator
from recoup.entrypoints.api.pages import reads
from recoup.services import identity
from recoup.services.ingest import RawRecord, ingest_records
from recoup.services.recovery import run_recovery
from recoup.settings import DatabaseSettings, RecoverySettings, Settings, WebSettings
from scratch import scratch_store

NOW = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)
"""The bench's clock: in the future, so the session cookie is alive by any real clock."""
TEAMS = ("payments_ops", "ar_ops", "ap_ops", "treasury", "fulfilment", "compliance")
OPEN_STATUSES = ("new", "triaged", "in_progress", "waiting", "escalated")
CHUNK = 20_000
PASSWORD = "bench password for pages"


def _types_by_kind() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {"policy": [], "system": []}
    for name, spec in sorted(TAXONOMY.items()):
        found[spec.kind.value].append(name)
    return found


def synthetic_rows(count: int, seed: int = 7) -> Any:
    """``count`` case rows in chunks: 12 queues, a year of openings, ~30% open."""
    rng = random.Random(seed)
    types = _types_by_kind()
    tiers = ("straight_through",) * 16 + ("guided",) * 3 + ("human",)
    rows: list[dict[str, Any]] = []
    for n in range(count):
        team = TEAMS[n % len(TEAMS)]
        kind = "policy" if n % 5 == 0 else "system"
        type_ = types[kind][n % len(types[kind])]
        spec = TAXONOMY[type_]
        opened = NOW - timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
        is_open = rng.random() < 0.3
        status = rng.choice(OPEN_STATUSES) if is_open else rng.choice(("resolved", "closed"))
        key = f"bench{n}"
        amount = Decimal(rng.randrange(100, 500_000)) / 100
        rows.append({
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "type": type_,
            "category": spec.category.value, "entity_kind": spec.entity, "entity_key": key,
            "status": status, "tier": rng.choice(tiers), "owner_team": team,
            "queue": f"{team}.{kind}", "breakpoint": spec.breakpoint.value, "kind": kind,
            "title": f"{type_.replace('_', ' ')} {key}", "opened_at": opened,
            "updated_at": opened, "first_seen_at": opened, "last_seen_at": opened,
            "sla_goal_at": opened + spec.sla_goal, "sla_due_at": opened + spec.sla_deadline,
            "closed_at": None if is_open or status != "closed" else opened + timedelta(days=2),
            "resolved_at": None if is_open else opened + timedelta(days=1),
            "outcome": None if is_open else "recovered", "pauses_automation": False,
            "finding_count": 1, "amount": amount, "currency": "EUR", "exposures": {},
            "open_key": f"{type_}|{spec.entity}|{key}" if is_open else None, "version": 1,
            "escalation_level": 1 if status == "escalated" else 0, "reopen_count": 0,
            "assignee": None,
        })  # fmt: skip
        if len(rows) == CHUNK:
            yield rows
            rows = []
    if rows:
        yield rows


def failed_payments(count: int) -> list[RawRecord]:
    out = []
    for i in range(count):
        rec = {"source": "stripe", "external_id": f"bench_f_{i}", "type": "payment.failed",
               "occurred_at": (NOW - timedelta(minutes=count - i)).isoformat(),
               "amount": f"{20 + i % 900}.00", "currency": "EUR",
               "reason_code": "stripe:do_not_honor",
               "refs": {"payment": f"pi_bench_{i}", "customer": f"cus_bench_{i}"},
               "attributes": {"network": "visa"}}  # fmt: skip
        out.append(RawRecord(data=msgspec.json.encode(rec), file="bench.jsonl", line=i + 1))
    return out


def fill(app: App, cases: int, detailed: int, *, analyze: bool = True) -> list[str]:
    """Fill the store; returns the ids of the detailed cases."""
    started = time.perf_counter()
    ingest_records(failed_payments(detailed), uow=app.uow, clock=app.clock,
                   detectors=app.detectors, label="bench", policy=app.policy)  # fmt: skip
    run_recovery(uow=app.uow, clock=app.clock, recovery=app.recovery())
    with app.reader() as tx:
        ids = [str(c.id) for c in tx.list_cases({"status": None}, detailed)]
    print(f"  {detailed:,} cases through ingest and the ladder runner in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    started = time.perf_counter()
    inserted = 0
    with app.engine.begin() as conn:
        for rows in synthetic_rows(cases - detailed):
            conn.execute(t.cases.insert(), rows)
            inserted += len(rows)
    seconds = time.perf_counter() - started
    print(f"  {inserted:,} cases bulk-inserted in {seconds:.1f} s "
          f"({inserted / seconds:,.0f} rows/s)")  # fmt: skip
    if app.engine.dialect.name == "postgresql" and analyze:
        # What autovacuum does to a table that grew this much: statistics for the planner and
        # the visibility map that lets counts read the index alone.
        with app.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE cases")
        print("  VACUUM ANALYZE cases (as autovacuum would)")
    return ids


def timed(fn: Callable[[], Any], n: int) -> list[float]:
    for _ in range(min(5, n)):
        fn()
    out = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def line(name: str, ms: list[float], base: list[float] | None = None) -> str:
    ratio = f"  x{pct(ms, 95) / pct(base, 95):5.1f} store" if base else ""
    return (f"  {name:<22} p50 {statistics.median(ms):7.2f}  p95 {pct(ms, 95):7.2f}  "
            f"p99 {pct(ms, 99):7.2f} ms{ratio}")  # fmt: skip


class Rotator:
    def __init__(self, items: list[Any]) -> None:
        self.items = items
        self.i = 0

    def __call__(self) -> Any:
        item = self.items[self.i % len(self.items)]
        self.i += 1
        return item


def explain(app: App, queue: str) -> None:
    with app.reader() as tx:
        c = t.cases.c
        page = (sa.select(t.cases).where(*reads._where(queue, reads.QueueFilters()))
                .order_by(c.opened_at.desc(), c.id.desc()).limit(51))  # fmt: skip
        cursor = reads.queue_page(tx, queue, reads.QueueFilters()).next_cursor or ""
        at, case_id = reads.decode_cursor(cursor)
        after = page.where(
            sa.tuple_(c.opened_at, c.id)
            < sa.tuple_(sa.literal(at, c.opened_at.type), sa.literal(case_id, c.id.type))
        )
        count = sa.select(sa.func.count()).select_from(
            sa.select(sa.literal(1)).where(*reads._where(queue, reads.QueueFilters()))
            .limit(reads.COUNT_CAP + 1).subquery())  # fmt: skip
        overview = (sa.select(c.queue, sa.func.count()).where(sa.text(reads.OPEN_CONDITION))
                    .group_by(c.queue))  # fmt: skip
        for name, query in (("queue page", page), ("queue page 2", after),
                            ("queue count", count), ("queues overview", overview)):  # fmt: skip
            sql = str(query.compile(tx.conn, compile_kwargs={"literal_binds": True}))
            prefix = "EXPLAIN QUERY PLAN " if app.engine.dialect.name == "sqlite" else "EXPLAIN "
            plan = [" ".join(str(v) for v in row) for row in tx.conn.exec_driver_sql(prefix + sql)]
            print(f"  plan of the {name}:")
            for row in plan:
                print(f"    {row}")


def run(backend: str, url: str, args: argparse.Namespace) -> None:
    settings = Settings(
        database=DatabaseSettings(url=url, auto_upgrade=True),
        recovery=RecoverySettings(gateway="simulator"),
        web=WebSettings(cookie_secure=False),
    )
    app = bootstrap(settings, clock=FixedClock(NOW))
    app.ensure_schema()
    credentials = fast_credentials()
    identity.create_user("bench", PASSWORD, ["operator"], actor="bench", uow=app.uow,
                         clock=app.clock, credentials=credentials,
                         settings=app.settings.web)  # fmt: skip
    print(f"{backend}: filling {args.cases:,} cases")
    detailed = fill(app, args.cases, args.detailed, analyze=not args.no_analyze)
    with app.reader() as tx:
        queues = [r.queue for r in reads.queue_rows(tx, NOW)]
        total = int(tx.conn.execute(sa.select(sa.func.count()).select_from(t.cases)).scalar_one())
    print(f"  {total:,} cases in the store, {len(queues)} queues")
    if args.explain:
        explain(app, queues[0])

    api = create_app(app, {})
    api.state.auth = SessionAuthenticator(app, credentials)
    n = args.requests
    with TestClient(api, follow_redirects=False) as client:
        answer = client.post("/login", data={"name": "bench", "password": PASSWORD})
        assert answer.status_code == 303, answer.text
        second: dict[str, str] = {}
        with app.reader() as tx:
            for q in queues:
                page = reads.queue_page(tx, q, reads.QueueFilters())
                if page.next_cursor:
                    second[q] = page.next_cursor

        def get(path: str) -> None:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)

        q1, q2, q3 = Rotator(queues), Rotator(sorted(second)), Rotator(queues)
        c1, c2 = Rotator(detailed), Rotator(detailed)
        health = timed(lambda: get("/health"), n)
        queue_store = timed(lambda: _store_queue(app, q1()), n)
        queue_http = timed(lambda: get(f"/queues/{q2()}"), n)
        next_http = timed(lambda: get(f"/queues/{(q := q2())}?after={second[q]}"), n)
        filtered = timed(lambda: get(f"/queues/{q3()}?tier=human&status=escalated"), n)
        overview = timed(lambda: get("/queues"), max(10, n // 10))
        ladders = dict(app.policy.ladders or {})
        case_store = timed(lambda: _store_case(app, c1(), ladders), n)
        case_http = timed(lambda: get(f"/cases/{c2()}"), n)
        c3 = Rotator(detailed)
        lookup = timed(lambda: _find_case(app, c3()), max(10, n // 10))
    print(f"{backend}: {n} requests each (ms)")
    print(line("GET /health (floor)", health))
    print(line("queue, store only", queue_store))
    print(line("queue page", queue_http, queue_store))
    print(line("queue page 2 (keyset)", next_http, queue_store))
    print(line("queue filtered", filtered, queue_store))
    print(line("queues overview", overview))
    print(line("case, store only", case_store))
    print(line("case page", case_http, case_store))
    print(line("services find_case", lookup))
    verdict = max(pct(queue_http, 95), pct(case_http, 95)) <= 150
    print(f"  target p95 <= 150 ms for the queue and case pages: "
          f"{'met' if verdict else 'NOT met'}")  # fmt: skip
    app.close()


def _store_queue(app: App, queue: str) -> None:
    with app.reader() as tx:
        reads.queue_page(tx, queue, reads.QueueFilters())


def _find_case(app: App, case_id: str) -> None:
    """How the services find the case of a form post (``queries.find_case``, by prefix)."""
    with app.reader() as tx:
        tx.find_case(case_id)


def _store_case(app: App, case_id: str, ladders: dict[str, Any]) -> None:
    with app.reader() as tx:
        reads.case_page(tx, case_id, ladders)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--detailed", type=int, default=2_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL")
    parser.add_argument("--backends", help="comma-separated: sqlite, postgresql (overrides)")
    parser.add_argument("--explain", action="store_true", help="print the queue query plans")
    parser.add_argument("--no-analyze", action="store_true",
                        help="PostgreSQL: skip VACUUM ANALYZE after the bulk load")  # fmt: skip
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.postgres else ("sqlite",)
    if args.backends:
        backends = tuple(b.strip() for b in args.backends.split(",") if b.strip())
    for backend in backends:
        with scratch_store(backend) as url:
            run(backend, url, args)


if __name__ == "__main__":
    main()
