"""Money is an exact ``Decimal`` amount with an ISO 4217 currency, never a float.

Amounts from sources in minor units are converted once, at the edge, with the currency's own
exponent (JPY has none, BHD has three). An amount with more decimals than its currency allows is
rejected rather than rounded: rounding money silently is how reconciliation breaks start.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache

import iso4217

from recoup.domain.errors import InvalidInputError


@cache
def _exponents() -> dict[str, int]:
    """ISO 4217 minor units from the maintained ``iso4217`` data package.

    Codes without minor units (XAU, XXX, ...) are left out: they are not money we settle.
    """
    return {c.code: c.exponent for c in iso4217.Currency if c.exponent is not None}


def is_currency(code: str) -> bool:
    return code in _exponents()


def currency_exponent(currency: str) -> int:
    """The number of decimals ``currency`` allows; raise for an unknown code."""
    try:
        return _exponents()[currency]
    except KeyError:
        raise InvalidInputError(f"unknown ISO 4217 currency code {currency!r}") from None


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        check_amount(self.amount, self.currency)

    @classmethod
    def from_minor(cls, minor: int, currency: str) -> Money:
        exponent = currency_exponent(currency)
        if abs(minor) >= 10 ** (MAX_INTEGER_DIGITS + exponent):
            raise InvalidInputError(
                f"amount {minor} minor units of {currency} has more than "
                f"{MAX_INTEGER_DIGITS} digits before the point"
            )
        return cls(Decimal(minor).scaleb(-exponent), currency)

    def __str__(self) -> str:
        return f"{self.amount:,.{currency_exponent(self.currency)}f} {self.currency}"


MAX_INTEGER_DIGITS = 18
"""No real amount has more than 18 digits before the point (a quintillion); the bound keeps
every accepted amount, with its decimals, well inside Decimal's 28-digit context."""


def check_amount(amount: Decimal, currency: str) -> None:
    """Raise unless ``amount`` is finite, not absurdly large, and fits ``currency``'s exponent."""
    if not amount.is_finite():
        raise InvalidInputError(f"amount {amount} is not a finite number")
    if amount and amount.adjusted() >= MAX_INTEGER_DIGITS:
        raise InvalidInputError(
            f"amount {amount} has more than {MAX_INTEGER_DIGITS} digits before the point"
        )
    exponent = currency_exponent(currency)
    places = -amount.as_tuple().exponent  # type: ignore[operator]
    if places > exponent and amount != amount.quantize(Decimal(1).scaleb(-exponent)):
        raise InvalidInputError(
            f"amount {amount} has {places} decimal places but {currency} allows {exponent}"
        )


def format_money(amount: Decimal, currency: str) -> str:
    return str(Money(amount, currency))


__all__ = ["Money", "check_amount", "currency_exponent", "format_money", "is_currency"]
