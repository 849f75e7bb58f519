"""A suggestion cannot change a policy decision: the most confident model, disagreeing with
policy on every field it decided, suggests and is accepted, and the case is as policy left
it, on SQLite and PostgreSQL."""

from __future__ import annotations

from recoup.bootstrap import App
from recoup.domain.assist.guardrails import policy_view
from recoup.domain.assist.model import SuggestionStatus
from recoup.domain.detection.taxonomy import Tier
from recoup.services.assist import (
    AssistTools,
    accept_suggestion,
    suggest_cases,
    suggest_new_cases,
    summarise_case,
    train_model,
)
from tests.integration.assist.support import (
    ConfidentLearner,
    MemoryFiles,
    failure,
    open_cases,
    options,
    resolve_with_choices,
)

WRONG = {
    "type": "sanctions_alert",
    "owner_team": "fraud",
    "root_cause": "stolen_card",
    "next_action": "block_and_review",
}


def test_a_suggestion_cannot_change_a_policy_decision(app: App) -> None:
    tools = AssistTools(ConfidentLearner(WRONG), MemoryFiles())
    cases = open_cases(
        app,
        [failure("old", "expired_card"), failure("big", "insufficient_funds", amount="25000.00")],
    )
    resolve_with_choices(app, cases["pi_old"], "expired_card")
    train_model(uow=app.uow, clock=app.clock, tools=tools, options=options(1))
    case = cases["pi_big"]
    assert (case.tier, case.owner_team, case.queue) == (
        Tier.GUIDED,
        "payments_ops",
        "payments_ops.system",
    )
    decided = policy_view(case)

    (advice,) = suggest_cases(
        [case.id], uow=app.uow, clock=app.clock, tools=tools, options=options(1)
    )
    for name in ("type", "owner_team", "root_cause", "next_action"):
        accept_suggestion(case.id, name, actor="user:ann", uow=app.uow, clock=app.clock)

    by_field = {s.field: s for s in advice.suggestions}
    assert by_field["owner_team"].status is SuggestionStatus.ADVISORY
    assert by_field["owner_team"].agrees_with_policy is False
    assert by_field["type"].status is SuggestionStatus.ADVISORY
    assert by_field["root_cause"].status is SuggestionStatus.AUTO_ACCEPTED
    assert advice.needs_person  # advice that disagrees with policy goes to a person
    with app.reader() as tx:
        after = tx.find_case(case.id)
    assert policy_view(after) == decided
    assert after.version == case.version
    assert (after.tier, after.owner_team, after.queue) == (
        Tier.GUIDED,
        "payments_ops",
        "payments_ops.system",
    )
    assert after.sla_due_at == case.sla_due_at
    assert after.decision == case.decision
    # The summary names the root cause an operator confirmed, and policy's queue.
    text = summarise_case(case.id, app.reader).text()
    assert "root cause stolen card" in text
    assert "payments_ops.system" in text


def test_new_open_cases_get_suggestions_once_and_ended_cases_none(app: App) -> None:
    tools = AssistTools(ConfidentLearner(WRONG), MemoryFiles())
    cases = open_cases(
        app, [failure("old", "expired_card"), failure("n1", "expired_card"),
              failure("n2", "insufficient_funds")],
    )  # fmt: skip
    resolve_with_choices(app, cases["pi_old"], "expired_card")
    assert suggest_new_cases(uow=app.uow, clock=app.clock, tools=tools, options=options(1)) == 0
    train_model(uow=app.uow, clock=app.clock, tools=tools, options=options(1))

    first = suggest_new_cases(uow=app.uow, clock=app.clock, tools=tools, options=options(1))
    second = suggest_new_cases(uow=app.uow, clock=app.clock, tools=tools, options=options(1))
    ended, fresh = suggest_cases(
        [cases["pi_old"].id, cases["pi_n1"].id], uow=app.uow, clock=app.clock, tools=tools,
        options=options(1),
    )  # fmt: skip

    assert (first, second) == (2, 0)
    assert ended.suggestions == []
    assert ended.note == "case is resolved: not suggested"
    assert len(fresh.suggestions) == 4
