"""Replaying quarantined webhook bodies on their own, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import sqlalchemy as sa

from recoup.adapters.connectors.webhooks.providers import webhook_reparsers
from recoup.adapters.store import tables as t
from recoup.bootstrap import App
from recoup.domain.errors import Location
from recoup.domain.ingestion.canonical import Rejection
from recoup.services.quarantine import list_quarantine, replay_quarantined

STRIPE_EVENT = {
    "id": "evt_replay_1",
    "object": "event",
    "type": "charge.failed",
    "created": 1790000000,
    "data": {
        "object": {
            "id": "ch_replay_1",
            "object": "charge",
            "amount": 1250,
            "currency": "eur",
            "payment_intent": "pi_replay_1",
            "failure_code": "card_declined",
            "outcome": {"reason": "insufficient_funds"},
        }
    },
}

GENERIC_EVENT = {
    "source": "erp",
    "external_id": "inv-77",
    "type": "invoice.payment_failed",
    "occurred_at": "2026-10-01T12:00:00Z",
    "amount": "40.00",
    "currency": "EUR",
    "refs": {"invoice": "INV-77"},
}


def _quarantine(app: App, raw: str, label: str, format_name: str) -> None:
    rejection = Rejection(Location(label, None, None), "unsupported_type", "was unknown", raw)
    with app.uow() as tx:
        tx.quarantine([rejection], None, format_name, app.clock.now())
        tx.commit()


def _sources(app: App) -> list[str]:
    with app.engine.connect() as conn:
        return sorted(conn.execute(sa.select(t.events.c.source)).scalars())


def test_webhook_bodies_replay_under_the_source_they_came_in_for(app: App) -> None:
    _quarantine(app, json.dumps(STRIPE_EVENT), "hook:stripe-eu", "stripe-events")
    _quarantine(app, json.dumps(GENERIC_EVENT), "saved/erp.json", "generic-webhooks")

    report = replay_quarantined(None, uow=app.uow, clock=app.clock, detectors=app.detectors,
                                reparsers=webhook_reparsers())  # fmt: skip

    assert (len(report.replayed), report.still_bad) == (2, [])
    assert _sources(app) == ["erp", "stripe-eu"]
    assert list_quarantine(reader=app.reader) == []
    assert report.findings == 2


def test_a_record_from_a_bank_file_is_not_replayed_alone(app: App) -> None:
    _quarantine(app, ":61:2610011001CR12,00NTRF", "statement.sta", "mt940")

    report = replay_quarantined(None, uow=app.uow, clock=app.clock, detectors=app.detectors,
                                reparsers=webhook_reparsers())  # fmt: skip

    ((item, problem),) = report.still_bad
    assert problem.code == "not_replayable"
    assert "ingest the corrected file again" in problem.reason
    assert [i.id for i in list_quarantine(reader=app.reader)] == [item.id]
    assert _sources(app) == []
