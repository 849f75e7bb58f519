"""The demo month through the real pipeline, on SQLite and PostgreSQL: redelivering every event
changes nothing."""

from __future__ import annotations

import sqlalchemy as sa

from recoup.adapters.simulation.demo_month import DemoSpec, demo_lines
from recoup.adapters.store import tables as t
from recoup.bootstrap import App
from recoup.services.audit import verify_audit
from recoup.services.ingest import RawRecord, ingest_records

COUNTED = [t.events, t.entity_links, t.detector_windows, t.findings, t.cases, t.case_timeline,
           t.timers, t.quarantine, t.sources]  # fmt: skip


def _counts(app: App) -> dict[str, int]:
    with app.engine.connect() as conn:
        return {
            table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in COUNTED
        }


def _case_state(app: App) -> list[tuple[object, ...]]:
    c = t.cases.c
    query = sa.select(c.id, c.status, c.finding_count, c.amount, c.open_key, c.version)
    with app.engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(query))


def test_redelivering_the_whole_demo_month_changes_nothing(app: App) -> None:
    lines = list(demo_lines(DemoSpec()))
    records = [RawRecord(data, "demo.jsonl", n) for n, data in enumerate(lines, start=1)]

    first = ingest_records(records, uow=app.uow, clock=app.clock, detectors=app.detectors,
                           label="demo.jsonl")  # fmt: skip
    counts, cases = _counts(app), _case_state(app)
    again = ingest_records(records, uow=app.uow, clock=app.clock, detectors=app.detectors,
                           label="demo.jsonl", batch_size=7919)  # fmt: skip

    assert (first.accepted, first.duplicates, first.quarantined) == (len(lines), 0, 0)
    assert first.findings > 7_000
    assert counts["events"] == len(lines)
    assert (again.accepted, again.duplicates, again.quarantined) == (len(lines), len(lines), 0)
    assert (again.findings, again.cases_opened, again.cases_attached) == (0, 0, 0)
    assert _counts(app) == counts
    assert _case_state(app) == cases
    assert verify_audit(reader=app.reader).is_intact
