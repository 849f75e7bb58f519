"""PayPal webhook events to canonical events."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recoup.adapters.connectors.base import ParseContext
from recoup.adapters.connectors.webhooks import paypal
from recoup.domain.detection.detectors import Detectors, WindowState
from recoup.domain.ingestion.canonical import Rejection
from recoup.domain.ingestion.event import Event
from tests.integration.connectors.support import (
    FIXTURES_ROOT,
    JSON_VALUES,
    Result,
    assert_no_mapping_error,
    assert_results,
    only_event,
)

RECEIVED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FIXTURES = FIXTURES_ROOT / "paypal"


def mapped(name_or_body: str | bytes) -> list[Result]:
    body = (FIXTURES / name_or_body).read_bytes() if isinstance(name_or_body, str) else name_or_body
    return paypal.events_from_payload(body, received_at=RECEIVED, label="POST /hooks/paypal")


@pytest.mark.parametrize(
    ("name", "type_", "amount", "currency", "direction", "refs"),
    [
        (
            "payment-sale-completed.json",
            "payment.succeeded",
            "48.00",
            "USD",
            "credit",
            {"payment": "80021663DE681814L", "invoice": "INV-2026-0042"},
        ),
        (
            "payment-sale-refunded.json",
            "refund.succeeded",
            "12.00",
            "USD",
            "debit",
            {"refund": "4CF18861HF410323U", "payment": "80021663DE681814L"},
        ),
        (
            "payment-sale-reversed.json",
            "payment.reversed",
            "48.00",
            "USD",
            "debit",
            {"payment": "80021663DE681814L"},
        ),
        (
            "payment-capture-completed.json",
            "payment.succeeded",
            "25.99",
            "EUR",
            "credit",
            {
                "payment": "27M47624FP291604U",
                "order": "5O190127TN364715T",
                "invoice": "INV-2026-0043",
            },
        ),
        (
            "payment-capture-refunded.json",
            "refund.succeeded",
            "10.00",
            "EUR",
            "debit",
            {"refund": "1JU08902781691411", "payment": "27M47624FP291604U"},
        ),
        (
            "payment-capture-reversed.json",
            "payment.reversed",
            "25.99",
            "EUR",
            "debit",
            {"payment": "27M47624FP291604U"},
        ),
        (
            "payment-capture-denied.json",
            "payment.failed",
            "80.00",
            "EUR",
            None,
            {"payment": "7NW873794T343360M"},
        ),
    ],
)
def test_payment_events(
    name: str,
    type_: str,
    amount: str,
    currency: str,
    direction: str | None,
    refs: dict[str, str],
) -> None:
    event = only_event(mapped(name))
    assert event.type == type_
    assert (event.amount, event.currency, event.direction) == (Decimal(amount), currency, direction)
    for kind, value in refs.items():
        assert getattr(event.refs, kind) == value, kind
    document = json.loads((FIXTURES / name).read_text())
    assert event.external_id == document["id"]
    assert event.amount is not None
    assert event.amount >= 0


def test_a_negative_refund_amount_keeps_its_sign_in_attributes() -> None:
    event = only_event(mapped("payment-sale-refunded.json"))
    assert event.attributes["amount_negative"] is True


def test_a_denied_capture_is_a_failed_payment_the_detector_sees() -> None:
    event = only_event(mapped("payment-capture-denied.json"))
    assert event.reason_code == "paypal:DENIED"
    findings = Detectors().run([event], WindowState(), RECEIVED).findings
    assert [f.type for f in findings] == ["payment_failed"]


def test_the_dispute_lifecycle_from_json_lines() -> None:
    body = (FIXTURES / "customer-disputes.jsonl").read_bytes()
    results = list(paypal.FORMAT.parse(body, ParseContext("customer-disputes.jsonl", RECEIVED)))
    assert all(isinstance(r, Event) for r in results)
    events = [r for r in results if isinstance(r, Event)]
    assert [e.type for e in events] == [
        "dispute.inquiry_opened",
        "dispute.updated",
        "dispute.won",
        "dispute.opened",
        "dispute.lost",
    ]
    inquiry = events[0]
    assert inquiry.reason_code == "paypal:MERCHANDISE_OR_SERVICE_NOT_RECEIVED"
    assert inquiry.reason_message == "Merchandise or service not received"
    assert (inquiry.refs.dispute, inquiry.refs.payment) == ("PP-D-21434", "27M47624FP291604U")
    assert inquiry.attributes["evidence_due_by"] == "2026-03-30T04:18:00Z"
    assert (inquiry.amount, inquiry.currency) == (Decimal("25.99"), "EUR")
    chargeback = events[3]
    assert chargeback.reason_code == "paypal:UNAUTHORISED"
    assert chargeback.attributes["network_reason_code"] == "10.4"
    assert chargeback.attributes["dispute_channel"] == "EXTERNAL"
    assert events[4].attributes["outcome"] == "RESOLVED_BUYER_FAVOUR"
    # The dispute links to the capture the PAYMENT.CAPTURE.COMPLETED event is about.
    capture = only_event(mapped("payment-capture-completed.json"))
    assert capture.refs.payment == inquiry.refs.payment
    findings = Detectors().run(events, WindowState(), RECEIVED).findings
    assert sorted(f.type for f in findings) == ["dispute_opened", "inquiry_opened"]


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        ("RESOLVED_SELLER_FAVOUR", "dispute.won"),
        ("DENIED", "dispute.won"),
        ("RESOLVED_WITH_PAYOUT", "dispute.won"),
        ("RESOLVED_BUYER_FAVOUR", "dispute.lost"),
        ("ACCEPTED", "dispute.lost"),
        ("CANCELED_BY_BUYER", "dispute.closed"),
        (None, "dispute.closed"),
    ],
)
def test_dispute_outcomes(outcome: str | None, expected: str) -> None:
    line = (FIXTURES / "customer-disputes.jsonl").read_text().splitlines()[2]
    document = json.loads(line)
    document["resource"]["dispute_outcome"] = {"outcome_code": outcome} if outcome else None
    assert only_event(mapped(json.dumps(document).encode())).type == expected


def test_a_failed_subscription_payment() -> None:
    event = only_event(mapped("billing-subscription-payment-failed.json"))
    assert event.type == "subscription.payment_failed"
    assert event.reason_code == "paypal:PAYMENT_DENIED"
    assert (event.amount, event.currency) == (Decimal("9.99"), "EUR")
    assert (event.refs.subscription, event.refs.customer) == ("I-BW452GLLEP1G", "2J6QB8YJQSJRJ")
    assert event.attributes["failed_payments_count"] == 1
    findings = Detectors().run([event], WindowState(), RECEIVED).findings
    assert [f.type for f in findings] == ["payment_failed"]


def test_an_untracked_event_type_is_kept_for_replay() -> None:
    [rejection] = mapped("checkout-order-approved.json")
    assert isinstance(rejection, Rejection)
    assert (rejection.code, rejection.location.field) == ("unsupported_type", "event_type")


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        (b'{"id": "WH-1", "create_time": "2026-01-01T00:00:00Z"}', "invalid_field", "event_type"),
        (b'{"event_type": "PAYMENT.SALE.COMPLETED"}', "invalid_field", "id"),
        (
            b'{"id": "WH-1", "event_type": "PAYMENT.SALE.COMPLETED", "create_time": "2026-01-01"}',
            "invalid_field",
            "create_time",
        ),
        (b'"a string"', "invalid_payload", None),
        (
            b'{"id": "WH-1", "event_type": "PAYMENT.SALE.COMPLETED",'
            b' "create_time": "2026-01-01T00:00:00Z", "resource": {"amount": {"total": "1.234",'
            b' "currency": "USD"}}}',
            "invalid_value",
            "amount",
        ),
    ],
)
def test_broken_events_are_located_rejections(body: bytes, code: str, field: str | None) -> None:
    [rejection] = mapped(body)
    assert isinstance(rejection, Rejection)
    assert (rejection.code, rejection.location.field) == (code, field)


def test_every_sample_maps_and_is_recognised() -> None:
    for path in sorted(FIXTURES.glob("*.json*")):
        body = path.read_bytes()
        results = list(paypal.FORMAT.parse(body, ParseContext(path.name, RECEIVED)))
        assert results
        for result in results:
            assert isinstance(result, Event) or result.code == "unsupported_type"
        assert paypal.FORMAT.sniff(path.name, body[:4096]), path.name


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(
        [
            "payment-capture-refunded.json",
            "payment-sale-reversed.json",
            "billing-subscription-payment-failed.json",
        ]
    ),
    key=st.integers(min_value=0, max_value=50),
    replacement=JSON_VALUES,
    top=st.booleans(),
)
def test_mutated_events_never_raise(name: str, key: int, replacement: Any, top: bool) -> None:
    document = json.loads((FIXTURES / name).read_text())
    target = document if top else document["resource"]
    keys = list(target)
    target[keys[key % len(keys)]] = replacement
    assert_no_mapping_error(mapped(json.dumps(document).encode()))


@given(st.binary(max_size=400))
def test_random_bytes_never_raise(body: bytes) -> None:
    assert_results(mapped(body))
