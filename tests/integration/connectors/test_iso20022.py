"""The ISO 20022 connectors (camt.052/053/054, pain.002, pacs.002, pacs.004).

On real samples: genkgo/camt's camt files, each checked against the parse genkgo expects (its
``.json``), and moov-io/iso20022's Swiss status reports and camt.054 return (copies in
``tests/fixtures/iso20022``, origin and licences in the NOTICE there; the team's shared copy is
read too when it is present). On messages written here: rejects and returns with their ISO reason
codes, batch entries, balance checks, every kind of broken input. Nothing may raise.

Values that canonical ingestion takes for possible card numbers (13 to 19 digits passing the Luhn
check, as the digits of some IBANs do) are masked in attributes and evidence; expectations for
those go through :func:`stored`.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from recoup.adapters.connectors.bankfiles.iso20022 import FORMATS, message_family
from recoup.adapters.connectors.base import ParseContext
from recoup.domain.ingestion.canonical import Rejection
from recoup.domain.ingestion.event import SOURCE_PATTERN, Event
from tests.integration.connectors.support import (
    FIXTURES_ROOT,
    SHARED_ROOT,
    Parsed,
    assert_only_items,
    stored,
)

RECEIVED = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
FIXTURES = FIXTURES_ROOT / "iso20022"
SHARED = SHARED_ROOT / "iso20022"
BY_NAME = {fmt.name: fmt for fmt in FORMATS}
LABEL = "bank-file.xml"
CAMT053_NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"

GENKGO = sorted((FIXTURES / "genkgo-camt").glob("*.xml"))
WITH_ORACLE = [path for path in GENKGO if path.with_suffix(".json").exists()]
MOOV = FIXTURES / "moov"
MOOV_RETURNS = MOOV / "camt054-returns_p_ch5109000000250092291_1110097606_0_2020112500512470.xml"
MOOV_PAIN002_CHDD = (
    MOOV / "pain002-chdd-cor1_p_ch2909000000250094239_1110097483_0_2018031317221082.xml"
)
MOOV_PAIN002_EPO = MOOV / "pain002-epo_p_0_0_0_2018031510491259.xml"


def parse(data: bytes, fmt: str, *, label: str = LABEL, source: str | None = None) -> Parsed:
    context = ParseContext(label=label, received_at=RECEIVED, source=source)
    return Parsed(list(BY_NAME[fmt].parse(data, context)))


def parse_file(path: Path) -> Parsed:
    data = path.read_bytes()
    fmt = message_family(data[:4096])
    assert fmt is not None, path.name
    return parse(data, fmt, label=path.name)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# -- messages written here -----------------------------------------------------------------------


def document(namespace: str, body: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{namespace}">\n{body}\n'
        "</Document>\n"
    ).encode()


def balance(code: str, value: str, indicator: str = "CRDT", day: str = "2026-03-02") -> str:
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
        f'<Amt Ccy="EUR">{value}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>'
        f"<Dt><Dt>{day}</Dt></Dt></Bal>"
    )


def entry(
    value: str,
    indicator: str,
    *,
    status: str = "BOOK",
    end_to_end: str | None = None,
    extra: str = "",
    details: str | None = None,
    currency: str = "EUR",
) -> str:
    refs = f"<Refs><EndToEndId>{end_to_end}</EndToEndId></Refs>" if end_to_end else ""
    tx = details if details is not None else (f"<TxDtls>{refs}</TxDtls>" if refs else "")
    return (
        f'<Ntry><Amt Ccy="{currency}">{value}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>'
        f"<Sts>{status}</Sts><BookgDt><Dt>2026-03-02</Dt></BookgDt>"
        f"<ValDt><Dt>2026-03-03</Dt></ValDt>{extra}"
        + (f"<NtryDtls>{tx}</NtryDtls>" if tx else "")
        + "</Ntry>"
    )


def camt053(*parts: str, msg_id: str = "MSG-1", stmt_id: str = "STMT-1") -> bytes:
    return document(
        CAMT053_NS,
        f"<BkToCstmrStmt><GrpHdr><MsgId>{msg_id}</MsgId>"
        "<CreDtTm>2026-03-02T18:00:00+01:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>{stmt_id}</Id><CreDtTm>2026-03-02T18:00:00+01:00</CreDtTm>"
        "<Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>\n"
        + "\n".join(parts)
        + "\n</Stmt></BkToCstmrStmt>",
    )


def camt054(*parts: str, msg_id: str = "NTF-1") -> bytes:
    return document(
        "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08",
        f"<BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>{msg_id}</MsgId>"
        "<CreDtTm>2026-03-05T07:00:00Z</CreDtTm></GrpHdr>"
        "<Ntfctn><Id>NTFCTN-1</Id><CreDtTm>2026-03-05T07:00:00Z</CreDtTm>"
        "<Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>\n"
        + "\n".join(parts)
        + "\n</Ntfctn></BkToCstmrDbtCdtNtfctn>",
    )


def statement(count: int) -> bytes:
    """A balanced camt.053 with ``count`` entries, pretty much as banks send them."""
    lines = []
    total = Decimal("1000.00")
    for number in range(1, count + 1):
        value = Decimal(number % 997 + 1) + Decimal(number % 100) / 100
        credit = number % 3 != 0
        total += value if credit else -value
        lines.append(
            f"""<Ntry>
  <Amt Ccy="EUR">{value}</Amt>
  <CdtDbtInd>{"CRDT" if credit else "DBIT"}</CdtDbtInd>
  <Sts>BOOK</Sts>
  <BookgDt><Dt>2026-03-02</Dt></BookgDt>
  <ValDt><Dt>2026-03-02</Dt></ValDt>
  <AcctSvcrRef>ASR{number:09d}</AcctSvcrRef>
  <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
  <NtryDtls><TxDtls>
    <Refs><InstrId>INSTR-{number}</InstrId><EndToEndId>E2E-{number}</EndToEndId></Refs>
    <RltdPties>
      <Dbtr><Nm>Customer {number}</Nm></Dbtr>
      <DbtrAcct><Id><IBAN>FR7630006000011234567890189</IBAN></Id></DbtrAcct>
      <Cdtr><Nm>Recoup Ltd</Nm></Cdtr>
    </RltdPties>
    <RmtInf><Ustrd>Invoice INV-{number}</Ustrd></RmtInf>
  </TxDtls></NtryDtls>
</Ntry>"""
        )
    closing = "CRDT" if total >= 0 else "DBIT"
    return camt053(
        balance("OPBD", "1000.00"),
        balance("CLBD", str(abs(total)), closing),
        *lines,
        msg_id="BULK-1",
        stmt_id="BULK-STMT",
    )


# -- every sample: parses or is rejected, never raises --------------------------------------------


def _all_items_are_accounted_for(parsed: Parsed, label: str) -> None:
    assert_only_items(parsed.items, label)
    for rejection in parsed.rejections:
        assert rejection.code != "parser_error", rejection.reason


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*/*.xml")), ids=lambda p: p.name)
def test_every_copied_sample_is_recognised_and_read_without_raising(path: Path) -> None:
    # given a sample file
    data = path.read_bytes()
    # when every format sniffs it
    matching = [fmt.name for fmt in FORMATS if fmt.sniff(path.name, data[:4096])]
    # then exactly one format claims it, and it reads into events or located rejections
    assert len(matching) == 1
    parsed = parse(data, matching[0], label=path.name)
    assert parsed.items
    _all_items_are_accounted_for(parsed, path.name)


def _shared_samples() -> list[Path]:
    return sorted(SHARED.glob("**/*.xml")) if SHARED.is_dir() else []


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"no shared fixtures at {SHARED}")
@pytest.mark.parametrize("path", _shared_samples(), ids=lambda p: p.name)
def test_every_shared_sample_reads_into_events_or_rejections_naming_the_file(path: Path) -> None:
    # given any ISO 20022 file of the team's shared fixtures
    data = path.read_bytes()
    fmt = message_family(data[:4096])
    # when it is read by the format its namespace names
    assert fmt in BY_NAME
    parsed = parse(data, fmt, label=path.name)
    # then it gives events, or rejections and flags that name the file
    assert parsed.items
    _all_items_are_accounted_for(parsed, path.name)


def test_the_copies_are_the_shared_samples_byte_for_byte() -> None:
    if not SHARED.is_dir():
        pytest.skip(f"no shared fixtures at {SHARED}")
    for copy in sorted(FIXTURES.glob("*/*")):
        original = SHARED / copy.parent.name / copy.name
        assert original.read_bytes() == copy.read_bytes(), copy.name


# -- against genkgo/camt's expected parse ---------------------------------------------------------

RECORD_TAGS = {"camt.053": "Stmt", "camt.052": "Rpt", "camt.054": "Ntfctn"}
BALANCE_TYPES = {
    "opening": {"OPBD", "PRCD"},
    "closing": {"CLBD"},
    "opening_available": {"OPAV"},
    "closing_available": {"CLAV"},
    "forward_available": {"FWAV"},
    "information": {"INFO"},
    "interim_available": {"ITAV"},
    "interim": {"ITBD"},
    "expected_credit": {"XPCD"},
}


def _oracle(path: Path) -> tuple[str, list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Message id, every entry and every fully written record of a genkgo ``.json``."""
    data = json.loads(path.read_text(encoding="utf-8"))
    entries: list[dict[str, Any]] = []
    records: dict[str, dict[str, Any]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            kind = str(node.get("__CLASS__", "")).rsplit("\\", 1)[-1]
            if kind == "Entry":
                entries.append(node)
            if kind in ("Statement", "Report", "Notification") and "getId" in node:
                records[node["getId"]] = node
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(data)
    return data["getGroupHeader"]["getMessageId"], entries, records


def _money(oracle: dict[str, Any]) -> tuple[Decimal, str, str]:
    """(|amount|, currency, direction) of a genkgo Money in minor units."""
    minor = int(oracle["getAmount"])
    currency = oracle["getCurrency"]["getCode"]
    exponent = 0 if currency == "JPY" else 2
    value = Decimal(abs(minor)).scaleb(-exponent)
    return value, currency, "debit" if minor < 0 else "credit"


def _transactions(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """genkgo writes an object once: the first transaction may stand as ``__RECURSIVITY__``."""
    found = []
    for index, tx in enumerate(entry["getTransactionDetails"]):
        if tx == "__RECURSIVITY__" and index == 0:
            tx = entry["getTransactionDetail"]
        assert isinstance(tx, dict)
        found.append(tx)
    return found


def _record_positions(path: Path, tag: str) -> dict[str, int]:
    root = etree.parse(str(path)).getroot()
    records = root.iter(f"{{*}}{tag}")
    return {el.findtext("{*}Id") or "": number for number, el in enumerate(records, start=1)}


@pytest.mark.parametrize("path", WITH_ORACLE, ids=lambda p: p.name)
def test_entries_match_what_genkgo_camt_expects(path: Path) -> None:
    # given a genkgo sample and the parse genkgo expects of it
    msg_id, entries, _ = _oracle(path.with_suffix(".json"))
    family = message_family(path.read_bytes()[:4096])
    assert family is not None
    tag = RECORD_TAGS[family]
    positions = _record_positions(path, tag)
    # when we read it
    parsed = parse_file(path)
    # then every entry genkgo sees is an event with the same amount, direction, currency, dates
    # and references, or, where the entry has no date at all, a rejection located at it
    assert entries or family == "camt.053"
    for oracle in entries:
        record = oracle["getRecord"]
        assert isinstance(record, dict)
        record_id = record["getId"]
        number = oracle["getIndex"] + 1
        if oracle["getBookingDate"] is None and oracle["getValueDate"] is None:
            where = f"{tag}[{positions[record_id]}]/Ntry[{number}]/BookgDt"
            assert [r.location.field for r in parsed.rejections] == [where]
            assert parsed.rejections[0].code == "missing_element"
            continue
        prefix = f"{msg_id}:{record_id}:{number}"
        events = [
            e
            for e in parsed.events
            if e.external_id == prefix or e.external_id.startswith(prefix + ":")
        ]
        txs = _transactions(oracle)
        assert len(events) == max(1, len(txs))
        value, currency, direction = _money(oracle["getAmount"])
        booked = oracle["getBookingDate"] or oracle["getValueDate"]
        for event in events:
            assert event.occurred_at == utc(booked["0"])
            assert event.direction == direction
            assert (
                oracle["getCreditDebitIndicator"] == {"credit": "CRDT", "debit": "DBIT"}[direction]
            )
            assert event.status == oracle["getStatus"].lower()
            assert event.attributes["statement_id"] == stored(record_id)
            if oracle["getValueDate"] is not None:
                assert event.attributes["value_date"] == oracle["getValueDate"]["0"][:10]
            if oracle["getAccountServicerReference"] is not None:
                assert event.refs.bank_transaction == oracle["getAccountServicerReference"]
        if len(txs) <= 1:
            assert (events[0].amount, events[0].currency) == (value, currency)
        for event, tx in zip(events, txs, strict=False):
            reference = tx["getReference"] or {}
            end_to_end = reference.get("getEndToEndId")
            if end_to_end and end_to_end != "NOTPROVIDED":
                assert event.refs.end_to_end == end_to_end
            assert event.refs.instruction == reference.get("getInstructionId")
            assert event.refs.uetr == reference.get("getUuidEndToEndReference")
            if len(txs) > 1:
                if tx["getAmount"] is None:
                    assert event.amount is None
                    assert event.attributes["entry_amount"] == {
                        "amount": str(value),
                        "currency": currency,
                    }
                else:
                    tx_value, tx_currency, tx_direction = _money(tx["getAmount"])
                    assert (event.amount, event.currency) == (tx_value, tx_currency)
                    assert event.direction == tx_direction


@pytest.mark.parametrize("path", WITH_ORACLE, ids=lambda p: p.name)
def test_balances_match_what_genkgo_camt_expects(path: Path) -> None:
    # given a genkgo sample whose records carry balances
    _, _, records = _oracle(path.with_suffix(".json"))
    # when we read it
    parsed = parse_file(path)
    # then each balance is a bank.balance event with the same type, amount, sign and date
    for record_id, record in records.items():
        expected = record.get("getBalances") or []
        got = [
            e
            for e in parsed.of_type("bank.balance")
            if e.attributes["statement_id"] == stored(record_id)
        ]
        assert len(got) == len(expected)
        for event, oracle in zip(got, expected, strict=True):
            value, currency, direction = _money(oracle["getAmount"])
            assert (event.amount, event.currency, event.direction) == (value, currency, direction)
            assert event.occurred_at == utc(oracle["getDate"]["0"])
            assert event.attributes["balance_type"] in BALANCE_TYPES[oracle["getType"]]


def test_a_statement_message_without_a_statement_is_rejected_where_it_is_missing() -> None:
    # given genkgo's "wrong" sample: a camt.053 group header and no Stmt at all
    path = FIXTURES / "genkgo-camt" / "camt053.v2.wrong.xml"
    # when it is read
    parsed = parse_file(path)
    # then it is one rejection naming the file, the line and the missing element
    assert len(parsed.items) == 1
    rejection = parsed.rejections[0]
    assert (rejection.location.file, rejection.location.line) == ("camt053.v2.wrong.xml", 3)
    assert rejection.location.field == "BkToCstmrStmt/Stmt"
    assert rejection.code == "missing_element"
    assert rejection.reason == "the camt.053 message has no Stmt: there is nothing to read"


# -- balances ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "flags"),
    [
        ("camt053.v2.multi.statement.xml", []),
        (
            "camt053.v2.five.decimals.xml",
            [
                "Stmt 253EURNL26VAYB8060476890: opening 18.15 EUR + booked entries 8.85 = 27.00 "
                "EUR, but the closing balance is 27.05 EUR (difference 0.05 EUR)"
            ],
        ),
        (
            "camt053.v2.all-balance-types.xml",
            [
                "Stmt CAMT0532015012200001: opening 1.01 EUR + booked entries 8.85 = 9.86 EUR, "
                "but the closing balance is 4.04 EUR (difference -5.82 EUR)"
            ],
        ),
        (
            "camt053.v2.minimal.xml",
            [
                "Stmt 253EURNL26VAYB8060476890: balances cannot be checked, the opening balance "
                "is in EUR but the closing balance or booked entries are in SEK"
            ],
        ),
        ("camt053.v2.with-account-name.xml", []),  # a closing balance alone: nothing to check
        ("camt53.only-Dt-with-DtTm.xml", []),  # an opening balance alone
    ],
)
def test_statements_are_checked_opening_plus_entries_equals_closing(
    name: str, flags: list[str]
) -> None:
    # given a genkgo statement (checked by hand: 18.15 + 8.85 = 27.00 and 27.00 - 7.00 = 20.00
    # in the two statements of multi.statement; 18.150 + 8.850 is not the 27.050 it closes at;
    # all-balance-types opens at 1.01 and closes at 4.04 around one 8.85 credit; minimal opens in
    # EUR and closes in SEK)
    # when it is read
    parsed = parse_file(FIXTURES / "genkgo-camt" / name)
    # then exactly the statements that do not add up are flagged
    assert [flag.reason for flag in parsed.flags] == flags
    assert {flag.code for flag in parsed.flags} <= {"balance_mismatch"}


def test_every_genkgo_sample_with_both_balances_is_flagged_or_adds_up() -> None:
    for path in GENKGO:
        parsed = parse_file(path)
        for flag in parsed.flags:
            assert flag.code == "balance_mismatch"
            assert flag.location.file == path.name
            assert flag.location.field is not None
            assert flag.location.field.startswith(("Stmt[", "Rpt["))


def test_a_balanced_statement_has_no_flag_and_an_unbalanced_one_names_the_difference() -> None:
    # given a statement that adds up (100.00 + 25.50 - 10.25 = 115.25) and one that is 0.01 off
    entries = (
        entry("25.50", "CRDT"),
        entry("10.25", "DBIT"),
        entry("99.00", "CRDT", status="PDNG"),
    )
    good = camt053(balance("OPBD", "100.00"), balance("CLBD", "115.25"), *entries)
    bad = camt053(balance("OPBD", "100.00"), balance("CLBD", "115.26"), *entries)
    # when both are read
    # then only the second is flagged, with the statement id and the difference (pending entries
    # do not count)
    assert parse(good, "camt.053").flags == []
    flags = parse(bad, "camt.053").flags
    assert [(f.code, f.location.field, f.location.line) for f in flags] == [
        ("balance_mismatch", "Stmt[1]", 3)
    ]
    assert flags[0].reason == (
        "Stmt STMT-1: opening 100.00 EUR + booked entries 15.25 = 115.25 EUR, but the closing "
        "balance is 115.26 EUR (difference 0.01 EUR)"
    )


def test_a_debit_balance_is_negative_in_the_check_and_a_debit_event() -> None:
    # given an overdrawn account: -50.00 + 20.00 = -30.00
    data = camt053(
        balance("PRCD", "50.00", "DBIT"), balance("CLBD", "30.00", "DBIT"), entry("20.00", "CRDT")
    )
    # when it is read
    parsed = parse(data, "camt.053")
    # then it adds up, and the balances are debit events of the absolute amount
    assert parsed.flags == []
    assert [
        (e.amount, e.direction, e.attributes["balance_type"])
        for e in parsed.of_type("bank.balance")
    ] == [(Decimal("50.00"), "debit", "PRCD"), (Decimal("30.00"), "debit", "CLBD")]


# -- statement lines -----------------------------------------------------------------------------


def test_a_statement_line_carries_amount_direction_dates_references_and_details() -> None:
    # given a booked credit with full details
    details = (
        "<TxDtls><Refs><AcctSvcrRef>TX-ASR</AcctSvcrRef><InstrId>INSTR-7</InstrId>"
        "<EndToEndId>E2E-7</EndToEndId><UETR>1b8e3a8a-5c0e-4ad5-9f3a-0f6b9b0c1d2e</UETR></Refs>"
        "<RltdPties><Dbtr><Nm>ACME GmbH</Nm></Dbtr><DbtrAcct><Id><Othr><Id>ACME-001</Id></Othr>"
        "</Id></DbtrAcct></RltdPties><RmtInf><Ustrd>Invoice 42</Ustrd><Ustrd>thanks</Ustrd>"
        "</RmtInf></TxDtls>"
    )
    extra = (
        "<AcctSvcrRef>ASR-1</AcctSvcrRef><NtryRef>N-1</NtryRef><BkTxCd><Domn><Cd>PMNT</Cd>"
        "<Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>"
        '<Chrgs><TtlChrgsAndTaxAmt Ccy="EUR">1.50</TtlChrgsAndTaxAmt></Chrgs>'
    )
    data = camt053(entry("1234.5", "CRDT", extra=extra, details=details))
    # when it is read
    [line] = parse(data, "camt.053").events
    # then
    assert line.type == "bank.statement_line"
    assert line.source == "bank:DE89370400440532013000"
    assert line.external_id == "MSG-1:STMT-1:1"
    assert (line.amount, line.currency, line.direction) == (Decimal("1234.50"), "EUR", "credit")
    assert line.occurred_at == datetime(2026, 3, 2, tzinfo=UTC)
    assert line.received_at == RECEIVED
    assert line.status == "book"
    assert line.refs.items() == [
        ("bank_account", "DE89370400440532013000"),
        ("bank_transaction", "ASR-1"),
        ("end_to_end", "E2E-7"),
        ("instruction", "INSTR-7"),
        ("uetr", "1b8e3a8a-5c0e-4ad5-9f3a-0f6b9b0c1d2e"),
    ]
    assert line.attributes == {
        "message_id": "MSG-1",
        "statement_id": "STMT-1",
        "account_currency": "EUR",
        "entry_reference": "N-1",
        "value_date": "2026-03-03",
        "bank_transaction_code": "PMNT/RCDT/ESCT",
        "charges": {"amount": "1.50", "currency": "EUR"},
        "transaction_reference": "TX-ASR",
        "counterparty_name": "ACME GmbH",
        "counterparty_account": "ACME-001",
        "remittance": "Invoice 42 thanks",
    }
    assert line.raw is not None
    assert line.raw.startswith(f'<Ntry xmlns="{CAMT053_NS}"><Amt Ccy="EUR">1234.5</Amt>')


def test_the_not_provided_placeholder_is_no_end_to_end_id() -> None:
    data = camt053(entry("1.00", "DBIT", end_to_end="NOTPROVIDED"))
    [line] = parse(data, "camt.053").events
    assert line.refs.end_to_end is None


def test_a_reversal_keeps_the_direction_the_bank_booked_and_says_it_is_a_reversal() -> None:
    # given a credit that reverses an earlier debit (ISO 20022: CRDT with RvslInd true means the
    # original operation was a debit; this entry itself puts money in)
    data = camt053(
        entry("12.00", "CRDT", extra="<AcctSvcrRef>R-1</AcctSvcrRef>").replace(
            "<Sts>", "<RvslInd>true</RvslInd><Sts>"
        )
    )
    # when it is read
    [line] = parse(data, "camt.053").events
    # then it stays a credit, marked as a reversal
    assert line.direction == "credit"
    assert line.attributes["reversal"] is True


def test_a_batch_entry_is_one_event_per_transaction_with_the_entry_date_and_status() -> None:
    # given genkgo's camt.054 v4 sample: one DBIT entry with three transaction details
    parsed = parse_file(FIXTURES / "genkgo-camt" / "camt054.v4.xml")
    # then three events, each with its own amount and end-to-end id and the entry's booking
    lines = parsed.of_type("bank.statement_line")
    assert [(e.external_id, e.amount, e.currency, e.refs.end_to_end) for e in lines] == [
        (
            "AAAASESS-FP-ACCR001:AAAASESS-FP-ACCR001:1:1",
            Decimal("3.10"),
            "CHF",
            "UXC06170000006PI00001EE00001",
        ),
        (
            "AAAASESS-FP-ACCR001:AAAASESS-FP-ACCR001:1:2",
            Decimal("3.20"),
            "CHF",
            "UXC06170000006PI00001EE00002",
        ),
        (
            "AAAASESS-FP-ACCR001:AAAASESS-FP-ACCR001:1:3",
            Decimal("3.20"),
            "CHF",
            "UXC06170000006PI00001EE00002",
        ),
    ]
    for line in lines:
        assert line.occurred_at == datetime(2007, 10, 18, tzinfo=UTC)
        assert (line.status, line.direction) == ("book", "debit")
        assert line.attributes["batch_size"] == 3
        assert line.attributes["entry_amount"] == {"amount": "200000.00", "currency": "SEK"}
        assert line.attributes["transaction_direction"] == "credit"  # what the detail says
        assert line.raw is not None
        assert line.raw.count("<TxDtls>") == 1
    # the details (CHF) cannot be summed against the entry (SEK): no flag
    assert parsed.flags == []


def test_a_batch_whose_details_do_not_add_up_to_the_entry_is_flagged() -> None:
    details = "".join(
        f'<TxDtls><Refs><EndToEndId>B-{n}</EndToEndId></Refs><Amt Ccy="EUR">{v}</Amt></TxDtls>'
        for n, v in ((1, "10.00"), (2, "5.00"))
    )
    parsed = parse(camt053(entry("15.01", "DBIT", details=details)), "camt.053")
    assert [e.amount for e in parsed.events] == [Decimal("10.00"), Decimal("5.00")]
    assert [(f.code, f.location.field, f.reason) for f in parsed.flags] == [
        (
            "batch_mismatch",
            "Stmt[1]/Ntry[1]",
            "Stmt[1]/Ntry[1]: the 2 transaction details add up to 15.00 EUR but the entry is "
            "15.01 EUR",
        )
    ]


def test_external_ids_are_stable_across_redelivery_and_unique_in_the_file() -> None:
    for path in GENKGO:
        first, second = parse_file(path), parse_file(path)
        ids = [(e.source, e.external_id) for e in first.events]
        assert ids == [(e.source, e.external_id) for e in second.events]
        assert [e.event_id for e in first.events] == [e.event_id for e in second.events]
        assert len(set(ids)) == len(ids), path.name


def test_the_caller_can_name_the_source() -> None:
    parsed = parse(camt053(entry("1.00", "CRDT")), "camt.053", source="bank:treasury-main")
    assert {e.source for e in parsed.events} == {"bank:treasury-main"}


def test_an_account_id_with_unsafe_characters_becomes_a_valid_source() -> None:
    data = camt053(entry("1.00", "CRDT")).replace(
        b"<IBAN>DE89370400440532013000</IBAN>", b"<Othr><Id>12 345/678:9</Id></Othr>"
    )
    [line] = parse(data, "camt.053").events
    assert line.source == "bank:12-345-678-9"
    assert line.refs.bank_account == "12 345/678:9"


# -- located rejections --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("broken", "field", "code", "reason"),
    [
        (
            entry("8.85", "CRDT").replace('<Amt Ccy="EUR">8.85</Amt>', ""),
            "Stmt[1]/Ntry[2]/Amt",
            "missing_element",
            "Stmt[1]/Ntry[2]/Amt is missing",
        ),
        (
            entry("8.85", "CRDT").replace(' Ccy="EUR"', ""),
            "Stmt[1]/Ntry[2]/Amt",
            "missing_element",
            "Stmt[1]/Ntry[2]/Amt has no Ccy (currency) attribute",
        ),
        (
            entry("8.851", "CRDT"),
            "Stmt[1]/Ntry[2]/Amt",
            "invalid_value",
            "Stmt[1]/Ntry[2]/Amt 8.851 has 3 decimal places but EUR allows 2",
        ),
        (
            entry("12.5", "CRDT", currency="JPY"),
            "Stmt[1]/Ntry[2]/Amt",
            "invalid_value",
            "Stmt[1]/Ntry[2]/Amt 12.5 has 1 decimal places but JPY allows 0",
        ),
        (
            entry("-3.00", "CRDT"),
            "Stmt[1]/Ntry[2]/Amt",
            "invalid_value",
            "Stmt[1]/Ntry[2]/Amt '-3.00' is not an amount (digits, a point, at most 18 before it)",
        ),
        (
            entry("3.00", "CRDT", currency="XYZ"),
            "Stmt[1]/Ntry[2]/Amt/@Ccy",
            "invalid_value",
            "unknown ISO 4217 currency code 'XYZ'",
        ),
        (
            entry("3.00", "CRDIT"),
            "Stmt[1]/Ntry[2]/CdtDbtInd",
            "invalid_value",
            "Stmt[1]/Ntry[2]/CdtDbtInd 'CRDIT' is neither CRDT nor DBIT",
        ),
        (
            entry("3.00", "CRDT")
            .replace("<BookgDt><Dt>2026-03-02</Dt></BookgDt>", "")
            .replace("<ValDt><Dt>2026-03-03</Dt></ValDt>", ""),
            "Stmt[1]/Ntry[2]/BookgDt",
            "missing_element",
            "Stmt[1]/Ntry[2] has no booking date (BookgDt) and no value date (ValDt)",
        ),
        (
            entry("3.00", "CRDT").replace("2026-03-02", "2026-02-30"),
            "Stmt[1]/Ntry[2]/BookgDt/Dt",
            "invalid_value",
            "Stmt[1]/Ntry[2]/BookgDt/Dt '2026-02-30' is not an ISO date or date-time",
        ),
    ],
)
def test_a_bad_entry_is_one_rejection_located_at_its_element_and_line(
    broken: str, field: str, code: str, reason: str
) -> None:
    # given a statement whose second entry is broken, on line 5 of the file
    data = camt053(entry("1.00", "CRDT"), broken, entry("2.00", "DBIT"))
    # when it is read
    parsed = parse(data, "camt.053")
    # then the good entries are events and the broken one is a located rejection with evidence
    assert [e.external_id for e in parsed.events] == ["MSG-1:STMT-1:1", "MSG-1:STMT-1:3"]
    [rejection] = parsed.rejections
    assert (rejection.location.file, rejection.location.line) == (LABEL, 5)
    assert (rejection.location.field, rejection.code, rejection.reason) == (field, code, reason)
    assert rejection.raw.startswith(f'<Ntry xmlns="{CAMT053_NS}">')


def test_a_value_date_alone_dates_the_entry() -> None:
    data = camt053(entry("3.00", "CRDT").replace("<BookgDt><Dt>2026-03-02</Dt></BookgDt>", ""))
    [line] = parse(data, "camt.053").events
    assert line.occurred_at == datetime(2026, 3, 3, tzinfo=UTC)


def test_a_date_time_with_an_offset_is_converted_and_one_without_is_taken_as_utc() -> None:
    with_offset = entry("1.00", "CRDT").replace(
        "<BookgDt><Dt>2026-03-02</Dt></BookgDt>",
        "<BookgDt><DtTm>2026-03-02T10:15:00+01:00</DtTm></BookgDt>",
    )
    without = entry("1.00", "CRDT").replace(
        "<BookgDt><Dt>2026-03-02</Dt></BookgDt>",
        "<BookgDt><DtTm>2026-03-02T10:15:00.123456789</DtTm></BookgDt>",
    )
    first, second = parse(camt053(with_offset, without), "camt.053").events
    assert first.occurred_at == datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
    assert second.occurred_at == datetime(2026, 3, 2, 10, 15, 0, 123456, tzinfo=UTC)


def test_trailing_zero_decimals_beyond_the_currency_are_accepted_at_its_exponent() -> None:
    parsed = parse_file(FIXTURES / "genkgo-camt" / "camt53.only-Dt-with-DtTm.xml")
    [opening] = parsed.events
    assert (opening.amount, opening.currency) == (Decimal("5442.09"), "RON")
    assert str(opening.amount) == "5442.09"


def test_a_file_that_is_not_well_formed_is_one_rejection_with_the_parser_line() -> None:
    # given a statement cut off in the middle of line 5
    data = b"\n".join(camt053(entry("1.00", "CRDT")).split(b"\n")[:4]) + b"\n<Ntry><Amt"
    # when it is read
    parsed = parse(data, "camt.053")
    # then one rejection names the file, the line and what the parser said
    [rejection] = parsed.items
    assert isinstance(rejection, Rejection)
    assert (rejection.location.file, rejection.location.line) == (LABEL, 5)
    assert rejection.code == "invalid_xml"
    assert rejection.reason.startswith("not well-formed XML: ")
    assert rejection.raw == data.decode()


def test_entity_declarations_are_refused_without_being_expanded() -> None:
    # given a "billion laughs" document and one that points an entity at a local file
    laughs = (
        b'<?xml version="1.0"?>\n<!DOCTYPE Document [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>\n'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
        b"<GrpHdr><MsgId>&c;</MsgId></GrpHdr></BkToCstmrStmt></Document>"
    )
    external = (
        b'<?xml version="1.0"?>\n<!DOCTYPE Document [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
        b"<GrpHdr><MsgId>&x;</MsgId></GrpHdr></BkToCstmrStmt></Document>"
    )
    for data in (laughs, external):
        # when it is read
        [rejection] = parse(data, "camt.053").items
        # then it is refused as a whole, and nothing of the entity reaches the evidence
        assert isinstance(rejection, Rejection)
        assert rejection.code == "forbidden_dtd"
        assert "root:" not in rejection.raw
        assert "hahaha" not in rejection.raw


@pytest.mark.parametrize(
    ("data", "code", "reason"),
    [
        (b"", "empty_file", "the file is empty"),
        (b"  \n", "empty_file", "the file is empty"),
        (
            b'<Envelope xmlns="urn:x"><Body/></Envelope>',
            "unsupported_message",
            "no ISO 20022 Document element in the file",
        ),
        (
            document("urn:iso:std:iso:20022:tech:xsd:pain.001.001.03", "<CstmrCdtTrfInitn/>"),
            "unsupported_message",
            "Document holds <CstmrCdtTrfInitn>, which is not an ISO 20022 message read here",
        ),
        (
            document("urn:iso:std:iso:20022:tech:xsd:camt.052.001.02", "<BkToCstmrAcctRpt/>"),
            "unsupported_message",
            "this is a camt.052 message (<BkToCstmrAcctRpt>), not camt.053",
        ),
    ],
)
def test_what_is_not_a_readable_message_is_one_rejection(
    data: bytes, code: str, reason: str
) -> None:
    [rejection] = parse(data, "camt.053").items
    assert isinstance(rejection, Rejection)
    assert (rejection.location.file, rejection.code, rejection.reason) == (LABEL, code, reason)


# -- sniffing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "family"),
    [
        (
            b'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:'
            b'camt.053.001.08">',
            "camt.053",
        ),
        (
            b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?>\n<Document\n   xmlns="urn:iso:std:'
            b'iso:20022:tech:xsd:camt.054.001.02">',
            "camt.054",
        ),
        (
            '<?xml version="1.0" encoding="UTF-16"?><Document xmlns="urn:iso:std:iso:20022:tech:'
            'xsd:camt.052.001.06">'.encode("utf-16"),
            "camt.052",
        ),
        (b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:pain.002.001.10'>", "pain.002"),
        (
            b'<Document xmlns="http://www.six-interbank-clearing.com/de/pain.002.001.03.ch.02.xsd">',
            "pain.002",
        ),
        (
            b'<BizMsg xmlns:h="urn:iso:std:iso:20022:tech:xsd:head.001.001.02"><h:AppHdr/>'
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.002.001.10">',
            "pacs.002",
        ),
        (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.004.001.09">', "pacs.004"),
        (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03">', "pain.001"),
        (b":20:STARTUMSE\n:25:10020030/1234567\n", None),
        (b'{"source": "camt.053.001.02"}', None),
        (b"", None),
    ],
)
def test_files_are_recognised_by_their_namespace_only(head: bytes, family: str | None) -> None:
    assert message_family(head) == family
    assert [fmt.name for fmt in FORMATS if fmt.sniff("x.xml", head)] == (
        [family] if family in BY_NAME else []
    )


@given(st.binary(max_size=300))
def test_sniffing_never_raises(head: bytes) -> None:
    for fmt in FORMATS:
        assert fmt.sniff("file.xml", head) in (True, False)


# -- camt.054 returns ----------------------------------------------------------------------------


def test_the_moov_camt054_return_is_a_transfer_returned_with_its_iso_reason() -> None:
    # given a Swiss camt.054 booking a returned credit transfer (AC01: wrong account number)
    parsed = parse_file(MOOV_RETURNS)
    # then
    [returned] = parsed.events
    assert returned.type == "bank.transfer_returned"
    assert returned.reason_code == "iso:AC01"
    assert returned.reason_message == "the account number is wrong or missing"
    assert (returned.amount, returned.currency, returned.direction) == (
        Decimal("500.00"),
        "CHF",
        "credit",
    )
    assert returned.occurred_at == datetime(2020, 11, 24, tzinfo=UTC)
    assert returned.source == "bank:CH5109000000250092291"
    assert returned.external_id == "20201124375204228763929:20201124375204228763930:1"
    assert returned.refs.items() == [
        ("bank_account", "CH5109000000250092291"),
        ("bank_transaction", "075820002ZZTJR1K"),
        ("end_to_end", "EndToEndId-001-03-04"),
        ("instruction", "InstrId-001-03-04"),
    ]
    assert returned.attributes["return_info"] == "Kontonummer falsch"
    assert returned.attributes["reversal"] is True
    assert returned.attributes["bank_transaction_code"] == "PMNT/ICDT/RRTN"
    assert returned.attributes["counterparty_name"] == "Robert Schneider SA"
    assert returned.attributes["counterparty_account"] == stored("CH8709000000929471495")
    assert parsed.rejections == []
    assert parsed.flags == []


def test_a_return_links_to_its_original_transfer_by_end_to_end_id() -> None:
    # given the statement line of an outgoing transfer and, days later, its return
    original = camt053(entry("250.00", "DBIT", end_to_end="PAY-2026-0042"))
    return_details = (
        "<TxDtls><Refs><EndToEndId>PAY-2026-0042</EndToEndId></Refs>"
        "<RtrInf><Rsn><Cd>AC04</Cd></Rsn><AddtlInf>account closed</AddtlInf></RtrInf></TxDtls>"
    )
    returned = camt054(entry("250.00", "CRDT", details=return_details))
    # when both are read
    [line] = parse(original, "camt.053").events
    [back] = parse(returned, "camt.054").events
    # then the return names the same end-to-end id (and account) as the original transfer
    assert (line.type, back.type) == ("bank.statement_line", "bank.transfer_returned")
    assert line.refs.end_to_end == back.refs.end_to_end == "PAY-2026-0042"
    assert line.refs.bank_account == back.refs.bank_account == "DE89370400440532013000"
    assert (back.reason_code, back.reason_message) == ("iso:AC04", "the account is closed")
    assert (back.direction, back.amount) == ("credit", Decimal("250.00"))


def test_a_proprietary_return_reason_is_kept_and_namespaced_when_it_fits() -> None:
    details = (
        "<TxDtls><RtrInf><Rsn><Prtry>X99</Prtry></Rsn><AddtlInf>bank rule</AddtlInf></RtrInf>"
        "</TxDtls>"
    )
    [back] = parse(camt054(entry("5.00", "CRDT", details=details)), "camt.054").events
    assert (back.reason_code, back.reason_message) == ("iso:X99", "bank rule")
    assert back.attributes["return_reason_proprietary"] == "X99"


def test_return_information_on_a_statement_line_stays_a_statement_line_with_its_reason() -> None:
    details = "<TxDtls><RtrInf><Rsn><Cd>MD07</Cd></Rsn></RtrInf></TxDtls>"
    [line] = parse(camt053(entry("5.00", "CRDT", details=details)), "camt.053").events
    assert line.type == "bank.statement_line"
    assert (line.reason_code, line.attributes["returned"]) == ("iso:MD07", True)


# -- pain.002 / pacs.002 ---------------------------------------------------------------------------


def pain002(body: str, *, group: str = "<GrpSts>PART</GrpSts>") -> bytes:
    return document(
        "urn:iso:std:iso:20022:tech:xsd:pain.002.001.03",
        "<CstmrPmtStsRpt><GrpHdr><MsgId>STS-1</MsgId>"
        "<CreDtTm>2026-03-02T09:30:00+01:00</CreDtTm>"
        "<InitgPty><Id><OrgId><BICOrBEI>BANKDEFFXXX</BICOrBEI></OrgId></Id></InitgPty></GrpHdr>"
        "<OrgnlGrpInfAndSts><OrgnlMsgId>PAIN001-77</OrgnlMsgId>"
        f"<OrgnlMsgNmId>pain.001.001.03</OrgnlMsgNmId>{group}</OrgnlGrpInfAndSts>"
        f"{body}</CstmrPmtStsRpt>",
    )


def test_transaction_rejects_carry_their_iso_code_end_to_end_id_and_amount() -> None:
    # given a status report: one payment block with a rejected and an accepted transaction, a
    # rejected block whose transaction inherits the reject, and a block rejected as a whole
    body = (
        "<OrgnlPmtInfAndSts><OrgnlPmtInfId>PMT-1</OrgnlPmtInfId><PmtInfSts>PART</PmtInfSts>"
        "<TxInfAndSts><StsId>S-1</StsId><OrgnlInstrId>I-1</OrgnlInstrId>"
        "<OrgnlEndToEndId>E2E-1</OrgnlEndToEndId><TxSts>RJCT</TxSts>"
        "<StsRsnInf><Rsn><Cd>AC04</Cd></Rsn><AddtlInf>Konto erloschen</AddtlInf></StsRsnInf>"
        '<OrgnlTxRef><Amt><InstdAmt Ccy="EUR">1250.00</InstdAmt></Amt>'
        "<DbtrAcct><Id><IBAN>DE02100100109307118603</IBAN></Id></DbtrAcct></OrgnlTxRef>"
        "</TxInfAndSts>"
        "<TxInfAndSts><OrgnlInstrId>I-2</OrgnlInstrId><OrgnlEndToEndId>E2E-2</OrgnlEndToEndId>"
        "<TxSts>ACCP</TxSts><AccptncDtTm>2026-03-02T10:00:00Z</AccptncDtTm></TxInfAndSts>"
        "</OrgnlPmtInfAndSts>"
        "<OrgnlPmtInfAndSts><OrgnlPmtInfId>PMT-2</OrgnlPmtInfId><PmtInfSts>RJCT</PmtInfSts>"
        "<StsRsnInf><Rsn><Cd>AM04</Cd></Rsn></StsRsnInf>"
        "<TxInfAndSts><OrgnlEndToEndId>E2E-3</OrgnlEndToEndId></TxInfAndSts>"
        "</OrgnlPmtInfAndSts>"
        "<OrgnlPmtInfAndSts><OrgnlPmtInfId>PMT-3</OrgnlPmtInfId><PmtInfSts>RJCT</PmtInfSts>"
        "<StsRsnInf><Rsn><Cd>FF01</Cd></Rsn></StsRsnInf></OrgnlPmtInfAndSts>"
    )
    # when it is read
    parsed = parse(pain002(body), "pain.002")
    # then
    summary = [
        (e.type, e.external_id, e.status, e.reason_code, e.refs.end_to_end, e.attributes["scope"])
        for e in parsed.events
    ]
    assert summary == [
        ("bank.transfer_rejected", "STS-1:pmtinf1:tx1", "rjct", "iso:AC04", "E2E-1", "transaction"),
        ("bank.transfer_accepted", "STS-1:pmtinf1:tx2", "accp", None, "E2E-2", "transaction"),
        ("bank.transfer_rejected", "STS-1:pmtinf2:tx1", "rjct", "iso:AM04", "E2E-3", "transaction"),
        (
            "bank.transfer_rejected",
            "STS-1:pmtinf3",
            "rjct",
            "iso:FF01",
            None,
            "payment_information",
        ),
    ]
    rejected, accepted, inherited, block = parsed.events
    assert rejected.source == "bank:BANKDEFFXXX"
    assert rejected.reason_message == "the account is closed"
    assert (rejected.amount, rejected.currency) == (Decimal("1250.00"), "EUR")
    assert rejected.refs.items() == [
        ("bank_account", "DE02100100109307118603"),
        ("end_to_end", "E2E-1"),
        ("instruction", "I-1"),
    ]
    assert rejected.occurred_at == datetime(2026, 3, 2, 8, 30, tzinfo=UTC)  # CreDtTm
    assert rejected.attributes == {
        "message_id": "STS-1",
        "original_message_id": "PAIN001-77",
        "original_message_name": "pain.001.001.03",
        "original_payment_information_id": "PMT-1",
        "scope": "transaction",
        "status_id": "S-1",
        "reason_info": "Konto erloschen",
    }
    assert accepted.occurred_at == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # AccptncDtTm
    assert inherited.reason_message == "there are not enough funds to cover the amount"
    assert block.refs.instruction == "PMT-3"


def test_a_group_reject_is_one_rejected_transfer_for_the_original_message() -> None:
    group = (
        "<GrpSts>RJCT</GrpSts><StsRsnInf><Rsn><Cd>DU01</Cd></Rsn>"
        "<AddtlInf>message id used before</AddtlInf></StsRsnInf>"
    )
    [rejected] = parse(pain002("", group=group), "pain.002").items
    assert isinstance(rejected, Event)
    assert (rejected.type, rejected.external_id, rejected.status) == (
        "bank.transfer_rejected",
        "STS-1:group",
        "rjct",
    )
    assert (rejected.reason_code, rejected.reason_message) == (
        "iso:DU01",
        "the message identification is not unique",
    )
    assert rejected.refs.items() == [("instruction", "PAIN001-77")]
    assert rejected.attributes["scope"] == "group"
    assert rejected.attributes["reason_info"] == "message id used before"


def test_a_status_nobody_knows_is_a_located_rejection() -> None:
    body = "<TxInfAndSts><OrgnlEndToEndId>E</OrgnlEndToEndId><TxSts>WHAT</TxSts></TxInfAndSts>"
    [rejection] = parse(pain002(body, group=""), "pain.002").items
    assert isinstance(rejection, Rejection)
    assert (rejection.location.field, rejection.code, rejection.reason) == (
        "CstmrPmtStsRpt/TxInfAndSts[1]",
        "invalid_value",
        "CstmrPmtStsRpt/TxInfAndSts[1]: unknown payment status 'WHAT'",
    )


def test_the_moov_swiss_status_reports_are_accepted_transfers() -> None:
    # given moov's two SIX pain.002 samples: a payment block accepted (ACCP) and a whole message
    # accepted after technical validation (ACTC); neither holds a reject
    block = parse_file(MOOV_PAIN002_CHDD)
    group = parse_file(MOOV_PAIN002_EPO)
    # then each is one accepted transfer with the scope it was given at
    assert [
        (e.type, e.external_id, e.status, e.refs.items(), e.attributes["scope"])
        for e in block.events + group.events
    ] == [
        (
            "bank.transfer_accepted",
            "20180313375204216308259:pmtinf1",
            "accp",
            [("instruction", "PmtInfId-CHDD-1")],
            "payment_information",
        ),
        (
            "bank.transfer_accepted",
            "20180315375204222821684:group",
            "actc",
            [("instruction", "MsgId-001")],
            "group",
        ),
    ]
    assert block.events[0].source == "bank:POFICHBE"
    assert block.events[0].occurred_at == datetime(2018, 3, 13, 17, 22, 51, tzinfo=UTC)
    assert block.events[0].attributes["original_message_name"] == "pain.008.001.02.ch.03"


def test_pacs002_transaction_statuses() -> None:
    data = document(
        "urn:iso:std:iso:20022:tech:xsd:pacs.002.001.10",
        "<FIToFIPmtStsRpt><GrpHdr><MsgId>P2-1</MsgId><CreDtTm>2026-03-03T08:00:00Z</CreDtTm>"
        "<InstgAgt><FinInstnId><BICFI>BANKGB2LXXX</BICFI></FinInstnId></InstgAgt></GrpHdr>"
        "<OrgnlGrpInfAndSts><OrgnlMsgId>PACS8-1</OrgnlMsgId>"
        "<OrgnlMsgNmId>pacs.008.001.08</OrgnlMsgNmId></OrgnlGrpInfAndSts>"
        "<TxInfAndSts><OrgnlInstrId>I-9</OrgnlInstrId><OrgnlEndToEndId>E2E-9</OrgnlEndToEndId>"
        "<OrgnlTxId>TX-9</OrgnlTxId><OrgnlUETR>8a562c67-ca16-48ba-b074-65581be6f011</OrgnlUETR>"
        "<TxSts>RJCT</TxSts><StsRsnInf><Rsn><Cd>RC01</Cd></Rsn></StsRsnInf>"
        '<OrgnlTxRef><IntrBkSttlmAmt Ccy="GBP">99.50</IntrBkSttlmAmt></OrgnlTxRef></TxInfAndSts>'
        "<TxInfAndSts><OrgnlEndToEndId>E2E-10</OrgnlEndToEndId><TxSts>ACSC</TxSts>"
        "</TxInfAndSts></FIToFIPmtStsRpt>",
    )
    rejected, settled = parse(data, "pacs.002").events
    assert (rejected.type, rejected.reason_code, rejected.source) == (
        "bank.transfer_rejected",
        "iso:RC01",
        "bank:BANKGB2LXXX",
    )
    assert rejected.reason_message == "the bank identifier has a wrong format"
    assert rejected.refs.items() == [
        ("bank_transaction", "TX-9"),
        ("end_to_end", "E2E-9"),
        ("instruction", "I-9"),
        ("uetr", "8a562c67-ca16-48ba-b074-65581be6f011"),
    ]
    assert (rejected.amount, rejected.currency) == (Decimal("99.50"), "GBP")
    assert (settled.type, settled.status, settled.external_id) == (
        "bank.transfer_accepted",
        "acsc",
        "P2-1:tx2",
    )


def test_pacs004_returns() -> None:
    data = document(
        "urn:iso:std:iso:20022:tech:xsd:pacs.004.001.09",
        "<PmtRtr><GrpHdr><MsgId>RTR-1</MsgId><CreDtTm>2026-03-04T07:00:00Z</CreDtTm>"
        "<NbOfTxs>2</NbOfTxs><InstgAgt><FinInstnId><BICFI>BANKFRPPXXX</BICFI></FinInstnId>"
        "</InstgAgt></GrpHdr>"
        "<TxInf><RtrId>R-1</RtrId><OrgnlGrpInf><OrgnlMsgId>PACS8-1</OrgnlMsgId>"
        "<OrgnlMsgNmId>pacs.008.001.08</OrgnlMsgNmId></OrgnlGrpInf><OrgnlInstrId>I-9</OrgnlInstrId>"
        "<OrgnlEndToEndId>E2E-9</OrgnlEndToEndId><OrgnlTxId>TX-9</OrgnlTxId>"
        '<OrgnlIntrBkSttlmAmt Ccy="EUR">100.00</OrgnlIntrBkSttlmAmt>'
        '<RtrdIntrBkSttlmAmt Ccy="EUR">99.00</RtrdIntrBkSttlmAmt>'
        "<IntrBkSttlmDt>2026-03-04</IntrBkSttlmDt><ChrgBr>SLEV</ChrgBr>"
        "<RtrRsnInf><Rsn><Cd>MD07</Cd></Rsn></RtrRsnInf></TxInf>"
        "<TxInf><RtrId>R-2</RtrId><OrgnlEndToEndId>E2E-10</OrgnlEndToEndId></TxInf>"
        "</PmtRtr>",
    )
    parsed = parse(data, "pacs.004")
    [returned] = parsed.events
    assert (returned.type, returned.external_id, returned.source) == (
        "bank.transfer_returned",
        "RTR-1:tx1",
        "bank:BANKFRPPXXX",
    )
    assert (returned.amount, returned.currency) == (Decimal("99.00"), "EUR")
    assert (returned.reason_code, returned.reason_message) == (
        "iso:MD07",
        "the end customer is deceased",
    )
    assert returned.occurred_at == datetime(2026, 3, 4, tzinfo=UTC)
    assert returned.refs.items() == [
        ("bank_transaction", "TX-9"),
        ("end_to_end", "E2E-9"),
        ("instruction", "I-9"),
    ]
    assert returned.attributes == {
        "message_id": "RTR-1",
        "return_id": "R-1",
        "original_message_id": "PACS8-1",
        "original_amount": {"amount": "100.00", "currency": "EUR"},
        "settlement_date": "2026-03-04",
        "charge_bearer": "SLEV",
    }
    # the second return has no returned amount: a rejection located at it
    [rejection] = parsed.rejections
    assert (rejection.location.field, rejection.reason) == (
        "PmtRtr/TxInf[2]/RtrdIntrBkSttlmAmt",
        "PmtRtr/TxInf[2]/RtrdIntrBkSttlmAmt is missing",
    )


# -- a large statement -----------------------------------------------------------------------------


def test_a_large_statement_reads_every_entry_and_adds_up() -> None:
    # given a pretty-printed statement of 3,000 entries whose balances are right
    data = statement(3000)
    # when it is read
    parsed = parse(data, "camt.053")
    # then 3,000 lines, 2 balances, no flag, no rejection, every id distinct
    assert len(parsed.of_type("bank.statement_line")) == 3000
    assert len(parsed.of_type("bank.balance")) == 2
    assert parsed.flags == []
    assert parsed.rejections == []
    assert len({e.external_id for e in parsed.events}) == 3002
    last = parsed.of_type("bank.statement_line")[-1]
    assert last.external_id == "BULK-1:BULK-STMT:3000"
    assert last.refs.end_to_end == "E2E-3000"
    assert re.match(SOURCE_PATTERN, last.source)


# -- nothing raises ------------------------------------------------------------------------------

SEEDS = [path.read_bytes() for path in sorted(FIXTURES.glob("*/*.xml"))] + [
    statement(3),
    pain002(""),
]
_RELAXED = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _never_raises(data: bytes) -> None:
    for fmt in FORMATS:
        items = list(fmt.parse(data, ParseContext(label=LABEL, received_at=RECEIVED)))
        assert items
        _all_items_are_accounted_for(Parsed(items), LABEL)


@_RELAXED
@given(seed=st.sampled_from(SEEDS), data=st.data())
def test_a_truncated_file_never_raises(seed: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(min_value=0, max_value=len(seed)))
    _never_raises(seed[:cut])


@_RELAXED
@given(seed=st.sampled_from(SEEDS), data=st.data())
def test_a_byte_mutated_file_never_raises(seed: bytes, data: st.DataObject) -> None:
    mutated = bytearray(seed)
    for _ in range(data.draw(st.integers(min_value=1, max_value=8))):
        position = data.draw(st.integers(min_value=0, max_value=len(mutated) - 1))
        mutated[position] = data.draw(st.integers(min_value=0, max_value=255))
    _never_raises(bytes(mutated))


@_RELAXED
@given(
    seed=st.sampled_from(SEEDS),
    tag=st.sampled_from(
        [b"Amt", b"CdtDbtInd", b"Dt", b"DtTm", b"Sts", b"Cd", b"MsgId", b"Id", b"IBAN", b"TxSts"]
    ),
    value=st.text(max_size=30),
)
def test_a_file_with_any_value_in_an_element_never_raises(
    seed: bytes, tag: bytes, value: str
) -> None:
    start, end = b"<" + tag + b">", b"</" + tag + b">"
    head, found, tail = seed.partition(start)
    if not found:
        return
    _, closed, rest = tail.partition(end)
    escaped = value.replace("&", "&amp;").replace("<", "&lt;").encode("utf-8", "replace")
    _never_raises(head + start + escaped + end + rest if closed else seed)


@_RELAXED
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(data: bytes) -> None:
    _never_raises(data)


def test_today_is_not_read_anywhere() -> None:
    # received_at is the context's, never the clock's
    parsed = parse(camt053(entry("1.00", "CRDT")), "camt.053")
    assert {e.received_at for e in parsed.events} == {RECEIVED}
    assert date(2026, 3, 2) == parsed.events[0].occurred_at.date()
