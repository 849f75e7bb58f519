"""Group commit on SQLite and PostgreSQL: many deliveries, one transaction, answers after commit."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import wait

import msgspec
import pytest
import sqlalchemy as sa

from recoup.adapters.store import tables as t
from recoup.bootstrap import App
from recoup.domain.ingestion.canonical import Rejection, parse_record
from recoup.domain.ingestion.event import Event
from recoup.services.group_commit import Delivery, GroupCommitter
from tests.conftest import T0
from tests.helpers import record


def _event(external_id: str) -> Event:
    rec = record(external_id, "payment.failed", amount="5.00", reason="stripe:insufficient_funds",
                 payment=f"pi_{external_id}")  # fmt: skip
    parsed = parse_record(msgspec.json.encode(rec), received_at=T0)
    assert isinstance(parsed, Event)
    return parsed


def _delivery(*ids: str) -> Delivery:
    return Delivery("stripe", "stripe-events", [_event(i) for i in ids], [])


@pytest.fixture
def committer(app: App) -> Iterator[GroupCommitter]:
    gc = GroupCommitter(uow=app.uow, clock=app.clock, detectors=app.detectors, max_wait=0.05)
    gc.start()
    yield gc
    gc.stop()


def test_concurrent_deliveries_share_commits_and_each_gets_its_own_answer(
    app: App, committer: GroupCommitter
) -> None:
    futures = [committer.submit(_delivery(f"e{n}", f"e{n}b")) for n in range(40)]
    wait(futures, timeout=30)

    results = [f.result() for f in futures]
    assert all((r.accepted, r.new, r.duplicates) == (2, 2, 0) for r in results)
    assert committer.stats.deliveries == 40
    assert committer.stats.batches < 40
    with app.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.events)).scalar_one() == 80


def test_a_redelivery_is_answered_as_a_duplicate(app: App, committer: GroupCommitter) -> None:
    committer.submit(_delivery("a", "b")).result(timeout=10)

    again = committer.submit(_delivery("a", "b", "c")).result(timeout=10)

    assert (again.accepted, again.new, again.duplicates) == (3, 1, 2)


def test_rejections_in_a_delivery_are_quarantined_with_its_format(
    app: App, committer: GroupCommitter
) -> None:
    bad = parse_record(b'{"source": "stripe"', received_at=app.clock.now(), file="hook:stripe")
    assert isinstance(bad, Rejection)

    result = committer.submit(Delivery("stripe", "stripe-events", [], [bad])).result(timeout=10)

    assert result.quarantined == 1
    with app.engine.connect() as conn:
        rows = conn.execute(sa.select(t.quarantine.c.format, t.quarantine.c.label)).all()
    assert [tuple(r) for r in rows] == [("stripe-events", "hook:stripe")]


def test_a_failed_commit_fails_every_delivery_in_it_and_the_committer_carries_on(
    app: App, committer: GroupCommitter, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}
    original = committer._apply

    def flaky(batch: list[object]) -> object:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database went away")
        return original(batch)

    monkeypatch.setattr(committer, "_apply", flaky)
    failed = committer.submit(_delivery("x1"))
    with pytest.raises(RuntimeError, match="database went away"):
        failed.result(timeout=10)

    retried = committer.submit(_delivery("x1")).result(timeout=10)

    assert (retried.new, retried.duplicates) == (1, 0)
    assert committer.stats.failures == 1
