"""Assist quality: suggestions on held-out generated history, and the spike scan on generated
traffic with and without a planted concentration.

Suggestions: ``--cases`` resolved cases of generated labeled history
(``recoup.adapters.assist.history``: archetypes with overlapping reason codes, noisy text and
3% operator label noise by default) are split by a hash of the case key (``--holdout``, as
``recoup assist train`` does); the scikit-learn learner is fitted on the rest and scored on the
held-out cases: per suggestion type the accuracy, the expected calibration error (ECE, ten
bins), the share of suggestions at or above the band (auto-accepted for the open fields) and
their accuracy.

Spikes: for each planted scenario (``recoup.adapters.assist.traffic``: bank rejects of one
onboarding batch, a decline code on one processor, disputes on one product) and ``--seeds``
seeds, one scan at the end of fifteen days of traffic must raise exactly one alert with the
planted kind, dimension and value; clean traffic must raise none.

    .venv/bin/python bench/assist_quality.py
    .venv/bin/python bench/assist_quality.py --cases 8000 --band 0.95 --seeds 50

Targets (issue 9): auto-accepted suggestions (at or above the band) at least 95% correct; each
planted spike alerted once with the right dimension; no alert on clean traffic. The bench exits
0 either way and says which figures miss them.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

from recoup.adapters.assist.history import LABEL_NOISE, generate_history
from recoup.adapters.assist.learner import SklearnLearner
from recoup.adapters.assist.traffic import PLANTS, failures_of, spike_traffic
from recoup.domain.assist.labels import FIELDS, POLICY_FIELDS
from recoup.domain.assist.spikes import SpikeRule, advance, cells, judge_cells
from recoup.services.assist import quality, split

TARGET = 0.95
NOW = datetime(2026, 10, 20, 12, tzinfo=UTC)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def suggestions(cases: int, seed: int, holdout: float, band: float, noise: float) -> None:
    started = time.perf_counter()
    train, test = split(generate_history(cases, seed=seed, label_noise=noise), holdout)
    model = SklearnLearner().fit(train, FIELDS)
    fitted = time.perf_counter() - started
    scores = quality(model, test, band)
    print(
        f"suggestions: {len(train):,} cases to learn from, {len(test):,} held out, "
        f"band {band:g}, operator label noise {noise:.0%} (fitted in {fitted:.1f} s)\n"
    )
    print(
        f"  {'suggestion':<13}{'applies':<10}{'held out':>9}{'accuracy':>10}{'ECE':>8}"
        f"{'≥ band':>9}{'accuracy ≥ band':>17}"
    )
    above_total = above_right = 0
    for name, q in scores.items():
        applies = "advice" if name in POLICY_FIELDS else "fills"
        note = ""
        if q.accuracy_above_band is not None and q.accuracy_above_band < TARGET:
            note = "   <-- below 95%"
        print(
            f"  {name:<13}{applies:<10}{q.examples:>9,}{_pct(q.accuracy):>10}{q.ece:>8.3f}"
            f"{_pct(q.coverage_above_band):>9}{_pct(q.accuracy_above_band):>17}{note}"
        )
        if name not in POLICY_FIELDS and q.accuracy_above_band is not None:
            n = round(q.coverage_above_band * q.examples)
            above_total += n
            above_right += round(q.accuracy_above_band * n)
    pooled = above_right / above_total if above_total else None
    verdict = "ok" if pooled is not None and pooled >= TARGET else "<-- below target"
    print(
        f"\n  auto-accepted (open fields at or above the band): {above_total:,} suggestions, "
        f"{_pct(pooled)} correct (target ≥ 95%)   {verdict}"
    )
    print(
        "  'advice': type and owner team are decided by detection and policy; their "
        "suggestions are shown, never applied."
    )


def spikes(seeds: int) -> None:
    rule = SpikeRule()
    print(
        f"\nspikes: {seeds} seeds per scenario, window {rule.window}, baseline "
        f"{rule.baseline.days} days, min count {rule.min_count}, lift {rule.min_lift:g}, "
        f"alpha {rule.alpha:g} (Bonferroni over the cells tested)\n"
    )
    print(
        f"  {'scenario':<11}{'cells':>7}{'alerted once, right dimension':>32}{'wrong':>7}"
        f"{'extra':>7}   example"
    )
    for plant in [None, *PLANTS]:
        right = wrong = extra = tested = 0
        example = ""
        for seed in range(seeds):
            judged = judge_cells(
                cells(failures_of(spike_traffic(NOW, plant=plant, seed=seed)), NOW, rule), rule
            )
            tested += len(judged)
            _, alerts = advance({}, judged, NOW, rule)
            if plant is None:
                extra += len(alerts)
                continue
            want = PLANTS[plant]
            hits = [
                s
                for s, _ in alerts
                if (s.cell.kind, s.cell.dimension, s.cell.value)
                == (want.kind, want.dimension, want.value)
            ]
            right += int(len(alerts) == 1 and len(hits) == 1)
            wrong += int(not hits)
            extra += max(len(alerts) - 1, 0)
            if alerts and not example:
                cell = alerts[0][0].cell
                example = (
                    f"{cell.kind} {cell.dimension}={cell.value}: {cell.rate:.0%} vs "
                    f"{cell.baseline:.0%} baseline"
                )
        name = plant or "clean"
        once = "-" if plant is None else f"{right}/{seeds}"
        print(f"  {name:<11}{tested // seeds:>7}{once:>32}{wrong:>7}{extra:>7}   {example}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--holdout", type=float, default=0.2)
    parser.add_argument("--band", type=float, default=0.9)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument(
        "--label-noise",
        type=float,
        default=LABEL_NOISE,
        help="share of root causes and next actions operators chose otherwise",
    )
    args = parser.parse_args()
    suggestions(args.cases, args.seed, args.holdout, args.band, args.label_noise)
    spikes(args.seeds)


if __name__ == "__main__":
    main()
