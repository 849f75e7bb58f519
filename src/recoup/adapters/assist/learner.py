"""The learner behind the assist port: scikit-learn, text features and a linear model with
calibrated probabilities. No GPU, nothing downloaded.

Per field: TF-IDF over a case's document (its structured fields as ``name=value`` tokens and
its free text, words and word pairs), a logistic regression, and ``CalibratedClassifierCV``
(three folds; isotonic from ``ISOTONIC_FROM`` examples, sigmoid below) so that a suggestion's
confidence can be read as a probability and held against the band. A value seen fewer than
``MIN_PER_CLASS`` times cannot be calibrated and is left out of that field's training (it is
never suggested until it has been seen enough).
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from sklearn.calibration import CalibratedClassifierCV  # type: ignore[import-untyped]
from sklearn.exceptions import ConvergenceWarning  # type: ignore[import-untyped]
from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.pipeline import Pipeline  # type: ignore[import-untyped]

from recoup.domain.assist.features import Features
from recoup.domain.assist.labels import LabeledExample
from recoup.domain.assist.model import Prediction

FOLDS = 3
MIN_PER_CLASS = FOLDS
SEED = 7


@dataclass
class SklearnModel:
    """One pipeline per field it could learn; picklable (saved by ``files.ModelDir``)."""

    pipelines: dict[str, Pipeline] = field(default_factory=dict)
    label_counts: dict[str, int] = field(default_factory=dict)

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.pipelines)

    def predict(self, features: Sequence[Features]) -> dict[str, list[Prediction]]:
        if not features:
            return {name: [] for name in self.pipelines}
        docs = [f.document() for f in features]
        out: dict[str, list[Prediction]] = {}
        for name, pipeline in self.pipelines.items():
            probabilities = pipeline.predict_proba(docs)
            classes = pipeline.classes_
            best = probabilities.argmax(axis=1)
            out[name] = [
                Prediction(str(classes[i]), float(row[i]))
                for i, row in zip(best, probabilities, strict=True)
            ]
        return out


ISOTONIC_FROM = 1_000
"""From this many examples a field is calibrated by isotonic regression (closer to the truth,
but it overfits small samples); below, by a sigmoid."""


def _pipeline(examples: int) -> Pipeline:
    method = "isotonic" if examples >= ISOTONIC_FROM else "sigmoid"
    return Pipeline(
        [
            (
                "tfidf",
                TfidfVectorizer(
                    token_pattern=r"\S+",  # noqa: S106 - a regex, not a secret
                    ngram_range=(1, 2),
                    min_df=2,
                    sublinear_tf=True,
                    lowercase=True,
                ),
            ),
            (
                "model",
                CalibratedClassifierCV(
                    LogisticRegression(C=4.0, max_iter=2_000), method=method, cv=FOLDS
                ),
            ),
        ]
    )


class SklearnLearner:
    def fit(self, examples: Sequence[LabeledExample], fields: Sequence[str]) -> SklearnModel:
        model = SklearnModel()
        for name in fields:
            rows = [(e.features.document(), e.labels[name]) for e in examples if name in e.labels]
            counts = Counter(label for _, label in rows)
            rows = [(doc, label) for doc, label in rows if counts[label] >= MIN_PER_CLASS]
            if len({label for _, label in rows}) < 2:
                continue
            pipeline = _pipeline(len(rows))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                pipeline.fit([doc for doc, _ in rows], [label for _, label in rows])
            model.pipelines[name] = pipeline
            model.label_counts[name] = len(rows)
        return model


__all__ = ["SklearnLearner", "SklearnModel"]
