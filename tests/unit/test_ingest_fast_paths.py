"""The shortcuts of the ingest hot path give exactly what the plain code gives."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recoup.adapters.store.bulk import utc_text
from recoup.domain.errors import InvalidInputError
from recoup.domain.ingestion.canonical import Rejection, normalise, parse_record
from recoup.domain.ingestion.event import REF_KINDS, Event, Refs

RECEIVED = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


def _plain_items(refs: Refs) -> list[tuple[str, str]]:
    values = msgspec.structs.astuple(refs)
    return [(name, value) for name, value in zip(REF_KINDS, values, strict=True) if value]


@settings(database=None, deadline=None, max_examples=200)
@given(st.dictionaries(st.sampled_from(REF_KINDS), st.text(min_size=1, max_size=5), max_size=8))
def test_refs_items_are_the_set_fields_in_field_order(values: dict[str, str]) -> None:
    assert Refs(**values).items() == _plain_items(Refs(**values))


def test_refs_items_keep_an_empty_identifier() -> None:
    assert Refs(order="", customer="c").items() == [("order", ""), ("customer", "c")]


def _plain_utc_text(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


@settings(database=None, deadline=None, max_examples=300)
@given(
    st.datetimes(
        min_value=datetime(1970, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=5, minutes=30)), ZoneInfo("Europe/Paris")]
        ),
    )
)
def test_utc_text_is_the_naive_utc_isoformat(value: datetime) -> None:
    assert utc_text(value) == _plain_utc_text(value)
    assert utc_text(value) == _plain_utc_text(value)  # a second time, from the cache


def test_equal_instants_in_other_zones_give_one_text() -> None:
    utc = datetime(2026, 10, 1, 0, 9, 42, 120, tzinfo=UTC)
    india = utc.astimezone(timezone(timedelta(hours=5, minutes=30)))

    assert utc_text(india) == utc_text(utc) == "2026-10-01 00:09:42.000120"


def _reference(data: bytes) -> Event | Rejection | None:
    """What parse_record gives, computed through the public ``normalise`` (which always checks
    every text field for NUL characters); None when the record does not decode."""
    try:
        event = msgspec.json.decode(data, type=Event)
    except msgspec.MsgspecError:
        return None
    return normalise(event, received_at=RECEIVED, raw=data.decode())


BASE: dict[str, Any] = {
    "source": "stripe",
    "external_id": "evt_1",
    "type": "payment.failed",
    "occurred_at": "2026-10-01T00:09:42Z",
    "refs": {"payment": "pi_1", "customer": "cus_1"},
    "amount": "50.88",
    "currency": "EUR",
    "reason_code": "stripe:expired_card",
    "reason_message": "The card has expired.",
    "status": "failed",
    "attributes": {"network": "visa", "note": "4111 1111 1111 1111"},
}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({}, None),
        ({"status": "fail\u0000ed"}, "status"),
        ({"reason_message": "\u0000"}, "reason_message"),
        ({"refs": {"customer": "c\u0000"}}, "refs.customer"),
        ({"external_id": "e\u00001"}, "external_id"),
        ({"attributes": {"k": "\u0000"}}, "attributes"),
        ({"reason_message": "a \\u0000 b"}, None),  # a backslash, then "u0000": no NUL
    ],
)
def test_the_nul_shortcut_refuses_and_accepts_what_the_full_check_does(
    changes: dict[str, Any], field: str | None
) -> None:
    data = json.dumps({**BASE, **changes}).encode()

    result = parse_record(data, received_at=RECEIVED)

    if field is None:
        assert isinstance(result, Event)
        assert result == _reference(data)
    else:
        assert isinstance(result, Rejection)
        assert result.location.field == field
        assert "NUL character" in result.reason
        with pytest.raises(InvalidInputError, match="NUL character"):
            _reference(data)


@settings(database=None, deadline=None, max_examples=200)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "status": st.text(max_size=4),
            "reason_message": st.text(max_size=4),
            "external_id": st.text(min_size=1, max_size=4),
            "refs": st.fixed_dictionaries({}, optional={"order": st.text(min_size=1)}),
        },
    )
)
def test_parse_record_agrees_with_normalise(changes: dict[str, Any]) -> None:
    data = json.dumps({**BASE, **changes}).encode()
    try:
        expected: Event | str | None = _reference(data)
    except InvalidInputError as exc:
        expected = exc.message

    result = parse_record(data, received_at=RECEIVED)

    if isinstance(expected, Event):
        assert result == expected
    elif isinstance(expected, str):
        assert isinstance(result, Rejection)
        assert result.reason == expected
