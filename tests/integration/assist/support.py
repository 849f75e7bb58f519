"""What the assist integration tests share: cases opened through ingest, resolved by an
operator with their choices, and in-memory model files."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from recoup.bootstrap import App
from recoup.domain.assist.features import Features
from recoup.domain.assist.labels import LabeledExample
from recoup.domain.assist.model import Prediction, SuggestionModel
from recoup.domain.cases.case import Case
from recoup.services.assist import AssistOptions, override_suggestion
from recoup.services.cases import move_case
from recoup.services.ingest import ingest_records
from tests.helpers import raw, record

DECLINES = {
    "insufficient_funds": (
        "Your card has insufficient funds.",
        "insufficient_funds",
        "retry_later",
    ),
    "expired_card": ("Your card has expired.", "expired_card", "request_card_update"),
}


def failure(external_id: str, decline: str, amount: str = "40.00") -> dict[str, Any]:
    rec = record(
        external_id,
        "payment.failed",
        amount=amount,
        reason=f"stripe:{decline}",
        payment=f"pi_{external_id}",
        customer=f"cus_{external_id}",
    )
    rec["reason_message"] = DECLINES[decline][0]
    return rec


def open_cases(app: App, records: Sequence[dict[str, Any]]) -> dict[str, Case]:
    """Ingest ``records``; the open cases by entity key."""
    ingest_records(
        raw(list(records)),
        uow=app.uow,
        clock=app.clock,
        detectors=app.detectors,
        label="assist",
        policy=app.policy,
    )
    with app.reader() as tx:
        return {c.entity_key: c for c in tx.list_cases({"status": "open"}, 10_000)}


def resolve_with_choices(app: App, case: Case, decline: str) -> None:
    """An operator sets root cause and next action, then resolves the case."""
    _, cause, action = DECLINES[decline]
    override_suggestion(
        case.id, "root_cause", cause, actor="user:ann", uow=app.uow, clock=app.clock
    )
    override_suggestion(
        case.id, "next_action", action, actor="user:ann", uow=app.uow, clock=app.clock
    )
    move_case(
        case.id,
        "resolved",
        "done",
        actor="user:ann",
        uow=app.uow,
        clock=app.clock,
        resolution="written_off",
    )


def options(min_labels: int) -> AssistOptions:
    return AssistOptions(min_labels=min_labels, band=0.9, holdout=0.2)


class MemoryFiles:
    """Model files in memory, with the same digest check as the real ones."""

    def __init__(self) -> None:
        self.models: dict[str, SuggestionModel] = {}

    def save(self, model: SuggestionModel, version: str, metrics: Mapping[str, Any]) -> str:
        self.models[version] = model
        return f"digest-{version}"

    def load(self, version: str, digest: str) -> SuggestionModel:
        assert digest == f"digest-{version}"
        return self.models[version]


class ConfidentModel:
    """Always the same values, at 99%: the strongest advice a model can give."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = dict(values)

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.values)

    def predict(self, features: Sequence[Features]) -> dict[str, list[Prediction]]:
        return {k: [Prediction(v, 0.99)] * len(features) for k, v in self.values.items()}


class ConfidentLearner:
    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = values

    def fit(self, examples: Sequence[LabeledExample], fields: Sequence[str]) -> ConfidentModel:
        return ConfidentModel({k: v for k, v in self.values.items() if k in fields})
