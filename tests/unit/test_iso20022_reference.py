"""The ISO 20022 reason codes: what ``iso:AC04`` means, loaded once and only when asked."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from importlib import resources

import pytest

from recoup.domain.reference.iso20022 import ReasonInfo, iso_reason, iso_reasons

DATA = resources.files("recoup.domain.reference")


def test_a_known_code_has_its_iso_name_and_a_plain_meaning() -> None:
    assert iso_reason("AC04") == ReasonInfo(
        code="AC04", name="ClosedAccountNumber", meaning="the account is closed"
    )


@pytest.mark.parametrize("spelling", ["AC04", "ac04", " AC04 ", "iso:AC04", "ISO:ac04"])
def test_the_code_may_be_namespaced_padded_or_in_any_case(spelling: str) -> None:
    info = iso_reason(spelling)
    assert info is not None
    assert info.code == "AC04"


@pytest.mark.parametrize("code", [None, "", "ZZ99", "stripe:AC04", "AC0", "AC044"])
def test_an_unknown_code_has_no_meaning(code: str | None) -> None:
    assert iso_reason(code) is None


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("AC01", "IncorrectAccountNumber"),
        ("AC04", "ClosedAccountNumber"),
        ("AC06", "BlockedAccount"),
        ("AG01", "TransactionForbidden"),
        ("AM04", "InsufficientFunds"),
        ("AM05", "Duplication"),
        ("BE04", "MissingCreditorAddress"),
        ("MD07", "EndCustomerDeceased"),
        ("MS02", "NotSpecifiedReasonCustomerGenerated"),
        ("MS03", "NotSpecifiedReasonAgentGenerated"),
        ("RC01", "BankIdentifierIncorrect"),
        ("RR01", "MissingDebtorAccountOrIdentification"),
        ("RR02", "MissingDebtorNameOrAddress"),
        ("RR03", "MissingCreditorNameOrAddress"),
        ("RR04", "RegulatoryReason"),
        ("FF01", "InvalidFileFormat"),
        ("DT01", "InvalidDate"),
        ("CUST", "RequestedByCustomer"),
        ("DUPL", "DuplicatePayment"),
        ("FRAD", "FraudulentOrigin"),
        ("TECH", "TechnicalProblem"),
        ("UPAY", "UnduePayment"),
    ],
)
def test_the_codes_banks_send_most_are_there(code: str, name: str) -> None:
    info = iso_reason(code)
    assert info is not None
    assert info.name == name


def test_the_table_is_well_formed() -> None:
    # given the CSV as shipped
    text = DATA.joinpath("iso20022_reasons.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(text.splitlines()))
    # then it has its header, one row per code, four-character upper-case codes, and every
    # row a name and a meaning
    assert rows[0] == ["code", "name", "meaning"]
    codes = [row[0] for row in rows[1:]]
    assert len(codes) == len(set(codes))
    assert codes == sorted(codes)
    for row in rows[1:]:
        assert len(row) == 3
        code, name, meaning = row
        assert re.fullmatch(r"[A-Z0-9]{4}", code)
        assert re.fullmatch(r"[A-Za-z0-9-]+", name)
        assert meaning
        assert meaning == meaning.strip()
    assert [info.code for info in iso_reasons()] == codes


def test_the_origin_is_stated_beside_the_data() -> None:
    notice = DATA.joinpath("NOTICE-iso20022.md").read_text(encoding="utf-8")
    assert "ISO 20022" in notice
    assert "External Code Sets" in notice
    assert "iso20022_reasons.csv" in notice


def test_nothing_is_read_at_import() -> None:
    # given the module imported in a fresh interpreter
    script = (
        "import recoup.domain.reference.iso20022 as r\n"
        "before = r._table.cache_info().currsize\n"
        "r.iso_reason('AM04')\n"
        "print(before, r._table.cache_info().currsize)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    # then its table is loaded on the first look-up, not before
    assert result.stdout.split() == ["0", "1"]
