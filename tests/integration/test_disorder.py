"""Redelivery storms and disorder: a labeled month delivered shuffled, every record up to three
times, in batches of random size, ends in the same findings and cases as a clean, ordered
delivery, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import shutil
from typing import Any

import sqlalchemy as sa

from recoup.adapters.clock import FixedClock
from recoup.adapters.simulation.labeled import LabeledMonth
from recoup.adapters.store import tables as t
from recoup.bootstrap import bootstrap
from recoup.domain.detection.detectors import DetectionSettings, Detectors
from recoup.domain.detection.sanctions import SanctionsScreen
from recoup.services.audit import verify_audit
from recoup.services.expectations import fire_due
from recoup.services.ingest import RawRecord, ingest_records
from recoup.settings import DatabaseSettings, Settings
from tests.conftest import _reset_postgres
from tests.integration.test_detection_quality import month, sanctions


def _state(store_url: str, labeled: LabeledMonth, deliveries: list[list[bytes]]) -> dict[str, Any]:
    clock = FixedClock(labeled.as_of)
    detectors = Detectors(DetectionSettings(sanctions=SanctionsScreen(sanctions()).spec))
    settings = Settings(database=DatabaseSettings(url=store_url, auto_upgrade=False))
    app = bootstrap(settings, clock=clock)
    try:
        app.ensure_schema()
        for n, batch in enumerate(deliveries):
            records = [RawRecord(line, f"delivery-{n}.jsonl", i) for i, line in enumerate(batch, 1)]
            ingest_records(records, uow=app.uow, clock=clock, detectors=detectors,
                           label=f"delivery {n}")  # fmt: skip
        fire_due(uow=app.uow, clock=clock, detectors=detectors)
        f, c = t.findings.c, t.cases.c
        with app.engine.connect() as conn:
            findings = sorted(conn.execute(sa.select(f.type, f.entity_kind, f.entity_key)).all())
            cases = sorted(
                conn.execute(
                    sa.select(c.type, c.entity_kind, c.entity_key, c.status, c.amount, c.currency)
                ).all()
            )
            events = conn.execute(sa.select(sa.func.count()).select_from(t.events)).scalar_one()
        assert verify_audit(reader=app.reader).is_intact
        return {"findings": findings, "cases": cases, "events": events}
    finally:
        app.close()


def _storm(lines: list[bytes], seed: int) -> list[list[bytes]]:
    rng = random.Random(seed)
    copies = [line for line in lines for _ in range(rng.randint(1, 3))]
    rng.shuffle(copies)
    batches, at = [], 0
    while at < len(copies):
        size = rng.randint(1, 400)
        batches.append(copies[at : at + size])
        at += size
    return batches


def test_a_shuffled_redelivery_storm_ends_like_a_clean_delivery(store_url: str) -> None:
    labeled = month(inject=True)
    if store_url.startswith("sqlite:///"):
        stormy_url = store_url.replace(".db", "-storm.db")
        shutil.copyfile(store_url.removeprefix("sqlite:///"), stormy_url.removeprefix("sqlite:///"))
    clean = _state(store_url, labeled, [list(labeled.lines)])
    assert clean["findings"]
    if not store_url.startswith("sqlite:///"):
        _reset_postgres(store_url)
        stormy_url = store_url
    stormy = _state(stormy_url, labeled, _storm(list(labeled.lines), seed=7))

    assert stormy["events"] == clean["events"]
    assert stormy["findings"] == clean["findings"]
    assert stormy["cases"] == clean["cases"]
