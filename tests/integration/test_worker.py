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
    # The resolved case's timers were cancelled with it; the other escalates and has been open
    # for a day.
    assert (report.sla.due, report.sla.escalated, report.sla.aging_alerts) == (2, 1, 1)
    assert report.sla.max_lateness_seconds == timedelta(days=1).total_seconds()
    week = run_due(uow=app.uow, clock=FixedClock(T0 + timedelta(days=9)), detectors=app.detectors)
    assert (week.sla.due, week.sla.aging_alerts) == (2, 2)  # three and seven days
    again = run_due(uow=app.uow, clock=FixedClock(T0 + timedelta(days=30)), detectors=app.detectors)
    assert again.fired == 0
    with app.reader() as tx:
        statuses = sorted(c.status.value for c in tx.list_cases({"status": None}, 10))
    assert statuses == ["escalated", "resolved"]
    assert actions(app).count("case.sla_goal_reached") == 2
    assert actions(app).count("case.sla_breached") == 1
    assert actions(app).count("case.resolved") == 1
    assert actions(app).count("case.aging_alert") == 3
    with app.reader() as tx:
        kinds = [e["kind"] for e in tx.case_timeline(statuses_case_id(app, "escalated"))]
    assert kinds.count("aging") == 3
    assert verify_audit(reader=app.reader).is_intact


def statuses_case_id(app: App, status: str) -> str:
    with app.reader() as tx:
        (found,) = tx.list_cases({"status": status}, 10)
    return found.id


@pytest.mark.postgres
@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("workers", [2, 4])
def test_worker_processes_fire_every_timer_exactly_once(
    app: App, store_url: str, workers: int
) -> None:
    ingest(app, 300)  # 1,500 timers (SLA goal and deadline, three aging alerts per case)
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
    assert len(rows) == 1_500
    assert {(status, attempts) for status, attempts in rows} == {("fired", 1)}
    assert actions(app).count("case.sla_goal_reached") == 300
    assert actions(app).count("case.sla_breached") == 300
    assert actions(app).count("case.aging_alert") == 900
    assert verify_audit(reader=app.reader).is_intact


def test_sla_clocks_run_on_business_hours_across_a_weekend_and_a_holiday(store_url: str) -> None:
    from datetime import UTC, datetime

    from recoup.bootstrap import bootstrap
    from recoup.settings import CalendarSettings, DatabaseSettings, Settings

    # Thursday 24 December 2026, 16:00 in Berlin: one business hour left that day, then
    # Christmas (25th, 26th) and the weekend.
    opened = datetime(2026, 12, 24, 15, 0, tzinfo=UTC)
    settings = Settings(
        database=DatabaseSettings(url=store_url, auto_upgrade=False),
        calendar=CalendarSettings(business_hours=True, timezone="Europe/Berlin",
                                  holiday_country="DE"),
    )  # fmt: skip
    app = bootstrap(settings, clock=FixedClock(opened))
    try:
        app.ensure_schema()
        ingest_records(raw(failures(1)), uow=app.uow, clock=app.clock, detectors=app.detectors,
                       label="t", policy=app.policy)  # fmt: skip
        with app.reader() as tx:
            (case,) = tx.list_cases({"status": "open"}, 10)
        # payment_failed: a goal of 4 hours -> 1 h on the 24th, 3 h on Monday 28 December:
        # 12:00 Berlin (11:00 UTC). A deadline of 24 business hours -> 1 h on the 24th, 8 h on
        # the 28th, 8 h on the 29th and 7 h on the 30th: 16:00 Berlin (15:00 UTC).
        assert case.sla_goal_at == datetime(2026, 12, 28, 11, 0, tzinfo=UTC)
        assert case.sla_due_at == datetime(2026, 12, 30, 15, 0, tzinfo=UTC)
        just_before = FixedClock(datetime(2026, 12, 28, 10, 59, tzinfo=UTC))
        before_goal = fire_sla_timers(uow=app.uow, clock=just_before)
        # Aging alerts count calendar days: one and three days have passed, no SLA timer is due.
        assert (before_goal.reminded, before_goal.escalated, before_goal.aging_alerts) == (0, 0, 2)
        at_deadline = fire_sla_timers(uow=app.uow, clock=FixedClock(case.sla_due_at))
        assert (at_deadline.reminded, at_deadline.escalated) == (1, 1)
    finally:
        app.close()
