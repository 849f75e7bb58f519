"""Adyen notification batches to canonical events: one event or located rejection per item."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recoup.adapters.connectors.base import ParseContext
from recoup.adapters.connectors.webhooks import adyen
from recoup.adapters.connectors.webhooks.signatures import verify_adyen
from recoup.domain.detection.detectors import Detectors, WindowState
from recoup.domain.ingestion.canonical import Rejection
from recoup.domain.ingestion.event import Event
from tests.integration.connectors.support import (
    FIXTURES_ROOT,
    JSON_VALUES,
    Result,
    assert_no_mapping_error,
    assert_results,
)

RECEIVED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FIXTURES = FIXTURES_ROOT / "adyen"
KEY = "9F3C1A7B5E2D4C6A8B0E1F2D3C4B5A6978695A4B3C2D1E0F1A2B3C4D5E6F7A8B"


def mapped(name_or_body: str | bytes) -> list[Result]:
    body = (FIXTURES / name_or_body).read_bytes() if isinstance(name_or_body, str) else name_or_body
    return adyen.events_from_payload(body, received_at=RECEIVED, label="POST /hooks/adyen")


def events(results: list[Result]) -> list[Event]:
    return [r for r in results if isinstance(r, Event)]


def item(**fields: Any) -> dict[str, Any]:
    base = {
        "amount": {"currency": "EUR", "value": 1000},
        "eventCode": "AUTHORISATION",
        "eventDate": "2026-03-02T10:00:00+01:00",
        "merchantAccountCode": "M",
        "merchantReference": "order-9",
        "pspReference": "PSP9",
        "success": "true",
        "paymentMethod": "visa",
    }
    base.update(fields)
    return base


def batch(*items: dict[str, Any]) -> bytes:
    wrapped = [{"NotificationRequestItem": i} for i in items]
    return json.dumps({"live": "false", "notificationItems": wrapped}).encode()


def test_an_authorisation_is_an_authorized_payment() -> None:
    [event] = events(mapped("authorisation.json"))
    assert event.type == "payment.authorized"
    assert (event.amount, event.currency) == (Decimal("25.99"), "EUR")
    assert (event.refs.payment, event.refs.order) == ("QFQTPCQ8HXSKGK82", "order-1001")
    assert event.external_id == "QFQTPCQ8HXSKGK82:AUTHORISATION:true"
    assert event.occurred_at == datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
    assert event.attributes["network"] == "visa"
    assert event.attributes["live"] is False


def test_refusals_are_trimmed_normalised_and_mapped_from_codes() -> None:
    first, second, third = events(mapped("authorisation-refused.json"))
    assert first.type == "payment.failed"
    assert first.reason_code == "adyen:not_enough_balance"  # from " Not enough  balance "
    assert first.reason_message == "Not enough balance"
    assert first.attributes["network"] == "mastercard"
    assert first.attributes["network_decline_code"] == "51"
    assert first.attributes["merchant_advice_code"] == "02"
    assert second.reason_code == "adyen:cvc_declined"  # refusalReasonCode 24 beats "Refused"
    assert (second.amount, second.currency) == (Decimal("1500"), "JPY")
    assert third.reason_code == "adyen:fraud_cancelled"
    findings = Detectors().run([first, second, third], WindowState(), RECEIVED).findings
    assert [f.type for f in findings] == ["payment_failed"] * 3
    # The Mastercard advice code "02" (try later) makes the first one a soft decline.
    assert findings[0].detail["decline_type"] == "soft"


def test_a_batch_of_modifications_maps_item_by_item() -> None:
    results = mapped("modifications.json")
    assert [r.type if isinstance(r, Event) else r.code for r in results] == [
        "payment.captured",
        "refund.succeeded",
        "refund.failed",
        "payment.capture_failed",
        "payment.canceled",
        "unsupported_type",
    ]
    _capture, refund, refund_failed, capture_failed, _, rejected = results
    assert isinstance(refund, Event)
    assert isinstance(refund_failed, Event)
    assert (refund.refs.payment, refund.refs.refund) == ("QFQTPCQ8HXSKGK82", "R3FND7RBFJGXXG02")
    assert refund.amount == Decimal("10.00")
    assert refund.direction == "debit"
    assert refund_failed.reason_code == "adyen:refund_declined_by_issuer"
    assert refund_failed.reason_message == "Refund declined by issuer"
    assert isinstance(capture_failed, Event)
    assert (capture_failed.amount, capture_failed.currency) == (Decimal("12.345"), "BHD")
    assert isinstance(rejected, Rejection)
    assert rejected.location.field == "notificationItems[5].eventCode"
    assert "success=false" in rejected.reason
    found = Detectors().run(events(results), WindowState(), RECEIVED).findings
    assert sorted(f.type for f in found) == ["capture_failed", "refund_failed"]


def test_chargebacks_carry_the_network_reason() -> None:
    results = events(mapped("disputes.json"))
    by_code = {e.attributes["adyen_event_code"]: e for e in results}
    noc = by_code["NOTIFICATION_OF_CHARGEBACK"]
    assert (noc.type, noc.reason_code) == ("dispute.opened", "visa:10.4")
    assert noc.reason_message == "Other Fraud - Card Absent Environment"
    assert noc.attributes["reason_category"] == "fraud"
    assert noc.attributes["evidence_due_by"] == "2026-04-30T06:00:00Z"
    assert (noc.refs.payment, noc.refs.dispute) == ("QFQTPCQ8HXSKGK82", "DSPT7RBFJGXXG101")
    chargeback = next(e for e in results if e.external_id == "DSPT7RBFJGXXG102:CHARGEBACK:true")
    assert (chargeback.type, chargeback.reason_code) == ("dispute.opened", "mc:4837")
    assert by_code["CHARGEBACK_REVERSED"].type == "dispute.won"
    rfi = by_code["REQUEST_FOR_INFORMATION"]
    assert (rfi.type, rfi.reason_code) == ("dispute.inquiry_opened", "amex:F29")
    second = by_code["SECOND_CHARGEBACK"]
    assert (second.type, second.reason_code) == ("dispute.updated", "mc:4837")  # code in reason
    paypal = next(e for e in results if e.external_id == "DSPT7RBFJGXXG106:CHARGEBACK:true")
    assert paypal.reason_code == "adyen:item_not_received"  # no card network
    findings = Detectors().run(results, WindowState(), RECEIVED).findings
    assert sorted(f.type for f in findings) == [
        "dispute_opened",
        "dispute_opened",
        "dispute_opened",
        "inquiry_opened",
    ]


def test_payouts_and_untracked_event_codes() -> None:
    paid, reversed_, report = mapped("payouts.json")
    assert isinstance(paid, Event)
    assert isinstance(reversed_, Event)
    assert (paid.type, paid.refs.payout, paid.amount) == (
        "payout.paid",
        "PYT07RBFJGXXG201",
        Decimal("1500.00"),
    )
    assert (reversed_.type, reversed_.refs.payout) == ("payout.failed", "PYT07RBFJGXXG201")
    assert reversed_.reason_code == "adyen:ac04_account_closed"
    assert isinstance(report, Rejection)
    assert report.code == "unsupported_type"


def test_every_sample_is_signed_and_maps() -> None:
    for path in sorted(FIXTURES.glob("*.json")):
        if path.name == "hmac-vectors.json":
            continue
        body = path.read_bytes()
        assert verify_adyen(body, KEY), path.name
        results = list(adyen.FORMAT.parse(body, ParseContext(path.name, RECEIVED)))
        items = json.loads(body)["notificationItems"]
        assert len(results) == len(items)  # one result per item, nothing lost
        for result in results:
            assert isinstance(result, Event | Rejection)
            if isinstance(result, Rejection):
                assert result.code == "unsupported_type"
        assert adyen.FORMAT.sniff(path.name, body[:4096])


def test_bad_items_are_located_and_do_not_cost_the_batch() -> None:
    body = batch(
        item(pspReference="OK1"),
        item(pspReference="", eventCode="CAPTURE"),
        item(pspReference="BAD2", success="maybe"),
        item(pspReference="BAD3", eventDate="yesterday"),
        item(pspReference="BAD4", amount={"value": "10.00", "currency": "EUR"}),
        item(pspReference="BAD5", amount={"value": 10, "currency": "XYZ"}),
        "not an item",  # type: ignore[arg-type]
    )
    results = mapped(body)
    assert isinstance(results[0], Event)
    fields = [r.location.field for r in results[1:] if isinstance(r, Rejection)]
    assert fields == [
        "notificationItems[1].pspReference",
        "notificationItems[2].success",
        "notificationItems[3].eventDate",
        "notificationItems[4].amount.value",
        "currency",
        "notificationItems[6]",
    ]


def test_a_redelivered_item_is_the_same_event_and_success_is_part_of_the_key() -> None:
    first = events(mapped(batch(item())))[0]
    again = events(mapped(batch(item())))[0]
    failed = events(mapped(batch(item(success="false", reason="Refused"))))[0]
    assert first.id == again.id
    assert failed.id != first.id


def test_json_lines_of_saved_batches() -> None:
    lines = b"\n".join(
        [batch(item(pspReference="A1")), b"", b"{oops", batch(item(pspReference="A2"))]
    )
    results = list(adyen.FORMAT.parse(lines, ParseContext("saved.jsonl", RECEIVED)))
    assert [getattr(r, "external_id", None) for r in results] == [
        "A1:AUTHORISATION:true",
        None,
        "A2:AUTHORISATION:true",
    ]
    assert isinstance(results[1], Rejection)
    assert results[1].location.line == 3


@pytest.mark.parametrize(
    "body", [b"", b"[]", b'{"live": "true"}', b'{"notificationItems": []}', b"\xff\xfe"]
)
def test_not_a_notification(body: bytes) -> None:
    [rejection] = mapped(body)
    assert isinstance(rejection, Rejection)
    assert rejection.location.file == "POST /hooks/adyen"


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(["disputes.json", "modifications.json", "authorisation-refused.json"]),
    key=st.sampled_from(
        [
            "amount",
            "eventCode",
            "success",
            "pspReference",
            "originalReference",
            "additionalData",
            "reason",
            "eventDate",
            "paymentMethod",
        ]
    ),
    replacement=JSON_VALUES,
)
def test_mutated_items_never_raise(name: str, key: str, replacement: Any) -> None:
    document = json.loads((FIXTURES / name).read_text())
    for wrapper in document["notificationItems"]:
        wrapper["NotificationRequestItem"][key] = replacement
    results = mapped(json.dumps(document).encode())
    assert len(results) == len(document["notificationItems"])
    assert_no_mapping_error(results)


@given(st.binary(max_size=400))
def test_random_bytes_never_raise(body: bytes) -> None:
    assert_results(mapped(body))
