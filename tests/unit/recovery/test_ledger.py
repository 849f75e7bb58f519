"""The ledger: charts of accounts, posting kinds, balance, reversal, switches, journal CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recoup.adapters.ledger_files import (
    JOURNAL_COLUMNS,
    export_journal,
    load_chart,
    write_journal_csv,
)
from recoup.domain.errors import InvalidInputError
from recoup.domain.money import MAX_INTEGER_DIGITS, Money, currency_exponent
from recoup.domain.recovery.ledger import (
    DEFAULT_CHART,
    TEMPLATES,
    Account,
    AccountKind,
    AccountRole,
    ChartOfAccounts,
    JournalEntry,
    LedgerOptions,
    Line,
    PostingKind,
    balances,
    build_entry,
    chart_from_mapping,
    entry_id,
    postings_for,
    reverse,
)

T0 = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
T1 = datetime(2026, 10, 2, 9, 30, tzinfo=UTC)


def usd(text: str) -> Money:
    return Money(Decimal(text), "USD")


def test_the_default_chart_has_an_account_for_every_role() -> None:
    assert {role: DEFAULT_CHART[role].code for role in AccountRole} == {
        AccountRole.BANK: "1000",
        AccountRole.PSP_CLEARING: "1050",
        AccountRole.RECEIVABLES: "1100",
        AccountRole.CUSTOMER_RECEIVABLE: "1150",
        AccountRole.PROVISIONAL_CREDIT_RECEIVABLE: "1300",
        AccountRole.PROVISIONAL_CREDIT_LIABILITY: "2300",
        AccountRole.WRITE_OFF_EXPENSE: "6100",
        AccountRole.CHARGEBACK_LOSSES: "6200",
        AccountRole.FEES_EXPENSE: "6300",
    }
    assert DEFAULT_CHART[AccountRole.PROVISIONAL_CREDIT_LIABILITY].kind is AccountKind.LIABILITY


@pytest.mark.parametrize(
    ("kind", "debit", "credit"),
    [
        ("write_off", "6100", "1100"),
        ("provisional_credit", "1300", "2300"),
        ("provisional_credit_reversal", "2300", "1300"),
        ("customer_liable", "1150", "1100"),
        ("chargeback", "6200", "1050"),
        ("chargeback_reversal", "1050", "6200"),
        ("fee", "6300", "1050"),
    ],
)
def test_each_posting_kind_debits_and_credits_its_accounts(
    kind: str, debit: str, credit: str
) -> None:
    entry = build_entry(kind, usd("42.5"), "case-1", T0, key="attempt-1")
    assert entry.kind == PostingKind(kind)
    assert [(ln.account.code, ln.debit, ln.credit) for ln in entry.lines] == [
        (debit, usd("42.50"), None),
        (credit, None, usd("42.50")),
    ]
    assert entry.lines[0].memo == TEMPLATES[PostingKind(kind)].memo


def test_a_memo_given_replaces_the_template_memo() -> None:
    entry = build_entry("fee", usd("15"), "c", T0, key="k", memo="dispute fee du_1")
    assert {ln.memo for ln in entry.lines} == {"dispute fee du_1"}


def test_entry_ids_follow_from_case_kind_and_key() -> None:
    first = build_entry("write_off", usd("3"), "case-1", T0, key="a")
    again = build_entry("write_off", usd("3"), "case-1", T1, key="a")
    assert first.id == again.id == entry_id("case-1", PostingKind.WRITE_OFF, "a")
    others = {
        build_entry("write_off", usd("3"), "case-1", T0, key="b").id,
        build_entry("write_off", usd("3"), "case-2", T0, key="a").id,
        build_entry("fee", usd("3"), "case-1", T0, key="a").id,
    }
    assert first.id not in others
    assert len(others) == 3


def test_accounting_switched_off_posts_nothing() -> None:
    off = LedgerOptions(accounting_enabled=False)
    assert postings_for("write_off", usd("3"), "c", T0, key="k", options=off) is None
    assert off.needs_writeback is False


def test_external_accounting_still_builds_entries_and_asks_for_writeback() -> None:
    external = LedgerOptions(external_accounting=True, external_target="webhook")
    entry = postings_for("write_off", usd("3"), "c", T0, DEFAULT_CHART, key="k", options=external)
    assert entry == build_entry("write_off", usd("3"), "c", T0, key="k")
    assert external.needs_writeback is True
    assert LedgerOptions().needs_writeback is False
    assert LedgerOptions(external_accounting=True).needs_writeback is False  # nowhere to send
    assert LedgerOptions(external_accounting=True, external_target="none").needs_writeback is False


@pytest.mark.parametrize("amount", ["0", "-1.00"])
def test_a_posting_needs_a_positive_amount(amount: str) -> None:
    with pytest.raises(InvalidInputError, match=r"case c: a fee posting needs a positive amount"):
        build_entry("fee", usd(amount), "c", T0, key="k")


def test_unknown_kinds_and_reversals_are_not_built_from_a_template() -> None:
    with pytest.raises(
        InvalidInputError, match=r"no posting template for kind 'refund' .*; kinds are write_off, "
    ):
        build_entry("refund", usd("1"), "c", T0, key="k")
    with pytest.raises(
        InvalidInputError,
        match=r"no posting template for kind 'reversal' \(a reversal is built by reverse\(\)\)",
    ):
        build_entry(PostingKind.REVERSAL, usd("1"), "c", T0, key="k")


def test_an_entry_that_does_not_balance_cannot_be_built() -> None:
    bank, fees = DEFAULT_CHART[AccountRole.BANK], DEFAULT_CHART[AccountRole.FEES_EXPENSE]
    lines = (Line(fees, usd("10.00"), None), Line(bank, None, usd("9.99")))
    with pytest.raises(
        InvalidInputError, match=r"does not balance in USD: debits exceed credits by 0.01"
    ):
        JournalEntry("e1", "c", PostingKind.FEE, T0, lines)


def test_balance_is_checked_per_currency() -> None:
    bank, fees = DEFAULT_CHART[AccountRole.BANK], DEFAULT_CHART[AccountRole.FEES_EXPENSE]
    eur = Money(Decimal("10.00"), "EUR")
    mixed = (Line(fees, usd("10.00"), None), Line(bank, None, eur))
    with pytest.raises(InvalidInputError, match=r"does not balance in EUR"):
        JournalEntry("e1", "c", PostingKind.FEE, T0, mixed)
    both = (*mixed, Line(fees, eur, None), Line(bank, None, usd("10.00")))
    assert len(JournalEntry("e2", "c", PostingKind.FEE, T0, both).lines) == 4


def test_a_line_has_exactly_one_positive_side() -> None:
    fees = DEFAULT_CHART[AccountRole.FEES_EXPENSE]
    with pytest.raises(InvalidInputError, match=r"needs a debit or a credit, not both"):
        Line(fees, usd("1"), usd("1"))
    with pytest.raises(InvalidInputError, match=r"needs a debit or a credit"):
        Line(fees, None, None)
    with pytest.raises(InvalidInputError, match=r"needs a positive amount, got 0"):
        Line(fees, None, usd("0"))


def test_an_entry_needs_a_tz_aware_time_and_two_lines() -> None:
    entry = build_entry("fee", usd("1"), "c", T0, key="k")
    with pytest.raises(InvalidInputError, match=r"is not tz-aware"):
        JournalEntry("e", "c", PostingKind.FEE, datetime(2026, 1, 1), entry.lines)
    with pytest.raises(InvalidInputError, match=r"needs at least two lines"):
        JournalEntry("e", "c", PostingKind.FEE, T0, entry.lines[:1])


def test_reverse_mirrors_the_entry_once() -> None:
    entry = build_entry("chargeback", usd("80"), "case-9", T0, key="du_1")
    reversal = reverse(entry, T1)
    assert (reversal.kind, reversal.reverses, reversal.case_id, reversal.at) == (
        PostingKind.REVERSAL,
        entry.id,
        "case-9",
        T1,
    )
    assert [(ln.account.code, ln.debit, ln.credit) for ln in reversal.lines] == [
        ("6200", None, usd("80.00")),
        ("1050", usd("80.00"), None),
    ]
    assert reversal.lines[0].memo == f"reversal of {entry.id}: chargeback debited"
    assert reverse(entry, T0).id == reversal.id
    assert set(balances([entry, reversal]).values()) == {Decimal(0)}


def test_balances_add_debits_and_subtract_credits() -> None:
    entries = [
        build_entry("chargeback", usd("80"), "c", T0, key="1"),
        build_entry("fee", usd("15"), "c", T0, key="2"),
        build_entry("chargeback_reversal", usd("80"), "c", T1, key="3"),
    ]
    assert balances(entries) == {
        ("6200", "USD"): Decimal("0.00"),
        ("1050", "USD"): Decimal("-15.00"),
        ("6300", "USD"): Decimal("15.00"),
    }


# -- chart of accounts from a mapping and from TOML -------------------------------------------


def test_an_override_replaces_only_the_fields_it_names() -> None:
    chart = chart_from_mapping(
        {"accounts": {"write_off_expense": {"code": "6810"}, "bank": {"name": "Main bank"}}}
    )
    assert chart[AccountRole.WRITE_OFF_EXPENSE] == Account(
        "6810", "Write-off expense", AccountKind.EXPENSE
    )
    assert chart[AccountRole.BANK] == Account("1000", "Main bank", AccountKind.ASSET)
    assert chart[AccountRole.FEES_EXPENSE] == DEFAULT_CHART[AccountRole.FEES_EXPENSE]
    entry = build_entry("write_off", usd("2"), "c", T0, chart, key="k")
    assert entry.lines[0].account.code == "6810"


def test_two_roles_may_share_one_account() -> None:
    shared = {"code": "6900", "name": "Payment costs", "kind": "expense"}
    chart = chart_from_mapping({"accounts": {"fees_expense": shared, "chargeback_losses": shared}})
    assert chart[AccountRole.FEES_EXPENSE] == chart[AccountRole.CHARGEBACK_LOSSES]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"accounts": {"petty_cash": {"code": "1010"}}},
         r"chart.toml, field accounts.petty_cash: unknown account role 'petty_cash'; roles are"),
        ({"accounts": {"bank": {"number": "1010"}}},
         r"field accounts.bank.number: unknown field 'number'"),
        ({"accounts": {"bank": {"kind": "cash"}}},
         r"field accounts.bank.kind: unknown account kind 'cash'; kinds are asset, liability"),
        ({"accounts": {"bank": {"code": 1010}}},
         r"field accounts.bank.code: must be a non-empty string, got 1010"),
        ({"accounts": {"bank": "1010"}}, r"field accounts.bank: must be a table"),
        ({"ledger": {}}, r"field ledger: unknown key 'ledger'"),
        ({"accounts": {"bank": {"code": "6300"}}},
         r"chart.toml: account code '6300' names two accounts: 'Bank' \(bank\) and "
         r"'Payment fees' \(fees_expense\)"),
    ],
)  # fmt: skip
def test_a_bad_override_is_refused_naming_the_field(data: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        chart_from_mapping(data, source="chart.toml")


def test_a_chart_missing_a_role_is_refused() -> None:
    partial = {r: a for r, a in DEFAULT_CHART.accounts.items() if r is not AccountRole.BANK}
    with pytest.raises(InvalidInputError, match=r"has no account for \['bank'\]"):
        ChartOfAccounts(partial)


def test_load_chart_reads_a_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "chart.toml"
    path.write_text(
        '[accounts.psp_clearing]\ncode = "1210"\nname = "Stripe balance"\n\n'
        '[accounts.customer_receivable]\nkind = "asset"\nname = "Debtors"\n',
        encoding="utf-8",
    )
    chart = load_chart(path)
    assert chart[AccountRole.PSP_CLEARING] == Account("1210", "Stripe balance", AccountKind.ASSET)
    assert chart[AccountRole.CUSTOMER_RECEIVABLE] == Account("1150", "Debtors", AccountKind.ASSET)


def test_load_chart_names_the_line_of_broken_toml(tmp_path: Path) -> None:
    path = tmp_path / "chart.toml"
    path.write_text('[accounts.bank]\ncode = "1010"\nname = \n', encoding="utf-8")
    with pytest.raises(InvalidInputError) as caught:
        load_chart(path)
    assert caught.value.location.file == str(path)
    assert caught.value.location.line == 3
    assert str(caught.value).startswith(f"{path}, line 3: not TOML: ")


# -- journal CSV ------------------------------------------------------------------------------


def test_the_journal_csv_has_one_row_per_line_with_exact_amounts() -> None:
    entries = [
        build_entry("write_off", usd("4.5"), "case-1", T0, key="a"),
        build_entry("fee", Money(Decimal("500"), "JPY"), "case-2", T1, key="b", memo="=SUM(1)"),
    ]
    out = io.StringIO(newline="")
    assert write_journal_csv(entries, out) == 4
    w, f = entries[0].id, entries[1].id
    assert out.getvalue() == (
        "entry_id,date,case_id,kind,account_code,account_name,debit,credit,currency,memo\r\n"
        f"{w},2026-10-01,case-1,write_off,6100,Write-off expense,4.50,,USD,"
        "written off: not recovered\r\n"
        f"{w},2026-10-01,case-1,write_off,1100,Accounts receivable,,4.50,USD,"
        "written off: not recovered\r\n"
        f"{f},2026-10-02,case-2,fee,6300,Payment fees,500,,JPY,'=SUM(1)\r\n"
        f"{f},2026-10-02,case-2,fee,1050,Cash in clearing at payment provider,,500,JPY,"
        "'=SUM(1)\r\n"
    )


def test_export_journal_writes_a_file(tmp_path: Path) -> None:
    entry = build_entry("chargeback", Money(Decimal("12.345"), "BHD"), "c", T0, key="k")
    path = tmp_path / "journal.csv"
    assert export_journal([entry, reverse(entry, T1)], path) == 4
    rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    assert tuple(rows[0]) == JOURNAL_COLUMNS
    assert [(r["kind"], r["debit"], r["credit"]) for r in rows] == [
        ("chargeback", "12.345", ""),
        ("chargeback", "", "12.345"),
        ("reversal", "", "12.345"),
        ("reversal", "12.345", ""),
    ]


# -- properties -------------------------------------------------------------------------------

CURRENCIES = ["USD", "EUR", "GBP", "JPY", "KRW", "BHD", "KWD", "CLF", "CHF"]


@st.composite
def money(draw: st.DrawFn) -> Money:
    """Any positive amount a currency allows, sometimes written with fewer decimals."""
    currency = draw(st.sampled_from(CURRENCIES))
    exponent = currency_exponent(currency)
    minor = draw(st.integers(min_value=1, max_value=10 ** (MAX_INTEGER_DIGITS + exponent) - 1))
    amount = Decimal(minor).scaleb(-exponent)
    return Money(amount.normalize() if draw(st.booleans()) else amount, currency)


KINDS = st.sampled_from(sorted(TEMPLATES))


@settings(max_examples=200, deadline=None)
@given(kind=KINDS, amount=money())
def test_every_posting_balances_in_its_currency(kind: PostingKind, amount: Money) -> None:
    entry = build_entry(kind, amount, "case", T0, key="k")
    debits = sum((ln.money.amount for ln in entry.lines if ln.debit), Decimal(0))
    credits = sum((ln.money.amount for ln in entry.lines if ln.credit), Decimal(0))
    assert debits == credits == amount.amount
    assert {ln.money.currency for ln in entry.lines} == {amount.currency}


@settings(max_examples=200, deadline=None)
@given(kinds=st.lists(KINDS, min_size=1, max_size=5), amount=money())
def test_reversals_net_every_account_to_zero(kinds: list[PostingKind], amount: Money) -> None:
    entries = [build_entry(k, amount, "case", T0, key=str(i)) for i, k in enumerate(kinds)]
    reversals = [reverse(e, T1) for e in entries]
    assert set(balances(entries + reversals).values()) == {Decimal(0)}


@settings(max_examples=200, deadline=None)
@given(kind=KINDS, amount=money())
def test_amounts_keep_their_currency_decimals(kind: PostingKind, amount: Money) -> None:
    entry = build_entry(kind, amount, "case", T0, key="k")
    exponent = currency_exponent(amount.currency)
    for line in entry.lines:
        assert line.money.amount == amount.amount
        assert line.money.amount.as_tuple().exponent == -exponent
    out = io.StringIO(newline="")
    write_journal_csv([entry], out)
    row = next(csv.DictReader(out.getvalue().splitlines()))
    assert Decimal(row["debit"]) == amount.amount
    assert "E" not in row["debit"]
    assert len(row["debit"].partition(".")[2]) == exponent
