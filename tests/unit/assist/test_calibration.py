"""Calibration error and the quality of one field."""

from __future__ import annotations

import pytest

from recoup.domain.assist.calibration import expected_calibration_error, field_quality


def test_a_calibrated_model_has_no_calibration_error() -> None:
    confidences = [0.75] * 4 + [0.25] * 4
    correct = [True, True, True, False, True, False, False, False]

    assert expected_calibration_error(confidences, correct) == pytest.approx(0.0)


def test_calibration_error_weighs_each_bin_by_its_size() -> None:
    # Bin 0.9: 2 predictions at 0.95, one right -> gap 0.45; bin 0.5: 2 at 0.55, both right ->
    # gap 0.45; bin 0.3: 1 at 0.3, wrong -> gap 0.3.
    confidences = [0.95, 0.95, 0.55, 0.55, 0.3]
    correct = [True, False, True, True, False]

    expected = (2 * 0.45 + 2 * 0.45 + 1 * 0.3) / 5
    assert expected_calibration_error(confidences, correct) == pytest.approx(expected)


def test_no_predictions_no_error_and_lengths_must_match() -> None:
    assert expected_calibration_error([], []) == 0.0
    with pytest.raises(ValueError, match="differ in length"):
        expected_calibration_error([0.5], [])


def test_field_quality_counts_what_the_band_lets_through() -> None:
    q = field_quality(
        "root_cause", ["a", "b", "a", "c"], [0.99, 0.95, 0.5, 0.91], ["a", "a", "a", "c"], band=0.9
    )

    assert (q.examples, q.accuracy) == (4, 0.75)
    assert q.coverage_above_band == 0.75
    assert q.accuracy_above_band == pytest.approx(2 / 3)
    assert field_quality("x", ["a"], [0.2], ["a"], 0.9).accuracy_above_band is None
