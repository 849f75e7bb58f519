"""The acceptance test of detection: a small labeled month through ingest and the timers.

Clean traffic must give no finding at all; with exceptions injected, every labeled (type,
entity) must be found and nothing else. ``bench/detection_quality.py`` measures the same on a
full month and prints precision and recall per type.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
import sqlalchemy as sa

from recoup.adapters.clock import FixedClock
from recoup.adapters.sanctions_list import load_sanctions_list
from recoup.adapters.simulation.labeled import LabeledMonth, LabeledSpec, labeled_month
from recoup.adapters.store import tables as t
from recoup.bootstrap import bootstrap
from recoup.domain.detection.detectors import DetectionSettings, Detectors
from recoup.domain.detection.sanctions import SanctionsList, SanctionsScreen
from recoup.domain.detection.taxonomy import TAXONOMY
from recoup.services.expectations import fire_due
from recoup.services.ingest import RawRecord, ingest_records
from recoup.settings import DatabaseSettings, Settings

SANCTIONS = Path(__file__).resolve().parent.parent / "fixtures" / "sanctions"

Key = tuple[str, str, str]


@cache
def sanctions() -> SanctionsList:
    return load_sanctions_list(SANCTIONS / "sdn-sample.csv", SANCTIONS / "alt-sample.csv")


@cache
def month(inject: bool) -> LabeledMonth:
    names = tuple(
        name
        for entry in sanctions()
        if entry.type not in ("vessel", "aircraft")
        for name in (entry.name, *entry.aliases)
    )
    spec = LabeledSpec(
        seed=11,
        days=9,
        orders_per_day=20,
        receivable_invoices_per_day=3,
        suppliers=6,
        supplier_invoices_per_day=3,
        per_type=3,
        inject=inject,
        sanctioned_names=names,
    )
    return labeled_month(spec)


def findings_after(store_url: str, labeled: LabeledMonth) -> set[Key]:
    """Ingest the month, fire the timers due at its as_of; the (type, entity) of each finding."""
    clock = FixedClock(labeled.as_of)
    detectors = Detectors(DetectionSettings(sanctions=SanctionsScreen(sanctions()).spec))
    app = bootstrap(
        Settings(database=DatabaseSettings(url=store_url, auto_upgrade=False)), clock=clock
    )
    try:
        app.ensure_schema()
        records = [RawRecord(line, "labeled.jsonl", n) for n, line in enumerate(labeled.lines, 1)]
        report = ingest_records(
            records, uow=app.uow, clock=clock, detectors=detectors, label="labeled"
        )
        assert report.quarantined == 0, report.first_rejections[:3]
        fire_due(uow=app.uow, clock=clock, detectors=detectors)
        with app.engine.connect() as conn:
            query = sa.select(t.findings.c.type, t.findings.c.entity_kind, t.findings.c.entity_key)
            return {(r[0], r[1], r[2]) for r in conn.execute(query)}
    finally:
        app.close()


def test_clean_traffic_gives_no_finding(store_url: str) -> None:
    found = findings_after(store_url, month(inject=False))

    assert sorted(found) == []


def test_every_labeled_exception_is_found_and_nothing_else(store_url: str) -> None:
    labeled = month(inject=True)
    labels = {(x.type, x.entity_kind, x.entity_key) for x in labeled.labels}
    assert {key[0] for key in labels} == set(TAXONOMY)

    found = findings_after(store_url, labeled)

    missed = sorted(labels - found)
    unexpected = sorted(found - labels)
    assert (missed, unexpected) == ([], []), (
        f"{len(missed)} labeled exceptions not found, {len(unexpected)} findings not labeled"
    )


@pytest.mark.parametrize("inject", [False, True])
def test_the_month_ingests_without_quarantine(inject: bool) -> None:
    assert len(month(inject).lines) > 1000
