"""Shopify webhooks to canonical events: topics from headers or wrappers, exact ids, disputes,
refund transactions, and bodies that never make the mapper raise."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recoup.adapters.connectors.base import ParseContext
from recoup.adapters.connectors.webhooks import shopify
from recoup.domain.detection.detectors import Detectors, WindowState
from recoup.domain.ingestion.canonical import Rejection
from recoup.domain.ingestion.event import Event
from tests.integration.connectors.support import (
    FIXTURES_ROOT,
    JSON_VALUES,
    SHARED_ROOT,
    Result,
    assert_no_mapping_error,
    assert_results,
    assert_well_formed,
    only_event,
)

RECEIVED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FIXTURES = FIXTURES_ROOT / "shopify"
SHARED = SHARED_ROOT / "shopify"


def capture(name: str) -> bytes:
    return (FIXTURES / "hookdeck" / name).read_bytes()


def parse(body: bytes, label: str = "saved.json", topic: str | None = None) -> list[Result]:
    fmt = shopify.shopify_format(topic) if topic else shopify.FORMAT
    return list(fmt.parse(body, ParseContext(label, RECEIVED)))  # type: ignore[arg-type]


# -- ids ------------------------------------------------------------------------------------------


def test_a_large_id_round_trips_exactly() -> None:
    body = (
        b'{"id": 820982911946154508, "order_id": 820982911946154508, "type": "chargeback",'
        b' "amount": "11.50", "currency": "CAD", "reason": "fraudulent",'
        b' "network_reason_code": "4837", "status": "needs_response",'
        b' "initiated_at": "2021-12-31T19:00:00-05:00"}'
    )
    event = only_event(
        shopify.events_from_payload(
            body, received_at=RECEIVED, label="POST /hooks/shopify", topic="disputes/create"
        )
    )
    assert event.refs.dispute == "820982911946154508"
    assert event.refs.order == "820982911946154508"
    assert event.external_id.startswith("disputes/create:820982911946154508:")
    assert float(820982911946154508) != 820982911946154508  # what a float would have done
    # The evidence (raw) goes through card-number masking, and this id happens to pass the Luhn
    # check: refs and external_id are where ids are kept, exactly.


def test_the_graphql_id_wins_over_a_numeric_id_that_lost_precision() -> None:
    event = only_event(parse(capture("orders.create.json"), "orders.create.json"))
    # The sample's numeric id was rounded before it was saved; its gid was not.
    assert event.refs.order == "820982911946154508"
    assert event.refs.customer == "115310627314723954"
    assert event.attributes["id_from_gid"] is True


def test_order_ids_without_a_graphql_twin_stay_as_saved() -> None:
    event = only_event(parse(capture("refunds.create.json"), "refunds.create.json"))
    assert event.refs.order == "820982911946154500"  # already rounded in the source JSON
    assert event.refs.refund == "890088186047892319"  # from admin_graphql_api_id


# -- topics ---------------------------------------------------------------------------------------


def test_orders_create_from_a_hookdeck_capture() -> None:
    event = only_event(parse(capture("orders.create.json"), "orders.create.json"))
    assert event.type == "order.created"
    assert (event.amount, event.currency) == (Decimal("388.00"), "USD")  # total_price
    assert event.external_id == "8a95126f-859a-4db9-b8f1-350e299e9ea0"  # X-Shopify-Webhook-Id
    assert event.occurred_at == datetime(2022, 1, 1, 0, 0, tzinfo=UTC)
    assert event.attributes["shop"] == "shop.myshopify.com"


def test_later_order_topics_use_the_current_total() -> None:
    document = json.loads(capture("orders.create.json"))
    document["topic"] = "orders/cancelled"
    document["headers"]["x-shopify-topic"] = "orders/cancelled"
    event = only_event(parse(json.dumps(document).encode()))
    assert event.type == "order.cancelled"
    assert event.amount == Decimal("398.00")  # current_total_price
    assert event.reason_code == "shopify:customer"


def test_a_plain_body_needs_a_topic() -> None:
    body = json.dumps(json.loads(capture("orders.create.json"))["body"]).encode()
    [rejection] = parse(body)
    assert isinstance(rejection, Rejection)
    assert (rejection.code, rejection.location.field) == ("missing_topic", "topic")
    event = only_event(parse(body, topic="orders/paid"))
    assert event.type == "order.paid"
    # No webhook id: topic, object id and updated_at.
    assert event.external_id == "orders/paid:820982911946154508:2021-12-31T19:00:00-05:00"


def test_live_headers_give_topic_webhook_id_and_trigger_time() -> None:
    body = json.dumps(json.loads(capture("subscription_billing_attempts.failure.json"))["body"])
    headers = {
        "X-Shopify-Topic": "subscription_billing_attempts/failure",
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "X-Shopify-Triggered-At": "2026-03-01T11:59:58.123456789Z",
    }
    event = only_event(
        shopify.events_from_payload(
            body.encode(), received_at=RECEIVED, label="POST /hooks/shopify", headers=headers
        )
    )
    assert event.type == "subscription.payment_failed"
    assert event.external_id == headers["X-Shopify-Webhook-Id"]
    assert event.occurred_at == datetime(2026, 3, 1, 11, 59, 58, 123456, tzinfo=UTC)
    assert event.attributes["occurred_at_source"] == "triggered_at"
    assert (event.refs.subscription, event.refs.order) == ("9928822889", "1")
    assert [f.type for f in Detectors().run([event], WindowState(), RECEIVED).findings] == [
        "payment_failed"
    ]


@pytest.mark.parametrize("topic", ["ORDERS_PAID", "orders.paid", "Orders/Paid"])
def test_topic_spellings(topic: str) -> None:
    body = json.dumps(json.loads(capture("orders.create.json"))["body"]).encode()
    assert only_event(parse(body, topic=topic)).type == "order.paid"


def test_a_billing_failure_with_an_error_code() -> None:
    body = {
        "id": 1234,
        "idempotency_key": "k-1",
        "order_id": 55,
        "subscription_contract_id": 77,
        "ready": True,
        "error_code": "insufficient_funds",
        "error_message": "Your card has insufficient funds.",
    }
    event = only_event(
        shopify.events_from_payload(
            json.dumps(body).encode(),
            received_at=RECEIVED,
            label="x",
            topic="subscription_billing_attempts/failure",
        )
    )
    assert event.reason_code == "shopify:insufficient_funds"
    assert event.reason_message == "Your card has insufficient funds."
    assert event.occurred_at == RECEIVED
    assert event.attributes["occurred_at_source"] == ("received_at")


# -- disputes -------------------------------------------------------------------------------------


def test_a_dispute_with_a_mastercard_only_code_is_namespaced_mc() -> None:
    event = only_event(parse(capture("disputes.create.json"), "disputes.create.json"))
    assert event.type == "dispute.opened"
    assert event.reason_code == "mc:4837"
    assert event.reason_message == "No Cardholder Authorization"
    assert event.attributes["network_inferred"] is True
    assert event.attributes["shopify_reason"] == "fraudulent"
    assert event.attributes["evidence_due_by"] == "2021-12-31T00:00:00Z"
    assert (event.amount, event.currency, event.direction) == (Decimal("11.50"), "CAD", "debit")
    finding = Detectors().run([event], WindowState(), RECEIVED).findings[0]
    assert finding.type == "dispute_opened"


def test_shopify_python_api_disputes_by_type_and_status() -> None:
    disputes = json.loads((FIXTURES / "shopify-python-api" / "disputes.json").read_text())
    lines = b"\n".join(json.dumps(d).encode() for d in disputes["disputes"])
    created = parse(lines, "disputes.jsonl", topic="disputes/create")
    assert [r.type for r in created if isinstance(r, Event)] == [
        "dispute.opened",
        "dispute.opened",
        "dispute.opened",
        "dispute.inquiry_opened",
        "dispute.opened",
        "dispute.opened",
        "dispute.opened",
    ]
    # 4827 is in no network's table: Shopify's own reason is the reason code.
    assert {r.reason_code for r in created if isinstance(r, Event)} == {
        "shopify:fraudulent",
        "shopify:credit_not_processed",
        "shopify:subscription_canceled",
    }
    updated = parse(lines, "disputes.jsonl", topic="disputes/update")
    assert [r.type for r in updated if isinstance(r, Event)] == [
        "dispute.won",
        "dispute.updated",
        "dispute.won",
        "dispute.updated",
        "dispute.updated",
        "dispute.updated",
        "dispute.updated",
    ]
    assert len(updated) == 7


# -- transactions and refunds ---------------------------------------------------------------------


def test_an_order_transaction_is_a_payment_event() -> None:
    event = only_event(parse(capture("order_transactions.create.json")))
    assert event.type == "payment.authorized"
    assert event.refs.payment == "120560818172775265"
    assert event.external_id == "transaction:120560818172775265:success"
    assert event.attributes["network"] == "visa"


@pytest.mark.parametrize(
    ("kind", "status", "expected"),
    [
        ("sale", "success", "payment.succeeded"),
        ("sale", "failure", "payment.failed"),
        ("capture", "success", "payment.captured"),
        ("capture", "error", "payment.capture_failed"),
        ("void", "success", "payment.canceled"),
        ("refund", "failure", "refund.failed"),
        ("authorization", "pending", "payment.pending"),
    ],
)
def test_transaction_kinds(kind: str, status: str, expected: str) -> None:
    txn = {
        "id": 5,
        "order_id": 6,
        "kind": kind,
        "status": status,
        "amount": "10.00",
        "currency": "EUR",
        "error_code": "card_declined" if status != "success" else None,
        "created_at": "2026-02-01T10:00:00+01:00",
        "parent_id": 4,
    }
    event = only_event(parse(json.dumps(txn).encode(), topic="order_transactions/create"))
    assert event.type == expected
    if status in ("failure", "error"):
        assert event.reason_code == "shopify:card_declined"


def test_a_refund_with_transactions_emits_one_event_per_transaction() -> None:
    refund = json.loads((FIXTURES / "shopify-python-api" / "refund.json").read_text())["refund"]
    results = parse(json.dumps(refund).encode(), "refund.json", topic="refunds/create")
    event = only_event(results)
    assert event.type == "refund.succeeded"
    assert (event.amount, event.currency) == (Decimal("209.00"), "USD")
    assert event.refs.refund == str(refund["id"])
    assert event.refs.order == "450789469"
    # The same transaction delivered as order_transactions/create is the same event.
    txn = refund["transactions"][0]
    again = only_event(parse(json.dumps(txn).encode(), topic="order_transactions/create"))
    assert again.id == event.id


def test_a_refund_without_transactions_is_a_refund_request_with_its_line_items() -> None:
    event = only_event(parse(capture("refunds.create.json")))
    assert event.type == "refund.created"
    assert event.attributes["amount_basis"] == "refund_line_items"
    assert event.currency == "USD"


def test_a_negative_tender_transaction_is_a_refund() -> None:
    tender = {
        "id": 7,
        "order_id": 8,
        "amount": "-5.00",
        "currency": "USD",
        "processed_at": "2026-02-01T10:00:00Z",
        "payment_method": "credit_card",
    }
    event = only_event(parse(json.dumps(tender).encode(), topic="tender_transactions/create"))
    assert (event.type, event.amount, event.direction) == (
        "refund.succeeded",
        Decimal("5.00"),
        "debit",
    )


def test_an_untracked_topic_is_kept_for_replay() -> None:
    body = b'{"id": 1}'
    [rejection] = parse(body, topic="orders/delete")
    assert isinstance(rejection, Rejection)
    assert (rejection.code, rejection.location.field) == ("unsupported_type", "topic")


# -- every shared sample --------------------------------------------------------------------------

_REST_TOPICS = {
    "order": "orders/updated",
    "orders": "orders/updated",
    "refund": "refunds/create",
    "transaction": "order_transactions/create",
    "transactions": "order_transactions/create",
    "dispute": "disputes/update",
    "disputes": "disputes/create",
    "tender_transactions": "tender_transactions/create",
    "fulfillment": "fulfillments/update",
}


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared Shopify samples not present")
def test_every_shared_shopify_sample_maps_or_is_a_located_rejection() -> None:
    seen = 0
    for path in sorted((SHARED / "hookdeck").rglob("*.json")):
        if path.name == "index.json":
            continue
        results = parse(path.read_bytes(), path.name)
        assert_well_formed(results, path.name, "shopify")
        seen += 1
    for path in sorted((SHARED / "shopify-python-api").glob("*.json")):
        document = json.loads(path.read_text())
        if isinstance(document, list):  # transactions.json: a bare list
            root, value = path.stem, document
        else:
            [(root, value)] = document.items()
        records = value if isinstance(value, list) else [value]
        body = b"\n".join(json.dumps(r).encode() for r in records)
        results = parse(body, path.name, topic=_REST_TOPICS.get(root, f"{root}/update"))
        assert_well_formed(results, path.name, "shopify")
        seen += 1
    assert seen >= 55


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared Shopify samples not present")
def test_tracked_shared_captures_become_events() -> None:
    expected = {
        "orders.create.json": ["order.created"],
        "orders.paid.json": ["order.paid"],
        "orders.cancelled.json": ["order.cancelled"],
        "orders.fulfilled.json": ["order.fulfilled"],
        "orders.partially_fulfilled.json": ["order.partially_fulfilled"],
        "orders.updated.json": ["order.updated"],
        "orders.edited.json": ["order.updated"],
        "refunds.create.json": ["refund.created"],
        "order_transactions.create.json": ["payment.authorized"],
        "tender_transactions.create.json": ["payment.succeeded"],
        "disputes.create.json": ["dispute.opened"],
        "disputes.update.json": ["dispute.updated"],
        "fulfillments.create.json": ["fulfillment.created"],
        "fulfillments.update.json": ["fulfillment.updated"],
        "returns.request.json": ["return.requested"],
        "returns.close.json": ["return.closed"],
        "returns.decline.json": ["return.closed"],
        "returns.cancel.json": ["return.closed"],
        "subscription_billing_attempts.failure.json": ["subscription.payment_failed"],
        "subscription_billing_attempts.challenged.json": ["payment.pending"],
    }
    for name, types in expected.items():
        results = parse((SHARED / "hookdeck" / "2024-10" / name).read_bytes(), name)
        assert [r.type for r in results if isinstance(r, Event)] == types, name


# -- hostile bodies -------------------------------------------------------------------------------


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(
        [
            "orders.create.json",
            "disputes.create.json",
            "refunds.create.json",
            "order_transactions.create.json",
            "tender_transactions.create.json",
        ]
    ),
    key=st.integers(min_value=0, max_value=200),
    replacement=JSON_VALUES,
)
def test_mutated_captures_never_raise(name: str, key: int, replacement: Any) -> None:
    document = json.loads(capture(name))
    body = document["body"]
    keys = list(body)
    body[keys[key % len(keys)]] = replacement
    assert_no_mapping_error(parse(json.dumps(document).encode(), name))


@given(st.binary(max_size=400), st.sampled_from([None, "orders/create", "disputes/update"]))
def test_random_bytes_never_raise(body: bytes, topic: str | None) -> None:
    assert_results(shopify.events_from_payload(body, received_at=RECEIVED, label="x", topic=topic))
