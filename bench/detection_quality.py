"""Detection quality: precision and recall per finding type on a labeled month.

A labeled month (``recoup.adapters.simulation.labeled``) is clean traffic from many sources with
known exceptions injected; its labels name the (type, entity) each detector must report. The
month is ingested into a scratch store with the app's detectors (sanctions screening over
``tests/fixtures/sanctions``), the expected-but-missing timers are fired at the month's
``as_of``, and the stored findings are scored against the labels: a label is found when a
finding of its type names its entity; a finding that matches no label is a false positive.
A clean month (no injections) is run too: it must give no finding at all.

    .venv/bin/python bench/detection_quality.py
    .venv/bin/python bench/detection_quality.py --per-type 5 --days 10 --backends sqlite,postgresql

Target: precision and recall >= 0.99 for every type. The bench exits 0 either way, and says
clearly which types miss it.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from recoup.adapters.clock import FixedClock
from recoup.adapters.sanctions_list import load_sanctions_list
from recoup.adapters.simulation.labeled import LabeledMonth, LabeledSpec, labeled_month
from recoup.adapters.store import tables as t
from recoup.bootstrap import bootstrap
from recoup.domain.detection.detectors import DetectionSettings, Detectors
from recoup.domain.detection.sanctions import SanctionsList, SanctionsScreen
from recoup.domain.detection.taxonomy import TAXONOMY
from recoup.services.expectations import fire_due
from recoup.services.ingest import RawRecord, ingest_records
from recoup.settings import DatabaseSettings, Settings
from scratch import scratch_store

ROOT = Path(__file__).resolve().parent.parent
SANCTIONS = ROOT / "tests" / "fixtures" / "sanctions"
TARGET = 0.99

Key = tuple[str, str, str]


def sanctions_list() -> SanctionsList:
    alt = SANCTIONS / "alt-sample.csv"
    return load_sanctions_list(SANCTIONS / "sdn-sample.csv", alt if alt.exists() else None)


def screened_names(sanctions: SanctionsList) -> tuple[str, ...]:
    """Names of listed people and companies (not vessels or aircraft), aliases included."""
    return tuple(
        name
        for entry in sanctions
        if entry.type not in ("vessel", "aircraft")
        for name in (entry.name, *entry.aliases)
    )


def detectors(sanctions: SanctionsList) -> Detectors:
    return Detectors(DetectionSettings(sanctions=SanctionsScreen(sanctions).spec))


@dataclass
class Run:
    findings: set[Key]
    events: int
    seconds: float
    timers: object = None


def run_month(backend: str, month: LabeledMonth, dets: Detectors) -> Run:
    """Ingest the month, fire the timers due at its ``as_of``; the findings stored."""
    with scratch_store(backend) as url:
        clock = FixedClock(month.as_of)
        app = bootstrap(Settings(database=DatabaseSettings(url=url)), clock=clock)
        try:
            app.ensure_schema()
            records = [RawRecord(line, "labeled.jsonl", n) for n, line in enumerate(month.lines, 1)]
            started = time.perf_counter()
            report = ingest_records(
                records, uow=app.uow, clock=clock, detectors=dets, label="detection-quality"
            )
            assert report.quarantined == 0, report.first_rejections[:3]
            timers = fire_due(uow=app.uow, clock=clock, detectors=dets)
            elapsed = time.perf_counter() - started
            with app.engine.connect() as conn:
                rows = conn.execute(
                    sa.select(t.findings.c.type, t.findings.c.entity_kind, t.findings.c.entity_key)
                ).all()
        finally:
            app.close()
    return Run({(r[0], r[1], r[2]) for r in rows}, len(month.lines), elapsed, timers)


@dataclass
class Score:
    type: str
    labeled: int
    found: int
    true_pos: int

    @property
    def precision(self) -> float | None:
        return self.true_pos / self.found if self.found else None

    @property
    def recall(self) -> float | None:
        return self.true_pos / self.labeled if self.labeled else None

    @property
    def ok(self) -> bool:
        return all(v is None or v >= TARGET for v in (self.precision, self.recall)) and (
            self.labeled == 0 or self.recall is not None
        )


def score(labels: set[Key], findings: set[Key]) -> list[Score]:
    types = sorted({k[0] for k in labels | findings}, key=_taxonomy_order)
    return [
        Score(
            type_,
            sum(1 for k in labels if k[0] == type_),
            sum(1 for k in findings if k[0] == type_),
            sum(1 for k in labels & findings if k[0] == type_),
        )
        for type_ in types
    ]


def _taxonomy_order(type_: str) -> tuple[int, str]:
    names = list(TAXONOMY)
    return (names.index(type_) if type_ in names else len(names), type_)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def print_table(scores: Iterable[Score]) -> Score:
    scores = list(scores)
    print(f"  {'type':<24}{'labeled':>8}{'found':>7}{'TP':>6}{'precision':>11}{'recall':>8}")
    for s in scores:
        flag = "" if s.ok else "   <-- below 0.99"
        print(
            f"  {s.type:<24}{s.labeled:>8}{s.found:>7}{s.true_pos:>6}"
            f"{_pct(s.precision):>11}{_pct(s.recall):>8}{flag}"
        )
    total = Score(
        "overall", *(sum(getattr(s, f) for s in scores) for f in ("labeled", "found", "true_pos"))
    )
    print(
        f"  {'overall':<24}{total.labeled:>8}{total.found:>7}{total.true_pos:>6}"
        f"{_pct(total.precision):>11}{_pct(total.recall):>8}"
    )
    return total


def show_examples(title: str, keys: set[Key], limit: int = 3) -> None:
    if not keys:
        return
    by_type: dict[str, list[Key]] = {}
    for key in sorted(keys):
        by_type.setdefault(key[0], []).append(key)
    print(f"  {title}:")
    for type_, items in sorted(by_type.items(), key=lambda kv: _taxonomy_order(kv[0])):
        shown = ", ".join(f"{k}:{v}" for _, k, v in items[:limit])
        more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
        print(f"    {type_:<24}{shown}{more}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--per-type", type=int, default=12)
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--backends", default="sqlite")
    args = parser.parse_args()

    sanctions = sanctions_list()
    names = screened_names(sanctions)
    dets = detectors(sanctions)
    base = LabeledSpec(
        seed=args.seed, days=args.days, per_type=args.per_type, sanctioned_names=names
    )
    injected = labeled_month(base)
    clean = labeled_month(
        LabeledSpec(seed=args.seed, days=args.days, inject=False, sanctioned_names=names)
    )
    labels = {(x.type, x.entity_kind, x.entity_key) for x in injected.labels}
    missing = [name for name in TAXONOMY if name not in {k[0] for k in labels}]
    print(
        f"labeled month: seed {args.seed}, {args.days} days, {len(injected.lines):,} events, "
        f"{len(labels)} labels over {len(TAXONOMY) - len(missing)} types; "
        f"timers fired as of {injected.as_of:%Y-%m-%d %H:%M}Z"
    )
    if missing:
        print(f"  not injected: {', '.join(missing)}")
    for backend in args.backends.split(","):
        print(f"\n[{backend}] injected month")
        run = run_month(backend, injected, dets)
        print(
            f"  ingest + timers: {run.events:,} events in {run.seconds:.1f} s; timers: {run.timers}"
        )
        scores = score(labels, run.findings)
        total = print_table(scores)
        show_examples("missed (labeled, not found)", labels - run.findings)
        show_examples("false positives (found, not labeled)", run.findings - labels)
        below = [s.type for s in scores if not s.ok]
        verdict = "all types meet" if not below else f"{len(below)} types miss"
        print(f"  {verdict} the {TARGET} target" + (f": {', '.join(below)}" if below else ""))
        print(f"  overall precision {_pct(total.precision)}, recall {_pct(total.recall)}")

        print(f"\n[{backend}] clean month (no injections)")
        clean_run = run_month(backend, clean, dets)
        count = len(clean_run.findings)
        print(
            f"  {clean_run.events:,} events, {count} findings "
            f"({'OK' if count == 0 else 'MUST BE ZERO'})"
        )
        if count:
            print(
                "  by type: "
                + ", ".join(
                    f"{k} {v}" for k, v in Counter(k[0] for k in clean_run.findings).most_common()
                )
            )
            show_examples("clean findings", clean_run.findings)


if __name__ == "__main__":
    main()
