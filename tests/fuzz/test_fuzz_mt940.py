"""Fuzzing the SWIFT MT940/MT942 reader (``mt940``)."""

from __future__ import annotations

from datetime import date

from hypothesis import example, given
from hypothesis import strategies as st

from recoup.adapters.connectors.bankfiles.mt940 import FORMATS
from recoup.domain.money import currency_exponent
from tests.fuzz import (
    CURRENCIES,
    EDGE_TEXT,
    FIXTURES,
    RANDOM_BYTES,
    SHARED,
    check_items,
    decimal_text,
    fits,
    fuzz_settings,
    minor_amounts,
    minor_to_decimal,
    mutated_samples,
    parse,
    samples,
)

MT940 = FORMATS[0]
SAMPLES = samples(
    FIXTURES / "mt940",
    SHARED / "mt940",
    patterns=("*.txt",),
    keep=lambda p: not p.name.startswith("LICENSE"),
)

ENTRY = st.tuples(
    st.dates(date(1970, 1, 1), date(2069, 12, 31)),
    st.sampled_from(["C", "D", "RC", "RD"]),
    minor_amounts(max_digits=14),
    EDGE_TEXT,
)


def _amount(minor: int, currency: str) -> str:
    return decimal_text(minor, currency_exponent(currency), ",") if minor else "0,"


@fuzz_settings()
@given(
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=16),
    CURRENCIES,
    st.lists(ENTRY, max_size=12),
)
@example("R", "JPY", [(date(2000, 1, 1), "C", 2**63 - 1, "")])
@example("R", "EUR", [(date(2000, 1, 1), "C", 0, "\x00")])
def test_a_valid_statement_gives_one_exact_event_or_located_rejection_per_entry(
    reference: str, currency: str, entries: list[tuple[date, str, int, str]]
) -> None:
    fields = [f":20:{reference}", ":25:NL91ABNA0417164300", ":28C:1/1",
              f":60F:C000101{currency}0,"]  # fmt: skip
    expected: list[tuple[int, str | None]] = []  # (line of the :61:, field refused or None)
    movement = 0
    for day, mark, minor, details in entries:
        fields.append(f":61:{day:%y%m%d}{mark}{_amount(minor, currency)}NTRFREF//B1")
        line = len(fields)
        # a detail line never starts with structure (":", "-", "{")
        text = details.replace("\r", " ").replace("\n", " ").lstrip(":-{ ")
        if text:
            fields.append(f":86:{text}")
        refused = (
            "amount" if not fits(minor, currency) else "attributes" if "\x00" in text else None
        )
        expected.append((line, refused))
        movement += minor if mark in ("C", "RD") else -minor
    sign = "C" if movement >= 0 else "D"
    fields.append(f":62F:{sign}000101{currency}{_amount(abs(movement), currency)}")
    data = "\n".join(fields).encode("utf-8", "surrogatepass")

    outcome = check_items(parse(MT940, data))

    lines = [e for e in outcome.events if e.type == "bank.statement_line"]
    accepted = [entry for entry, (_, refused) in zip(entries, expected, strict=True) if not refused]
    entry_lines = {line for line, _ in expected}
    assert [
        (r.location.line, r.location.field)
        for r in outcome.rejections
        if r.location.line in entry_lines
    ] == [where for where in expected if where[1] is not None]
    if fits(abs(movement), currency):  # else the closing balance itself is refused
        assert [r for r in outcome.rejections if r.location.line not in entry_lines] == []
        assert [f.code for f in outcome.flags if f.code == "balance_mismatch"] == []
    assert [(e.amount, e.currency, e.direction) for e in lines] == [
        (minor_to_decimal(minor, currency), currency, "credit" if mark in ("C", "RD") else "debit")
        for _, mark, minor, _ in accepted
    ]
    assert len({e.external_id for e in outcome.events}) == len(outcome.events)


@fuzz_settings()
@given(mutated_samples(SAMPLES))
@example((SAMPLES[0], b":20:X\n:25:A\n:28C:1\n:60F:C000101EUR1,\x00\n:61:0001010101C1,NTRF\n"))
def test_a_mutated_sample_is_read_or_rejected_at_its_line(sample: tuple[object, bytes]) -> None:
    _, data = sample

    check_items(parse(MT940, data), whole_input_codes=frozenset())


@fuzz_settings()
@given(RANDOM_BYTES)
def test_random_bytes_are_read_or_rejected_at_their_line(data: bytes) -> None:
    outcome = check_items(parse(MT940, data))

    assert outcome.records >= 1


@fuzz_settings()
@given(st.lists(st.tuples(st.sampled_from([":20:", ":25:", ":28C:", ":60F:", ":60M:", ":61:",
                                            ":86:", ":62F:", ":64:", ":65:", ":34F:", ":13D:",
                                            ":90D:", ":90C:", "{4:", "-}", ""]),
                          st.text(max_size=40)), max_size=40))  # fmt: skip
def test_random_fields_in_mt940_grammar_are_read_or_rejected(fields: list[tuple[str, str]]) -> None:
    data = "\n".join(tag + value for tag, value in fields).encode("utf-8", "surrogatepass")

    check_items(parse(MT940, data))


def test_the_samples_are_there() -> None:
    assert len(SAMPLES) >= 20
