"""Fuzzing the NACHA ACH reader (``ach``)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from recoup.adapters.connectors.bankfiles.ach import FORMATS, check_digit
from tests.fuzz import (
    FIXTURES,
    RANDOM_BYTES,
    check_items,
    fuzz_settings,
    mutated_samples,
    parse,
    samples,
)

ACH = FORMATS[0]
SAMPLES = samples(FIXTURES / "ach", patterns=("*.ach",))
ODFI = "12104288"

NAME = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x17F, blacklist_categories=["Cc", "Cs"]),
    max_size=22,
)  # fmt: skip
"""An individual name: printable Latin text (one character per column), up to the field width."""

ENTRY = st.tuples(
    st.sampled_from(["22", "27", "32", "37"]),  # credits and debits, checking and savings
    st.text("0123456789", min_size=8, max_size=8),  # the receiver's bank (RDFI)
    st.text("0123456789ABC-", min_size=1, max_size=17),  # the receiver's account
    st.one_of(st.sampled_from([0, 1, 99, 100, 9_999_999_999]), st.integers(0, 9_999_999_999)),
    NAME,
)


def _entries_file(entries: list[tuple[str, str, str, int, str]]) -> bytes:
    """A PPD batch of ``entries`` whose control records add up."""
    records = [
        f"101 2313801040{ODFI}21906240000A094101{'Federal Reserve Bank':<23}{'My Bank Name':<23}"
        f"{'':8}",
        f"5200{'Payroll':<16}{'':20}1210428820PPDREG.SALARY      190625   1{ODFI}0000001",
    ]  # fmt: skip
    debit = credit = entry_hash = 0
    for number, (code, rdfi, account, cents, name) in enumerate(entries, start=1):
        routing = rdfi + str(check_digit(rdfi))
        records.append(f"6{code}{routing}{account:<17}{cents:010d}{'ID':<15}{name:<22}  0"
                       f"{ODFI}{number:07d}")  # fmt: skip
        entry_hash += int(rdfi)
        if code in ("27", "37"):
            debit += cents
        else:
            credit += cents
    hashed = entry_hash % 10**10
    records.append(f"8200{len(entries):06d}{hashed:010d}{debit:012d}{credit:012d}1210428820"
                   f"{'':25}{ODFI}0000001")  # fmt: skip
    blocks = -(-(len(records) + 1) // 10)
    records.append(f"9000001{blocks:06d}{len(entries):08d}{hashed:010d}{debit:012d}"
                   f"{credit:012d}{'':39}")  # fmt: skip
    for record in records:
        assert len(record) == 94, (len(record), record)
    return "\n".join(records).encode("utf-8")


@fuzz_settings()
@given(st.lists(ENTRY, max_size=12))
def test_a_valid_batch_gives_one_exact_event_per_entry(
    entries: list[tuple[str, str, str, int, str]],
) -> None:
    outcome = check_items(parse(ACH, _entries_file(entries)))

    assert outcome.rejections == []
    assert [(e.amount, e.currency, e.direction) for e in outcome.events] == [
        (Decimal(cents).scaleb(-2), "USD", "credit" if code in ("27", "37") else "debit")
        for code, _, _, cents, _ in entries
    ]
    assert {e.type for e in outcome.events} <= {"bank.transfer_initiated"}
    assert len({e.external_id for e in outcome.events}) == len(entries)
    assert [f.code for f in outcome.flags] == []


@fuzz_settings()
@given(mutated_samples(SAMPLES))
def test_a_mutated_sample_is_read_or_rejected_at_its_line(sample: tuple[object, bytes]) -> None:
    _, data = sample

    check_items(parse(ACH, data))


@fuzz_settings()
@given(RANDOM_BYTES)
def test_random_bytes_are_read_or_rejected_at_their_line(data: bytes) -> None:
    check_items(parse(ACH, data))


@fuzz_settings()
@given(st.lists(st.tuples(st.sampled_from("1566778899X "), st.text(max_size=100)), max_size=30))
def test_random_records_in_ach_grammar_are_read_or_rejected(records: list[tuple[str, str]]) -> None:
    data = "\n".join(kind + text for kind, text in records).encode("utf-8", "surrogatepass")

    check_items(parse(ACH, data))


def test_the_samples_are_there() -> None:
    assert len(SAMPLES) >= 15
