"""Assist over HTTP: suggestions on a case, operators' verdicts, summaries, model versions.

- ``GET /api/v1/cases/{id}/suggestions`` (read): the stored suggestions and whether a person
  must look; ``POST`` the same path (work): suggest now with the newest model
- ``POST /api/v1/cases/{id}/suggestions/{field}/accept`` (work) and ``.../override`` (work,
  body ``{"value": ...}``): the operator's verdict, a label for the next training
- ``GET /api/v1/cases/{id}/summary`` (read): the deterministic hand-off summary
- ``GET /api/v1/assist/models`` (read): model versions with their held-out metrics, and the
  accept and override rates per model and field

Suggestions are advice: none of these change a case's type, tier, owner, queue or SLA.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from recoup.adapters.assist.wiring import assist_options, assist_tools
from recoup.domain.assist.model import Suggestion
from recoup.entrypoints.api.deps import AppDep, PrincipalDep, Reader, Worker
from recoup.entrypoints.api.v1.common import ITEM_ERRORS, READ_ERRORS, WRITE_ERRORS, Text
from recoup.services import assist as assist_service

router = APIRouter()

CaseId = Annotated[Text, Path(max_length=64, description="a case id or a unique start of it")]
FieldName = Annotated[Literal["type", "owner_team", "root_cause", "next_action"], Path()]


class SuggestionOut(BaseModel):
    field: str
    value: str
    confidence: float = Field(description="calibrated probability, 0..1")
    model_version: str = Field(description="the model, or `operator` for a value set by hand")
    status: str = Field(
        description="auto_accepted (open field, at or above the band), "
        "needs_person (below the band) or advisory (a field policy decided)"
    )
    agrees_with_policy: bool | None
    verdict: str | None = Field(description="accepted, overridden or null")
    final_value: str | None
    value_in_force: str | None = Field(description="what the case carries for this field")
    decided_by: str | None
    created_at: datetime
    decided_at: datetime | None


class AdviceOut(BaseModel):
    case_id: str
    needs_person: bool
    model_version: str | None
    note: str | None
    suggestions: list[SuggestionOut]


class OverrideIn(BaseModel):
    value: Text = Field(min_length=1, max_length=100)


class SummaryOut(BaseModel):
    case_id: str
    what_happened: str
    money_at_stake: str
    what_was_tried: list[str]
    what_is_next: str
    text: str


class ModelOut(BaseModel):
    version: str
    created_at: datetime
    created_by: str
    label_count: int
    source: str
    fields: list[str]
    band: float
    metrics: dict[str, Any]


class ModelsOut(BaseModel):
    models: list[ModelOut]
    rates: list[dict[str, Any]]


def _advice(advice: assist_service.CaseAdvice) -> dict[str, Any]:
    return advice.as_dict()


def _one(s: Suggestion) -> dict[str, Any]:
    return s.as_dict()


@router.get(
    "/api/v1/cases/{case_id}/suggestions",
    response_model=AdviceOut,
    dependencies=[Reader],
    responses=ITEM_ERRORS,
    tags=["assist"],
    summary="A case's suggestions, with model version and confidence",
)
def get_suggestions(app: AppDep, case_id: CaseId) -> dict[str, Any]:
    return _advice(assist_service.suggestions_for(case_id, app.reader))


@router.post(
    "/api/v1/cases/{case_id}/suggestions",
    response_model=AdviceOut,
    dependencies=[Worker],
    responses=WRITE_ERRORS,
    tags=["assist"],
    summary="Suggest now with the newest model (stored; advice only)",
)
def make_suggestions(app: AppDep, case_id: CaseId) -> dict[str, Any]:
    settings = app.settings.assist
    (advice,) = assist_service.suggest_cases(
        [case_id],
        uow=app.uow,
        clock=app.clock,
        tools=assist_tools(settings),
        options=assist_options(settings),
    )
    return _advice(advice)


@router.post(
    "/api/v1/cases/{case_id}/suggestions/{field}/accept",
    response_model=SuggestionOut,
    dependencies=[Worker],
    responses=WRITE_ERRORS,
    tags=["assist"],
    summary="Accept a suggestion (a label for the next training)",
)
def accept(app: AppDep, who: PrincipalDep, case_id: CaseId, field: FieldName) -> dict[str, Any]:
    return _one(
        assist_service.accept_suggestion(
            case_id, field, actor=who.actor, uow=app.uow, clock=app.clock
        )
    )


@router.post(
    "/api/v1/cases/{case_id}/suggestions/{field}/override",
    response_model=SuggestionOut,
    dependencies=[Worker],
    responses=WRITE_ERRORS,
    tags=["assist"],
    summary="Put the operator's own value in place of a suggestion",
)
def override(
    app: AppDep, who: PrincipalDep, case_id: CaseId, field: FieldName, body: OverrideIn
) -> dict[str, Any]:
    return _one(
        assist_service.override_suggestion(
            case_id, field, body.value, actor=who.actor, uow=app.uow, clock=app.clock
        )
    )


@router.get(
    "/api/v1/cases/{case_id}/summary",
    response_model=SummaryOut,
    dependencies=[Reader],
    responses=ITEM_ERRORS,
    tags=["assist"],
    summary="The hand-off summary: what happened, money, what was tried, what is next",
)
def summary(app: AppDep, case_id: CaseId) -> dict[str, Any]:
    return assist_service.summarise_case(case_id, app.reader, now=app.clock.now()).as_dict()


@router.get(
    "/api/v1/assist/models",
    response_model=ModelsOut,
    dependencies=[Reader],
    responses=READ_ERRORS,
    tags=["assist"],
    summary="Model versions with held-out metrics; accept and override rates",
)
def models(app: AppDep) -> dict[str, Any]:
    found = assist_service.list_models(reader=app.reader)
    return {
        "models": [{**m.as_dict(), "created_at": m.created_at} for m in found],
        "rates": assist_service.rates(reader=app.reader),
    }
