"""Generic webhooks: canonical events posted by any sender, checked like `recoup ingest` lines,
and the plumbing every provider mapper shares."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recoup.adapters.connectors.base import FileFormat, ParseContext
from recoup.adapters.connectors.webhooks import adyen, generic, paypal, shopify, stripe
from recoup.adapters.connectors.webhooks._common import (
    id_text,
    network_name,
    parse_time,
    read_payloads,
    snake,
)
from recoup.adapters.connectors.webhooks.generic import events_from_payload
from recoup.adapters.connectors.webhooks.signatures import sign_generic, verify_generic
from recoup.domain.ingestion.canonical import Rejection
from recoup.domain.ingestion.event import Event, event_id_for
from tests.integration.connectors.support import assert_results

RECEIVED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def record(**fields: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "source": "erp",
        "external_id": "inv-7-failed",
        "type": "invoice.payment_failed",
        "occurred_at": "2026-03-01T10:00:00+01:00",
        "amount": "39.90",
        "currency": "EUR",
        "reason_code": "iso:AM04",
        "refs": {"invoice": "INV-7", "customer": "C-42"},
    }
    rec.update(fields)
    return rec


def post(body: Any, source: str | None = "erp") -> list[Event | Rejection]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return events_from_payload(data, received_at=RECEIVED, label="POST /hooks/erp", source=source)


def test_one_canonical_event() -> None:
    [event] = post(record())
    assert isinstance(event, Event)
    assert (event.type, event.amount, event.currency) == (
        "invoice.payment_failed",
        Decimal("39.90"),
        "EUR",
    )
    assert event.id == event_id_for("erp", "inv-7-failed")
    assert event.received_at == RECEIVED


def test_an_array_of_events_with_a_bad_one_located_by_index() -> None:
    results = post(
        [
            record(),
            record(external_id="x2", currency="XYZ"),
            record(external_id="x3", refs={"customer": 42}),
        ]
    )
    assert isinstance(results[0], Event)
    assert [(r.code, r.location.field) for r in results[1:] if isinstance(r, Rejection)] == [
        ("invalid_value", "[1].currency"),
        ("invalid_field", "[2].refs.customer"),
    ]


def test_json_numbers_in_the_body_stay_exact() -> None:
    body = b"[" + json.dumps(record()).encode()[:-1] + b', "attributes": {"n": 1}}]'
    body = body.replace(b'"39.90"', b"39.90")
    [event] = post(body)
    assert isinstance(event, Event)
    assert event.amount == Decimal("39.90")


def test_a_sender_cannot_write_another_sources_events() -> None:
    [refused] = post(record(source="stripe"))
    assert isinstance(refused, Rejection)
    assert (refused.code, refused.location.field) == ("source_mismatch", "source")
    [ok] = post(record(source="erp:eu"))
    assert isinstance(ok, Event)
    [trusted] = post(record(source="stripe"), source=None)
    assert isinstance(trusted, Event)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "empty"),
        (b"[]", "empty"),
        (b"{", "truncated"),
        (b"[1", "truncated"),
        (b"\xff", "invalid_json"),
        (b'{"source": "\xff"}', "invalid_encoding"),
        (b"42", "invalid_field"),
    ],
)
def test_broken_bodies(body: bytes, code: str) -> None:
    [rejection] = post(body)
    assert isinstance(rejection, Rejection)
    assert rejection.code == code, rejection


def test_a_signed_delivery_end_to_end() -> None:
    body = json.dumps([record()]).encode()
    headers = {"X-Recoup-Signature": sign_generic(body, "s3cret", timestamp=RECEIVED)}
    assert verify_generic(body, headers, "s3cret", now=RECEIVED)
    assert all(isinstance(r, Event) for r in post(body))


def test_the_file_format_reads_arrays_and_lines() -> None:
    fmt = generic.FORMATS[0]
    array = json.dumps([record(), record(external_id="b")]).encode()
    assert fmt.sniff("events.json", array)
    context = ParseContext("events.json", RECEIVED)
    assert [type(r) for r in fmt.parse(array, context)] == [Event, Event]
    lines = b"\n".join(
        [
            json.dumps(record()).encode(),
            b"",
            b"{bad",
            json.dumps([record(external_id="c")]).encode(),
        ]
    )
    results = list(fmt.parse(lines, ParseContext("events.jsonl", RECEIVED)))
    assert isinstance(results[0], Event)
    assert isinstance(results[2], Event)
    assert isinstance(results[1], Rejection)
    assert results[1].location.line == 3


# -- the shared plumbing --------------------------------------------------------------------------


def test_format_names_are_the_documented_ones() -> None:
    names = [m.FORMATS[0].name for m in (stripe, shopify, adyen, paypal, generic)]
    assert names == [
        "stripe-events",
        "shopify-webhooks",
        "adyen-notifications",
        "paypal-webhooks",
        "generic-webhooks",
    ]
    formats: list[FileFormat] = [m.FORMATS[0] for m in (stripe, shopify, adyen, paypal, generic)]
    for fmt in formats:
        assert fmt.description
        assert fmt.sniff("x", b"\x00\xff") in (True, False)


def test_read_payloads_one_document_or_lines() -> None:
    [single] = read_payloads(b'{\n  "a": 1\n}\n', "f")
    assert not isinstance(single, Rejection)
    assert single.line is None
    assert single.data == {"a": 1}
    lines = read_payloads(b'{"a": 1}\n\n{"a": 2}\r\n', "f")
    assert [getattr(p, "line", None) for p in lines] == [1, 3]
    [broken] = read_payloads(b'{\n  "a": \n', "f")
    assert isinstance(broken, Rejection)
    assert broken.code == "truncated"
    [bom] = read_payloads(b'\xef\xbb\xbf{"a": 1}', "f")
    assert not isinstance(bom, Rejection)


def test_ids_stay_exact_and_float_ids_are_refused() -> None:
    assert id_text(820982911946154508) == "820982911946154508"
    assert id_text(" abc ") == "abc"
    assert id_text(8.209829119461545e17) is None
    assert id_text(12.0) == "12"
    assert id_text(True) is None


def test_times() -> None:
    assert parse_time("2024-08-07T22:49:09.417931715Z") == datetime(
        2024, 8, 7, 22, 49, 9, 417931, tzinfo=UTC
    )
    assert parse_time("2021-12-31T19:00:00-05:00") == datetime(2022, 1, 1, tzinfo=UTC)
    assert parse_time(1677833999) == datetime.fromtimestamp(1677833999, UTC)
    assert parse_time("2021-12-31T19:00:00") is None  # no zone
    assert parse_time("soon") is None
    assert parse_time(10**20) is None


def test_network_names_follow_stripes_spelling() -> None:
    assert network_name("MasterCard") == "mastercard"  # legacy Stripe card brand
    assert network_name("American Express") == "amex"
    assert network_name("Visa") == "visa"
    assert network_name("UnionPay") == "unionpay"
    assert network_name(None) is None


def test_snake() -> None:
    assert snake(" Not enough  balance ") == "not_enough_balance"
    assert snake("FRAUD-CANCELLED") == "fraud_cancelled"


@given(st.binary(max_size=300))
def test_random_bodies_never_raise(body: bytes) -> None:
    assert_results(post(body))
    list(generic.FORMATS[0].parse(body, ParseContext("f", RECEIVED)))


@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(list(record())),
            st.one_of(st.none(), st.integers(), st.text(max_size=10)),
        ),
        max_size=4,
    )
)
def test_random_records_never_raise(records: list[dict[str, Any]]) -> None:
    results = post([record() | r for r in records])
    assert len(results) == max(len(records), 1)
