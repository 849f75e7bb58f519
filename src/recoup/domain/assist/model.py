"""The learning ports and the stored suggestion.

The learning library lives in ``recoup.adapters.assist``; the services see a :class:`Learner`
that fits a :class:`SuggestionModel` from labeled examples and :class:`ModelFiles` that keep
fitted models on disk by version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from recoup.domain.assist.features import Features
from recoup.domain.assist.labels import LabeledExample


@dataclass(frozen=True, slots=True)
class Prediction:
    """The most likely value of one field and its calibrated probability."""

    value: str
    confidence: float


class SuggestionModel(Protocol):
    """A fitted model: per field it learned, the best value and its probability."""

    @property
    def fields(self) -> tuple[str, ...]: ...

    def predict(self, features: Sequence[Features]) -> dict[str, list[Prediction]]: ...


class Learner(Protocol):
    def fit(self, examples: Sequence[LabeledExample], fields: Sequence[str]) -> SuggestionModel:
        """Fit one classifier per field on the examples that have that label."""
        ...


class ModelFiles(Protocol):
    """Fitted models as files under a models directory, one folder per version."""

    def save(self, model: SuggestionModel, version: str, metrics: Mapping[str, Any]) -> str:
        """Write the model and its metrics; return the model file's SHA-256."""
        ...

    def load(self, version: str, digest: str) -> SuggestionModel:
        """Read a model back, refusing a file whose SHA-256 is not ``digest``."""
        ...


class SuggestionStatus(StrEnum):
    """What the guardrails made of a suggestion."""

    AUTO_ACCEPTED = "auto_accepted"
    """An open field, at or above the band: filled in, an operator may still override it."""
    NEEDS_PERSON = "needs_person"
    """Below the band: shown as a hint, a person decides."""
    ADVISORY = "advisory"
    """A field policy decided: shown next to the decision, never applied."""


class Verdict(StrEnum):
    """What an operator did with a suggestion."""

    ACCEPTED = "accepted"
    OVERRIDDEN = "overridden"


@dataclass(frozen=True, slots=True)
class Suggestion:
    case_id: str
    field: str
    value: str
    confidence: float
    model_version: str
    status: SuggestionStatus
    created_at: datetime
    agrees_with_policy: bool | None = None
    """For a policy field: whether the model agrees with what the case says."""
    verdict: Verdict | None = None
    final_value: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None

    @property
    def value_in_force(self) -> str | None:
        """The value the case carries for this field: the operator's, else an auto-accepted
        suggestion's, else none (advice and low-confidence hints fill nothing)."""
        if self.verdict is not None:
            return self.final_value
        if self.status is SuggestionStatus.AUTO_ACCEPTED:
            return self.value
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "field": self.field,
            "value": self.value,
            "confidence": round(self.confidence, 4),
            "model_version": self.model_version,
            "status": self.status.value,
            "agrees_with_policy": self.agrees_with_policy,
            "verdict": None if self.verdict is None else self.verdict.value,
            "final_value": self.final_value,
            "value_in_force": self.value_in_force,
            "decided_by": self.decided_by,
            "created_at": self.created_at.isoformat(),
            "decided_at": None if self.decided_at is None else self.decided_at.isoformat(),
        }


__all__ = [
    "Learner",
    "ModelFiles",
    "Prediction",
    "Suggestion",
    "SuggestionModel",
    "SuggestionStatus",
    "Verdict",
]
