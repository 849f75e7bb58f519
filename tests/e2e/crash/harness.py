"""What the crash and fault tests are built from.

- :class:`Proc`: ``python -m recoup worker`` or ``serve`` as a real subprocess (its own
  environment, a log file), killed with ``SIGKILL`` (no ``finally``, no ``atexit``: the process
  just stops, as in a power cut of one machine) and started again.
- Loopback HTTP servers on ``127.0.0.1`` that behave like the systems Recoup talks to and count
  effects by idempotency key: :class:`StripeReplay` answers PaymentIntent confirms with recorded
  Stripe responses and, as Stripe does, applies a key once and answers a repeat with the first
  answer; :class:`RecordSystem` is a system of record that verifies the writeback signature and
  applies each ``Idempotency-Key`` once. Both can **hold** a request after applying it, so a
  test kills the process while the request is in flight (the effect landed remotely and Recoup
  does not know), and can be **down** (answer 503, or refuse connections) for a while.

Every wait is bounded; a helper that times out raises with the process log attached.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from recoup.adapters.connectors.webhooks.signatures import sign_generic
from recoup.adapters.policy import DEFAULT_POLICY_PATH
from recoup.adapters.store import tables as t
from recoup.adapters.writeback.http_webhook import verify_signature

STRIPE_KEY = "sk_test_recoup_crash_fixture"
WRITEBACK_SECRET = "whsec_recoup_crash_0123456789abcdef"
STRIPE_FIXTURES = Path(__file__).parents[2] / "fixtures" / "recorded" / "stripe_psp"
HOLD_LIMIT = 30.0
"""The longest a held request is held (seconds): a test that forgets to release it still ends."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(condition: Callable[[], bool], seconds: float, what: str, *,
               log: Proc | None = None, every: float = 0.1) -> None:  # fmt: skip
    """Poll ``condition`` until it holds; raise (with the process log) after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    tail = f"\n--- {log.name} log ---\n{log.log_tail()}" if log is not None else ""
    raise AssertionError(f"timed out after {seconds:g} s waiting for {what}{tail}")


# -- processes ---------------------------------------------------------------------------------


class Proc:
    """One ``python -m recoup <args>`` process with exactly the ``RECOUP_`` settings given."""

    def __init__(self, name: str, args: list[str], env: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        self.args = args
        self.env = {k: v for k, v in os.environ.items() if not k.upper().startswith("RECOUP_")}
        self.env |= dict(env)
        self.log_dir = log_dir
        self.starts = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = log_dir / f"{name}.log"

    def start(self) -> Proc:
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n=== start {self.starts} ===\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "recoup", *self.args],
                env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        return self

    @property
    def is_running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """``SIGKILL``: the process gets no chance to finish anything."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"


def worker(env: Mapping[str, str], log_dir: Path, *, interval: float = 0.2) -> Proc:
    """``recoup worker`` (not started yet)."""
    return Proc("worker", ["worker", "--interval", str(interval)], env, log_dir)


class Server(Proc):
    """``recoup serve`` on a free loopback port, without the in-process worker."""

    def __init__(self, env: Mapping[str, str], log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        settings = {"RECOUP_SERVER__WORKER": "false", **env}
        super().__init__(f"serve-{self.port}", ["serve", "--port", str(self.port)], settings,
                         log_dir)  # fmt: skip

    def start(self) -> Server:
        super().start()
        try:
            wait_until(self._healthy, 30, "the server to answer /health", log=self)
        except AssertionError:
            self.stop()
            raise
        return self

    def _healthy(self) -> bool:
        if not self.is_running:
            raise AssertionError(f"the server exited:\n{self.log_tail()}")
        try:
            return httpx.get(f"{self.url}/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False


def policy_folder(folder: Path, ladders: str) -> Path:
    """The default policy pack with its own ladders file (``RECOUP_POLICY__PATH``)."""
    folder.mkdir(parents=True, exist_ok=True)
    for source in Path(str(DEFAULT_POLICY_PATH)).iterdir():
        if source.suffix == ".json":
            shutil.copyfile(source, folder / source.name)
    (folder / "ladders.toml").write_text(ladders, encoding="utf-8")
    return folder


# -- loopback HTTP servers -------------------------------------------------------------------------


class Loopback:
    """A threaded HTTP server on 127.0.0.1 that can be stopped (connections refused) and started
    again on the same port. Subclasses implement :meth:`handle`.

    ``hold_nth`` holds the n-th distinct idempotency key's first request (1-based) after its
    effect is applied: ``held`` is set when it arrives, and the answer waits for ``release``.
    ``down`` answers 503 with ``Retry-After: <retry_after>`` (nothing applied)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.effects: Counter[str] = Counter()
        self.answers: dict[str, tuple[int, bytes, bytes]] = {}
        """key -> (status, answer, the request body that made it)"""
        self.order: list[str] = []
        self.refused_503 = 0
        self.hold_nth: int | None = None
        self.held = threading.Event()
        self.release = threading.Event()
        self.down = False
        self.retry_after = "1"
        self.port = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Loopback:
        loopback = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.0: one request per connection, so a stopped server refuses the next
            # request instead of answering it on a kept-alive connection

            def do_POST(self) -> None:
                # OSError: the client went away (killed, or timed out); a real server logs it
                with contextlib.suppress(OSError):
                    loopback._serve(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = int(server.server_address[1])
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening: new connections are refused until :meth:`start`."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)
        self._server = self._thread = None

    def close(self) -> None:
        self.release.set()
        self.stop()

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        if self.down:
            with self.lock:
                self.refused_503 += 1
            self.answer(
                request, 503, b'{"error":"down for maintenance"}', {"Retry-After": self.retry_after}
            )
            return
        status, answer, hold = self.handle(request, body)
        if hold:
            self.held.set()
            self.release.wait(HOLD_LIMIT)
        self.answer(request, status, answer)

    def apply_once(self, key: str, body: bytes,
                   make: Callable[[], tuple[int, bytes]]) -> tuple[int, bytes, bool]:  # fmt: skip
        """Apply ``key`` once: the first request makes the answer (an effect), a repeat gets the
        first answer. Returns (status, answer, hold this request)."""
        with self.lock:
            self.requests[key] += 1
            if key in self.answers:
                status, answer, first_body = self.answers[key]
                if first_body != body:
                    return 400, b'{"error":"idempotency key reused with another request"}', False
                return status, answer, False
            status, answer = make()
            self.effects[key] += 1
            self.answers[key] = (status, answer, body)
            self.order.append(key)
            hold = self.hold_nth is not None and len(self.order) == self.hold_nth
            return status, answer, hold

    def handle(self, request: BaseHTTPRequestHandler, body: bytes) -> tuple[int, bytes, bool]:
        raise NotImplementedError

    @staticmethod
    def answer(request: BaseHTTPRequestHandler, status: int, body: bytes,
               headers: Mapping[str, str] | None = None) -> None:  # fmt: skip
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(body)


class StripeReplay(Loopback):
    """``POST /v1/payment_intents/{id}/confirm`` answered with a recorded Stripe response
    (``fixture``), one effect (a charge) per ``Idempotency-Key``; a key without a key header is
    refused (Recoup always sends one)."""

    def __init__(self, fixture: str = "confirm-succeeded.json") -> None:
        super().__init__()
        self.fixture = fixture
        self.paths: list[str] = []

    def handle(self, request: BaseHTTPRequestHandler, body: bytes) -> tuple[int, bytes, bool]:
        key = request.headers.get("Idempotency-Key")
        if not key or request.headers.get("Authorization") != f"Bearer {STRIPE_KEY}":
            return 400, b'{"error":{"type":"invalid_request_error"}}', False
        with self.lock:
            self.paths.append(request.path)
        data = (STRIPE_FIXTURES / self.fixture).read_bytes()
        return self.apply_once(key, body, lambda: (200, data))


class RecordSystem(Loopback):
    """A system of record receiving Recoup's signed writeback webhooks: a bad signature is a
    401 (and no effect); each ``Idempotency-Key`` is applied once."""

    def __init__(self) -> None:
        super().__init__()
        self.bad_signatures = 0
        self.payloads: dict[str, dict[str, Any]] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/recoup"

    def handle(self, request: BaseHTTPRequestHandler, body: bytes) -> tuple[int, bytes, bool]:
        signature = request.headers.get("Recoup-Signature", "")
        if not verify_signature(signature, body, WRITEBACK_SECRET, datetime.now(UTC)):
            with self.lock:
                self.bad_signatures += 1
            return 401, b'{"error":"bad signature"}', False
        key = request.headers["Idempotency-Key"]

        def record() -> tuple[int, bytes]:
            self.payloads[key] = json.loads(body)
            return 200, json.dumps({"reference": f"sor-{len(self.order) + 1}"}).encode()

        return self.apply_once(key, body, record)


# -- webhook senders ---------------------------------------------------------------------------

HOOK_SECRET = "generic-crash-test-secret"
HOOK_SOURCES = json.dumps({"acme": {"provider": "generic", "secret": HOOK_SECRET}})


def canonical(external_id: str) -> bytes:
    """A failed payment as the generic provider's canonical JSON record."""
    return json.dumps({
        "source": "acme", "external_id": external_id, "type": "payment.failed",
        "occurred_at": "2026-10-01T12:00:00Z", "amount": "12.50", "currency": "EUR",
        "reason_code": "stripe:insufficient_funds", "refs": {"payment": f"pi_{external_id}"},
    }).encode()  # fmt: skip


def deliver(client: httpx.Client, url: str, body: bytes) -> int | str:
    """One signed delivery to ``POST /hooks/acme``: the status code, or the transport error."""
    signature = sign_generic(body, HOOK_SECRET, timestamp=datetime.now(UTC))
    try:
        response = client.post(f"{url}/hooks/acme", content=body,
                                headers={"X-Recoup-Signature": signature})  # fmt: skip
    except httpx.TransportError as exc:
        return type(exc).__name__
    return response.status_code


class Sender:
    """A webhook sender that resends each event until it gets a 2xx, as providers do (they
    retry on any non-2xx and on no answer), within ``deadline`` seconds; it records every
    outcome it saw."""

    def __init__(self, url: Callable[[], str], deadline: float = 45.0, pause: float = 0.1) -> None:
        self.url = url
        self.deadline = deadline
        self.pause = pause
        self.outcomes: Counter[int | str] = Counter()
        self.delivered: list[str] = []
        self.lock = threading.Lock()

    def send_all(self, external_ids: list[str]) -> None:
        end = time.monotonic() + self.deadline
        with httpx.Client(timeout=10) as client:
            for external_id in external_ids:
                while True:
                    outcome = deliver(client, self.url(), canonical(external_id))
                    with self.lock:
                        self.outcomes[outcome] += 1
                    if isinstance(outcome, int) and 200 <= outcome < 300:
                        with self.lock:
                            self.delivered.append(external_id)
                        break
                    if time.monotonic() > end:
                        return
                    time.sleep(self.pause)


# -- reading the store -------------------------------------------------------------------------


def audit_rows(engine: sa.Engine) -> list[tuple[str, dict[str, Any]]]:
    """Every audit record as (action, data), in order."""
    a = t.audit_log.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(a.action, a.data).order_by(a.seq)).all()
    return [(action, json.loads(data)) for action, data in rows]


def audit_counts(engine: sa.Engine, *prefixes: str) -> Counter[str]:
    return Counter(action for action, _ in audit_rows(engine) if action.startswith(prefixes))


def table_count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
