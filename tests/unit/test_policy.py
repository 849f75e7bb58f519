"""The policy engine: the default pack, the trace, validation of a broken pack, explain()."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from recoup.adapters.policy import DEFAULT_POLICY_PATH, PolicyError, ZenPolicy, load_policy
from recoup.bootstrap import bootstrap
from recoup.domain.detection.taxonomy import TAXONOMY, FindingType, Tier
from recoup.domain.errors import ConfigurationError
from recoup.domain.policy import Decision, PolicyInput, TraceStep, explain
from recoup.settings import DatabaseSettings, PolicySettings, Settings


@pytest.fixture(scope="module")
def policy() -> ZenPolicy:
    return load_policy(DEFAULT_POLICY_PATH)


def given(spec: FindingType, amount: str | None = "25.00", **kw: Any) -> PolicyInput:
    return PolicyInput(
        type=spec.name, category=spec.category.value, kind=spec.kind.value,
        breakpoint=spec.breakpoint.value, entity_kind=spec.entity, amount=amount,
        currency="EUR", **{"tier_hint": spec.tier.value, **kw},
    )  # fmt: skip


@pytest.mark.parametrize("name", sorted(TAXONOMY))
def test_default_pack_reproduces_the_taxonomy_at_a_small_amount(
    policy: ZenPolicy, name: str
) -> None:
    spec = TAXONOMY[name]
    decision = policy.decide(given(spec))
    assert (decision.tier, decision.owner_team, decision.queue) == (
        spec.tier,
        spec.owner_team,
        spec.queue,
    )
    assert (decision.sla_goal, decision.sla_deadline) == (spec.sla_goal, spec.sla_deadline)
    assert decision.pauses_automation == spec.pauses_automation
    assert decision.business_impact == "low"


def test_business_impact_follows_amount_bands_and_key_accounts(policy: ZenPolicy) -> None:
    spec = TAXONOMY["refund_failed"]
    impacts = [
        policy.decide(given(spec, a)).business_impact
        for a in ("99.99", "100", "999", "1000", "9999.99", "10000")
    ]
    assert impacts == ["low", "medium", "medium", "high", "high", "critical"]
    assert policy.decide(given(spec, None)).business_impact == "low"
    assert policy.decide(given(spec, "250", customer_tier="vip")).business_impact == "high"
    assert policy.decide(given(spec, "250", supplier_tier="strategic")).business_impact == "high"


def test_critical_amount_pauses_automation_and_is_never_straight_through(policy: ZenPolicy) -> None:
    decision = policy.decide(given(TAXONOMY["payment_failed"], "25000"))
    assert (decision.tier, decision.pauses_automation, decision.urgency) == (Tier.GUIDED, True, 85)
    assert decision.control_sensitivity == "high"


def test_low_detector_confidence_pauses_automation(policy: ZenPolicy) -> None:
    spec = TAXONOMY["duplicate_invoice"]
    assert policy.decide(given(spec)).pauses_automation is False
    assert policy.decide(given(spec, confidence=1.0)).pauses_automation is False
    unsure = policy.decide(given(spec, confidence=0.75))
    assert unsure.pauses_automation is True
    step = next(s for s in unsure.trace if s.table == "pause")
    assert (step.rule_id, step.inputs) == ("pause.low_confidence", {"confidence": 0.75})


def test_policy_and_system_exceptions_never_share_a_queue(policy: ZenPolicy) -> None:
    queues = {(policy.decide(given(s)).queue, s.kind.value) for s in TAXONOMY.values()}
    assert all(queue.endswith(f".{kind}") for queue, kind in queues)


def test_no_tier_hint_falls_back_to_the_type(policy: ZenPolicy) -> None:
    spec = TAXONOMY["fee_mismatch"]
    assert policy.decide(given(spec, tier_hint=None)).tier is Tier.STRAIGHT_THROUGH
    assert policy.decide(given(TAXONOMY["order_stalled"], tier_hint=None)).tier is Tier.GUIDED


def test_trace_names_the_table_and_row_that_decided_each_output(policy: ZenPolicy) -> None:
    decision = policy.decide(given(TAXONOMY["sanctions_alert"], None))
    assert [s.table for s in decision.trace] == [
        "impact",
        "tier",
        "owner",
        "sla",
        "pause",
        "control",
        "urgency",
        "writeoff",
    ]
    tier = decision.step_for("tier")
    assert tier == TraceStep(
        "tier", "tier.judgement_types", 0, {"type": "sanctions_alert"}, {"tier": "human"}
    )
    impact = decision.step_for("business_impact")
    assert impact is not None
    assert (impact.rule_id, impact.rule_index, impact.inputs) == ("impact.low", 6, {})


def test_small_straight_through_failures_are_written_off(policy: ZenPolicy) -> None:
    spec = TAXONOMY["payment_failed"]
    assert policy.decide(given(spec, "4.99")).write_off is True
    assert policy.decide(given(spec, "5.00")).write_off is False
    assert policy.decide(given(TAXONOMY["refund_failed"], "1.00")).write_off is False


def test_explain_says_each_output_in_plain_words(policy: ZenPolicy) -> None:
    lines = explain(policy.decide(given(TAXONOMY["sanctions_alert"], None)))
    assert "tier human: table 'tier' row 1 (type = sanctions_alert)" in lines
    assert "business impact low: table 'impact' row 7 (otherwise)" in lines
    assert "SLA goal 2 h: table 'sla' row 6 (type = sanctions_alert)" in lines
    assert lines[-1] == "queue compliance.policy: owner team and kind (policy)"


def test_explain_names_boolean_conditions() -> None:
    decision = Decision(Tier.GUIDED, "ops", "system", timedelta(hours=1), timedelta(hours=2), False,
                        10, "high", "low", [TraceStep("impact", "impact.key_high", 1,
                        {"amount": 1500, "key_account": True},
                        {"business_impact": "high"})])  # fmt: skip
    assert (
        explain(decision)[0]
        == "business impact high: table 'impact' row 2 (amount = 1500, key_account)"
    )


def broken_pack(tmp_path: Path, edit: Any) -> Path:
    folder = tmp_path / "pack"
    shutil.copytree(DEFAULT_POLICY_PATH, folder)
    graph = json.loads((folder / "decide.json").read_text())
    edit(graph)
    (folder / "decide.json").write_text(json.dumps(graph))
    return folder


def table(graph: dict[str, Any], name: str) -> dict[str, Any]:
    return next(n for n in graph["nodes"] if n["name"] == name)


def test_a_cell_that_does_not_compile_names_file_node_and_rule(tmp_path: Path) -> None:
    def edit(graph: dict[str, Any]) -> None:
        table(graph, "tier")["content"]["rules"][2]["tier.in.business_impact"] = '"critical'

    with pytest.raises(PolicyError) as caught:
        load_policy(broken_pack(tmp_path, edit))
    assert caught.value.problems[0].startswith(
        "decide.json, node 'tier', rule 'tier.critical_impact' (row 3): "
        "column 'tier.in.business_impact': cannot read '\"critical'"
    )


def test_a_bad_output_value_names_the_rule_that_set_it(tmp_path: Path) -> None:
    def edit(graph: dict[str, Any]) -> None:
        table(graph, "urgency")["content"]["rules"][0]["urgency.out.urgency"] = "900"

    with pytest.raises(PolicyError) as caught:
        load_policy(broken_pack(tmp_path, edit))
    assert caught.value.problems[0] == (
        "decide.json, node 'urgency', rule 'urgency.sanctions_fraud' (row 1): urgency: 900 is "
        "not a whole number 0-100 (type sanctions_alert, amount 10.0, tier hint human)"
    )


def test_a_missing_table_and_a_missing_output_are_refused(tmp_path: Path) -> None:
    def edit(graph: dict[str, Any]) -> None:
        table(graph, "control")["name"] = "controls"

    with pytest.raises(PolicyError, match=r"decide\.json: no decision table named 'control'"):
        load_policy(broken_pack(tmp_path, edit))

    def drop_last_row(graph: dict[str, Any]) -> None:
        table(graph, "urgency")["content"]["rules"].pop()

    with pytest.raises(
        PolicyError, match=r"decide.json: urgency: no table produces it \(type payment_failed"
    ):
        load_policy(broken_pack(tmp_path / "b", drop_last_row))


def test_a_file_that_is_not_json_names_the_file_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "pack"
    shutil.copytree(DEFAULT_POLICY_PATH, folder)
    (folder / "extra.json").write_text('{\n  "nodes": [\n')
    with pytest.raises(PolicyError) as caught:
        load_policy(folder)
    assert caught.value.problems == ["extra.json, line 3: not JSON: Expecting value"]


def test_bootstrap_builds_the_configured_policy_and_refuses_a_broken_one(tmp_path: Path) -> None:
    db = DatabaseSettings(url=f"sqlite:///{tmp_path / 'r.db'}")  # type: ignore[arg-type]
    app = bootstrap(Settings(database=db))
    assert app.policy.decide(given(TAXONOMY["fraud_review"])).queue == "fraud.policy"
    app.close()
    with pytest.raises(ConfigurationError, match=r"setting RECOUP_POLICY__PATH .*not a folder"):
        bootstrap(Settings(database=db, policy=PolicySettings(path=tmp_path / "nowhere")))
