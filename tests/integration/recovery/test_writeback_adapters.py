"""The writeback adapters against a real HTTP server on 127.0.0.1 (an ephemeral port, stdlib
``http.server`` in a thread) that replays recorded responses and keeps every request it got;
the file drop against a real temporary folder.

Recorded responses: ``tests/fixtures/recorded/stripe`` and ``.../shopify``, written after the
providers' public API references (see ``tests/fixtures/NOTICE.md``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from recoup.adapters.clock import FixedClock
from recoup.adapters.writeback.file_drop import FileDropWriteback, file_name
from recoup.adapters.writeback.http_webhook import (
    HttpWebhookWriteback,
    parse_retry_after,
    sign,
    verify_signature,
)
from recoup.adapters.writeback.shopify_records import ShopifyRecordsWriteback
from recoup.adapters.writeback.stripe_records import StripeRecordsWriteback
from recoup.domain.errors import ConfigurationError
from recoup.domain.recovery.writeback import WritebackRequest, WritebackResult

RECORDED = Path(__file__).parents[2] / "fixtures" / "recorded"
NOW = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
SECRET = "whsec_recoup_fixture_0123456789abcdef"
STRIPE_KEY = "sk_test_recoup_fixture"
SHOPIFY_TOKEN = "shpat_recoup_fixture_0000"
KEY = "case_01JB7Q9ZK4M2:step-3"


def recorded(provider: str, name: str) -> bytes:
    return (RECORDED / provider / name).read_bytes()


# -- a recorded remote on 127.0.0.1 ----------------------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lowercased
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode())


class ReplayServer:
    """Answers each request with the next scripted :class:`Reply` (or a loud 599 when the
    script has run out) and records what it was sent."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()

    def _next(self, received: Received) -> Reply:
        with self._lock:
            self.received.append(received)
            if not self.replies:
                return Reply(599, b'{"error": "no reply scripted"}')
            return self.replies.pop(0)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                reply = server._next(Received(
                    self.command, parts.path, parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()}, body,
                ))  # fmt: skip
                if reply.delay and server._stop.wait(reply.delay):
                    return
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply.body)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:  # the client gave up (the timeout scenario)
                    pass

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


@pytest.fixture
def remote() -> Iterator[ReplayServer]:
    server = ReplayServer()
    server.start()
    yield server
    server.stop()


def wb_request(
    operation: str = "record_outcome", key: str = KEY, **payload: object
) -> WritebackRequest:
    return WritebackRequest(id="wb_01JB7QA0", case_id="case_01JB7Q9ZK4M2", target="erp",
                            operation=operation, payload=payload, idempotency_key=key)  # fmt: skip


# -- the generic signed webhook ------------------------------------------------------------------


@pytest.fixture
def webhook(remote: ReplayServer) -> Iterator[HttpWebhookWriteback]:
    with HttpWebhookWriteback(f"{remote.url}/recoup/writeback", SECRET, timeout=0.5,
                              clock=FixedClock(NOW)) as adapter:  # fmt: skip
        yield adapter


ERP_REQUEST = wb_request(outcome="recovered", amount=Decimal("80.00"), currency="EUR")


def test_webhook_posts_signed_json_with_the_idempotency_key(
    remote: ReplayServer, webhook: HttpWebhookWriteback
) -> None:
    remote.script(Reply(201, b'{"reference": "ERP-DOC-7781"}'))

    result = webhook.deliver(ERP_REQUEST)

    assert result == WritebackResult("confirmed", f"HTTP 201 from {remote.url}/recoup/writeback",
                                     201, "ERP-DOC-7781")  # fmt: skip
    [got] = remote.received
    assert (got.method, got.path) == ("POST", "/recoup/writeback")
    assert got.headers["idempotency-key"] == KEY
    assert got.headers["content-type"] == "application/json"
    assert got.body == ERP_REQUEST.to_json()
    assert got.json() == {
        "id": "wb_01JB7QA0", "case_id": "case_01JB7Q9ZK4M2", "target": "erp",
        "operation": "record_outcome", "idempotency_key": KEY,
        "payload": {"outcome": "recovered", "amount": "80.00", "currency": "EUR"},
    }  # fmt: skip
    # The scheme as a receiver implements it, independently of our helper:
    t = int(NOW.timestamp())
    mac = hmac.new(SECRET.encode(), f"{t}.".encode() + got.body, hashlib.sha256).hexdigest()
    assert got.headers["recoup-signature"] == f"t={t},v1={mac}"
    assert verify_signature(got.headers["recoup-signature"], got.body, SECRET, NOW)


def test_signature_check_refuses_tampering_staleness_and_wrong_secret() -> None:
    body = ERP_REQUEST.to_json()
    header = sign(body, SECRET, int(NOW.timestamp()))
    assert verify_signature(header, body, SECRET, NOW + timedelta(minutes=5))
    assert not verify_signature(header, body + b" ", SECRET, NOW)
    assert not verify_signature(header, body, SECRET, NOW + timedelta(minutes=5, seconds=1))
    assert not verify_signature(header, body, "another_secret_0123456789", NOW)
    assert not verify_signature("v1=" + header.split("v1=")[1], body, SECRET, NOW)
    rotated = f"{header},v1={'0' * 64}"
    assert verify_signature(rotated, body, SECRET, NOW)


def test_webhook_500_is_retry(remote: ReplayServer, webhook: HttpWebhookWriteback) -> None:
    remote.script(Reply(500, b'{"error": "database unavailable"}'))
    result = webhook.deliver(ERP_REQUEST)
    assert (result.status, result.http_status, result.retry_after) == ("retry", 500, None)
    assert result.detail.endswith('500 from ' + remote.url + '/recoup/writeback: '
                                  '{"error": "database unavailable"}')  # fmt: skip


def test_webhook_timeout_is_retry(remote: ReplayServer, webhook: HttpWebhookWriteback) -> None:
    remote.script(Reply(200, delay=2.0))
    result = webhook.deliver(ERP_REQUEST)
    assert (result.status, result.http_status) == ("retry", None)
    assert "timed out after 0.5 s (ReadTimeout)" in result.detail
    assert len(remote.received) == 1


def test_webhook_refused_connection_is_retry() -> None:
    server = ReplayServer()
    url = server.url
    server.stop()  # the port is closed now: nothing listens
    with HttpWebhookWriteback(url, SECRET, clock=FixedClock(NOW)) as adapter:
        result = adapter.deliver(ERP_REQUEST)
    assert result.status == "retry"
    assert "ConnectError" in result.detail


def test_webhook_details_never_show_a_token_in_the_url(remote: ReplayServer) -> None:
    remote.script(Reply(502, b"bad gateway"))
    url = f"{remote.url}/hook?token=tok_secret_123"
    with HttpWebhookWriteback(url, SECRET, clock=FixedClock(NOW)) as adapter:
        result = adapter.deliver(ERP_REQUEST)
        shown = repr(adapter)
    assert result.detail == f"HTTP 502 from {remote.url}/hook: bad gateway"
    assert "tok_secret_123" not in shown
    assert remote.received[0].query == {"token": ["tok_secret_123"]}


def test_webhook_400_is_terminal(remote: ReplayServer, webhook: HttpWebhookWriteback) -> None:
    remote.script(Reply(400, b'{"error": "unknown cost centre"}'))
    result = webhook.deliver(ERP_REQUEST)
    assert (result.status, result.http_status) == ("terminal", 400)
    assert "unknown cost centre" in result.detail


def test_webhook_429_retry_after_then_200_confirmed(
    remote: ReplayServer, webhook: HttpWebhookWriteback
) -> None:
    remote.script(Reply(429, b"slow down", {"Retry-After": "120"}), Reply(200, b"ok"))

    first = webhook.deliver(ERP_REQUEST)
    second = webhook.deliver(ERP_REQUEST)

    assert (first.status, first.http_status, first.retry_after) == (
        "retry", 429, timedelta(seconds=120),
    )  # fmt: skip
    assert (second.status, second.http_status, second.reference) == ("confirmed", 200, None)
    keys = [got.headers["idempotency-key"] for got in remote.received]
    bodies = {got.body for got in remote.received}
    assert keys == [KEY, KEY]
    assert len(bodies) == 1


def test_webhook_503_with_an_http_date(remote: ReplayServer, webhook: HttpWebhookWriteback) -> None:
    later = format_datetime(NOW + timedelta(minutes=3), usegmt=True)
    remote.script(Reply(503, b"", {"Retry-After": later}))
    result = webhook.deliver(ERP_REQUEST)
    assert (result.status, result.retry_after) == ("retry", timedelta(minutes=3))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", timedelta(0)), ("2.5", timedelta(seconds=2.5)), ("-1", None), ("soon", None),
        ("", None), (None, None), ("Thu, 01 Oct 2026 11:00:00 GMT", timedelta(0)),
    ],
)  # fmt: skip
def test_parse_retry_after(value: str | None, expected: timedelta | None) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_webhook_payload_that_is_not_json_is_terminal_and_sends_nothing(
    remote: ReplayServer, webhook: HttpWebhookWriteback
) -> None:
    result = webhook.deliver(wb_request(thing=object()))
    assert result.status == "terminal"
    assert "payload is not JSON" in result.detail
    assert remote.received == []


@pytest.mark.parametrize(
    ("url", "secret", "message"),
    [
        ("http://erp.example.com/hook", SECRET, "plain http"),
        ("ftp://erp.example.com/hook", SECRET, "not an http"),
        ("https://erp.example.com/hook", "short", "has 5 bytes"),
    ],
)
def test_webhook_configuration_is_checked(url: str, secret: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        HttpWebhookWriteback(url, secret)


# -- Stripe ---------------------------------------------------------------------------------------


@pytest.fixture
def stripe_wb(remote: ReplayServer) -> Iterator[StripeRecordsWriteback]:
    with StripeRecordsWriteback(STRIPE_KEY, base_url=remote.url, timeout=2) as adapter:
        yield adapter


def stripe_reply(name: str, status: int = 200, **headers: str) -> Reply:
    return Reply(status, recorded("stripe", name), {"Request-Id": "req_replay", **headers})


def test_stripe_sets_metadata_on_a_payment_intent(
    remote: ReplayServer, stripe_wb: StripeRecordsWriteback
) -> None:
    remote.script(stripe_reply("payment_intent_updated.json"))
    request = wb_request(payment_intent="pi_3RcpWb2eZvKYlo2C1aB2cD3e", outcome="recovered",
                         metadata={"order_id": "1042"})  # fmt: skip

    result = stripe_wb.deliver(request)

    assert (result.status, result.http_status, result.reference) == (
        "confirmed", 200, "pi_3RcpWb2eZvKYlo2C1aB2cD3e",
    )  # fmt: skip
    [got] = remote.received
    assert (got.method, got.path) == ("POST", "/v1/payment_intents/pi_3RcpWb2eZvKYlo2C1aB2cD3e")
    assert got.headers["idempotency-key"] == KEY
    assert got.headers["authorization"] == f"Bearer {STRIPE_KEY}"
    assert got.form() == {
        "metadata[order_id]": ["1042"],
        "metadata[recoup_case]": ["case_01JB7Q9ZK4M2"],
        "metadata[recoup_outcome]": ["recovered"],
    }


def test_stripe_sets_metadata_on_a_charge(
    remote: ReplayServer, stripe_wb: StripeRecordsWriteback
) -> None:
    remote.script(stripe_reply("charge_updated.json"))
    result = stripe_wb.deliver(wb_request(charge="ch_3RcpWb2eZvKYlo2C1fG4hI5j",
                                          outcome="written_off"))  # fmt: skip
    assert (result.status, result.reference) == ("confirmed", "ch_3RcpWb2eZvKYlo2C1fG4hI5j")
    [got] = remote.received
    assert (got.method, got.path) == ("POST", "/v1/charges/ch_3RcpWb2eZvKYlo2C1fG4hI5j")
    assert got.form() == {"metadata[recoup_case]": ["case_01JB7Q9ZK4M2"],
                          "metadata[recoup_outcome]": ["written_off"]}  # fmt: skip


@pytest.mark.parametrize(
    ("operation", "path", "form", "fixture"),
    [
        ("invoice_paid_out_of_band", "/pay", {"paid_out_of_band": ["true"]}, "invoice_paid.json"),
        ("invoice_void", "/void", {}, "invoice_void.json"),
        ("invoice_uncollectible", "/mark_uncollectible", {}, "invoice_uncollectible.json"),
    ],
)
def test_stripe_invoice_transitions(
    remote: ReplayServer, stripe_wb: StripeRecordsWriteback,
    operation: str, path: str, form: dict[str, list[str]], fixture: str,
) -> None:  # fmt: skip
    remote.script(stripe_reply(fixture))
    result = stripe_wb.deliver(wb_request(operation, invoice="in_1RcpZt2eZvKYlo2Cfake0001"))
    assert (result.status, result.reference) == ("confirmed", "in_1RcpZt2eZvKYlo2Cfake0001")
    [got] = remote.received
    assert (got.method, got.path) == ("POST", f"/v1/invoices/in_1RcpZt2eZvKYlo2Cfake0001{path}")
    assert got.headers["idempotency-key"] == KEY
    assert got.form() == form


def test_stripe_refused_transition_of_an_invoice_already_there_is_confirmed(
    remote: ReplayServer, stripe_wb: StripeRecordsWriteback
) -> None:
    """A replay after Stripe's 24-hour idempotency window: the pay is refused, the invoice
    is read, it is paid already: confirmed, nothing applied twice."""
    remote.script(stripe_reply("error_invoice_already_paid.json", 400),
                  stripe_reply("invoice_paid.json"))  # fmt: skip
    result = stripe_wb.deliver(wb_request("invoice_paid_out_of_band",
                                          invoice="in_1RcpZt2eZvKYlo2Cfake0001"))  # fmt: skip
    invoice = "in_1RcpZt2eZvKYlo2Cfake0001"
    assert result == WritebackResult(
        "confirmed", f"Invoice {invoice} is already paid", 400, invoice
    )
    assert [(r.method, r.path) for r in remote.received] == [
        ("POST", "/v1/invoices/in_1RcpZt2eZvKYlo2Cfake0001/pay"),
        ("GET", "/v1/invoices/in_1RcpZt2eZvKYlo2Cfake0001"),
    ]


def test_stripe_refused_transition_of_an_open_invoice_stays_terminal(
    remote: ReplayServer, stripe_wb: StripeRecordsWriteback
) -> None:
    remote.script(stripe_reply("error_invoice_already_paid.json", 400),
                  stripe_reply("invoice_open.json"))  # fmt: skip
    result = stripe_wb.deliver(wb_request("invoice_void", invoice="in_1RcpZt2eZvKYlo2Cfake0001"))
    assert (result.status, result.http_status) == ("terminal", 400)
    assert "invalid_request_error: Invoice is already paid." in result.detail


@pytest.mark.parametrize(
    ("fixture", "status", "headers", "expected", "retry_after"),
    [
        ("error_api.json", 500, {}, "retry", None),
        ("error_rate_limit.json", 429, {"Retry-After": "2"}, "retry", timedelta(seconds=2)),
        ("error_rate_limit.json", 400, {}, "retry", None),  # Stripe's older rate-limit form
        ("error_idempotency_key_in_use.json", 409, {}, "retry", None),
        ("error_resource_missing.json", 404, {}, "terminal", None),
        ("error_idempotency.json", 400, {}, "terminal", None),
        ("error_authentication.json", 401, {}, "terminal", None),
        ("error_api.json", 500, {"Stripe-Should-Retry": "false"}, "terminal", None),
    ],
)
def test_stripe_errors_are_classified(
    remote: ReplayServer, stripe_wb: StripeRecordsWriteback, fixture: str, status: int,
    headers: dict[str, str], expected: str, retry_after: timedelta | None,
) -> None:  # fmt: skip
    remote.script(stripe_reply(fixture, status, **headers))
    result = stripe_wb.deliver(wb_request(payment_intent="pi_3RcpMissingFake0000000",
                                          outcome="recovered"))  # fmt: skip
    assert (result.status, result.http_status, result.retry_after) == (
        expected, status, retry_after,
    )  # fmt: skip
    assert "[request req_replay]" in result.detail
    assert len(remote.received) == 1  # the library's own retries are off


def test_stripe_timeout_is_retry(remote: ReplayServer) -> None:
    remote.script(Reply(200, recorded("stripe", "payment_intent_updated.json"), delay=2.0))
    with StripeRecordsWriteback(STRIPE_KEY, base_url=remote.url, timeout=0.3) as adapter:
        result = adapter.deliver(wb_request(payment_intent="pi_1", outcome="recovered"))
    assert (result.status, result.http_status) == ("retry", None)


@pytest.mark.parametrize(
    ("operation", "payload", "message"),
    [
        ("record_outcome", {"outcome": "recovered"}, "exactly one of payload.payment_intent"),
        ("record_outcome", {"charge": "ch_1"}, "payload.outcome must be a non-empty string"),
        ("record_outcome", {"charge": "ch_1", "outcome": "x", "metadata": {"k": 1}},
         "payload.metadata.k must be a string"),
        ("record_outcome", {"charge": "ch_1", "outcome": "x" * 501}, "too long for Stripe"),
        ("invoice_void", {}, "payload.invoice must be a non-empty string"),
        ("refund", {"charge": "ch_1"}, "no operation 'refund'"),
    ],
)  # fmt: skip
def test_stripe_bad_requests_are_terminal_and_send_nothing(
    remote: ReplayServer, stripe_wb: StripeRecordsWriteback, operation: str,
    payload: dict[str, object], message: str,
) -> None:  # fmt: skip
    result = stripe_wb.deliver(wb_request(operation, **payload))
    assert result.status == "terminal"
    assert message in result.detail
    assert remote.received == []


def test_stripe_refuses_a_publishable_key() -> None:
    with pytest.raises(ConfigurationError, match="publishable key"):
        StripeRecordsWriteback("pk_test_recoup_fixture")


# -- Shopify -----------------------------------------------------------------------------------


ORDER = 6011374829841
ORDER_PATH = f"/admin/api/2025-07/orders/{ORDER}.json"
NOTE = "Recoup case_01JB7Q9ZK4M2: payment recovered (80.00 EUR)"


@pytest.fixture
def shopify_wb(remote: ReplayServer) -> Iterator[ShopifyRecordsWriteback]:
    with ShopifyRecordsWriteback(remote.url, SHOPIFY_TOKEN, timeout=0.5,
                                 clock=FixedClock(NOW)) as adapter:  # fmt: skip
        yield adapter


def shopify_reply(name: str, status: int = 200, **headers: str) -> Reply:
    return Reply(status, recorded("shopify", name), {"X-Request-Id": "shop-req-1", **headers})


def annotate(order: int | str = ORDER, **extra: object) -> WritebackRequest:
    payload: dict[str, object] = {"order_id": order, "note": NOTE,
                                  "tags": ["recoup", "recoup-recovered", "vip"]}  # fmt: skip
    return wb_request("annotate_order", **{**payload, **extra})


def test_shopify_merges_tags_and_appends_the_note(
    remote: ReplayServer, shopify_wb: ShopifyRecordsWriteback
) -> None:
    remote.script(shopify_reply("order_fields.json"), shopify_reply("order_updated.json"))

    result = shopify_wb.deliver(annotate())

    assert (result.status, result.http_status, result.reference) == ("confirmed", 200, str(ORDER))
    get, put = remote.received
    assert (get.method, get.path, get.query) == ("GET", ORDER_PATH, {"fields": ["id,note,tags"]})
    assert (put.method, put.path) == ("PUT", ORDER_PATH)
    for got in (get, put):
        assert got.headers["x-shopify-access-token"] == SHOPIFY_TOKEN
    assert put.headers["content-type"] == "application/json"
    assert put.json() == {"order": {
        "id": ORDER,
        "note": f"Customer asked for a paper invoice.\n{NOTE}",
        "tags": "wholesale, VIP, recoup, recoup-recovered",  # "vip" is already there as "VIP"
    }}  # fmt: skip


def test_shopify_replay_finds_it_done_and_does_not_put(
    remote: ReplayServer, shopify_wb: ShopifyRecordsWriteback
) -> None:
    remote.script(shopify_reply("order_fields_annotated.json"))
    result = shopify_wb.deliver(annotate())
    assert result == WritebackResult("confirmed", f"order {ORDER} already annotated", 200,
                                     str(ORDER))  # fmt: skip
    assert [r.method for r in remote.received] == ["GET"]


def test_shopify_order_without_note_or_tags(
    remote: ReplayServer, shopify_wb: ShopifyRecordsWriteback
) -> None:
    remote.script(shopify_reply("order_fields_empty.json"), shopify_reply("order_updated.json"))
    result = shopify_wb.deliver(annotate(str(ORDER + 1), tags=["recoup"]))
    assert result.status == "confirmed"
    put = remote.received[1]
    assert put.path == f"/admin/api/2025-07/orders/{ORDER + 1}.json"
    assert put.json() == {"order": {"id": ORDER + 1, "note": NOTE, "tags": "recoup"}}


def test_shopify_429_on_put_then_replay_confirmed(
    remote: ReplayServer, shopify_wb: ShopifyRecordsWriteback
) -> None:
    remote.script(
        shopify_reply("order_fields.json"),
        shopify_reply("error_throttled.json", 429, **{"Retry-After": "2.0"}),
        shopify_reply("order_fields.json"),
        shopify_reply("order_updated.json"),
    )
    first = shopify_wb.deliver(annotate())
    second = shopify_wb.deliver(annotate())
    assert (first.status, first.http_status, first.retry_after) == (
        "retry", 429, timedelta(seconds=2),
    )  # fmt: skip
    assert "Exceeded 2 calls per second" in first.detail
    assert "[request shop-req-1]" in first.detail
    assert second.status == "confirmed"
    assert [r.method for r in remote.received] == ["GET", "PUT", "GET", "PUT"]
    assert remote.received[1].body == remote.received[3].body


@pytest.mark.parametrize(
    ("fixture", "status", "expected", "requests"),
    [
        ("error_not_found.json", 404, "terminal", 1),
        ("error_unauthorized.json", 401, "terminal", 1),
        ("error_throttled.json", 503, "retry", 1),
    ],
)
def test_shopify_get_failures(
    remote: ReplayServer, shopify_wb: ShopifyRecordsWriteback, fixture: str, status: int,
    expected: str, requests: int,
) -> None:  # fmt: skip
    remote.script(shopify_reply(fixture, status))
    result = shopify_wb.deliver(annotate())
    assert (result.status, result.http_status) == (expected, status)
    assert len(remote.received) == requests


def test_shopify_422_on_put_names_the_field(
    remote: ReplayServer, shopify_wb: ShopifyRecordsWriteback
) -> None:
    remote.script(shopify_reply("order_fields.json"),
                  shopify_reply("error_unprocessable.json", 422))  # fmt: skip
    result = shopify_wb.deliver(annotate())
    assert (result.status, result.http_status) == ("terminal", 422)
    assert result.detail.endswith("HTTP 422: note: is too long [request shop-req-1]")


def test_shopify_timeout_is_retry(
    remote: ReplayServer, shopify_wb: ShopifyRecordsWriteback
) -> None:
    remote.script(Reply(200, recorded("shopify", "order_fields.json"), delay=2.0))
    result = shopify_wb.deliver(annotate())
    assert result.status == "retry"
    assert "timed out" in result.detail


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"order_id": -3}, "payload.order_id must be a positive order id"),
        ({"order_id": True}, "payload.order_id must be a positive order id"),
        ({"tags": "recoup"}, "payload.tags must be a list of strings"),
        ({"tags": ["a,b"]}, "payload.tags[0] must be a non-empty string without a comma"),
        ({"tags": ["x" * 41]}, "payload.tags[0] has 41 characters; Shopify allows 40"),
        ({"note": "two\nlines"}, "payload.note must be one line"),
        ({"note": "", "tags": []}, "nothing to write"),
    ],
)
def test_shopify_bad_payloads_are_terminal_and_send_nothing(
    remote: ReplayServer, shopify_wb: ShopifyRecordsWriteback, payload: dict[str, object],
    message: str,
) -> None:  # fmt: skip
    result = shopify_wb.deliver(annotate(**payload))
    assert result.status == "terminal"
    assert message in result.detail
    assert remote.received == []


# -- file drop ----------------------------------------------------------------------------------


def test_file_drop_json_writes_once_and_a_replay_is_confirmed(tmp_path: Path) -> None:
    adapter = FileDropWriteback(tmp_path, "json")

    first = adapter.deliver(ERP_REQUEST)
    path = tmp_path / file_name(KEY, "json")
    written_at = path.stat().st_mtime_ns
    second = adapter.deliver(ERP_REQUEST)

    assert (first.status, first.detail) == ("confirmed", f"wrote {path}")
    assert (second.status, second.detail) == ("confirmed", f"{path} already written")
    assert first.reference == second.reference == path.name
    assert path.read_bytes() == ERP_REQUEST.to_json() + b"\n"
    assert path.stat().st_mtime_ns == written_at
    assert sorted(os.listdir(tmp_path)) == [path.name]  # no temporary file left behind


def test_file_drop_csv(tmp_path: Path) -> None:
    adapter = FileDropWriteback(tmp_path, "csv")
    request = wb_request(key="ERP-2026-0042", outcome="recovered", amount=Decimal("80.00"),
                         memo='paid, "late"', extra=None, lines=[1, 2])  # fmt: skip
    result = adapter.deliver(request)
    path = tmp_path / "ERP-2026-0042.csv"
    assert result.status == "confirmed"
    assert path.read_bytes() == (
        b"recoup_request_id,recoup_case_id,recoup_target,recoup_operation,"
        b"recoup_idempotency_key,amount,extra,lines,memo,outcome\r\n"
        b'wb_01JB7QA0,case_01JB7Q9ZK4M2,erp,record_outcome,ERP-2026-0042,80.00,,"[1,2]",'
        b'"paid, ""late""",recovered\r\n'
    )


def test_file_drop_same_key_other_content_is_terminal(tmp_path: Path) -> None:
    adapter = FileDropWriteback(tmp_path)
    adapter.deliver(ERP_REQUEST)
    before = (tmp_path / file_name(KEY, "json")).read_bytes()
    result = adapter.deliver(wb_request(outcome="written_off"))
    assert result.status == "terminal"
    assert "already holds a different request" in result.detail
    assert (tmp_path / file_name(KEY, "json")).read_bytes() == before


def test_file_names_are_safe_and_distinct() -> None:
    assert file_name("ERP-2026-0042", "csv") == "ERP-2026-0042.csv"
    unsafe = file_name(KEY, "json")
    assert unsafe.startswith("case_01JB7Q9ZK4M2_step-3-")
    assert unsafe.endswith(".json")
    assert file_name("a/b", "json") != file_name("a:b", "json")
    assert "/" not in file_name("../../etc/passwd", "json")
    assert not file_name("../x", "json").startswith(".")


def test_file_drop_unwritable_folder_is_terminal(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    folder = tmp_path / "ro"
    folder.mkdir()
    adapter = FileDropWriteback(folder)
    folder.chmod(0o500)
    try:
        result = adapter.deliver(ERP_REQUEST)
    finally:
        folder.chmod(0o700)
    assert result.status == "terminal"
    assert "Permission denied" in result.detail


def test_file_drop_folder_replaced_by_a_file_is_terminal(tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    adapter = FileDropWriteback(folder)
    folder.rmdir()
    folder.write_bytes(b"")
    result = adapter.deliver(ERP_REQUEST)
    assert result.status == "terminal"
    assert "Not a directory" in result.detail


def test_file_drop_vanished_folder_is_retry(tmp_path: Path) -> None:
    folder = tmp_path / "mount"
    folder.mkdir()
    adapter = FileDropWriteback(folder)
    folder.rmdir()
    result = adapter.deliver(ERP_REQUEST)
    assert result.status == "retry"


def test_file_drop_configuration_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="is not a folder"):
        FileDropWriteback(tmp_path / "missing")
    with pytest.raises(ConfigurationError, match="format 'xml'"):
        FileDropWriteback(tmp_path, "xml")  # type: ignore[arg-type]


def test_csv_payload_clashing_with_a_fixed_column_is_terminal(tmp_path: Path) -> None:
    result = FileDropWriteback(tmp_path, "csv").deliver(wb_request(recoup_case_id="x"))
    assert result.status == "terminal"
    assert "clashes with a fixed CSV column" in result.detail
    assert os.listdir(tmp_path) == []
