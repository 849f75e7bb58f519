"""The plumbing every webhook mapper shares (:mod:`.stripe`, :mod:`.shopify`, :mod:`.adyen`,
:mod:`.paypal` and :mod:`.generic`).

- :func:`read_payloads` splits a body into provider payloads: one JSON document, or JSON Lines
  of them (saved bodies), each with its line;
- :func:`build` cleans a mapped field dict and passes it through
  :func:`~recoup.domain.ingestion.canonical.build_event`; :class:`PayloadContext` holds one
  payload being mapped and collects the events and refusals its handlers give;
- :func:`unsupported` is the rejection for a payload of a type Recoup does not track yet: it is
  kept in quarantine (code ``unsupported_type``) so it can be replayed after an upgrade, never
  silently dropped;
- :func:`guarded` turns any unexpected error of a mapper into a located rejection (code
  ``mapping_error``): a delivery never raises and never loses a record;
- :func:`unwrap_capture` takes the body out of a saved hookdeck capture ``{headers, body, topic}``;
- :class:`WebhookFormat` is the :class:`~recoup.adapters.connectors.base.FileFormat` for saved
  bodies of one provider;
- :func:`obj`, :func:`text`, :func:`id_text`, :func:`decimal`, :func:`parse_time`... read untyped
  JSON without raising.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

import msgspec

from recoup.adapters.connectors.base import Item, ParseContext
from recoup.domain.errors import Location
from recoup.domain.ingestion.canonical import Rejection, build_event
from recoup.domain.ingestion.event import Event
from recoup.domain.reference.chargebacks import network_namespace

Result = Event | Rejection

UNSUPPORTED = "unsupported_type"
MAPPING_ERROR = "mapping_error"
INVALID_PAYLOAD = "invalid_payload"

BOM = b"\xef\xbb\xbf"
_MAX_RAW = 1_000_000  # evidence longer than this is cut (a body is normally a few KiB)


@dataclass(frozen=True, slots=True)
class Payload:
    """One provider payload: the decoded JSON, its text as evidence, and its line in a file."""

    data: Any
    raw: str
    line: int | None


def text_of(data: bytes) -> str:
    """Bytes as storable text: invalid UTF-8 is replaced, never an error."""
    text = data.decode("utf-8", errors="replace")
    return text if len(text) <= _MAX_RAW else text[:_MAX_RAW] + "...[cut]"


def reject(
    label: str,
    line: int | None,
    code: str,
    reason: str,
    raw: str,
    *,
    field: str | None = None,
) -> Rejection:
    return Rejection(Location(label, line, field), code, reason, raw)


def decode_failure(exc: Exception, label: str, line: int | None, raw: str) -> Rejection:
    if isinstance(exc, UnicodeDecodeError):
        return reject(label, line, "invalid_encoding", f"not valid UTF-8 at byte {exc.start}", raw)
    if isinstance(exc, RecursionError):
        return reject(label, line, "invalid_json", "JSON nested too deeply", raw)
    message = str(exc)
    code = "truncated" if "truncated" in message else "invalid_json"
    return reject(label, line, code, message, raw)


def decode(data: bytes) -> Any:
    """Decode JSON with integers kept exact (never through float). Raises ValueError or
    RecursionError on bad input."""
    return msgspec.json.decode(data)


def without_bom(data: bytes) -> bytes:
    """``data`` as bytes, without a leading UTF-8 byte order mark."""
    body = bytes(data)
    return body[len(BOM) :] if body.startswith(BOM) else body


def read_payloads(data: bytes, label: str) -> list[Payload | Rejection]:
    """One JSON document, or JSON Lines of documents (blank lines skipped, lines counted)."""
    body = without_bom(data)
    if not body.strip():
        return [reject(label, None, "empty", "the body is empty", "")]
    try:
        return [Payload(decode(body), text_of(body.strip()), None)]
    except (ValueError, RecursionError) as exc:
        whole = exc
    lines = [(n, line) for n, line in enumerate(body.splitlines(), start=1) if line.strip()]
    if len(lines) > 1 and is_json(lines[0][1]):
        out: list[Payload | Rejection] = []
        for number, line in lines:
            raw = text_of(line.strip())
            try:
                out.append(Payload(decode(line), raw, number))
            except (ValueError, RecursionError) as exc:
                out.append(decode_failure(exc, label, number, raw))
        return out
    return [decode_failure(whole, label, None, text_of(body))]


def is_json(line: bytes) -> bool:
    try:
        decode(line)
    except (ValueError, RecursionError):
        return False
    return True


def unsupported(
    label: str, line: int | None, what: str, raw: str, field: str = "type"
) -> Rejection:
    """A payload of a type Recoup does not map (yet): kept, replayable, never dropped."""
    return reject(
        label,
        line,
        UNSUPPORTED,
        f"{what} is not a type Recoup tracks yet; kept for replay after an upgrade",
        raw,
        field=field,
    )


def guarded(
    mapper: Callable[[], list[Result]], label: str, line: int | None, raw: str
) -> list[Result]:
    """Run one payload's mapper; an unexpected error becomes a located rejection."""
    try:
        return mapper()
    except Exception as exc:
        reason = f"could not map the payload ({type(exc).__name__}: {exc})"[:1000]
        return [reject(label, line, MAPPING_ERROR, reason, raw)]


def build(
    fields: dict[str, Any],
    *,
    received_at: datetime,
    raw: str,
    label: str,
    line: int | None,
    element: str | None = None,
) -> Result:
    """Drop empty values, then check the event through ``build_event``."""
    clean = {k: v for k, v in fields.items() if v is not None}
    refs = {k: v for k, v in (clean.pop("refs", None) or {}).items() if v}
    if refs:
        clean["refs"] = refs
    attributes = {k: v for k, v in (clean.pop("attributes", None) or {}).items() if v is not None}
    if attributes:
        clean["attributes"] = attributes
    return build_event(
        clean, received_at=received_at, raw=raw, file=label, line=line, element=element
    )


@dataclass(kw_only=True)
class PayloadContext:
    """One payload being mapped: where it came from, and the events and rejections it has given
    so far. A provider's mapper extends it with what its handlers share (an event id, a topic)."""

    raw: str
    label: str
    line: int | None
    source: str
    received_at: datetime
    results: list[Result] = field(default_factory=list)

    def emit(self, fields: dict[str, Any], element: str | None = None) -> None:
        self.results.append(
            build(
                fields,
                received_at=self.received_at,
                raw=self.raw,
                label=self.label,
                line=self.line,
                element=element,
            )
        )

    def refuse(self, code: str, reason: str, field_: str | None = None) -> None:
        self.results.append(reject(self.label, self.line, code, reason, self.raw, field=field_))


def capture_body(body: Any) -> tuple[Any, str]:
    """The body of a saved capture and its text: a string body is decoded when it is JSON (and
    stays the string when it is not); any other body is the JSON it holds."""
    if isinstance(body, str):
        try:
            return msgspec.json.decode(body), body
        except (ValueError, RecursionError):
            return body, body
    return body, msgspec.json.encode(body).decode("utf-8")


def unwrap_capture(document: Any, raw: str) -> tuple[Any, str]:
    """A hookdeck capture ``{headers, body, topic}`` -> its body (and the body's text); any other
    document as it is."""
    if isinstance(document, dict) and "body" in document and "headers" in document:
        return capture_body(document["body"])
    return document, raw


# -- reading untyped JSON -------------------------------------------------------------------------


def obj(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list[Any]:
    """``value`` if it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


def text(value: Any) -> str | None:
    """A non-empty string, trimmed; numbers are not strings here."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return None


def integer(value: Any) -> int | None:
    """A JSON integer (booleans and floats are not)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def id_text(value: Any) -> str | None:
    """An identifier as text, exactly: ``820982911946154508`` stays those digits.

    A float id (a number with a fraction or exponent) cannot be trusted to be exact and is
    refused unless it is small enough to be an exact integer."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return None
    if isinstance(value, str):
        value = value.strip()
        return value[:255] or None
    return None


def decimal(value: Any) -> Decimal | None:
    """A decimal amount from a string (``"11.50"``) or a JSON number; None if not finite."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        if isinstance(value, str):
            amount = Decimal(value.strip())
        elif isinstance(value, int):
            amount = Decimal(value)
        elif isinstance(value, float):
            amount = Decimal(repr(value))
        else:
            return None
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_time(value: Any) -> datetime | None:
    """RFC 3339 / ISO 8601 text with a zone (``...Z``, ``...-05:00``, nanoseconds allowed) or
    unix seconds, as UTC; None when missing, zoneless or unreadable."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    candidate = _FRACTION.sub(r"\1", value.strip())
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


_SNAKE = re.compile(r"[^a-z0-9]+")


def snake(value: str) -> str:
    """``" Not enough  balance "`` -> ``not_enough_balance``; ``FRAUD-CANCELLED`` ->
    ``fraud_cancelled``."""
    return _SNAKE.sub("_", value.strip().lower()).strip("_")


def network_name(value: Any) -> str | None:
    """A card network as ``attributes.network`` spells it (Stripe's names): ``visa``,
    ``mastercard``, ``amex``, ``discover``...; ``"MasterCard"`` and ``"American Express"``
    included. Unknown names are kept, in snake case."""
    name = text(value)
    if not name:
        return None
    namespace = network_namespace(name)
    if namespace == "mc":
        return "mastercard"
    return namespace or snake(name) or None


def humanise(code: str | None) -> str | None:
    """``"insufficient_funds"`` -> ``"Insufficient funds"``."""
    return code.replace("_", " ").capitalize() if code else None


def namespaced(namespace: str, code: str | None) -> str | None:
    """``namespace:code`` when ``code`` can be a reason code, else None."""
    if not code:
        return None
    code = code.strip()
    code = re.sub(r"[^A-Za-z0-9._ -]", "_", code)[:90].strip(" ._-")
    if not code:
        return None
    return f"{namespace}:{code}"


# -- the file format for saved bodies -------------------------------------------------------------


PayloadMapper = Callable[[Payload, datetime, str, str], list[Result]]


class WebhookFormat:
    """Saved webhook bodies of one provider: one payload per file, or JSON Lines of them."""

    def __init__(
        self,
        *,
        name: str,
        description: str,
        default_source: str,
        mapper: PayloadMapper,
        markers: tuple[bytes, ...],
    ) -> None:
        self.name = name
        self.description = description
        self.default_source = default_source
        self._mapper = mapper
        self._markers = tuple(re.compile(marker) for marker in markers)

    def sniff(self, name: str, head: bytes) -> bool:
        try:
            return any(marker.search(head) for marker in self._markers)
        except Exception:
            return False

    def parse(self, data: bytes, context: ParseContext) -> Iterator[Item]:
        source = context.source or self.default_source
        yield from map_body(data, context.received_at, context.label, source, self._mapper)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


def map_body(
    body: bytes, received_at: datetime, label: str, source: str, mapper: PayloadMapper
) -> list[Result]:
    """Every payload of ``body`` through ``mapper``, guarded."""
    out: list[Result] = []
    for payload in read_payloads(body, label):
        if isinstance(payload, Rejection):
            out.append(payload)
            continue
        run = partial(mapper, payload, received_at, label, source)
        out.extend(guarded(run, label, payload.line, payload.raw))
    return out


__all__ = [
    "BOM",
    "INVALID_PAYLOAD",
    "MAPPING_ERROR",
    "UNSUPPORTED",
    "Payload",
    "PayloadContext",
    "PayloadMapper",
    "Result",
    "WebhookFormat",
    "build",
    "capture_body",
    "decimal",
    "decode",
    "decode_failure",
    "guarded",
    "humanise",
    "id_text",
    "integer",
    "is_json",
    "iso",
    "items",
    "map_body",
    "namespaced",
    "network_name",
    "obj",
    "parse_time",
    "read_payloads",
    "reject",
    "snake",
    "text",
    "text_of",
    "unsupported",
    "unwrap_capture",
    "without_bom",
]
