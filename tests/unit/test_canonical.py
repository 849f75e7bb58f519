"""parse_record: one JSON line becomes an Event, or a located Rejection, and never an error."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from recoup.domain.errors import Location
from recoup.domain.ingestion.canonical import Rejection, parse_record
from recoup.domain.ingestion.cards import mask_card_numbers
from recoup.domain.ingestion.event import Event, Refs, event_id_for
from recoup.domain.ingestion.types import EVENT_TYPES

RECEIVED = datetime(2026, 10, 2, 9, 0, tzinfo=UTC)
FILE = "feed.jsonl"
LINE = 7


def record(**fields: Any) -> dict[str, Any]:
    """A valid canonical record, with ``fields`` set (a value of ``...`` removes the field)."""
    rec: dict[str, Any] = {
        "source": "stripe",
        "external_id": "evt_1",
        "type": "payment.failed",
        "occurred_at": "2026-10-01T14:00:00+02:00",
    }
    for name, value in fields.items():
        if value is ...:
            rec.pop(name, None)
        else:
            rec[name] = value
    return rec


def parse(data: bytes | str | dict[str, Any]) -> Event | Rejection:
    if isinstance(data, dict):
        data = json.dumps(data)
    return parse_record(data, received_at=RECEIVED, file=FILE, line=LINE)


def accepted(data: bytes | str | dict[str, Any]) -> Event:
    result = parse(data)
    assert isinstance(result, Event), f"expected an event, got {result}"
    return result


def rejected(data: bytes | str | dict[str, Any]) -> Rejection:
    result = parse(data)
    assert isinstance(result, Rejection), f"expected a rejection, got {result!r}"
    return result


# --- the happy path ---------------------------------------------------------------------------


def test_a_valid_record_becomes_an_event_with_its_derived_id() -> None:
    event = accepted(record(amount="12.50", currency="EUR", refs={"payment": "pi_1"}))

    assert event.id == event_id_for("stripe", "evt_1")
    assert event.event_id == event.id
    assert (event.source, event.external_id, event.type) == ("stripe", "evt_1", "payment.failed")
    assert (event.amount, event.currency) == (Decimal("12.50"), "EUR")
    assert event.refs == Refs(payment="pi_1")


def test_the_id_is_stable_across_redeliveries_and_depends_on_source_and_external_id() -> None:
    first = accepted(record(occurred_at="2026-10-01T12:00:00Z"))
    again = accepted(record(occurred_at="2026-10-05T12:00:00Z", status="changed"))
    other_source = accepted(record(source="shopify"))
    other_external_id = accepted(record(external_id="evt_2"))

    assert first.id == again.id == event_id_for("stripe", "evt_1")
    assert other_source.id == event_id_for("shopify", "evt_1") != first.id
    assert other_external_id.id == event_id_for("stripe", "evt_2") != first.id


def test_an_id_that_matches_the_derived_one_is_accepted() -> None:
    event = accepted(record(id=event_id_for("stripe", "evt_1")))

    assert event.id == event_id_for("stripe", "evt_1")


def test_occurred_at_is_converted_to_utc() -> None:
    event = accepted(record(occurred_at="2026-10-01T14:00:00+02:00"))

    assert event.occurred_at == datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
    assert event.occurred_at.tzinfo is UTC


def test_received_at_is_filled_from_the_argument_in_utc() -> None:
    new_york = timezone(timedelta(hours=-5))

    event = parse_record(
        json.dumps(record()), received_at=datetime(2026, 10, 2, 4, 0, tzinfo=new_york)
    )

    assert isinstance(event, Event)
    assert event.received_at == datetime(2026, 10, 2, 9, 0, tzinfo=UTC)
    assert event.received_at.tzinfo is UTC


def test_received_at_given_in_the_record_wins_and_is_converted_to_utc() -> None:
    event = accepted(record(received_at="2026-10-01T20:00:00+05:00"))

    assert event.received_at == datetime(2026, 10, 1, 15, 0, tzinfo=UTC)
    assert event.received_at.tzinfo is UTC


def test_raw_is_the_line_as_received_when_the_record_has_none() -> None:
    line = json.dumps(record(amount="1.00", currency="EUR"))

    event = accepted(line)

    assert event.raw == line


def test_raw_bytes_are_kept_as_text() -> None:
    line = json.dumps(record()).encode()

    event = accepted(line)

    assert event.raw == line.decode()


def test_raw_given_in_the_record_is_kept_as_json_text() -> None:
    payload = {"object": "charge", "id": "ch_1", "amount": 1250}

    event = accepted(record(raw=payload))

    assert json.loads(event.raw) == payload


def test_card_numbers_are_masked_in_the_evidence_attributes_and_message() -> None:
    event = accepted(
        record(
            raw={"card": "4242 4242 4242 4242", "order": "1234567890123456"},
            attributes={"pan": "4000056655665556"},
            reason_message="card 5555555555554444 declined",
        )
    )

    assert json.loads(event.raw) == {"card": "424242******4242", "order": "1234567890123456"}
    assert event.attributes == {"pan": "400005******5556"}
    assert event.reason_message == "card 555555******4444 declined"


def test_a_line_without_raw_keeps_the_line_with_card_numbers_masked() -> None:
    line = json.dumps({**record(), "attributes": {"note": "paid with 4242424242424242"}})

    event = accepted(line)

    assert "4242424242424242" not in event.raw
    assert "424242******4242" in event.raw


@pytest.mark.parametrize(
    ("minor", "currency", "amount"),
    [
        (1250, "EUR", Decimal("12.50")),
        (500, "JPY", Decimal("500")),
        (1234, "BHD", Decimal("1.234")),
    ],
)
def test_amount_minor_is_converted_with_the_currency_exponent(
    minor: int, currency: str, amount: Decimal
) -> None:
    event = accepted(record(amount_minor=minor, currency=currency))

    assert event.amount == amount
    assert event.amount is not None
    assert event.amount.as_tuple().exponent == amount.as_tuple().exponent
    assert event.amount_minor is None


def test_a_json_number_amount_is_read_exactly() -> None:
    line = (
        '{"source": "stripe", "external_id": "e", "type": "payment.failed", '
        '"occurred_at": "2026-10-01T12:00:00Z", "amount": 0.1, "currency": "EUR"}'
    )

    event = accepted(line)

    assert event.amount == Decimal("0.1")


def test_trailing_zeros_beyond_the_exponent_are_accepted() -> None:
    event = accepted(record(amount="1.0", currency="JPY"))

    assert event.amount == Decimal("1")


def test_a_record_without_money_has_no_amount() -> None:
    event = accepted(record(type="dispute.updated"))

    assert (event.amount, event.currency, event.amount_minor) == (None, None, None)


@pytest.mark.parametrize("event_type", ["custom.loyalty_points_expired", "custom.x"])
def test_custom_event_types_are_accepted(event_type: str) -> None:
    event = accepted(record(type=event_type))

    assert event.type == event_type


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_every_published_event_type_is_accepted(event_type: str) -> None:
    assert accepted(record(type=event_type)).type == event_type


@pytest.mark.parametrize("reason", ["stripe:card_declined", "iso:AC04", "ach:R01", "visa:10.4"])
def test_namespaced_reason_codes_are_accepted(reason: str) -> None:
    assert accepted(record(reason_code=reason)).reason_code == reason


# --- rejections -------------------------------------------------------------------------------


def test_bad_json_is_rejected_with_its_location_and_raw_line() -> None:
    rejection = rejected("{nope")

    assert rejection.location == Location(FILE, LINE, None)
    assert rejection.code == "invalid_json"
    assert rejection.reason.startswith("JSON is malformed")
    assert rejection.raw == "{nope"


def test_truncated_json_is_rejected_as_truncated() -> None:
    line = json.dumps(record())[:-10]

    rejection = rejected(line)

    assert rejection.location == Location(FILE, LINE, None)
    assert rejection.code == "truncated"
    assert rejection.reason == "Input data was truncated"
    assert rejection.raw == line


def test_an_empty_line_is_rejected() -> None:
    rejection = rejected(b"")

    assert rejection.location == Location(FILE, LINE, None)
    assert rejection.code == "truncated"
    assert rejection.raw == ""


def test_json_that_is_not_an_object_is_rejected() -> None:
    rejection = rejected("[1, 2]")

    assert rejection.location == Location(FILE, LINE, None)
    assert rejection.code == "invalid_field"
    assert rejection.reason == "Expected `object`, got `array`"


@pytest.mark.parametrize("name", ["source", "external_id", "type", "occurred_at"])
def test_a_missing_required_field_is_named(name: str) -> None:
    rejection = rejected(record(**{name: ...}))

    assert rejection.location == Location(FILE, LINE, name)
    assert rejection.code == "invalid_field"
    assert rejection.reason == f"Object missing required field `{name}`"


def test_an_unknown_field_is_named() -> None:
    rejection = rejected(record(amout="1.00"))

    assert rejection.location == Location(FILE, LINE, "amout")
    assert rejection.code == "invalid_field"
    assert rejection.reason == "Object contains unknown field `amout`"


def test_an_unknown_nested_field_names_its_object_and_the_field() -> None:
    rejection = rejected(record(refs={"paymnet": "pi_1"}))

    assert rejection.location == Location(FILE, LINE, "refs.paymnet")
    assert rejection.reason == "Object contains unknown field `paymnet`"


def test_a_wrong_type_in_a_nested_field_names_the_path() -> None:
    rejection = rejected(record(refs={"customer": 5}))

    assert rejection.location == Location(FILE, LINE, "refs.customer")
    assert rejection.code == "invalid_field"
    assert rejection.reason == "Expected `str | null`, got `int`"


def test_a_wrong_type_at_the_top_level_names_the_field() -> None:
    rejection = rejected(record(external_id=42))

    assert rejection.location == Location(FILE, LINE, "external_id")
    assert rejection.reason == "Expected `str`, got `int`"


def test_a_naive_datetime_is_rejected() -> None:
    rejection = rejected(record(occurred_at="2026-10-01T12:00:00"))

    assert rejection.location == Location(FILE, LINE, "occurred_at")
    assert rejection.code == "invalid_field"
    assert rejection.reason == "Expected `datetime` with a timezone component"


def test_an_unparseable_datetime_is_rejected() -> None:
    rejection = rejected(record(occurred_at="yesterday"))

    assert rejection.location == Location(FILE, LINE, "occurred_at")
    assert rejection.code == "invalid_field"


@pytest.mark.parametrize("money", [{"amount": "1.00"}, {"amount_minor": 100}])
def test_an_unknown_currency_is_rejected(money: dict[str, Any]) -> None:
    rejection = rejected(record(currency="ZZZ", **money))

    assert rejection.location == Location(FILE, LINE, "currency")
    assert rejection.code == "invalid_value"
    assert rejection.reason == "unknown ISO 4217 currency code 'ZZZ'"


def test_a_lower_case_currency_is_rejected() -> None:
    rejection = rejected(record(amount="1.00", currency="eur"))

    assert rejection.location == Location(FILE, LINE, "currency")
    assert rejection.code == "invalid_value"
    assert rejection.reason == "currency 'eur' must be upper case"


def test_a_currency_of_the_wrong_length_is_rejected() -> None:
    rejection = rejected(record(amount="1.00", currency="EURO"))

    assert rejection.location == Location(FILE, LINE, "currency")
    assert rejection.code == "invalid_field"


@pytest.mark.parametrize("money", [{"amount": "1.00"}, {"amount_minor": 100}])
def test_an_amount_without_currency_is_rejected(money: dict[str, Any]) -> None:
    rejection = rejected(record(**money))

    assert rejection.location == Location(FILE, LINE, "currency")
    assert rejection.code == "invalid_value"
    assert rejection.reason == "an amount needs a currency"


def test_a_currency_without_amount_is_rejected() -> None:
    rejection = rejected(record(currency="EUR"))

    assert rejection.location == Location(FILE, LINE, "amount")
    assert rejection.code == "invalid_value"
    assert rejection.reason == "currency given without an amount"


def test_amount_and_amount_minor_together_are_rejected() -> None:
    rejection = rejected(record(amount="1.00", amount_minor=100, currency="EUR"))

    assert rejection.location == Location(FILE, LINE, "amount_minor")
    assert rejection.code == "invalid_value"
    assert rejection.reason == "give amount or amount_minor, not both"


def test_a_negative_amount_is_rejected() -> None:
    rejection = rejected(record(amount="-1.00", currency="EUR"))

    assert rejection.location == Location(FILE, LINE, "amount")
    assert rejection.code == "invalid_value"
    assert rejection.reason == "amount must not be negative; say which way with direction"


def test_a_negative_amount_minor_is_rejected_like_a_negative_amount() -> None:
    rejection = rejected(record(amount_minor=-500, currency="EUR"))

    assert rejection.location == Location(FILE, LINE, "amount")
    assert rejection.code == "invalid_value"


@pytest.mark.parametrize(
    ("amount", "currency", "reason"),
    [
        ("1.234", "EUR", "amount 1.234 has 3 decimal places but EUR allows 2"),
        ("1.5", "JPY", "amount 1.5 has 1 decimal places but JPY allows 0"),
        ("1.2345", "BHD", "amount 1.2345 has 4 decimal places but BHD allows 3"),
    ],
)
def test_too_many_decimals_for_the_currency_are_rejected(
    amount: str, currency: str, reason: str
) -> None:
    rejection = rejected(record(amount=amount, currency=currency))

    assert rejection.location == Location(FILE, LINE, "amount")
    assert rejection.code == "invalid_value"
    assert rejection.reason == reason


@pytest.mark.parametrize("amount", ["NaN", "Infinity"])
def test_a_non_finite_amount_is_rejected(amount: str) -> None:
    rejection = rejected(record(amount=amount, currency="EUR"))

    assert rejection.location == Location(FILE, LINE, "amount")
    assert rejection.reason == f"amount {amount} is not a finite number"


def test_an_amount_that_is_not_a_number_is_rejected() -> None:
    rejection = rejected(record(amount="twelve", currency="EUR"))

    assert rejection.location == Location(FILE, LINE, "amount")
    assert rejection.code == "invalid_field"


@pytest.mark.parametrize("event_type", ["payment.exploded", "Payment.Failed", "custom."])
def test_an_unknown_event_type_is_rejected(event_type: str) -> None:
    rejection = rejected(record(type=event_type))

    assert rejection.location == Location(FILE, LINE, "type")
    assert rejection.code == "invalid_value"
    assert rejection.reason == f"unknown event type {event_type!r} (see `recoup events types`)"


@pytest.mark.parametrize("reason", ["insufficient_funds", "Stripe:card_declined", ":AC04"])
def test_a_reason_code_that_is_not_namespaced_is_rejected(reason: str) -> None:
    rejection = rejected(record(reason_code=reason))

    assert rejection.location == Location(FILE, LINE, "reason_code")
    assert rejection.code == "invalid_field"
    assert rejection.reason == (
        "reason_code must be namespaced, like stripe:card_declined or iso:AC04"
    )


def test_an_upper_case_source_is_rejected_with_a_friendly_reason() -> None:
    rejection = rejected(record(source="Stripe"))

    assert rejection.location == Location(FILE, LINE, "source")
    assert rejection.reason == "source must be lower case, like stripe or bank:main-eur"


def test_an_id_that_does_not_match_source_and_external_id_is_rejected() -> None:
    rejection = rejected(record(id=event_id_for("stripe", "evt_other")))

    assert rejection.location == Location(FILE, LINE, "id")
    assert rejection.code == "invalid_value"
    assert rejection.reason == "id does not match source and external_id; omit it to derive it"


def test_invalid_utf8_outside_strings_is_rejected_with_a_readable_raw() -> None:
    rejection = rejected(b"\xff\xfe{}")

    assert rejection.location == Location(FILE, LINE, None)
    assert rejection.code == "invalid_json"
    assert rejection.raw == "\ufffd\ufffd{}"


@pytest.mark.parametrize(
    "data",
    [
        b'{"source": "stripe", "external_id": "evt_\xff", "type": "payment.failed"}',
        b'{"\xff": 1}',
    ],
    ids=["in-a-value", "in-a-key"],
)
def test_invalid_utf8_inside_a_string_is_rejected(data: bytes) -> None:
    rejection = rejected(data)

    assert rejection.location.file == FILE
    assert rejection.location.line == LINE
    assert "\ufffd" in rejection.raw


def test_a_lone_surrogate_in_a_text_line_is_rejected() -> None:
    rejection = rejected('{"source": "stripe\ud800"}')

    assert rejection.location == Location(FILE, LINE, None)


@pytest.mark.parametrize("at", ["0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00"])
def test_an_occurred_at_that_cannot_be_expressed_in_utc_is_rejected(at: str) -> None:
    rejection = rejected(record(occurred_at=at))

    assert rejection.location == Location(FILE, LINE, "occurred_at")


def test_a_very_long_amount_with_too_many_decimals_is_rejected() -> None:
    rejection = rejected(record(amount="12345678901234567890123456789.123", currency="EUR"))

    assert rejection.location == Location(FILE, LINE, "amount")


def test_rejection_str_names_file_line_field_and_reason() -> None:
    rejection = rejected(record(amount="1.00", currency="eur"))

    assert str(rejection) == "feed.jsonl, line 7, field currency: currency 'eur' must be upper case"


def test_a_rejection_without_file_or_line_still_parses() -> None:
    rejection = parse_record("{", received_at=RECEIVED)

    assert isinstance(rejection, Rejection)
    assert rejection.location == Location(None, None, None)


# --- properties -------------------------------------------------------------------------------

FIELD_NAMES = [
    "source", "external_id", "type", "occurred_at", "refs", "amount", "amount_minor", "currency",
    "direction", "reason_code", "reason_message", "status", "attributes", "raw", "id",
    "received_at", "unknown", "",
]  # fmt: skip

PLAUSIBLE = [
    "stripe", "Stripe", "bank:main-eur", "evt_1", "payment.failed", "payment.succeeded",
    "custom.thing", "custom.", "nope", "EUR", "JPY", "BHD", "eur", "ZZZ", "credit", "debit",
    "stripe:insufficient_funds", "insufficient_funds", event_id_for("stripe", "evt_1"),
]  # fmt: skip

texts = st.text(max_size=20)
datetimes_text = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(datetime.isoformat) | st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)
).map(datetime.isoformat)
amounts = st.decimals(
    min_value=-(10**12), max_value=10**12, allow_nan=False, allow_infinity=False, places=4
).map(str) | st.sampled_from(["NaN", "Infinity", "-0", "1e3", "0.10"])
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
    datetimes_text,
    amounts,
    st.sampled_from(PLAUSIBLE),
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from([*Refs.__struct_fields__, "x"]), children, max_size=3)
    ),
    max_leaves=6,
)
records = st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=len(FIELD_NAMES))
locations = st.tuples(st.text(min_size=1, max_size=30), st.integers(min_value=1, max_value=10**9))


def _check(result: Event | Rejection, file: str, line: int) -> None:
    if isinstance(result, Rejection):
        assert result.location.file == file
        assert result.location.line == line
        assert result.reason
        assert result.code in {"invalid_json", "truncated", "invalid_field", "invalid_value"}
    else:
        assert isinstance(result, Event)
        assert result.id == event_id_for(result.source, result.external_id)
        assert result.occurred_at.utcoffset() == timedelta(0)
        assert result.received_at is not None
        assert result.received_at.utcoffset() == timedelta(0)
        assert result.amount_minor is None
        assert result.amount is None or result.amount >= 0


@settings(database=None, deadline=None, max_examples=300)
@given(data=st.binary(max_size=200), where=locations)
@example(data=b"", where=(FILE, 1))
@example(data=b"\xff", where=(FILE, 1))
@example(data=b'{"source": "stripe"', where=(FILE, 1))
def test_arbitrary_valid_utf8_or_non_json_bytes_never_raise(
    data: bytes, where: tuple[str, int]
) -> None:
    # Invalid UTF-8 inside a JSON string is a known bug (see the xfail tests above), so the
    # bytes here are either valid UTF-8 or do not start a JSON object.
    if data.lstrip().startswith(b"{"):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            data = data.decode("utf-8", errors="replace").encode("utf-8")
    file, line = where

    result = parse_record(data, received_at=RECEIVED, file=file, line=line)

    _check(result, file, line)


@settings(database=None, deadline=None, max_examples=300)
@given(text=st.text(max_size=200), where=locations)
def test_arbitrary_text_never_raises(text: str, where: tuple[str, int]) -> None:
    file, line = where

    result = parse_record(text.encode(), received_at=RECEIVED, file=file, line=line)

    _check(result, file, line)


@settings(database=None, deadline=None, max_examples=500)
@given(rec=records, where=locations)
@example(rec=record(amount_minor=10**14, currency="BHD"), where=(FILE, LINE))
@example(rec=record(amount="0.10", currency="JPY"), where=(FILE, LINE))
def test_arbitrary_json_objects_never_raise(rec: dict[str, Any], where: tuple[str, int]) -> None:
    file, line = where

    result = parse_record(json.dumps(rec), received_at=RECEIVED, file=file, line=line)

    _check(result, file, line)


@settings(database=None, deadline=None, max_examples=300)
@given(
    base=st.fixed_dictionaries(
        {
            "source": st.sampled_from(["stripe", "shopify", "bank:main-eur"]),
            # NUL cannot be stored; it has its own test below.
            "external_id": st.text(
                st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                min_size=1,
                max_size=30,
            ),
            "type": st.sampled_from(sorted(EVENT_TYPES)),
            "occurred_at": st.datetimes(
                min_value=datetime(2000, 1, 1),
                max_value=datetime(2100, 1, 1),
                timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))]),
            ).map(datetime.isoformat),
        }
    ),
    extra=st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=3),
    where=locations,
)
def test_records_with_valid_required_fields_never_raise(
    base: dict[str, Any], extra: dict[str, Any], where: tuple[str, int]
) -> None:
    file, line = where

    result = parse_record(json.dumps({**base, **extra}), received_at=RECEIVED, file=file, line=line)

    _check(result, file, line)
    if not extra:
        assert isinstance(result, Event)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"external_id": "evt\u00001"}, "external_id"),
        ({"refs": {"payment": "pi\u0000"}}, "refs.payment"),
        ({"attributes": {"note": "a\u0000b"}}, "attributes"),
    ],
)
def test_a_nul_character_is_refused_because_it_cannot_be_stored(
    fields: dict[str, Any], field: str
) -> None:
    rejection = rejected(record(**fields))

    assert rejection.location.field == field
    assert "NUL character" in rejection.reason


def test_a_raw_nul_byte_is_kept_visible_in_the_quarantined_text() -> None:
    rejection = rejected(b'{"source": "stripe",\x00 "x": 1}')

    assert "\x00" not in rejection.raw
    assert "\ufffd" in rejection.raw


@pytest.mark.parametrize(
    "text",
    [
        "IBAN CH2801234123412341234 kept",
        "ref RP12312312312312 kept",
        "shopify order 820982911946154508",
        "ach trace 121042880000001",
        "order 1234567890123456",
    ],
)
def test_ids_and_account_numbers_are_not_taken_for_card_numbers(text: str) -> None:
    assert mask_card_numbers(text) == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("visa 4242424242424242.", "visa 424242******4242."),
        ("grouped 4242 4242 4242 4242", "grouped 424242******4242"),
        ('{"pan": "5555555555554444"}', '{"pan": "555555******4444"}'),
        ("amex 378282246310005", "amex 378282*****0005"),
    ],
)
def test_card_numbers_are_masked_to_first_six_and_last_four(text: str, masked: str) -> None:
    assert mask_card_numbers(text) == masked
