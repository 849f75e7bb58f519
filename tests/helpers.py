"""Builders for canonical records in tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec

from recoup.services.ingest import RawRecord
from tests.conftest import T0


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
