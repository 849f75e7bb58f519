"""Customer outreach: whether a customer may be contacted now, and what one message is.

Contact rules protect the customer from us. They apply to the customer across all channels (a
text and an email on the same evening are two messages), except consent, which is per channel:

1. **Consent.** A channel the customer has not opted in to, or has opted out of, is never used.
2. **Review.** After ``review_after`` messages without a reply, a person reviews the outreach
   before anything more goes out. A reply, or a review recorded in the history, starts the count
   again.
3. **Weekly cap.** At most ``max_per_week`` messages in any rolling 7 days.
4. **Gap.** At least ``min_gap`` between two messages.
5. **Quiet hours.** Nothing between ``quiet_start`` and ``quiet_end`` in the recipient's own time
   zone (a window may wrap midnight, 21:00-08:00 does); a message due then waits until the end.

Rules 1 and 2 say no without a time; rules 3 to 5 give the earliest time it is allowed
(``not_before``), so a ladder can schedule the step instead of dropping it.

Only messages that reached or will reach a channel count (``queued`` and ``sent``); a ``failed``
or ``suppressed`` one never reached the customer. Every time is tz-aware UTC and passed in; the
recipient's zone is an IANA name (``Europe/Berlin``), read with the standard ``zoneinfo``.

A message's id is derived from (case id, template, key), so sending it again after a crash or
a retry is the same message, which the outbox stores once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from recoup.domain.errors import InvalidInputError, Location
from recoup.domain.ids import derived_id

WEEK = timedelta(days=7)


class DeliveryStatus(StrEnum):
    """What became of one outbound message."""

    QUEUED = "queued"
    """Accepted for sending, not handed to the channel yet."""
    SENT = "sent"
    """The channel's server accepted it (for email: the SMTP server said 250)."""
    FAILED = "failed"
    """The channel refused it or could not be reached; ``detail`` says why."""
    SUPPRESSED = "suppressed"
    """The contact rules stopped it; ``detail`` is the verdict's reason."""


class ContactStatus(StrEnum):
    """One entry of a customer's contact history: a message of ours, or an answer to it."""

    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"
    REPLIED = "replied"
    """The customer answered (on any channel): outreach is not going unanswered."""
    REVIEWED = "reviewed"
    """A person reviewed the outreach and allowed more messages."""


COUNTED = frozenset({ContactStatus.QUEUED, ContactStatus.SENT})
"""Statuses of the messages the cap, the gap and the review count see."""
RESETS = frozenset({ContactStatus.REPLIED, ContactStatus.REVIEWED})


class MessageKind(StrEnum):
    REQUEST = "request"
    """Asks the customer to act: update a card, pay an invoice, confirm an address."""
    ACKNOWLEDGEMENT = "acknowledgement"
    """Tells the customer we received something of theirs (a claim, a dispute)."""


class BodyFormat(StrEnum):
    TEXT = "text"
    HTML = "html"


TEMPLATE_KINDS: dict[str, MessageKind] = {
    "payment_failed": MessageKind.REQUEST,
    "retry_exhausted": MessageKind.REQUEST,
    "missing_payment": MessageKind.REQUEST,
    "address_risk": MessageKind.REQUEST,
    "claim_received": MessageKind.ACKNOWLEDGEMENT,
}
"""The outreach templates there are and what kind of message each makes."""

FINDING_TEMPLATES: dict[str, str] = {
    "payment_failed": "payment_failed",
    "retry_exhausted": "retry_exhausted",
    "missing_payment": "missing_payment",
    "address_risk": "address_risk",
    "dispute_opened": "claim_received",
    "inquiry_opened": "claim_received",
}
"""Which template speaks to the customer about a finding type; types not here have none."""


@dataclass(frozen=True, slots=True)
class ContactRules:
    """How often and when a customer may be contacted; the defaults are the house policy."""

    max_per_week: int = 2
    min_gap: timedelta = timedelta(hours=48)
    review_after: int = 3
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)

    def __post_init__(self) -> None:
        problems = {
            "max_per_week": "must be at least 1" if self.max_per_week < 1 else "",
            "review_after": "must be at least 1" if self.review_after < 1 else "",
            "min_gap": "must not be negative" if self.min_gap < timedelta(0) else "",
        }
        for name in ("quiet_start", "quiet_end"):
            if getattr(self, name).tzinfo is not None:
                problems[name] = "is a wall-clock time in the recipient's zone; give no tzinfo"
        for name, problem in problems.items():
            if problem:
                raise InvalidInputError(f"contact rules: {name} {problem}",
                                        location=Location(field=name))  # fmt: skip

    @property
    def has_quiet_hours(self) -> bool:
        return self.quiet_start != self.quiet_end

    def is_quiet(self, local: time) -> bool:
        """Whether a wall-clock time falls in the quiet window (start included, end not)."""
        start, end = self.quiet_start, self.quiet_end
        if start == end:
            return False
        if start < end:
            return start <= local < end
        return local >= start or local < end


@dataclass(frozen=True, slots=True)
class Consent:
    """The channels a customer opted in to and out of; a channel in neither is not allowed."""

    opted_in: frozenset[str] = frozenset()
    opted_out: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        both = self.opted_in & self.opted_out
        if both:
            raise InvalidInputError(
                f"consent is both given and withdrawn for {', '.join(sorted(both))}",
                location=Location(file="Consent", field="opted_in"),
            )

    def allows(self, channel: str) -> bool:
        return channel in self.opted_in and channel not in self.opted_out


@dataclass(frozen=True, slots=True)
class Contact:
    at: datetime
    channel: str
    status: ContactStatus

    def __post_init__(self) -> None:
        _require_aware(self.at, "Contact.at")

    @classmethod
    def of(cls, message: OutboundMessage, delivery: Delivery) -> Contact:
        """The history entry a delivery attempt leaves."""
        return cls(delivery.at, message.channel, ContactStatus(delivery.status.value))

    @property
    def counts(self) -> bool:
        return self.status in COUNTED


@dataclass(frozen=True, slots=True)
class ContactVerdict:
    allowed: bool
    not_before: datetime | None
    """The earliest time the message is allowed; None when allowed now or not by time at all."""
    reason: str
    needs_review: bool


def may_contact(
    history: Iterable[Contact],
    rules: ContactRules,
    consent: Consent,
    channel: str,
    now: datetime,
    tz: str,
) -> ContactVerdict:
    """Whether one more message may go to this customer on ``channel`` at ``now``.

    ``history`` is every contact with the customer, on every channel, in any order. ``tz`` is
    the recipient's IANA time zone name.
    """
    now = _require_aware(now, "now").astimezone(UTC)
    zone = _zone(tz)
    if not consent.allows(channel):
        state = "opted out of" if channel in consent.opted_out else "not opted in to"
        return ContactVerdict(False, None, f"no consent: the customer has {state} {channel}",
                              needs_review=False)  # fmt: skip
    entries = sorted(history, key=lambda c: c.at)
    unanswered = _unanswered(entries)
    if unanswered >= rules.review_after:
        reason = (f"{unanswered} messages without a reply: a person reviews the outreach "
                  "before any more")  # fmt: skip
        return ContactVerdict(False, None, reason, needs_review=True)
    sent = [c.at.astimezone(UTC) for c in entries if c.counts]
    earliest, reasons = now, []
    window = [at for at in sent if at > now - WEEK]
    if len(window) >= rules.max_per_week:
        ready = window[len(window) - rules.max_per_week] + WEEK
        earliest = max(earliest, ready)
        reasons.append(f"weekly cap: {len(window)} of {rules.max_per_week} messages in the "
                       f"last 7 days, a slot opens at {ready.isoformat()}")  # fmt: skip
    if sent and sent[-1] + rules.min_gap > now:
        ready = sent[-1] + rules.min_gap
        earliest = max(earliest, ready)
        reasons.append(f"minimum gap: {_hours(rules.min_gap)} since the last message at "
                       f"{sent[-1].isoformat()}")  # fmt: skip
    quiet_until = end_of_quiet_hours(earliest, rules, zone)
    if quiet_until is not None:
        earliest = quiet_until
        reasons.append(f"quiet hours: {rules.quiet_start:%H:%M}-{rules.quiet_end:%H:%M} in "
                       f"{tz}, until {quiet_until.astimezone(zone).isoformat()}")  # fmt: skip
    if earliest == now:
        return ContactVerdict(True, None, "allowed", needs_review=False)
    return ContactVerdict(False, earliest, "; ".join(reasons), needs_review=False)


def end_of_quiet_hours(at: datetime, rules: ContactRules, zone: ZoneInfo) -> datetime | None:
    """When the quiet window holding ``at`` ends (UTC), or None if ``at`` is not in one.

    The end is a wall-clock time in ``zone``, so across a DST change it is a different UTC
    hour than the day before. An end that falls in a DST gap is read with the offset before the
    change (``fold=0``), which lands just after the gap.
    """
    if not rules.has_quiet_hours:
        return None
    local = at.astimezone(zone)
    if not rules.is_quiet(local.time()):
        return None
    day = local.date()
    wraps = rules.quiet_start > rules.quiet_end
    if wraps and local.time() >= rules.quiet_start:
        day += timedelta(days=1)
    return datetime.combine(day, rules.quiet_end, tzinfo=zone).astimezone(UTC)


def _unanswered(entries: list[Contact]) -> int:
    """Counted messages after the latest reply or review (``entries`` in time order)."""
    count = 0
    for entry in entries:
        if entry.status in RESETS:
            count = 0
        elif entry.counts:
            count += 1
    return count


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    id: str
    case_id: str
    channel: str
    to: str
    subject: str
    body: str
    language: str
    template: str
    kind: MessageKind
    body_format: BodyFormat = BodyFormat.TEXT

    def __post_init__(self) -> None:
        for name in ("id", "case_id", "channel", "to", "template"):
            if not getattr(self, name).strip():
                raise InvalidInputError(f"message {self.id or '?'}: {name} is empty",
                                        location=Location(field=name))  # fmt: skip
        if "\n" in self.subject or "\r" in self.subject:
            # A line break in a subject is a header injection waiting to happen.
            raise InvalidInputError(f"message {self.id}: subject has a line break",
                                    location=Location(field="subject"))  # fmt: skip

    @classmethod
    def compose(
        cls,
        *,
        case_id: str,
        template: str,
        key: str,
        channel: str,
        to: str,
        subject: str,
        body: str,
        language: str,
        kind: MessageKind | None = None,
        body_format: BodyFormat = BodyFormat.TEXT,
    ) -> OutboundMessage:
        """A message with its derived id; ``kind`` defaults to the template's own."""
        if kind is None:
            if template not in TEMPLATE_KINDS:
                raise InvalidInputError(f"template {template!r} has no known kind; pass kind",
                                        location=Location(field="kind"))  # fmt: skip
            kind = TEMPLATE_KINDS[template]
        return cls(message_id(case_id, template, key), case_id, channel, to, subject, body,
                   language, template, kind, body_format)  # fmt: skip


def message_id(case_id: str, template: str, key: str) -> str:
    """The id of the message ``template`` sends about a case for ``key`` (for example a ladder
    step): the same inputs give the same id, so a retried send is not a second message."""
    return derived_id("outreach", case_id, template, key)


@dataclass(frozen=True, slots=True)
class Delivery:
    message_id: str
    status: DeliveryStatus
    at: datetime
    detail: str = ""

    def __post_init__(self) -> None:
        _require_aware(self.at, "Delivery.at")


def suppressed(message: OutboundMessage, verdict: ContactVerdict, now: datetime) -> Delivery:
    """The delivery record of a message the contact rules stopped."""
    if verdict.allowed:
        raise InvalidInputError(f"message {message.id}: the verdict allows it; nothing to suppress")
    return Delivery(message.id, DeliveryStatus.SUPPRESSED, now, verdict.reason)


class OutreachChannel(Protocol):
    """Sends one message and says what became of it; never raises for a refused message."""

    def send(self, message: OutboundMessage) -> Delivery: ...


def _require_aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInputError(f"{name} must be timezone-aware", location=Location(field=name))
    return value


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInputError(f"unknown time zone {name!r}; use an IANA name like Europe/Berlin",
                                location=Location(field="tz")) from None  # fmt: skip


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:g}h"


__all__ = [
    "COUNTED",
    "FINDING_TEMPLATES",
    "TEMPLATE_KINDS",
    "BodyFormat",
    "Consent",
    "Contact",
    "ContactRules",
    "ContactStatus",
    "ContactVerdict",
    "Delivery",
    "DeliveryStatus",
    "MessageKind",
    "OutboundMessage",
    "OutreachChannel",
    "end_of_quiet_hours",
    "may_contact",
    "message_id",
    "suppressed",
]
