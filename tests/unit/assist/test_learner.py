"""The scikit-learn learner on generated history, and the model files' trust check."""

from __future__ import annotations

from pathlib import Path

import pytest

from recoup.adapters.assist.files import ModelDir
from recoup.adapters.assist.history import generate_history
from recoup.adapters.assist.learner import SklearnLearner
from recoup.domain.assist.labels import FIELDS
from recoup.domain.errors import ConfigurationError
from recoup.services.assist import quality, split


def test_generated_history_is_deterministic_and_noisy() -> None:
    a, b = generate_history(500, seed=3), generate_history(500, seed=3)

    assert a == b
    assert a != generate_history(500, seed=4)
    assert {e.labels["type"] for e in a} >= {"payment_failed", "bank_rejected", "dispute_opened"}
    # The same reason code means different root causes, told apart by the text only.
    ac01 = {e.labels["root_cause"] for e in a if e.features.fields.get("reason_code") == "iso:AC01"}
    assert {"invalid_account_number", "onboarding_batch_error"} <= ac01


@pytest.mark.slow
def test_held_out_quality_and_auto_accepted_suggestions_are_right(tmp_path: Path) -> None:
    train, test = split(generate_history(1500, seed=5), 0.25)
    model = SklearnLearner().fit(train, FIELDS)

    scores = quality(model, test, band=0.9)

    assert set(scores) == set(FIELDS)
    for q in scores.values():
        assert q.accuracy > 0.85
        assert q.ece < 0.06
        assert q.coverage_above_band > 0.4
        assert q.accuracy_above_band is not None
        assert q.accuracy_above_band >= 0.95


def test_a_field_with_one_value_or_rare_values_is_not_learned() -> None:
    examples = generate_history(60, seed=1)
    one = [type(e)(e.key, e.features, {**e.labels, "owner_team": "treasury"}) for e in examples]

    model = SklearnLearner().fit(one, ["owner_team", "type"])

    assert model.fields == ("type",)
    assert model.label_counts["type"] <= 60


def test_model_files_round_trip_and_refuse_a_changed_file(tmp_path: Path) -> None:
    files = ModelDir(tmp_path)
    model = SklearnLearner().fit(generate_history(120, seed=2), ["type"])
    digest = files.save(model, "m0001-x", {"fields": {}})
    features = [e.features for e in generate_history(5, seed=9)]

    loaded = files.load("m0001-x", digest)
    assert loaded.predict(features) == model.predict(features)
    (tmp_path / "m0001-x" / "model.joblib").write_bytes(b"not our pickle")
    with pytest.raises(ConfigurationError, match="SHA-256 differs"):
        files.load("m0001-x", digest)
    with pytest.raises(ConfigurationError, match="bad model version"):
        files.load("../etc", digest)
