"""BAI2 cash management balance reports (BAI Version 2), the US banks' prior- and current-day
format.

The parser is our own. The PyPI package ``bai2`` (ministryofjustice) reads all four moj samples
correctly, but it is all-or-nothing: one malformed record or one control total that does not add up
raises for the whole file, and it keeps no line numbers, where a connector must keep every good
record, locate every bad one and report the totals as flags.

Records are comma-separated and end with ``/``; ``88`` records continue the record before them
(the text of a ``16``, the summaries of an ``03``). Mapping:

- each ``16`` transaction detail is one ``bank.statement_line``: ``amount_minor`` is the amount
  (BAI2 amounts are in the currency's minor unit, without a point) in the account's currency
  (``03``, else ``02``, else USD); type codes 100-399 are credits and 400-699 debits (others,
  such as 890 non-monetary information, carry no direction); ``occurred_at`` is the group's
  as-of date at midnight UTC; ``refs.bank_transaction`` is the bank reference; the type code and
  its BAI name, the customer reference, the funds type and availability and the text (its ``88``
  continuations joined with a space) are attributes; status is ``booked``, or ``interim`` for a
  group whose as-of-date modifier says "interim, same day";
- each status amount of an ``03`` (codes below 100, and the loan balances 701-709) is one
  ``bank.balance``: 010 ``opening``, 015 ``closing``, 030 ``current``, 040 ``opening_available``,
  045 ``closing_available``, 060 ``current_available``, other codes ``bai2_<code>``; negative
  amounts are debit balances. Summary amounts (100 total credits, 400 total debits, ...) are
  checked, not stored.
- ``source`` is ``bank:<account>`` (characters outside ``[A-Za-z0-9_.-]`` become ``-``) unless the
  caller names one; ``external_id`` is ``<file creation date and time>:<file id>:<as-of date>``
  then ``:<index of the 16 within the account>`` or ``:<type code>`` for balances (``~2`` after
  the as-of date when an account is reported twice for the same day in one file).

Checks, as file flags: the ``49``, ``98`` and ``99`` trailers' control totals and record, account
and group counts (``control_total_mismatch``; a blank total is not checked); a missing trailer
(``missing_trailer``); opening ledger + credits - debits = closing ledger where both are given
(``balance_mismatch``); total credits (100) and debits (400) with their item counts against the
details, for accounts reported with details (``summary_total_mismatch``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from recoup.adapters.connectors.bankfiles._common import decode_text
from recoup.adapters.connectors.bankfiles.bai2_codes import TYPE_CODES
from recoup.adapters.connectors.bankfiles.bai2_parser import _Parser
from recoup.adapters.connectors.base import Item, ParseContext


class Bai2Format:
    """BAI2 balance and transaction reports (see the module's docstring)."""

    name = "bai2"
    description = "BAI2 cash management balance reports (US banks' prior- and current-day)"

    _HEAD = re.compile(rb"\s*01,[^\r\n]*[\r\n]+\s*02,")

    def sniff(self, name: str, head: bytes) -> bool:
        head = head.removeprefix(b"\xef\xbb\xbf")
        if name.lower().endswith((".bai", ".bai2")) and head.lstrip().startswith(b"01,"):
            return True
        return bool(self._HEAD.match(head))

    def parse(self, data: bytes, context: ParseContext) -> Iterator[Item]:
        yield from _Parser(context).parse(decode_text(data))


FORMATS: tuple[Bai2Format, ...] = (Bai2Format(),)

__all__ = ["FORMATS", "TYPE_CODES", "Bai2Format"]
