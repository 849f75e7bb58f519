"""The dashboard's panels: every metric of DESIGN.md, from ``services.metrics.read_metrics``.

A panel is a headline number and, where the metric has parts, a chart (drawn by Chartist in the
browser) whose numbers are also in a table: a chart alone is not readable by everyone.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from recoup.entrypoints.api.pages.formats import duration, money, percent
from recoup.services.metrics import TIER_TARGETS, Durations, Metrics, Rate

AGE_BANDS = ("under_1d", "1d_3d", "3d_7d", "over_7d")


@dataclass
class Panel:
    key: str
    title: str
    headline: str | None = None
    note: str = ""
    kind: str = "bar"
    horizontal: bool = False
    label_name: str = ""
    labels: list[str] = field(default_factory=list)
    series_names: list[str] = field(default_factory=list)
    series: list[list[float]] = field(default_factory=list)

    @property
    def rows(self) -> list[list[Any]]:
        return [[label, *(_shown(s[i]) for s in self.series)]
                for i, label in enumerate(self.labels)]  # fmt: skip

    @property
    def chart_json(self) -> str:
        return json.dumps({"kind": self.kind, "horizontal": self.horizontal,
                           "labels": self.labels, "series": self.series})  # fmt: skip


def _shown(value: float) -> str:
    return f"{value:,.2f}" if value != int(value) else f"{int(value):,}"


def _rate(rate: Rate) -> str:
    return f"{percent(rate.rate)} ({rate.count:,} of {rate.of:,})"


def _durations(d: Durations) -> str:
    if not d.count:
        return "–"
    return f"median {duration(d.median_seconds)}, p90 {duration(d.p90_seconds)}"


def _bars(panel: Panel, data: dict[str, float], name: str, label_name: str) -> Panel:
    panel.labels = list(data)
    panel.series_names = [name]
    panel.series = [[float(v) for v in data.values()]]
    panel.label_name = label_name or "measure"
    return panel


def _share(key: str, title: str, rate: Rate, parts: tuple[str, str], note: str = "") -> Panel:
    """A rate as a headline and a two-bar chart: the part, and the rest of the whole."""
    yes, no = parts
    return _bars(
        Panel(key, title, _rate(rate), note),
        {yes: float(rate.count), no: float(rate.of - rate.count)},
        "count",
        "",
    )


def _times(key: str, title: str, d: Durations) -> Panel:
    hours = {"median": (d.median_seconds or 0) / 3600, "p90": (d.p90_seconds or 0) / 3600}
    return _bars(Panel(key, title, _durations(d), f"{d.count:,} cases; chart in hours"),
                 {k: round(v, 2) for k, v in hours.items()}, "hours", "")  # fmt: skip


def panels(m: Metrics) -> list[Panel]:
    tiers = " / ".join(percent(m.tier_split[t].rate) if t in m.tier_split else "–"
                       for t in TIER_TARGETS)  # fmt: skip
    out = [
        _bars(Panel("events", "Event volume", f"{m.events:,}", "events accepted by ingest"),
              {"events": float(m.events), "findings": float(m.findings)}, "count", ""),
        _share("exception_rate", "Exception rate", m.exception_rate,
               ("findings", "events without one"), "findings per accepted event"),
        _bars(Panel("tier_split", "Tier split (target 80 / 15 / 5)", tiers,
                    "more than 20% human means the policy is too vague"),
              {t: round((m.tier_split[t].rate or 0.0) * 100, 1) if t in m.tier_split else 0.0
               for t in TIER_TARGETS}, "% of cases", "tier"),
        _times("time_to_first_touch", "Time to first touch", m.time_to_first_touch),
        _times("time_to_resolution", "Time to resolution", m.time_to_resolution),
        _aging(m),
        _bars(Panel("sla_breaches", "SLA breaches", f"{m.sla_breaches:,}",
                    f"{m.sla_breaches_open:,} of them still open"),
              {"open": float(m.sla_breaches_open),
               "ended": float(m.sla_breaches - m.sla_breaches_open)}, "breaches", ""),
        _share("first_touch_resolution", "First-touch resolution", m.first_touch_resolution,
               ("first touch", "more touches"),
               "ended cases never reopened, escalated or put to wait"),
        _share("rework", "Rework (reopened)", m.rework, ("reopened", "not reopened"),
               f"{m.reopens:,} reopens in all"),
        _share("manual_reconciliations", "Manual reconciliation", m.manual_reconciliations,
               ("by an operator", "automatic"),
               "pairs an operator confirmed or forced, of all reconciled pairs"),
        _share("resolved_without_duplicate_contact", "Resolved without duplicate contact",
               m.resolved_without_duplicate_contact, ("without", "duplicate")),
        _bars(Panel("writeback_success", "Writeback success", _rate(m.writeback_success)),
              {k: float(v) for k, v in sorted(m.writebacks.items())}
              or {"confirmed": 0.0, "dead": 0.0}, "writebacks", "status"),
        _bars(Panel("failures_by_breakpoint", "Failures per breakpoint",
                    f"{sum(m.failures_by_breakpoint.values()):,}", "cases per breakpoint"),
              {k: float(v) for k, v in sorted(m.failures_by_breakpoint.items())}, "cases",
              "breakpoint"),
        _money(m),
        _reasons(m),
        _share("reconcile_auto_match", "Reconciliation auto-match rate", m.reconcile_auto_match,
               ("automatic", "by an operator")),
        _exposure(m),
        _bars(Panel("cases", "Cases by status", f"{m.open_cases:,} open of {m.cases:,}"),
              {k: float(v) for k, v in sorted(m.by_status.items())}, "cases", "status"),
    ]  # fmt: skip
    for panel in out:
        if panel.key in ("failures_by_breakpoint", "recovery_by_reason"):
            panel.horizontal = True
    return out


def _aging(m: Metrics) -> Panel:
    by: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(AGE_BANDS, 0))
    for row in m.aging:
        by[f"{row.category} / {row.owner_team}"][row.band] += row.count
    panel = Panel("aging", "Aging of open cases", f"{sum(r.count for r in m.aging):,}",
                  "open cases by category and owner, by age")  # fmt: skip
    panel.labels = sorted(by) or ["–"]
    panel.label_name = "category / owner"
    panel.series_names = [b.replace("_", " ") for b in AGE_BANDS]
    panel.series = [[float(by[k][band]) for k in panel.labels] for band in AGE_BANDS]
    panel.horizontal = True
    return panel


def _money(m: Metrics) -> Panel:
    amounts = sorted(m.amounts.values(), key=lambda a: a.currency)
    headline = (
        "; ".join(
            f"{money(a.recovered, a.currency)} recovered, "
            f"{money(a.written_off, a.currency)} written off, "
            f"{money(a.lost, a.currency)} lost"
            for a in amounts
        )
        or "–"
    )
    panel = Panel("amounts", "Recovered vs written off vs lost", headline)
    panel.labels = [a.currency for a in amounts] or ["–"]
    panel.label_name = "currency"
    panel.series_names = ["recovered", "written off", "lost"]
    panel.series = [[float(getattr(a, name)) for a in amounts] or [0.0]
                    for name in ("recovered", "written_off", "lost")]  # fmt: skip
    return panel


def _reasons(m: Metrics) -> Panel:
    rows = sorted(m.recovery_by_reason, key=lambda r: (-r.ended, r.reason_code))[:12]
    panel = Panel(
        "recovery_by_reason",
        "Recovery rate by decline code",
        f"{len(m.recovery_by_reason):,} code{'' if len(m.recovery_by_reason) == 1 else 's'}",
        "share of ended cases that recovered",
    )
    panel.labels = [r.reason_code for r in rows] or ["–"]
    panel.label_name = "reason code"
    panel.series_names = ["% recovered"]
    panel.series = [[round(r.rate * 100, 1) for r in rows] or [0.0]]
    return panel


def _exposure(m: Metrics) -> Panel:
    items = sorted(m.exposure_open.items())
    headline = "; ".join(money(v, k) for k, v in items) or money(Decimal(0))
    return _bars(Panel("exposure_open", "Exposure value open", headline,
                       "money at stake in open cases"),
                 {k: float(v) for k, v in items} or {"–": 0.0}, "at stake",
                 "currency")  # fmt: skip
