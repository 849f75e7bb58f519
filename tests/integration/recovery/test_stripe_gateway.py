"""The Stripe gateway against a real HTTP server on 127.0.0.1 that replays recorded Stripe
responses (``tests/fixtures/recorded/stripe_psp``) and keeps every request it was sent, so the
tests see what the ``stripe`` library really puts on the wire: the path, the form-encoded
parameters and the ``Idempotency-Key`` header.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from recoup.adapters.psp.stripe_gateway import EVIDENCE_TEXT_LIMIT, StripeGateway
from recoup.domain.errors import ConfigurationError, InvalidInputError
from recoup.domain.money import Money
from recoup.domain.recovery.psp import (
    ChargeOutcome,
    EvidenceOutcome,
    EvidenceRequest,
    PaymentGateway,
    RetryRequest,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "recorded" / "stripe_psp"
KEY = "sk_test_recoup_fixture"
PI = "pi_3RcpRetry0000000000002"
DISPUTE = "du_1RcpDispute000000000001"
EUR_49 = Money(Decimal("49.00"), "EUR")
EVIDENCE = {
    "customer_name": "Ana Lima",
    "shipping_carrier": "DHL",
    "shipping_tracking_number": "JD014600003828541234",
}


@dataclass
class Reply:
    status: int
    fixture: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    params: list[tuple[str, str]]

    @property
    def form(self) -> dict[str, str]:
        return dict(self.params)


@dataclass
class ReplayStripe:
    """Answers each request with the next scripted reply and records the request."""

    url: str = ""
    replies: list[Reply] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)


def _handler(state: ReplayStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8")
            state.seen.append(
                Seen(
                    "POST",
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    parse_qsl(body, keep_blank_values=True),
                )
            )
            if not state.replies:
                self.send_error(599, "no reply scripted")
                return
            reply = state.replies.pop(0)
            if reply.drop:
                self.close_connection = True
                self.connection.close()
                return
            data = (FIXTURES / reply.fixture).read_bytes() if reply.fixture else b"{}"
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", f"req_replay_{len(state.seen)}")
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def stripe_server() -> Iterator[ReplayStripe]:
    state = ReplayStripe()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def gateway(server: ReplayStripe, retries: int = 0) -> StripeGateway:
    return StripeGateway(KEY, base_url=server.url, max_network_retries=retries)


def retry(
    payment_method: str | None = None, key: str = "recoup:attempt:42", **context: str
) -> RetryRequest:
    return RetryRequest(PI, EUR_49, key, payment_method=payment_method, context=context)


# -- retries ---------------------------------------------------------------------------------------


def test_a_retry_on_a_new_card_that_succeeds(stripe_server: ReplayStripe) -> None:
    stripe_server.replies = [Reply(200, "confirm-succeeded.json")]
    gw: PaymentGateway = gateway(stripe_server)

    outcome = gw.retry_payment(retry("pm_1RcpNewVisa0000000000001"))

    assert outcome == ChargeOutcome(
        "succeeded",
        network="visa",
        reference="ch_3RcpRetry0000000000001b",
        amount=Money(Decimal("49.00"), "EUR"),
    )
    [seen] = stripe_server.seen
    assert seen.path == f"/v1/payment_intents/{PI}/confirm"
    assert seen.params == [
        ("off_session", "true"),
        ("expand[0]", "payment_method"),
        ("payment_method", "pm_1RcpNewVisa0000000000001"),
    ]
    assert seen.headers["idempotency-key"] == "recoup:attempt:42"
    assert seen.headers["authorization"] == f"Bearer {KEY}"
    assert seen.headers["content-type"] == "application/x-www-form-urlencoded"


def test_a_card_decline_maps_the_codes_the_brand_and_the_charge(
    stripe_server: ReplayStripe,
) -> None:
    stripe_server.replies = [Reply(402, "confirm-declined-insufficient-funds.json")]

    outcome = gateway(stripe_server).retry_payment(retry())

    assert outcome == ChargeOutcome(
        "declined",
        decline_code="stripe:insufficient_funds",
        advice_code="try_again_later",
        network="mastercard",
        reference="ch_3RcpRetry0000000000002b",
        network_decline_code="51",
        detail="Your card has insufficient funds.",
    )
    assert outcome.decline_class is not None
    assert outcome.decline_class.advice == "later"
    assert stripe_server.seen[0].params == [
        ("off_session", "true"),
        ("expand[0]", "payment_method"),
    ]


def test_a_payment_intent_back_in_requires_payment_method_is_a_decline(
    stripe_server: ReplayStripe,
) -> None:
    stripe_server.replies = [Reply(200, "confirm-requires-payment-method.json")]

    outcome = gateway(stripe_server).retry_payment(retry())

    assert (outcome.status, outcome.decline_code, outcome.advice_code) == (
        "declined",
        "stripe:insufficient_funds",
        "try_again_later",
    )
    assert (outcome.network, outcome.reference) == ("mastercard", "ch_3RcpRetry0000000000002b")


def test_an_off_session_retry_the_issuer_wants_authenticated_is_a_decline(
    stripe_server: ReplayStripe,
) -> None:
    stripe_server.replies = [Reply(402, "confirm-declined-authentication-required.json")]

    outcome = gateway(stripe_server).retry_payment(retry(mandate="mandate_1RcpFixture01"))

    assert (outcome.status, outcome.decline_code, outcome.network_decline_code) == (
        "declined",
        "stripe:authentication_required",
        "1A",
    )
    assert (outcome.network, outcome.advice_code) == ("visa", None)
    assert stripe_server.seen[0].form["mandate"] == "mandate_1RcpFixture01"


def test_an_on_session_retry_waiting_for_the_customer_is_pending(
    stripe_server: ReplayStripe,
) -> None:
    stripe_server.replies = [Reply(200, "confirm-requires-action.json")]

    outcome = gateway(stripe_server).retry_payment(
        retry(off_session="false", return_url="https://shop.example/return", receipt_email="a@b.c")
    )

    assert outcome == ChargeOutcome(
        "pending",
        network="amex",
        reference="ch_3RcpRetry0000000000004b",
        detail="the customer must authenticate",
    )
    assert stripe_server.seen[0].params == [
        ("off_session", "false"),
        ("expand[0]", "payment_method"),
        ("receipt_email", "a@b.c"),
        ("return_url", "https://shop.example/return"),
    ]


@pytest.mark.parametrize(
    ("reply", "retryable", "detail"),
    [
        (
            Reply(429, "error-rate-limit.json"),
            True,
            "429 invalid_request_error: rate_limit: Too many requests hit the API too quickly. "
            "We recommend an exponential backoff of your requests. (request req_replay_1)",
        ),
        (
            Reply(500, "error-api.json"),
            True,
            "500 api_error: An unknown error occurred (request req_replay_1)",
        ),
        (
            Reply(500, "error-api.json", {"Stripe-Should-Retry": "false"}),
            False,
            "500 api_error: An unknown error occurred (request req_replay_1)",
        ),
        (Reply(400, "error-lock-timeout.json"), True, None),
        (Reply(400, "error-idempotency.json"), False, None),
        (
            Reply(400, "error-unexpected-state.json"),
            False,
            "400 invalid_request_error: payment_intent_unexpected_state: This PaymentIntent's "
            "status is succeeded, but must be one of requires_payment_method, "
            "requires_confirmation, or requires_action to be confirmed. (request req_replay_1)",
        ),
        (Reply(401, "error-authentication.json"), False, None),
    ],
    ids=["429", "500", "500-should-not-retry", "lock-timeout", "idempotency", "state", "401"],
)
def test_api_errors_are_error_outcomes_with_a_retryable_flag(
    stripe_server: ReplayStripe, reply: Reply, retryable: bool, detail: str | None
) -> None:
    stripe_server.replies = [reply]

    outcome = gateway(stripe_server).retry_payment(retry())

    assert outcome.status == "error"
    assert outcome.retryable_error is retryable
    assert (outcome.decline_code, outcome.amount, outcome.reference) == (None, None, None)
    assert outcome.detail is not None
    assert KEY not in outcome.detail
    if detail is not None:
        assert outcome.detail == detail
    assert len(stripe_server.seen) == 1


def test_a_dropped_connection_is_a_retryable_error(stripe_server: ReplayStripe) -> None:
    stripe_server.replies = [Reply(0, drop=True)]

    outcome = gateway(stripe_server).retry_payment(retry())

    assert (outcome.status, outcome.retryable_error) == ("error", True)
    assert outcome.detail is not None
    assert outcome.detail.startswith("APIConnectionError")


def test_the_library_resends_a_failed_request_with_the_same_idempotency_key(
    stripe_server: ReplayStripe,
) -> None:
    stripe_server.replies = [Reply(500, "error-api.json"), Reply(200, "confirm-succeeded.json")]

    outcome = gateway(stripe_server, retries=1).retry_payment(retry(key="recoup:attempt:7"))

    assert outcome.status == "succeeded"
    assert [s.headers["idempotency-key"] for s in stripe_server.seen] == ["recoup:attempt:7"] * 2
    assert stripe_server.seen[0].params == stripe_server.seen[1].params


# -- disputes --------------------------------------------------------------------------------------


def test_submitting_evidence(stripe_server: ReplayStripe) -> None:
    stripe_server.replies = [Reply(200, "dispute-submitted.json")]

    outcome = gateway(stripe_server).submit_dispute_evidence(
        EvidenceRequest(DISPUTE, EVIDENCE, submit=True, idempotency_key="recoup:evidence:1")
    )

    assert outcome == EvidenceOutcome("submitted", DISPUTE, "under_review")
    [seen] = stripe_server.seen
    assert seen.path == f"/v1/disputes/{DISPUTE}"
    assert sorted(seen.params) == [
        ("evidence[customer_name]", "Ana Lima"),
        ("evidence[shipping_carrier]", "DHL"),
        ("evidence[shipping_tracking_number]", "JD014600003828541234"),
        ("submit", "true"),
    ]
    assert seen.headers["idempotency-key"] == "recoup:evidence:1"


def test_staging_evidence_without_submitting(stripe_server: ReplayStripe) -> None:
    stripe_server.replies = [Reply(200, "dispute-saved.json")]

    outcome = gateway(stripe_server).submit_dispute_evidence(
        EvidenceRequest(DISPUTE, EVIDENCE, submit=False, idempotency_key="recoup:evidence:2")
    )

    assert outcome == EvidenceOutcome("saved", DISPUTE, "needs_response")
    assert stripe_server.seen[0].form["submit"] == "false"


def test_evidence_stripe_refuses_is_rejected(stripe_server: ReplayStripe) -> None:
    stripe_server.replies = [Reply(400, "error-dispute-submitted.json")]

    outcome = gateway(stripe_server).submit_dispute_evidence(
        EvidenceRequest(DISPUTE, EVIDENCE, submit=True, idempotency_key="recoup:evidence:3")
    )

    assert outcome.status == "rejected"
    assert outcome.retryable_error is False
    assert outcome.reference == DISPUTE
    assert outcome.detail is not None
    assert "can no longer be updated" in outcome.detail


def test_evidence_during_a_rate_limit_is_a_retryable_error(stripe_server: ReplayStripe) -> None:
    stripe_server.replies = [Reply(429, "error-rate-limit.json")]

    outcome = gateway(stripe_server).submit_dispute_evidence(
        EvidenceRequest(DISPUTE, EVIDENCE, submit=True, idempotency_key="recoup:evidence:4")
    )

    assert (outcome.status, outcome.retryable_error) == ("error", True)


def test_evidence_over_stripes_length_limit_is_refused_before_sending(
    stripe_server: ReplayStripe,
) -> None:
    long_text = {"uncategorized_text": "x" * (EVIDENCE_TEXT_LIMIT + 1)}

    with pytest.raises(InvalidInputError, match="150000"):
        gateway(stripe_server).submit_dispute_evidence(
            EvidenceRequest(DISPUTE, long_text, submit=True, idempotency_key="recoup:evidence:5")
        )
    assert stripe_server.seen == []


# -- configuration ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["", "  ", "pk_test_recoup_fixture"])
def test_a_key_that_cannot_work_is_refused(key: str) -> None:
    with pytest.raises(ConfigurationError):
        StripeGateway(key)


def test_the_key_is_not_in_the_repr() -> None:
    assert KEY not in repr(StripeGateway(KEY, base_url="http://127.0.0.1:9"))
