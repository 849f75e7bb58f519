"""Liability: write-off thresholds, claim validation per network, provisional credit."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from recoup.adapters.ledger_files import load_write_off_thresholds
from recoup.adapters.policy import DEFAULT_POLICY_PATH, PolicyError, load_policy
from recoup.adapters.policy.liability import (
    DEFAULT_PROVISIONAL_CREDIT_PATH,
    PROVISIONAL_CREDIT_FILE,
    ZenProvisionalCredit,
    load_provisional_credit,
)
from recoup.domain.errors import ConflictError, InvalidInputError
from recoup.domain.money import Money
from recoup.domain.recovery.liability import (
    DEFAULT_WRITE_OFF_THRESHOLDS,
    Authentication,
    CheckStatus,
    ClaimFacts,
    LiabilityChoice,
    ProvisionalCreditRequest,
    WriteOffThresholds,
    check_choice,
    validate_claim,
)

NOW = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
ALL_CHOICES = (LiabilityChoice.WRITE_OFF, LiabilityChoice.CUSTOMER_LIABLE, LiabilityChoice.CONTINUE)


def m(text: str, currency: str = "USD") -> Money:
    return Money(Decimal(text), currency)


# -- write-off thresholds ---------------------------------------------------------------------


def test_default_thresholds_allow_write_off_strictly_below_five() -> None:
    allows = DEFAULT_WRITE_OFF_THRESHOLDS.allows
    assert [allows(m("4.99")), allows(m("5.00")), allows(m("4.99", "EUR"))] == [True, False, True]
    assert allows(m("4.99", "GBP")) is True
    assert allows(m("1", "JPY")) is False  # no limit for the currency: never straight away
    assert DEFAULT_WRITE_OFF_THRESHOLDS.limit("GBP") == m("5.00", "GBP")
    assert DEFAULT_WRITE_OFF_THRESHOLDS.limit("JPY") is None


def test_thresholds_load_from_a_table(tmp_path: Path) -> None:
    path = tmp_path / "write_off.csv"
    path.write_text("currency,limit\n# small change\nUSD,10\n\nJPY,500\nBHD,1.500\n")
    thresholds = load_write_off_thresholds(path)
    assert thresholds.limits == {"USD": Decimal(10), "JPY": Decimal(500), "BHD": Decimal("1.500")}
    assert thresholds.allows(m("499", "JPY")) is True
    assert thresholds.allows(m("5", "EUR")) is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cur,amount\nUSD,5\n", r"t.csv: the first row must be the header currency,limit"),
        ("currency,limit\nUSD,5\nXYZ,5\n", r"t.csv, line 3: unknown currency 'XYZ'"),
        ("currency,limit\nUSD,5\nUSD,6\n", r"t.csv, line 3: USD is listed twice"),
        ("currency,limit\nEUR,5.001\n", r"t.csv, line 2: bad limit '5.001': .*EUR allows 2"),
        ("currency,limit\nEUR,five\n", r"t.csv, line 2: bad limit 'five'"),
        ("currency,limit\nEUR,-1\n", r"t.csv, line 2: limit -1 is negative"),
        ("currency,limit\nEUR,1,2\n", r"t.csv, line 2: expected 2 cells, got 3"),
    ],
)
def test_a_bad_threshold_table_names_the_line(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        WriteOffThresholds.from_table(text, source="t.csv")


# -- claim validation -------------------------------------------------------------------------


def clean_card_absent(**kw: Any) -> ClaimFacts:
    facts: dict[str, Any] = {
        "as_of": NOW, "transaction_at": NOW - timedelta(days=30), "card_present": False,
        "authentication": Authentication.NOT_AUTHENTICATED, "cvv_matched": False,
        "fraud_reported": True, "cardholder_denies": True,
    }  # fmt: skip
    return ClaimFacts(**{**facts, **kw})


def statuses(validation: Any) -> dict[str, str]:
    return {c.name: c.status.value for c in validation.checks}


def test_a_clean_visa_card_absent_fraud_claim_passes_with_nothing_to_choose() -> None:
    validation = validate_claim("visa:10.4", None, clean_card_absent())
    assert (validation.status, validation.network, validation.code) == (
        CheckStatus.PASSED, "visa", "10.4"
    )  # fmt: skip
    assert statuses(validation) == {
        "reason_code": "passed", "time_limit": "passed", "card_absent": "passed",
        "authentication": "passed", "cvv": "passed", "fraud_reported": "passed",
        "cardholder_denies": "passed",
    }  # fmt: skip
    assert validation.checks[0].detail == (
        "visa:10.4: Other Fraud - Card Absent Environment (fraud)"
    )
    assert validation.choices == ()


@pytest.mark.parametrize("result", [Authentication.AUTHENTICATED, Authentication.ATTEMPTED])
def test_3ds_authentication_takes_card_absent_fraud_away_from_the_issuer(
    result: Authentication,
) -> None:
    validation = validate_claim("10.4", "Visa", clean_card_absent(authentication=result))
    assert validation.status is CheckStatus.FAILED
    check = next(c for c in validation.checks if c.name == "authentication")
    assert check.detail == (
        f"3-D Secure {result.value}: the liability shifted to the issuer, visa:10.4 is not "
        "available"
    )
    assert validation.choices == ALL_CHOICES


def test_a_cvv_match_makes_a_fraud_claim_inconclusive() -> None:
    validation = validate_claim("visa:10.4", "visa", clean_card_absent(cvv_matched=True))
    assert validation.status is CheckStatus.INCONCLUSIVE
    assert statuses(validation)["cvv"] == "inconclusive"
    assert validation.choices == ALL_CHOICES


def test_card_present_fraud_is_not_visa_10_4() -> None:
    validation = validate_claim("visa:10.4", None, clean_card_absent(card_present=True))
    assert validation.status is CheckStatus.FAILED
    assert statuses(validation) == {
        "reason_code": "passed", "time_limit": "passed", "card_absent": "failed",
        "fraud_reported": "passed", "cardholder_denies": "passed",
    }  # fmt: skip


def test_unknown_facts_make_the_claim_inconclusive_not_failed() -> None:
    validation = validate_claim("visa:10.4", None, ClaimFacts(as_of=NOW))
    assert validation.status is CheckStatus.INCONCLUSIVE
    assert statuses(validation) == {
        "reason_code": "passed", "time_limit": "inconclusive", "card_absent": "inconclusive",
        "authentication": "inconclusive", "cvv": "passed", "fraud_reported": "inconclusive",
        "cardholder_denies": "inconclusive",
    }  # fmt: skip


def test_fraud_not_reported_fails_the_claim() -> None:
    validation = validate_claim("mc:4837", None, clean_card_absent(fraud_reported=False))
    assert validation.status is CheckStatus.FAILED
    check = next(c for c in validation.checks if c.name == "fraud_reported")
    assert check.detail == "mc:4837 needs the fraud reported to the network first"


@pytest.mark.parametrize(("days", "status"), [(120, "passed"), (121, "failed")])
@pytest.mark.parametrize(("code", "network"), [("10.4", "visa"), ("4837", "Mastercard")])
def test_the_time_limit_is_120_days_from_the_transaction(
    days: int, status: str, code: str, network: str
) -> None:
    # late in the day on the transaction date, early on the claim date: calendar days count
    facts = clean_card_absent(
        transaction_at=datetime(2026, 6, 3, 23, 59, tzinfo=UTC),
        as_of=datetime(2026, 6, 3, 0, 1, tzinfo=UTC) + timedelta(days=days),
    )
    validation = validate_claim(code, network, facts)
    assert validation.status.value == status
    check = next(c for c in validation.checks if c.name == "time_limit")
    namespace = "visa" if network == "visa" else "mc"
    assert check.detail == f"{days} days since the transaction; {namespace} allows 120"


def test_other_networks_have_no_known_time_limit() -> None:
    validation = validate_claim("amex:F29", None, ClaimFacts(as_of=NOW, transaction_at=NOW))
    assert statuses(validation) == {"reason_code": "passed", "time_limit": "inconclusive"}
    assert validation.status is CheckStatus.INCONCLUSIVE


def test_time_limits_can_be_given() -> None:
    facts = ClaimFacts(as_of=NOW, transaction_at=NOW - timedelta(days=100))
    validation = validate_claim("amex:F29", None, facts, time_limits={"amex": 90})
    assert validation.status is CheckStatus.FAILED


def test_a_code_missing_from_the_reference_is_inconclusive() -> None:
    validation = validate_claim("visa:99.9", None, ClaimFacts(as_of=NOW, transaction_at=NOW))
    assert validation.checks[0].detail == "visa reason code '99.9' is not in the reference table"
    assert validation.status is CheckStatus.INCONCLUSIVE
    bare = validate_claim("4863", None, ClaimFacts(as_of=NOW, transaction_at=NOW))
    assert bare.network is None  # Mastercard's and Discover's
    assert bare.checks[0].detail == "no known network for '4863'"


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(InvalidInputError, match=r"'visa:10.4' does not belong to network 'mc'"):
        validate_claim("visa:10.4", "mc", clean_card_absent())
    with pytest.raises(InvalidInputError, match=r"field as_of: as_of must be tz-aware"):
        validate_claim("visa:10.4", None, ClaimFacts(as_of=datetime(2026, 1, 1)))
    late = clean_card_absent(transaction_at=NOW + timedelta(days=1))
    with pytest.raises(InvalidInputError, match=r"field transaction_at: the transaction"):
        validate_claim("visa:10.4", None, late)


def test_an_operator_choice_must_be_one_the_validation_offers() -> None:
    failed = validate_claim("visa:10.4", None, clean_card_absent(fraud_reported=False))
    assert check_choice(failed, "customer_liable") is LiabilityChoice.CUSTOMER_LIABLE
    with pytest.raises(InvalidInputError, match=r"choice 'submit' is not allowed; choose one of "
                       r"write_off, customer_liable, continue"):  # fmt: skip
        check_choice(failed, "submit")
    passed = validate_claim("visa:10.4", None, clean_card_absent())
    with pytest.raises(ConflictError, match=r"passed validation: there is nothing to choose"):
        check_choice(passed, "write_off")


# -- provisional credit -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def credit() -> ZenProvisionalCredit:
    return load_provisional_credit()


def request(
    product: str = "debit_card",
    transaction: str = "pos",
    reason: str | None = None,
    amount: Money | None = None,
    exception: str = "dispute_opened",
) -> ProvisionalCreditRequest:
    return ProvisionalCreditRequest(exception, product, transaction, reason, amount or m("120.00"))


ROW3, ROW4 = "row 3 (pc.debit_purchase_or_foreign)", "row 4 (pc.electronic_transfer)"


@pytest.mark.parametrize(
    ("req", "grant", "amount", "days", "row"),
    [
        (request("debit_card", "pos"), True, "120.00", 90, ROW3),
        (request("prepaid_card", "foreign"), True, "120.00", 90, ROW3),
        (request("debit_card", "atm"), True, "120.00", 45, ROW4),
        (request("bank_account", "ach"), True, "120.00", 45, ROW4),
        (request("credit_card", "pos"), False, "0.00", None, "row 1 (pc.credit_card)"),
        (request("debit_card", "pos", "mc:4853"), False, "0.00", None, "row 2 (pc.goods_dispute)"),
        (request("debit_card", "pos", "visa:10.4"), True, "120.00", 90, ROW3),
        (request(exception="payment_failed"), False, "0.00", None, "row 5 (pc.otherwise)"),
        (request("gift_card"), False, "0.00", None, "row 5 (pc.otherwise)"),
    ],
)  # fmt: skip
def test_the_default_table_decides_provisional_credit(
    credit: ZenProvisionalCredit, req: ProvisionalCreditRequest, grant: bool, amount: str,
    days: int | None, row: str,
) -> None:  # fmt: skip
    decision = credit.decide(req)
    assert (decision.grant, decision.amount, decision.reversal_deadline_days) == (
        grant, m(amount), days
    )  # fmt: skip
    assert f"provisional_credit.json, table 'provisional_credit' {row}:" in decision.trace
    assert decision.rule_id == row.split("(")[1].rstrip(")")


def test_the_trace_names_the_inputs_the_row_tested(credit: ZenProvisionalCredit) -> None:
    decision = credit.decide(request("debit_card", "pos", "visa:13.3"))
    assert decision.trace == (
        "provisional_credit.json, table 'provisional_credit' row 2 (pc.goods_dispute): "
        "exception_type = dispute_opened, product_type = debit_card, reason_code = visa:13.3"
    )
    assert credit.decide(request("gift_card")).trace.endswith("row 5 (pc.otherwise): otherwise")


def test_a_granted_amount_is_the_exact_disputed_amount(credit: ZenProvisionalCredit) -> None:
    big = m("123456789012345.67")
    assert credit.decide(request(amount=big)).amount == big
    assert credit.decide(request(amount=m("1999", "JPY"))).amount == m("1999", "JPY")


def test_the_reversal_deadline_runs_from_the_grant(credit: ZenProvisionalCredit) -> None:
    decision = credit.decide(request("debit_card", "atm"))
    assert decision.reversal_deadline_at(NOW) == NOW + timedelta(days=45)
    assert credit.decide(request("credit_card")).reversal_deadline_at(NOW) is None


def test_the_default_routing_policy_still_loads_beside_the_table() -> None:
    assert (DEFAULT_POLICY_PATH / PROVISIONAL_CREDIT_FILE) == DEFAULT_PROVISIONAL_CREDIT_PATH
    assert load_policy(DEFAULT_POLICY_PATH).path == DEFAULT_POLICY_PATH


def edited(tmp_path: Path, row: int, **cells: str) -> Path:
    """A copy of the default table with some cells of one row changed."""
    graph = json.loads(DEFAULT_PROVISIONAL_CREDIT_PATH.read_text(encoding="utf-8"))
    rules = graph["nodes"][1]["content"]["rules"]
    rules[row].update({f"pc.out.{k}": v for k, v in cells.items()})
    path = tmp_path / PROVISIONAL_CREDIT_FILE
    path.write_text(json.dumps(graph), encoding="utf-8")
    return path


def test_a_computed_amount_is_rounded_down_to_the_currency(tmp_path: Path) -> None:
    policy = load_provisional_credit(edited(tmp_path, 3, amount="amount / 3"))
    decision = policy.decide(request("debit_card", "atm", amount=m("100.00")))
    assert decision.amount == m("33.33")
    assert load_provisional_credit(tmp_path).path == tmp_path / PROVISIONAL_CREDIT_FILE


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ({"grant": '"yes"'}, r"row 4 \(pc.electronic_transfer\).*: grant must be true or false"),
        ({"amount": "amount * 2"}, r"row 4 .*: amount 240 exceeds the disputed 120"),
        ({"reversal_deadline_days": "null"}, r"a grant needs a positive amount and a reversal"),
        ({"reversal_deadline_days": "4.5"}, r"reversal_deadline_days must be a whole number"),
    ],
)
def test_a_broken_table_is_refused_before_use(
    tmp_path: Path, cells: dict[str, str], message: str
) -> None:
    with pytest.raises(PolicyError, match=message):
        load_provisional_credit(edited(tmp_path, 3, **cells))


def test_a_missing_or_malformed_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"provisional_credit.json: cannot read"):
        load_provisional_credit(tmp_path)
    shutil.copy(DEFAULT_PROVISIONAL_CREDIT_PATH, tmp_path / "pc.json")
    (tmp_path / "pc.json").write_text("{\n  nope", encoding="utf-8")
    with pytest.raises(PolicyError, match=r"pc.json, line 2: not JSON"):
        load_provisional_credit(tmp_path / "pc.json")
