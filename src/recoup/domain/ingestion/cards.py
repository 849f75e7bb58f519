"""Card numbers never reach storage or logs whole.

Anything that looks like a full card number is masked to its first six and last four digits,
the most PCI DSS allows to be displayed. "Looks like" means: 13 to 19 digits, optionally grouped
by spaces or dashes, starting with a card scheme's issuer prefix at a length that scheme issues,
and passing the Luhn check. The prefix rule matters: one random digit string in ten passes Luhn,
and provider ids (Shopify's 18-digit ids) must stay readable in the evidence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

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
    """Return ``text`` with every plausible full card number masked.

    The cost follows the number of digit runs, not the length of the text: a cheap byte scan
    finds the places where 13 digits stand together (usually none), and only those places are
    examined with the full pattern. Text that is not ASCII gets the full pattern throughout.
    """
    data = text.encode("utf-8", "surrogatepass")
    if b"0000000000000" not in data.translate(_DIGITS_TO_ZERO, b" -"):
        return text  # no 13 digits in a row at all: the common case
    if len(data) != len(text):
        return _CANDIDATE.sub(_mask, text)  # byte and character offsets differ
    pieces: list[str] = []
    done = 0  # text before this is copied or replaced
    consumed = 0  # a token examined, card or not, is not examined again from inside
    folded = data.translate(_FOLD)
    for start in _starts(folded):
        if start < consumed:
            continue
        match = _CANDIDATE.match(text, start)
        if match is None:
            continue
        consumed = match.end()
        masked = _mask(match)
        if masked != match.group(0):
            pieces.append(text[done:start])
            pieces.append(masked)
            done = consumed
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


def _starts(folded: bytes) -> Iterator[int]:
    """Where a card number could start, in order: the start of a digit run that does not follow
    a letter or digit, and every place after a separator inside it. A superset is fine: each
    place is checked with the full pattern."""
    for run in _FOLDED_RUN.finditer(folded):
        begin, end = run.span()
        if begin == 0 or folded[begin - 1] not in _GLUE:
            yield begin
        separator = folded.find(b"-", begin, end)
        while separator != -1:
            yield separator + 1
            separator = folded.find(b"-", separator + 1, end)


_GLUE = frozenset(b"a0")
_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"
_FOLD = bytes.maketrans(b"0123456789 " + _LETTERS, b"0" * 10 + b"-" + b"a" * len(_LETTERS))
# A maximal run of digits and separators, 13 long at least, starting with a digit: every place a
# card number can start lies at its start or just after one of its separators.
_FOLDED_RUN = re.compile(rb"0[0-]{12,}")
_DIGITS_TO_ZERO = bytes.maketrans(b"0123456789", b"0" * 10)
