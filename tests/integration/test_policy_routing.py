"""Cases opened through the default policy pack: the decision routes the case and is stored with
its trace, on SQLite and PostgreSQL; `recoup cases show` explains it in plain words."""

from __future__ import annotations

import json
from pathlib import Path

from recoup.bootstrap import App
from recoup.domain.cases.case import Case
from recoup.domain.detection.taxonomy import Tier
from recoup.domain.policy import explain_record
from recoup.services.ingest import ingest_records
from tests.e2e.test_cli import db as db
from tests.e2e.test_cli import recoup
from tests.helpers import raw, record


def failure(external_id: str, amount: str, payment: str) -> dict[str, object]:
    return record(external_id, "payment.failed", amount=amount,
                  reason="stripe:insufficient_funds", payment=payment, customer="c1")  # fmt: skip


def open_cases(app: App) -> dict[str, Case]:
    with app.reader() as tx:
        return {c.entity_key: c for c in tx.list_cases({"status": "open"}, 10)}


def test_the_policy_routes_new_cases_and_keeps_its_trace(app: App) -> None:
    ingest_records(raw([failure("f1", "12.00", "pi_small"), failure("f2", "25000.00", "pi_big")]),
                   uow=app.uow, clock=app.clock, detectors=app.detectors, label="t",
                   policy=app.policy)  # fmt: skip
    cases = open_cases(app)
    small, big = cases["pi_small"], cases["pi_big"]
    # A soft decline of a small amount is straight-through, as the taxonomy says; a critical
    # amount is raised to guided and pauses automation.
    assert (small.tier, small.pauses_automation) == (Tier.STRAIGHT_THROUGH, False)
    assert (big.tier, big.pauses_automation) == (Tier.GUIDED, True)
    assert big.queue == "payments_ops.system"
    assert big.decision is not None
    assert big.decision["outputs"]["business_impact"] == "critical"
    tables = [step["table"] for step in big.decision["trace"]]
    assert "tier" in tables
    assert "tier guided: table 'tier' row 3 (business_impact = critical)" in explain_record(
        big.decision
    )


def test_cases_show_prints_the_decision(db: str, tmp_path: Path) -> None:
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(failure("f1", "25000.00", "pi_big")) + "\n")
    assert recoup("ingest", str(path))[0] == 0
    code, out = recoup("cases", "list", "--json")
    (case,) = json.loads(out)
    code, out = recoup("cases", "show", case["id"])
    assert code == 0, out
    assert "decision (policy)" in out
    assert "pauses automation yes: table 'pause'" in out
