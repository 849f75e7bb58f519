"""Expected-but-missing timers on SQLite and PostgreSQL: opened by an event, met by its
counterpart (before or after it), fired at the deadline, resolved by a late arrival."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec
import sqlalchemy as sa

from recoup.adapters.clock import FixedClock
from recoup.adapters.store import tables as t
from recoup.bootstrap import App
from recoup.services.audit import verify_audit
from recoup.services.expectations import fire_due
from recoup.services.ingest import IngestReport, RawRecord, ingest_records
from tests.conftest import T0


def rec(external_id: str, type_: str, *, hours: float = 0, amount: str | None = None,
        source: str = "erp", attributes: dict[str, Any] | None = None,
        **refs: str) -> dict[str, Any]:  # fmt: skip
    out: dict[str, Any] = {
        "source": source,
        "external_id": external_id,
        "type": type_,
        "occurred_at": (T0 + timedelta(hours=hours)).isoformat(),
        "refs": refs,
    }
    if amount is not None:
        out |= {"amount": amount, "currency": "EUR"}
    if attributes:
        out["attributes"] = attributes
    return out


def ingest(app: App, records: list[dict[str, Any]]) -> IngestReport:
    items = [RawRecord(msgspec.json.encode(r), "t.jsonl", n) for n, r in enumerate(records, 1)]
    return ingest_records(items, uow=app.uow, clock=app.clock, detectors=app.detectors,
                          label="t.jsonl")  # fmt: skip


def fire(app: App, at: datetime) -> Any:
    return fire_due(uow=app.uow, clock=FixedClock(at), detectors=app.detectors)


def statuses(app: App) -> dict[tuple[str, str], str]:
    x = t.expectations.c
    with app.engine.connect() as conn:
        rows = conn.execute(sa.select(x.rule, x.entity_key, x.status)).all()
    return {(rule, key): status for rule, key, status in rows}


def finding_keys(app: App) -> list[tuple[str, str, str]]:
    f = t.findings.c
    with app.engine.connect() as conn:
        rows = conn.execute(sa.select(f.type, f.entity_kind, f.entity_key)).all()
    return sorted((a, b, c) for a, b, c in rows)


INVOICE = rec("inv-1", "invoice.finalized", amount="120.00", invoice="in_1", customer="c1",
              attributes={"due_date": "2026-10-10"})  # fmt: skip


def test_an_unpaid_invoice_fires_missing_payment_after_due_date_and_grace(app: App) -> None:
    report = ingest(app, [INVOICE])
    assert report.findings == 0
    assert statuses(app) == {("missing_payment", "in_1"): "pending"}
    # Due 2026-10-10: the deadline is the end of that day plus three days of grace.
    early = fire(app, datetime.fromisoformat("2026-10-13T23:59:00+00:00"))
    assert early.due == 0
    assert finding_keys(app) == []
    timers = fire(app, datetime.fromisoformat("2026-10-14T00:00:00+00:00"))
    assert (timers.due, timers.fired, timers.findings, timers.cases_opened) == (1, 1, 1, 1)
    assert finding_keys(app) == [("missing_payment", "invoice", "in_1")]
    assert statuses(app) == {("missing_payment", "in_1"): "fired"}
    # Firing again does nothing: the timer is settled.
    assert fire(app, datetime.fromisoformat("2026-10-20T00:00:00+00:00")).due == 0
    assert verify_audit(reader=app.reader).is_intact


def test_payment_on_arrival_meets_the_timer(app: App) -> None:
    payment = rec("pay-1", "payment.succeeded", source="stripe", hours=30, amount="120.00",
                  payment="pi_1", invoice="in_1")  # fmt: skip
    report = ingest(app, [INVOICE, payment])
    assert statuses(app) == {("missing_payment", "in_1"): "met"}
    assert report.findings == 0
    assert fire(app, datetime.fromisoformat("2026-11-01T00:00:00+00:00")).due == 0
    assert finding_keys(app) == []


def test_a_counterpart_that_arrived_first_is_found_when_the_timer_is_due(app: App) -> None:
    # The payment names only the charge; the charge event links it to the invoice.
    ingest(app, [rec("ch-1", "payment.succeeded", source="stripe", amount="120.00",
                     charge="ch_1", payment="pi_1", customer="c1"),
                 rec("ch-1-inv", "invoice.paid", source="stripe", hours=1, amount="120.00",
                     charge="ch_1", invoice="in_1")])  # fmt: skip
    ingest(app, [INVOICE])
    timers = fire(app, datetime.fromisoformat("2026-11-01T00:00:00+00:00"))
    # Both timers are met there: the invoice's payment, and the charge claimed by an invoice.
    assert (timers.due, timers.met, timers.fired) == (2, 2, 0)
    assert finding_keys(app) == []


def test_a_late_payment_resolves_the_case(app: App) -> None:
    ingest(app, [INVOICE])
    fire(app, datetime.fromisoformat("2026-10-15T00:00:00+00:00"))
    report = ingest(app, [rec("paid", "invoice.paid", hours=24 * 20, amount="120.00",
                              invoice="in_1")])  # fmt: skip
    assert report.cases_resolved == 1
    with app.engine.connect() as conn:
        outcome = conn.execute(sa.select(t.cases.c.outcome)).scalar_one()
    assert outcome == "recovered"


def test_payout_order_orphan_and_bank_line_timers(app: App) -> None:
    ingest(app, [
        rec("po-1", "payout.created", source="stripe", amount="900.00", payout="po_1",
            attributes={"arrival_date": "2026-10-03"}),
        rec("po-2", "payout.created", source="stripe", amount="500.00", payout="po_2",
            attributes={"arrival_date": "2026-10-03"}),
        rec("po-2-paid", "payout.paid", source="stripe", hours=40, amount="500.00",
            payout="po_2"),
        rec("o-1", "order.paid", source="shop", amount="80.00", order="o_1"),
        rec("o-2", "order.paid", source="shop", amount="80.00", order="o_2"),
        rec("o-2-ship", "fulfillment.created", source="shop", hours=20, order="o_2"),
        rec("p-1", "payment.succeeded", source="stripe", amount="15.00", payment="pi_9"),
        rec("p-2", "payment.succeeded", source="stripe", amount="16.00", payment="pi_8"),
        rec("p-2-order", "order.paid", source="shop", hours=2, amount="16.00", order="o_8",
            payment="pi_8"),
        rec("o-8-ship", "order.fulfilled", source="shop", hours=3, order="o_8"),
        rec("b-1", "bank.statement_line", source="bank:main", amount="500.00",
            bank_transaction="bt_1", payout="po_2"),
        rec("b-2", "bank.statement_line", source="bank:main", amount="77.00",
            bank_transaction="bt_2", end_to_end="E2E-UNKNOWN"),
        rec("b-3", "bank.statement_line", source="bank:main", amount="78.00",
            bank_transaction="bt_3"),
    ])  # fmt: skip
    timers = fire(app, T0 + timedelta(days=10))
    assert finding_keys(app) == [
        ("order_stalled", "order", "o_1"),
        ("orphan_payment", "payment", "pi_9"),
        ("settlement_delayed", "payout", "po_1"),
        ("unmatched_bank_line", "bank_transaction", "bt_2"),
    ]
    # p-2 was met on arrival of its order; the bank line and o-2 were found met at fire time
    # or on arrival; b-3 carries no reference at all, so it opened no timer.
    assert timers.fired == 4
    assert ("unmatched_bank_line", "bt_3") not in statuses(app)


def test_a_capped_timeline_keeps_the_newest_events(app: App) -> None:
    ingest(app, [
        rec(f"sp-{n}", "supplier.payment_initiated", source="ap", hours=n, amount="10.00",
            supplier="s1", attributes={"iban": "DE89370400440532013000"})
        for n in range(5)
    ])  # fmt: skip
    with app.uow() as tx:
        events = tx.load_timeline_events([("supplier", "s1")], 0, limit=3)
    assert sorted(e.external_id for e in events) == ["sp-2", "sp-3", "sp-4"]
