"""Spikes and clusters: a kind of failure concentrating on one value of one dimension.

Each failure (a finding with the event that triggered it) has a kind (its type, and its type
with its reason code) and dimensions (the processor or source, the reason code, and what the
event's attributes say: card range, product, supplier batch or region ...). For every kind and
every dimension value seen in the current window, the share of that kind's failures carrying
the value is compared with its share in the baseline window before it, by a one-sided exact
binomial test: how likely is a count at least this high if the baseline share still held?

A cell alerts when all hold: at least ``min_count`` failures, a share at least ``min_lift``
times the baseline and ``min_gap`` above it, and a p-value under ``alpha`` divided by the
number of cells tested (Bonferroni: scanning many cells must not raise false alarms). An
alert fires once per crossing: the cell stays crossed, silent, until it clears (its share falls
back below half-way between baseline and the lift, or its count below half the minimum); a
later crossing alerts again.

Shares, not rates per attempt: a value whose traffic grows will see its failure share grow
too. The baseline window is long (weeks) against a short current window (a day) to damp that.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from recoup.domain.detection.findings import Finding
from recoup.domain.detection.taxonomy import finding_type
from recoup.domain.ids import derived_id

ALERT_TYPE = "pattern_alert"
DIMENSION_KEYS = (
    "processor",
    "card_bin",
    "card_range",
    "card_brand",
    "card_country",
    "product",
    "sku",
    "region",
    "country",
    "supplier_batch",
    "onboarding_batch",
    "batch",
    "bank",
    "channel",
    "merchant_account",
)
"""Event attributes that name a dimension a failure can concentrate on."""
MAX_EVIDENCE = 20


@dataclass(frozen=True, slots=True)
class SpikeRule:
    window: timedelta = timedelta(hours=24)
    baseline: timedelta = timedelta(days=14)
    min_count: int = 10
    min_lift: float = 2.0
    min_gap: float = 0.05
    alpha: float = 0.001


@dataclass(frozen=True, slots=True)
class Failure:
    """One finding as the scan sees it."""

    type: str
    reason_code: str | None
    occurred_at: datetime
    event_id: str
    dimensions: Mapping[str, str]


def failure_dimensions(
    source: str, reason_code: str | None, attributes: Mapping[str, Any] | None
) -> dict[str, str]:
    """The dimensions of a failure from its trigger event."""
    dims = {"processor": source.split(":", 1)[0]}
    if reason_code:
        dims["reason_code"] = reason_code
    for key in DIMENSION_KEYS:
        value = (attributes or {}).get(key)
        if value not in (None, "") and not isinstance(value, dict | list):
            dims[key] = str(value)[:100]
    if "card_bin" in dims and "card_range" not in dims:
        dims["card_range"] = dims["card_bin"][:6]
    return dims


@dataclass(frozen=True, slots=True)
class Cell:
    kind: str
    dimension: str
    value: str
    count: int
    total: int
    base_count: int
    base_total: int
    event_ids: tuple[str, ...] = ()
    """The trigger events of the failures in the current window, latest first."""

    @property
    def key(self) -> str:
        return f"{self.kind}|{self.dimension}={self.value}"[:255]

    @property
    def rate(self) -> float:
        return self.count / self.total if self.total else 0.0

    @property
    def baseline(self) -> float:
        """The baseline share, smoothed so a value never seen before is not a zero share."""
        return (self.base_count + 0.5) / (self.base_total + 1)


@dataclass(frozen=True, slots=True)
class Spike:
    cell: Cell
    p_value: float
    is_spike: bool


def _kinds(failure: Failure) -> list[tuple[str, str | None]]:
    """(kind, dimension the kind already fixes)."""
    kinds: list[tuple[str, str | None]] = [(failure.type, None)]
    if failure.reason_code:
        kinds.append((f"{failure.type}:{failure.reason_code}", "reason_code"))
    return kinds


def cells(failures: Iterable[Failure], now: datetime, rule: SpikeRule) -> list[Cell]:
    """Counts per kind and dimension value: now (the current window) and before (baseline)."""
    start = now - rule.window
    base_start = start - rule.baseline
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    counts: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    ids: dict[tuple[str, str, str], list[tuple[datetime, str]]] = defaultdict(list)
    for failure in failures:
        if failure.occurred_at > now or failure.occurred_at < base_start:
            continue
        current = failure.occurred_at >= start
        slot = 0 if current else 1
        for kind, fixed in _kinds(failure):
            totals[kind][slot] += 1
            for dim, value in failure.dimensions.items():
                if dim == fixed:
                    continue
                counts[(kind, dim, value)][slot] += 1
                if current:
                    ids[(kind, dim, value)].append((failure.occurred_at, failure.event_id))
    out = []
    for (kind, dim, value), (now_count, base_count) in sorted(counts.items()):
        if not now_count:
            continue
        total, base_total = totals[kind]
        latest = sorted(ids[(kind, dim, value)], reverse=True)
        out.append(
            Cell(
                kind,
                dim,
                value,
                now_count,
                total,
                base_count,
                base_total,
                tuple(e for _, e in latest),
            )
        )
    return out


def binomial_upper_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed in log space (exact, no approximation)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    terms = [
        math.lgamma(n + 1)
        - math.lgamma(i + 1)
        - math.lgamma(n - i + 1)
        + i * log_p
        + (n - i) * log_q
        for i in range(k, n + 1)
    ]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def judge_cells(found: Sequence[Cell], rule: SpikeRule) -> list[Spike]:
    """Each cell tested against its baseline; cells without a baseline are not judged."""
    judged = [c for c in found if c.base_total >= rule.min_count]
    threshold = rule.alpha / max(len(judged), 1)
    out = []
    for cell in judged:
        p_value = binomial_upper_tail(cell.count, cell.total, cell.baseline)
        is_spike = _strong(cell, rule) and p_value < threshold
        out.append(Spike(cell, p_value, is_spike))
    return out


@dataclass(frozen=True, slots=True)
class Crossing:
    """The alert state of one cell: crossed (alerted, silent until it clears) or clear."""

    key: str
    is_crossed: bool
    crossings: int
    changed_at: datetime
    detail: Mapping[str, Any] = field(default_factory=dict)


def _cleared(spike: Spike | None, rule: SpikeRule) -> bool:
    if spike is None:
        return True
    cell = spike.cell
    halfway = cell.baseline * (1 + (rule.min_lift - 1) / 2)
    return not spike.is_spike and (cell.rate < halfway or cell.count < rule.min_count / 2)


def advance(
    states: Mapping[str, Crossing], spikes: Sequence[Spike], now: datetime, rule: SpikeRule
) -> tuple[list[Crossing], list[tuple[Spike, int]]]:
    """The crossings that change and the alerts to raise (each spike with its crossing number).

    A crossed cell that is still spiking, or not yet clear, raises nothing. Cells crossing in
    the same scan over mostly the same failures (a batch's rejects seen per type, per type and
    reason code, per region) are one pattern and raise one alert: the cell with the most
    failures above what its baseline expects; when that cell is a reason code surging, and
    within that code the failures concentrate on one value of another dimension, that
    narrower cell ("do_not_honor declines on processor adyen") alerts instead. The others are
    marked crossed with it and stay silent."""
    by_key = {s.cell.key: s for s in spikes}
    changed: list[Crossing] = []
    alerts: list[tuple[Spike, int]] = []
    fresh = [s for s in spikes if s.is_spike and not _crossed(states.get(s.cell.key))]
    fresh.sort(key=lambda s: (-excess(s.cell), s.p_value, s.cell.key))
    members = {s.cell.key: frozenset(s.cell.event_ids) for s in spikes}
    chosen: list[Spike] = []
    for spike in fresh:
        key = spike.cell.key
        if any(_overlap(members[key], members[c.cell.key]) >= 0.5 for c in chosen):
            continue
        pick = _narrower(spike, spikes, members, rule) or spike
        chosen.append(pick)
    for spike in fresh:
        key = spike.cell.key
        state = states.get(key)
        number = (state.crossings if state else 0) + 1
        detail = describe(spike)
        if spike in chosen:
            alerts.append((spike, number))
        else:
            cover = max(chosen, key=lambda c: _overlap(members[key], members[c.cell.key]))
            detail["covered_by"] = cover.cell.key
        changed.append(Crossing(key, True, number, now, detail))
    for key, state in states.items():
        if state.is_crossed and _cleared(by_key.get(key), rule):
            changed.append(replace(state, is_crossed=False, changed_at=now))
    return changed, alerts


def excess(cell: Cell) -> float:
    """Failures above what the baseline share expects."""
    return cell.count - cell.baseline * cell.total


NARROWER_SHARE = 0.75
"""A narrower cell (one reason code on the same dimension value) replaces a broader one when
it holds at least this share of the broader cell's excess."""


def _narrower(spike: Spike, judged: Sequence[Spike], members: Mapping[str, frozenset[str]],
              rule: SpikeRule) -> Spike | None:  # fmt: skip
    """The narrower cell that explains ``spike``: within a surging reason code, the value the
    failures concentrate on; or, for a dimension value, the one reason code it is about.

    Drilling into a reason code that crossed is a second, small family of tests (the cells of
    that code only): a cell there qualifies when it passes the scan's own test, or the same
    test with alpha split over that family alone."""
    cell = spike.cell
    if ":" in cell.kind:
        return None
    inside = [o for o in judged if o.cell.kind.startswith(f"{cell.kind}:")
              and _overlap(members[o.cell.key], members[cell.key]) >= 0.5]  # fmt: skip
    if cell.dimension == "reason_code":
        family = [o for o in inside if o.cell.kind == f"{cell.kind}:{cell.value}"]
        threshold = rule.alpha / max(len(family), 1)
        fits = [o for o in family if o.is_spike or (_strong(o.cell, rule)
                                                    and o.p_value < threshold)]  # fmt: skip
        return min(fits, key=lambda o: (o.p_value, o.cell.key)) if fits else None
    for other in inside:
        o = other.cell
        if (
            other.is_spike
            and (o.dimension, o.value) == (cell.dimension, cell.value)
            and (excess(o) >= NARROWER_SHARE * excess(cell))
        ):
            return other
    return None


def _strong(cell: Cell, rule: SpikeRule) -> bool:
    return (cell.count >= rule.min_count and cell.rate >= rule.min_lift * cell.baseline
            and cell.rate - cell.baseline >= rule.min_gap)  # fmt: skip


def _crossed(state: Crossing | None) -> bool:
    return state is not None and state.is_crossed


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    smaller = min(len(a), len(b))
    return len(a & b) / smaller if smaller else 0.0


def describe(spike: Spike) -> dict[str, Any]:
    cell = spike.cell
    return {
        "kind": cell.kind,
        "dimension": cell.dimension,
        "value": cell.value,
        "count": cell.count,
        "total": cell.total,
        "rate": round(cell.rate, 4),
        "base_count": cell.base_count,
        "base_total": cell.base_total,
        "baseline": round(cell.baseline, 4),
        "p_value": spike.p_value,
    }


def explain(spike: Spike, rule: SpikeRule) -> str:
    cell = spike.cell
    hours = rule.window.total_seconds() / 3600
    days = rule.baseline.total_seconds() / 86400
    return (
        f"{cell.kind} concentrates on {cell.dimension}={cell.value}: {cell.rate:.0%} of the "
        f"last {hours:g} h ({cell.count} of {cell.total}) against a baseline of "
        f"{cell.baseline:.0%} over the {days:g} days before ({cell.base_count} of "
        f"{cell.base_total}); p={spike.p_value:.1e}"
    )


def alert_finding(spike: Spike, crossing: int, rule: SpikeRule, now: datetime) -> Finding:
    """The ``pattern_alert`` finding of one crossing; its id follows from the cell and the
    crossing number, so a repeated scan cannot raise it twice."""
    cell = spike.cell
    spec = finding_type(ALERT_TYPE)
    reason = cell.kind.split(":", 1)[1] if ":" in cell.kind else None
    detail = {
        **describe(spike),
        "crossing": crossing,
        "window_hours": rule.window.total_seconds() / 3600,
        "baseline_days": rule.baseline.total_seconds() / 86400,
    }
    return Finding(
        id=derived_id("finding", ALERT_TYPE, cell.key, str(crossing)),
        type=ALERT_TYPE,
        entity_kind=spec.entity,
        entity_key=cell.key,
        occurred_at=now,
        detected_at=now,
        trigger_event_id=cell.event_ids[0],
        evidence_event_ids=cell.event_ids[:MAX_EVIDENCE],
        summary=explain(spike, rule),
        tier=spec.tier,
        reason_code=reason,
        detail=detail,
    )


__all__ = [
    "ALERT_TYPE",
    "Cell",
    "Crossing",
    "Failure",
    "Spike",
    "SpikeRule",
    "advance",
    "alert_finding",
    "binomial_upper_tail",
    "cells",
    "explain",
    "failure_dimensions",
    "judge_cells",
]
