"""Verifying the audit trail end to end."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from recoup.domain.audit import ChainBreak, verify_chain
from recoup.domain.ports import UnitOfWork


@dataclass(frozen=True)
class AuditVerification:
    records: int
    problem: ChainBreak | None

    @property
    def is_intact(self) -> bool:
        return self.problem is None


def verify_audit(*, reader: Callable[[], UnitOfWork]) -> AuditVerification:
    """Recompute every hash in order, then check the head matches the last record, so records
    removed from the end are caught too."""
    with reader() as tx:
        head_seq, head_hash = tx.audit_head()
        records = tx.audit_records()
        try:
            check = verify_chain(records)
        finally:
            records.close()
    if check.problem is not None:
        return AuditVerification(check.records, check.problem)
    if check.records != head_seq or check.last_hash != head_hash:
        missing = ChainBreak(
            check.records + 1,
            f"the trail ends at record {check.records} but the head says {head_seq}; "
            "records were removed",
        )
        return AuditVerification(check.records, missing)
    return AuditVerification(check.records, None)
