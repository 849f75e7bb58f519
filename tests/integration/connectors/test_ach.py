"""The NACHA ACH connector on real sample files and on files written here.

Every entry detail record of a file becomes exactly one event or one located rejection; problems
with a batch or the whole file are flags; nothing raises. The samples are moov-io/ach's test
files (``tests/fixtures/ach``, Apache-2.0, see the NOTICE there), read from the team's shared
copy too when it is present.

Values that canonical ingestion treats as possible card numbers (13 to 19 digits passing the Luhn
check, which some 15-digit ACH trace numbers do) are masked by ``build_event`` in attributes and
in the raw evidence, never in refs; expectations for those copies go through
:func:`stored` so they state exactly what is kept.
"""

from __future__ import annotations

import json
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recoup.adapters.connectors.bankfiles.ach import FORMATS, mask_account, transaction
from recoup.adapters.connectors.base import ParseContext
from recoup.domain.errors import Location
from recoup.domain.ingestion.canonical import Rejection
from recoup.domain.ingestion.event import Event, event_id_for
from recoup.domain.ingestion.types import is_known_type
from tests.integration.connectors.support import (
    FIXTURES_ROOT,
    SHARED_ROOT,
    Parsed,
    assert_only_items,
    sample_params,
    stored,
)

RECEIVED = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
FIXTURES = FIXTURES_ROOT / "ach"
SHARED = SHARED_ROOT / "codes" / "ach"
ACH = FORMATS[0]
LABEL = "test.ach"


def parse(data: bytes | str, label: str = LABEL, source: str | None = None) -> Parsed:
    raw = data.encode("latin-1") if isinstance(data, str) else data
    context = ParseContext(label=label, received_at=RECEIVED, source=source)
    return Parsed(list(ACH.parse(raw, context)))


def sample(name: str) -> Parsed:
    return parse((FIXTURES / name).read_bytes(), label=name)


def entry_records(data: bytes) -> list[str]:
    text = data.decode("latin-1")
    return [line for line in text.splitlines() if line.startswith("6")]


# --- a small, independent NACHA writer ---------------------------------------------------------


def aba_check(routing8: str) -> int:
    weights = (3, 7, 1, 3, 7, 1, 3, 7)
    return (10 - sum(int(d) * w for d, w in zip(routing8, weights, strict=True)) % 10) % 10


Addenda = Callable[[str], str]  # trace number of the entry -> the 94-character addenda record


def a05(info: str, sequence: int = 1) -> Addenda:
    return lambda trace: f"705{info:<80.80}{sequence:04d}{trace[-7:]}"


def a99(code: str, original_trace: str, original_rdfi: str, info: str = "") -> Addenda:
    return lambda trace: f"799{code}{original_trace}{'':6}{original_rdfi}{info:<44.44}{trace}"


def a98(code: str, original_trace: str, original_rdfi: str, corrected: str) -> Addenda:
    head = f"798{code}{original_trace}{'':6}{original_rdfi}{corrected:<29}{'':15}"
    return lambda trace: head + trace


@dataclass
class Entry:
    tc: int = 27
    rdfi: str = "23138010"
    account: str = "12345678"
    amount: int = 100
    ident: str = ""
    name: str = "JANE DOE"
    disc: str = ""
    addenda: list[Addenda] = field(default_factory=list)

    @property
    def debit(self) -> bool:
        return self.tc % 10 >= 5  # x5-x9 are debits to the receiver


@dataclass
class Batch:
    entries: list[Entry]
    sec: str = "PPD"
    service_class: str = "200"
    company: str = "ACME CORP"
    company_id: str = "1234567890"
    description: str = "PAYROLL"
    effective: str = "260331"
    odfi: str = "12104288"


def ach_file(
    batches: Iterable[Batch],
    *,
    origin: str = " 121042882",
    created: str = "260330",
    line_end: str = "\n",
    pad: bool = True,
) -> str:
    lines = [
        f"101 231380104{origin:>10}{created}0830A094101{'DEST BANK':<23}{'ORIGIN BANK':<23}{'':8}"
    ]
    totals = [0, 0, 0, 0]  # count, hash, debit, credit
    sequence = 0
    count_batches = 0
    for number, batch in enumerate(batches, start=1):
        count_batches += 1
        lines.append(
            f"5{batch.service_class}{batch.company:<16.16}{'':20}{batch.company_id:<10}{batch.sec}"
            f"{batch.description:<10.10}{'':6}{batch.effective}{'':3}1{batch.odfi}{number:07d}"
        )
        count = entry_hash = debit = credit = 0
        for entry in batch.entries:
            sequence += 1
            trace = f"{batch.odfi}{sequence:07d}"
            lines.append(
                f"6{entry.tc:02d}{entry.rdfi}{aba_check(entry.rdfi)}{entry.account:<17}"
                f"{entry.amount:010d}{entry.ident:<15.15}{entry.name:<22.22}{entry.disc:<2}"
                f"{1 if entry.addenda else 0}{trace}"
            )
            lines.extend(addenda(trace) for addenda in entry.addenda)
            count += 1 + len(entry.addenda)
            entry_hash += int(entry.rdfi)
            if entry.debit:
                debit += entry.amount
            else:
                credit += entry.amount
        lines.append(
            f"8{batch.service_class}{count:06d}{entry_hash % 10**10:010d}{debit:012d}"
            f"{credit:012d}{batch.company_id:<10}{'':25}{batch.odfi}{number:07d}"
        )
        for index, value in enumerate((count, entry_hash, debit, credit)):
            totals[index] += value
    blocks = -(-(len(lines) + 1) // 10)
    lines.append(
        f"9{count_batches:06d}{blocks:06d}{totals[0]:08d}{totals[1] % 10**10:010d}"
        f"{totals[2]:012d}{totals[3]:012d}{'':39}"
    )
    while pad and len(lines) % 10:
        lines.append("9" * 94)
    assert all(len(line) == 94 for line in lines), [line for line in lines if len(line) != 94]
    return line_end.join(lines) + line_end


def one_event(data: str, **kwargs: Any) -> Event:
    parsed = parse(data, **kwargs)
    assert parsed.flags == []
    assert parsed.rejections == []
    [event] = parsed.events
    return event


def one_rejection(data: str) -> Rejection:
    parsed = parse(data)
    assert parsed.events == []
    [rejection] = parsed.rejections
    return rejection


# --- recognising the format --------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.ach")), ids=lambda p: p.name)
def test_sniff_recognises_every_sample(path: Path) -> None:
    assert ACH.sniff(path.name, path.read_bytes()[:4096]) is True


@pytest.mark.parametrize(
    ("name", "head"),
    [
        ("report.json", b'{"fileHeader": {"immediateOrigin": "121042882"}}'),
        ("codes.csv", b"code,reason,description\r\nR01,Insufficient Funds,\r\n"),
        ("statement.sta", b":20:STARTUMSE\r\n:25:10020030/1234567\r\n"),
        ("bai.txt", b"01,122099999,123456789,150623,0200,1,,,2/\n"),
        ("empty.ach", b""),
        ("noise.bin", bytes(range(256))),
    ],
)
def test_sniff_refuses_other_formats(name: str, head: bytes) -> None:
    assert ACH.sniff(name, head) is False


def test_the_format_is_registered_as_ach() -> None:
    assert [fmt.name for fmt in FORMATS] == ["ach"]
    assert FORMATS[0].description


# --- conformance over every sample -------------------------------------------------------------


@pytest.mark.parametrize("path", sample_params(FIXTURES, SHARED, "*.ach", copy_id="fixtures"))
def test_every_sample_file_conforms(path: Path) -> None:
    # given a sample file
    data = path.read_bytes()
    # when it is parsed
    parsed = parse(data, label=path.name)
    # then it yields only events, rejections and flags, every one located in the file
    assert_only_items(parsed.items, path.name)
    assert all(problem.reason for problem in [*parsed.rejections, *parsed.flags])
    assert all(rejection.location.line is not None for rejection in parsed.rejections)
    # and every entry detail record is exactly one event or one rejection
    entries = entry_records(data)
    assert len(parsed.events) + len(parsed.rejections) == len(entries)
    # and the events are canonical, unique and carry no full account number
    external_ids = [event.external_id for event in parsed.events]
    assert len(set(external_ids)) == len(external_ids)
    for event in parsed.events:
        assert is_known_type(event.type)
        assert event.id == event_id_for(event.source, event.external_id)
        assert event.amount is not None
        assert event.amount >= 0
        assert event.currency == "USD"
        assert event.refs.ach_trace is not None
        assert len(event.refs.ach_trace) == 15
        assert event.received_at == RECEIVED
    # and the account number is masked wherever the entry keeps it
    in_order = [item for item in parsed.items if isinstance(item, Event | Rejection)]
    for record, item in zip(entries, in_order, strict=True):
        iat_shaped = record[12:16].strip().isdigit() and not record[16:29].strip()
        account = (record[39:74] if iat_shaped else record[12:29]).strip()
        if sum(c.isdigit() for c in account) <= 4:
            continue
        assert item.raw is not None
        assert account not in item.raw.splitlines()[0]
        if isinstance(item, Event) and not iat_shaped:
            assert item.attributes["account_number"] == mask_account(account)
            assert item.refs.bank_account is not None
            assert item.refs.bank_account.endswith(":" + mask_account(account))


# --- tolerance of the physical format ----------------------------------------------------------


def _ppd_debit_records() -> list[str]:
    text = (FIXTURES / "ppd-debit.ach").read_text()
    return [line.ljust(94) for line in text.splitlines()]


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda recs: "\n".join(recs) + "\n", id="LF"),
        pytest.param(lambda recs: "\r\n".join(recs) + "\r\n", id="CRLF"),
        pytest.param(lambda recs: "\r\n".join(recs), id="no-final-newline"),
        pytest.param(lambda recs: "\n".join(r for r in recs if set(r) != {"9"}), id="no-fill"),
        pytest.param(lambda recs: "".join(recs), id="one-long-line"),
        pytest.param(lambda recs: "\n".join(r + "   " for r in recs) + "\n\n\n", id="blanks"),
        pytest.param(lambda recs: "\n".join(recs) + "\n\x1a", id="ctrl-z-at-end"),
        pytest.param(lambda recs: "\n".join(r.rstrip() for r in recs), id="stripped-tails"),
    ],
)
def test_line_ends_padding_and_stripped_tails_are_read_alike(
    variant: Callable[[list[str]], str],
) -> None:
    # given ppd-debit.ach written with other line ends, fill or trailing blanks
    data = variant(_ppd_debit_records())
    # when parsed
    parsed = parse(data, label="ppd-debit.ach")
    # then the same single event comes out and nothing is flagged
    assert parsed.flags == []
    assert parsed.rejections == []
    assert [(e.external_id, e.amount) for e in parsed.events] == [
        ("1906240000A0121042882:1:121042880000001", Decimal("1000000.00"))
    ]


# --- exact expectations on the samples ---------------------------------------------------------


def test_ppd_debit_is_one_initiated_debit_entry() -> None:
    # given ppd-debit.ach: one PPD debit (27) of $1,000,000.00 to account 12345678
    parsed = sample("ppd-debit.ach")
    # then one event, no problems
    assert parsed.flags == []
    assert parsed.rejections == []
    [event] = parsed.events
    assert event.source == "bank:ach-0121042882"
    assert event.external_id == "1906240000A0121042882:1:121042880000001"
    assert event.type == "bank.transfer_initiated"
    assert event.occurred_at == datetime(2019, 6, 25, tzinfo=UTC)
    assert event.amount == Decimal("1000000.00")
    assert event.currency == "USD"
    # a debit entry collects money: for the originator it is money in
    assert event.direction == "credit"
    assert event.reason_code is None
    assert event.refs.ach_trace == "121042880000001"
    assert event.refs.bank_account == "231380104:****5678"
    assert event.refs.customer == "Receiver Account Name"
    assert event.refs.bank_transaction is None
    assert event.attributes == {
        "sec_code": "PPD",
        "service_class_code": 225,
        "company_name": "Name on Account",
        "company_id": "121042882",
        "company_entry_description": "REG.SALARY",
        "effective_entry_date": "2019-06-25",
        "odfi": "12104288",
        "batch_number": 1,
        "transaction_code": 27,
        "account_type": "checking",
        "receiver_direction": "debit",
        "receiving_dfi": "231380104",
        "account_number": "****5678",
        "trace_number": stored("121042880000001"),
        "individual_name": "Receiver Account Name",
    }
    assert event.raw == stored(
        "627231380104****5678         0100000000               Receiver Account Name   "
        "0121042880000001"
    )


def test_return_web_links_each_return_to_its_original_entry() -> None:
    # given return-WEB.ach: an R01 return of a debit and an R03 return of a credit
    parsed = sample("return-WEB.ach")
    assert parsed.flags == []
    assert parsed.rejections == []
    r01, r03 = parsed.events
    # then both are returns with their NACHA code and title
    assert (r01.type, r01.reason_code, r01.reason_message) == (
        "bank.transfer_returned",
        "ach:R01",
        "Insufficient Funds",
    )
    assert (r03.type, r03.reason_code, r03.reason_message) == (
        "bank.transfer_returned",
        "ach:R03",
        "No Account/Unable to Locate Account",
    )
    # and ach_trace is the ORIGINAL entry's trace from the addenda; the return's own is kept too
    assert r01.refs.ach_trace == "091400600000001"
    assert r01.refs.bank_transaction == "091000017611242"
    assert r01.attributes["trace_number"] == "091000017611242"
    assert r01.attributes["original_trace_number"] == "091400600000001"
    assert r03.refs.ach_trace == "091400600000003"
    assert r03.refs.bank_transaction == "021000029461242"
    # and the account is the receiver's: the original RDFI from the addenda, check digit added
    assert r01.refs.bank_account == "091000019:*****6789"
    assert r03.refs.bank_account == "021000021:********9999"
    # and the money: the return of a debit (26) goes back out, of a credit (21) comes back
    assert (r01.amount, r01.direction, r01.attributes["transaction_code"]) == (
        Decimal("123.54"),
        "debit",
        26,
    )
    assert (r03.amount, r03.direction, r03.attributes["transaction_code"]) == (
        Decimal("45.65"),
        "credit",
        21,
    )
    assert r01.attributes["return_kind"] == "return"
    assert r01.attributes["return_addenda"] == [
        {
            "kind": "return",
            "code": "R01",
            "line": 4,
            "original_entry_trace_number": "091400600000001",
            "original_rdfi": "09100001",
            "trace_number": "091000017611242",
        }
    ]
    assert r01.external_id == "1810170306A691000134:1:091000017611242"
    assert r03.external_id == "1810170306A691000134:2:021000029461242"
    assert r01.refs.customer == "MjMxNDAwMjAtOGQ"
    assert r01.attributes["individual_name"] == "Paul Jones"
    assert r01.attributes["payment_type"] == "S"
    # the batch's effective date 000101 is a placeholder in a 2018 file: the creation date is used
    assert r01.occurred_at == datetime(2018, 10, 17, tzinfo=UTC)
    assert r01.attributes["occurred_at_from"] == "file_creation_date"
    assert r01.attributes["effective_entry_date_raw"] == "000101"


def test_cor_example_is_a_notification_of_change_with_the_corrected_account() -> None:
    # given cor-example.ach: a COR entry with a C01 addenda correcting the account number
    parsed = sample("cor-example.ach")
    assert parsed.flags == []
    assert parsed.rejections == []
    [noc] = parsed.events
    # then it is a NOC with the C-code, the corrected account masked, and no money moving
    assert noc.type == "bank.notification_of_change"
    assert noc.reason_code == "ach:C01"
    assert noc.reason_message == "Incorrect bank account number"
    assert noc.amount == Decimal("0.00")
    assert noc.direction is None
    assert noc.attributes["corrected"] == {"account_number": "******1614"}
    assert noc.attributes["change"] == {
        "code": "C01",
        "line": 4,
        "original_entry_trace_number": stored("121042880000001"),
        "original_rdfi": "12104288",
        "trace_number": "091012980000088",
    }
    assert noc.refs.ach_trace == "121042880000001"
    assert noc.refs.bank_transaction == "121042880000001"
    assert noc.refs.bank_account == "121042882:******78-99"
    assert noc.refs.customer == "location #23"
    # the effective date is 000000: the file creation date stands in
    assert noc.occurred_at == datetime(2019, 8, 29, tzinfo=UTC)
    assert noc.attributes["occurred_at_from"] == "file_creation_date"
    assert noc.attributes["effective_entry_date_raw"] == "000000"
    # the corrected account number is masked in the evidence too
    assert noc.raw is not None
    assert "1918171614" not in noc.raw
    assert noc.raw.splitlines()[1] == (
        "798C01121042880000001      12104288******1614                                  "
        "091012980000088"
    )


def test_dishonored_returns_keep_their_kind_and_link_to_the_original_entry() -> None:
    # given dishonored-return.ach: two R68 (untimely return) dishonored returns
    parsed = sample("dishonored-return.ach")
    assert parsed.flags == []
    assert parsed.rejections == []
    first, second = parsed.events
    for event, amount, trace in (
        (first, Decimal("250.00"), "231380100000001"),
        (second, Decimal("230.00"), "231380100000002"),
    ):
        assert event.type == "bank.transfer_returned"
        assert event.reason_code == "ach:R68"
        assert event.reason_message == "Untimely Return"
        assert event.amount == amount
        assert event.attributes["return_kind"] == "dishonored"
        assert event.refs.ach_trace == "059999990000301"
        assert event.refs.bank_transaction == trace
        assert event.refs.bank_account == "123918710:******78-99"
        assert event.attributes["sec_code"] == "POS"
        assert event.attributes["card_transaction_type"] == "01"
    assert first.attributes["return_addenda"] == [
        {
            "kind": "dishonored",
            "code": "R68",
            "line": 4,
            "original_entry_trace_number": "059999990000301",
            "original_rdfi": "12391871",
            "return_trace_number": "123918710000001",
            "return_settlement_date": "179",
            "return_reason_code": "R01",
            "addenda_information": "Untimely Return",
            "trace_number": "231380100000001",
        }
    ]
    assert first.refs.customer == "45689033"
    assert first.attributes["individual_name"] == "Wade Arnold"


def test_contested_return_is_reported_at_its_latest_stage_with_the_whole_chain() -> None:
    # given contested-return.ach: one entry with an R07 return, its R68 dishonor and the R71
    # contest of that dishonor
    parsed = sample("contested-return.ach")
    assert parsed.flags == []
    assert parsed.rejections == []
    [event] = parsed.events
    # then the event is the contested return, and every stage is kept
    assert event.type == "bank.transfer_returned"
    assert event.reason_code == "ach:R71"
    assert event.reason_message == "Misrouted Dishonored Return"
    assert event.attributes["return_kind"] == "contested"
    assert [(a["kind"], a["code"], a["line"]) for a in event.attributes["return_addenda"]] == [
        ("return", "R07", 4),
        ("dishonored", "R68", 5),
        ("contested", "R71", 6),
    ]
    contested = event.attributes["return_addenda"][2]
    assert contested == {
        "kind": "contested",
        "code": "R71",
        "line": 6,
        "original_entry_trace_number": "059999990000301",
        "date_original_entry_returned": "000167",
        "original_rdfi": "12391871",
        "original_settlement_date": "164",
        "return_trace_number": stored("779999990000301"),
        "return_settlement_date": "165",
        "return_reason_code": "R01",
        "dishonored_return_trace_number": "889999990000301",
        "dishonored_return_settlement_date": "166",
        "dishonored_return_reason_code": "R67",
        "trace_number": "123918710000001",
    }
    assert event.refs.ach_trace == "059999990000301"
    assert event.refs.bank_transaction == "121042880000001"
    assert event.amount == Decimal("1000000.00")
    assert event.refs.customer == "ABC##jvkdjfuiwn"


def test_two_micro_deposits_are_six_small_entries_with_their_addenda() -> None:
    # given two-micro-deposits.ach: two batches of two savings credits (32) and one checking
    # debit (27) that takes them back, each with a 05 addenda
    parsed = sample("two-micro-deposits.ach")
    assert parsed.flags == []
    assert parsed.rejections == []
    got = [
        (
            e.external_id.split(":", 1)[1],
            e.amount,
            e.direction,
            e.attributes["transaction_code"],
            e.attributes["payment_related_information"],
        )
        for e in parsed.events
    ]
    info = ["paygate transaction"]
    assert got == [
        ("1:121042886829038", Decimal("0.44"), "debit", 32, info),
        ("1:121042886829039", Decimal("0.32"), "debit", 32, info),
        ("1:121042886829040", Decimal("0.76"), "credit", 27, info),
        ("2:121042889211556", Decimal("0.02"), "debit", 32, info),
        ("2:121042889211557", Decimal("0.42"), "debit", 32, info),
        ("2:121042889211558", Decimal("0.44"), "credit", 27, info),
    ]
    assert {e.refs.bank_account for e in parsed.events} == {
        "121042882:*****0734",
        "121042882:*****9324",
    }
    assert {e.source for e in parsed.events} == {"bank:ach-121042882"}
    assert all(e.occurred_at == datetime(2020, 3, 25, tzinfo=UTC) for e in parsed.events)


def test_ccd_debit_uses_the_identification_number_as_the_customer() -> None:
    parsed = sample("ccd-debit.ach")
    assert parsed.flags == []
    assert [(e.refs.customer, e.amount, e.refs.bank_account) for e in parsed.events] == [
        ("location1234567", Decimal("5000.00"), "231380104:******78-99"),
        ("Fee123456789012", Decimal("1.25"), "231380104:******78-99"),
    ]
    assert parsed.events[0].attributes["individual_name"] == "Best Co. #123456789012"


# --- moov's JSON form of a file -----------------------------------------------------------------


def _render_moov_json(doc: dict[str, Any]) -> str:
    """Write moov's JSON form of a file (standard and dishonored-return entries) as NACHA."""
    header = doc["fileHeader"]
    lines = [
        f"101{header['immediateDestination']:>10}{header['immediateOrigin']:>10}"
        f"{header['fileCreationDate']}{header['fileCreationTime']}{header['fileIDModifier']}"
        f"094101{header['immediateDestinationName']:<23}{header['immediateOriginName']:<23}"
        f"{'':8}"
    ]
    totals = [0, 0, 0, 0]
    for batch in doc["batches"]:
        bh = batch["batchHeader"]
        lines.append(
            f"5{bh['serviceClassCode']}{bh['companyName']:<16}"
            f"{bh.get('companyDiscretionaryData', ''):<20}{bh['companyIdentification']:<10}"
            f"{bh['standardEntryClassCode']}{bh['companyEntryDescription']:<10}"
            f"{bh.get('companyDescriptiveDate', ''):<6}{bh['effectiveEntryDate']}"
            f"{bh['settlementDate']}{bh['originatorStatusCode']}{bh['ODFIIdentification']}"
            f"{bh['batchNumber']:07d}"
        )
        count = entry_hash = debit = credit = 0
        for ed in batch["entryDetails"]:
            lines.append(
                f"6{ed['transactionCode']}{ed['RDFIIdentification']}{ed['checkDigit']}"
                f"{ed['DFIAccountNumber']:<17}{ed['amount']:010d}{ed['identificationNumber']:<15}"
                f"{ed['individualName']:<22}{ed['discretionaryData']:<2}"
                f"{ed['addendaRecordIndicator']}{ed['traceNumber']}"
            )
            count += 1
            entry_hash += int(ed["RDFIIdentification"])
            if ed["transactionCode"] % 10 >= 5:
                debit += ed["amount"]
            else:
                credit += ed["amount"]
            for a in ed.get("addenda05", []):
                lines.append(
                    f"705{a['paymentRelatedInformation']:<80}{a['sequenceNumber']:04d}"
                    f"{a['entryDetailSequenceNumber']:07d}"
                )
                count += 1
            if "addenda99Dishonored" in ed:
                a = ed["addenda99Dishonored"]
                lines.append(
                    f"799{a['dishonoredReturnReasonCode']}{a['originalEntryTraceNumber']}"
                    f"{'':6}{a['originalReceivingDFIIdentification']}{'':3}"
                    f"{a['returnTraceNumber']}{a['returnSettlementDate']}"
                    f"{a['returnReasonCode']}{a['addendaInformation']:<21}{a['traceNumber']}"
                )
                count += 1
        lines.append(
            f"8{bh['serviceClassCode']}{count:06d}{entry_hash % 10**10:010d}{debit:012d}"
            f"{credit:012d}{bh['companyIdentification']:<10}{'':25}{bh['ODFIIdentification']}"
            f"{bh['batchNumber']:07d}"
        )
        for index, value in enumerate((count, entry_hash, debit, credit)):
            totals[index] += value
    blocks = -(-(len(lines) + 1) // 10)
    lines.append(
        f"9{len(doc['batches']):06d}{blocks:06d}{totals[0]:08d}{totals[1]:010d}"
        f"{totals[2]:012d}{totals[3]:012d}{'':39}"
    )
    assert all(len(line) == 94 for line in lines)
    return "\n".join(lines) + "\n"


def test_dishonored_return_agrees_with_its_moov_json_twin() -> None:
    # given moov's JSON form of a file with a payout (addenda 05) and an R69 dishonored return,
    # written out as NACHA records
    doc = json.loads((FIXTURES / "dishonored-with-addenda05.json").read_text())
    parsed = parse(_render_moov_json(doc), label="dishonored-with-addenda05.ach")
    # then each entry is one event whose amount, trace and code are those in the JSON
    assert parsed.flags == []
    assert parsed.rejections == []
    entries = [ed for batch in doc["batches"] for ed in batch["entryDetails"]]
    assert [e.amount for e in parsed.events] == [Decimal(ed["amount"]) / 100 for ed in entries]
    payout, dishonored = parsed.events
    assert payout.type == "bank.transfer_initiated"
    assert payout.refs.ach_trace == entries[0]["traceNumber"]
    assert payout.attributes["payment_related_information"] == [
        entries[0]["addenda05"][0]["paymentRelatedInformation"]
    ]
    assert payout.direction == "debit"  # a credit (22) to the receiver pays out
    twin = entries[1]["addenda99Dishonored"]
    assert dishonored.type == "bank.transfer_returned"
    assert dishonored.reason_code == f"ach:{twin['dishonoredReturnReasonCode']}"
    assert dishonored.reason_message == "Field Error(s)"
    assert dishonored.attributes["return_kind"] == "dishonored"
    assert dishonored.refs.ach_trace == twin["originalEntryTraceNumber"]
    assert dishonored.refs.bank_transaction == entries[1]["traceNumber"]
    [details] = dishonored.attributes["return_addenda"]
    assert details["return_trace_number"] == twin["returnTraceNumber"]
    assert details["return_reason_code"] == f"R{twin['returnReasonCode']}"
    assert details["addenda_information"] == twin["addendaInformation"].strip()
    assert dishonored.refs.bank_account == "091200000:********3000"
    assert dishonored.occurred_at == datetime(2026, 3, 26, tzinfo=UTC)


# --- the invalid samples -----------------------------------------------------------------------


def test_20110729a_invalid_has_shifted_headers_and_every_entry_is_rejected() -> None:
    # given 20110729A-invalid.ach, where the file header is 93 characters (the immediate origin
    # lost a character) and every batch header has its company identification one column
    # early, so columns 51-53 read PDT/PDV/ATT/ATV instead of PPD/IAT; and the file control
    # counts 5 batches where there are 4
    parsed = sample("20110729A-invalid.ach")
    # then nothing is accepted: each of the 178 entries is rejected, naming its batch header
    assert parsed.events == []
    by_header: dict[int, int] = {}
    for rejection in parsed.rejections:
        assert rejection.code == "invalid_batch_header"
        header_line = int(rejection.reason.split("batch header on line ")[1].split(" ")[0])
        by_header[header_line] = by_header.get(header_line, 0) + 1
    assert by_header == {2: 145, 149: 18, 169: 13, 275: 2}
    assert parsed.rejections[0].location == Location("20110729A-invalid.ach", 3, None)
    # and the flags say what is wrong, where
    flags = [(f.code, f.location.line) for f in parsed.flags]
    assert flags == [
        ("invalid_file_header", 1),
        ("invalid_batch_header", 2),
        ("batch_control_mismatch", 148),
        ("invalid_batch_header", 149),
        ("batch_control_mismatch", 168),
        ("invalid_batch_header", 169),
        ("batch_control_mismatch", 274),
        ("invalid_batch_header", 275),
        ("batch_control_mismatch", 292),
        ("control_total_mismatch", 293),
    ]
    header = parsed.flags[0].reason
    assert header.startswith("file header: record is 93 characters long, not 94;")
    assert (
        "found '094101' (record size, blocking factor, format code) at columns 34-39, 1 column "
        "early: a field before it is 1 character too short"
    ) in header
    assert "file creation date '107291' (columns 24-29) is not a YYMMDD date" in header
    assert parsed.flags[1].reason == (
        "batch 1 (header on line 2): standard entry class code 'PDT' (columns 51-53) is not a "
        "NACHA SEC code (found 'PPD' at columns 50-52, 1 column early: a field before it is 1 "
        "character too short); its entries are rejected"
    )
    assert "found 'IAT' at columns 50-52" in parsed.flags[5].reason
    assert parsed.flags[-1].reason == (
        "the file control on line 293 does not match the batches: batch count is 5, the file has 4"
    )


def test_web_invalid_noc_file_rejects_the_unknown_change_code() -> None:
    # given web-invalidNOCFile.ach: a COR entry whose 98 addenda carries change code C92
    parsed = sample("web-invalidNOCFile.ach")
    # then the entry is rejected at the addenda line, the rest of the file is fine
    assert parsed.events == []
    assert parsed.flags == []
    [rejection] = parsed.rejections
    assert rejection.code == "unknown_change_code"
    assert rejection.location == Location("web-invalidNOCFile.ach", 4, "change_code")
    assert rejection.reason == (
        "unknown ACH change code C92: not in the NACHA change codes (addenda on line 4, entry "
        "detail on line 3)"
    )
    # and neither the account nor the corrected data (an account number?) is kept in clear
    assert rejection.raw == (
        "621231380104******78-99      0000000000location #23   Best Co. #23          S "
        "1121042880000001\n"
        "798C92000000000012345      09101298******1614                                  "
        "091012980000088"
    )


def test_pos_invalid_return_file_rejects_the_unknown_return_code() -> None:
    # given pos-invalidReturnFile.ach: a POS return whose 99 addenda carries return code R96
    parsed = sample("pos-invalidReturnFile.ach")
    assert parsed.events == []
    assert parsed.flags == []
    [rejection] = parsed.rejections
    assert rejection.code == "unknown_return_code"
    assert rejection.location == Location("pos-invalidReturnFile.ach", 4, "return_reason_code")
    assert rejection.reason.startswith("unknown ACH return code R96:")


def test_a_custom_return_code_is_rejected_not_accepted() -> None:
    # given return-PPD-custom-reason-code.ach: an R97, which moov reads only with custom codes on
    [rejection] = sample("return-PPD-custom-reason-code.ach").rejections
    assert rejection.code == "unknown_return_code"
    assert rejection.reason.startswith("unknown ACH return code R97:")


@pytest.mark.parametrize("name", ["20110805A.ach", "issue1620.ach"])
def test_a_file_control_counting_a_missing_batch_is_flagged(name: str) -> None:
    parsed = sample(name)
    [flag] = parsed.flags
    assert flag.code == "control_total_mismatch"
    assert "batch count is" in flag.reason
    assert parsed.rejections == []


# --- control totals on written files -----------------------------------------------------------


def _valid_two_batches() -> str:
    return ach_file(
        [
            Batch([Entry(tc=27, amount=1500), Entry(tc=22, amount=250, rdfi="09100001")]),
            Batch([Entry(tc=37, amount=99, account="555566667777")], service_class="225"),
        ]
    )


def test_a_written_file_is_clean() -> None:
    parsed = parse(_valid_two_batches())
    assert parsed.flags == []
    assert parsed.rejections == []
    assert [e.amount for e in parsed.events] == [Decimal("15.00"), Decimal("2.50"), Decimal("0.99")]


def _replace_line(text: str, line: int, new: str) -> str:
    lines = text.split("\n")
    lines[line - 1] = new
    return "\n".join(lines)


def test_batch_totals_that_do_not_add_up_are_flagged_naming_the_batch() -> None:
    # given a file whose first batch control claims $16.00 of debits where the entries hold $15
    text = _valid_two_batches()
    control = text.split("\n")[4]
    assert control.startswith("8")
    text = _replace_line(text, 5, control[:20] + f"{1600:012d}" + control[32:])
    # when parsed
    parsed = parse(text)
    # then the entries are still events, and the batch and the file are flagged
    assert len(parsed.events) == 3
    [flag] = parsed.flags
    assert (flag.code, flag.location) == ("control_total_mismatch", Location(LABEL, 5))
    assert flag.reason == (
        "batch 1 (header on line 2): the batch control on line 5 does not match its entries: "
        "total debit is 16.00, the entries add up to 15.00"
    )


def test_file_totals_that_do_not_add_up_are_flagged_on_the_file_control() -> None:
    # given a file whose file control claims one entry too many and a different credit total
    text = _valid_two_batches()
    control = text.split("\n")[8]
    assert control.startswith("9")
    control = control[:13] + f"{4:08d}" + control[21:43] + f"{1:012d}" + control[55:]
    text = _replace_line(text, 9, control)
    # when parsed
    parsed = parse(text)
    # then the file control is flagged, with what it says and what the entries add up to
    assert len(parsed.events) == 3
    [flag] = parsed.flags
    assert (flag.code, flag.location) == ("control_total_mismatch", Location(LABEL, 9))
    assert flag.reason == (
        "the file control on line 9 does not match the batches: entry/addenda count is 4, the "
        "records add up to 3; total credit is 0.01, the entries add up to 2.50"
    )


def test_entry_count_and_entry_hash_are_checked() -> None:
    text = _valid_two_batches()
    control = text.split("\n")[4]
    text = _replace_line(text, 5, control[:4] + "000003" + "0000000001" + control[20:])
    [flag] = parse(text).flags
    assert flag.reason == (
        "batch 1 (header on line 2): the batch control on line 5 does not match its entries: "
        "entry/addenda count is 3, the records add up to 2; entry hash is 0000000001, the "
        "routing numbers add up to 0032238011"
    )


def test_a_credits_only_batch_holding_a_debit_is_flagged() -> None:
    parsed = parse(ach_file([Batch([Entry(tc=27)], service_class="220")]))
    assert [(f.code, f.location.line) for f in parsed.flags] == [("service_class_mismatch", 2)]
    assert len(parsed.events) == 1


def test_missing_controls_and_headers_are_flagged() -> None:
    text = ach_file([Batch([Entry()])], pad=False)
    lines = text.split("\n")
    # no batch control, no file control
    parsed = parse("\n".join(lines[:3]))
    assert [f.code for f in parsed.flags] == ["missing_batch_control", "missing_file_control"]
    assert len(parsed.events) == 1
    # no file header
    parsed = parse("\n".join(lines[1:]))
    assert parsed.flags[0].code == "missing_file_header"
    assert parsed.events[0].source == "bank:ach"


def test_a_malformed_file_header_is_flagged_and_its_entries_still_read() -> None:
    text = ach_file([Batch([Entry()])])
    header = text.split("\n")[0]
    parsed = parse(_replace_line(text, 1, header[:34] + "095" + header[37:]))
    [flag] = parsed.flags
    assert (flag.code, flag.location.line) == ("invalid_file_header", 1)
    assert flag.reason == "file header: record size '095' (columns 35-37) should be 094"
    assert len(parsed.events) == 1


def test_a_file_control_with_text_after_column_94_is_flagged() -> None:
    text = ach_file([Batch([Entry()])])
    control = text.split("\n")[4]
    [flag] = parse(_replace_line(text, 5, control + "JUNK")).flags
    assert (flag.code, flag.reason) == (
        "invalid_file_control",
        "file control record is 98 characters long, not 94; the file totals are not checked",
    )


def test_nul_bytes_never_reach_the_output() -> None:
    text = ach_file([Batch([Entry(name="JANE\x00DOE")])])
    [event] = parse(text).events
    assert event.attributes["individual_name"] == "JANE\ufffdDOE"
    assert event.raw is not None
    assert "\x00" not in event.raw


def test_two_files_in_one_are_read_one_after_the_other() -> None:
    first = ach_file([Batch([Entry(amount=100)])], created="260330")
    second = ach_file([Batch([Entry(amount=200)])], created="260331")
    parsed = parse(first + second)
    assert parsed.flags == []
    assert [(e.external_id, e.amount) for e in parsed.events] == [
        ("2603300830A121042882:1:121042880000001", Decimal("1.00")),
        ("2603310830A121042882:1:121042880000001", Decimal("2.00")),
    ]


def test_an_empty_file_is_flagged() -> None:
    parsed = parse(b"")
    assert [f.code for f in parsed.flags] == ["empty_file"]
    assert parse(b"\n\r\n   \n").flags[0].code == "empty_file"


# --- entries that cannot be read ---------------------------------------------------------------


def _entry_line(text: str) -> str:
    return text.split("\n")[2]


@pytest.mark.parametrize(
    ("change", "code", "field_name", "reason"),
    [
        (lambda r: r[:1] + "25" + r[3:], "invalid_field", "transaction_code",
         "transaction code '25' (columns 2-3) is not a NACHA transaction code"),
        (lambda r: r[:11] + "5" + r[12:], "invalid_field", "check_digit",
         "check digit '5' (column 12) is wrong for routing number 23138010: it should be 4"),
        (lambda r: r[:3] + "2313801X" + r[11:], "invalid_field", "receiving_dfi_identification",
         "receiving DFI identification '2313801X' (columns 4-11) must be 8 digits"),
        (lambda r: r[:29] + "00000001.0" + r[39:], "invalid_field", "amount",
         "amount '00000001.0' (columns 30-39) must be 10 digits of cents"),
        (lambda r: r[:12] + " " * 17 + r[29:], "invalid_field", "dfi_account_number",
         "DFI account number (columns 13-29) is blank"),
        (lambda r: r[:79] + "12104288000000X", "invalid_field", "trace_number",
         "trace number '12104288000000X' (columns 80-94) must be 15 digits"),
        (lambda r: r[:78] + "2" + r[79:], "invalid_field", "addenda_record_indicator",
         "addenda record indicator '2' (column 79) must be 0 or 1"),
        (lambda r: r[:93], "record_length", None,
         "entry detail record is 93 characters long, not 94"),
        (lambda r: r + "X", "record_length", None,
         "entry detail record is 95 characters long, not 94"),
    ],
)  # fmt: skip
def test_a_bad_entry_is_a_located_rejection(
    change: Callable[[str], str], code: str, field_name: str | None, reason: str
) -> None:
    # given a file whose only entry has one bad field
    text = ach_file([Batch([Entry()])])
    text = _replace_line(text, 3, change(_entry_line(text)))
    # when parsed
    parsed = parse(text)
    # then the entry is rejected at its line, with the field and a plain reason
    assert parsed.events == []
    [rejection] = parsed.rejections
    assert (rejection.code, rejection.location, rejection.reason) == (
        code,
        Location(LABEL, 3, field_name),
        reason,
    )
    assert "12345678" not in rejection.raw  # the account is masked in quarantine too


def test_a_prenote_with_an_amount_is_rejected_and_a_prenote_without_is_kept() -> None:
    rejection = one_rejection(ach_file([Batch([Entry(tc=28, amount=5)])]))
    assert rejection.reason == (
        "transaction code 28 is a prenote, which must have a zero amount, not 0.05"
    )
    event = one_event(ach_file([Batch([Entry(tc=23, amount=0)])]))
    assert (event.amount, event.direction, event.attributes["prenote"]) == (
        Decimal("0.00"),
        "debit",
        True,
    )


def test_zero_dollar_entries_are_marked() -> None:
    event = one_event(ach_file([Batch([Entry(tc=24, amount=0, addenda=[a05("REMIT 1")])])]))
    assert event.attributes["zero_dollar"] is True
    assert event.attributes["payment_related_information"] == ["REMIT 1"]


def test_duplicate_trace_numbers_in_a_batch_are_rejected() -> None:
    text = ach_file([Batch([Entry(), Entry(amount=200)])])
    lines = text.split("\n")
    lines[3] = lines[3][:79] + lines[2][79:]
    parsed = parse("\n".join(lines))
    assert len(parsed.events) == 1
    [rejection] = parsed.rejections
    assert (rejection.code, rejection.location.line) == ("duplicate_trace", 4)
    assert rejection.reason == (
        "trace number 121042880000001 appears twice in batch 1 (header on line 2) (first on line 3)"
    )


def test_records_out_of_place_are_rejected_not_dropped() -> None:
    # given an entry before any batch header and a line that is no ACH record
    header, batch, entry, *controls = ach_file([Batch([Entry()])], pad=False).split("\n")
    garbage = "X" * 94
    parsed = parse("\n".join([header, entry, batch, entry, garbage, *controls]))
    # then both are rejected where they are, and the entry inside the batch is an event
    assert [(r.code, r.location.line) for r in parsed.rejections] == [
        ("entry_outside_batch", 2),
        ("unknown_record", 5),
    ]
    assert parsed.rejections[1].reason == (
        "unknown record type 'X': an ACH record starts with 1, 5, 6, 7, 8 or 9"
    )
    assert len(parsed.events) == 1
    # and an addenda record with no entry before it is rejected too
    orphan = "705" + "ORPHAN".ljust(80) + "0001" + "0000001"
    parsed = parse("\n".join([header, batch, orphan, entry, *controls]))
    assert [(r.code, r.location.line) for r in parsed.rejections] == [("orphan_addenda", 3)]


def test_addenda_after_an_entry_that_announces_none_reject_the_entry() -> None:
    text = ach_file([Batch([Entry(addenda=[a05("INFO")])])])
    text = _replace_line(text, 3, _entry_line(text)[:78] + "0" + _entry_line(text)[79:])
    rejection = one_rejection(text)
    assert rejection.code == "unexpected_addenda"
    assert rejection.reason == (
        "the entry's addenda record indicator is 0 but an addenda record follows it on line 4"
    )


def test_an_unknown_addenda_type_is_rejected_at_its_line() -> None:
    text = ach_file([Batch([Entry(addenda=[lambda trace: "742" + "X" * 84 + trace[-7:]])])])
    rejection = one_rejection(text)
    assert (rejection.code, rejection.location) == (
        "unknown_addenda_type",
        Location(LABEL, 4, "addenda_type_code"),
    )


def test_a_return_transaction_code_without_its_addenda_is_rejected() -> None:
    rejection = one_rejection(ach_file([Batch([Entry(tc=26)])]))
    assert rejection.code == "missing_addenda"
    assert rejection.reason == (
        "the entry is a return or notification of change (transaction code 26) but has no type "
        "99 (return) or 98 (change) addenda record"
    )


def test_adv_entries_are_rejected_as_unsupported() -> None:
    text = ach_file([Batch([Entry(tc=22)], sec="ADV", service_class="280")])
    rejection = one_rejection(text)
    assert rejection.code == "unsupported_entry"


# --- mapping details ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tc", "direction", "receiver_direction", "account_type"),
    [
        (22, "debit", "credit", "checking"),
        (27, "credit", "debit", "checking"),
        (32, "debit", "credit", "savings"),
        (37, "credit", "debit", "savings"),
        (42, "debit", "credit", "general_ledger"),
        (47, "credit", "debit", "general_ledger"),
        (52, "debit", "credit", "loan"),
        (55, "credit", "debit", "loan"),
    ],
)
def test_direction_is_the_originators(
    tc: int, direction: str, receiver_direction: str, account_type: str
) -> None:
    event = one_event(ach_file([Batch([Entry(tc=tc)])]))
    assert event.direction == direction
    assert event.attributes["receiver_direction"] == receiver_direction
    assert event.attributes["account_type"] == account_type


@pytest.mark.parametrize(
    ("tc", "direction"),
    [(21, "credit"), (26, "debit"), (31, "credit"), (36, "debit"), (41, "credit"), (56, "debit")],
)
def test_returns_move_money_back_the_other_way(tc: int, direction: str) -> None:
    entry = Entry(tc=tc, addenda=[a99("R02", "091000010000042", "23138010")])
    event = one_event(ach_file([Batch([entry])]))
    assert (event.type, event.direction, event.reason_code) == (
        "bank.transfer_returned",
        direction,
        "ach:R02",
    )
    assert event.refs.ach_trace == "091000010000042"


def test_transaction_codes_outside_nacha_are_unknown() -> None:
    known = {c for c in range(100) if transaction(f"{c:02d}") is not None}
    assert known == {
        *range(21, 25), *range(26, 30), *range(31, 35), *range(36, 40),
        *range(41, 45), *range(46, 50), *range(51, 57),
    }  # fmt: skip


@pytest.mark.parametrize(
    ("account", "masked"),
    [
        ("12345678", "****5678"),
        ("744-5678-99", "******78-99"),
        ("  987654321  ", "*****4321"),
        ("AB1234", "**1234"),
        ("1234", "1234"),
        ("11", "11"),
        ("ABCDEF", "******"),
        ("12345678901234567", "*************4567"),
    ],
)
def test_account_numbers_keep_only_their_last_four_digits(account: str, masked: str) -> None:
    assert mask_account(account) == masked


def test_noc_corrected_data_is_split_into_fields_with_accounts_masked() -> None:
    cases = {
        "C02": ("091000019", {"routing_number": "091000019"}),
        "C03": ("091000019   123456789",
                {"routing_number": "091000019", "account_number": "*****6789"}),
        "C05": ("32", {"transaction_code": "32"}),
        "C06": ("123456789           32",
                {"account_number": "*****6789", "transaction_code": "32"}),
        "C07": ("091000019" "12345678901234567" "37", {
            "routing_number": "091000019", "account_number": "*************4567",
            "transaction_code": "37",
        }),
        "C09": ("CUST-42", {"individual_id": "CUST-42"}),
    }  # fmt: skip
    for code, (corrected, expected) in cases.items():
        addenda = a98(code, "121042880000009", "23138010", corrected)
        entry = Entry(tc=21, amount=0, addenda=[addenda])
        event = one_event(ach_file([Batch([entry], sec="COR")]))
        assert event.type == "bank.notification_of_change"
        assert event.reason_code == f"ach:{code}"
        assert event.attributes["corrected"] == expected, code
        assert event.raw is not None
        assert "12345678901234" not in event.raw
        assert "123456789 " not in event.raw.splitlines()[1]


def test_a_refused_noc_names_the_change_it_refuses() -> None:
    def refused(trace: str) -> str:
        return f"798C62121042880000009{'':6}23138010{'1234567':<29}C01{'0000009'}{'':5}{trace}"

    event = one_event(ach_file([Batch([Entry(tc=21, amount=0, addenda=[refused])], sec="COR")]))
    assert event.reason_code == "ach:C62"
    assert event.reason_message == "Incorrect Trace Number"
    assert event.attributes["change"]["refused"] is True
    assert event.attributes["change"]["change_code"] == "C01"
    assert event.attributes["corrected"] == {"account_number": "***4567"}


def test_iat_entries_read_the_international_layout() -> None:
    # given an IAT batch: originator and receiver are in the 10-16 addenda
    odfi = "12104288"
    trace = f"{odfi}0000001"
    records = [
        f"5220{'':16}FV3{'':15}CA1234567890IATPAYROLL   USDCAD260331{'':3}1{odfi}0000001",
        f"622231380104{'0007':4}{'':13}{12345:010d}{'98765432100':<35}{'':4}1{trace}",
        f"710WEB{'':18}{'':22}{'ZOEY PAYNE':<35}{'':6}0000001",
        f"711{'TEST COMPANY':<35}{'123 EASY STREET':<35}{'':14}0000001",
        f"712{'ANYTOWN*KS':<35}{'US*12345':<35}{'':14}0000001",
        f"713{'U.S. BANK':<35}01{'121042882':<34}US {'':10}0000001",
        f"714{'CENTRAL':<35}01{'23138010':<34}CA {'':10}0000001",
        f"715{'RCV-77':<15}{'PO Box 450':<35}{'':34}0000001",
        f"716{'Metropolis*ON':<35}{'CA*01234':<35}{'':14}0000001",
    ]
    assert all(len(r) == 94 for r in records)
    header = f"101 231380104 1210428822603300830A094101{'DEST BANK':<23}{'ORIGIN BANK':<23}{'':8}"
    control = f"82200000080023138010000000000000000000012345{'1234567890':<10}{'':25}{odfi}0000001"
    file_control = f"9000001000002000000080023138010000000000000000000012345{'':39}"
    event = one_event("\n".join([header, *records, control, file_control]))
    # then the event carries the IAT fields
    assert event.amount == Decimal("123.45")
    assert event.direction == "debit"
    assert event.refs.bank_account == "231380104:*******2100"
    assert event.refs.customer == "RCV-77"
    assert event.attributes["individual_name"] == "ZOEY PAYNE"
    assert event.attributes["company_name"] == "TEST COMPANY"
    assert event.attributes["iat"] == {
        "foreign_exchange_indicator": "FV",
        "destination_country": "CA",
        "originating_currency": "USD",
        "destination_currency": "CAD",
        "transaction_type_code": "WEB",
        "odfi_name": "U.S. BANK",
        "odfi_branch_country": "US",
        "rdfi_name": "CENTRAL",
        "rdfi_branch_country": "CA",
    }


def test_ack_entries_are_acceptances_of_the_acknowledged_entry() -> None:
    entry = Entry(tc=24, amount=0, ident="121042880000042", name="ACME SUPPLY")
    event = one_event(ach_file([Batch([entry], sec="ACK")]))
    assert event.type == "bank.transfer_accepted"
    assert event.refs.ach_trace == "121042880000042"
    assert event.refs.bank_transaction == "121042880000001"


def test_effective_date_falls_back_to_the_creation_date_and_says_so() -> None:
    event = one_event(ach_file([Batch([Entry()], effective="      ")]))
    assert event.occurred_at == datetime(2026, 3, 30, tzinfo=UTC)
    assert event.attributes["occurred_at_from"] == "file_creation_date"
    assert event.attributes["effective_entry_date_raw"] == "      "
    assert "effective_entry_date" not in event.attributes


def test_an_entry_with_no_usable_date_is_rejected() -> None:
    parsed = parse(ach_file([Batch([Entry()], effective="991399")], created="260231"))
    [rejection] = parsed.rejections
    assert rejection.location == Location(LABEL, 3, "effective_entry_date")
    assert rejection.reason == (
        "no date for the entry: the batch's effective entry date '991399' (line 2, columns "
        "70-75) and the file creation date '260231' are not YYMMDD dates"
    )


def test_the_context_source_overrides_the_files_routing_number() -> None:
    event = one_event(ach_file([Batch([Entry()])]), source="bank:ach-main")
    assert event.source == "bank:ach-main"
    assert event.id == event_id_for("bank:ach-main", event.external_id)


def test_a_parse_of_the_same_bytes_gives_the_same_ids() -> None:
    text = _valid_two_batches()
    assert [e.id for e in parse(text).events] == [e.id for e in parse(text).events]


def test_ten_thousand_entries_parse_to_ten_thousand_events() -> None:
    entries = [Entry(tc=27 if i % 2 else 22, amount=i + 1, ident=f"C{i}") for i in range(10_000)]
    batches = [Batch(entries[i : i + 1000]) for i in range(0, 10_000, 1000)]
    parsed = parse(ach_file(batches))
    assert parsed.flags == []
    assert parsed.rejections == []
    assert len(parsed.events) == 10_000
    assert sum(e.amount or 0 for e in parsed.events) == Decimal(sum(range(1, 10_001))) / 100


# --- properties --------------------------------------------------------------------------------

_names = st.text(alphabet=string.ascii_letters + string.digits + " #&-", max_size=22)
_accounts = st.text(alphabet="0123456789-ABC", min_size=1, max_size=17).filter(
    lambda s: not s.startswith(" ")
)
_routings = st.sampled_from(["23138010", "09100001", "12104288", "02100002", "06200001"])
_codes = st.sampled_from(["R01", "R02", "R03", "R07", "R10", "R29", "R68", "R71"])


@st.composite
def entries(draw: st.DrawFn) -> Entry:
    tc = draw(st.sampled_from([22, 23, 24, 27, 28, 29, 32, 37, 26, 21]))
    amount = 0 if tc % 10 in (3, 8) else draw(st.integers(0, 9_999_999_999))
    addenda: list[Addenda] = []
    if tc in (21, 26):
        code = draw(_codes)
        addenda.append(a99(code, "091000010000042", draw(_routings)))
    elif draw(st.booleans()):
        addenda.append(a05(draw(_names)))
    return Entry(
        tc=tc,
        rdfi=draw(_routings),
        account=draw(_accounts),
        amount=amount,
        ident=draw(_names),
        name=draw(_names),
        addenda=addenda,
    )


@st.composite
def valid_files(draw: st.DrawFn) -> tuple[str, list[Entry]]:
    batches = draw(
        st.lists(
            st.builds(
                Batch,
                st.lists(entries(), min_size=1, max_size=6),
                sec=st.sampled_from(["PPD", "CCD", "WEB", "TEL"]),
            ),
            min_size=1,
            max_size=3,
        )
    )
    line_end = draw(st.sampled_from(["\n", "\r\n"]))
    text = ach_file(batches, line_end=line_end, pad=draw(st.booleans()))
    return text, [entry for batch in batches for entry in batch.entries]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_files())
def test_every_entry_of_a_valid_file_is_exactly_one_event(
    generated: tuple[str, list[Entry]],
) -> None:
    text, written = generated
    parsed = parse(text)
    assert parsed.flags == []
    assert parsed.rejections == []
    assert len(parsed.events) == len(written) == len(entry_records(text.encode()))
    assert [e.amount for e in parsed.events] == [Decimal(entry.amount) / 100 for entry in written]
    assert [e.attributes["transaction_code"] for e in parsed.events] == [e.tc for e in written]


_SAMPLES = sorted(FIXTURES.glob("*.ach"))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(_SAMPLES), st.integers(min_value=0, max_value=30_000))
def test_a_truncated_file_never_raises(path: Path, cut: int) -> None:
    data = path.read_bytes()
    items = parse(data[: cut % (len(data) + 1)], label=path.name).items
    assert_only_items(items, path.name)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(_SAMPLES),
    st.lists(st.tuples(st.integers(0, 30_000), st.binary(min_size=0, max_size=3)), max_size=8),
)
def test_a_mutated_file_never_raises(path: Path, edits: list[tuple[int, bytes]]) -> None:
    data = bytearray(path.read_bytes())
    for position, replacement in edits:
        at = position % (len(data) + 1)
        data[at : at + len(replacement)] = replacement
    items = parse(bytes(data), label=path.name).items
    assert_only_items(items, path.name)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2_000))
def test_random_bytes_never_raise(data: bytes) -> None:
    assert_only_items(parse(data, label="random.ach").items, "random.ach")


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.text(alphabet="0123456789 12356789ABCDEFRC\r", min_size=0, max_size=100), max_size=30
    )
)
def test_record_shaped_noise_never_raises(lines: list[str]) -> None:
    assert_only_items(parse("\n".join(lines), label="noise.ach").items, "noise.ach")
