"""The rules file: the default loads, values are exact, and errors name file, pass and field."""

from decimal import Decimal
from pathlib import Path

import pytest

from recoup.adapters.reconcile.rules_file import default_rules, load_rules, parse_rules
from recoup.domain.errors import ConfigurationError, InvalidInputError
from recoup.domain.reconcile.rules import Key, Pass, PassKind

MINIMAL = """
version = 1
[[pass]]
name = "ref"
keys = ["payment_ref=reference", "amount"]
amount_absolute = 0.10
amount_percent = 0.5
date_window_days = 3
reference_min = 85
"""


def test_default_rules_have_the_documented_passes() -> None:
    rules = default_rules()
    assert [p.name for p in rules.passes] == [
        "end_to_end_exact",
        "payout_exact",
        "payout_components",
        "reference_exact",
        "partial_payments",
        "bank_fee",
        "fx_converted",
        "reference_fuzzy",
        "payout_by_amount",
        "order_payment_bank",
    ]
    kinds = [p.kind for p in rules.passes]
    assert kinds.count(PassKind.MANY_TO_ONE) == 2
    assert kinds.count(PassKind.ONE_TO_MANY) == 1
    assert kinds[-1] is PassKind.THREE_WAY
    fee = rules.passes[5]
    assert (fee.fee_absolute, fee.fee_percent) == (Decimal("2.50"), Decimal(0))
    assert not any(k.is_amount_block for k in fee.keys)


def test_decimals_are_read_exactly_and_keys_parsed() -> None:
    rules = parse_rules(MINIMAL)
    (p,) = rules.passes
    assert p.amount_absolute == Decimal("0.10")
    assert p.amount_percent == Decimal("0.5")
    assert p.keys == (Key("payment_ref", "reference"), Key("amount", "amount"))
    assert p.keys[1].is_amount_block
    assert p.kind is PassKind.ONE_TO_ONE
    assert p.reference_min == 85.0


def test_new_fields_are_read_and_the_in_key_parsed() -> None:
    rules = parse_rules(
        "version = 1\n[[pass]]\nname = 'parts'\nkind = 'one_to_many'\n"
        "keys = ['payout_ref in reference', 'reference']\ngroup_by = 'reference'\n"
        "fee_absolute = 2.5\nfee_percent = 1\nnormalize = 'alnum'\nscorer = 'partial_ratio'"
    )
    (p,) = rules.passes
    assert p.kind is PassKind.ONE_TO_MANY
    assert p.keys[0] == Key("payout_ref", "reference", in_text=True)
    assert str(p.keys[0]) == "payout_ref in reference"
    assert not p.keys[1].in_text
    assert (p.fee_absolute, p.fee_percent) == (Decimal("2.5"), Decimal(1))
    assert (p.group_by, p.normalize, p.scorer) == ("reference", "alnum", "partial_ratio")


def test_load_rules_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    assert load_rules(path).passes[0].name == "ref"


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"cannot read .*nope\.toml"):
        load_rules(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        ("version = 2\n[[pass]]\nname='a'\nkeys=['end_to_end']", "version", "must be 1"),
        ("version = 1", "pass", "at least one"),
        ("version = 1\n[[pass]]\nname='a'\nkeys=['iban']", "pass 'a'.keys", "expected FIELD"),
        ("version = 1\n[[pass]]\nname='a'\nkeys=[]", "pass 'a'.keys", "non-empty list"),
        (
            "version = 1\n[[pass]]\nname='a'\nkeys=['reference']\ncolour='red'",
            "pass 'a'",
            "unknown keys colour",
        ),
        (
            "version = 1\n[[pass]]\nname='a'\nkeys=['reference']\nkind='one_to_two'",
            "pass 'a'.kind",
            "must be one of",
        ),
        (
            "version = 1\n[[pass]]\nname='a'\nkeys=['reference']\nkind='one_to_many'\n"
            "group_by='payment_ref'",
            "pass 'a'",
            "group_by must be one of end_to_end, reference, payout_ref, name",
        ),
        (
            "version = 1\n[[pass]]\nname='a'\nkeys=['payout_ref in iban']",
            "pass 'a'.keys",
            "LEFT_FIELD in RIGHT_FIELD",
        ),
        (
            "version = 1\n[[pass]]\nname='a'\nkeys=['reference']\nfee_percent=101",
            "pass 'a'",
            "fee_percent must be between 0 and 100",
        ),
        (
            "version = 1\n[[pass]]\nname='a'\nkeys=['reference']\nfee_absolute=-0.5",
            "pass 'a'",
            "fee_absolute must be a finite amount",
        ),
        (
            "version = 1\n[[pass]]\nname='a'\nkeys=['reference']\nnormalize='soundex'",
            "pass 'a'",
            "normalize must be one of words, alnum",
        ),
        (
            "version = 1\n[[pass]]\nname='a'\nkeys=['reference']\nauto_threshold=0.5\n"
            "suggest_threshold=0.8",
            "pass 'a'",
            "suggest_threshold <= auto_threshold",
        ),
        (
            "version = 1\n[[pass]]\nname='a'\nkeys=['reference']\namount_absolute=-1",
            "pass 'a'",
            "amount_absolute",
        ),
        (
            "version = 1\n[[pass]]\nname='a'\nkeys=['reference']\ndate_window_days=1.5",
            "pass 'a'.date_window_days",
            "whole number",
        ),
        (
            "version = 1\n[[pass]]\nname='a'\nkeys=['reference']\nleft_kinds=['wire']",
            "pass 'a'",
            "unknown kinds wire",
        ),
        (
            "version = 1\n[[pass]]\nname='a'\nkind='three_way'\nkeys=['amount']",
            "pass 'a'.keys",
            "expected FIELD",
        ),
        (
            "version = 1\n[[pass]]\nname='a'\nkeys=['reference']\n[[pass]]\nname='a'\n"
            "keys=['reference']",
            "pass",
            "unique: a",
        ),
        ("version = 1\n[[pass]\n", None, "rules.toml"),
    ],
)
def test_errors_name_the_file_pass_and_field(text: str, field: str | None, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message) as caught:
        parse_rules(text, source="rules.toml")
    assert caught.value.location.file == "rules.toml"
    assert caught.value.location.field == field
    assert str(caught.value).startswith("rules.toml")


def test_pass_validation_is_in_the_domain() -> None:
    with pytest.raises(ConfigurationError, match="between 0 and 100"):
        Pass("a", PassKind.ONE_TO_ONE, (Key("reference", "reference"),), reference_min=101)
