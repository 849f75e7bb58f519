"""Fuzzing the ISO 20022 readers: camt.052, camt.053, camt.054, pain.002 (pacs.002 and pacs.004
share the readers and get the random input too)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

from hypothesis import example, given
from hypothesis import strategies as st

from recoup.adapters.connectors.bankfiles.iso20022 import FORMATS, message_family
from recoup.domain.money import currency_exponent
from tests.fuzz import (
    CURRENCIES,
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

BY_NAME = {fmt.name: fmt for fmt in FORMATS}
SAMPLES = samples(
    FIXTURES / "iso20022", SHARED / "iso20022", patterns=("*.xml",),
    keep=lambda p: message_family(p.read_bytes()[:4096]) in BY_NAME,
)  # fmt: skip

WHOLE_FILE = frozenset({"empty_file"})
"""An empty file is refused as a whole; anything else names its line or element."""

XML_TEXT = st.text(
    st.characters(blacklist_categories=["Cs", "Cc"], blacklist_characters="\ufffe\uffff"),
    max_size=60,
)
"""Text XML can carry (no control characters, no surrogates)."""

_ROOTS = {
    "camt.052": ("BkToCstmrAcctRpt", "Rpt"),
    "camt.053": ("BkToCstmrStmt", "Stmt"),
    "camt.054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn"),
}

ENTRY = st.tuples(
    minor_amounts(max_digits=22),
    st.sampled_from(["CRDT", "DBIT"]),
    st.dates(date(1900, 1, 1), date(2999, 12, 31)),
    XML_TEXT,
)


def _camt(family: str, currency: str, entries: list[tuple[int, str, date, str]]) -> bytes:
    root, report = _ROOTS[family]
    exponent = currency_exponent(currency)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:{family}.001.08">',
        f"<{root}><GrpHdr><MsgId>MSG-1</MsgId><CreDtTm>2026-03-02T18:00:00+01:00</CreDtTm>"
        f"</GrpHdr><{report}><Id>R-1</Id><CreDtTm>2026-03-02T18:00:00+01:00</CreDtTm>"
        "<Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>",
    ]
    for minor, indicator, day, text in entries:
        lines.append(
            f'<Ntry><Amt Ccy="{currency}">{decimal_text(minor, exponent)}</Amt>'
            f"<CdtDbtInd>{indicator}</CdtDbtInd><Sts>BOOK</Sts>"
            f"<BookgDt><Dt>{day.isoformat()}</Dt></BookgDt>"
            f"<AddtlNtryInf>{escape(text)}</AddtlNtryInf></Ntry>"
        )
    lines.append(f"</{report}></{root}></Document>")
    return "\n".join(lines).encode("utf-8")


@fuzz_settings()
@given(st.sampled_from(sorted(_ROOTS)), CURRENCIES, st.lists(ENTRY, max_size=10))
def test_a_valid_camt_gives_one_exact_event_or_located_rejection_per_entry(
    family: str, currency: str, entries: list[tuple[int, str, date, str]]
) -> None:
    outcome = check_items(parse(BY_NAME[family], _camt(family, currency, entries)))

    first = 4  # the line of the first entry
    lines = [e for e in outcome.events if e.type == "bank.statement_line"]
    assert [r.location.line for r in outcome.rejections] == [
        first + i for i, (minor, *_) in enumerate(entries) if not fits(minor, currency)
    ]
    assert [(e.amount, e.currency, e.direction) for e in lines] == [
        (minor_to_decimal(minor, currency), currency, "credit" if ind == "CRDT" else "debit")
        for minor, ind, _, _ in entries
        if fits(minor, currency)
    ]
    assert len({e.external_id for e in outcome.events}) == len(outcome.events)


TRANSACTION = st.tuples(
    st.sampled_from(["RJCT", "ACCP", "ACSC", "PDNG", "ACTC"]),
    st.sampled_from(["AC04", "AM04", "MS03", "FF01"]),
    minor_amounts(max_digits=16),
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1, max_size=35),
)


def _pain002(currency: str, transactions: list[tuple[str, str, int, str]]) -> bytes:
    exponent = currency_exponent(currency)
    body = "".join(
        f"<TxInfAndSts><OrgnlEndToEndId>{e2e}</OrgnlEndToEndId><TxSts>{status}</TxSts>"
        f"<StsRsnInf><Rsn><Cd>{reason}</Cd></Rsn></StsRsnInf>"
        f'<OrgnlTxRef><Amt><InstdAmt Ccy="{currency}">{decimal_text(minor, exponent)}</InstdAmt>'
        "</Amt></OrgnlTxRef></TxInfAndSts>\n"
        for status, reason, minor, e2e in transactions
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"><CstmrPmtStsRpt>'
        "<GrpHdr><MsgId>STS-1</MsgId><CreDtTm>2026-03-02T09:30:00+01:00</CreDtTm>"
        "<InitgPty><Id><OrgId><BICOrBEI>BANKDEFFXXX</BICOrBEI></OrgId></Id></InitgPty></GrpHdr>"
        "<OrgnlGrpInfAndSts><OrgnlMsgId>PAIN001-77</OrgnlMsgId>"
        "<OrgnlMsgNmId>pain.001.001.03</OrgnlMsgNmId><GrpSts>PART</GrpSts></OrgnlGrpInfAndSts>"
        f"<OrgnlPmtInfAndSts><OrgnlPmtInfId>PMT-1</OrgnlPmtInfId>\n{body}"
        "</OrgnlPmtInfAndSts></CstmrPmtStsRpt></Document>"
    ).encode()


@fuzz_settings()
@given(CURRENCIES, st.lists(TRANSACTION, min_size=1, max_size=10))
@example("JPY", [("RJCT", "AC04", 2**63 - 1, "E2E-1"), ("ACCP", "AC04", 1, "E2E-2")])
def test_a_valid_status_report_gives_one_event_or_located_rejection_per_transaction(
    currency: str, transactions: list[tuple[str, str, int, str]]
) -> None:
    outcome = check_items(parse(BY_NAME["pain.002"], _pain002(currency, transactions)))

    first = 3  # the line of the first transaction
    assert outcome.records == len(transactions)
    assert [r.location.line for r in outcome.rejections] == [
        first + i for i, (_, _, minor, _) in enumerate(transactions) if not fits(minor, currency)
    ]
    assert all((r.location.field or "").endswith("InstdAmt") for r in outcome.rejections)
    rejected = [e for e in outcome.events if e.type == "bank.transfer_rejected"]
    assert [(e.amount, e.currency, e.reason_code, e.refs.end_to_end) for e in rejected] == [
        (minor_to_decimal(minor, currency), currency, f"iso:{reason}", e2e)
        for status, reason, minor, e2e in transactions
        if status == "RJCT" and fits(minor, currency)
    ]


@fuzz_settings()
@given(mutated_samples(SAMPLES))
def test_a_mutated_sample_is_read_or_rejected_at_its_line_or_element(
    sample: tuple[Path, bytes],
) -> None:
    path, data = sample
    fmt = BY_NAME[message_family(path.read_bytes()[:4096]) or ""]

    outcome = check_items(parse(fmt, data), whole_input_codes=WHOLE_FILE)

    assert outcome.records >= 1


@fuzz_settings()
@given(st.sampled_from(sorted(BY_NAME)), RANDOM_BYTES)
def test_random_bytes_are_rejected_at_their_line(name: str, data: bytes) -> None:
    outcome = check_items(parse(BY_NAME[name], data), whole_input_codes=WHOLE_FILE)

    assert outcome.records >= 1


def test_the_samples_are_there() -> None:
    assert {message_family(p.read_bytes()[:4096]) for p in SAMPLES} >= {
        "camt.052", "camt.053", "camt.054", "pain.002",
    }  # fmt: skip
