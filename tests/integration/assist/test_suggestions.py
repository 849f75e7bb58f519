"""Learning from operators on the store (SQLite and PostgreSQL): nothing before enough labels,
then a versioned model, stored suggestions with version and confidence, accept and override
recorded and counted, and the choices feed the next training."""

from __future__ import annotations

from pathlib import Path

import pytest

from recoup.adapters.assist.files import ModelDir
from recoup.adapters.assist.learner import SklearnLearner
from recoup.bootstrap import App
from recoup.domain.assist.model import SuggestionStatus, Verdict
from recoup.domain.errors import ConflictError, InvalidInputError, NotFoundError
from recoup.services.assist import (
    AssistTools,
    accept_suggestion,
    labeled_examples,
    list_models,
    override_suggestion,
    rates,
    suggest_cases,
    suggestions_for,
    train_model,
)
from tests.integration.assist.support import (
    failure,
    open_cases,
    options,
    resolve_with_choices,
)


def history(app: App, per_decline: int = 12) -> None:
    records = [
        failure(f"{d[:3]}{i}", d)
        for d in ("insufficient_funds", "expired_card")
        for i in range(per_decline)
    ]
    cases = open_cases(app, records)
    for rec in records:
        resolve_with_choices(app, cases[f"pi_{rec['external_id']}"], rec["reason_code"][7:])


def test_nothing_is_learned_or_suggested_before_enough_labels(app: App, tmp_path: Path) -> None:
    models = tmp_path / "models"
    tools = AssistTools(SklearnLearner(), ModelDir(models))
    cases = open_cases(app, [failure("x1", "expired_card")])
    (case,) = cases.values()

    with pytest.raises(ConflictError, match="only 0 labeled cases; assist learns from 200"):
        train_model(uow=app.uow, clock=app.clock, tools=tools, options=options(200))
    (advice,) = suggest_cases(
        [case.id], uow=app.uow, clock=app.clock, tools=tools, options=options(200)
    )

    assert advice.suggestions == []
    assert advice.note is not None
    assert "200 labeled cases" in advice.note
    assert suggestions_for(case.id, app.reader).suggestions == []
    assert list_models(reader=app.reader) == []
    assert not models.exists()


def test_operators_choices_become_labels(app: App) -> None:
    history(app, per_decline=3)

    with app.reader() as tx:
        examples = labeled_examples(tx, 100)

    assert len(examples) == 6
    expired = [e for e in examples if e.labels["root_cause"] == "expired_card"]
    assert len(expired) == 3
    assert expired[0].labels == {
        "type": "payment_failed",
        "owner_team": "payments_ops",
        "root_cause": "expired_card",
        "next_action": "request_card_update",
    }
    assert expired[0].features.fields["reason_code"] == "stripe:expired_card"
    assert "expired" in expired[0].features.text.lower()


def test_train_suggest_accept_override_on_the_store(app: App, tmp_path: Path) -> None:
    tools = AssistTools(SklearnLearner(), ModelDir(tmp_path))
    history(app)
    report = train_model(
        uow=app.uow, clock=app.clock, tools=tools, options=options(20), actor="user:ann"
    )
    version = report.model.version
    # Every resolved case is a payment_failed of payments_ops: one value, nothing to learn.
    assert report.model.fields == ["root_cause", "next_action"]
    assert report.model.label_count == 24
    assert (tmp_path / version / "model.joblib").is_file()
    assert (tmp_path / version / "metrics.json").is_file()
    assert list_models(reader=app.reader)[0].metrics["fields"]["root_cause"]["examples"] > 0

    (case,) = open_cases(app, [failure("new1", "expired_card")]).values()
    (advice,) = suggest_cases(
        [case.id], uow=app.uow, clock=app.clock, tools=tools, options=options(20)
    )
    by_field = {s.field: s for s in advice.suggestions}
    assert set(by_field) == {"root_cause", "next_action"}
    cause = by_field["root_cause"]
    assert (cause.value, cause.model_version) == ("expired_card", version)
    assert 0.5 < cause.confidence <= 1.0
    expected = (
        SuggestionStatus.AUTO_ACCEPTED if cause.confidence >= 0.9 else SuggestionStatus.NEEDS_PERSON
    )
    assert cause.status is expected
    with app.reader() as tx:
        audit = [a.action for a in tx.case_audit(case.id)]
    assert audit.count("assist.suggested") == 1

    # Suggesting again with the same model changes nothing and writes no audit.
    suggest_cases([case.id], uow=app.uow, clock=app.clock, tools=tools, options=options(20))
    with app.reader() as tx:
        assert [a.action for a in tx.case_audit(case.id)].count("assist.suggested") == 1

    accepted = accept_suggestion(
        case.id, "root_cause", actor="user:bob", uow=app.uow, clock=app.clock
    )
    assert (accepted.verdict, accepted.final_value, accepted.decided_by) == (
        Verdict.ACCEPTED,
        "expired_card",
        "user:bob",
    )
    with pytest.raises(ConflictError, match="already accepted by user:bob"):
        accept_suggestion(case.id, "root_cause", actor="user:eve", uow=app.uow, clock=app.clock)
    with pytest.raises(InvalidInputError, match="lower-case word"):
        override_suggestion(
            case.id, "next_action", "Call Them!", actor="user:bob", uow=app.uow, clock=app.clock
        )
    with pytest.raises(NotFoundError, match="no type suggestion"):
        accept_suggestion(case.id, "type", actor="user:bob", uow=app.uow, clock=app.clock)
    overridden = override_suggestion(
        case.id, "next_action", "contact_customer", actor="user:bob", uow=app.uow, clock=app.clock
    )
    assert (overridden.verdict, overridden.final_value) == (Verdict.OVERRIDDEN, "contact_customer")
    assert overridden.value_in_force == "contact_customer"

    (row,) = [r for r in rates(reader=app.reader) if r["field"] == "next_action"]
    assert (row["total"], row["accepted"], row["overridden"], row["override_rate"]) == (
        1,
        0,
        1,
        1.0,
    )
    with app.reader() as tx:
        audit = [a.action for a in tx.case_audit(case.id)]
    assert audit.count("assist.accepted") == 1
    assert audit.count("assist.overridden") == 1
    with app.reader() as tx:
        before = len(labeled_examples(tx, 1000))
    # Once resolved, the operator's choices are labels of the next training.
    from recoup.services.cases import move_case

    move_case(
        case.id,
        "resolved",
        "done",
        actor="user:bob",
        uow=app.uow,
        clock=app.clock,
        resolution="written_off",
    )
    with app.reader() as tx:
        examples = {e.key: e for e in labeled_examples(tx, 1000)}
    assert len(examples) == before + 1
    assert examples[case.id].labels["next_action"] == "contact_customer"
    assert examples[case.id].labels["root_cause"] == "expired_card"
