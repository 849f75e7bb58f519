"""How good the suggestions are: accuracy, calibration error and what the band lets through.

Expected calibration error (ECE) puts predictions in equal-width confidence bins and averages,
weighted by bin size, the gap between each bin's mean confidence and its accuracy. A model
whose 90%-confident suggestions are right 90% of the time has an ECE near 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


def expected_calibration_error(
    confidences: Sequence[float], correct: Sequence[bool], bins: int = 10
) -> float:
    if len(confidences) != len(correct):
        raise ValueError("confidences and outcomes differ in length")
    if not confidences:
        return 0.0
    totals = [0] * bins
    conf_sum = [0.0] * bins
    right = [0] * bins
    for confidence, ok in zip(confidences, correct, strict=True):
        index = min(int(confidence * bins), bins - 1)
        totals[index] += 1
        conf_sum[index] += confidence
        right[index] += int(ok)
    n = len(confidences)
    return sum(
        (totals[i] / n) * abs(conf_sum[i] / totals[i] - right[i] / totals[i])
        for i in range(bins)
        if totals[i]
    )


@dataclass(frozen=True, slots=True)
class FieldQuality:
    """One suggestion field on held-out cases."""

    field: str
    examples: int
    accuracy: float
    ece: float
    coverage_above_band: float
    """Share of held-out cases whose suggestion reached the band (would be auto-accepted)."""
    accuracy_above_band: float | None
    """Accuracy among those; None when none reached the band."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def field_quality(
    field: str,
    predicted: Sequence[str],
    confidences: Sequence[float],
    truth: Sequence[str],
    band: float,
) -> FieldQuality:
    correct = [p == t for p, t in zip(predicted, truth, strict=True)]
    n = len(correct)
    above = [ok for ok, c in zip(correct, confidences, strict=True) if c >= band]
    return FieldQuality(
        field=field,
        examples=n,
        accuracy=sum(correct) / n if n else 0.0,
        ece=expected_calibration_error(confidences, correct),
        coverage_above_band=len(above) / n if n else 0.0,
        accuracy_above_band=sum(above) / len(above) if above else None,
    )


__all__ = ["FieldQuality", "expected_calibration_error", "field_quality"]
