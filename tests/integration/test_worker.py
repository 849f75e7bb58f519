"""The worker on SQLite and PostgreSQL: SLA goals remind, deadlines escalate, each timer fires
once; several worker processes against PostgreSQL never fire one timer twice."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from recoup.adapters.clock import FixedClock
from recoup.adapters.store import tables as t
from recoup.bootstrap import App
from recoup.services.audit import verify_audit
from recoup.services.cases import move_case
from recoup.services.ingest import ingest_records
from recoup.services.worker import fire_sla_timers, run_due
from tests.conftest import T0
from tests.helpers import raw, record


def failures(n: int) -> list[dict[str, object]]:
    return [
        record(f"f{i}", "payment.failed", minutes=i, amount="10.00",
               reason="stripe:insufficient_funds", payment=f"pi_{i}", customer=f"c{i}")
        for i in range(n)
    ]  # fmt: skip


def ingest(app: App, n: int) -> None:
    ingest_records(raw(failures(n)), uow=app.uow, clock=app.clock, detectors=app.detectors,
                   label="t")  # fmt: skip


def actions(app: App) -> list[str]:
    a = t.audit_log.c
    with app.engine.connect() as conn:
        return list(conn.execute(sa.select(a.action).order_by(a.seq)).scalars())


def test_goal_reminds_deadline_escalates_and_nothing_fires_twice(app: App) -> None:
    ingest(app, 2)
    with app.reader() as tx:
        (case, _) = tx.list_cases({"status": "open"}, 10)
    # payment_failed: goal 4 hours, deadline 1 day after opening (T0).
    at_goal = fire_sla_timers(uow=app.uow, clock=FixedClock(T0 + timedelta(hours=4, seconds=1)))
    assert (at_goal.due, at_goal.reminded, at_goal.escalated) == (2, 2, 0)
    move_case(case.id, "resolved", "paid by phone", actor="user:ana", uow=app.uow,
              clock=FixedClock(T0 + timedelta(hours=5)), resolution="recovered")  # fmt: skip
    report = run_due(uow=app.uow, clock=FixedClock(T0 + timedelta(days=2)), detectors=app.detectors)
    # The resolved case's deadline was cancelled with it; the other escalates.
    assert (report.sla.due, report.sla.escalated) == (1, 1)
    assert report.sla.max_lateness_seconds == timedelta(days=1).total_seconds()
    again = run_due(uow=app.uow, clock=FixedClock(T0 + timedelta(days=9)), detectors=app.detectors)
    assert again.fired == 0
    with app.reader() as tx:
        statuses = sorted(c.status.value for c in tx.list_cases({"status": None}, 10))
    assert statuses == ["escalated", "resolved"]
    assert actions(app).count("case.sla_goal_reached") == 2
    assert actions(app).count("case.sla_breached") == 1
    assert actions(app).count("case.resolved") == 1
    assert verify_audit(reader=app.reader).is_intact


@pytest.mark.postgres
@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("workers", [2, 4])
def test_worker_processes_fire_every_timer_exactly_once(
    app: App, store_url: str, workers: int
) -> None:
    ingest(app, 300)  # 600 timers, all long due (opened 2026-10-01)
    env = {**os.environ, "RECOUP_DATABASE__URL": store_url}
    recoup = Path(sys.executable).with_name("recoup")
    command = [str(recoup), "worker", "--once"]
    out, err = subprocess.PIPE, subprocess.STDOUT
    procs = [
        subprocess.Popen(command, env=env, stdout=out, stderr=err, text=True)
        for _ in range(workers)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * workers, outputs
    tm = t.timers.c
    with app.engine.connect() as conn:
        rows = conn.execute(sa.select(tm.status, tm.attempts)).all()
    assert len(rows) == 600
    assert {(status, attempts) for status, attempts in rows} == {("fired", 1)}
    assert actions(app).count("case.sla_goal_reached") == 300
    assert actions(app).count("case.sla_breached") == 300
    assert verify_audit(reader=app.reader).is_intact
