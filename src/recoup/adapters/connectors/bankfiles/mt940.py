"""SWIFT MT940 customer statements and MT942 interim transaction reports.

One format, ``mt940``, reads both: they share the field grammar, and a file says which it is in
its ``{2:}`` block or through the MT942-only fields (``:13D:``, ``:34F:``, ``:90D:``/``:90C:``).
The parser is our own and tolerant of the dialects real banks send: statements with or without
the SWIFT ``{1:}{2:}{4:`` envelope and ``-}`` trailers, several statements per file, DOS or Unix
line endings, no final newline, UTF-8 or Latin-1 text, ``:61:`` lines with or without the entry
date, with a funds code, a space before the transaction type, the bank reference after ``//`` and
supplementary details on the next line, and ``:86:`` in free form, in the German ``?20`` style,
in Triodos' ``>20`` style or in the Dutch ``/EREF/`` style (the PyPI package ``mt-940`` was
measured against the jejik samples and not used: it raises on two of them, mis-splits the
``:61:`` of three and merges the statements of a file into one set of balances).

Mapping, per statement:

- each ``:61:`` is one ``bank.statement_line``: the amount with the statement's currency (from
  ``:60F:``/``:60M:``, else ``:62F:``/``:62M:``, else the MT942 floor limit ``:34F:``);
  ``C``/``D`` are credit/debit, ``RC`` (reversal of a credit) is a debit and ``RD`` a credit, both
  with ``attributes.reversal``; ``EC``/``ED`` (expected, MT942) keep their direction, get status
  ``expected`` and are left out of the balance check; ``occurred_at`` is the entry (booking) date,
  else the value date, at midnight UTC, the entry date's year being the one nearest the value
  date; status ``booked`` (``interim`` in an MT942); ``refs.bank_account`` is ``:25:``,
  ``refs.bank_transaction`` the bank reference after ``//`` or else the customer reference
  (never ``NONREF``), ``refs.end_to_end`` the SEPA end-to-end id of ``:86:`` (never
  ``NOTPROVIDED``);
- every balance is one ``bank.balance`` with ``attributes.balance_type``: ``:60F:`` opening,
  ``:60M:`` interim_opening, ``:62F:`` closing, ``:62M:`` interim_closing, ``:64:`` available,
  ``:65:`` forward_available; the direction is the balance's C/D sign;
- ``source`` is ``bank:<account>`` (characters outside ``[A-Za-z0-9_.-]`` become ``-``) unless
  the caller names one.

``external_id`` is ``<:20:>:<:28C:>:<statement date>:<entry index>`` (``...:<balance type>`` for
balances), the statement date being the opening balance's (MT942: ``:13D:``). The date is there
because banks reuse ``:20:`` and ``:28C:``: the Volksbank, Sparkasse and Rabobank samples carry
several different statements under one ``STARTUMS``/``0`` pair, and without it their lines would
be taken for redeliveries of each other and dropped. A statement that repeats another's key with
different content gets ``~2``, ``~3``... after it.

Attributes of a statement line: ``message_type`` (MT940/MT942), ``statement_reference`` (:20:),
``statement_number`` (:28C:), ``value_date``, ``entry_date``, ``mark``, ``reversal``,
``funds_code``, ``transaction_type`` (``NTRF``...), ``customer_reference``, ``bank_reference``,
``supplementary_details``; from a free-form ``:86:`` its text as ``description``; from a
structured one ``remittance`` (SVWZ+, /REMI/ or the purpose lines), ``counterparty_name``,
``counterparty_account``, ``counterparty_bank``, the German ``transaction_code`` (GVC) and
``posting_text``, and the other SEPA fields (KREF, MREF, CRED, /MARF/, /CSID/...) under ``sepa``.
A ``:86:`` after the closing balance is the closing balance's ``information``.

Checks, as file flags: opening + entries = closing (``balance_mismatch``, with the difference);
a statement without an opening or closing balance (``balance_missing``); a statement that does not
open where the previous one of the same account closed (``balance_gap``); MT942 ``:90D:``/``:90C:``
counts and sums against the entries (``control_total_mismatch``). A bad field is a
:class:`Rejection` at its line; a file with no statement at all is one rejection.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from recoup.adapters.connectors.bankfiles._common import decode_text
from recoup.adapters.connectors.bankfiles.mt940_events import _File
from recoup.adapters.connectors.bankfiles.mt940_fields import _statements
from recoup.adapters.connectors.base import Item, ParseContext
from recoup.domain.errors import Location
from recoup.domain.ingestion.canonical import Rejection

_STATEMENT_TAGS = frozenset({"20", "25", "25P", "28", "28C", "60F", "60M", "61", "62F", "62M"})


class Mt940Format:
    """SWIFT MT940 statements and MT942 interim reports (see the module's docstring)."""

    name = "mt940"
    description = "SWIFT MT940 bank statements and MT942 interim transaction reports"

    _HEAD = re.compile(rb"(?:^|[\r\n]|\{4:)\s*:20:")
    _BODY = re.compile(rb"[\r\n]\s*:(?:25P?|28C?|60[FM]|61|34F|13D?):")

    def sniff(self, name: str, head: bytes) -> bool:
        return bool(self._HEAD.search(head) and self._BODY.search(head))

    def parse(self, data: bytes, context: ParseContext) -> Iterator[Item]:
        state = _File(context)
        found = False
        for statement in _statements(decode_text(data)):
            if any(item.tag in _STATEMENT_TAGS for item in statement.fields):
                found = True
                yield from state.statement(statement)
        if not found:
            yield Rejection(
                Location(context.label, 1),
                "not_mt940",
                "not an MT940/MT942 file: no :20: statement or other SWIFT field found",
                decode_text(data[:200]),
            )


FORMATS: tuple[Mt940Format, ...] = (Mt940Format(),)

__all__ = ["FORMATS", "Mt940Format"]
