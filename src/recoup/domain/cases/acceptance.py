"""Accepted discrepancies: what counts as new evidence for a case accepted until a time.

Evidence is the money at stake: the case's exposures (one amount per distinct exposure key). A
finding that adds an exposure or raises an amount changes the evidence and reopens the case; one
that does not is recorded and suppressed. See ``noise.py``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal

from recoup.domain.cases.case import Case, CaseStatus
from recoup.domain.detection.findings import Finding

ACCEPTED = "accepted"


def exposure_fingerprint(exposures: dict[str, str]) -> str:
    """A stable digest of the money at stake: exposure key -> amount."""
    canonical = json.dumps(
        {key: str(Decimal(value).normalize()) for key, value in sorted(exposures.items())},
        sort_keys=True,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def exposures_with(case: Case, finding: Finding) -> dict[str, str]:
    """The case's exposures as they would be with ``finding`` added."""
    exposures = dict(case.exposures)
    if finding.amount is None or finding.currency is None:
        return exposures
    if case.currency is not None and finding.currency != case.currency:
        # Another currency is new evidence: it cannot be folded into the accepted amount.
        exposures[f"{finding.currency}:{finding.exposure_key or finding.id}"] = str(finding.amount)
        return exposures
    key = finding.exposure_key or finding.id
    if finding.amount > Decimal(exposures.get(key, "0")):
        exposures[key] = str(finding.amount)
    return exposures


def acceptance_holds(case: Case, finding: Finding, now: datetime) -> bool | None:
    """For a finding about an accepted case: True when it brings no new evidence (suppress),
    False when it does (reopen), None when the acceptance has lapsed (treat as closed)."""
    if case.outcome != ACCEPTED or case.accepted_until is None or now >= case.accepted_until:
        return None
    return exposure_fingerprint(exposures_with(case, finding)) == case.accepted_fingerprint


def reopen_for_evidence(case: Case) -> None:
    """An accepted case whose evidence changed opens again (status ``new``)."""
    case.status = CaseStatus.NEW
    case.outcome = None
    case.resolved_at = None
    case.accepted_until = None
    case.accepted_fingerprint = None
