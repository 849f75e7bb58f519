"""Turn one JSON line into a canonical :class:`Event`, or a located :class:`Rejection`.

Nothing here raises on bad input: a bad record is a value that ends up in quarantine with the
file, line and field that are wrong, so a batch never stops and nothing is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any

import msgspec

from recoup.domain.errors import InvalidInputError, Location
from recoup.domain.ingestion.cards import mask_card_numbers
from recoup.domain.ingestion.event import Event, event_id_for
from recoup.domain.ingestion.types import is_known_type
from recoup.domain.money import Money, check_amount

_FIELD_IN_MESSAGE = re.compile(r" - at `\$\.?([^`]*)`$")
_NAMED_FIELD = re.compile(r"field `([^`]*)`")


NEGATIVE = "amount must not be negative; say which way with direction"
_UNKNOWN_FIELD = "Object contains unknown field"

_FRIENDLY = {
    "reason_code": "reason_code must be namespaced, like stripe:card_declined or iso:AC04",
    "source": "source must be lower case, like stripe or bank:main-eur",
}


MAX_FIELD = 200
"""The longest field name a rejection's location keeps (the quarantine stores up to 200)."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record that could not become an event, and exactly why."""

    location: Location
    code: str
    reason: str
    raw: str

    def __post_init__(self) -> None:
        # A NUL character (which PostgreSQL text cannot hold) is shown as U+FFFD, as in events:
        # a record with one must still reach quarantine instead of failing its batch.
        for name in ("reason", "raw"):
            value = getattr(self, name)
            if isinstance(value, str) and "\x00" in value:
                object.__setattr__(self, name, _no_nul(value))
        # The field may quote the input (an unknown key): keep it within what a location stores.
        field = self.location.field
        if field is not None and ("\x00" in field or len(field) > MAX_FIELD):
            if len(field) > MAX_FIELD:
                field = field[: MAX_FIELD - 1] + "…"
            object.__setattr__(self, "location", replace(self.location, field=_no_nul(field)))

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"


def _no_nul(text: str) -> str:
    return text.replace("\x00", "\ufffd")


@cache
def _decoder() -> msgspec.json.Decoder[Event]:
    return msgspec.json.Decoder(Event)


def _schema_field(message: str) -> tuple[str | None, str]:
    """Pull the offending field out of a msgspec message: ``Expected `str` - at `$.x```."""
    match = _FIELD_IN_MESSAGE.search(message)
    if match:
        path, text = match.group(1), message[: match.start()]
        named = _NAMED_FIELD.search(text)
        if named and text.startswith(_UNKNOWN_FIELD):
            return f"{path}.{_name(named)}", text
        return (path or None), text
    named = _NAMED_FIELD.search(message)
    return (_name(named) if named else None), message


def _name(named: re.Match[str]) -> str:
    """A field name from a message; an empty key is named as JSON writes it, ``""``."""
    return named.group(1) or '""'


def parse_record(
    data: bytes | str,
    *,
    received_at: datetime,
    file: str | None = None,
    line: int | None = None,
) -> Event | Rejection:
    """Decode, validate and normalise one canonical record."""
    raw = data if isinstance(data, str) else data.decode("utf-8", errors="replace")
    if "\x00" in raw:
        raw = raw.replace("\x00", "\ufffd")
    try:
        event = _decoder().decode(data)
    except (UnicodeDecodeError, UnicodeEncodeError) as exc:
        reason = f"not valid UTF-8: {exc.reason} at byte {exc.start}"
        return Rejection(Location(file, line), "invalid_encoding", reason, _printable(raw))
    except msgspec.ValidationError as exc:
        field, message = _schema_field(str(exc))
        if field in _FRIENDLY and "regex" in message:
            message = _FRIENDLY[field]
        return Rejection(Location(file, line, field), "invalid_field", message, raw)
    except msgspec.DecodeError as exc:
        message = str(exc)
        code = "truncated" if "truncated" in message else "invalid_json"
        return Rejection(Location(file, line), code, message, raw)
    try:
        return _normalise(event, received_at, raw, check_text=_may_hold_nul(data))
    except InvalidInputError as exc:
        loc = Location(file, line, exc.location.field)
        return Rejection(loc, "invalid_value", exc.message, raw)


def _may_hold_nul(data: bytes | str) -> bool:
    """Whether a string decoded from this JSON text can contain a NUL character: one written
    as is or escaped as ``\\u0000`` (a scan of the whole record is cheaper than checking each
    decoded field)."""
    if isinstance(data, str):
        return "\x00" in data or "\\u0000" in data
    return b"\x00" in data or b"\\u0000" in data


def _printable(raw: str) -> str:
    """Keep the record storable as text: a lone surrogate cannot be encoded as UTF-8."""
    return raw.encode("utf-8", errors="backslashreplace").decode("utf-8")


def _utc(value: datetime, field: str) -> datetime:
    if value.tzinfo is UTC:
        return value
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise _fail(field, f"{value.isoformat()} cannot be expressed in UTC") from None


def _fail(field: str, message: str) -> InvalidInputError:
    return InvalidInputError(message, location=Location(field=field))


def normalise(event: Event, *, received_at: datetime, raw: str | None = None) -> Event:
    """Check the rules a schema cannot say and fill the derived fields.

    ``raw`` is the record as received; it becomes the evidence unless the record carries the
    source's own payload in ``raw``."""
    return _normalise(event, received_at, raw, check_text=True)


def _normalise(event: Event, received_at: datetime, raw: str | None, *, check_text: bool) -> Event:
    """``normalise``; ``check_text`` false skips the NUL checks of a record known to hold none."""
    if check_text:
        _check_text(event)
    if not is_known_type(event.type):
        raise _fail("type", f"unknown event type {event.type!r} (see `recoup events types`)")
    amount = _normalised_amount(event)
    expected_id = event_id_for(event.source, event.external_id)
    if event.id is not None and event.id != expected_id:
        raise _fail("id", "id does not match source and external_id; omit it to derive it")
    return msgspec.structs.replace(
        event,
        id=expected_id,
        amount=amount,
        amount_minor=None,
        occurred_at=_utc(event.occurred_at, "occurred_at"),
        received_at=_utc(event.received_at or received_at, "received_at"),
        raw=_evidence(event.raw if event.raw is not None else raw),
        attributes=_masked_attributes(event.attributes),
        reason_message=None
        if event.reason_message is None
        else mask_card_numbers(event.reason_message),
    )


def _evidence(raw: Any) -> str | None:
    """The evidence as stored: text, card numbers masked, NUL characters (which PostgreSQL
    text cannot hold) shown as U+FFFD."""
    if raw is None:
        return None
    text = raw if isinstance(raw, str) else msgspec.json.encode(raw).decode("utf-8")
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    return mask_card_numbers(text)


def _masked_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    if not attributes:
        return attributes
    text = msgspec.json.encode(attributes).decode("utf-8")
    if "\\u0000" in text:
        raise _fail("attributes", "contains a NUL character, which cannot be stored")
    masked = mask_card_numbers(text)
    return attributes if masked == text else dict(msgspec.json.decode(masked))


def _check_text(event: Event) -> None:
    """NUL characters cannot be stored (PostgreSQL refuses them in text and JSON)."""
    for name, value in event.refs.items():
        if "\x00" in value:
            raise _fail(f"refs.{name}", "contains a NUL character, which cannot be stored")
    for name in ("source", "external_id", "type", "currency", "reason_code", "reason_message",
                 "status"):  # fmt: skip
        value = getattr(event, name)
        if value is not None and "\x00" in value:
            raise _fail(name, "contains a NUL character, which cannot be stored")


def _normalised_amount(event: Event) -> Decimal | None:
    if event.amount is not None and event.amount_minor is not None:
        raise _fail("amount_minor", "give amount or amount_minor, not both")
    if event.amount is None and event.amount_minor is None:
        if event.currency is not None:
            raise _fail("amount", "currency given without an amount")
        return None
    if event.currency is None:
        raise _fail("currency", "an amount needs a currency")
    currency = event.currency
    if currency != currency.upper():
        raise _fail("currency", f"currency {currency!r} must be upper case")
    try:
        if event.amount_minor is not None:
            if event.amount_minor < 0:
                raise _fail("amount", NEGATIVE)
            return Money.from_minor(event.amount_minor, currency).amount
        assert event.amount is not None
        check_amount(event.amount, currency)
    except InvalidInputError as exc:
        field = "currency" if "currency code" in exc.message else "amount"
        raise _fail(field, exc.message) from None
    if event.amount < 0:
        raise _fail("amount", NEGATIVE)
    return event.amount


REASON_MESSAGE_MAX = 1000
"""The longest ``reason_message`` an event keeps (the canonical schema's limit)."""


def build_event(
    fields: dict[str, Any],
    *,
    received_at: datetime,
    raw: str | None,
    file: str | None = None,
    line: int | None = None,
    element: str | None = None,
) -> Event | Rejection:
    """Turn the fields a connector mapped from its format into a checked canonical event.

    The fields go through the same schema and rules as a canonical JSON record, so a connector
    cannot produce an event that ``recoup ingest`` would refuse. ``raw`` is the source's own
    record, kept as evidence; ``element`` locates it inside the file (an XML path, a record
    type) when a line number alone does not. A ``reason_message`` over the schema's limit is
    shortened (ending in an ellipsis) rather than refused: the event still counts, and ``raw``
    keeps the whole text.
    """
    message = fields.get("reason_message")
    if isinstance(message, str) and len(message) > REASON_MESSAGE_MAX:
        # A provider's free text is not worth losing the event over: shortened here, whole
        # in the evidence (``raw``).
        fields = {**fields, "reason_message": message[: REASON_MESSAGE_MAX - 1] + "\u2026"}
    try:
        event = msgspec.convert(fields, Event)
    except msgspec.ValidationError as exc:
        field, message = _schema_field(str(exc))
        where = Location(file, line, field or element)
        return Rejection(where, "invalid_field", message, _printable(raw or ""))
    try:
        return normalise(event, received_at=received_at, raw=raw)
    except InvalidInputError as exc:
        where = Location(file, line, exc.location.field or element)
        return Rejection(where, "invalid_value", exc.message, _printable(raw or ""))


__all__ = ["MAX_FIELD", "Rejection", "build_event", "normalise", "parse_record"]
