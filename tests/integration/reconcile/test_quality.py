"""The engine with the shipped rules against a generated dataset with ground truth.

Issue 7 asks for precision >= 99.9 % and recall >= 99 % of true match pairs. Precision is there;
recall is not yet (about 94 % on this dataset: partial payments, payouts whose members are dated
outside the window, truncated references). This test holds the figures measured so far as a
floor, so no change makes them worse, while the work on recall goes on; the full table is in
``bench/reconcile_quality.py``."""

from __future__ import annotations

from recoup.adapters.reconcile.engine import reconcile
from recoup.adapters.reconcile.rules_file import default_rules
from recoup.adapters.reconcile.synthetic import SyntheticSpec, generate, score_pairs

PRECISION_TARGET = 0.999
RECALL_FLOOR = 0.94
"""Measured 0.942 with seed 2026 and 5,000 payments; the issue's target is 0.99."""


def test_the_default_rules_keep_precision_and_the_recall_measured_so_far() -> None:
    data = generate(SyntheticSpec(payments=5_000, seed=2026))

    result = reconcile(data.left, data.right, default_rules())

    matches = result.matches
    scores = score_pairs(data, matches.column("left_id"), matches.column("right_id"))
    overall = scores["overall"]
    misses = {
        kind: (s.truth, s.found, s.correct) for kind, s in scores.items() if s.correct < s.truth
    }
    assert overall.precision is not None
    assert overall.precision >= PRECISION_TARGET, misses
    assert overall.recall is not None
    assert overall.recall >= RECALL_FLOOR, misses
