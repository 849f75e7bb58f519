"""The canonical event: one normalised fact from one source.

Every connector produces these and nothing else. The struct is a ``msgspec.Struct`` because it is
on the hot path: decoding and validating a JSON line into it costs a few microseconds.

Invariants once an ``Event`` leaves :func:`recoup.domain.ingestion.canonical.parse_record`:

- ``id`` is derived from ``(source, external_id)``, so a redelivery has the same id;
- ``occurred_at`` and ``received_at`` are tz-aware UTC;
- ``amount`` is a non-negative ``Decimal`` that fits ``currency``'s exponent, ``amount_minor`` is
  gone; direction says which way money moved;
- ``reason_code`` is namespaced: ``stripe:card_declined``, ``iso:AC04``, ``ach:R01``, ``visa:10.4``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec

from recoup.domain.ids import uuid5_str

SOURCE_PATTERN = r"^[a-z][a-z0-9_.-]*(:[A-Za-z0-9_.-]+)?$"
REASON_CODE_PATTERN = r"^[a-z][a-z0-9_]*:[A-Za-z0-9][A-Za-z0-9._ -]*$"

# A fixed namespace: event ids must never change between releases.
EVENT_NAMESPACE = uuid.UUID("6f1c6a36-2b7e-4c55-9a57-2f1f0e6b9a10")

Short = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]


class Refs(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, frozen=True):
    """Identifiers of the entities an event is about, as the source spells them."""

    payment: Short | None = None
    charge: Short | None = None
    order: Short | None = None
    invoice: Short | None = None
    customer: Short | None = None
    supplier: Short | None = None
    payout: Short | None = None
    refund: Short | None = None
    dispute: Short | None = None
    subscription: Short | None = None
    bank_account: Short | None = None
    bank_transaction: Short | None = None
    end_to_end: Short | None = None
    instruction: Short | None = None
    uetr: Short | None = None
    ach_trace: Short | None = None

    def items(self) -> list[tuple[str, str]]:
        """The (entity kind, identifier) pairs that are set, in field order."""
        # ``to_builtins`` leaves out the fields at their default (None), in C: this runs a few
        # times per event on the ingest path.
        pairs: dict[str, str] = msgspec.to_builtins(self)
        return list(pairs.items())


REF_KINDS: tuple[str, ...] = Refs.__struct_fields__


class Event(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True, gc=False):
    """One normalised fact. See ``docs/event-schema.json`` for the published schema."""

    source: Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=SOURCE_PATTERN)]
    external_id: Short
    type: Annotated[str, msgspec.Meta(min_length=3, max_length=64)]
    occurred_at: Annotated[datetime, msgspec.Meta(tz=True)]
    refs: Refs = Refs()
    amount: Decimal | None = None
    amount_minor: int | None = None
    currency: Annotated[str, msgspec.Meta(min_length=3, max_length=3)] | None = None
    direction: Literal["credit", "debit"] | None = None
    reason_code: (
        Annotated[str, msgspec.Meta(max_length=100, pattern=REASON_CODE_PATTERN)] | None
    ) = None
    reason_message: Annotated[str, msgspec.Meta(max_length=1000)] | None = None
    status: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    attributes: dict[str, Any] = {}
    raw: Any = None
    id: str | None = None
    received_at: Annotated[datetime, msgspec.Meta(tz=True)] | None = None

    @property
    def event_id(self) -> str:
        assert self.id is not None, "event not normalised"
        return self.id


def event_id_for(source: str, external_id: str) -> str:
    """The stable id of the event with this idempotency key."""
    return uuid5_str(EVENT_NAMESPACE, f"{source}\x1f{external_id}")


def event_json_schema() -> dict[str, Any]:
    """The JSON Schema of a canonical record, as published in ``docs/``."""
    schema: dict[str, Any] = msgspec.json.schema(Event)
    return schema
