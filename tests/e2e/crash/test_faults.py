"""Faults the service must ride out by itself, with nothing lost and nothing doubled.

- PostgreSQL restarted while deliveries flow into ``recoup serve``: senders retry what got no
  2xx; the same server process (``pool_pre_ping``) serves again once PostgreSQL is back. This
  restarts the machine's real PostgreSQL, so it runs only with ``RECOUP_FAULT_TESTS=1`` or
  ``CI=true``; run it alone.
- The system of record down for minutes (503 with ``Retry-After``, then refusing connections):
  writebacks back off, new ones queue behind them, none goes to dead letter; when it is back the
  backlog drains and each writeback is applied once. Driven in-process with a fixed clock that
  advances the minutes, through the worker's round (``run_due``).
- The email channel (a real SMTP server on loopback) down when an outreach step comes due: the
  message is stored as failed, the step is tried again later, and once the server is back the
  customer gets exactly one email.
- A worker stalled past its lease (its clock, or another's, moved on): it starts nothing more of
  its claim, and never runs a climb another runner has taken on since, so no customer is
  emailed twice for one step.
"""

from __future__ import annotations

import os
import random
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from recoup.adapters.clock import FixedClock
from recoup.adapters.policy.ladders import read_ladders
from recoup.adapters.store import tables as t
from recoup.adapters.writeback.http_webhook import HttpWebhookWriteback
from recoup.bootstrap import App, bootstrap
from recoup.domain.cases.case import CaseStatus
from recoup.domain.recovery.outbox import OutboxStatus
from recoup.domain.recovery.outreach import Delivery, DeliveryStatus, OutboundMessage
from recoup.services.audit import verify_audit
from recoup.services.ingest import ingest_records
from recoup.services.recovery import Recovery, run_recovery
from recoup.services.worker import Writeback, run_due
from recoup.settings import DatabaseSettings, RecoverySettings, Settings
from tests.conftest import IN_CI, PG_ADMIN_URL, T0
from tests.e2e.crash.harness import (
    HOOK_SOURCES,
    WRITEBACK_SECRET,
    RecordSystem,
    Sender,
    Server,
    audit_counts,
    wait_until,
)
from tests.helpers import raw, record
from tests.integration.recovery.test_outbox import cases, items, queue, seed
from tests.loopback_smtp import PASSWORD, USER, EphemeralController, Inbox, authenticate

FAULT_TESTS = os.environ.get("RECOUP_FAULT_TESTS") == "1" or IN_CI
PG_VERSION, _, PG_CLUSTER = os.environ.get("TEST_POSTGRES_CLUSTER", "15/main").partition("/")
"""The cluster (``pg_lsclusters``) serving ``TEST_POSTGRES_ADMIN_URL``: a private one keeps the
restart from disturbing anything else on the machine."""
_ADMIN = sa.engine.make_url(PG_ADMIN_URL)
PG_HOST, PG_PORT = _ADMIN.host or "127.0.0.1", str(_ADMIN.port or 5432)


# -- PostgreSQL restarted under load -------------------------------------------------------------


def restart_postgresql() -> float:
    """``pg_ctlcluster restart`` (fast shutdown: open sessions are cut), then wait until it
    accepts connections; returns the seconds it was away."""
    started = time.monotonic()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", PG_VERSION, PG_CLUSTER, "restart",
         "--", "-m", "fast"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    ready = ["pg_isready", "-h", PG_HOST, "-p", PG_PORT, "-q"]
    wait_until(lambda: subprocess.run(ready, check=False).returncode == 0, 30,
               "PostgreSQL to accept connections again")  # fmt: skip
    return time.monotonic() - started


@pytest.mark.postgres
@pytest.mark.skipif(
    not FAULT_TESTS,
    reason="restarts the machine's PostgreSQL: set RECOUP_FAULT_TESTS=1 and run it alone",
)
@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_postgresql_restarted_under_load_loses_and_doubles_nothing(
    store_url: str, tmp_path: Path
) -> None:
    env = {
        "RECOUP_DATABASE__URL": store_url,
        "RECOUP_DATABASE__AUTO_UPGRADE": "false",
        "RECOUP_WEBHOOKS__SOURCES": HOOK_SOURCES,
    }
    server = Server(env, tmp_path).start()
    events = [f"pg{n:03d}" for n in range(240)]
    senders = [Sender(lambda: server.url, deadline=50, pause=0.2) for _ in range(6)]
    threads = [threading.Thread(target=s.send_all, args=(events[n::6],))
               for n, s in enumerate(senders)]  # fmt: skip
    try:
        for thread in threads:
            thread.start()
        wait_until(lambda: sum(len(s.delivered) for s in senders) >= 40, 30,
                   "the first deliveries", log=server)  # fmt: skip
        away = restart_postgresql()
        for thread in threads:
            thread.join(60)
        alive = server.is_running
        after = httpx.get(f"{server.url}/health", timeout=10).status_code
    finally:
        server.stop()

    outcomes: Counter[int | str] = Counter()
    for sender in senders:
        outcomes.update(sender.outcomes)
    failed = sum(n for outcome, n in outcomes.items() if outcome != 200)
    assert failed > 0, f"no delivery saw the restart ({away:.1f} s): {outcomes}"
    assert (alive, after, server.starts) == (True, 200, 1)  # recovered by itself, same process
    delivered = sorted(i for s in senders for i in s.delivered)
    assert delivered == events
    bootstrapped = bootstrap(Settings(database=DatabaseSettings(url=store_url,
                                                                auto_upgrade=False)))  # fmt: skip
    try:
        e = t.events.c
        with bootstrapped.engine.connect() as conn:
            stored = conn.execute(sa.select(e.external_id).where(e.source == "acme")).scalars()
            counted = Counter(stored)
            n_cases = conn.execute(sa.select(sa.func.count()).select_from(t.cases)).scalar_one()
        assert sorted(counted) == events
        assert set(counted.values()) == {1}
        assert n_cases == len(events)
        verification = verify_audit(reader=bootstrapped.reader)
        assert verification.is_intact, verification.problem
    finally:
        bootstrapped.close()


# -- the system of record down for minutes ------------------------------------------------------


@pytest.fixture
def record_system() -> Iterator[RecordSystem]:
    sor = RecordSystem().start()
    yield sor
    sor.close()


def test_a_system_of_record_down_for_minutes_drains_its_backlog_once(
    app: App, record_system: RecordSystem
) -> None:
    clock = app.clock
    assert isinstance(clock, FixedClock)
    step = timedelta(seconds=30)
    port = HttpWebhookWriteback(record_system.url, WRITEBACK_SECRET, timeout=2.0)
    writeback = Writeback(port, rng=random.Random(20261122))

    def round_() -> None:
        run_due(uow=app.uow, clock=clock, detectors=app.detectors, writeback=writeback)
        clock.advance(step)

    try:
        before = seed(app, 10)
        for case_id in before[:6]:
            assert queue(app, case_id) is not None

        # minutes 0-4: the system of record answers 503 with Retry-After: 60
        record_system.down, record_system.retry_after = True, "60"
        for _ in range(8):
            round_()
        # minutes 4-10: it is gone (connections refused); four more cases queue meanwhile
        record_system.stop()
        for n in range(12):
            if n == 2:
                for case_id in before[6:]:
                    assert queue(app, case_id) is not None
            round_()
        outage = items(app)
        assert {i.status for i in outage.values()} == {OutboxStatus.RETRYING}
        assert all(i.attempts >= 1 for i in outage.values())
        assert all("ConnectError" in (i.last_detail or "") for i in outage.values())
        assert record_system.effects == Counter()  # nothing applied during the outage
        assert record_system.refused_503 > 0
        assert all(c.status is CaseStatus.IN_PROGRESS for c in cases(app, before).values())

        # it comes back on the same address: the backlog drains by itself
        record_system.down = False
        record_system.start()
        back_at = clock.now()
        for _ in range(120):
            if all(i.status is OutboxStatus.CONFIRMED for i in items(app).values()):
                break
            round_()
        drained_in = clock.now() - back_at
    finally:
        port.close()

    final = items(app)
    assert {i.status for i in final.values()} == {OutboxStatus.CONFIRMED}, drained_in
    assert drained_in <= timedelta(minutes=60)
    assert set(record_system.effects) == {i.idempotency_key for i in final.values()}
    assert set(record_system.effects.values()) == {1}
    assert all(record_system.requests[i.idempotency_key] == 1 for i in final.values())
    assert record_system.bad_signatures == 0
    resolved = cases(app, before)
    assert {c.status for c in resolved.values()} == {CaseStatus.RESOLVED}
    actions = audit_counts(app.engine, "writeback.", "case.resolved")
    assert actions["writeback.confirmed"] == 10
    assert actions["case.resolved"] == 10
    assert actions["writeback.dead"] == 0
    assert actions["writeback.retry_scheduled"] == sum(i.attempts - 1 for i in final.values())
    verification = verify_audit(reader=app.reader)
    assert verification.is_intact, verification.problem


# -- the email channel down ------------------------------------------------------------------------


class Smtp:
    """The loopback SMTP server, stoppable and startable on the same port."""

    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = 0
        self.controller: EphemeralController | None = None

    def start(self) -> Smtp:
        self.controller = EphemeralController(
            self.inbox, hostname="127.0.0.1", port=self.port, authenticator=authenticate,
            auth_require_tls=False, auth_exclude_mechanism=["LOGIN"],
        )  # fmt: skip
        self.controller.start()
        self.port = self.controller.port
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def test_an_email_channel_down_marks_the_message_failed_and_sends_it_once_when_back(
    store_url: str,
) -> None:
    smtp = Smtp().start()
    url = f"mailto://{USER}:{PASSWORD}@127.0.0.1:{smtp.port}?from=billing@shop.example"
    settings = Settings(
        database=DatabaseSettings(url=store_url, auto_upgrade=False),
        recovery=RecoverySettings(gateway="simulator", simulator_seed=11,
                                  outreach_channels={"email": SecretStr(url)}),
    )  # fmt: skip
    clock = FixedClock(T0)
    app = bootstrap(settings, clock=clock)
    app.ensure_schema()
    smtp.stop()  # down from the start: the email step will come due while it is away
    try:
        failed = record("f_mail", "payment.failed", amount="40.00", reason="stripe:expired_card",
                        payment="pi_mail", customer="cus_mail")  # fmt: skip
        failed["attributes"] = {"network": "visa", "customer_email": "ana@example.org",
                                "customer_name": "Ana"}  # fmt: skip
        ingest_records(raw([failed]), uow=app.uow, clock=clock, detectors=app.detectors,
                       label="t", policy=app.policy)  # fmt: skip
        recovery = app.recovery()
        m = t.messages.c

        def messages() -> list[tuple[str, str]]:
            with app.engine.connect() as conn:
                return [(r, s) for r, s in conn.execute(
                    sa.select(m.recipient, m.status).order_by(m.at, m.id))]  # fmt: skip

        # the climb reaches its email step (retries of an expired card are not eligible)
        for _ in range(30):
            run_recovery(uow=app.uow, clock=clock, recovery=recovery)
            clock.advance(timedelta(hours=1))
            if messages():
                break
        assert messages() == [("ana@example.org", "failed")]
        assert smtp.inbox.messages() == []

        # the server is back a few minutes later; the climb goes on by itself
        clock.advance(timedelta(minutes=10))
        smtp.start()
        for _ in range(6):
            run_recovery(uow=app.uow, clock=clock, recovery=recovery)
            clock.advance(timedelta(minutes=30))

        assert messages() == [("ana@example.org", "failed"), ("ana@example.org", "sent")]
        a = t.recovery_attempts.c
        with app.engine.connect() as conn:
            tried = conn.execute(sa.select(a.kind, a.outcome).where(a.kind == "channel")
                                 .order_by(a.at, a.id)).all()  # fmt: skip
        assert [tuple(row) for row in tried] == [
            ("channel", "failed"), ("channel", "deferred"), ("channel", "sent")]  # fmt: skip
        [email] = smtp.inbox.messages()
        assert email["To"] == "ana@example.org"
        with app.reader() as tx:
            (case,) = tx.list_cases({"status": None}, 10)
        assert case.status.value != "escalated"  # the customer was asked; the climb waits
        # running again sends nothing more
        for _ in range(4):
            run_recovery(uow=app.uow, clock=clock, recovery=recovery)
            clock.advance(timedelta(minutes=30))
        assert len(smtp.inbox.messages()) == 1
        verification = verify_audit(reader=app.reader)
        assert verification.is_intact, verification.problem
    finally:
        app.close()
        smtp.stop()


# -- a worker stalled past its lease -------------------------------------------------------------

MAIL_LADDERS = """
version = 1

[ladders.payment_failed]
budget = { max_attempts = 3, max_days = 14 }
stop_on = ["recovered", "customer_replied", "disputed", "case_resolved"]

[[ladders.payment_failed.steps]]
kind = "channel"
channel = "email"
template = "payment_failed_update_method"

[[ladders.payment_failed.steps]]
kind = "escalate"
"""


class StallingChannel:
    """Counts sends by case (into ``sent``, which runners may share). The first send stalls:
    the clock moves on by ``stall`` and ``meanwhile`` runs (another runner at work), as a worker
    stuck on a slow server would see."""

    def __init__(self, clock: FixedClock, stall: timedelta, sent: Counter[str]) -> None:
        self.clock = clock
        self.stall = stall
        self.sent = sent
        self.first: str | None = None
        self.meanwhile: Callable[[], object] = lambda: None

    def send(self, message: OutboundMessage) -> Delivery:
        self.sent[message.case_id] += 1
        if self.first is None:
            self.first = message.case_id
            self.clock.advance(self.stall)
            self.meanwhile()
        return Delivery(message.id, DeliveryStatus.SENT, self.clock.now(), "250 OK")


def two_mail_climbs(app: App, stall: timedelta, clock: FixedClock,
                    sent: Counter[str]) -> tuple[StallingChannel, Recovery]:  # fmt: skip
    """Two new payment_failed cases whose ladder emails at once (ingested at ``app.clock``); a
    recovery whose channel stalls on its first send by ``stall`` (five-minute leases)."""
    failed = []
    for n in range(2):
        rec = record(f"f_lease{n}", "payment.failed", amount="40.00",
                     reason="stripe:expired_card", payment=f"pi_lease{n}",
                     customer=f"cus_lease{n}")  # fmt: skip
        rec["attributes"] = {"network": "visa", "customer_email": f"c{n}@example.org"}
        failed.append(rec)
    ingest_records(raw(failed), uow=app.uow, clock=app.clock, detectors=app.detectors,
                   label="t", policy=app.policy)  # fmt: skip
    channel = StallingChannel(clock, stall, sent)
    recovery = replace(app.recovery(), ladders=read_ladders(MAIL_LADDERS, "test"),
                       channel=channel, lease=timedelta(minutes=5))  # fmt: skip
    return channel, recovery


def test_a_runner_whose_lease_ran_out_leaves_the_rest_of_its_claim(app: App) -> None:
    clock = app.clock
    assert isinstance(clock, FixedClock)
    channel, rec = two_mail_climbs(app, timedelta(minutes=6), clock, Counter())

    first = run_recovery(uow=app.uow, clock=clock, recovery=rec)
    assert (first.climbs, sum(channel.sent.values())) == (1, 1)  # the second climb waits
    second = run_recovery(uow=app.uow, clock=clock, recovery=rec)
    assert (second.climbs, sorted(channel.sent.values())) == (1, [1, 1])


def test_a_runner_does_not_redo_a_climb_another_runner_took_on_since_its_claim(
    app: App,
) -> None:
    """Runner B's clock is six minutes ahead of runner A's: by B's clock A's lease is over, so
    B claims A's two climbs while A is busy with its first send, and runs both. When A comes
    to the second climb its own lease still looks valid, but its claim is stale: running it
    would put back the state B moved on from, and the customer would be emailed again two days
    later. The send A was in when B took over goes out twice (leases longer than the slowest
    call, and clocks in step, prevent that)."""
    slow = app.clock
    assert isinstance(slow, FixedClock)
    ahead = FixedClock(slow.now() + timedelta(minutes=6))
    sent: Counter[str] = Counter()
    a, rec_a = two_mail_climbs(app, timedelta(0), slow, sent)
    b = StallingChannel(ahead, timedelta(0), sent)
    b.first = "never stalls"
    rec_b = replace(rec_a, channel=b)
    a.meanwhile = lambda: run_recovery(uow=app.uow, clock=ahead, recovery=rec_b)

    run_recovery(uow=app.uow, clock=slow, recovery=rec_a)
    for _ in range(24 * 4):  # the climbs go on for days: nobody is emailed again
        ahead.advance(timedelta(hours=1))
        run_recovery(uow=app.uow, clock=ahead, recovery=rec_b)

    assert a.first is not None
    assert sent[a.first] == 2  # the send in flight when B took over
    (other,) = set(sent) - {a.first}
    assert sent[other] == 1
    m = t.messages.c
    with app.engine.connect() as conn:
        stored = conn.execute(sa.select(m.case_id, m.status)).all()
    assert sorted(stored) == sorted([(a.first, "sent"), (other, "sent")])
    verification = verify_audit(reader=app.reader)
    assert verification.is_intact, verification.problem
