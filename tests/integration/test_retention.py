"""Retention redacts old raw payloads in batches, once, audited, and the audit chain verifies."""

from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa

from recoup.adapters.clock import FixedClock
from recoup.adapters.store import tables as t
from recoup.bootstrap import App
from recoup.domain.privacy import is_redacted
from recoup.services.audit import verify_audit
from recoup.services.ingest import ingest_records
from recoup.services.retention import apply_retention
from tests.conftest import T0
from tests.helpers import raw, record


def _raws(app: App) -> list[str]:
    with app.engine.connect() as conn:
        return list(conn.execute(sa.select(t.events.c.raw).order_by(t.events.c.id)).scalars())


def test_old_payloads_are_redacted_once_and_new_ones_kept(app: App) -> None:
    old = [record(f"o{i}", "payment.failed", amount="5.00", reason="stripe:card_declined",
                  payment=f"pi_o{i}") for i in range(5)]  # fmt: skip
    ingest_records(raw(old), uow=app.uow, clock=FixedClock(T0), detectors=app.detectors,
                   label="old")  # fmt: skip
    new = [record("n1", "payment.succeeded", amount="5.00", payment="pi_n1")]
    ingest_records(raw(new), uow=app.uow, clock=FixedClock(T0 + timedelta(days=40)),
                   detectors=app.detectors, label="new")  # fmt: skip
    before = _raws(app)
    later = FixedClock(T0 + timedelta(days=45))

    dry = apply_retention(uow=app.uow, clock=later, days=30, dry_run=True)
    assert dry.redacted["events"] == 5
    assert _raws(app) == before

    seen: list[int] = []
    report = apply_retention(uow=app.uow, clock=later, days=30, batch=2,
                             on_batch=lambda _table, n: seen.append(n))  # fmt: skip
    assert report.redacted == {"events": 5, "quarantine": 0}
    assert seen == [2, 2, 1]
    after = _raws(app)
    assert sum(is_redacted(r) for r in after) == 5
    assert sum(not is_redacted(r) for r in after) == 1
    assert all("sha256" in json.loads(r) for r in after if is_redacted(r))

    again = apply_retention(uow=app.uow, clock=later, days=30)
    assert again.redacted == {"events": 0, "quarantine": 0}
    with app.engine.connect() as conn:
        batches = conn.execute(
            sa.select(sa.func.count()).where(t.audit_log.c.action == "retention.redacted")
        ).scalar_one()
        cases = conn.execute(sa.select(sa.func.count()).select_from(t.cases)).scalar_one()
    assert batches == 3
    assert cases >= 1  # the cases the old events opened are untouched
    assert verify_audit(reader=app.reader).is_intact
