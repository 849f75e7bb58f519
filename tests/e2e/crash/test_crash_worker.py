"""``recoup worker`` killed with SIGKILL on PostgreSQL, mid-action and mid-writeback, then
started again: every effect happens exactly once and nothing is lost.

The worker is a real subprocess on the system clock. Retries go to a loopback Stripe
(:class:`~tests.e2e.crash.harness.StripeReplay`), writebacks to a loopback system of record
(:class:`~tests.e2e.crash.harness.RecordSystem`); both apply each idempotency key once, as the
real ones do. One of them holds the n-th request of the batch *after* applying it, the test
kills the worker while that request is in flight (the charge or the record landed remotely;
Recoup never heard), starts a new worker, and checks the end state:

- the PSP saw one idempotency key per attempt and charged each once (the resend after the crash
  carries the same key and the same parameters);
- each case resolved once, with one journal entry per posting and one audit record per state
  change; each outbox row confirmed once and the system of record applied each key once;
- the audit chain verifies.

Leases are two seconds (``RECOUP_RECOVERY__LEASE_SECONDS``, ``RECOUP_WRITEBACK__LEASE_SECONDS``)
so the replacement worker picks the dead one's claims up quickly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from recoup.adapters.store import tables as t
from recoup.bootstrap import App, bootstrap
from recoup.domain.cases.case import Case, CaseStatus
from recoup.services.audit import verify_audit
from recoup.services.ingest import ingest_records
from recoup.settings import DatabaseSettings, PolicySettings, Settings
from tests.e2e.crash.harness import (
    STRIPE_KEY,
    WRITEBACK_SECRET,
    Proc,
    RecordSystem,
    StripeReplay,
    audit_rows,
    policy_folder,
    wait_until,
    worker,
)
from tests.helpers import raw, record

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("store_url", ["postgresql"], indirect=True),
]

LEASE_SECONDS = 2
RETRIED = 4
"""Failed payments the ladder retries (49.00 EUR each: the recorded confirm collects 49.00)."""
LADDERS = """
version = 1

[ladders.payment_failed]
budget = { max_attempts = 3, max_days = 14 }
stop_on = ["recovered", "customer_replied", "disputed", "case_resolved"]

[[ladders.payment_failed.steps]]
kind = "retry"

[[ladders.payment_failed.steps]]
kind = "escalate"
"""
"""A retry at once (no wait), then a person: one PSP call per case."""


@dataclass
class Rig:
    app: App
    stripe: StripeReplay
    sor: RecordSystem
    worker: Proc

    @property
    def engine(self) -> sa.Engine:
        return self.app.engine


@pytest.fixture
def rig(store_url: str, tmp_path: Path) -> Iterator[Rig]:
    policy = policy_folder(tmp_path / "policy", LADDERS)
    stripe, sor = StripeReplay().start(), RecordSystem().start()
    settings = Settings(database=DatabaseSettings(url=store_url, auto_upgrade=False),
                        policy=PolicySettings(path=policy))  # fmt: skip
    app = bootstrap(settings)  # the system clock, as the worker's
    env = {
        "RECOUP_DATABASE__URL": store_url,
        "RECOUP_DATABASE__AUTO_UPGRADE": "false",
        "RECOUP_POLICY__PATH": str(policy),
        "RECOUP_RECOVERY__GATEWAY": "stripe",
        "RECOUP_RECOVERY__STRIPE_API_KEY": STRIPE_KEY,
        "RECOUP_RECOVERY__STRIPE_BASE_URL": stripe.url,
        "RECOUP_RECOVERY__LEASE_SECONDS": str(LEASE_SECONDS),
        "RECOUP_WRITEBACK__TARGET": "webhook",
        "RECOUP_WRITEBACK__WEBHOOK_URL": sor.url,
        "RECOUP_WRITEBACK__WEBHOOK_SECRET": WRITEBACK_SECRET,
        "RECOUP_WRITEBACK__LEASE_SECONDS": str(LEASE_SECONDS),
        "RECOUP_WRITEBACK__TIMEOUT_SECONDS": "40",
    }
    proc = worker(env, tmp_path)
    try:
        yield Rig(app, stripe, sor, proc)
    finally:
        proc.stop()
        stripe.close()
        sor.close()
        app.close()


def failed_payments(app: App) -> dict[str, str]:
    """Ingest the failed payments (two hours ago, so the processing-error backoff is over) and
    one small one the policy writes off; returns payment -> case id."""
    at = app.clock.now() - timedelta(hours=2)
    records = [
        record(f"f{i}", "payment.failed", at=at, amount="49.00", reason="stripe:processing_error",
               payment=f"pi_crash_{i}", customer=f"cus_{i}")
        for i in range(RETRIED)
    ]  # fmt: skip
    records.append(record("small", "payment.failed", at=at, amount="3.50",
                          reason="stripe:insufficient_funds", payment="pi_small",
                          customer="cus_small"))  # fmt: skip
    for rec in records:
        rec["attributes"] = {"network": "visa"}
    ingest_records(raw(records), uow=app.uow, clock=app.clock, detectors=app.detectors,
                   label="crash", policy=app.policy)  # fmt: skip
    with app.reader() as tx:
        cases = tx.list_cases({"status": None}, 100)
    assert len(cases) == RETRIED + 1
    return {c.entity_key: c.id for c in cases}


def all_cases(app: App) -> list[Case]:
    with app.reader() as tx:
        return tx.list_cases({"status": None}, 100)


def settled(app: App) -> bool:
    """Every case resolved and every writeback confirmed."""
    o = t.outbox.c
    with app.engine.connect() as conn:
        open_items = conn.execute(
            sa.select(sa.func.count()).select_from(t.outbox).where(o.status != "confirmed")
        ).scalar_one()
    return open_items == 0 and all(c.status is CaseStatus.RESOLVED for c in all_cases(app))


def assert_each_effect_once(rig: Rig, cases: dict[str, str]) -> None:
    app, engine = rig.app, rig.engine
    retried = {ref: case_id for ref, case_id in cases.items() if ref != "pi_small"}
    keys = {f"ladder:{case_id}:0:1" for case_id in retried.values()}

    # the PSP: one key per attempt, one charge per key
    assert set(rig.stripe.effects) == keys
    assert set(rig.stripe.effects.values()) == {1}
    assert set(rig.stripe.paths) == {f"/v1/payment_intents/{ref}/confirm" for ref in retried}
    assert len(rig.stripe.paths) == sum(rig.stripe.requests.values())

    # the cases: resolved once, with the money
    by_id = {c.id: c for c in all_cases(app)}
    for case_id in retried.values():
        case = by_id[case_id]
        assert (case.status, case.outcome, case.recovered_amount, case.pending_resolution) == (
            CaseStatus.RESOLVED, "recovered", Decimal("49.00"), None)  # fmt: skip
    small = by_id[cases["pi_small"]]
    assert (small.status, small.outcome, small.written_off_amount) == (
        CaseStatus.RESOLVED, "written_off", Decimal("3.50"))  # fmt: skip

    # the attempts: one stored row per key
    a = t.recovery_attempts.c
    with engine.connect() as conn:
        attempts = conn.execute(sa.select(a.id, a.kind, a.outcome)).all()
    assert sorted(attempts) == sorted((key, "retry", "succeeded") for key in keys)

    # the ledger: one entry per posting (the write-off)
    j = t.journal_entries.c
    with engine.connect() as conn:
        entries = conn.execute(sa.select(j.case_id, j.kind)).all()
    assert entries == [(cases["pi_small"], "write_off")]

    # the outbox: one row per case, confirmed once; the system of record applied each key once
    o = t.outbox.c
    with engine.connect() as conn:
        items = conn.execute(sa.select(o.case_id, o.idempotency_key, o.status, o.attempts)).all()
    assert sorted((case_id, status, n) for case_id, _, status, n in items) == sorted(
        (case_id, "confirmed", 1) for case_id in cases.values())  # fmt: skip
    assert set(rig.sor.effects) == {key for _, key, _, _ in items}
    assert set(rig.sor.effects.values()) == {1}
    assert rig.sor.bad_signatures == 0

    # one audit record per state change
    rows = audit_rows(engine)
    actions = Counter(action for action, _ in rows)
    n = len(cases)
    assert actions["case.resolved"] == n
    assert actions["case.resolution_pending"] == n
    assert actions["writeback.queued"] == n
    assert actions["writeback.confirmed"] == n
    assert actions["ledger.posted"] == 1
    per_attempt = Counter(data["attempt"] for action, data in rows if action == "recovery.attempt")
    assert per_attempt == Counter(dict.fromkeys(keys, 1))
    confirmed = Counter(data["case_id"] for action, data in rows if action == "writeback.confirmed")
    assert confirmed == Counter(dict.fromkeys(cases.values(), 1))
    verification = verify_audit(reader=app.reader)
    assert verification.is_intact, verification.problem


def kill_when_held(rig: Rig, server: StripeReplay | RecordSystem, what: str) -> None:
    """Start the worker, wait until ``server`` holds the request, kill the worker with
    SIGKILL, release the held request (its client is gone), start a new worker."""
    rig.worker.start()
    wait_until(server.held.is_set, 40, what, log=rig.worker)
    rig.worker.kill()
    server.release.set()
    rig.worker.start()
    wait_until(lambda: settled(rig.app), 50, "every case to resolve after the restart",
               log=rig.worker)  # fmt: skip


def test_a_worker_killed_during_a_psp_retry_charges_once_and_resolves_once(rig: Rig) -> None:
    cases = failed_payments(rig.app)
    rig.stripe.hold_nth = 2  # the first retry of the batch is answered; the second one hangs

    kill_when_held(rig, rig.stripe, "the PSP to hold the second retry")

    assert_each_effect_once(rig, cases)
    # the retry in flight at the kill was sent again, with the same key, and answered from
    # the first request's result; the one answered before the kill was not sent again
    assert sorted(rig.stripe.requests.values()) == [1] * (RETRIED - 1) + [2]
    assert rig.stripe.requests[rig.stripe.order[0]] == 1
    assert rig.stripe.requests[rig.stripe.order[1]] == 2
    assert rig.worker.starts == 2


def test_a_worker_killed_mid_writeback_resends_with_the_same_key_and_resolves_once(
    rig: Rig,
) -> None:
    cases = failed_payments(rig.app)
    rig.sor.hold_nth = 2  # the second writeback of the batch lands remotely, then hangs

    kill_when_held(rig, rig.sor, "the system of record to hold the second writeback")

    assert_each_effect_once(rig, cases)
    assert sorted(rig.sor.requests.values()) == [1] * (len(cases) - 1) + [2]
    assert rig.sor.requests[rig.sor.order[1]] == 2
    # every retry ran before the kill and was saved: none was sent to the PSP again
    assert set(rig.stripe.requests.values()) == {1}
