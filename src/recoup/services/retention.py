"""Redact raw payloads once they are older than the retention period.

Runs in batches, each its own transaction with one audit record (how many, which table, the
cutoff), so a long first run makes steady progress and can be stopped at any time. Running it
again redacts nothing twice: a redacted payload no longer matches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from recoup.domain.audit import AuditEntry
from recoup.domain.errors import InvalidInputError, Location
from recoup.domain.ports import Clock
from recoup.domain.privacy import retention_stub

ACTOR = "system:retention"
TABLES = ("events", "quarantine")


@dataclass
class RetentionReport:
    cutoff: str = ""
    redacted: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    dry_run: bool = False


def apply_retention(
    *,
    uow: Callable[[], Any],
    clock: Clock,
    days: int,
    batch: int = 2000,
    dry_run: bool = False,
    on_batch: Callable[[str, int], None] | None = None,
) -> RetentionReport:
    if days < 1:
        raise InvalidInputError("the retention period must be at least one day",
                                location=Location(field="raw_payload_days"))  # fmt: skip
    now = clock.now()
    cutoff = now - timedelta(days=days)
    report = RetentionReport(cutoff=cutoff.isoformat(), dry_run=dry_run)
    for table in TABLES:
        if dry_run:
            with uow() as tx:
                report.redacted[table] = tx.count_past_retention(table, cutoff)
            continue
        while True:
            with uow() as tx:
                rows = tx.raw_past_retention(table, cutoff, batch)
                if not rows:
                    break
                report.redacted[table] += len(rows)
                tx.replace_raw(table, [(id_, retention_stub(raw, now)) for id_, raw in rows])
                data = {"count": len(rows), "cutoff": cutoff.isoformat(),
                        "first_id": rows[0][0], "last_id": rows[-1][0]}  # fmt: skip
                tx.append_audit([AuditEntry(now, ACTOR, "retention.redacted", table, table, data)])
                tx.commit()
            if on_batch is not None:
                on_batch(table, len(rows))
            if len(rows) < batch:
                break
    return report
