"""Stateful duplicate detectors: an event is remembered in a window under one or more keys, and
a later (or earlier: delivery may be out of order) event under the same key with a different
reference is its duplicate.

:class:`PairDetector` holds the window logic; a detector says which event types it reads, the
reference that tells two business objects apart, its :class:`PairRule` s (a key, a window and an
optional extra test on a pair of entries) and how a pair becomes a finding. The finding's id
follows from the *later* event of the pair, so it is the same whatever order the events arrive
in. Detectors never touch storage: the ingest service loads the window entries they request
and stores the ones they add.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache

from recoup.domain.detection.findings import Finding, finding_id
from recoup.domain.detection.taxonomy import Tier
from recoup.domain.ingestion.event import Event
from recoup.domain.money import currency_exponent, format_money

DUPLICATE_CHARGE = "duplicate_charge"
DUPLICATE_INVOICE = "duplicate_invoice"
DUPLICATE_ORDER = "duplicate_order"
DEFAULT_DUPLICATE_WINDOW = timedelta(hours=1)
DEFAULT_INVOICE_NUMBER_WINDOW = timedelta(days=90)
DEFAULT_INVOICE_AMOUNT_WINDOW = timedelta(days=7)
DEFAULT_ORDER_WINDOW = timedelta(minutes=10)

INVOICE_TYPES = frozenset({"invoice.created", "invoice.approved"})
# The second window of duplicate_invoice has its own detector name in the window store, so its
# keys can never mix with those of the number window.
INVOICE_AMOUNT_WINDOW = "duplicate_invoice.amount"
NEAR_NUMBER_CONFIDENCE = 0.75
"""How sure a same-amount, near-number duplicate invoice is (the detail's ``confidence``)."""
REF_MAX_LENGTH = 255
"""The longest reference the window store keeps (``detector_windows.ref``)."""


@dataclass(frozen=True, slots=True)
class WindowEntry:
    """One event remembered by a stateful detector under a key, for a time window."""

    detector: str
    key: str
    event_id: str
    occurred_at: datetime
    ref: str


@dataclass(frozen=True, slots=True)
class WindowRequest:
    detector: str
    key: str
    start: datetime
    end: datetime


@dataclass
class WindowState:
    """The entries loaded for this batch, plus those the batch adds."""

    entries: dict[tuple[str, str], list[WindowEntry]] = field(default_factory=dict)

    @classmethod
    def of(cls, entries: Iterable[WindowEntry]) -> WindowState:
        state = cls()
        for entry in entries:
            state.entries.setdefault((entry.detector, entry.key), []).append(entry)
        return state

    def get(self, detector: str, key: str) -> list[WindowEntry]:
        return self.entries.get((detector, key), [])

    def add(self, entry: WindowEntry) -> None:
        self.entries.setdefault((entry.detector, entry.key), []).append(entry)


def _money(event: Event) -> str:
    if event.amount is None or event.currency is None:
        return "an unknown amount"
    return format_money(event.amount, event.currency)


def _amount(event: Event) -> str | None:
    """The amount at its currency's exponent ("20" and "20.00" are one amount), or None."""
    if event.amount is None or event.currency is None:
        return None
    return str(event.amount.quantize(_quantum(event.currency)))


@cache
def _quantum(currency: str) -> Decimal:
    """The smallest unit of ``currency`` (0.01 for EUR); an unknown code raises, uncached."""
    return Decimal(1).scaleb(-currency_exponent(currency))


def _same_object(a: WindowEntry, b: WindowEntry) -> bool:
    return a.ref == b.ref


@dataclass(frozen=True, slots=True)
class PairRule:
    """One window of a detector: the detector name it is stored under, its key, how far apart
    two events may be, what the rule is called in a finding, and what else a pair must meet."""

    detector: str
    key: Callable[[Event], str | None]
    window: timedelta
    name: str = "same_key"
    same_object: Callable[[WindowEntry, WindowEntry], bool] = _same_object
    """True when two entries are the same business object (never a duplicate of itself)."""
    matches: Callable[[WindowEntry, WindowEntry], bool] | None = None
    """An extra test on a pair of entries with equal keys (None: the key is enough)."""


@dataclass(frozen=True, slots=True)
class Pair:
    rule: PairRule
    original: WindowEntry
    duplicate: WindowEntry


class PairDetector:
    """Remembers events under the keys of its rules and pairs each with the others of a key
    within the rule's window. The earliest event of a group is the original; the event at hand
    is the duplicate, unless it is the earliest, when the duplicate is the next one in time
    (which found no partner when it arrived). At most one finding per duplicate event: when
    several rules fire, the first one in ``rules`` names it."""

    name: str
    types: frozenset[str]
    rules: tuple[PairRule, ...]

    def ref(self, event: Event) -> str | None:
        """The reference stored with the event; None when the detector cannot use the event."""
        raise NotImplementedError

    def finding(self, event: Event, pair: Pair, detected_at: datetime) -> Finding:
        raise NotImplementedError

    def requests(self, events: Sequence[Event]) -> list[WindowRequest]:
        spans: dict[tuple[str, str], tuple[datetime, datetime, timedelta]] = {}
        for event in events:
            if event.type not in self.types or self.ref(event) is None:
                continue
            at = event.occurred_at
            for rule in self.rules:
                key = rule.key(event)
                if key is None:
                    continue
                start, end, _ = spans.get((rule.detector, key), (at, at, rule.window))
                spans[(rule.detector, key)] = (min(start, at), max(end, at), rule.window)
        return [
            WindowRequest(detector, key, start - window, end + window)
            for (detector, key), (start, end, window) in spans.items()
        ]

    def observe(
        self, event: Event, state: WindowState, detected_at: datetime
    ) -> tuple[list[Finding], list[WindowEntry]]:
        """The findings this event completes and the window entries it adds."""
        if event.type not in self.types:
            return [], []
        ref = self.ref(event)
        if ref is None:
            return [], []
        findings: dict[str, Finding] = {}
        entries: list[WindowEntry] = []
        for rule in self.rules:
            key = rule.key(event)
            if key is None:
                continue
            entry = WindowEntry(rule.detector, key, event.event_id, event.occurred_at, ref)
            partners = [
                e
                for e in state.get(rule.detector, key)
                if abs(e.occurred_at - event.occurred_at) <= rule.window
                and not rule.same_object(e, entry)
                and (rule.matches is None or rule.matches(e, entry))
            ]
            state.add(entry)
            entries.append(entry)
            if not partners:
                continue
            group = sorted([*partners, entry], key=lambda e: (e.occurred_at, e.event_id))
            original = group[0]
            # Events may arrive out of order: when this one is the earliest, the duplicate is
            # the next one in time, which found no partner when it arrived.
            duplicate = entry if entry is not original else group[1]
            id_ = finding_id(self.name, duplicate.event_id)
            if id_ not in findings:
                findings[id_] = self.finding(event, Pair(rule, original, duplicate), detected_at)
        return list(findings.values()), entries


# --- duplicate_charge ---------------------------------------------------------------------------


def duplicate_key(event: Event) -> str | None:
    """Same customer, same amount, same currency: the fingerprint of a double charge."""
    if event.type != "payment.succeeded" or event.refs.customer is None:
        return None
    amount = _amount(event)
    if amount is None:
        return None
    return f"{event.refs.customer}|{event.currency}|{amount}"


def _payment_ref(event: Event) -> str:
    return event.refs.payment or event.refs.charge or event.event_id


class DuplicateChargeDetector(PairDetector):
    """Fires when a customer pays the same amount twice, as two different payments, within the
    window. The later payment is the duplicate; the first one in the window is the original.
    The finding's id follows from the duplicate payment's event, so a late-arriving original
    yields the same finding as ordered delivery."""

    name = DUPLICATE_CHARGE
    types = frozenset({"payment.succeeded"})

    def __init__(self, window: timedelta) -> None:
        self.window = window
        self.rules = (PairRule(DUPLICATE_CHARGE, duplicate_key, window),)

    def ref(self, event: Event) -> str:
        return _payment_ref(event)

    def check(
        self, event: Event, state: WindowState, detected_at: datetime
    ) -> tuple[Finding | None, WindowEntry | None]:
        findings, entries = self.observe(event, state, detected_at)
        return (findings[0] if findings else None), (entries[0] if entries else None)

    def finding(self, event: Event, pair: Pair, detected_at: datetime) -> Finding:
        original, duplicate = pair.original, pair.duplicate
        assert event.refs.customer is not None
        return Finding(
            id=finding_id(DUPLICATE_CHARGE, duplicate.event_id),
            type=DUPLICATE_CHARGE,
            entity_kind="customer",
            entity_key=event.refs.customer,
            occurred_at=duplicate.occurred_at,
            detected_at=detected_at,
            trigger_event_id=duplicate.event_id,
            evidence_event_ids=(original.event_id, duplicate.event_id),
            summary=f"{_money(event)} charged again within {self.window} "
            f"(original payment {original.ref})",
            tier=Tier.GUIDED,
            amount=event.amount,
            currency=event.currency,
            exposure_key=f"payment:{duplicate.ref}",
            reason_code=None,
            detail={"original_payment": original.ref, "duplicate_payment": duplicate.ref},
        )


# --- duplicate_order ----------------------------------------------------------------------------


def order_key(event: Event) -> str | None:
    """Same customer, same amount, same currency: a checkout submitted twice."""
    if event.refs.customer is None:
        return None
    amount = _amount(event)
    if amount is None:
        return None
    return f"{event.refs.customer}|{event.currency}|{amount}"


class DuplicateOrderDetector(PairDetector):
    """Fires when a customer places two different orders of the same amount and currency within
    the window (10 minutes): a double-submitted checkout. The later order is the duplicate."""

    name = DUPLICATE_ORDER
    types = frozenset({"order.created"})

    def __init__(self, window: timedelta = DEFAULT_ORDER_WINDOW) -> None:
        self.window = window
        self.rules = (PairRule(DUPLICATE_ORDER, order_key, window),)

    def ref(self, event: Event) -> str | None:
        return event.refs.order

    def finding(self, event: Event, pair: Pair, detected_at: datetime) -> Finding:
        original, duplicate = pair.original, pair.duplicate
        return Finding(
            id=finding_id(DUPLICATE_ORDER, duplicate.event_id),
            type=DUPLICATE_ORDER,
            entity_kind="order",
            entity_key=duplicate.ref,
            occurred_at=duplicate.occurred_at,
            detected_at=detected_at,
            trigger_event_id=duplicate.event_id,
            evidence_event_ids=(original.event_id, duplicate.event_id),
            summary=f"{_money(event)} ordered again by {event.refs.customer} within "
            f"{self.window} (original order {original.ref})",
            tier=Tier.GUIDED,
            amount=event.amount,
            currency=event.currency,
            exposure_key=f"order:{duplicate.ref}",
            reason_code=None,
            detail={"original_order": original.ref, "duplicate_order": duplicate.ref},
        )


# --- duplicate_invoice --------------------------------------------------------------------------

_LEADING_ZEROS = re.compile(r"(?<!\d)0+(?=\d)")


def normalise_invoice_number(number: str) -> str | None:
    """Upper-case, leading zeros of each run of digits dropped, and everything that is not a
    letter or a digit (spaces, dashes, dots, slashes...) removed: "INV-0012" and "inv 12" are
    both "INV12". None when nothing is left."""
    stripped = _LEADING_ZEROS.sub("", number.upper())
    return "".join(c for c in stripped if c.isalnum()) or None


def one_edit_apart(a: str, b: str) -> bool:
    """True when ``b`` is ``a`` with exactly one character changed, added or removed."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1 :] == b[i + 1 :]
    return a[i:] == b[i + 1 :]


@dataclass(frozen=True, slots=True)
class InvoiceRef:
    """What an invoice's window entry remembers: its id, its normalised number and its amount
    (so a finding made when the original arrives late still shows the duplicate's money).
    Stored as ``<amount> <currency> <number> <invoice id>`` ("-" for a missing amount)."""

    invoice: str
    number: str
    amount: Decimal | None
    currency: str | None

    def encode(self) -> str:
        money = f"{self.amount} {self.currency}" if self.amount is not None else "- -"
        return f"{money} {self.number} {self.invoice}"

    @classmethod
    def decode(cls, ref: str) -> InvoiceRef:
        amount, currency, number, invoice = ref.split(" ", 3)
        if amount == "-":
            return cls(invoice, number, None, None)
        return cls(invoice, number, Decimal(amount), currency)


def _invoice_number(event: Event) -> str | None:
    """The supplier's invoice number: ``attributes.invoice_number`` when the source gives one
    beside the invoice id, else ``refs.invoice``."""
    number = event.attributes.get("invoice_number")
    raw = number if isinstance(number, str) and number.strip() else event.refs.invoice
    return normalise_invoice_number(raw) if raw is not None else None


def invoice_number_key(event: Event) -> str | None:
    number = _invoice_number(event)
    if event.refs.supplier is None or number is None:
        return None
    return f"{event.refs.supplier}|{number}"


def invoice_amount_key(event: Event) -> str | None:
    amount = _amount(event)
    if event.refs.supplier is None or amount is None:
        return None
    return f"{event.refs.supplier}|{event.currency}|{amount}"


def _same_invoice(a: WindowEntry, b: WindowEntry) -> bool:
    return InvoiceRef.decode(a.ref).invoice == InvoiceRef.decode(b.ref).invoice


def _near_number(a: WindowEntry, b: WindowEntry) -> bool:
    return one_edit_apart(InvoiceRef.decode(a.ref).number, InvoiceRef.decode(b.ref).number)


class DuplicateInvoiceDetector(PairDetector):
    """Fires when a supplier's invoice is entered twice under two different invoice ids: the
    same normalised number within 90 days (rule ``same_number``), or the same amount and
    currency within 7 days with numbers one character apart, a typo (rule ``near_number``)."""

    name = DUPLICATE_INVOICE
    types = INVOICE_TYPES

    def __init__(
        self,
        number_window: timedelta = DEFAULT_INVOICE_NUMBER_WINDOW,
        amount_window: timedelta = DEFAULT_INVOICE_AMOUNT_WINDOW,
    ) -> None:
        self.rules = (
            PairRule(DUPLICATE_INVOICE, invoice_number_key, number_window, "same_number",
                     _same_invoice),
            PairRule(INVOICE_AMOUNT_WINDOW, invoice_amount_key, amount_window, "near_number",
                     _same_invoice, _near_number),
        )  # fmt: skip

    def ref(self, event: Event) -> str | None:
        number = _invoice_number(event)
        if event.refs.supplier is None or event.refs.invoice is None or number is None:
            return None
        amount = _amount(event)
        ref = InvoiceRef(
            event.refs.invoice,
            number,
            Decimal(amount) if amount is not None else None,
            event.currency if amount is not None else None,
        ).encode()
        # An id and number too long for the window store are not remembered.
        return ref if len(ref) <= REF_MAX_LENGTH else None

    def finding(self, event: Event, pair: Pair, detected_at: datetime) -> Finding:
        original = InvoiceRef.decode(pair.original.ref)
        duplicate = InvoiceRef.decode(pair.duplicate.ref)
        assert event.refs.supplier is not None
        if duplicate.amount is not None and duplicate.currency is not None:
            money = format_money(duplicate.amount, duplicate.currency)
        else:
            money = "an unknown amount"
        if pair.rule.name == "same_number":
            why = f"number {duplicate.number} already on invoice {original.invoice}"
        else:
            why = (
                f"same amount as invoice {original.invoice} with a number one character "
                f"apart ({original.number} / {duplicate.number})"
            )
        return Finding(
            id=finding_id(DUPLICATE_INVOICE, pair.duplicate.event_id),
            type=DUPLICATE_INVOICE,
            entity_kind="supplier",
            entity_key=event.refs.supplier,
            occurred_at=pair.duplicate.occurred_at,
            detected_at=detected_at,
            trigger_event_id=pair.duplicate.event_id,
            evidence_event_ids=(pair.original.event_id, pair.duplicate.event_id),
            summary=f"invoice {duplicate.invoice} of {money} may duplicate: {why}",
            tier=Tier.GUIDED,
            amount=duplicate.amount,
            currency=duplicate.currency,
            exposure_key=f"invoice:{duplicate.invoice}",
            reason_code=None,
            detail={
                "rule": pair.rule.name,
                "original_invoice": original.invoice,
                "duplicate_invoice": duplicate.invoice,
                "original_number": original.number,
                "duplicate_number": duplicate.number,
                # a number one character apart is a heuristic: the policy pauses automation
                **(
                    {}
                    if pair.rule.name == "same_number"
                    else {"confidence": NEAR_NUMBER_CONFIDENCE}
                ),
            },
        )
