"""A real HTTP receiver on loopback for outbound webhook tests: it answers with scripted
status codes, and verifies every request's signature the way a subscriber would."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from recoup.domain.notify import verify_signature
from recoup.domain.ports import Clock


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool


@dataclass
class Receiver:
    secret: str
    clock: Clock
    """The receiver's clock for the timestamp check (the tests' fixed clock)."""
    script: list[int] = field(default_factory=list)
    """Status codes to answer, in order; 200 once it runs out."""
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    url: str = ""

    def answer(self) -> int:
        return self.script.pop(0) if self.script else 200


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            header = self.headers.get("Recoup-Signature", "")
            ok = verify_signature(receiver.secret, header, body, receiver.clock.now())
            receiver.received.append(Received(self.path, dict(self.headers.items()), body, ok))
            if receiver.delay:
                time.sleep(receiver.delay)
            status = receiver.answer() if ok else 401
            try:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender gave up waiting (a timeout test)

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


def serve(receiver: Receiver) -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/recoup"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
