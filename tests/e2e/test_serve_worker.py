"""``recoup serve`` on the embedded default runs the worker in the same process."""

from __future__ import annotations

import time
from datetime import timedelta

from fastapi.testclient import TestClient

from recoup.adapters.clock import FixedClock
from recoup.bootstrap import App
from recoup.entrypoints.api.app import create_app
from tests.conftest import T0
from tests.integration.test_worker import actions, ingest


def _wait_for(condition: object, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.05)
    return False


def test_the_server_fires_due_timers_when_it_runs_the_worker(app: App) -> None:
    ingest(app, 2)
    app.clock = FixedClock(T0 + timedelta(hours=4, seconds=1))  # both SLA goals are due
    with TestClient(create_app(app, {}, run_worker=True)) as client:
        assert client.get("/health").json() == {"status": "ok"}
        assert _wait_for(lambda: actions(app).count("case.sla_goal_reached") == 2)
    assert actions(app).count("case.sla_goal_reached") == 2


def test_without_the_worker_nothing_fires(app: App) -> None:
    ingest(app, 1)
    app.clock = FixedClock(T0 + timedelta(hours=4, seconds=1))
    with TestClient(create_app(app, {}, run_worker=False)) as client:
        assert client.get("/health").status_code == 200
        time.sleep(0.3)
    assert "case.sla_goal_reached" not in actions(app)
