"""Money: exact Decimal amounts that fit their ISO 4217 currency's exponent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from recoup.domain.errors import InvalidInputError
from recoup.domain.money import (
    Money,
    check_amount,
    currency_exponent,
    format_money,
    is_currency,
)


@pytest.mark.parametrize(
    ("currency", "exponent"),
    [("EUR", 2), ("USD", 2), ("JPY", 0), ("KRW", 0), ("BHD", 3), ("KWD", 3)],
)
def test_currency_exponent_follows_iso_4217(currency: str, exponent: int) -> None:
    assert currency_exponent(currency) == exponent


def test_unknown_currency_has_no_exponent() -> None:
    with pytest.raises(InvalidInputError, match=r"unknown ISO 4217 currency code 'ZZZ'"):
        currency_exponent("ZZZ")


def test_is_currency_knows_real_codes_only() -> None:
    assert is_currency("EUR") is True
    assert is_currency("eur") is False
    assert is_currency("ZZZ") is False


def test_codes_without_minor_units_are_not_money() -> None:
    # XAU (gold) and XXX (no currency) have no exponent in ISO 4217.
    assert is_currency("XAU") is False
    assert is_currency("XXX") is False


@pytest.mark.parametrize(
    ("minor", "currency", "amount"),
    [
        (1250, "EUR", Decimal("12.50")),
        (1, "EUR", Decimal("0.01")),
        (0, "EUR", Decimal("0.00")),
        (500, "JPY", Decimal("500")),
        (1234, "BHD", Decimal("1.234")),
        (-1250, "EUR", Decimal("-12.50")),
    ],
)
def test_from_minor_uses_the_currency_exponent(minor: int, currency: str, amount: Decimal) -> None:
    money = Money.from_minor(minor, currency)

    assert money == Money(amount, currency)
    assert money.amount.as_tuple() == amount.as_tuple()


def test_from_minor_refuses_an_unknown_currency() -> None:
    with pytest.raises(InvalidInputError, match="'ZZZ'"):
        Money.from_minor(100, "ZZZ")


def test_from_minor_refuses_an_amount_it_would_have_to_round() -> None:
    minor = 10**30 + 1

    with pytest.raises(InvalidInputError, match="more than 18 digits before the point"):
        Money.from_minor(minor, "EUR")


def test_from_minor_keeps_the_largest_allowed_amount_exact() -> None:
    minor = 10**20 - 1

    assert Money.from_minor(minor, "EUR").amount.scaleb(2) == Decimal(minor)


@pytest.mark.parametrize(
    ("amount", "currency", "places", "allowed"),
    [("1.234", "EUR", 3, 2), ("1.5", "JPY", 1, 0), ("0.0001", "BHD", 4, 3)],
)
def test_too_many_decimals_are_refused_naming_the_currency(
    amount: str, currency: str, places: int, allowed: int
) -> None:
    with pytest.raises(InvalidInputError) as excinfo:
        Money(Decimal(amount), currency)

    assert excinfo.value.message == (
        f"amount {amount} has {places} decimal places but {currency} allows {allowed}"
    )


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("1.0", "JPY"), ("12.500", "EUR"), ("1.2340", "BHD"), ("100", "EUR"), ("1E+3", "JPY")],
)
def test_trailing_zeros_beyond_the_exponent_are_allowed(amount: str, currency: str) -> None:
    money = Money(Decimal(amount), currency)

    assert money.amount == Decimal(amount)


def test_unknown_currency_is_refused() -> None:
    with pytest.raises(InvalidInputError, match=r"unknown ISO 4217 currency code 'ABC'"):
        Money(Decimal("1.00"), "ABC")


def test_lower_case_currency_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="'eur'"):
        Money(Decimal("1.00"), "eur")


@pytest.mark.parametrize("amount", ["NaN", "sNaN", "Infinity", "-Infinity"])
def test_non_finite_amounts_are_refused(amount: str) -> None:
    with pytest.raises(InvalidInputError, match="is not a finite number"):
        Money(Decimal(amount), "EUR")


def test_check_amount_accepts_an_amount_that_fits() -> None:
    assert check_amount(Decimal("12.34"), "EUR") is None


def test_a_very_long_amount_with_too_many_decimals_is_refused_as_invalid_input() -> None:
    with pytest.raises(InvalidInputError, match="more than 18 digits before the point"):
        check_amount(Decimal("12345678901234567890123456789.123"), "EUR")


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        ("12.5", "EUR", "12.50 EUR"),
        ("1234567.891", "BHD", "1,234,567.891 BHD"),
        ("1500", "JPY", "1,500 JPY"),
        ("1.0", "JPY", "1 JPY"),
        ("0", "USD", "0.00 USD"),
        ("-3.2", "EUR", "-3.20 EUR"),
    ],
)
def test_str_shows_grouped_amount_at_the_currency_exponent(
    amount: str, currency: str, text: str
) -> None:
    assert str(Money(Decimal(amount), currency)) == text
    assert format_money(Decimal(amount), currency) == text


def test_money_is_immutable_and_compares_by_value() -> None:
    money = Money(Decimal("1.00"), "EUR")

    with pytest.raises(AttributeError):
        money.amount = Decimal("2.00")  # type: ignore[misc]
    assert money == Money(Decimal("1.00"), "EUR")
    assert money != Money(Decimal("1.00"), "USD")
