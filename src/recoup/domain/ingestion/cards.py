"""Card numbers never reach storage or logs whole.

Anything that looks like a full card number is masked to its first six and last four digits,
the most PCI DSS allows to be displayed. "Looks like" means: 13 to 19 digits, optionally grouped
by spaces or dashes, starting with a card scheme's issuer prefix at a length that scheme issues,
and passing the Luhn check. The prefix rule matters: one random digit string in ten passes Luhn,
and provider ids (Shopify's 18-digit ids) must stay readable in the evidence.
"""

from __future__ import annotations

import re

# A standalone token: not glued to letters or digits, so digit runs inside IBANs, references
# like RP1231231231... and ids are left alone.
_CANDIDATE = re.compile(r"(?<![\w])\d(?:[ -]?\d){12,18}(?![\w])")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _is_card_prefix(digits: str) -> bool:
    """Issuer prefixes and lengths of the card schemes (Visa, Mastercard, Amex, Discover, JCB,
    Diners, UnionPay, Maestro)."""
    n = len(digits)
    two, four = int(digits[:2]), int(digits[:4])
    three, six = int(digits[:3]), int(digits[:6])
    if digits[0] == "4":
        return n in (13, 16, 19)  # Visa
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return n == 16  # Mastercard
    if two in (34, 37):
        return n == 15  # American Express
    if four == 6011 or two == 65 or 644 <= three <= 649 or 622126 <= six <= 622925:
        return 16 <= n <= 19  # Discover
    if 3528 <= four <= 3589:
        return 16 <= n <= 19  # JCB
    if 300 <= three <= 305 or two in (36, 38, 39) or four == 3095:
        return 14 <= n <= 19  # Diners Club
    if two == 62:
        return 16 <= n <= 19  # UnionPay
    if two == 50 or 56 <= two <= 69:
        return 12 <= n <= 19  # Maestro
    return False


def _mask(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = text.replace(" ", "").replace("-", "")
    if not 13 <= len(digits) <= 19 or not _is_card_prefix(digits) or not _luhn_ok(digits):
        return text
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]


def mask_card_numbers(text: str) -> str:
    """Return ``text`` with every plausible full card number masked."""
    if not _may_hold_a_card_number(text):
        return text
    return _CANDIDATE.sub(_mask, text)


_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"
_FOLD = bytes.maketrans(b"0123456789 " + _LETTERS, b"0" * 10 + b"-" + b"a" * len(_LETTERS))
_FOLDED_RUN = re.compile(rb"(?<![a0])0(?:-?0){12}")
_DIGITS_TO_ZERO = bytes.maketrans(b"0123456789", b"0" * 10)


def _may_hold_a_card_number(text: str) -> bool:
    """A cheap pre-check (a few microseconds for a typical record, a fraction of the full
    pattern's cost): once digits fold to 0, letters to a and spaces to dashes, is there a run of
    13 digits, single separators allowed, that does not follow a letter or digit (digit runs in
    IBANs and references do)? False positives only cost the full check."""
    data = text.encode("utf-8", "ignore")
    if b"0000000000000" not in data.translate(_DIGITS_TO_ZERO, b" -"):
        return False  # no 13 digits in a row at all: the common case, in half a microsecond
    return _FOLDED_RUN.search(data.translate(_FOLD)) is not None
