"""`recoup serve` over real HTTP on loopback: signatures, limits, group commit, crash safety."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from recoup.adapters.connectors.webhooks.signatures import sign_generic

SECRET = "generic-test-secret"
STRIPE_SECRET = "whsec_test_secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, db: Path, *, commit_delay_ms: int = 0, workers: int = 1) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("RECOUP_")}
        env |= {
            "RECOUP_DATABASE__URL": f"sqlite:///{db}",
            "RECOUP_WEBHOOKS__SOURCES": json.dumps({
                "acme": {"provider": "generic", "secret": SECRET},
                "stripe": {"provider": "stripe", "secret": STRIPE_SECRET},
            }),
            "RECOUP_WEBHOOKS__MAX_BODY_BYTES": "4096",
            "RECOUP_WEBHOOKS__COMMIT_DELAY_MS": str(commit_delay_ms),
        }  # fmt: skip
        self.log_path = db.with_name(f"serve-{self.port}.log")
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "recoup", "serve", "--port", str(self.port),
                 "--workers", str(workers)],
                env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the server did not start:\n{self.log_path.read_text()}")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "hooks.db"


@pytest.fixture
def server(db: Path) -> Iterator[Server]:
    srv = Server(db)
    yield srv
    srv.stop()


def canonical(external_id: str, **extra: Any) -> bytes:
    return json.dumps({
        "source": "acme", "external_id": external_id, "type": "payment.failed",
        "occurred_at": "2026-10-01T12:00:00Z", "amount": "12.50", "currency": "EUR",
        "reason_code": "stripe:insufficient_funds", "refs": {"payment": f"pi_{external_id}"},
        **extra,
    }).encode()  # fmt: skip


def post(
    server: Server,
    body: bytes,
    *,
    secret: str = SECRET,
    at: datetime | None = None,
    source: str = "acme",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    signature = sign_generic(body, secret, timestamp=at or datetime.now(UTC))
    sent = {"X-Recoup-Signature": signature, "Content-Type": "application/json"}
    return httpx.post(f"{server.url}/hooks/{source}", content=body,
                      headers=headers if headers is not None else sent, timeout=30)  # fmt: skip


def count(db: Path, table: str) -> int:
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        n = int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())
    engine.dispose()
    return n


def test_a_signed_delivery_is_stored_once(server: Server, db: Path) -> None:
    first = post(server, canonical("e1"))
    again = post(server, canonical("e1"))

    assert (first.status_code, first.json()) == (200, {"accepted": 1, "new": 1, "duplicates": 0,
                                                      "quarantined": 0})  # fmt: skip
    assert (again.status_code, again.json()["duplicates"]) == (200, 1)
    assert count(db, "events") == 1
    assert count(db, "cases") == 1


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("tampered body", "bad signature"),
        ("wrong secret", "bad signature"),
        ("stale timestamp", "stale timestamp"),
        ("missing header", "missing header"),
    ],
)
def test_unauthentic_deliveries_are_refused_and_never_stored(
    server: Server, db: Path, how: str, reason: str
) -> None:
    body = canonical("e2")
    if how == "tampered body":
        signature = sign_generic(body, SECRET, timestamp=datetime.now(UTC))
        response = httpx.post(f"{server.url}/hooks/acme", content=body.replace(b"12.50", b"99.50"),
                              headers={"X-Recoup-Signature": signature})  # fmt: skip
    elif how == "wrong secret":
        response = post(server, body, secret="not-the-secret")
    elif how == "stale timestamp":
        response = post(server, body, at=datetime.now(UTC) - timedelta(minutes=10))
    else:
        response = post(server, body, headers={})

    assert response.status_code == 401
    assert response.json()["detail"] == reason
    assert count(db, "events") == 0
    stats = httpx.get(f"{server.url}/hooks/stats").json()
    assert {"source": "acme", "reason": reason, "count": 1} in stats["rejected"]


def test_limits_and_unknown_sources(server: Server, db: Path) -> None:
    huge = canonical("e3", attributes={"blob": "x" * 5000})

    assert post(server, huge).status_code == 413
    unknown = post(server, canonical("e3"), source="nobody")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    assert "no webhook source 'nobody'" in unknown.json()["detail"]
    # Only POST /hooks/{source} is intake; other shapes are the router's to refuse.
    assert post(server, canonical("e3"), source="acme/more").status_code == 404
    assert httpx.get(f"{server.url}/hooks/acme", timeout=30).status_code == 405
    assert count(db, "events") == 0


def test_an_unreadable_signed_body_is_a_400_and_kept_in_quarantine(
    server: Server, db: Path
) -> None:
    response = post(server, b'{"source": "acme", "external_id": ')

    assert response.status_code == 400
    assert count(db, "events") == 0
    assert count(db, "quarantine") == 1


def test_concurrent_deliveries_share_commits(server: Server, db: Path) -> None:
    with httpx.Client(timeout=30) as client:

        def send(n: int) -> int:
            body = canonical(f"c{n}")
            signature = sign_generic(body, SECRET, timestamp=datetime.now(UTC))
            return client.post(f"{server.url}/hooks/acme", content=body,
                               headers={"X-Recoup-Signature": signature}).status_code  # fmt: skip

        results: list[int] = []
        threads = [threading.Thread(target=lambda n=n: results.append(send(n))) for n in range(30)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    assert results == [200] * 30
    stats = httpx.get(f"{server.url}/hooks/stats").json()
    assert stats["deliveries"] == 30
    assert stats["batches"] < 30
    assert count(db, "events") == 30


def test_a_server_killed_before_commit_never_answers_2xx_and_the_redelivery_lands_once(
    db: Path,
) -> None:
    slow = Server(db, commit_delay_ms=3000)
    outcome: dict[str, Any] = {}

    def deliver() -> None:
        try:
            outcome["status"] = post(slow, canonical("k1")).status_code
        except httpx.TransportError as exc:
            outcome["error"] = type(exc).__name__

    sender = threading.Thread(target=deliver)
    sender.start()
    time.sleep(1.0)
    slow.kill()
    sender.join(30)

    assert "status" not in outcome, outcome
    assert count(db, "events") == 0

    restarted = Server(db)
    try:
        first = post(restarted, canonical("k1"))
        second = post(restarted, canonical("k1"))
    finally:
        restarted.stop()
    assert (first.status_code, first.json()["new"]) == (200, 1)
    assert (second.status_code, second.json()["duplicates"]) == (200, 1)
    assert count(db, "events") == 1


def test_two_worker_processes_share_one_store_without_losing_or_doubling(db: Path) -> None:
    srv = Server(db, workers=2)
    try:
        with httpx.Client(timeout=30) as client:

            def send(n: int) -> int:
                body = canonical(f"w{n % 25}")
                signature = sign_generic(body, SECRET, timestamp=datetime.now(UTC))
                headers = {"X-Recoup-Signature": signature}
                response = client.post(f"{srv.url}/hooks/acme", content=body, headers=headers)
                return response.status_code

            results: list[int] = []
            threads = [
                threading.Thread(target=lambda n=n: results.append(send(n))) for n in range(50)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        srv.stop()

    assert results == [200] * 50
    assert count(db, "events") == 25
    assert count(db, "cases") == 25
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        seqs = conn.exec_driver_sql("SELECT seq FROM audit_log ORDER BY seq").scalars().all()
    engine.dispose()
    assert seqs == list(range(1, len(seqs) + 1))
