"""Reading cases: the queue, one case with its evidence, and money at stake."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from recoup.domain.audit import AuditRecord
from recoup.domain.cases.case import Case, CaseStatus
from recoup.domain.detection.taxonomy import TAXONOMY, Tier
from recoup.domain.errors import InvalidInputError
from recoup.domain.ports import UnitOfWork

STATUS_FILTERS = {"open", *(s.value for s in CaseStatus)}


@dataclass(frozen=True, slots=True)
class CaseFilter:
    owner_team: str | None = None
    type: str | None = None
    status: str | None = "open"
    tier: str | None = None
    queue: str | None = None

    def check(self) -> None:
        if self.status is not None and self.status not in STATUS_FILTERS:
            allowed = ", ".join(sorted(STATUS_FILTERS))
            raise InvalidInputError(f"unknown status {self.status!r}; use one of {allowed}")
        if self.type is not None and self.type not in TAXONOMY:
            raise InvalidInputError(f"unknown case type {self.type!r}")
        if self.tier is not None and self.tier not in {t.value for t in Tier}:
            raise InvalidInputError(f"unknown tier {self.tier!r}")


def list_cases(
    filters: CaseFilter, *, reader: Callable[[], UnitOfWork], limit: int = 50
) -> list[Case]:
    filters.check()
    if limit < 1:
        raise InvalidInputError("limit must be at least 1")
    with reader() as tx:
        return tx.list_cases(
            {k: getattr(filters, k) for k in ("owner_team", "type", "status", "tier", "queue")},
            limit,
        )


@dataclass(frozen=True)
class CaseDetail:
    case: Case
    findings: list[dict[str, Any]]
    events: list[dict[str, Any]]
    timeline: list[dict[str, Any]]
    audit: list[AuditRecord]


def show_case(id_or_prefix: str, *, reader: Callable[[], UnitOfWork]) -> CaseDetail:
    with reader() as tx:
        case = tx.find_case(id_or_prefix)
        findings = tx.case_findings(case.id)
        evidence = sorted({str(e) for f in findings for e in f["evidence"]})
        return CaseDetail(
            case=case,
            findings=findings,
            events=tx.event_summaries(evidence),
            timeline=tx.case_timeline(case.id),
            audit=tx.case_audit(case.id),
        )


@dataclass(frozen=True)
class OpenCaseSummary:
    by_owner: dict[str, int]
    by_type: dict[str, int]
    at_stake: dict[str, Decimal]
    at_stake_by_owner: dict[str, dict[str, Decimal]]
    total: int


def summarise_open_cases(*, reader: Callable[[], UnitOfWork]) -> OpenCaseSummary:
    by_owner: dict[str, int] = defaultdict(int)
    by_type: dict[str, int] = defaultdict(int)
    at_stake: dict[str, Decimal] = defaultdict(Decimal)
    by_owner_money: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    with reader() as tx:
        rows = tx.open_case_rows()
    for owner, type_, currency, amount in rows:
        by_owner[owner] += 1
        by_type[type_] += 1
        if currency is not None and amount is not None:
            at_stake[currency] += amount
            by_owner_money[owner][currency] += amount
    return OpenCaseSummary(
        by_owner=dict(by_owner),
        by_type=dict(by_type),
        at_stake=dict(at_stake),
        at_stake_by_owner={k: dict(v) for k, v in by_owner_money.items()},
        total=len(rows),
    )
