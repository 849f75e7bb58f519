"""The metric summaries in the store, on SQLite and PostgreSQL: updated in every case write's
transaction, equal to a rebuild from the cases after any sequence of changes, untouched by a
write that is refused, and rebuilt exactly from nothing (the backfill after upgrading)."""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recoup.adapters.clock import FixedClock
from recoup.adapters.store import tables_notify as tn
from recoup.bootstrap import App
from recoup.domain.cases.casing import CasePlan
from recoup.domain.errors import ConflictError, InvalidInputError
from recoup.services.cases import move_case
from recoup.services.ingest import ingest_records
from recoup.services.metrics import compute_summaries, read_metrics, rebuild_metrics
from recoup.services.worker import run_due
from tests.conftest import T0
from tests.helpers import raw, record


def failures(app: App, n: int, first: int = 0, clock: FixedClock | None = None) -> None:
    records = [
        record(f"f{i}", "payment.failed", minutes=i, amount=f"{10 + i}.25",
               reason=["stripe:insufficient_funds", "stripe:card_declined"][i % 2],
               payment=f"pi_{i}", customer=f"c{i}")
        for i in range(first, first + n)
    ]  # fmt: skip
    ingest_records(raw(records), uow=app.uow, clock=clock or app.clock, detectors=app.detectors,
                   label="t", policy=app.policy)  # fmt: skip


def stored_equals_rebuild(app: App) -> bool:
    with app.reader() as tx:
        stored = tx.metric_counters()
        rebuilt, _n = compute_summaries(tx.metric_cases())
    return stored == rebuilt


def case_ids(app: App) -> list[str]:
    with app.reader() as tx:
        return sorted(c.id for c in tx.list_cases({}, 1000))


def test_the_summaries_follow_a_month_of_case_work(app: App, clock: FixedClock) -> None:
    failures(app, 6)
    ids = case_ids(app)
    at = clock.now()
    run_due(uow=app.uow, clock=FixedClock(at + timedelta(days=1, seconds=1)),
            detectors=app.detectors)  # fmt: skip
    later = FixedClock(at + timedelta(days=1, hours=2))
    move_case(ids[0], "resolved", "paid", actor="user:ann", uow=app.uow, clock=later,
              resolution="recovered")  # fmt: skip
    move_case(ids[1], "resolved", "gone", actor="user:ann", uow=app.uow, clock=later,
              resolution="written_off")  # fmt: skip
    move_case(ids[1], "triaged", "not gone", actor="user:ann", uow=app.uow, clock=later)
    move_case(ids[2], "resolved", "dup", actor="user:ann", uow=app.uow, clock=later,
              resolution="duplicate")  # fmt: skip
    move_case(ids[2], "closed", "done", actor="user:ann", uow=app.uow, clock=later)

    assert stored_equals_rebuild(app)
    x = read_metrics(reader=app.reader, clock=FixedClock(at + timedelta(days=4)))
    assert (x.events, x.findings, x.cases, x.open_cases) == (6, 6, 6, 4)
    assert x.by_status == {"closed": 1, "escalated": 3, "resolved": 1, "triaged": 1}
    assert (x.sla_breaches, x.rework.count, x.reopens) == (6, 1, 1)
    assert x.exposure_open["USD" if "USD" in x.exposure_open else "EUR"] > Decimal(0)
    assert sum(a.count for a in x.aging) == 4
    assert {a.band for a in x.aging} == {"3d_7d"}
    assert x.time_to_resolution.count == 2
    assert (x.resolved_without_duplicate_contact.count, x.first_touch_resolution.of) == (1, 2)
    assert [r.reason_code for r in x.recovery_by_reason] == [
        "stripe:card_declined", "stripe:insufficient_funds"]  # fmt: skip
    assert sum(r.ended for r in x.recovery_by_reason) == 2

    report = rebuild_metrics(uow=app.uow, clock=clock)
    assert (report.cases, report.changed, report.codes_backfilled) == (6, 0, 0)


def test_a_rebuild_from_nothing_restores_the_summaries(app: App) -> None:
    failures(app, 4)
    move_case(case_ids(app)[0], "resolved", "paid", actor="user:ann", uow=app.uow,
              clock=app.clock, resolution="recovered")  # fmt: skip
    with app.reader() as tx:
        before = tx.metric_counters()
    with app.engine.begin() as conn:  # a store upgraded from before the summaries existed
        conn.execute(tn.metric_counters.delete())
        conn.execute(tn.metric_case_codes.delete())
    report = rebuild_metrics(uow=app.uow, clock=app.clock)
    assert (report.cases, report.codes_backfilled, report.changed) == (4, 4, len(before))
    with app.reader() as tx:
        assert tx.metric_counters() == before


def test_aging_rows_of_closed_hours_are_deleted(app: App) -> None:
    failures(app, 3)
    for case_id in case_ids(app):
        move_case(case_id, "resolved", "paid", actor="user:ann", uow=app.uow, clock=app.clock,
                  resolution="recovered")  # fmt: skip
    c = tn.metric_counters.c
    with app.engine.connect() as conn:
        left = conn.execute(sa.select(sa.func.count()).where(c.name == "open_age")).scalar_one()
    assert left == 0
    assert stored_equals_rebuild(app)


def test_a_refused_case_write_leaves_the_summaries_unchanged(app: App) -> None:
    failures(app, 2)
    with app.reader() as tx:
        before = tx.metric_counters()
        [case, _] = tx.list_cases({}, 10)
    case.version += 5  # stale: another writer "changed" it
    case.escalation_level = 3
    plan = CasePlan(updated={case.id: case})
    with app.uow() as tx, pytest.raises(ConflictError):
        tx.save_plan(plan, [])
    with app.reader() as tx:
        assert tx.metric_counters() == before
    with pytest.raises(InvalidInputError):
        move_case(case.id, "resolved", "no code", actor="user:ann", uow=app.uow,
                  clock=app.clock)  # fmt: skip
    assert stored_equals_rebuild(app)


MOVES = ["triaged", "in_progress", "waiting", "escalated", "resolved", "closed"]


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from(MOVES), st.integers(0, 72)),
                min_size=1, max_size=12),
       st.integers(0, 3))  # fmt: skip
def test_after_any_sequence_of_changes_the_summaries_equal_a_rebuild(
    app: App, moves: list[tuple[int, str, int]], new_cases: int
) -> None:
    """Runs many examples on one store: every example's changes pile on the last one's."""
    with app.reader() as tx:
        known = tx.list_cases({}, 1000)
    failures(app, new_cases, first=len(known), clock=FixedClock(T0 + timedelta(hours=len(known))))
    ids = case_ids(app)
    if not ids:
        return
    for index, to, hours in moves:
        clock = FixedClock(T0 + timedelta(hours=hours))
        with contextlib.suppress(ConflictError):  # a move the lifecycle refuses writes nothing
            move_case(ids[index % len(ids)], to, "because", actor="user:ann", uow=app.uow,
                      clock=clock, resolution="recovered" if to == "resolved" else None,
                      waiting_on="customer" if to == "waiting" else None)  # fmt: skip
        if hours % 5 == 0:
            run_due(uow=app.uow, clock=clock, detectors=app.detectors)
    assert stored_equals_rebuild(app)


def test_the_reason_code_is_stored_once_per_case(app: App) -> None:
    failures(app, 3)
    failures(app, 3)  # repeats change nothing
    with app.engine.connect() as conn:
        rows = conn.execute(sa.select(tn.metric_case_codes.c.reason_code)).scalars().all()
    assert sorted(rows) == ["stripe:card_declined", "stripe:insufficient_funds",
                            "stripe:insufficient_funds"]  # fmt: skip


def test_concurrent_writers_keep_the_summaries_exact(app: App) -> None:
    """Threads moving their own cases while another ingests: no deadlock, no lost update."""
    failures(app, 8)
    ids = case_ids(app)
    errors: list[BaseException] = []

    def work(mine: list[str]) -> None:
        try:
            for step in ("triaged", "in_progress", "resolved"):
                for case_id in mine:
                    move_case(case_id, step, "work", actor="user:ann", uow=app.uow,
                              clock=app.clock,
                              resolution="recovered" if step == "resolved" else None)  # fmt: skip
        except BaseException as exc:
            errors.append(exc)

    def ingest_more() -> None:
        try:
            for round_ in range(3):
                failures(app, 4, first=100 + 4 * round_)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(ids[i::4],)) for i in range(4)]
    threads.append(threading.Thread(target=ingest_more))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    x = read_metrics(reader=app.reader, clock=app.clock)
    assert (x.cases, x.by_status.get("resolved")) == (20, 8)
    assert stored_equals_rebuild(app)
