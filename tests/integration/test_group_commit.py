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


def _case_rows(app: App) -> list[tuple[str, int, int]]:
    c = t.cases.c
    with app.engine.connect() as conn:
        rows = conn.execute(sa.select(c.id, c.finding_count, c.version)).all()
    return [(str(i), int(n), int(v)) for i, n, v in rows]


def _failure(external_id: str, payment: str) -> Event:
    rec = record(external_id, "payment.failed", amount="5.00", reason="stripe:insufficient_funds",
                 payment=payment, minutes=90)  # fmt: skip
    parsed = parse_record(msgspec.json.encode(rec), received_at=T0)
    assert isinstance(parsed, Event)
    return parsed


@pytest.mark.postgres
@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_a_batch_that_loses_a_race_to_another_process_runs_again_and_is_stored_once(
    app: App, committer: GroupCommitter, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recoup.adapters.store.uow import SqlUnitOfWork

    committer.submit(_delivery("first")).result(timeout=10)
    ((case_id, findings, version),) = _case_rows(app)
    original = SqlUnitOfWork.save_plan
    rivals: list[str] = []

    def racing(self: SqlUnitOfWork, plan: object, found: object) -> None:
        if not rivals:  # another process moves the case after this batch read it
            with app.engine.begin() as other:
                other.execute(t.cases.update().where(t.cases.c.id == case_id)
                              .values(version=t.cases.c.version + 1))  # fmt: skip
            rivals.append(case_id)
        original(self, plan, found)  # type: ignore[arg-type]

    monkeypatch.setattr(SqlUnitOfWork, "save_plan", racing)
    again = committer.submit(
        Delivery("stripe", "stripe-events", [_failure("second", "pi_first")], [])
    ).result(timeout=10)

    assert (again.new, again.duplicates) == (1, 0)
    assert committer.stats.retries == 1
    assert committer.stats.failures == 0
    assert _case_rows(app) == [(case_id, findings + 1, version + 2)]
    with app.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.events)).scalar_one() == 2


def test_a_unique_key_taken_by_another_transaction_is_a_lost_race_on_postgresql(
    app: App,
) -> None:
    from recoup.domain.errors import LostRaceError

    row = {"name": "racer", "first_seen_at": T0, "last_event_at": T0}
    with app.engine.begin() as conn:
        conn.execute(t.sources.insert().values(**row))

    def insert_again() -> None:
        with app.uow() as tx:
            tx.conn.execute(t.sources.insert().values(**row))
            tx.commit()

    if app.engine.dialect.name == "sqlite":  # one writer at a time: a bug, never a race
        with pytest.raises(sa.exc.IntegrityError):
            insert_again()
        return
    with pytest.raises(LostRaceError, match="another transaction got there first") as raised:
        insert_again()
    assert isinstance(raised.value.__cause__, sa.exc.IntegrityError)


def test_other_database_errors_are_not_taken_for_races(app: App) -> None:
    with pytest.raises(sa.exc.DBAPIError), app.uow() as tx:
        tx.conn.execute(sa.text("SELECT no_such_column FROM sources"))
