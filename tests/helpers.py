"""Builders for canonical records in tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec

from recoup.domain.ingestion.canonical import parse_record
from recoup.domain.ingestion.event import Event
from recoup.services.ingest import RawRecord
from tests.conftest import T0

DETECTED = T0 + timedelta(hours=6)


def record(
    external_id: str,
    type_: str,
    *,
    at: datetime | None = None,
    minutes: float = 0,
    source: str = "stripe",
    amount: str | None = None,
    currency: str | None = "EUR",
    reason: str | None = None,
    **refs: str,
) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "source": source,
        "external_id": external_id,
        "type": type_,
        "occurred_at": ((at or T0) + timedelta(minutes=minutes)).isoformat(),
    }
    if amount is not None:
        rec["amount"] = amount
        rec["currency"] = currency
    if reason is not None:
        rec["reason_code"] = reason
    if refs:
        rec["refs"] = refs
    return rec


def raw(records: list[dict[str, Any]] | list[bytes], file: str = "test.jsonl") -> list[RawRecord]:
    out = []
    for number, rec in enumerate(records, start=1):
        data = rec if isinstance(rec, bytes) else msgspec.json.encode(rec)
        out.append(RawRecord(data=data, file=file, line=number))
    return out


def canonical_event(
    external_id: str,
    type_: str,
    *,
    source: str = "stripe",
    minutes: float = 0,
    amount: str | None = None,
    currency: str = "EUR",
    reason: str | None = None,
    message: str | None = None,
    status: str | None = None,
    attributes: dict[str, Any] | None = None,
    **refs: str,
) -> Event:
    """A normalised event, built through the real parser (so ids and times are as ingest makes
    them), ``minutes`` after T0 and received at DETECTED."""
    rec: dict[str, Any] = {
        "source": source,
        "external_id": external_id,
        "type": type_,
        "occurred_at": (T0 + timedelta(minutes=minutes)).isoformat(),
    }
    if amount is not None:
        rec["amount"] = amount
        rec["currency"] = currency
    optional = {"reason_code": reason, "reason_message": message, "status": status,
                "attributes": attributes, "refs": refs or None}  # fmt: skip
    rec |= {k: v for k, v in optional.items() if v is not None}
    result = parse_record(msgspec.json.encode(rec), received_at=DETECTED)
    assert isinstance(result, Event), str(result)
    return result
