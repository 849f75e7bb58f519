"""The audit trail: append-only, each record sealed with the hash of the one before.

Changing, removing or reordering any record breaks the chain from that record on, and
:func:`verify_chain` names the first record that no longer fits. The hash covers the record's
fields exactly as stored (the data as canonical JSON text), so verification needs no code that
could serialise differently from the writer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """A state change to record: who did what to which subject, with before/after data."""

    at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AuditRecord:
    seq: int
    at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    data: str
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class ChainBreak:
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"audit record {self.seq}: {self.reason}"


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def record_hash(
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    data: str,
    prev_hash: str,
) -> str:
    stamp = at.astimezone(UTC).isoformat(timespec="microseconds")
    text = "\x1f".join((str(seq), stamp, actor, action, subject_type, subject_id, data, prev_hash))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def seal(entries: Sequence[AuditEntry], head_seq: int, head_hash: str) -> list[AuditRecord]:
    """Number and chain ``entries`` after the current head of the trail."""
    records = []
    prev = head_hash
    for offset, entry in enumerate(entries, start=1):
        seq = head_seq + offset
        data = canonical_json(entry.data)
        at = entry.at.astimezone(UTC)
        digest = record_hash(
            seq, at, entry.actor, entry.action, entry.subject_type, entry.subject_id, data, prev
        )
        records.append(
            AuditRecord(
                seq, at, entry.actor, entry.action, entry.subject_type, entry.subject_id,
                data, prev, digest,
            )
        )  # fmt: skip
        prev = digest
    return records


@dataclass(frozen=True, slots=True)
class ChainCheck:
    records: int
    last_hash: str
    problem: ChainBreak | None


def verify_chain(records: Iterable[AuditRecord]) -> ChainCheck:
    """Walk the trail in order; say how many records held, the last good hash, the first break."""
    prev = GENESIS
    expected_seq = 1
    count = 0
    for record in records:
        if record.seq != expected_seq:
            problem = ChainBreak(record.seq, f"expected record {expected_seq}; records missing")
            return ChainCheck(count, prev, problem)
        if record.prev_hash != prev:
            problem = ChainBreak(record.seq, "does not follow the record before it")
            return ChainCheck(count, prev, problem)
        digest = record_hash(
            record.seq, record.at, record.actor, record.action, record.subject_type,
            record.subject_id, record.data, record.prev_hash,
        )  # fmt: skip
        if digest != record.hash:
            problem = ChainBreak(record.seq, "content was altered after it was written")
            return ChainCheck(count, prev, problem)
        prev = record.hash
        expected_seq += 1
        count += 1
    return ChainCheck(count, prev, None)
