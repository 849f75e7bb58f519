"""Reconciliation quality: precision and recall of the engine against a generated ground truth.

A synthetic dataset (``recoup.adapters.reconcile.synthetic``: invoices paid by bank transfer,
three-way orders, PSP payouts, orphans on both sides, and noise in references, dates, amounts,
bank fees, FX, partial payments and duplicated lines) is reconciled with the default rules
(or ``--rules FILE``), and every pair the engine made (auto or suggested) is scored against
the truth: overall, per noise kind, per pattern and per pass; then the share of auto and
suggested matches, the breaks by reason (and what the truth says about the items they name),
and how many truly unmatched records the engine left unmatched.

    .venv/bin/python bench/reconcile_quality.py                      # 200,000 payments
    .venv/bin/python bench/reconcile_quality.py --payments 20000 --seed 7 --rules my.toml

Targets (issue 7): precision >= 99.9 % and recall >= 99 % of true match pairs. The bench
exits 0 either way and says which figures miss them.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from recoup.adapters.reconcile.rules_file import default_rules, load_rules
from recoup.adapters.reconcile.synthetic import (
    PairScore,
    SyntheticDataset,
    SyntheticSpec,
    generate,
    score_pairs,
)

PRECISION, RECALL = 0.999, 0.99


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def print_scores(title: str, scores: Iterable[PairScore], *, flag: bool = False) -> None:
    print(f"\n  {title:<24}{'truth':>9}{'found':>9}{'correct':>9}{'precision':>11}{'recall':>9}")
    for s in scores:
        note = ""
        if flag and s.kind == "overall":
            misses = [
                name
                for name, value, target in (("precision", s.precision, PRECISION),
                                            ("recall", s.recall, RECALL))
                if value is None or value < target
            ]  # fmt: skip
            note = "   ok" if not misses else f"   <-- {' and '.join(misses)} below target"
        print(
            f"  {s.kind:<24}{s.truth:>9,}{s.found:>9,}{s.correct:>9,}"
            f"{_pct(s.precision):>11}{_pct(s.recall):>9}{note}"
        )


def by_pattern(data: SyntheticDataset, pairs: set[tuple[str, str]]) -> list[PairScore]:
    """Recall per pattern (precision is charged per noise kind instead)."""
    original = {
        u["item_id"]: u["duplicate_of"] for u in data.unmatched.to_pylist() if u["duplicate_of"]
    }
    found = {(left, original.get(right, right)) for left, right in pairs}
    truth, correct = Counter[str](), Counter[str]()
    for row in data.truth.select(["left_id", "right_id", "pattern"]).to_pylist():
        truth[row["pattern"]] += 1
        correct[row["pattern"]] += (row["left_id"], row["right_id"]) in found
    return [PairScore(k, truth[k], correct[k], correct[k]) for k in sorted(truth)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--payments", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--rules", type=Path, help="rules file (default: the shipped rules)")
    args = parser.parse_args()

    from recoup.adapters.reconcile.engine import reconcile

    rules = load_rules(args.rules) if args.rules else default_rules()
    began = time.perf_counter()
    data = generate(SyntheticSpec(payments=args.payments, seed=args.seed))
    generated = time.perf_counter() - began
    print(
        f"dataset: seed {args.seed}, {data.left.num_rows:,} left x {data.right.num_rows:,} "
        f"right rows, {data.truth.num_rows:,} true pairs, {data.unmatched.num_rows:,} records "
        f"with no counterpart (generated in {generated:.1f} s)"
    )
    began = time.perf_counter()
    result = reconcile(data.left, data.right, rules)
    seconds = time.perf_counter() - began
    print(f"engine: {len(rules.passes)} passes, rules version {rules.version}, {seconds:.2f} s")

    matches = result.matches.select(["left_id", "right_id", "rule", "status"]).to_pylist()
    every = score_pairs(data, [m["left_id"] for m in matches], [m["right_id"] for m in matches])
    auto = [m for m in matches if m["status"] == "auto"]
    only_auto = score_pairs(data, [m["left_id"] for m in auto], [m["right_id"] for m in auto])

    print_scores("noise kind (all)", [*(s for k, s in every.items() if k != "overall"),
                                      every["overall"]], flag=True)  # fmt: skip
    print_scores("auto only", [only_auto["overall"]], flag=True)
    print_scores("pattern (recall)", by_pattern(data, {(m["left_id"], m["right_id"])
                                                       for m in matches}))  # fmt: skip
    per_rule = {}
    for rule in dict.fromkeys(m["rule"] for m in matches):
        mine = [m for m in matches if m["rule"] == rule]
        per_rule[rule] = score_pairs(
            data, [m["left_id"] for m in mine], [m["right_id"] for m in mine]
        )["overall"]
    print_scores("pass (precision)", [PairScore(k, 0, s.found, s.correct)
                                      for k, s in per_rule.items()])  # fmt: skip

    status = Counter(m["status"] for m in matches)
    total = sum(status.values()) or 1
    print("\n  status      pairs     share  precision")
    for name in ("auto", "suggested"):
        mine = [m for m in matches if m["status"] == name]
        s = score_pairs(data, [m["left_id"] for m in mine], [m["right_id"] for m in mine])
        print(
            f"  {name:<10}{status[name]:>7,}{_pct(status[name] / total):>10}"
            f"{_pct(s['overall'].precision):>11}"
        )

    print_breaks(data, result.breaks)
    print_unmatched(data, result.unmatched_left, result.unmatched_right)


def print_breaks(data: SyntheticDataset, breaks: object) -> None:
    """Breaks by reason and side, and what the truth says about the item each one names."""
    truth_of: dict[str, str] = {}
    for u in data.unmatched.to_pylist():
        truth_of[u["item_id"]] = u["reason"]
    for row in data.truth.select(["left_id", "right_id"]).to_pylist():
        truth_of.setdefault(row["left_id"], "has a match")
        truth_of.setdefault(row["right_id"], "has a match")
    table = Counter[tuple[str, str, str]]()
    for row in breaks.select(["item_id", "side", "reason"]).to_pylist():  # type: ignore[attr-defined]
        table[(row["reason"], row["side"], truth_of.get(row["item_id"], "?"))] += 1
    print(f"\n  {'break reason':<22}{'side':<7}{'truth of the item':<20}{'count':>8}")
    for (reason, side, truth), count in sorted(table.items()):
        print(f"  {reason:<22}{side:<7}{truth:<20}{count:>8,}")


def print_unmatched(data: SyntheticDataset, left: object, right: object) -> None:
    """How many records with no true counterpart the engine left unmatched."""
    left_open = set(left.column(0).to_pylist())  # type: ignore[attr-defined]
    right_open = set(right.column(0).to_pylist())  # type: ignore[attr-defined]
    kinds = Counter[str]()
    kept = Counter[str]()
    for u in data.unmatched.to_pylist():
        label = f"{u['reason']} {u['side']}"
        kinds[label] += 1
        kept[label] += u["item_id"] in (left_open if u["side"] == "left" else right_open)
    print(f"\n  {'no true counterpart':<24}{'records':>9}{'left open':>11}")
    for label in sorted(kinds):
        print(f"  {label:<24}{kinds[label]:>9,}{_pct(kept[label] / kinds[label]):>11}")


if __name__ == "__main__":
    main()
