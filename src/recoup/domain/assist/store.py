"""What assist needs from the store; the SQL unit of work implements it (``AssistMixin``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from recoup.domain.assist.model import Suggestion, Verdict
from recoup.domain.assist.spikes import Crossing, Failure
from recoup.domain.cases.case import Case
from recoup.domain.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class CaseMaterial:
    """A case with the findings and events a model or a summary reads."""

    case: Case
    findings: list[dict[str, Any]]
    events: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ModelRecord:
    version: str
    created_at: datetime
    created_by: str
    label_count: int
    source: str
    fields: list[str]
    digest: str
    band: float
    metrics: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "label_count": self.label_count,
            "source": self.source,
            "fields": self.fields,
            "band": self.band,
            "metrics": self.metrics,
        }


class AssistStore(Protocol):
    def assist_resolved_case_ids(self, limit: int) -> list[str]:
        """Resolved or closed cases, most recently resolved first."""
        ...

    def assist_material(self, case_ids: Sequence[str]) -> dict[str, CaseMaterial]: ...

    def assist_unsuggested_open_cases(self, limit: int) -> list[str]:
        """Open cases without any suggestion yet, oldest first."""
        ...

    def assist_decisions(self, case_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """Per case, the fields an operator decided and the value they chose."""
        ...

    def assist_add_model(self, record: ModelRecord) -> None: ...

    def assist_models(self, limit: int) -> list[ModelRecord]:
        """Newest first."""
        ...

    def assist_suggestions(self, case_id: str) -> list[Suggestion]: ...

    def assist_put_suggestions(self, suggestions: Sequence[Suggestion]) -> list[Suggestion]:
        """Store these, replacing the undecided suggestion of the same case and field; a
        decided one is kept. Returns those written."""
        ...

    def assist_decide(
        self, suggestion: Suggestion, verdict: Verdict, value: str, actor: str, at: datetime
    ) -> Suggestion:
        """Record an operator's verdict (inserting an ``operator`` row when there was no
        suggestion); a concurrent decision makes it refuse (ConflictError)."""
        ...

    def assist_rates(self) -> list[dict[str, Any]]:
        """Counts per model version, field, status and verdict."""
        ...

    def assist_failures(
        self, since: datetime, until: datetime, exclude: Sequence[str]
    ) -> list[Failure]: ...

    def assist_crossings(self) -> dict[str, Crossing]: ...

    def assist_save_crossings(self, crossings: Sequence[Crossing]) -> None: ...


class AssistUnitOfWork(UnitOfWork, AssistStore, Protocol):
    pass


AssistUow = Callable[[], AssistUnitOfWork]


__all__ = ["AssistStore", "AssistUnitOfWork", "AssistUow", "CaseMaterial", "ModelRecord"]
