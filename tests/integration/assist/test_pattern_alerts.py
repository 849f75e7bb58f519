"""Spikes on the store (SQLite and PostgreSQL): generated failure traffic goes through ingest
and the detectors; a planted concentration raises one pattern alert, owned by operations,
naming the dimension, the rate and the baseline; scanning again raises nothing more; clean
traffic raises none."""

from __future__ import annotations

from typing import Any

from recoup.adapters.assist.traffic import spike_traffic
from recoup.bootstrap import App
from recoup.domain.cases.case import Case
from recoup.domain.detection.taxonomy import Tier
from recoup.services.assist import AssistOptions, scan_patterns
from recoup.services.ingest import ingest_records
from tests.helpers import raw


def ingest(app: App, plant: str | None) -> None:
    records = spike_traffic(app.clock.now(), plant=plant, kinds=("bank",), per_day=12)
    ingest_records(
        raw(records),
        uow=app.uow,
        clock=app.clock,
        detectors=app.detectors,
        label="traffic",
        policy=app.policy,
    )


def alert_cases(app: App) -> list[tuple[Case, list[dict[str, Any]]]]:
    with app.reader() as tx:
        cases = tx.list_cases({"type": "pattern_alert", "status": None}, 100)
        return [(c, tx.case_findings(c.id)) for c in cases]


def test_a_planted_spike_is_alerted_once_with_its_dimension(app: App) -> None:
    ingest(app, "batch")

    first = scan_patterns(uow=app.uow, clock=app.clock, options=AssistOptions(), policy=app.policy)
    again = scan_patterns(uow=app.uow, clock=app.clock, options=AssistOptions(), policy=app.policy)

    assert len(first.alerts) == 1
    assert first.cases_opened == 1
    assert again.alerts == []
    assert again.cases_opened == 0
    ((case, findings),) = alert_cases(app)
    assert (case.owner_team, case.queue, case.tier) == ("operations", "operations.system",
                                                        Tier.GUIDED)  # fmt: skip
    (finding,) = findings
    detail = finding["detail"]
    assert (detail["kind"], detail["dimension"], detail["value"]) == (
        "bank_rejected",
        "supplier_batch",
        "2026-B7",
    )
    assert detail["count"] == 25
    assert detail["base_count"] == 0
    assert detail["rate"] > 0.5 > 0.01 > detail["baseline"]
    assert "supplier_batch=2026-B7" in finding["summary"]
    assert "baseline" in finding["summary"]
    assert len(finding["evidence"]) == 20
    with app.reader() as tx:
        actions = [r.action for r in tx.audit_records()]
    assert actions.count("assist.pattern_scan") == 1  # the second scan changed nothing


def test_clean_traffic_raises_no_alert(app: App) -> None:
    ingest(app, None)

    report = scan_patterns(uow=app.uow, clock=app.clock, options=AssistOptions(), policy=app.policy)

    assert report.failures == 15 * 12
    assert report.cells > 0
    assert (report.alerts, report.spikes, report.cases_opened) == ([], [], 0)
    assert alert_cases(app) == []
