"""Valid webhook payloads of every provider with random values: each gives exactly the event it
describes, with its amount exact in its currency, or one rejection naming the field.

Amounts cover zero, one, powers of ten and beyond 18 digits before the point (refused, never
rounded); currencies have exponent 0, 2 and 3; times run from the epoch to the far future; ids
are huge numbers and long strings; text fields carry any unicode.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from recoup.adapters.connectors.webhooks import adyen, generic, paypal, shopify, stripe
from recoup.domain.ingestion.canonical import Rejection
from recoup.domain.ingestion.event import Event
from recoup.domain.money import currency_exponent
from tests.fuzz import (
    CURRENCIES,
    DATES,
    EDGE_TEXT,
    HUGE_IDS,
    LABEL,
    RECEIVED_AT,
    Outcome,
    bounded,
    check_items,
    decimal_text,
    fits,
    fuzz_settings,
    minor_amounts,
    minor_to_decimal,
)

WHOLE_BODY = frozenset({"empty", "invalid_json", "truncated", "invalid_encoding"})
ID = HUGE_IDS.filter(lambda s: s.strip() == s and 0 < len(s) <= 255)
"""An id the sender could use: non-empty, trimmed, at most 255 characters."""
TEXT = EDGE_TEXT.filter(lambda s: "\x00" not in s and len(s) <= 255)
"""Free text within what every canonical field holds (longer text and NUL characters are
refused at their field: ``test_fuzz_webhooks.py`` puts them anywhere)."""


def _body(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _one(outcome: Outcome) -> Event | None:
    """The one event of a payload that maps to one event (None: it was refused)."""
    assert outcome.records == 1, outcome
    return outcome.events[0] if outcome.events else None


def _expect_amount(outcome: Outcome, minor: int, currency: str, field: str) -> None:
    """One event with the exact amount, or (too large) one rejection at ``field``."""
    event = _one(outcome)
    if fits(minor, currency):
        assert event is not None, outcome.rejections
        assert (event.amount, event.currency) == (minor_to_decimal(minor, currency), currency)
    else:
        assert event is None
        assert outcome.rejections[0].location.field == field, outcome.rejections[0]


def _unix(at: datetime) -> int:
    return int(at.timestamp())


# -- Stripe ---------------------------------------------------------------------------------------


STRIPE_TYPES = st.sampled_from(
    ["charge.failed", "charge.succeeded", "payment_intent.payment_failed",
     "payment_intent.succeeded"]
)  # fmt: skip


@fuzz_settings()
@given(ID, DATES, minor_amounts(), CURRENCIES, TEXT, STRIPE_TYPES)
@example("evt_1", datetime(2026, 1, 1, tzinfo=UTC), 10**21, "JPY", "", "charge.failed")
def test_a_stripe_event_gives_its_payment_with_the_exact_amount(
    event_id: str, at: datetime, minor: int, currency: str, message: str, event_type: str
) -> None:
    kind = "charge" if event_type.startswith("charge") else "payment_intent"
    error = {"code": "card_declined", "decline_code": "insufficient_funds", "message": message}
    obj: dict[str, Any] = {
        "id": "ch_1" if kind == "charge" else "pi_1", "object": kind, "amount": minor,
        "currency": currency.lower(), "customer": "cus_1", "metadata": {"order_id": message},
        "captured": True, "status": "failed" if "fail" in event_type else "succeeded",
    }  # fmt: skip
    if kind == "charge":
        obj |= {
            "payment_intent": "pi_1", "failure_code": "card_declined",
            "failure_message": message, "outcome": {"reason": "insufficient_funds"},
        }  # fmt: skip
    else:
        obj["last_payment_error"] = error
    body = _body({"id": event_id, "object": "event", "type": event_type, "created": _unix(at),
                  "livemode": False, "data": {"object": obj}})  # fmt: skip

    with bounded():
        results = stripe.events_from_payload(body, received_at=RECEIVED_AT, label=LABEL)
    outcome = check_items(results, whole_input_codes=WHOLE_BODY)

    _expect_amount(outcome, minor, currency, "amount")
    if outcome.events:
        assert outcome.events[0].external_id == event_id


ANY_SCALAR = st.one_of(
    st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20),
    st.none(), st.booleans(),
    st.sampled_from([-1, 0, 2**63, 10**30, 253402300799, 253402300800, 1.0, "12"]),
)  # fmt: skip


@fuzz_settings()
@given(ANY_SCALAR, ANY_SCALAR)
def test_stripe_amounts_and_times_of_the_wrong_kind_are_refused_at_their_field(
    amount: Any, created: Any
) -> None:
    charge = {"id": "ch_1", "object": "charge", "amount": amount, "currency": "eur",
              "failure_code": "card_declined"}  # fmt: skip
    body = _body({"id": "evt_1", "object": "event", "type": "charge.failed", "created": created,
                  "data": {"object": charge}})  # fmt: skip

    with bounded():
        results = stripe.events_from_payload(body, received_at=RECEIVED_AT, label=LABEL)
    outcome = check_items(results, whole_input_codes=WHOLE_BODY)

    assert outcome.records == 1
    good_amount = amount is None or (_is_int(amount) and 0 <= amount < 10**20)
    if _is_time(created) and good_amount:
        assert len(outcome.events) == 1, outcome.rejections
    else:
        (rejection,) = outcome.rejections
        assert rejection.location.field, rejection
        assert rejection.location.field.endswith(("created", "amount")), rejection


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_time(value: Any) -> bool:
    """Unix seconds that name an instant Python can hold (years 1 to 9999)."""
    if not _is_int(value):
        return False
    try:
        datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return False
    return True


# -- Adyen ----------------------------------------------------------------------------------------

ADYEN_ITEM = st.tuples(
    ID, st.sampled_from(["AUTHORISATION", "CAPTURE", "REFUND", "CHARGEBACK", "REFUND_FAILED",
                         "PAYOUT_THIRDPARTY", "CANCELLATION"]),
    st.sampled_from(["true", "false"]), minor_amounts(), CURRENCIES, DATES, TEXT,
)  # fmt: skip


@fuzz_settings()
@given(st.lists(ADYEN_ITEM, min_size=1, max_size=6))
def test_an_adyen_notification_gives_one_event_or_rejection_per_item(
    items: list[tuple[str, str, str, int, str, datetime, str]],
) -> None:
    body = _body({"live": "false", "notificationItems": [
        {"NotificationRequestItem": {
            "pspReference": psp, "originalReference": "ORIG", "eventCode": code,
            "success": success, "amount": {"value": minor, "currency": currency},
            "eventDate": at.isoformat(), "merchantAccountCode": "Shop", "reason": reason,
            "merchantReference": reason[:80], "paymentMethod": "visa",
        }} for psp, code, success, minor, currency, at, reason in items
    ]})  # fmt: skip

    with bounded():
        results = adyen.events_from_payload(body, received_at=RECEIVED_AT, label=LABEL)
    outcome = check_items(results, whole_input_codes=WHOLE_BODY)

    assert outcome.records == len(items)
    for index, (result, item) in enumerate(zip(results, items, strict=True)):
        minor, currency = item[3], item[4]
        if isinstance(result, Event):
            assert (result.amount, result.currency) == (minor_to_decimal(minor, currency), currency)
        else:  # an Adyen field is prefixed with its item; a canonical field is named alone
            # (``currency``), the item being the rejection's evidence
            assert result.location.field, result
            assert result.location.field.startswith(f"notificationItems[{index}]") or (
                "." not in result.location.field and item[0].strip() in result.raw
            ), result


# -- PayPal ---------------------------------------------------------------------------------------


PAYPAL_TYPES = st.sampled_from(
    ["PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.DENIED", "PAYMENT.CAPTURE.REFUNDED",
     "PAYMENT.CAPTURE.REVERSED", "PAYMENT.SALE.COMPLETED"]
)  # fmt: skip


@fuzz_settings()
@given(ID, DATES, minor_amounts(), CURRENCIES, TEXT, PAYPAL_TYPES, st.booleans())
@example(
    "WH-1", datetime(2026, 1, 1, tzinfo=UTC), 10**21, "BHD", "", "PAYMENT.CAPTURE.DENIED", False
)
def test_a_paypal_event_gives_its_payment_with_the_exact_amount(
    event_id: str, at: datetime, minor: int, currency: str, note: str, event_type: str,
    negative: bool,
) -> None:  # fmt: skip
    value = ("-" if negative and minor else "") + decimal_text(minor, currency_exponent(currency))
    resource = {
        "id": "CAP-1", "status": "DENIED", "custom_id": note, "invoice_id": note[:50],
        "amount": {"currency_code": currency, "value": value},
        "links": [{"rel": "up", "href": "https://paypal.test/v2/payments/captures/CAP-0"}],
    }  # fmt: skip
    if event_type == "PAYMENT.SALE.COMPLETED":
        resource["amount"] = {"currency": currency, "total": value}
    body = _body({"id": event_id, "event_type": event_type, "create_time": at.isoformat(),
                  "resource_type": "capture", "summary": note, "resource": resource})  # fmt: skip

    with bounded():
        results = paypal.events_from_payload(body, received_at=RECEIVED_AT, label=LABEL)
    outcome = check_items(results, whole_input_codes=WHOLE_BODY)

    _expect_amount(outcome, minor, currency, "amount")


# -- Shopify --------------------------------------------------------------------------------------


ORDER_TOPICS = st.sampled_from(["orders/create", "orders/paid", "orders/cancelled",
                                 "orders/updated"])  # fmt: skip


@fuzz_settings()
@given(st.integers(0, 10**30) | ID, DATES, minor_amounts(), CURRENCIES, TEXT, ORDER_TOPICS)
@example(820982911946154508, datetime(2026, 1, 1, tzinfo=UTC), 10**22, "KWD", "", "orders/create")
def test_a_shopify_order_gives_its_event_with_the_exact_amount(
    order_id: int | str, at: datetime, minor: int, currency: str, name: str, topic: str
) -> None:
    price = decimal_text(minor, currency_exponent(currency))
    body = _body({"id": order_id, "name": name, "created_at": at.isoformat(),
                  "updated_at": at.isoformat(), "cancelled_at": at.isoformat(),
                  "cancel_reason": name[:40], "total_price": price, "currency": currency,
                  "current_total_price": price, "financial_status": "paid",
                  "customer": {"id": 1}})  # fmt: skip
    headers = {"X-Shopify-Topic": topic, "X-Shopify-Webhook-Id": "w-1"}

    with bounded():
        results = shopify.events_from_payload(
            body, received_at=RECEIVED_AT, label=LABEL, headers=headers
        )
    outcome = check_items(results, whole_input_codes=WHOLE_BODY)

    _expect_amount(outcome, minor, currency, "amount")


# -- generic --------------------------------------------------------------------------------------


SENDERS = st.sampled_from(["erp", "erp:eu", "stripe", "erpx", "erp:"])


@fuzz_settings()
@given(st.lists(st.tuples(SENDERS, ID, minor_amounts(), CURRENCIES), min_size=1, max_size=8))
def test_a_generic_array_gives_one_event_or_rejection_per_element(
    records: list[tuple[str, str, int, str]],
) -> None:
    body = _body([
        {"source": source, "external_id": external_id, "type": "invoice.created",
         "occurred_at": "2026-10-01T12:00:00Z", "amount_minor": minor, "currency": currency}
        for source, external_id, minor, currency in records
    ])  # fmt: skip

    with bounded():
        results = generic.events_from_payload(body, received_at=RECEIVED_AT, label=LABEL,
                                              source="erp")  # fmt: skip
    outcome = check_items(results, whole_input_codes=WHOLE_BODY)

    assert outcome.records == len(records)
    for index, (result, (source, _, minor, currency)) in enumerate(
        zip(results, records, strict=True)
    ):
        refused = _generic_refusal(source, minor, currency)
        if refused is None:
            assert isinstance(result, Event), result
            assert result.amount == minor_to_decimal(minor, currency)
        else:
            assert isinstance(result, Rejection), result
            assert (result.location.field, result.code) == (f"[{index}].{refused[0]}", refused[1])


def _generic_refusal(source: str, minor: int, currency: str) -> tuple[str, str] | None:
    """(field, code) a generic element is refused with, in the order the checks run."""
    if source == "erp:":  # not a source name at all: the schema refuses it first
        return "source", "invalid_field"
    if not fits(minor, currency):
        return "amount", "invalid_value"
    if source not in ("erp", "erp:eu"):  # another sender's source
        return "source", "source_mismatch"
    return None
