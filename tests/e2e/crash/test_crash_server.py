"""``recoup serve`` killed with SIGKILL mid-batch on PostgreSQL, then started again: the senders
that got no 2xx resend, and every event is stored exactly once.

``tests/e2e/test_webhooks_http.py`` kills one delivery's batch on SQLite; this is the same
guarantee on PostgreSQL, with a batch of many concurrent deliveries (group commit) in flight, a
batch committed and answered before the kill, and senders that also resend what was already
answered (a duplicate storm after the outage).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from recoup.adapters.store import tables as t
from recoup.bootstrap import App, bootstrap
from recoup.services.audit import verify_audit
from recoup.settings import DatabaseSettings, Settings
from tests.e2e.crash.harness import (
    HOOK_SOURCES,
    Sender,
    Server,
    canonical,
    deliver,
    wait_until,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("store_url", ["postgresql"], indirect=True),
]

COMMIT_DELAY_MS = 2000
"""Each group commit of the slow server waits this long before committing: the kill lands in it."""
GATHER_MS = 200
"""How long the slow server's group commit gathers company: a wave of concurrent deliveries
shares one batch."""


def server_env(store_url: str, commit_delay_ms: int = 0) -> dict[str, str]:
    return {
        "RECOUP_DATABASE__URL": store_url,
        "RECOUP_DATABASE__AUTO_UPGRADE": "false",
        "RECOUP_WEBHOOKS__SOURCES": HOOK_SOURCES,
        "RECOUP_WEBHOOKS__COMMIT_DELAY_MS": str(commit_delay_ms),
        "RECOUP_WEBHOOKS__MAX_WAIT_MS": str(GATHER_MS if commit_delay_ms else 5),
    }


@pytest.fixture
def app(store_url: str) -> Iterator[App]:
    application = bootstrap(Settings(database=DatabaseSettings(url=store_url,
                                                               auto_upgrade=False)))  # fmt: skip
    yield application
    application.close()


def stored_ids(engine: sa.Engine) -> list[str]:
    e = t.events.c
    with engine.connect() as conn:
        return sorted(conn.execute(sa.select(e.external_id).where(e.source == "acme")).scalars())


def idle_in_transaction(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state = 'idle in transaction'"
        ).scalar_one())  # fmt: skip


def test_a_server_killed_mid_batch_loses_nothing_and_doubles_nothing(
    store_url: str, app: App, tmp_path: Path
) -> None:
    first_wave = [f"a{n:02d}" for n in range(10)]
    second_wave = [f"b{n:02d}" for n in range(20)]
    slow = Server(server_env(store_url, COMMIT_DELAY_MS), tmp_path).start()
    outcomes: dict[str, int | str] = {}
    try:
        # a first batch is committed and answered before the crash
        with httpx.Client(timeout=30) as client:
            threads = [threading.Thread(target=lambda i=i: outcomes.__setitem__(
                i, deliver(client, slow.url, canonical(i)))) for i in first_wave]  # fmt: skip
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
        assert [outcomes[i] for i in first_wave] == [200] * len(first_wave)

        # a second batch is waiting to commit when the server is killed
        with httpx.Client(timeout=30) as client:
            threads = [threading.Thread(target=lambda i=i: outcomes.__setitem__(
                i, deliver(client, slow.url, canonical(i)))) for i in second_wave]  # fmt: skip
            for thread in threads:
                thread.start()
            # the batch's transaction is open, its events inserted, waiting to commit
            wait_until(lambda: idle_in_transaction(app.engine) >= 1, COMMIT_DELAY_MS / 1000,
                       "the batch to wait in its open transaction", log=slow)  # fmt: skip
            slow.kill()
            for thread in threads:
                thread.join(30)
    finally:
        slow.stop()

    unanswered = [i for i in second_wave if outcomes[i] != 200]
    assert unanswered == second_wave, "a sender got a 2xx from a batch that was killed"
    assert all(isinstance(outcomes[i], str) for i in second_wave)  # no answer at all
    assert stored_ids(app.engine) == first_wave  # the killed batch left nothing behind
    # PostgreSQL rolled the dead client's transaction back: no backend is left holding locks
    wait_until(lambda: idle_in_transaction(app.engine) == 0, 10, "the dead backend to end")

    # the senders resend what got no 2xx, and some resend what did (a duplicate storm)
    restarted = Server(server_env(store_url), tmp_path).start()
    try:
        senders = [Sender(lambda: restarted.url) for _ in range(4)]
        chunks = [unanswered[n::4] + first_wave[n::4] for n in range(4)]
        threads = [threading.Thread(target=s.send_all, args=(c,))
                   for s, c in zip(senders, chunks, strict=True)]  # fmt: skip
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        stats = httpx.get(f"{restarted.url}/hooks/stats", timeout=10).json()
    finally:
        restarted.stop()

    delivered = sorted(i for s in senders for i in s.delivered)
    assert delivered == sorted(first_wave + second_wave)
    assert stored_ids(app.engine) == sorted(first_wave + second_wave)
    with app.engine.connect() as conn:
        cases = conn.execute(sa.select(sa.func.count()).select_from(t.cases)).scalar_one()
    assert cases == len(first_wave) + len(second_wave)
    assert stats["deliveries"] == len(first_wave) + len(second_wave)
    verification = verify_audit(reader=app.reader)
    assert verification.is_intact, verification.problem
