"""The metrics the product reports, read from the summaries kept with the cases.

:func:`read_metrics` is the one call pages, the API and the CLI use: it reads the summary
counters (``metric_counters``, a few hundred rows however many cases there are) and the
per-run and per-status figures of ingest, writeback, reconciliation and outbound delivery,
and returns a :class:`Metrics`. Nothing here scans the cases.

:func:`rebuild_metrics` recomputes the case summaries from the cases table in one transaction:
the backfill after upgrading a store that already had cases, and the check (in tests) that
the incremental summaries are exact.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Protocol, Self

from recoup.domain import metrics as m
from recoup.domain.audit import AuditEntry
from recoup.domain.cases.case import Case, CaseStatus
from recoup.domain.detection.taxonomy import Tier
from recoup.domain.ports import Clock

TIER_TARGETS = {Tier.STRAIGHT_THROUGH.value: 0.80, Tier.GUIDED.value: 0.15, Tier.HUMAN.value: 0.05}
"""The 80 / 15 / 5 split the policy aims for; more than 20% human means it is too vague."""

MANUAL_PAIR_STATUSES = ("confirmed", "forced")
"""Reconciliation pairs an operator made: confirmed suggestions and forced matches."""


class MetricsReader(Protocol):
    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def metric_counters(self) -> m.Counters: ...

    def metric_sources(self) -> dict[str, Any]: ...


class MetricsWriter(MetricsReader, Protocol):
    def lock_metric_counters(self) -> None: ...

    def backfill_case_codes(self) -> int: ...

    def metric_cases(self) -> Iterator[tuple[Case, str | None]]: ...

    def replace_metric_counters(self, counters: m.Counters) -> None: ...

    def append_audit(self, entries: list[AuditEntry]) -> None: ...

    def commit(self) -> None: ...


# -- the figures ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Durations:
    """Durations from bucket counts: the median and p90 are within about 19% (one bucket)."""

    count: int
    median_seconds: float | None
    p90_seconds: float | None
    buckets: dict[int, int] = field(default_factory=dict)
    """Bucket index -> count (bounds: ``domain.metrics.bucket_bounds``)."""

    def cumulative(self, bounds: list[float]) -> list[tuple[float, int]]:
        """(bound, durations under it) for each of ``bounds``, then (+inf, all). Exact when
        the bounds are bucket edges (whole powers of two seconds are)."""
        out = []
        for bound in bounds:
            under = sum(n for i, n in self.buckets.items() if m.bucket_bounds(i)[1] <= bound)
            out.append((bound, under))
        out.append((math.inf, self.count))
        return out


@dataclass(frozen=True, slots=True)
class Rate:
    """``count`` of ``of``; ``rate`` is None when ``of`` is zero."""

    count: int
    of: int

    @property
    def rate(self) -> float | None:
        return self.count / self.of if self.of else None


@dataclass(frozen=True, slots=True)
class AgingRow:
    category: str
    owner_team: str
    band: str
    """``under_1d``, ``1d_3d``, ``3d_7d`` or ``over_7d`` since the case opened."""
    count: int


@dataclass(frozen=True, slots=True)
class ReasonRecovery:
    reason_code: str
    recovered: int
    ended: int

    @property
    def rate(self) -> float:
        return self.recovered / self.ended if self.ended else 0.0


@dataclass(frozen=True, slots=True)
class OutcomeAmounts:
    """Money by outcome figure, in one currency."""

    currency: str
    recovered: Decimal = Decimal(0)
    written_off: Decimal = Decimal(0)
    lost: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class Metrics:
    """Every metric of DESIGN.md "Metrics the product reports", at ``generated_at``."""

    generated_at: datetime
    events: int
    """Events accepted by ingest (the sum over ingest runs)."""
    findings: int
    exception_rate: Rate
    """Findings per accepted event."""
    cases: int
    open_cases: int
    by_status: dict[str, int]
    tier_split: dict[str, Rate]
    """Cases per tier, as a share of all cases (targets in ``TIER_TARGETS``)."""
    by_kind: dict[str, int]
    failures_by_breakpoint: dict[str, int]
    """Cases per breakpoint (``trigger``, ``identity``, ``eligibility``, ``transaction``,
    ``writeback``)."""
    time_to_first_touch: Durations
    time_to_resolution: Durations
    aging: list[AgingRow]
    """Open cases by category, owner team and age band."""
    sla_breaches: int
    sla_breaches_open: int
    first_touch_resolution: Rate
    """Ended cases never reopened, escalated or put to wait, of all ended cases."""
    rework: Rate
    """Cases reopened at least once, of all cases."""
    reopens: int
    resolved_without_duplicate_contact: Rate
    """Ended cases that were not a duplicate claim (nor resolved as one), of all ended."""
    manual_reconciliations: Rate
    """Reconciliation pairs an operator confirmed or forced, of all pairs that reconcile."""
    reconcile_auto_match: Rate
    """Pairs matched automatically, of all pairs that reconcile."""
    writeback_success: Rate
    """Writebacks confirmed, of those finished (confirmed or dead)."""
    writebacks: dict[str, int]
    amounts: dict[str, OutcomeAmounts]
    """Recovered, written-off and lost money per currency."""
    recovery_by_reason: list[ReasonRecovery]
    """Ended cases per reason (decline) code of their opening finding, and how many
    recovered money."""
    exposure_open: dict[str, Decimal]
    """Money at stake in open cases, per currency."""
    deliveries: dict[str, int] = field(default_factory=dict)
    """Outbound webhook deliveries by status."""


def read_metrics(*, reader: Callable[[], MetricsReader], clock: Clock) -> Metrics:
    """Every metric, from the summaries (see the module docstring)."""
    with reader() as tx:
        counters = tx.metric_counters()
        sources = tx.metric_sources()
    return metrics_from(counters, sources, clock.now())


def metrics_from(counters: m.Counters, sources: dict[str, Any], now: datetime) -> Metrics:
    def counts(name: str, part: int = 1) -> dict[str, int]:
        out: dict[str, int] = {}
        for key, cell in counters.items():
            if key.name == name:
                label = (key.k1, key.k2, key.k3)[part - 1]
                out[label] = out.get(label, 0) + cell.count
        return dict(sorted(out.items()))

    def one(name: str) -> int:
        return sum(cell.count for key, cell in counters.items() if key.name == name)

    by_status = counts(m.STATUS)
    cases = sum(by_status.values())
    open_cases = sum(n for s, n in by_status.items() if CaseStatus(s).is_open)
    ended = cases - open_cases
    tiers = counts(m.CASES, 1)
    pairs: dict[str, int] = sources.get("reconcile_pairs", {})
    reconciled = pairs.get("auto", 0) + sum(pairs.get(s, 0) for s in MANUAL_PAIR_STATUSES)
    writebacks: dict[str, int] = sources.get("writebacks", {})
    finished = writebacks.get("confirmed", 0) + writebacks.get("dead", 0)
    breached = counts(m.SLA_BREACHED)
    return Metrics(
        generated_at=now,
        events=int(sources.get("events", 0)),
        findings=int(sources.get("findings", 0)),
        exception_rate=Rate(int(sources.get("findings", 0)), int(sources.get("events", 0))),
        cases=cases,
        open_cases=open_cases,
        by_status=by_status,
        tier_split={t: Rate(tiers.get(t, 0), cases) for t in TIER_TARGETS},
        by_kind=counts(m.CASES, 2),
        failures_by_breakpoint=counts(m.CASES, 3),
        time_to_first_touch=_durations(counters, m.FIRST_TOUCH_SECONDS),
        time_to_resolution=_durations(counters, m.RESOLUTION_SECONDS),
        aging=_aging(counters, now),
        sla_breaches=sum(breached.values()),
        sla_breaches_open=breached.get("open", 0),
        first_touch_resolution=Rate(one(m.FIRST_TOUCH_RESOLVED), ended),
        rework=Rate(one(m.REWORKED), cases),
        reopens=one(m.REOPENS),
        resolved_without_duplicate_contact=Rate(one(m.DUPLICATE_FREE), ended),
        manual_reconciliations=Rate(sum(pairs.get(s, 0) for s in MANUAL_PAIR_STATUSES), reconciled),
        reconcile_auto_match=Rate(pairs.get("auto", 0), reconciled),
        writeback_success=Rate(writebacks.get("confirmed", 0), finished),
        writebacks=dict(sorted(writebacks.items())),
        amounts=_amounts(counters),
        recovery_by_reason=_by_reason(counters),
        exposure_open={
            key.k1: m.unscaled(cell.amount)
            for key, cell in sorted(counters.items())
            if key.name == m.OPEN_EXPOSURE
        },
        deliveries=dict(sorted(sources.get("deliveries", {}).items())),
    )


def _durations(counters: m.Counters, name: str) -> Durations:
    buckets: dict[int, int] = {}
    for key, cell in counters.items():
        if key.name == name:
            index = int(key.k2)
            buckets[index] = buckets.get(index, 0) + cell.count
    return Durations(
        count=sum(buckets.values()),
        median_seconds=m.quantile(buckets, 0.5),
        p90_seconds=m.quantile(buckets, 0.9),
        buckets=dict(sorted(buckets.items())),
    )


def _aging(counters: m.Counters, now: datetime) -> list[AgingRow]:
    rows: dict[tuple[str, str, str], int] = {}
    for key, cell in counters.items():
        if key.name != m.OPEN_AGE or cell.count == 0:
            continue
        band = m.age_band(now - datetime.fromisoformat(key.k3))
        group = (key.k1, key.k2, band)
        rows[group] = rows.get(group, 0) + cell.count
    order = {label: i for i, (label, _upper) in enumerate(m.AGE_BANDS)}
    return [
        AgingRow(category, team, band, count)
        for (category, team, band), count in sorted(
            rows.items(), key=lambda kv: (kv[0][0], kv[0][1], order[kv[0][2]])
        )
    ]


def _amounts(counters: m.Counters) -> dict[str, OutcomeAmounts]:
    by_currency: dict[str, dict[str, Decimal]] = {}
    for key, cell in counters.items():
        if key.name == m.OUTCOME_AMOUNT:
            figures = by_currency.setdefault(key.k2, {})
            figures[key.k1] = figures.get(key.k1, Decimal(0)) + m.unscaled(cell.amount)
    return {
        currency: OutcomeAmounts(
            currency,
            recovered=f.get("recovered", Decimal(0)),
            written_off=f.get("written_off", Decimal(0)),
            lost=f.get("lost", Decimal(0)),
        )
        for currency, f in sorted(by_currency.items())
    }


def _by_reason(counters: m.Counters) -> list[ReasonRecovery]:
    codes: dict[str, dict[str, int]] = {}
    for key, cell in counters.items():
        if key.name == m.BY_REASON:
            codes.setdefault(key.k1, {})[key.k2] = cell.count
    return [
        ReasonRecovery(code, c.get("recovered", 0),
                       c.get("recovered", 0) + c.get("not_recovered", 0))
        for code, c in sorted(codes.items())
    ]  # fmt: skip


def metrics_dict(x: Metrics) -> dict[str, Any]:
    """``x`` as plain data (rates with their ``rate``, amounts as ``Decimal``, times as
    ``datetime``): the shape of ``GET /api/v1/metrics`` and ``recoup metrics show --json``."""

    def rate(r: Rate) -> dict[str, Any]:
        return {"count": r.count, "of": r.of, "rate": r.rate}

    def durations(d: Durations) -> dict[str, Any]:
        return {"count": d.count, "median_seconds": d.median_seconds,
                "p90_seconds": d.p90_seconds}  # fmt: skip

    return {
        "generated_at": x.generated_at, "events": x.events, "findings": x.findings,
        "exception_rate": rate(x.exception_rate), "cases": x.cases,
        "open_cases": x.open_cases, "by_status": x.by_status,
        "tier_split": {k: rate(v) for k, v in x.tier_split.items()}, "by_kind": x.by_kind,
        "failures_by_breakpoint": x.failures_by_breakpoint,
        "time_to_first_touch": durations(x.time_to_first_touch),
        "time_to_resolution": durations(x.time_to_resolution),
        "aging": [{"category": a.category, "owner_team": a.owner_team, "band": a.band,
                   "count": a.count} for a in x.aging],
        "sla_breaches": x.sla_breaches, "sla_breaches_open": x.sla_breaches_open,
        "first_touch_resolution": rate(x.first_touch_resolution), "rework": rate(x.rework),
        "reopens": x.reopens,
        "resolved_without_duplicate_contact": rate(x.resolved_without_duplicate_contact),
        "manual_reconciliations": rate(x.manual_reconciliations),
        "reconcile_auto_match": rate(x.reconcile_auto_match),
        "writeback_success": rate(x.writeback_success), "writebacks": x.writebacks,
        "amounts": [{"currency": a.currency, "recovered": a.recovered,
                     "written_off": a.written_off, "lost": a.lost} for a in x.amounts.values()],
        "recovery_by_reason": [{"reason_code": r.reason_code, "recovered": r.recovered,
                                "ended": r.ended, "rate": r.rate}
                               for r in x.recovery_by_reason],
        "exposure_open": x.exposure_open, "deliveries": x.deliveries,
    }  # fmt: skip


# -- rebuild -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RebuildReport:
    cases: int
    codes_backfilled: int
    counters: int
    changed: int
    """Counters whose value the rebuild changed (0 when the summaries were exact)."""


def compute_summaries(cases: Iterator[tuple[Case, str | None]]) -> tuple[m.Counters, int]:
    """The summary of these cases, and how many there were."""
    out: m.Counters = {}
    n = 0
    for case, code in cases:
        n += 1
        for key, cell in m.contribution(case, code).items():
            out[key] = out.get(key, m.Cell()) + cell
    return {k: v for k, v in out.items() if not v.is_zero}, n


def rebuild_metrics(
    *, uow: Callable[[], MetricsWriter], clock: Clock, actor: str = "system:metrics"
) -> RebuildReport:
    """Recompute the case summaries from the cases, in one transaction, with an audit
    record saying how many counters changed."""
    now = clock.now()
    with uow() as tx:
        tx.lock_metric_counters()
        backfilled = tx.backfill_case_codes()
        rebuilt, n = compute_summaries(tx.metric_cases())
        changed = len(m.delta(tx.metric_counters(), rebuilt))
        tx.replace_metric_counters(rebuilt)
        report = RebuildReport(n, backfilled, len(rebuilt), changed)
        tx.append_audit([AuditEntry(now, actor, "metrics.rebuilt", "metrics", "cases",
                                    {"cases": n, "counters": len(rebuilt), "changed": changed,
                                     "codes_backfilled": backfilled})])  # fmt: skip
        tx.commit()
    return report
