"""Fuzzing canonical JSON Lines (``recoup ingest`` of ``.jsonl``) and format recognition."""

from __future__ import annotations

import io
import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from recoup.adapters.connectors.jsonl import JsonLinesReader
from recoup.adapters.connectors.registry import SNIFF_BYTES, detect_format, file_formats
from recoup.domain.errors import InvalidInputError
from recoup.domain.ingestion.canonical import Rejection, parse_record
from recoup.domain.ingestion.event import REF_KINDS, Event
from recoup.domain.ingestion.types import EVENT_TYPES
from recoup.domain.money import MAX_INTEGER_DIGITS, currency_exponent
from tests.fuzz import (
    CURRENCIES,
    DATES,
    EDGE_TEXT,
    FIXTURES,
    HUGE_IDS,
    LABEL,
    RANDOM_BYTES,
    RECEIVED_AT,
    ParseHangError,
    bounded,
    check_items,
    decimal_text,
    fuzz_settings,
    minor_amounts,
    minor_to_decimal,
    mutated,
)

WHOLE_LINE = frozenset({"invalid_json", "truncated", "invalid_encoding"})
"""A line that is not JSON is refused at its line; the field is unknowable."""


def _parse(data: bytes, line: int = 1) -> Event | Rejection:
    with bounded():
        return parse_record(data, received_at=RECEIVED_AT, file=LABEL, line=line)


@st.composite
def records(draw: st.DrawFn) -> tuple[dict[str, Any], Decimal | None, str | None]:
    """A canonical record with random values, the amount it should come out with and the field
    it should be refused for (None: accepted)."""
    currency = draw(CURRENCIES)
    exponent = currency_exponent(currency)
    minor = draw(minor_amounts())
    external_id = draw(HUGE_IDS)
    record: dict[str, Any] = {
        "source": draw(st.sampled_from(["stripe", "bank:main-eur", "erp", "a.b-c_d:X.1"])),
        "external_id": external_id,
        "type": draw(st.sampled_from(sorted(EVENT_TYPES))),
        "occurred_at": draw(DATES).isoformat(),
        "currency": currency,
    }
    how = draw(st.sampled_from(["decimal", "string", "minor", "none"]))
    if how == "minor":
        record["amount_minor"] = minor
    elif how == "string":
        record["amount"] = decimal_text(minor, exponent)
    elif how == "decimal":
        record["amount"] = float(decimal_text(minor, exponent)) if minor < 2**40 else str(minor)
        minor = int(Decimal(str(record["amount"])).scaleb(exponent))
    else:
        del record["currency"]
    refs = draw(st.dictionaries(st.sampled_from(REF_KINDS), EDGE_TEXT, max_size=3))
    if refs:
        record["refs"] = refs
    attributes = draw(st.dictionaries(st.text(max_size=10), EDGE_TEXT, max_size=3))
    if attributes:
        record["attributes"] = attributes
    message = draw(st.none() | EDGE_TEXT)
    if message is not None:
        record["reason_message"] = message
    refused = _refused_field(record, external_id, refs, attributes, message, minor, exponent, how)
    amount = None if how == "none" else minor_to_decimal(minor, currency)
    return record, amount, refused


def _refused_field(
    record: dict[str, Any], external_id: str, refs: dict[str, str], attributes: dict[str, str],
    message: str | None, minor: int, exponent: int, how: str,
) -> str | None:  # fmt: skip
    """The first field the rules refuse, in the order the reader checks them."""
    if len(external_id) > 255:
        return "external_id"
    for kind, value in refs.items():  # checked in the order of the document
        if not 1 <= len(value) <= 255:
            return f"refs.{kind}"
    if message is not None and len(message) > 1000:
        return "reason_message"
    if any(0xD800 <= ord(c) < 0xE000 for t in [*refs.values(), *attributes, *attributes.values(),
                                                message or ""] for c in t):  # fmt: skip
        return "encoding"
    for kind in REF_KINDS:  # the rules check refs in the order of the schema
        if "\x00" in refs.get(kind, ""):
            return f"refs.{kind}"
    if message is not None and "\x00" in message:
        return "reason_message"
    if how != "none" and minor >= 10 ** (MAX_INTEGER_DIGITS + exponent):
        return "amount"
    if any("\x00" in text for pair in attributes.items() for text in pair):
        return "attributes"
    return None


@fuzz_settings()
@given(records())
@example(({"source": "erp", "external_id": "x", "type": "payment.failed",
           "occurred_at": "2026-01-01T00:00:00Z", "amount_minor": 10**21, "currency": "BHD"},
          None, "amount"))  # fmt: skip
def test_a_valid_record_is_one_exact_event_or_refused_at_its_field(
    case: tuple[dict[str, Any], Decimal | None, str | None],
) -> None:
    record, amount, refused = case
    data = json.dumps(record, ensure_ascii=False).encode("utf-8", "surrogatepass")

    result = _parse(data, 7)

    check_items([result], whole_input_codes=WHOLE_LINE)

    if refused is None:
        assert isinstance(result, Event), result
        assert (result.amount, result.currency) == (amount, record.get("currency"))
        assert result.external_id == record["external_id"]
    elif refused == "encoding":  # a lone surrogate is not UTF-8: the line is unreadable
        assert isinstance(result, Rejection), result
        assert result.location.line == 7, result
    else:
        assert isinstance(result, Rejection), result
        assert (result.location.line, result.location.field) == (7, refused), result


VALID = b"\n".join(
    json.dumps(r).encode()
    for r in [
        {"source": "stripe", "external_id": "e1", "type": "payment.failed",
         "occurred_at": "2026-10-01T12:00:00Z", "amount": "12.50", "currency": "EUR",
         "reason_code": "stripe:card_declined", "refs": {"payment": "pi_1"}},
        {"source": "bank:main", "external_id": "e2", "type": "bank.statement_line",
         "occurred_at": "2026-10-01T00:00:00+02:00", "amount_minor": 1000, "currency": "JPY",
         "direction": "credit", "attributes": {"text": "Zoë"}},
        {"source": "erp", "external_id": "e3", "type": "invoice.created",
         "occurred_at": "2026-10-02T08:00:00Z", "amount": 1.005, "currency": "BHD",
         "refs": {"invoice": "INV-1"}},
    ]
)  # fmt: skip


@fuzz_settings()
@given(st.one_of(mutated(VALID), RANDOM_BYTES))
def test_every_line_of_a_mutated_file_is_an_event_or_refused_at_its_line(data: bytes) -> None:
    reader = JsonLinesReader(path=Path("-"), label=LABEL)
    raws = list(reader.records(io.BytesIO(data)))

    outcome = check_items([_parse(r.data, r.line or 0) for r in raws], whole_input_codes=WHOLE_LINE)

    # JSON Lines end in LF (CRLF read too); a line of only whitespace is blank, not a record
    assert outcome.records == len(raws) == sum(1 for line in data.split(b"\n") if line.strip())
    assert all(r.location.line in {raw.line for raw in raws} for r in outcome.rejections)


HEADS = [
    path.read_bytes()[:SNIFF_BYTES]
    for path in sorted(FIXTURES.rglob("*.*"))
    if (path.is_file() and path.suffix not in (".md", ".txt")) or "mt940" in str(path)
]
"""The first bytes of every sample file: what format recognition reads."""


@fuzz_settings()
@given(st.text(max_size=30), st.one_of(RANDOM_BYTES, st.sampled_from(
    HEADS).flatmap(mutated)))  # fmt: skip
def test_recognising_a_format_never_raises_but_invalid_input(name: str, head: bytes) -> None:
    with bounded():
        for fmt in file_formats().values():
            assert fmt.sniff(name, head) in (True, False)
        try:
            found = detect_format(name, head)
        except InvalidInputError as exc:
            refusal: str | None = exc.message
        else:
            refusal = None
        if refusal is not None:
            assert name in refusal, refusal
        else:
            assert found is None or found in file_formats().values()


def test_the_hang_bound_stops_a_parse_that_runs_too_long() -> None:
    with pytest.raises(ParseHangError), bounded(0.05):
        time.sleep(2)


@pytest.mark.parametrize(
    ("line", "field"),
    [(b'{"": 1}', '""'), (b'{"refs": {"": "x"}}', 'refs.""'), (b'{"k": 1}', "k")],
)
def test_an_unknown_field_is_named_even_when_its_name_is_empty(line: bytes, field: str) -> None:
    # found by fuzzing: an unknown empty key left the rejection of a webhook body unlocated
    result = parse_record(line, received_at=RECEIVED_AT, file=LABEL, line=None)

    assert isinstance(result, Rejection)
    assert (result.code, result.location.field) == ("invalid_field", field)
