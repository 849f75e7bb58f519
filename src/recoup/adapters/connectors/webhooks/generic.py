"""Generic webhooks: the body is Recoup's canonical event, or a JSON array of them; and the
plumbing every webhook mapper shares.

A generic sender (an ERP, a script, a relay) posts canonical records (``docs/event-schema.md``),
signed with ``X-Recoup-Signature`` (see :mod:`.signatures`). Each record is checked exactly as a
line of ``recoup ingest`` is; a record whose ``source`` is not the source the delivery was
accepted for (``erp`` or ``erp:<name>`` for ``/hooks/erp``) is refused, so one sender's secret
cannot write another source's events.

The shared plumbing (the provider modules import it from here):

- :func:`read_payloads` splits a body into provider payloads: one JSON document, or JSON Lines
  of them (saved bodies), each with its line;
- :func:`build` cleans a mapped field dict and passes it through
  :func:`~recoup.domain.ingestion.canonical.build_event`;
- :func:`unsupported` is the rejection for a payload of a type Recoup does not track yet: it is
  kept in quarantine (code ``unsupported_type``) so it can be replayed after an upgrade, never
  silently dropped;
- :func:`guarded` turns any unexpected error of a mapper into a located rejection (code
  ``mapping_error``): a delivery never raises and never loses a record;
- :class:`WebhookFormat` is the :class:`~recoup.adapters.connectors.base.FileFormat` for saved
  bodies of one provider.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

import msgspec

from recoup.adapters.connectors.base import Item, ParseContext
from recoup.domain.errors import Location
from recoup.domain.ingestion.canonical import Rejection, build_event, parse_record
from recoup.domain.ingestion.event import Event
from recoup.domain.reference.chargebacks import network_namespace

Result = Event | Rejection

UNSUPPORTED = "unsupported_type"
MAPPING_ERROR = "mapping_error"
INVALID_PAYLOAD = "invalid_payload"

_BOM = b"\xef\xbb\xbf"
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


def _decode_failure(exc: Exception, label: str, line: int | None, raw: str) -> Rejection:
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


def read_payloads(data: bytes, label: str) -> list[Payload | Rejection]:
    """One JSON document, or JSON Lines of documents (blank lines skipped, lines counted)."""
    body = bytes(data)
    if body.startswith(_BOM):
        body = body[len(_BOM) :]
    if not body.strip():
        return [reject(label, None, "empty", "the body is empty", "")]
    try:
        return [Payload(decode(body), text_of(body.strip()), None)]
    except (ValueError, RecursionError) as exc:
        whole = exc
    lines = [(n, line) for n, line in enumerate(body.splitlines(), start=1) if line.strip()]
    if len(lines) > 1 and _is_json(lines[0][1]):
        out: list[Payload | Rejection] = []
        for number, line in lines:
            raw = text_of(line.strip())
            try:
                out.append(Payload(decode(line), raw, number))
            except (ValueError, RecursionError) as exc:
                out.append(_decode_failure(exc, label, number, raw))
        return out
    return [_decode_failure(whole, label, None, text_of(body))]


def _is_json(line: bytes) -> bool:
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


# -- the generic canonical payload ----------------------------------------------------------------


def _owned(event: Event, source: str) -> bool:
    return event.source == source or event.source.startswith(source + ":")


def _canonical(
    raw: bytes,
    *,
    received_at: datetime,
    label: str,
    line: int | None,
    index: int | None,
    source: str | None,
) -> Result:
    result = parse_record(raw, received_at=received_at, file=label, line=line)
    if index is not None and isinstance(result, Rejection):
        field = f"[{index}].{result.location.field}" if result.location.field else f"[{index}]"
        return Rejection(Location(label, line, field), result.code, result.reason, result.raw)
    if isinstance(result, Event) and source is not None and not _owned(result, source):
        where = Location(label, line, f"[{index}].source" if index is not None else "source")
        reason = f"source {result.source!r} is not {source!r} (or {source}:<name>)"
        return Rejection(where, "source_mismatch", reason, text_of(raw))
    return result


def _generic_line(
    data: bytes, *, received_at: datetime, label: str, line: int | None, source: str | None
) -> list[Result]:
    stripped = data.strip()
    if stripped.startswith(b"["):
        try:
            elements = msgspec.json.decode(stripped, type=list[msgspec.Raw])
        except (ValueError, RecursionError) as exc:
            return [_decode_failure(exc, label, line, text_of(stripped))]
        if not elements:
            return [reject(label, line, "empty", "the array holds no events", text_of(stripped))]
        return [
            _canonical(
                bytes(element),
                received_at=received_at,
                label=label,
                line=line,
                index=index,
                source=source,
            )
            for index, element in enumerate(elements)
        ]
    return [
        _canonical(
            stripped, received_at=received_at, label=label, line=line, index=None, source=source
        )
    ]


def events_from_payload(
    body: bytes, *, received_at: datetime, label: str, source: str | None
) -> list[Event | Rejection]:
    """A generic delivery: one canonical event object, or an array of them.

    ``source`` is the source the delivery was authenticated for; every event must carry it
    (or ``<source>:<name>``). ``None`` accepts any source (a trusted file)."""
    data = bytes(body)
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    if not data.strip():
        return [reject(label, None, "empty", "the body is empty", "")]
    try:
        return _generic_line(data, received_at=received_at, label=label, line=None, source=source)
    except Exception as exc:  # never raise on a delivery
        reason = f"could not read the payload ({type(exc).__name__}: {exc})"[:1000]
        return [reject(label, None, MAPPING_ERROR, reason, text_of(data))]


class GenericFormat:
    """Saved generic bodies: a JSON array of canonical events, or JSON Lines whose lines are
    canonical events or arrays of them."""

    name = "generic-webhooks"
    description = "Recoup generic webhook bodies: canonical events, as a JSON array or lines"

    def sniff(self, name: str, head: bytes) -> bool:
        try:
            start = head.lstrip(_BOM + b" \t\r\n")
            return start.startswith(b"[") and b'"external_id"' in head
        except Exception:
            return False

    def parse(self, data: bytes, context: ParseContext) -> Iterator[Item]:
        received_at, label, source = context.received_at, context.label, context.source
        body = bytes(data)
        if body.startswith(_BOM):
            body = body[len(_BOM) :]
        try:
            decode(body)
            whole = True
        except (ValueError, RecursionError):
            whole = False
        if whole:
            yield from events_from_payload(
                body, received_at=received_at, label=label, source=source
            )
            return
        for number, line in enumerate(body.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                yield from _generic_line(
                    line, received_at=received_at, label=label, line=number, source=source
                )
            except Exception as exc:
                reason = f"could not read the line ({type(exc).__name__}: {exc})"[:1000]
                yield reject(label, number, MAPPING_ERROR, reason, text_of(line))


FORMATS = (GenericFormat(),)

__all__ = [
    "FORMATS",
    "INVALID_PAYLOAD",
    "MAPPING_ERROR",
    "UNSUPPORTED",
    "GenericFormat",
    "Payload",
    "Result",
    "WebhookFormat",
    "build",
    "decimal",
    "events_from_payload",
    "guarded",
    "id_text",
    "integer",
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
]
