"""ISO 20022 bank files: one format per message family, any version of it.

========  ===========================================  ==========================================
format    message                                      events
========  ===========================================  ==========================================
camt.053  bank to customer statement                   statement lines, balances, balance check
camt.052  bank to customer intraday account report     statement lines, balances, balance check
camt.054  bank to customer debit/credit notification   statement lines; returns (``RtrInf``) as
                                                       ``bank.transfer_returned``
pain.002  customer payment status report               ``bank.transfer_rejected`` / ``_accepted``
pacs.002  FI to FI payment status report               ``bank.transfer_rejected`` / ``_accepted``
pacs.004  payment return                               ``bank.transfer_returned``
========  ===========================================  ==========================================

A file is recognised by its namespace (``urn:iso:std:iso:20022:tech:xsd:camt.053.001.08``, or a
national variant such as the Swiss ``.../pain.002.001.03.ch.02.xsd``) in its first bytes; the
message element under ``Document`` decides how it is read. The mapping of each family is
described in :mod:`.iso20022_camt` and :mod:`.iso20022_status`.

Ids: ``external_id`` is built from the message id (``GrpHdr/MsgId``, unique per sender), the
statement id and the 1-based positions of the entry and transaction
(``<MsgId>:<Stmt/Id>:<entry>[:<tx>]``), so a redelivered file gives the same events and no two
records of a file share one. ``source`` is ``bank:<account>`` for statements and the sender's BIC
(``bank:<BIC>``) for status reports and returns, unless the caller names the source.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from recoup.adapters.connectors.bankfiles.iso20022_camt import parse_camt
from recoup.adapters.connectors.bankfiles.iso20022_status import parse_return, parse_status_report
from recoup.adapters.connectors.bankfiles.iso20022_xml import (
    Message,
    file_evidence,
    read_message,
)
from recoup.adapters.connectors.base import FileFormat, Item, ParseContext
from recoup.domain.errors import Location
from recoup.domain.ingestion.canonical import Rejection

_NAMESPACE_DECLARATION = re.compile(r"""xmlns(?::[\w.-]+)?\s*=\s*["']([^"']*)["']""")
_MESSAGE_IN_URI = re.compile(r"(?:^|[:/])([a-z]{4}\.\d{3})\.\d{3}\.\d{2}(?:[.\w-]*)$")
_ENVELOPE_FAMILIES = ("head.001",)  # the business application header, not the message
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def message_family(head: bytes) -> str | None:
    """The message family (``camt.053``) declared by the first namespace in ``head``, if any."""
    text = _decode_head(head)
    if not text.lstrip().startswith("<"):
        return None
    for match in _NAMESPACE_DECLARATION.finditer(text):
        uri = match.group(1).strip()
        if uri.endswith(".xsd"):
            uri = uri[:-4]
        found = _MESSAGE_IN_URI.search(uri)
        if found and found.group(1) not in _ENVELOPE_FAMILIES:
            return found.group(1)
    return None


def _decode_head(head: bytes) -> str:
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return head[len(bom) :].decode(encoding, errors="ignore")
    if head[:2] == b"<\x00":
        return head.decode("utf-16-le", errors="ignore")
    if head[:2] == b"\x00<":
        return head.decode("utf-16-be", errors="ignore")
    return head.decode("latin-1")


@dataclass(slots=True)
class Iso20022Format:
    """One ISO 20022 message family as a :class:`FileFormat` (not frozen: the protocol's
    ``name`` and ``description`` are plain attributes)."""

    name: str
    description: str

    def sniff(self, name: str, head: bytes) -> bool:
        try:
            return message_family(head) == self.name
        except Exception:  # sniffing never raises, whatever the bytes
            return False

    def parse(self, data: bytes, context: ParseContext) -> Iterator[Item]:
        try:
            yield from self._parse(data, context)
        except Exception as exc:  # the last line of defence: a bug must not stop a batch
            reason = f"the {self.name} reader failed: {type(exc).__name__}: {exc}"
            yield Rejection(Location(context.label), "parser_error", reason, file_evidence(data))

    def _parse(self, data: bytes, context: ParseContext) -> Iterator[Item]:
        message = read_message(data, context)
        if isinstance(message, Rejection):
            yield message
            return
        if message.family != self.name:
            yield _wrong_family(message, self.name, data)
            return
        if self.name in ("camt.052", "camt.053", "camt.054"):
            yield from parse_camt(message)
        elif self.name == "pacs.004":
            yield from parse_return(message)
        else:
            yield from parse_status_report(message)


def _wrong_family(message: Message, expected: str, data: bytes) -> Rejection:
    element = message.q.local(message.root.tag)
    reason = f"this is a {message.family} message (<{element}>), not {expected}"
    where = Location(message.label, message.root.sourceline, element)
    return Rejection(where, "unsupported_message", reason, file_evidence(data))


CAMT_053 = Iso20022Format("camt.053", "ISO 20022 bank to customer statement (camt.053)")
CAMT_052 = Iso20022Format("camt.052", "ISO 20022 intraday account report (camt.052)")
CAMT_054 = Iso20022Format(
    "camt.054", "ISO 20022 debit/credit notification, returns included (camt.054)"
)
PAIN_002 = Iso20022Format("pain.002", "ISO 20022 customer payment status report (pain.002)")
PACS_002 = Iso20022Format("pacs.002", "ISO 20022 FI to FI payment status report (pacs.002)")
PACS_004 = Iso20022Format("pacs.004", "ISO 20022 payment return (pacs.004)")

FORMATS: tuple[FileFormat, ...] = (CAMT_053, CAMT_052, CAMT_054, PAIN_002, PACS_002, PACS_004)

__all__ = ["FORMATS", "Iso20022Format", "message_family"]
