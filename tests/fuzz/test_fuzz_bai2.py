"""Fuzzing the BAI2 balance report reader (``bai2``)."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from recoup.adapters.connectors.bankfiles.bai2 import FORMATS
from recoup.domain.money import MAX_INTEGER_DIGITS, currency_exponent
from tests.fuzz import (
    CURRENCIES,
    FIXTURES,
    RANDOM_BYTES,
    SHARED,
    check_items,
    fuzz_settings,
    minor_amounts,
    minor_to_decimal,
    mutated_samples,
    parse,
    samples,
)

BAI2 = FORMATS[0]
SAMPLES = samples(
    FIXTURES / "bai2",
    SHARED / "bai2",
    patterns=("*.bai2", "*.bai", "*.txt"),
    keep=lambda p: not p.name.startswith("LICENSE"),
)

TEXT = st.text(st.characters(blacklist_characters="/\r\n\x00", blacklist_categories=["Cs"]),
               max_size=60)  # fmt: skip
"""The free text of a ``16``: anything but the record end, line ends and NUL."""

DETAIL = st.tuples(
    st.sampled_from(["108", "195", "399", "451", "475", "699", "890"]),
    minor_amounts(max_digits=19),
    st.text("ABCDEFGHIJ0123456789", max_size=20),
    TEXT,
)


def _report(currency: str, details: list[tuple[str, int, str, str]]) -> bytes:
    """One account of ``details`` whose trailers add up."""
    lines = ["01,SENDER,RECEIVER,240103,0800,F1,,,2/",
             f"02,RECEIVER,BANK1,1,240102,2359,{currency},2/", "03,123456,,010,0,,/"]  # fmt: skip
    total = 0
    for code, minor, reference, text in details:
        lines.append(f"16,{code},{minor},Z,{reference},,{text}")
        total += minor
    lines.append(f"49,{total},{len(details) + 2}/")
    lines.append(f"98,{total},1,{len(details) + 4}/")
    lines.append(f"99,{total},1,{len(details) + 6}/")
    return "\n".join(lines).encode("utf-8")


@fuzz_settings()
@given(CURRENCIES, st.lists(DETAIL, max_size=12))
@example("JPY", [("195", 10**19, "", "")])
def test_a_valid_report_gives_one_exact_event_or_located_rejection_per_detail(
    currency: str, details: list[tuple[str, int, str, str]]
) -> None:
    outcome = check_items(parse(BAI2, _report(currency, details)))

    limit = 10 ** (MAX_INTEGER_DIGITS + currency_exponent(currency))
    lines = [e for e in outcome.events if e.type == "bank.statement_line"]
    first = 4  # the line of the first 16
    detail_lines = range(first, first + len(details))
    assert [
        (r.location.line, r.location.field)
        for r in outcome.rejections
        if r.location.line in detail_lines
    ] == [(first + i, "amount") for i, (_, minor, _, _) in enumerate(details) if minor >= limit]
    assert [(e.amount, e.currency, e.direction) for e in lines] == [
        (minor_to_decimal(minor, currency), currency,
         None if code == "890" else "credit" if code < "400" else "debit")
        for code, minor, _, _ in details
        if minor < limit
    ]  # fmt: skip
    assert len({e.external_id for e in outcome.events}) == len(outcome.events)
    if sum(minor for _, minor, _, _ in details) < 10**20:  # else the trailers cannot say it
        assert [r for r in outcome.rejections if r.location.line not in detail_lines] == []
        assert [f for f in outcome.flags if f.code == "control_total_mismatch"] == []


@fuzz_settings()
@given(mutated_samples(SAMPLES))
@example(
    (
        SAMPLES[0],
        b"01,A,B,150716,0713,1,,,2/\n02,B,C,1,150715,2340,GBP,2/\n03,7,GBP,010,1\x0000,,,/\n",
    )
)
def test_a_mutated_sample_is_read_or_rejected_at_its_line(sample: tuple[object, bytes]) -> None:
    _, data = sample

    check_items(parse(BAI2, data))


@fuzz_settings()
@given(RANDOM_BYTES)
def test_random_bytes_are_read_or_rejected_at_their_line(data: bytes) -> None:
    outcome = check_items(parse(BAI2, data))

    assert outcome.records + len(outcome.flags) >= 1


@fuzz_settings()
@given(st.lists(st.tuples(st.sampled_from(["01", "02", "03", "16", "88", "49", "98", "99", ""]),
                          st.lists(st.text(max_size=12), max_size=12)), max_size=30))  # fmt: skip
def test_random_fields_in_bai2_grammar_are_read_or_rejected(
    records: list[tuple[str, list[str]]],
) -> None:
    data = "\n".join(",".join([kind, *fields]) + "/" for kind, fields in records)

    check_items(parse(BAI2, data.encode("utf-8", "surrogatepass")))


def test_the_samples_are_there() -> None:
    assert len(SAMPLES) >= 4
