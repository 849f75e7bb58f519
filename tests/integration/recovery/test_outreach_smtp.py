"""The apprise channel against real servers on loopback: an SMTP server (aiosmtpd, with AUTH)
and, for the "any service by URL" path, a JSON webhook receiver (``http.server``).

Every test runs with a guard that fails any connection or name lookup outside loopback, so
apprise is shown not to reach for the network on its own.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from recoup.adapters.clock import FixedClock
from recoup.adapters.outreach.channels import MESSAGE_ID_HEADER, AppriseChannel
from recoup.adapters.outreach.templates import default_templates
from recoup.domain.money import Money
from recoup.domain.recovery.outreach import BodyFormat, DeliveryStatus, OutboundMessage
from tests.loopback_smtp import PASSWORD, USER, EphemeralController, Inbox, authenticate

NOW = datetime(2026, 10, 5, 9, 30, tzinfo=UTC)
FROM = "billing@shop.example"


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fail any connect or lookup that is not loopback; returns the hosts looked up."""
    looked_up: list[str] = []
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def _check(host: object) -> None:
        if host in ("localhost", None):
            return
        if not ipaddress.ip_address(str(host)).is_loopback:
            raise AssertionError(f"network access outside loopback: {host}")

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            _check(address[0])
        real_connect(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        looked_up.append(str(host))
        _check(host)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return looked_up


@pytest.fixture
def smtp(loopback_only: list[str]) -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    controller = EphemeralController(
        inbox, hostname="127.0.0.1", port=0, authenticator=authenticate,
        auth_require_tls=False, auth_exclude_mechanism=["LOGIN"],
    )  # fmt: skip
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


def _email_channel(port: int, password: str = PASSWORD) -> AppriseChannel:
    url = f"mailto://{USER}:{password}@127.0.0.1:{port}?from={FROM}&name=Shop%20Billing"
    return AppriseChannel("email", url, clock=FixedClock(NOW))


def _payment_failed(to: str, *, language: str = "de", html: bool = False) -> OutboundMessage:
    context = {
        "customer_name": "Jürgen <Ana> Weiß",
        "merchant_name": "Shop",
        "amount": Money(Decimal("49.90"), "EUR"),
        "update_url": "https://shop.example/billing/card?c=cus_1&s=2",
        "retry_on": None,
    }
    return default_templates().message(
        "payment_failed", language, context, case_id="case-1", key="step-1", channel="email",
        to=to, body_format=BodyFormat.HTML if html else BodyFormat.TEXT,
    )  # fmt: skip


# --- email -----------------------------------------------------------------------------------


def test_email_reaches_the_smtp_server_with_subject_body_and_recipient(
    smtp: tuple[Inbox, int], loopback_only: list[str]
) -> None:
    inbox, port = smtp
    message = _payment_failed("kunde@example.org")

    delivery = _email_channel(port).send(message)

    assert delivery.status is DeliveryStatus.SENT
    assert delivery.message_id == message.id
    assert delivery.at == NOW
    assert delivery.detail.startswith(f"sent via mailto://{USER}:****@127.0.0.1:{port}/")
    assert PASSWORD not in delivery.detail
    [envelope] = inbox.envelopes
    assert envelope.mail_from == FROM
    assert envelope.rcpt_tos == ["kunde@example.org"]
    [received] = inbox.messages()
    assert received["Subject"] == "Ihre Zahlung über 49,90 EUR an Shop ist nicht durchgegangen"
    assert received["Subject"] == message.subject
    assert received["To"] == "kunde@example.org"
    assert received["From"] == f"Shop Billing <{FROM}>"
    assert received[MESSAGE_ID_HEADER] == message.id
    body = received.get_body(("plain",))
    assert body is not None
    assert body.get_content().replace("\r\n", "\n").strip() == message.body.strip()
    assert "Guten Tag Jürgen <Ana> Weiß," in message.body
    assert set(loopback_only) == {"127.0.0.1"}  # the guard saw the SMTP connection, only it


def test_html_email_is_sent_escaped_with_a_plain_text_part(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    message = _payment_failed("customer@example.org", language="en", html=True)

    delivery = _email_channel(port).send(message)

    assert delivery.status is DeliveryStatus.SENT
    [received] = inbox.messages()
    html = received.get_body(("html",))
    plain = received.get_body(("plain",))
    assert html is not None
    assert plain is not None
    assert "<p>Hello Jürgen &lt;Ana&gt; Weiß,</p>" in html.get_content()
    assert 'href="https://shop.example/billing/card?c=cus_1&amp;s=2"' in html.get_content()
    assert "Hello Jürgen <Ana> Weiß," in plain.get_content()


def test_the_same_message_sent_twice_keeps_one_id(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    channel = _email_channel(port)

    first = channel.send(_payment_failed("a@example.org"))
    second = channel.send(_payment_failed("a@example.org"))

    assert first.message_id == second.message_id
    assert [m[MESSAGE_ID_HEADER] for m in inbox.messages()] == [first.message_id] * 2


def test_a_refused_recipient_is_a_failed_delivery_with_the_servers_answer(
    smtp: tuple[Inbox, int],
) -> None:
    inbox, port = smtp

    delivery = _email_channel(port).send(_payment_failed("nobody@example.org"))

    assert delivery.status is DeliveryStatus.FAILED
    assert "550" in delivery.detail
    assert "no such mailbox" in delivery.detail
    assert PASSWORD not in delivery.detail
    assert inbox.envelopes == []


def test_wrong_smtp_password_fails_and_the_password_is_not_in_the_detail(
    smtp: tuple[Inbox, int],
) -> None:
    inbox, port = smtp
    wrong = "wrong-pw-not-real-9Z"

    delivery = _email_channel(port, password=wrong).send(_payment_failed("a@example.org"))

    assert delivery.status is DeliveryStatus.FAILED
    assert "535" in delivery.detail  # SMTP: authentication credentials invalid
    assert wrong not in delivery.detail
    assert f"{USER}:****@" in delivery.detail
    assert inbox.envelopes == []


def test_a_server_that_is_not_listening_is_a_failed_delivery_with_a_reason(
    loopback_only: list[str],
) -> None:
    # Bound but never listening: the port is ours, so nothing else can answer on it.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]

        delivery = _email_channel(port).send(_payment_failed("a@example.org"))

    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.at == NOW
    assert "Connection error" in delivery.detail
    assert "Connection refused" in delivery.detail
    assert PASSWORD not in delivery.detail


# --- any other service by URL: a JSON webhook with the recipient in the path ------------------


class _Receiver:
    def __init__(self, status: int) -> None:
        self.status = status
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                receiver.requests.append((self.path, json.loads(self.rfile.read(length))))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def __enter__(self) -> _Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.mark.parametrize("status", [200, 503])
def test_webhook_channel_puts_the_recipient_into_the_url(
    loopback_only: list[str], status: int
) -> None:
    with _Receiver(status) as receiver:
        url = f"json://hook-user:hook-pw-not-real@127.0.0.1:{receiver.port}/sms/{{to}}"
        channel = AppriseChannel("sms", url, clock=FixedClock(NOW))
        message = OutboundMessage.compose(
            case_id="case-2", template="claim_received", key="ack", channel="sms",
            to="+4915100000001", subject="We received your claim CL-7", body="Thank you.",
            language="en",
        )  # fmt: skip

        delivery = channel.send(message)

    [(path, payload)] = receiver.requests
    assert path == "/sms/+4915100000001"
    assert payload["title"] == "We received your claim CL-7"
    assert payload["message"] == "Thank you."
    if status == 200:
        assert delivery.status is DeliveryStatus.SENT
    else:
        assert delivery.status is DeliveryStatus.FAILED
        assert "503" in delivery.detail
    assert "hook-pw-not-real" not in delivery.detail


def test_a_recipient_with_a_plus_tag_is_kept_exactly(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp

    delivery = _email_channel(port).send(_payment_failed("ana+billing@example.org"))

    assert delivery.status is DeliveryStatus.SENT
    assert [e.rcpt_tos for e in inbox.envelopes] == [["ana+billing@example.org"]]
