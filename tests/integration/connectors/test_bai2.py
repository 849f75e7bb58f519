"""The BAI2 connector on real sample files and on files written here.

Every ``16`` transaction detail becomes exactly one event or one located rejection, the status
amounts of each ``03`` become ``bank.balance`` events, trailers and balances that do not add up are
flags, and nothing raises. The samples are ministryofjustice/bai2's test files
(``tests/fixtures/bai2``, MIT, see the NOTICE there), read from the team's shared copy too when it
is present.

Values that canonical ingestion takes for possible card numbers (13 to 19 digits passing the Luhn
check, like Citi's customer reference ``RP12312312312312``) are masked by ``build_event`` in
attributes and in the raw evidence; expectations for those go through :func:`stored`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recoup.adapters.connectors.bankfiles.bai2 import FORMATS
from recoup.adapters.connectors.bankfiles.mt940 import FORMATS as MT940_FORMATS
from recoup.adapters.connectors.base import FileFlag, ParseContext
from recoup.domain.errors import Location
from recoup.domain.ingestion.canonical import Rejection
from tests.integration.connectors.support import (
    BYTE_EDITS,
    FIXTURES_ROOT,
    PROPERTY,
    SHARED_ROOT,
    Parsed,
    assert_only_items,
    assert_sample_counts,
    assert_statement_events,
    edited,
    sample_params,
    stored,
)

RECEIVED = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
FIXTURES = FIXTURES_ROOT / "bai2"
SHARED = SHARED_ROOT / "bai2" / "moj"
BAI2 = FORMATS[0]
LABEL = "report.bai2"


def parse(data: bytes, label: str = LABEL, source: str | None = None) -> Parsed:
    return Parsed(list(BAI2.parse(data, ParseContext(label, RECEIVED, source))))


def sample(name: str) -> Parsed:
    return parse((FIXTURES / name).read_bytes(), label=name)


def detail_count(data: bytes) -> int:
    """The 16 records of a file, as the reader splits records (by the code before a comma)."""
    text = data.decode("latin-1").replace("\r\n", "\n").replace("\r", "\n")
    return sum(1 for line in text.split("\n") if line.rstrip().partition(",")[0].strip() == "16")


def assert_contract(parsed: Parsed, data: bytes, label: str = LABEL) -> None:
    """Only events, rejections and flags; everything located; no 16 lost or doubled."""
    assert_only_items(parsed.items, label)
    for problem in [*parsed.rejections, *parsed.flags]:
        assert problem.location.line is not None
    assert_statement_events(parsed.events)
    for event in parsed.events:
        assert event.amount is None or event.amount >= 0
    if any(r.code == "not_bai2" for r in parsed.rejections):
        assert len(parsed.items) - len(parsed.rejections) == 0  # the file is one rejection
        return
    from_details = parsed.lines + [r for r in parsed.rejections if r.location.field == "16"]
    assert len(from_details) == detail_count(data)


# --- every sample -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", sample_params(FIXTURES, SHARED, "*.bai2"))
def test_every_sample_parses_or_is_rejected_with_located_errors(path: Path) -> None:
    data = path.read_bytes()

    parsed = parse(data, label=path.name)

    assert_contract(parsed, data, label=path.name)
    assert parsed.rejections == []
    assert BAI2.sniff(path.name, data[:4096])
    assert BAI2.sniff("download", data[:4096])


# name: (statement lines, balances, rejections, flag codes in order)
EXPECTED: dict[str, tuple[int, int, int, list[str]]] = {
    "account_trailer_amount_blank_example.bai2": (0, 0, 0, []),
    "citi_example.bai2": (1, 2, 0, ["balance_mismatch"]),
    "nwb_example.bai2": (5, 7, 0, []),
    "svb_us_example.bai2": (2, 12, 0, []),
}


def test_the_expectations_cover_every_sample() -> None:
    assert {p.name for p in FIXTURES.glob("*.bai2")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_sample_gives_exactly_its_lines_balances_and_flags(name: str) -> None:
    assert_sample_counts(sample(name), EXPECTED[name])


# --- exact expectations on the samples --------------------------------------------------------


def test_citi_value_dated_credit_with_continued_text() -> None:
    parsed = sample("citi_example.bai2")

    (line,) = parsed.lines
    assert line.source == "bank:77777777"
    assert line.external_id == "1507160713:00131100:150715:1"
    assert (line.amount, line.currency, line.direction, line.status) == (
        Decimal("0.01"),
        "GBP",
        "credit",
        "booked",
    )
    assert line.occurred_at == datetime(2015, 7, 15, tzinfo=UTC)
    assert (line.refs.bank_account, line.refs.bank_transaction) == ("77777777", "1234567890")
    assert line.attributes == {
        "type_code": "191",
        "type_description": "Individual Incoming Internal Money Transfer",
        "as_of_date": "2015-07-15",
        "as_of_time": "2340",
        "as_of_date_modifier": "final_previous_day",
        "originator": "CITIGB00",
        "customer_reference": stored("RP12312312312312"),
        "bank_reference": "1234567890",
        "funds_type": "value_dated",
        "value_date": "2015-07-15",
        "text": stored(
            "FR:FP SIP INCOMING ENDT:20150715 TRID:RP12312312312312 "
            "PY:RP1231231231231200                 A1234BC 22/03/66 BI:22222222 "
            "OB:111111 BUCKINGHAM PALACE OB3:BARCLAYS BANK PLC BO:11111111 BO1:DOE JO"
        ),
        # what detection reads as remittance: the customer reference, then the text
        "remittance": stored(
            "RP12312312312312 FR:FP SIP INCOMING ENDT:20150715 TRID:RP12312312312312 "
            "PY:RP1231231231231200                 A1234BC 22/03/66 BI:22222222 "
            "OB:111111 BUCKINGHAM PALACE OB3:BARCLAYS BANK PLC BO:11111111 BO1:DOE JO"
        ),
    }
    assert [(b.attributes["balance_type"], b.amount, b.direction) for b in parsed.balances] == [
        ("opening", Decimal("100.00"), "credit"),
        ("closing", Decimal("100.00"), "credit"),
    ]
    # Checked by hand: opening ledger 10000 + the 191 credit of 001 = 10001 pence, but the closing
    # ledger is 10000. The control totals do add up: 10000 + 10000 + 1 = 20001 in the 49, 98, 99.
    (flag,) = parsed.flags
    assert flag == FileFlag(
        Location("citi_example.bai2", 12, "49"),
        "balance_mismatch",
        "account 77777777 on 2015-07-15: opening ledger 100.00 GBP + credits 0.01 GBP - debits "
        "0.00 GBP = 100.01 GBP, but the closing ledger is 100.00 GBP (difference -0.01 GBP)",
    )


def test_svb_two_days_of_balances_that_add_up() -> None:
    parsed = sample("svb_us_example.bai2")

    first, second = parsed.lines
    assert (first.amount, first.currency, first.direction, first.occurred_at) == (
        Decimal("4901.96"),
        "USD",
        "credit",
        datetime(2022, 2, 1, tzinfo=UTC),
    )
    assert (first.attributes["type_code"], first.attributes["type_description"]) == (
        "142",
        "ACH Credit Received",
    )
    assert (first.refs.bank_transaction, first.attributes["text"]) == (
        "172629",
        "SOME PAYMENT ACH OFFSET",
    )
    assert "customer_reference" not in first.attributes
    assert (second.amount, second.occurred_at, second.refs.bank_transaction) == (
        Decimal("9058.00"),
        datetime(2022, 2, 2, tzinfo=UTC),
        "150675",
    )
    day_one = [(b.attributes["balance_type"], b.amount) for b in parsed.balances[:6]]
    assert day_one == [
        ("opening", Decimal("347269.79")),
        ("closing", Decimal("352171.75")),
        ("opening_available", Decimal("327425.37")),
        ("closing_available", Decimal("352171.75")),
        ("bai2_072", Decimal("0.00")),
        ("bai2_074", Decimal("0.00")),
    ]
    assert parsed.balances[6].external_id == "2302140754:1:220202:010"
    # By hand: 34726979 + 490196 = 35217175 and 35217175 + 905800 = 36122975 (opening + credit =
    # closing); the 49 totals are the sums of every 03 and 16 amount (138884258 and 143145938,
    # 7 records each), 98 counts 9 records, 99 holds 282030196 over 2 groups and 20 records.
    assert parsed.flags == []


def test_nwb_summaries_continued_on_88_and_a_blank_group_currency() -> None:
    parsed = sample("nwb_example.bai2")

    assert [
        (line.attributes["type_code"], line.amount, line.direction) for line in parsed.lines
    ] == [
        ("699", Decimal("9.71"), "debit"),
        ("699", Decimal("1.00"), "debit"),
        ("699", Decimal("1.23"), "debit"),
        ("699", Decimal("15.71"), "debit"),
        ("399", Decimal("0.89"), "credit"),
    ]
    last = parsed.lines[-1]
    assert last.currency == "GBP"  # from the 03; the 02 leaves it blank
    assert last.source == "bank:88888888-600004"
    assert last.refs.bank_account == "88888888 600004"
    assert last.external_id == "100215145935:2215:091216:5"  # created 14:59:35
    assert last.attributes["text"] == (
        "TFR XBANKGO24007680SJ CAT JPY 2 GBPXBANKGO24007680BGC INTERNATIONAL-5373 CLIE NT SECCY "
        "AC TFR"
    )
    assert [b.attributes["balance_type"] for b in parsed.balances] == [
        "opening",
        "closing",
        "closing_available",
        "opening_available",
        "bai2_072",
        "bai2_074",
        "bai2_075",
    ]
    # 36521 + 89 - (971 + 100 + 123 + 1571) = 33845, and the 100/400 summaries on the 88 (89 in
    # 1 item, 2765 in 4) match the details: no flag.
    assert parsed.flags == []


def test_account_trailers_with_a_blank_control_total() -> None:
    parsed = sample("account_trailer_amount_blank_example.bai2")

    assert parsed.items == []  # two accounts with nothing to report, every count right


# --- files written here -----------------------------------------------------------------------


@dataclass
class Detail:
    code: str
    amount: str
    text: str = ""
    bank_reference: str = ""


def bai2_file(
    accounts: list[tuple[str, dict[str, int], list[Detail]]],
    *,
    currency: str = "USD",
    modifier: str = "2",
    wrong: dict[str, int] | None = None,
) -> bytes:
    """A BAI2 file whose trailers add up (unless ``wrong`` adds to one: "49", "98", "99")."""
    wrong = wrong or {}
    lines = ["01,SENDER,RECEIVER,240103,0800,F1,,,2/",
             f"02,RECEIVER,BANK1,1,240102,2359,{currency},{modifier}/"]  # fmt: skip
    group_total, group_records = 0, 1  # the 02
    for number, status, details in accounts:
        summary = "".join(f",{code},{amount},," for code, amount in status.items())
        records = [f"03,{number},{summary}/"]
        total = sum(status.values())
        for d in details:
            records.append(f"16,{d.code},{d.amount},Z,{d.bank_reference},,{d.text}")
            if d.code.isdigit() and d.amount.isdigit():  # what a reader can count
                total += int(d.amount)
        records.append(f"49,{total + wrong.get('49', 0)},{len(records) + 1}/")
        lines += records
        group_total += total
        group_records += len(records)
    lines.append(f"98,{group_total + wrong.get('98', 0)},{len(accounts)},{group_records + 1}/")
    lines.append(f"99,{group_total + wrong.get('99', 0)},1,{len(lines) + 1}/")
    return "\n".join(lines).encode()


ACCOUNT = (
    "123456",
    {"010": 100000, "015": 105000},
    [Detail("195", "7000", "WIRE IN"), Detail("451", "2000", "ACH, DEBIT")],
)


def test_a_file_written_here_adds_up() -> None:
    parsed = parse(bai2_file([ACCOUNT]))

    assert parsed.flags == []
    wire, ach = parsed.lines
    assert (wire.amount, wire.direction, wire.attributes["funds_type"]) == (
        Decimal("70.00"),
        "credit",
        "unknown",
    )
    assert (ach.amount, ach.direction, ach.attributes["text"]) == (
        Decimal("20.00"),
        "debit",
        "ACH, DEBIT",
    )
    assert ach.external_id == "2401030800:F1:240102:2"


def test_control_totals_that_do_not_match_are_flags() -> None:
    parsed = parse(bai2_file([ACCOUNT], wrong={"49": 1, "98": 2, "99": 3}))

    assert len(parsed.lines) == 2  # the records are all kept
    assert [(f.code, f.location) for f in parsed.flags] == [
        ("control_total_mismatch", Location(LABEL, 6, "49")),
        ("control_total_mismatch", Location(LABEL, 7, "98")),
        ("control_total_mismatch", Location(LABEL, 8, "99")),
    ]
    # each level is checked against the totals stated one level down
    assert parsed.flags[0].reason == (
        "account 123456: the 49 trailer's control total is 214001, the account's records add up "
        "to 214000"
    )
    assert parsed.flags[1].reason == (
        "group BANK1 as of 2024-01-02: the 98 trailer's group control total is 214002, the group "
        "holds 214001"
    )
    assert parsed.flags[2].reason == (
        "file F1: the 99 trailer's file control total is 214003, the file holds 214002"
    )


def test_a_truncated_file_keeps_its_records_and_flags_the_missing_trailers() -> None:
    data = b"\n".join(bai2_file([ACCOUNT]).split(b"\n")[:5])

    parsed = parse(data)

    assert len(parsed.lines) == 2
    assert [(f.code, f.location.line) for f in parsed.flags] == [
        ("missing_trailer", 3),
        ("missing_trailer", 2),
        ("missing_trailer", 1),
    ]
    assert parsed.flags[0].reason == "account 123456 has no 49 account trailer: it may be truncated"


def test_balances_that_do_not_add_up_and_summaries_that_do_not_match() -> None:
    account = ("9", {"010": 1000, "015": 900, "100": 500, "400": 50}, [Detail("142", "500")])

    parsed = parse(bai2_file([account]))

    assert [f.code for f in parsed.flags] == ["balance_mismatch", "summary_total_mismatch"]
    assert parsed.flags[0].reason == (
        "account 9 on 2024-01-02: opening ledger 10.00 USD + credits 5.00 USD - debits 0.00 USD = "
        "15.00 USD, but the closing ledger is 9.00 USD (difference -6.00 USD)"
    )
    assert parsed.flags[1].reason == (
        "account 9 on 2024-01-02: the 400 summary gives total debits of 0.50 USD, the details "
        "hold 0 debits for 0.00 USD"
    )


def test_bad_details_are_rejected_at_their_line_and_the_others_kept() -> None:
    data = bai2_file([("1", {}, [Detail("195", "100"), Detail("19X", "1"), Detail("495", "12a"),
                                 Detail("495", "-5"), Detail("195", "1")])])  # fmt: skip

    parsed = parse(data)

    assert len(parsed.lines) == 2
    assert [(r.location.line, r.location.field, r.reason) for r in parsed.rejections] == [
        (5, "16", "type code '19X' is not a 3-digit BAI2 type code"),
        (6, "16", "amount '12a' is not a whole number of minor units"),
        (7, "16", "amount -5 is negative; the type code gives the direction"),
    ]
    assert {r.code for r in parsed.rejections} == {"invalid_record"}
    assert parsed.rejections[0].raw == "16,19X,1,Z,,,"


def test_currency_exponents_default_and_negative_balances() -> None:
    jpy = parse(bai2_file([("7", {"015": -1234}, [Detail("195", "1234")])], currency="JPY"))
    usd = parse(bai2_file([("7", {}, [Detail("195", "1234")])], currency=""))

    assert (jpy.lines[0].amount, jpy.lines[0].currency) == (Decimal("1234"), "JPY")
    (closing,) = jpy.balances
    assert (closing.amount, closing.direction) == (Decimal("1234"), "debit")
    assert (usd.lines[0].amount, usd.lines[0].currency) == (Decimal("12.34"), "USD")


def test_funds_availability_and_non_monetary_details() -> None:
    data = (
        b"01,S,R,240103,0800,F2,,,2/\n02,R,B,1,240102,,USD,3/\n"
        b"03,5,,010,100,,S,10,20,70,/\n"
        b"16,165,300,D,2,0,100,1,200,BR1,CR1,SPLIT, WITH COMMA/\n"
        b"16,890,,Z,,,INFO ONLY\n"
        b"88,MORE INFO\n"
        b"49,400,5/\n98,400,1,7/\n99,400,1,9/\n"
    )

    parsed = parse(data)

    assert parsed.flags == []
    split, info = parsed.lines
    assert split.attributes["distribution"] == {"0": 100, "1": 200}
    assert (split.attributes["customer_reference"], split.attributes["text"]) == (
        "CR1",
        "SPLIT, WITH COMMA",
    )
    assert split.status == "interim"  # as-of-date modifier 3: interim, same day
    assert (info.amount, info.direction, info.attributes["text"]) == (
        None,
        None,
        "INFO ONLY MORE INFO",
    )
    (opening,) = parsed.balances
    assert (opening.attributes["immediate"], opening.attributes["two_or_more_days"]) == (10, 70)


def test_records_out_of_place_are_rejected() -> None:
    data = b"88,ORPHAN\n01,S,R,240103,0800,F3,,,2/\n16,195,1,Z,,,/\n49,1,1/\n77,X/\n99,0,0,5/\n"

    parsed = parse(data)

    assert parsed.flags == []
    assert [(r.location.line, r.reason) for r in parsed.rejections] == [
        (1, "88 continuation with no record"),
        (3, "transaction detail (16) outside an account: no 03 before it"),
        (4, "account trailer (49) with no account (03) open"),
        (5, "unknown BAI2 record code '77'"),
    ]


def test_the_same_account_twice_on_one_day_keeps_distinct_ids() -> None:
    parsed = parse(bai2_file([ACCOUNT, ACCOUNT]))

    assert [line.external_id for line in parsed.lines] == [
        "2401030800:F1:240102:1",
        "2401030800:F1:240102:2",
        "2401030800:F1:240102~2:1",
        "2401030800:F1:240102~2:2",
    ]


def test_a_file_that_is_not_bai2_is_one_rejection() -> None:
    for data in (b"", b"hello\n", b"101 091000019 1234567891501011200A094101BANK\n"):
        (rejection,) = parse(data).items

        assert isinstance(rejection, Rejection)
        assert (rejection.code, rejection.location.file) == ("not_bai2", LABEL)


def test_sniff_tells_bai2_from_other_files() -> None:
    mt940 = (FIXTURES.parent / "mt940" / "abnamro.txt").read_bytes()

    assert not BAI2.sniff("abnamro.txt", mt940)
    assert not BAI2.sniff("x.csv", b"01,02,03\n04,05,06\n")
    assert not MT940_FORMATS[0].sniff("citi.bai2", (FIXTURES / "citi_example.bai2").read_bytes())
    assert BAI2.sniff("report.bai", b"01,S,R,240103,0800,F1,,,2/")


def test_the_callers_source() -> None:
    parsed = parse(bai2_file([ACCOUNT]), source="bank:us-operating")

    assert {e.source for e in parsed.events} == {"bank:us-operating"}


# --- properties -------------------------------------------------------------------------------

SAMPLES = sorted(FIXTURES.glob("*.bai2"))


@PROPERTY
@given(st.sampled_from(SAMPLES), st.floats(0, 1))
def test_truncated_samples_never_raise(path: Path, fraction: float) -> None:
    data = path.read_bytes()
    data = data[: int(len(data) * fraction)]

    parsed = parse(data)

    assert_only_items(parsed.items, LABEL)
    assert_contract(parsed, data)


@PROPERTY
@given(st.sampled_from(SAMPLES), BYTE_EDITS)
def test_byte_mutated_samples_never_raise(path: Path, edits: list[tuple[float, bytes]]) -> None:
    assert_only_items(parse(edited(path.read_bytes(), edits)).items, LABEL)


FIELD = st.text(alphabet="0129AZ -+/,VSD²٣", max_size=12)


@PROPERTY
@given(st.lists(st.tuples(st.sampled_from(["01", "02", "03", "16", "49", "88", "98", "99", "7"]),
                          st.lists(FIELD, max_size=8)), max_size=25))  # fmt: skip
def test_random_records_never_raise(records: list[tuple[str, list[str]]]) -> None:
    data = "\n".join(",".join([code, *fields]) for code, fields in records).encode()

    parsed = parse(data)

    assert_only_items(parsed.items, LABEL)
    assert_contract(parsed, data)


DETAIL = st.builds(
    Detail,
    code=st.sampled_from(["142", "195", "399", "451", "495", "699", "890", "1X5"]),
    amount=st.one_of(st.integers(0, 10**9).map(str), st.sampled_from(["", "x1", "-4"])),
    text=st.text(alphabet="ABC 019,./", max_size=20),
    bank_reference=st.text(alphabet="ABC019", max_size=8),
)


@PROPERTY
@given(st.lists(st.lists(DETAIL, max_size=6), min_size=1, max_size=3))
def test_every_16_of_a_file_yields_exactly_one_event_or_rejection(
    accounts: list[list[Detail]],
) -> None:
    valid = [[d for d in details if d.amount.isdigit() or d.amount == ""] for details in accounts]
    data = bai2_file([(f"ACCT{n}", {"010": 5}, details) for n, details in enumerate(valid)])
    data_with_bad = bai2_file(
        [(f"ACCT{n}", {"010": 5}, details) for n, details in enumerate(accounts)]
    )

    parsed, with_bad = parse(data), parse(data_with_bad)

    assert_contract(parsed, data)
    assert_contract(with_bad, data_with_bad)
    assert [f for f in parsed.flags if f.code == "control_total_mismatch"] == []
    assert len(parsed.lines) == sum(1 for details in valid for d in details if d.code.isdigit())
