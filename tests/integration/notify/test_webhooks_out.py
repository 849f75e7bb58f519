"""Outbound webhooks end to end on SQLite and PostgreSQL, against a real HTTP receiver on
loopback that verifies every signature: delivered, retried on 5xx then delivered, 4xx not
retried, dead after the last attempt, timeouts retried, idempotent enqueue and redelivery."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from recoup.adapters.clock import FixedClock
from recoup.adapters.notify.http import HttpWebhookSender
from recoup.adapters.store import tables as t
from recoup.bootstrap import App
from recoup.domain.errors import ConflictError, InvalidInputError
from recoup.domain.notify import Backoff, CaseEvent, DeliveryStatus
from recoup.services.cases import move_case
from recoup.services.ingest import ingest_records
from recoup.services.notify import (
    Delivering,
    deliver_due,
    disable_subscription,
    list_deliveries,
    redeliver,
    subscribe,
)
from recoup.services.worker import run_due
from tests.helpers import raw, record
from tests.integration.notify.receiver import Receiver, serve

SECRET = "whsec_test_0123456789abcdef"


@pytest.fixture
def receiver(clock: FixedClock) -> Iterator[Receiver]:
    yield from serve(Receiver(SECRET, clock))


def delivering(max_attempts: int = 4, timeout: float = 5.0) -> Delivering:
    return Delivering(
        sender=HttpWebhookSender(timeout_seconds=timeout),
        max_attempts=max_attempts,
        backoff=Backoff(base=timedelta(seconds=30), cap=timedelta(minutes=10)),
        rng=random.Random(7),
    )


def failures(app: App, n: int, first: int = 0) -> None:
    records = [
        record(f"f{i}", "payment.failed", minutes=i, amount="10.00",
               reason="stripe:insufficient_funds", payment=f"pi_{i}", customer=f"c{i}")
        for i in range(first, first + n)
    ]  # fmt: skip
    ingest_records(raw(records), uow=app.uow, clock=app.clock, detectors=app.detectors,
                   label="t", policy=app.policy)  # fmt: skip


def subscribe_to(app: App, url: str, events: str = "opened", team: str | None = None) -> str:
    sub, _secret = subscribe(url, events=events, secret=SECRET, team=team, actor="user:ann",
                             uow=app.uow, clock=app.clock)  # fmt: skip
    return sub.id


def actions(app: App, prefix: str) -> list[str]:
    a = t.audit_log.c
    with app.engine.connect() as conn:
        found = conn.execute(sa.select(a.action).order_by(a.seq)).scalars()
        return [x for x in found if x.startswith(prefix)]


def test_an_opened_case_is_posted_signed_and_the_attempt_stored(
    app: App, clock: FixedClock, receiver: Receiver
) -> None:
    subscribe_to(app, receiver.url)
    failures(app, 1)
    [queued] = list_deliveries(reader=app.reader)
    assert (queued.status, queued.event, queued.case_version) == (
        DeliveryStatus.PENDING, CaseEvent.OPENED, 1)  # fmt: skip

    report = deliver_due(uow=app.uow, clock=clock, delivering=delivering())

    assert (report.claimed, report.delivered) == (1, 1)
    [got] = receiver.received
    assert got.signature_ok
    assert got.path == "/hooks/recoup"
    assert got.headers["Recoup-Event"] == "case.opened"
    assert got.headers["Recoup-Delivery"] == queued.id
    assert got.headers["Content-Type"] == "application/json"
    body = json.loads(got.body)
    assert (body["id"], body["type"], body["case"]["id"]) == (queued.id, "case.opened",
                                                               queued.case_id)  # fmt: skip
    [done] = list_deliveries(reader=app.reader)
    assert (done.status, done.attempts, done.delivered_at) == (DeliveryStatus.DELIVERED, 1,
                                                               clock.now())  # fmt: skip
    [attempt] = done.history
    assert (attempt.number, attempt.status_code, attempt.outcome, attempt.error) == (
        1, 200, DeliveryStatus.DELIVERED, None)  # fmt: skip
    assert actions(app, "notify.") == ["notify.subscribed", "notify.delivered"]
    # nothing is due any more
    assert deliver_due(uow=app.uow, clock=clock, delivering=delivering()).claimed == 0


def test_a_500_is_retried_after_the_backoff_then_delivered(
    app: App, clock: FixedClock, receiver: Receiver
) -> None:
    receiver.script = [500]
    subscribe_to(app, receiver.url)
    failures(app, 1)
    first = deliver_due(uow=app.uow, clock=clock, delivering=delivering())
    assert (first.claimed, first.retrying) == (1, 1)
    [waiting] = list_deliveries(reader=app.reader)
    assert waiting.status is DeliveryStatus.RETRYING
    assert waiting.next_at is not None
    assert (
        clock.now() + timedelta(seconds=15)
        <= waiting.next_at
        <= clock.now() + timedelta(seconds=30)
    )
    assert deliver_due(uow=app.uow, clock=clock, delivering=delivering()).claimed == 0
    clock.set(waiting.next_at)
    second = deliver_due(uow=app.uow, clock=clock, delivering=delivering())
    assert (second.claimed, second.delivered) == (1, 1)
    [done] = list_deliveries(reader=app.reader)
    assert done.status is DeliveryStatus.DELIVERED
    assert [(a.number, a.status_code, a.outcome.value) for a in done.history] == [
        (1, 500, "retrying"), (2, 200, "delivered")]  # fmt: skip
    assert [r.signature_ok for r in receiver.received] == [True, True]
    assert len({r.headers["Recoup-Delivery"] for r in receiver.received}) == 1


def test_a_400_fails_at_once_and_is_not_retried(
    app: App, clock: FixedClock, receiver: Receiver
) -> None:
    receiver.script = [400]
    subscribe_to(app, receiver.url)
    failures(app, 1)
    report = deliver_due(uow=app.uow, clock=clock, delivering=delivering())
    assert (report.claimed, report.failed) == (1, 1)
    clock.advance(timedelta(days=2))
    assert deliver_due(uow=app.uow, clock=clock, delivering=delivering()).claimed == 0
    [failed] = list_deliveries(reader=app.reader, status="failed")
    assert (failed.attempts, failed.last_status_code, failed.next_at) == (1, 400, None)
    assert len(receiver.received) == 1


def test_dead_after_the_last_attempt_then_redelivered_once(
    app: App, clock: FixedClock, receiver: Receiver
) -> None:
    receiver.script = [503, 503, 429]
    subscribe_to(app, receiver.url)
    failures(app, 1)
    for _ in range(3):
        deliver_due(uow=app.uow, clock=clock, delivering=delivering(max_attempts=3))
        clock.advance(timedelta(minutes=11))  # past the cap
    [dead] = list_deliveries(reader=app.reader)
    assert (dead.status, dead.attempts, dead.next_at) == (DeliveryStatus.DEAD, 3, None)
    assert [a.status_code for a in dead.history] == [503, 503, 429]
    assert deliver_due(uow=app.uow, clock=clock, delivering=delivering(max_attempts=3)).claimed == 0

    again = redeliver(dead.id[:8], actor="user:ann", uow=app.uow, clock=clock)
    twice = redeliver(dead.id, actor="user:ann", uow=app.uow, clock=clock)
    assert again.status is twice.status is DeliveryStatus.PENDING
    assert actions(app, "notify.redeliver") == ["notify.redeliver"]  # the second changed nothing
    report = deliver_due(uow=app.uow, clock=clock, delivering=delivering(max_attempts=3))
    assert (report.claimed, report.delivered) == (1, 1)
    assert len(receiver.received) == 4
    [done] = list_deliveries(reader=app.reader)
    assert (done.status, done.attempts) == (DeliveryStatus.DELIVERED, 4)
    assert [a.number for a in done.history] == [1, 2, 3, 4]


def test_a_timeout_is_stored_and_retried(app: App, clock: FixedClock, receiver: Receiver) -> None:
    receiver.delay = 1.0
    subscribe_to(app, receiver.url)
    failures(app, 1)
    report = deliver_due(uow=app.uow, clock=clock, delivering=delivering(timeout=0.2))
    assert report.retrying == 1
    [waiting] = list_deliveries(reader=app.reader)
    [attempt] = waiting.history
    assert attempt.status_code is None
    assert attempt.error is not None
    assert "Timeout" in attempt.error
    assert attempt.duration_ms >= 150


def test_enqueueing_is_idempotent_by_subscription_case_event_and_version(
    app: App, receiver: Receiver
) -> None:
    subscribe_to(app, receiver.url)
    failures(app, 2)
    failures(app, 2)  # the same events again: duplicates, nothing new
    found = list_deliveries(reader=app.reader)
    assert len(found) == 2
    with app.uow() as tx:
        assert tx.add_deliveries(found) == 0
        tx.commit()
    assert len(list_deliveries(reader=app.reader)) == 2


def test_lifecycle_events_follow_the_case_and_filters_apply(
    app: App, clock: FixedClock, receiver: Receiver
) -> None:
    everything = subscribe_to(app, receiver.url, "opened,escalated,resolved,reopened")
    resolved_only = subscribe_to(app, receiver.url, "resolved")
    other_team = subscribe_to(app, receiver.url, "opened,resolved", team="finance_ops")
    failures(app, 1)
    with app.reader() as tx:
        [case] = tx.list_cases({}, 10)
    at = clock.now()
    # payment_failed escalates a day after opening
    run_due(uow=app.uow, clock=FixedClock(at + timedelta(days=1, seconds=1)),
            detectors=app.detectors)  # fmt: skip
    paid_at = FixedClock(at + timedelta(days=1, hours=1))
    move_case(case.id, "resolved", "paid", actor="user:ann", uow=app.uow, clock=paid_at,
              resolution="recovered")  # fmt: skip
    move_case(case.id, "triaged", "not paid after all", actor="user:ann", uow=app.uow,
              clock=FixedClock(at + timedelta(days=1, hours=2)))  # fmt: skip
    found = list_deliveries(reader=app.reader)
    got = sorted((d.subscription_id == everything, d.event.value, d.case_version) for d in found)
    versions = {d.event.value: d.case_version for d in found if d.subscription_id == everything}
    assert versions["opened"] == 1
    assert versions["opened"] < versions["escalated"] < versions["resolved"] < versions["reopened"]
    assert [(e, v) for mine, e, v in got if not mine] == [("resolved", versions["resolved"])]
    assert not any(d.subscription_id == other_team for d in found)
    assert {d.subscription_id for d in found} == {everything, resolved_only}


def test_a_disabled_subscription_gets_nothing_and_its_queue_fails(
    app: App, clock: FixedClock, receiver: Receiver
) -> None:
    sub = subscribe_to(app, receiver.url)
    failures(app, 1)
    disable_subscription(sub[:8], actor="user:ann", uow=app.uow, clock=clock)
    with pytest.raises(ConflictError, match="disabled already"):
        disable_subscription(sub, actor="user:ann", uow=app.uow, clock=clock)
    failures(app, 1, first=1)
    report = deliver_due(uow=app.uow, clock=clock, delivering=delivering())
    assert (report.claimed, report.failed) == (1, 1)
    assert receiver.received == []
    [failed] = list_deliveries(reader=app.reader)
    assert failed.last_error == "subscription disabled"


def test_a_bad_subscription_changes_nothing(app: App) -> None:
    with pytest.raises(InvalidInputError) as caught:
        subscribe("http://127.0.0.1/x", events="opened", secret="short", team=None,
                  actor="user:ann", uow=app.uow, clock=app.clock)  # fmt: skip
    assert caught.value.location.field == "secret"
    with app.reader() as tx:
        assert tx.subscriptions() == []
    assert actions(app, "notify.") == []


def test_a_worker_round_delivers_due_webhooks(
    app: App, clock: FixedClock, receiver: Receiver
) -> None:
    subscribe_to(app, receiver.url)
    failures(app, 2)
    report = run_due(uow=app.uow, clock=clock, detectors=app.detectors, notify=delivering())
    assert (report.notify.claimed, report.notify.delivered) == (2, 2)
    assert report.fired >= 2
    assert [r.signature_ok for r in receiver.received] == [True, True]
    quiet = run_due(uow=app.uow, clock=clock, detectors=app.detectors, notify=delivering())
    assert quiet.notify.claimed == 0
