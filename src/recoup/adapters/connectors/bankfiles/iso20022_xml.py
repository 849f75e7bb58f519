"""Reading ISO 20022 XML safely and quickly: the parts every message family shares.

Bank files are untrusted input. The parser resolves no entities, loads no DTD, touches no
network and keeps libxml2's limits on depth and node size; a document that declares a DTD at all
is refused (no ISO 20022 message has one, and refusing it closes the door on entity tricks).

Tag names are qualified once per namespace (the versions of a message differ only in their
namespace for almost everything read here); large records (camt entries) are read through
:mod:`.iso20022_index`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from lxml import etree

from recoup.adapters.connectors.base import Item, ParseContext
from recoup.domain.errors import InvalidInputError, Location
from recoup.domain.ingestion.canonical import Rejection, build_event
from recoup.domain.ingestion.event import REASON_CODE_PATTERN
from recoup.domain.money import currency_exponent
from recoup.domain.reference.iso20022 import iso_reason

Element = etree._Element

MESSAGE_ELEMENTS: dict[str, str] = {
    "BkToCstmrStmt": "camt.053",
    "BkToCstmrAcctRpt": "camt.052",
    "BkToCstmrDbtCdtNtfctn": "camt.054",
    "CstmrPmtStsRpt": "pain.002",
    "FIToFIPmtStsRpt": "pacs.002",
    "PmtRtr": "pacs.004",
}
"""The message element under ``Document`` and the family it belongs to (version 1 schemas
append ``V01`` to the name: ``BkToCstmrAcctRptV01``)."""

_VERSION_SUFFIX = re.compile(r"V\d\d$")
_SOURCE_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_REASON = re.compile(REASON_CODE_PATTERN)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_AMOUNT = re.compile(r"^\+?\d{1,18}(?:\.\d*)?$|^\+?\.\d+$")
_QUANTUM: dict[str, Decimal] = {}
_MOMENTS: dict[str, datetime] = {}
_MOMENTS_KEPT = 4096
MAX_EVIDENCE = 64 * 1024
"""How much of an unreadable file is kept as evidence with its rejection."""


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=True,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )


class Names:
    """Qualified tag names of one namespace: ``q.Ntry == "{urn:...camt.053.001.02}Ntry"``."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.prefix = f"{{{namespace}}}" if namespace else ""
        self._cut = len(self.prefix)
        self.specs: dict[int, Any] = {}

    def __getattr__(self, local: str) -> str:
        if local.startswith("_"):
            raise AttributeError(local)
        qualified = self.prefix + local
        setattr(self, local, qualified)  # cached: the next lookup is a plain attribute
        return qualified

    def local(self, tag: object) -> str:
        """The local name of an element's tag (``""`` for anything that is not an element)."""
        if not isinstance(tag, str):
            return ""
        if tag.startswith(self.prefix):
            return tag[self._cut :]
        return tag.rpartition("}")[2]


@dataclass(slots=True)
class Message:
    """One parsed ISO 20022 message: its family, namespace and message element."""

    family: str
    namespace: str
    root: Element
    q: Names
    context: ParseContext
    msg_id: str = ""
    key: str = ""
    created: datetime | None = None

    @property
    def label(self) -> str:
        return self.context.label

    def location(self, element: Element | None, path: str | None) -> Location:
        line = element.sourceline if element is not None else None
        return Location(self.label, line if isinstance(line, int) else None, path)

    def reject(self, element: Element | None, path: str, code: str, reason: str) -> Rejection:
        return Rejection(self.location(element, path), code, reason, evidence(element))

    def refuse(self, problem: Problem, record: Element) -> Rejection:
        """The rejection of ``record`` for ``problem``: located at the offending element when
        there is one, with the whole record as evidence."""
        element = problem.element if problem.element is not None else record
        return Rejection(
            self.location(element, problem.path), problem.code, problem.reason, evidence(record)
        )

    def event(
        self, fields: dict[str, Any], element: Element, path: str, raw: str | None = None
    ) -> Item:
        line = element.sourceline
        return build_event(
            fields,
            received_at=self.context.received_at,
            raw=raw if raw is not None else evidence(element),
            file=self.label,
            line=line if isinstance(line, int) else None,
            element=path,
        )


class Problem(Exception):
    """A value in the file that cannot be used: where it is and why (caught per record)."""

    def __init__(self, element: Element | None, path: str, code: str, reason: str) -> None:
        super().__init__(reason)
        self.element = element
        self.path = path
        self.code = code
        self.reason = reason


def evidence(element: Element | None) -> str:
    if element is None:
        return ""
    return etree.tostring(element, encoding="unicode", with_tail=False)


def file_evidence(data: bytes) -> str:
    return data[:MAX_EVIDENCE].decode("utf-8", errors="replace")


def read_message(data: bytes, context: ParseContext) -> Message | Rejection:
    """Parse the bytes into a :class:`Message`, or the one rejection that says why not."""
    where = Location(context.label)
    if not data.strip():
        return Rejection(where, "empty_file", "the file is empty", "")
    try:
        tree = etree.fromstring(data, _parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if isinstance(exc.lineno, int) and exc.lineno > 0 else None
        reason = f"not well-formed XML: {exc.msg}"
        return Rejection(Location(context.label, line), "invalid_xml", reason, file_evidence(data))
    except (ValueError, etree.LxmlError) as exc:  # e.g. an unknown encoding declaration
        return Rejection(where, "invalid_xml", f"not readable XML: {exc}", file_evidence(data))
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        reason = "the document declares a DTD; ISO 20022 messages never do, so it is refused"
        return Rejection(where, "forbidden_dtd", reason, file_evidence(data))
    document = _document(tree.getroot())
    if document is None:
        reason = "no ISO 20022 Document element in the file"
        return Rejection(where, "unsupported_message", reason, file_evidence(data))
    namespace = etree.QName(document).namespace or ""
    q = Names(namespace)
    root = next((child for child in document if isinstance(child.tag, str)), None)
    name = _VERSION_SUFFIX.sub("", q.local(root.tag)) if root is not None else ""
    family = MESSAGE_ELEMENTS.get(name)
    if root is None or family is None:
        found = f"<{name}>" if name else "nothing"
        reason = f"Document holds {found}, which is not an ISO 20022 message read here"
        return Rejection(
            Location(context.label, document.sourceline, "Document"),
            "unsupported_message",
            reason,
            file_evidence(data),
        )
    message = Message(
        family=family,
        namespace=namespace,
        root=root,
        q=q,
        context=context,
    )
    header = first(root, q.GrpHdr)
    message.msg_id = text(first(header, q.MsgId)) or ""
    try:
        message.created = date_time(first(header, q.CreDtTm), "GrpHdr/CreDtTm")
    except Problem:
        message.created = None
    # ids of records start with the message id, unique per sender; without one, with a digest
    # of the bytes, which is as stable across a redelivery of the same file
    message.key = message.msg_id or "sha256-" + hashlib.sha256(data).hexdigest()[:16]
    return message


def _document(root: Element) -> Element | None:
    """The ``Document`` element: the root, or inside an envelope (business application header)."""
    if etree.QName(root).localname == "Document":
        return root
    return next(root.iter("{*}Document"), None)


# -- reading values ------------------------------------------------------------------------------


def first(element: Element | None, tag: str) -> Element | None:
    """The first child with this qualified tag."""
    if element is None:
        return None
    for child in element.iterchildren(tag):
        return child
    return None


def children(element: Element | None, tag: str) -> list[Element]:
    if element is None:
        return []
    return list(element.iterchildren(tag))


def kids(element: Element) -> dict[str, Element]:
    """The first child of each tag, by qualified tag: one pass for many look-ups."""
    found: dict[str, Element] = {}
    for child in element:
        found.setdefault(child.tag, child)  # type: ignore[arg-type]
    return found


def text(element: Element | None) -> str | None:
    """The element's text, stripped; None when the element is missing or empty."""
    if element is None:
        return None
    value = element.text
    if value is None:
        return None
    value = value.strip()
    return value or None


def dig(element: Element | None, *tags: str) -> Element | None:
    """Follow a chain of child tags: ``dig(ntry, q.BookgDt, q.Dt)``."""
    for tag in tags:
        if element is None:
            return None
        element = first(element, tag)
    return element


def dig_text(element: Element | None, *tags: str) -> str | None:
    return text(dig(element, *tags))


def amount(element: Element | None, path: str) -> tuple[Decimal, str]:
    """An ``Amt Ccy="EUR"`` element as an exact, non-negative amount at its currency's exponent.

    Decimals beyond the currency's exponent are dropped only when they are zeros (``8.850`` EUR is
    8.85); anything else is a :class:`Problem` located at the element, never a rounding."""
    if element is None:
        raise Problem(None, path, "missing_element", f"{path} is missing")
    currency = (element.get("Ccy") or "").strip()
    if not currency:
        raise Problem(element, path, "missing_element", f"{path} has no Ccy (currency) attribute")
    raw = text(element)
    if raw is None or not _AMOUNT.match(raw):
        reason = f"{path} {raw!r} is not an amount (digits, a point, at most 18 before it)"
        raise Problem(element, path, "invalid_value", reason)
    quantum = _QUANTUM.get(currency)
    if quantum is None:
        try:
            exponent = currency_exponent(currency)
        except InvalidInputError as exc:
            raise Problem(element, f"{path}/@Ccy", "invalid_value", exc.message) from None
        quantum = _QUANTUM[currency] = Decimal(1).scaleb(-exponent)
    value = Decimal(raw)
    exact = value.quantize(quantum)
    if exact != value:
        places = -int(value.as_tuple().exponent)
        allowed = -int(quantum.as_tuple().exponent)
        reason = f"{path} {raw} has {places} decimal places but {currency} allows {allowed}"
        raise Problem(element, path, "invalid_value", reason)
    return exact, currency


def date_time(element: Element | None, path: str) -> datetime | None:
    """An ISODate (midnight UTC) or ISODateTime (UTC; without an offset it is taken as UTC)."""
    raw = text(element)
    if raw is None:
        return None
    known = _MOMENTS.get(raw)
    if known is not None:
        return known
    try:
        if _DATE.match(raw):
            value = datetime.combine(date.fromisoformat(raw), time(), tzinfo=UTC)
        else:
            value = datetime.fromisoformat(raw)
            value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except ValueError:
        reason = f"{path} {raw!r} is not an ISO date or date-time"
        raise Problem(element, path, "invalid_value", reason) from None
    except OverflowError:
        reason = f"{path} {raw!r} cannot be expressed in UTC"
        raise Problem(element, path, "invalid_value", reason) from None
    if len(_MOMENTS) < _MOMENTS_KEPT:  # a statement repeats a few dates many times
        _MOMENTS[raw] = value
    return value


def date_choice(element: Element | None, q: Names, path: str) -> datetime | None:
    """A ``DateAndDateTimeChoice``: ``<Dt>`` or ``<DtTm>`` inside ``element``."""
    if element is None:
        return None
    for child in element:
        tag = child.tag
        if tag == q.Dt:
            return date_time(child, f"{path}/Dt")
        if tag == q.DtTm:
            return date_time(child, f"{path}/DtTm")
    return None


def direction(raw: str | None, path: str, element: Element | None) -> str:
    """``CRDT``/``DBIT`` as ``credit``/``debit``; ``element`` (the record) locates a problem."""
    if raw == "CRDT":
        return "credit"
    if raw == "DBIT":
        return "debit"
    if raw is None:
        raise Problem(element, path, "missing_element", f"{path} is missing")
    raise Problem(element, path, "invalid_value", f"{path} {raw!r} is neither CRDT nor DBIT")


def account_id(account: Element | None, q: Names) -> str | None:
    """An account's identification: IBAN, ``Othr/Id``, or a version-1 proprietary/BBAN/UPIC id."""
    ident = first(account, q.Id)
    if ident is None:
        return None
    for child in ident:
        tag = child.tag
        if tag == q.IBAN or tag == q.BBAN or tag == q.UPIC:
            return text(child)
        if tag == q.Othr or tag == q.PrtryAcct:
            return dig_text(child, q.Id)
    return None


def source_for(account: str | None, context: ParseContext) -> str:
    """``context.source`` if given, else ``bank:<account>`` with unsafe characters as ``-``."""
    if context.source:
        return context.source
    if not account:
        return "bank"
    cleaned = _SOURCE_UNSAFE.sub("-", account).strip("-")[:90]
    return f"bank:{cleaned}" if cleaned else "bank"


def reason_fields(code: str | None, proprietary: str | None) -> dict[str, Any]:
    """``reason_code`` (``iso:AC04``) and ``reason_message`` for an ISO reason choice."""
    if code:
        info = iso_reason(code)
        candidate = f"iso:{code}"
        fields: dict[str, Any] = {}
        if _REASON.match(candidate) and len(candidate) <= 100:
            fields["reason_code"] = candidate
        if info is not None:
            fields["reason_message"] = info.meaning
        return fields
    if proprietary:
        candidate = f"iso:{proprietary}"
        if _REASON.match(candidate) and len(candidate) <= 100:
            return {"reason_code": candidate}
    return {}
