"""Stripe webhook events to canonical events: the shared samples, the dispute lifecycle, refunds
that are partial, declines the detectors can classify, and bodies that never make it raise."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recoup.adapters.connectors.base import ParseContext
from recoup.adapters.connectors.webhooks import stripe
from recoup.domain.detection.detectors import Detectors, WindowState
from recoup.domain.ingestion.canonical import Rejection
from recoup.domain.ingestion.event import Event, event_id_for
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
FIXTURES = FIXTURES_ROOT / "stripe"
SHARED = SHARED_ROOT / "stripe"


def envelope(
    event_type: str, obj: dict[str, Any], *, event_id: str = "evt_test", created: int = 1700000000
) -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": created,
        "livemode": False,
        "data": {"object": obj},
    }


def mapped(document: dict[str, Any] | bytes, **kwargs: Any) -> list[Result]:
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    return stripe.events_from_payload(
        body, received_at=RECEIVED, label="POST /hooks/stripe", **kwargs
    )


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


# -- the dispute lifecycle (dj-stripe fixtures) ---------------------------------------------------


def test_a_dispute_links_to_its_charge_and_payment_intent() -> None:
    dj = FIXTURES / "dj-stripe"
    dispute = load(dj / "dispute_dp_fakefakefakefake02.json")
    charge = load(dj / "dispute_ch_fakefakefakefake01.json")
    intent = load(dj / "dispute_pi_fakefakefakefake01.json")
    created = envelope("charge.dispute.created", dispute, event_id="evt_dp_created")
    event = only_event(mapped(created))
    assert event.type == "dispute.opened"
    assert event.refs.dispute == dispute["id"]
    assert event.refs.charge == charge["id"] == "ch_1JHRCWJSZQVUcJYgOCavbxio"
    assert event.refs.payment == intent["id"] == charge["payment_intent"]
    assert (event.amount, event.currency, event.direction) == (Decimal("10.00"), "USD", "debit")
    assert event.reason_code == "stripe:fraudulent"  # no network reason code in this object
    assert event.status == "needs_response"
    assert event.attributes["evidence_due_by"] == "2021-07-17T23:59:59Z"
    assert event.external_id == "evt_dp_created"
    assert event.occurred_at == datetime.fromtimestamp(1700000000, UTC)
    # The PaymentIntent becomes an event about the same payment.
    payment = only_event(mapped(envelope("payment_intent.succeeded", intent, event_id="evt_pi")))
    assert payment.type == "payment.succeeded"
    assert payment.refs.payment == event.refs.payment
    assert payment.refs.customer == "cus_6lsBvm5rJ0zyHc"


def test_the_dispute_lifecycle_maps_each_step() -> None:
    dj = FIXTURES / "dj-stripe"
    steps = [
        ("charge.dispute.created", "dispute_dp_fakefakefakefake01.json", "dispute.opened"),
        (
            "charge.dispute.funds_withdrawn",
            "dispute_dp_fakefakefakefake01.json",
            "dispute.funds_withdrawn",
        ),
        ("charge.dispute.updated", "dispute_dp_funds_reinstated_full.json", "dispute.updated"),
        (
            "charge.dispute.funds_reinstated",
            "dispute_dp_funds_reinstated_full.json",
            "dispute.funds_reinstated",
        ),
    ]
    events = [
        only_event(mapped(envelope(etype, load(dj / name), event_id=f"evt_{i}")))
        for i, (etype, name, _) in enumerate(steps)
    ]
    assert [e.type for e in events] == [expected for *_, expected in steps]
    assert {e.refs.dispute for e in events} == {"dp_1JAyTwJSZQVUcJYgPqasUEn1"}
    assert {e.refs.payment for e in events} == {"pi_1JAyTwJSZQVUcJYgBbsz0NuH"}
    assert [e.direction for e in events] == ["debit", "debit", None, "credit"]
    assert events[3].status == "under_review"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("won", "dispute.won"),
        ("lost", "dispute.lost"),
        ("warning_closed", "dispute.closed"),
        ("charge_refunded", "dispute.closed"),
    ],
)
def test_a_closed_dispute_is_won_or_lost_by_status(status: str, expected: str) -> None:
    dispute = load(FIXTURES / "dj-stripe" / "dispute_dp_fakefakefakefake01.json")
    dispute["status"] = status
    assert only_event(mapped(envelope("charge.dispute.closed", dispute))).type == expected


def test_network_reason_code_becomes_the_reason_and_an_inquiry_is_an_inquiry() -> None:
    dispute = load(FIXTURES / "stripe-openapi" / "resources.json")["dispute"]
    event = only_event(mapped(envelope("charge.dispute.created", dispute)))
    assert event.type == "dispute.inquiry_opened"  # status warning_needs_response
    assert event.reason_code == "visa:10.4"
    assert event.reason_message == "Other Fraud - Card Absent Environment"
    assert event.attributes["reason_category"] == "fraud"
    assert event.attributes["stripe_reason"] == "general"
    assert event.refs.charge == "ch_1PgafuB7WZ01zgkWXYmPNZs8"


def test_a_mastercard_chargeback_is_namespaced_mc() -> None:
    dispute = load(FIXTURES / "stripe-openapi" / "resources.json")["dispute"]
    dispute["status"] = "needs_response"
    dispute["payment_method_details"]["card"] |= {
        "network": "mastercard",
        "network_reason_code": "4837",
        "case_type": "chargeback",
    }
    event = only_event(mapped(envelope("charge.dispute.created", dispute)))
    assert (event.type, event.reason_code) == ("dispute.opened", "mc:4837")
    assert event.reason_message == "No Cardholder Authorization"


def test_the_dispute_opened_detector_fires_on_a_mapped_dispute() -> None:
    dispute = load(FIXTURES / "dj-stripe" / "dispute_dp_fakefakefakefake02.json")
    event = only_event(mapped(envelope("charge.dispute.created", dispute)))
    detection = Detectors().run([event], WindowState(), RECEIVED)
    assert [f.type for f in detection.findings] == ["dispute_opened"]
    assert detection.findings[0].exposure_key == "payment:pi_1JAyTwJSZQVUcJYgBbsz0NuH"


def test_a_charge_with_decimal_string_amounts_is_refused_not_guessed() -> None:
    charge = load(FIXTURES / "dj-stripe" / "dispute_ch_fakefakefakefake01.json")
    [rejection] = mapped(envelope("charge.succeeded", charge))
    assert isinstance(rejection, Rejection)
    assert rejection.code == "invalid_field"
    assert rejection.location.field == "data.object.amount"
    assert "'10.00'" in rejection.reason


# -- refunds --------------------------------------------------------------------------------------


def test_a_partial_refund_is_not_taken_for_a_full_one() -> None:
    data = load(FIXTURES / "pay-rails" / "charge.refunded.json")
    results = mapped(envelope("charge.refunded", data["object"], event_id="evt_refunded"))
    refund = only_event(results)
    assert refund.type == "refund.succeeded"
    assert (refund.amount, refund.currency, refund.direction) == (Decimal("5.00"), "USD", "debit")
    assert refund.attributes["partial"] is True
    assert refund.attributes["charge_amount_minor"] == 1500
    assert refund.refs.refund == "re_3LQOJoKXBGcbgpbZ10i9Mg75"
    # The refund object's own charge and intent (the sample's charge id differs).
    assert refund.refs.charge == "ch_3LQOJoKXBGcbgpbZ1ZhroS8X"
    assert refund.refs.payment == "pi_3LQOJoKXBGcbgpbZ1Jej1QhS"
    assert refund.refs.customer == "cus_0dUMWLtzCTagWs"
    assert refund.external_id == "re_3LQOJoKXBGcbgpbZ10i9Mg75:succeeded"


def test_each_refund_keeps_its_own_amount_and_a_repeat_listing_is_the_same_event() -> None:
    charge: dict[str, Any] = {
        "id": "ch_1",
        "object": "charge",
        "amount": 10000,
        "amount_refunded": 3000,
        "currency": "eur",
        "payment_intent": "pi_1",
        "customer": "cus_1",
        "refunds": {
            "object": "list",
            "data": [
                {"id": "re_1", "amount": 1000, "currency": "eur", "status": "succeeded"},
            ],
        },
    }
    first = mapped(envelope("charge.refunded", charge, event_id="evt_a"))
    charge["refunds"]["data"].insert(
        0, {"id": "re_2", "amount": 2000, "currency": "eur", "status": "succeeded"}
    )
    second = mapped(envelope("charge.refunded", charge, event_id="evt_b"))
    assert all(isinstance(r, Event) for r in first + second)
    amounts = {r.refs.refund: r.amount for r in second if isinstance(r, Event)}
    assert amounts == {"re_1": Decimal("10.00"), "re_2": Decimal("20.00")}
    ids_first = {r.id for r in first if isinstance(r, Event)}
    ids_second = {r.id for r in second if isinstance(r, Event)}
    assert ids_first < ids_second  # re_1 seen twice is one event id
    assert ids_first == {event_id_for("stripe", "re_1:succeeded")}


def test_charge_refunded_without_refund_objects_uses_the_running_total_and_says_so() -> None:
    charge = {"id": "ch_9", "amount": 5000, "amount_refunded": 5000, "currency": "gbp"}
    event = only_event(mapped(envelope("charge.refunded", charge)))
    assert (event.type, event.amount, event.currency) == (
        "refund.succeeded",
        Decimal("50.00"),
        "GBP",
    )
    assert event.attributes["cumulative"] is True
    assert event.attributes["partial"] is False


@pytest.mark.parametrize("event_type", ["charge.refund.updated", "refund.updated", "refund.failed"])
def test_a_failed_refund_carries_its_failure_reason(event_type: str) -> None:
    refund = {
        "id": "re_5",
        "object": "refund",
        "amount": 700,
        "currency": "usd",
        "charge": "ch_5",
        "payment_intent": "pi_5",
        "status": "failed",
        "failure_reason": "expired_or_canceled_card",
    }
    event = only_event(mapped(envelope(event_type, refund)))
    assert event.type == "refund.failed"
    assert event.reason_code == "stripe:expired_or_canceled_card"
    assert (event.refs.refund, event.refs.charge, event.refs.payment) == ("re_5", "ch_5", "pi_5")
    detection = Detectors().run([event], WindowState(), RECEIVED)
    assert [f.type for f in detection.findings] == ["refund_failed"]


# -- payments, invoices, payouts ------------------------------------------------------------------


def test_a_failed_charge_maps_decline_code_network_and_advice() -> None:
    charge = {
        "id": "ch_2",
        "object": "charge",
        "amount": 3990,
        "currency": "eur",
        "captured": False,
        "status": "failed",
        "failure_code": "card_declined",
        "failure_message": "Your card has insufficient funds.",
        "payment_intent": "pi_2",
        "customer": "cus_2",
        "metadata": {"order_id": 820982911946154508},
        "outcome": {
            "network_status": "declined_by_network",
            "reason": "insufficient_funds",
            "type": "issuer_declined",
            "advice_code": "try_again_later",
            "network_advice_code": "02",
            "network_decline_code": "51",
        },
        "payment_method_details": {
            "card": {"brand": "mastercard", "network": "mastercard"},
            "type": "card",
        },
    }
    event = only_event(mapped(envelope("charge.failed", charge)))
    assert event.type == "payment.failed"
    assert event.reason_code == "stripe:insufficient_funds"
    assert event.reason_message == "Your card has insufficient funds."
    assert event.attributes["network"] == "mastercard"
    assert event.attributes["network_status"] == "declined_by_network"
    assert event.attributes["advice_code"] == "try_again_later"
    assert event.attributes["merchant_advice_code"] == "02"
    assert event.attributes["network_decline_code"] == "51"
    assert event.refs.order == "820982911946154508"
    finding = Detectors().run([event], WindowState(), RECEIVED).findings[0]
    assert finding.type == "payment_failed"
    assert finding.detail["decline_type"] == "soft"


def test_a_failure_message_over_the_canonical_limit_is_shortened_not_refused() -> None:
    message = "Declined by the issuer. " * 200  # 4,800 characters of provider text
    charge = {"id": "ch_long", "object": "charge", "amount": 500, "currency": "eur",
              "status": "failed", "failure_code": "card_declined", "failure_message": message,
              "payment_intent": "pi_long"}  # fmt: skip

    event = only_event(mapped(envelope("charge.failed", charge)))

    assert event.type == "payment.failed"
    assert event.reason_message is not None
    assert len(event.reason_message) == 1000
    assert event.reason_message == message[:999] + "\u2026"
    assert event.raw is not None
    assert message.strip() in event.raw  # the evidence keeps the whole text


def test_payment_intent_failure_uses_decline_code_else_error_code() -> None:
    intent: dict[str, Any] = {
        "id": "pi_3",
        "amount": 1000,
        "currency": "jpy",
        "status": "requires_payment_method",
        "latest_charge": "ch_old",
        "last_payment_error": {
            "code": "card_declined",
            "decline_code": "stolen_card",
            "charge": "ch_3",
            "message": "Declined",
            "payment_method": {"card": {"brand": "visa"}},
        },
    }
    event = only_event(mapped(envelope("payment_intent.payment_failed", intent)))
    assert (event.reason_code, event.amount, event.currency) == (
        "stripe:stolen_card",
        Decimal("1000"),
        "JPY",
    )
    assert (event.refs.payment, event.refs.charge) == ("pi_3", "ch_3")
    assert event.attributes["network"] == "visa"
    del intent["last_payment_error"]["decline_code"]
    assert only_event(mapped(envelope("payment_intent.payment_failed", intent))).reason_code == (
        "stripe:card_declined"
    )


@pytest.mark.parametrize(
    ("event_type", "extra", "expected"),
    [
        ("payment_intent.canceled", {"cancellation_reason": "abandoned"}, "payment.canceled"),
        (
            "payment_intent.amount_capturable_updated",
            {"amount_capturable": 500},
            "payment.authorized",
        ),
        ("payment_intent.processing", {}, "payment.pending"),
        ("payment_intent.succeeded", {"amount_received": 900}, "payment.succeeded"),
    ],
)
def test_payment_intent_events(event_type: str, extra: dict[str, Any], expected: str) -> None:
    intent = {"id": "pi_4", "amount": 900, "currency": "eur", "customer": "cus_4", **extra}
    assert only_event(mapped(envelope(event_type, intent))).type == expected


def test_uncaptured_charge_succeeded_is_an_authorisation() -> None:
    charge = {
        "id": "ch_7",
        "amount": 100,
        "currency": "usd",
        "captured": False,
        "status": "succeeded",
    }
    assert only_event(mapped(envelope("charge.succeeded", charge))).type == "payment.authorized"
    charge["captured"] = True
    charge["amount_captured"] = 100
    event = only_event(mapped(envelope("charge.succeeded", charge)))
    assert (event.type, event.direction) == ("payment.succeeded", "credit")


def test_invoice_payment_failed_from_the_pay_rails_sample() -> None:
    data = load(FIXTURES / "pay-rails" / "invoice.payment_failed.json")
    results = stripe.events_from_payload(
        json.dumps(data).encode(),
        received_at=RECEIVED,
        label="saved.json",
        event_type="invoice.payment_failed",
    )
    event = only_event(results)
    assert event.type == "invoice.payment_failed"
    assert event.refs.invoice == data["object"]["id"]
    assert event.refs.customer == data["object"]["customer"]
    finding = Detectors().run([event], WindowState(), RECEIVED).findings[0]
    assert finding.type == "payment_failed"


@pytest.mark.parametrize(
    ("event_type", "expected"),
    [
        ("invoice.finalized", "invoice.finalized"),
        ("invoice.marked_uncollectible", "invoice.marked_uncollectible"),
        ("invoice.paid", "invoice.paid"),
        ("invoice.voided", "invoice.voided"),
    ],
)
def test_invoice_events(event_type: str, expected: str) -> None:
    invoice = {
        "id": "in_1",
        "amount_due": 2500,
        "amount_paid": 0,
        "amount_remaining": 2500,
        "currency": "eur",
        "customer": "cus_1",
        "subscription": "sub_1",
    }
    event = only_event(mapped(envelope(event_type, invoice)))
    assert (event.type, event.refs.subscription) == (expected, "sub_1")


def test_a_hookdeck_capture_is_read_through_its_wrapper() -> None:
    body = (FIXTURES / "hookdeck" / "invoice.paid.json").read_bytes()
    context = ParseContext(label="invoice.paid.json", received_at=RECEIVED)
    [event] = list(stripe.FORMAT.parse(body, context))
    assert isinstance(event, Event)
    assert (event.type, event.external_id) == ("invoice.paid", "evt_1MhUT7E0b6fckueShdwYrsWN")
    assert event.occurred_at == datetime.fromtimestamp(1677833999, UTC)
    assert event.refs.subscription == "sub_1MhUT5E0b6fckueSYAo1LoiF"
    assert stripe.FORMAT.sniff("invoice.paid.json", body[:4096])


@pytest.mark.parametrize(
    ("event_type", "payout_extra", "reason"),
    [
        ("payout.paid", {}, None),
        ("payout.canceled", {}, None),
        ("payout.failed", {"failure_code": "account_closed"}, "stripe:account_closed"),
    ],
)
def test_payouts(event_type: str, payout_extra: dict[str, Any], reason: str | None) -> None:
    payout = {
        "id": "po_1",
        "amount": 150000,
        "currency": "eur",
        "status": "paid",
        "arrival_date": 1700000000,
        **payout_extra,
    }
    event = only_event(mapped(envelope(event_type, payout)))
    assert (event.type, event.reason_code, event.refs.payout) == (event_type, reason, "po_1")
    assert event.amount == Decimal("1500.00")


def test_early_fraud_warning() -> None:
    warning = load(FIXTURES / "stripe-openapi" / "resources.json")["radar.early_fraud_warning"]
    event = only_event(mapped(envelope("radar.early_fraud_warning.created", warning)))
    assert event.type == "dispute.early_fraud_warning"
    assert event.reason_code == f"stripe:{warning['fraud_type']}"
    assert event.refs.charge == warning["charge"]


# -- what is not tracked, what is broken, what is repeated ----------------------------------------


def test_an_untracked_event_type_is_kept_as_a_replayable_rejection() -> None:
    [rejection] = mapped(envelope("customer.created", {"id": "cus_1"}))
    assert isinstance(rejection, Rejection)
    assert rejection.code == "unsupported_type"
    assert rejection.location.field == "type"
    assert '"customer.created"' in rejection.raw


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "empty"),
        (b"{", "truncated"),
        (b"[1, 2]", "invalid_payload"),
        (b'{"id": "evt_1", "type": "charge.failed"}', "invalid_payload"),
        (b'{"id": "evt_1", "data": {"object": {}}, "created": 1}', "invalid_field"),
        (b'{"type": "charge.failed", "data": {"object": {}}, "created": 1}', "invalid_field"),
        (
            b'{"id": "e", "type": "charge.failed", "data": {"object": {}}, "created": "x"}',
            "invalid_field",
        ),
    ],
)
def test_broken_bodies_are_located_rejections(body: bytes, code: str) -> None:
    [rejection] = mapped(body)
    assert isinstance(rejection, Rejection)
    assert rejection.code == code
    assert rejection.location.file == "POST /hooks/stripe"


def test_a_redelivery_has_the_same_event_id() -> None:
    dispute = load(FIXTURES / "dj-stripe" / "dispute_dp_fakefakefakefake01.json")
    body = json.dumps(envelope("charge.dispute.created", dispute, event_id="evt_x")).encode()
    assert only_event(mapped(body)).id == only_event(mapped(body)).id


def test_json_lines_of_events_keep_their_line_numbers() -> None:
    lines = [
        json.dumps(
            envelope(
                "payout.paid", {"id": "po_1", "amount": 1, "currency": "eur"}, event_id="evt_1"
            )
        ),
        "",
        "{not json",
        json.dumps(envelope("customer.updated", {"id": "cus_1"}, event_id="evt_3")),
    ]
    context = ParseContext(label="events.jsonl", received_at=RECEIVED, source="stripe:acct_1")
    results = list(stripe.FORMAT.parse("\n".join(lines).encode(), context))
    assert isinstance(results[0], Event)
    assert results[0].source == "stripe:acct_1"
    assert [(r.location.line, r.code) for r in results[1:] if isinstance(r, Rejection)] == [
        (3, "invalid_json"),
        (4, "unsupported_type"),
    ]


# -- every shared sample --------------------------------------------------------------------------

_OBJECT_EVENT = {
    "charge": "charge.succeeded",
    "dispute": "charge.dispute.created",
    "payment_intent": "payment_intent.succeeded",
    "invoice": "invoice.paid",
    "payout": "payout.paid",
    "refund": "refund.updated",
    "radar.early_fraud_warning": "radar.early_fraud_warning.created",
}


def _shared(folder: str, pattern: str = "*.json") -> list[Path]:
    path = SHARED / folder
    return sorted(path.rglob(pattern)) if path.is_dir() else []


def _as_event(obj: dict[str, Any], name: str) -> dict[str, Any]:
    if obj.get("object") == "event":
        return obj
    kind = str(obj.get("object", "unknown"))
    created = obj["created"] if isinstance(obj.get("created"), int) else 1600000000
    return envelope(
        _OBJECT_EVENT.get(kind, f"{kind}.updated"), obj, event_id=f"evt_{name}", created=created
    )


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared Stripe samples not present")
def test_every_shared_stripe_sample_maps_or_is_a_located_rejection() -> None:
    seen = 0
    for path in _shared("hookdeck"):
        if path.name == "index.json":
            continue
        parsed = list(stripe.FORMAT.parse(path.read_bytes(), ParseContext(path.name, RECEIVED)))
        assert_well_formed(parsed, path.name, "stripe")
        seen += 1
    for path in _shared("pay-rails-events"):
        results = stripe.events_from_payload(
            path.read_bytes(), received_at=RECEIVED, label=path.name, event_type=path.stem
        )
        assert_well_formed(results, path.name, "stripe")
        seen += 1
    for path in _shared("dj-stripe-fixtures"):
        body = json.dumps(_as_event(load(path), path.stem)).encode()
        results = stripe.events_from_payload(body, received_at=RECEIVED, label=path.name)
        assert_well_formed(results, path.name, "stripe")
        seen += 1
    openapi = SHARED / "stripe-openapi" / "fixtures3.json"
    if openapi.is_file():
        for name, obj in load(openapi)["resources"].items():
            body = json.dumps(_as_event(obj, name.replace(".", "_"))).encode()
            results = stripe.events_from_payload(body, received_at=RECEIVED, label=name)
            assert_well_formed(results, name, "stripe")
            seen += 1
    assert seen > 250


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared Stripe samples not present")
def test_tracked_shared_samples_become_events() -> None:
    tracked = {
        "pay-rails-events/charge.refunded.json": "refund.succeeded",
        "pay-rails-events/charge.succeeded.json": "payment.succeeded",
        "pay-rails-events/invoice.payment_failed.json": "invoice.payment_failed",
        "hookdeck/2022-11-15/invoice.paid.json": "invoice.paid",
        "hookdeck/2022-11-15/invoice.finalized.json": "invoice.finalized",
        "hookdeck/2022-11-15/invoice.created.json": "invoice.created",
    }
    for name, expected in tracked.items():
        path = SHARED / name
        event_type = path.stem if "pay-rails" in name else None
        results = stripe.events_from_payload(
            path.read_bytes(), received_at=RECEIVED, label=name, event_type=event_type
        )
        assert [r.type for r in results if isinstance(r, Event)] == [expected], name


# -- hostile bodies -------------------------------------------------------------------------------

_SAMPLES = [
    (FIXTURES / "pay-rails" / "charge.refunded.json", "charge.refunded"),
    (FIXTURES / "dj-stripe" / "dispute_dp_funds_reinstated_full.json", "charge.dispute.closed"),
    (FIXTURES / "hookdeck" / "invoice.paid.json", None),
]


def _mutate(value: Any, path: list[int], replacement: Any) -> Any:
    """Replace the node that ``path`` picks (by index into the keys or items) with
    ``replacement``."""
    if not path:
        return replacement
    if isinstance(value, dict) and value:
        keys = list(value)
        key = keys[path[0] % len(keys)]
        return {**value, key: _mutate(value[key], path[1:], replacement)}
    if isinstance(value, list) and value:
        index = path[0] % len(value)
        return [*value[:index], _mutate(value[index], path[1:], replacement), *value[index + 1 :]]
    return replacement


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    sample=st.sampled_from(_SAMPLES),
    path=st.lists(st.integers(min_value=0, max_value=200), max_size=6),
    replacement=JSON_VALUES,
)
def test_mutated_samples_never_raise(
    sample: tuple[Path, str | None], path: list[int], replacement: Any
) -> None:
    source, event_type = sample
    document = json.loads(source.read_text())
    if event_type is not None and "object" not in document:
        document = envelope(event_type, document)
    elif event_type is not None:
        document = envelope(event_type, document["object"])
    body = json.dumps(_mutate(document, path, replacement)).encode()
    assert_no_mapping_error(mapped(body))


@given(st.binary(max_size=500))
def test_random_bytes_never_raise(body: bytes) -> None:
    assert_results(mapped(body))
