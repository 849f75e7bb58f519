"""Several ``recoup serve`` and ``recoup worker`` processes against one PostgreSQL.

Two servers take the same failed payments as signed webhooks, each sender delivering every
event to both servers in its own order (a redelivery storm across processes); two workers climb
the ladders (a retry through a loopback Stripe, then the writeback to a loopback system of
record). At the end:

- every event is stored once and opened one case (no duplicate case across servers);
- every retry reached the PSP under one idempotency key and charged once;
- every case resolved once, with one stored attempt, one confirmed writeback applied once by the
  system of record, and the matching audit records once each; the audit chain verifies.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from recoup.adapters.connectors.webhooks.signatures import sign_generic
from recoup.adapters.store import tables as t
from recoup.bootstrap import App, bootstrap
from recoup.domain.cases.case import CaseStatus
from recoup.services.audit import verify_audit
from recoup.settings import DatabaseSettings, PolicySettings, Settings
from tests.e2e.crash.harness import (
    HOOK_SECRET,
    HOOK_SOURCES,
    STRIPE_KEY,
    WRITEBACK_SECRET,
    Proc,
    RecordSystem,
    Server,
    StripeReplay,
    audit_rows,
    policy_folder,
    wait_until,
    worker,
)
from tests.e2e.crash.test_crash_worker import LADDERS

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("store_url", ["postgresql"], indirect=True),
]

PAYMENTS = 24


def body(n: int, at: datetime) -> bytes:
    """A failed payment the ladder retries at once (a processing error two hours ago), for the
    49.00 EUR the recorded Stripe confirm collects."""
    return json.dumps({
        "source": "acme", "external_id": f"multi-{n}", "type": "payment.failed",
        "occurred_at": at.isoformat(), "amount": "49.00", "currency": "EUR",
        "reason_code": "stripe:processing_error",
        "refs": {"payment": f"pi_multi_{n}", "customer": f"cus_multi_{n}"},
        "attributes": {"network": "visa"},
    }).encode()  # fmt: skip


def send(url: str, bodies: list[bytes], outcomes: Counter[int | str], lock: threading.Lock,
         ) -> None:  # fmt: skip
    """Deliver each body until it is answered 2xx, as providers do."""
    with httpx.Client(timeout=20) as client:
        for data in bodies:
            for _ in range(50):
                signature = sign_generic(data, HOOK_SECRET, timestamp=datetime.now(UTC))
                try:
                    status: int | str = client.post(
                        f"{url}/hooks/acme", content=data,
                        headers={"X-Recoup-Signature": signature},
                    ).status_code  # fmt: skip
                except httpx.TransportError as exc:
                    status = type(exc).__name__
                with lock:
                    outcomes[status] += 1
                if isinstance(status, int) and 200 <= status < 300:
                    break


@pytest.fixture
def rig(store_url: str, tmp_path: Path) -> Iterator[tuple[App, StripeReplay, RecordSystem,
                                                          list[Proc]]]:  # fmt: skip
    policy = policy_folder(tmp_path / "policy", LADDERS)
    stripe, sor = StripeReplay().start(), RecordSystem().start()
    app = bootstrap(Settings(database=DatabaseSettings(url=store_url, auto_upgrade=False),
                             policy=PolicySettings(path=policy)))  # fmt: skip
    env = {
        "RECOUP_DATABASE__URL": store_url,
        "RECOUP_DATABASE__AUTO_UPGRADE": "false",
        "RECOUP_POLICY__PATH": str(policy),
        "RECOUP_WEBHOOKS__SOURCES": HOOK_SOURCES,
        "RECOUP_RECOVERY__GATEWAY": "stripe",
        "RECOUP_RECOVERY__STRIPE_API_KEY": STRIPE_KEY,
        "RECOUP_RECOVERY__STRIPE_BASE_URL": stripe.url,
        "RECOUP_WRITEBACK__TARGET": "webhook",
        "RECOUP_WRITEBACK__WEBHOOK_URL": sor.url,
        "RECOUP_WRITEBACK__WEBHOOK_SECRET": WRITEBACK_SECRET,
    }
    procs: list[Proc] = [Server(env, tmp_path), Server(env, tmp_path),
                         worker(env, tmp_path), worker(env, tmp_path)]  # fmt: skip
    try:
        yield app, stripe, sor, procs
    finally:
        for proc in procs:
            proc.stop()
        stripe.close()
        sor.close()
        app.close()


def test_two_servers_and_two_workers_do_each_thing_once(
    rig: tuple[App, StripeReplay, RecordSystem, list[Proc]],
) -> None:
    app, stripe, sor, procs = rig
    servers = [p for p in procs if isinstance(p, Server)]
    at = app.clock.now() - timedelta(hours=2)
    bodies = [body(n, at) for n in range(PAYMENTS)]
    for proc in servers:
        proc.start()
    outcomes: Counter[int | str] = Counter()
    lock = threading.Lock()
    senders = [
        threading.Thread(target=send, args=(servers[0].url, bodies, outcomes, lock)),
        threading.Thread(target=send, args=(servers[1].url, bodies[::-1], outcomes, lock)),
        threading.Thread(target=send, args=(servers[1].url, bodies[::2], outcomes, lock)),
    ]
    for thread in senders:
        thread.start()
    for proc in procs:
        if proc not in servers:
            proc.start()  # the workers run while deliveries still arrive
    for thread in senders:
        thread.join(120)
    assert sum(n for status, n in outcomes.items() if status == 200) == PAYMENTS * 2 + PAYMENTS // 2

    def settled() -> bool:
        with app.reader() as tx:
            cases = tx.list_cases({"status": None}, 1000)
        with app.engine.connect() as conn:
            query = sa.select(sa.func.count()).where(t.outbox.c.status != "confirmed")
            waiting = conn.execute(query).scalar_one()
        return len(cases) == PAYMENTS and waiting == 0 and all(
            c.status is CaseStatus.RESOLVED for c in cases)  # fmt: skip

    wait_until(settled, 90, "every case to resolve and every writeback to be confirmed",
               log=procs[2])  # fmt: skip

    with app.engine.connect() as conn:
        events = conn.execute(sa.select(sa.func.count()).select_from(t.events)).scalar_one()
        attempts = conn.execute(sa.select(t.recovery_attempts.c.id,
                                          t.recovery_attempts.c.outcome)).all()  # fmt: skip
        outbox = conn.execute(sa.select(t.outbox.c.case_id, t.outbox.c.status)).all()
    assert events == PAYMENTS
    with app.reader() as tx:
        cases = tx.list_cases({"status": None}, 1000)
    assert sorted(c.entity_key for c in cases) == sorted(f"pi_multi_{n}" for n in range(PAYMENTS))
    assert {(c.outcome, str(c.recovered_amount)) for c in cases} == {("recovered", "49.00")}
    assert len(attempts) == PAYMENTS
    assert {outcome for _, outcome in attempts} == {"succeeded"}
    assert set(stripe.effects.values()) == {1}
    assert len(stripe.effects) == PAYMENTS
    assert sorted(case_id for case_id, _ in outbox) == sorted(c.id for c in cases)
    assert set(sor.effects.values()) == {1}
    assert len(sor.effects) == PAYMENTS

    actions = Counter(action for action, _ in audit_rows(app.engine))
    assert actions["case.opened"] == PAYMENTS
    assert actions["case.resolved"] == PAYMENTS
    assert actions["writeback.confirmed"] == PAYMENTS
    verification = verify_audit(reader=app.reader)
    assert verification.is_intact, verification.problem
