"""Fixtures for the pages' tests: an app on each database with users of every role and three
failed payments (two small, one above the write-off approval threshold)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from recoup.adapters.clock import FixedClock
from recoup.bootstrap import App
from tests.e2e.pages.support import BASE, client_for, failed, ingest, make_app, start_climbs


@pytest.fixture
def pages_clock() -> FixedClock:
    return FixedClock(BASE + timedelta(hours=1))


@pytest.fixture
def pages_app(store_url: str, pages_clock: FixedClock) -> Iterator[App]:
    app = make_app(store_url, pages_clock)
    ingest(app, [failed("pi_small"), failed("pi_other", minutes=5),
                 failed("pi_big", amount="900.00", minutes=10)])  # fmt: skip
    start_climbs(app)
    yield app
    app.close()


@pytest.fixture
def client(pages_app: App) -> Iterator[TestClient]:
    with client_for(pages_app) as c:
        yield c
