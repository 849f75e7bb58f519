"""Generic webhooks: the body is Recoup's canonical event, or a JSON array of them.

A generic sender (an ERP, a script, a relay) posts canonical records (``docs/event-schema.md``),
signed with ``X-Recoup-Signature`` (see :mod:`.signatures`). Each record is checked exactly as a
line of ``recoup ingest`` is; a record whose ``source`` is not the source the delivery was
accepted for (``erp`` or ``erp:<name>`` for ``/hooks/erp``) is refused, so one sender's secret
cannot write another source's events.

The plumbing the provider mappers share is in :mod:`._common`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import msgspec

from recoup.adapters.connectors.base import Item, ParseContext
from recoup.adapters.connectors.webhooks._common import (
    BOM,
    MAPPING_ERROR,
    Result,
    decode_failure,
    is_json,
    reject,
    text_of,
    without_bom,
)
from recoup.domain.errors import Location
from recoup.domain.ingestion.canonical import Rejection, parse_record
from recoup.domain.ingestion.event import Event

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
            return [decode_failure(exc, label, line, text_of(stripped))]
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
    data = without_bom(body)
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
            start = head.lstrip(BOM + b" \t\r\n")
            return start.startswith(b"[") and b'"external_id"' in head
        except Exception:
            return False

    def parse(self, data: bytes, context: ParseContext) -> Iterator[Item]:
        received_at, label, source = context.received_at, context.label, context.source
        body = without_bom(data)
        if is_json(body):
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

__all__ = ["FORMATS", "GenericFormat", "events_from_payload"]
