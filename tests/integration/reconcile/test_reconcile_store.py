"""Reconciliation over the store, on SQLite and PostgreSQL: open items in, matches, breaks
and their cases out; a second run changes nothing; a new bank line matches what is still open;
operators confirm, reject and force-match with audit."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from recoup.adapters.clock import FixedClock
from recoup.adapters.reconcile.export import write_rows
from recoup.adapters.reconcile.port import DuckDbEngine
from recoup.adapters.reconcile.rules_file import default_rules
from recoup.adapters.store import tables as t
from recoup.bootstrap import App
from recoup.domain.errors import ConflictError, InvalidInputError
from recoup.domain.reconcile.items import item_of
from recoup.services.audit import verify_audit
from recoup.services.ingest import ingest_records
from recoup.services.reconcile import (
    ReconcileReport,
    decide_suggestion,
    force_match,
    reconcile_status,
    run_reconcile,
)
from tests.conftest import T0
from tests.helpers import raw, record


def payout(ref: str, amount: str, days: int = 0) -> dict[str, object]:
    return record(f"po_{ref}", "payout.paid", at=T0 + timedelta(days=days), amount=amount,
                  payout=ref)  # fmt: skip


def bank_line(ext: str, amount: str, days: int = 0, remittance: str | None = None,
              **refs: str) -> dict[str, object]:  # fmt: skip
    rec = record(ext, "bank.statement_line", source="bank:DE00", at=T0 + timedelta(days=days),
                 amount=amount, bank_transaction=ext, **refs)  # fmt: skip
    rec["direction"] = "credit"
    if remittance:
        rec["attributes"] = {"remittance": remittance}
    return rec


def ingest(app: App, records: list[dict[str, object]]) -> None:
    ingest_records(raw(records), uow=app.uow, clock=app.clock, detectors=app.detectors,
                   label="t", policy=app.policy)  # fmt: skip


def run(app: App, days: int = 10, dry_run: bool = False) -> ReconcileReport:
    return run_reconcile(uow=app.uow, clock=FixedClock(T0 + timedelta(days=days)),
                         engine=DuckDbEngine(), rules=default_rules(), rules_digest="test",
                         dry_run=dry_run, policy=app.policy)  # fmt: skip


def pairs(app: App) -> list[tuple[str, str]]:
    m = t.reconcile_matches.c
    with app.engine.connect() as conn:
        return [(r, s) for r, s in conn.execute(sa.select(m.rule, m.status).order_by(m.rule))]


def test_a_run_matches_stores_breaks_and_raises_cases_once(app: App) -> None:
    ingest(app, [
        payout("po_1", "1250.00"),
        payout("po_2", "80.00"),
        bank_line("bl_1", "1250.00", days=1, payout="po_1"),
        bank_line("bl_9", "999.99", days=1, remittance="unknown sender"),
    ])  # fmt: skip

    dry = run(app, dry_run=True)
    assert dry.run_id is None
    assert pairs(app) == []
    report = run(app)

    assert report.left_matched == 1
    assert [status for _, status in pairs(app)] == ["auto"]
    assert report.breaks_by_reason["missing_counterpart"] >= 1
    with app.reader() as tx:
        cases = {c.type: c for c in tx.list_cases({"status": None}, 20)}
    assert {"unmatched_bank_line", "settlement_delayed"} <= set(cases)
    assert cases["settlement_delayed"].entity_key == "po_2"
    assert report.cases_opened >= 2

    again = run(app, days=11)
    assert (again.left, again.cases_opened, again.findings) == (1, 0, 0)  # only po_2 is open
    assert len(pairs(app)) == 1
    status = reconcile_status(reader=app.reader)
    assert status["pairs"] == {"auto": 1}

    # The missing bank line arrives: the next run matches it and closes the break.
    ingest(app, [bank_line("bl_2", "80.00", days=2, payout="po_2")])  # booked late
    late = run(app, days=12)
    assert (late.left_matched, late.cases_resolved) == (1, 1)
    with app.reader() as tx:
        settled = {c.type: c for c in tx.list_cases({"status": None}, 20)}["settlement_delayed"]
    assert (settled.status.value, settled.outcome) == ("resolved", "reconciled")
    with app.engine.connect() as conn:
        b = t.reconcile_breaks.c
        open_items = conn.execute(sa.select(b.item_id).where(b.status == "open")).scalars().all()
    assert len(open_items) == 1  # only the unknown bank line
    assert verify_audit(reader=app.reader).is_intact


def test_force_match_needs_a_justification_and_takes_items_out(app: App, tmp_path: Path) -> None:
    ingest(app, [payout("po_7", "10.00"), bank_line("bl_7", "9.10", days=1,
                                                   remittance="different reference")])  # fmt: skip
    run(app)
    with app.engine.connect() as conn:
        e = t.events.c
        ids = dict(conn.execute(sa.select(e.type, e.id)).all())
    left, right = str(ids["payout.paid"]), str(ids["bank.statement_line"])
    with pytest.raises(InvalidInputError, match="justification"):
        force_match([left], [right], "ok", actor="user:ana", uow=app.uow, clock=app.clock)
    match_id = force_match([left], [right], "bank deducted a 0.90 fee, confirmed by phone",
                           actor="user:ana", uow=app.uow, clock=app.clock)  # fmt: skip
    with pytest.raises(ConflictError, match="already reconciled"):
        force_match([left], [right], "a second time for the same items", actor="user:ana",
                    uow=app.uow, clock=app.clock)  # fmt: skip
    assert run(app, days=11).left == 0
    with app.reader() as tx:
        rows = tx.match_rows(match_id)
    assert [r["status"] for r in rows] == ["forced"]
    assert write_rows(rows, ("match_id", "left_id", "status"), tmp_path / "m.parquet",
                      "parquet") == 1  # fmt: skip
    assert pq.read_table(tmp_path / "m.parquet").column("status").to_pylist() == ["forced"]
    with pytest.raises(ConflictError, match="not waiting for review"):
        decide_suggestion(match_id, True, "looks right", actor="user:bo", uow=app.uow,
                          clock=app.clock)  # fmt: skip
    a = t.audit_log.c
    with app.engine.connect() as conn:
        actions = conn.execute(sa.select(a.action)).scalars().all()
    assert "reconcile.forced" in actions
    assert verify_audit(reader=app.reader).is_intact


def test_open_items_read_in_the_database_are_the_items_of_the_events(app: App) -> None:
    """The store picks refs and attributes out in SQL: the same items as ``item_of`` on the
    stored events, whatever the attribute types, blanks, offsets and directions."""
    late = T0.replace(hour=23, minute=30)  # written at -02:00: the next day in UTC
    lines = [
        payout("po_a", "10.00"),
        record("ch_a", "payment.succeeded", amount="4.00", payment="pi_a", payout="po_a"),
        record("re_a", "refund.succeeded", amount="1.50", refund="re_a", charge="ch_a"),
        record("in_a", "invoice.finalized", amount="99.00", invoice="INV-1"),
        record("in_b", "invoice.finalized", amount="5.00", invoice="INV-2"),
        bank_line("bl_a", "10.00", remittance="  po_a payout  "),
        bank_line("bl_b", "3.00", end_to_end="E2E-1"),
        record("pf_a", "payment.failed", amount="2.00", payment="pi_b"),
        record("po_b", "payout.paid"),  # no money: not an item
    ]
    lines[3]["attributes"] = {"reference": 7, "customer_name": "  Acme GmbH ", "number": "N-1"}
    lines[4]["attributes"] = {"remittance": {"nested": "x"}, "description": "   ",
                              "name": ["a"]}  # fmt: skip
    lines[6]["direction"] = "debit"
    lines[6]["attributes"] = {"description": "\tfee Q3\n", "counterparty_name": ""}
    lines[6]["occurred_at"] = late.replace(tzinfo=None).isoformat() + "-02:00"
    ingest(app, lines)
    with app.reader() as tx:
        left, right = tx.reconcile_open_items()
        events = tx.reconcile_events([*left.id, *right.id])
    by_side: dict[str, list[object]] = {"left": [], "right": []}
    for event in sorted(events, key=lambda e: e.event_id):
        item = item_of(event)
        assert item is not None
        by_side[item.side].append(item)
    assert sorted(left.items(), key=lambda i: i.id) == by_side["left"]
    assert sorted(right.items(), key=lambda i: i.id) == by_side["right"]
    assert (len(left), len(right)) == (5, 2)
    texts = {i.amount: (i.reference, i.name) for i in left.items() if i.kind == "invoice"}
    assert texts == {Decimal("99.00"): ("N-1", "Acme GmbH"), Decimal("5.00"): ("INV-2", None)}
    debit = next(i for i in right.items() if i.amount < 0)
    assert (debit.amount, debit.reference, str(debit.date)) == (Decimal("-3.00"), "fee Q3",
                                                                "2026-10-02")  # fmt: skip
    keys = dict(zip(left.kind, left.key, strict=True))
    assert keys["payout"] == "po_a"
    assert set(right.key) == {"bl_a", "bl_b"}


def test_pairs_are_counted_once_however_often_they_are_added(app: App) -> None:
    from recoup.domain.reconcile.items import MatchRow

    def uid(first: int, i: int) -> str:
        return f"{first}0000000-0000-5000-8000-00000000000{i}"

    rows = [MatchRow(uid(0, i), uid(1, i), uid(2, i), "r", 1.0, "auto", 1, Decimal("0"))
            for i in range(3)]  # fmt: skip
    run_id = "30000000-0000-5000-8000-000000000000"
    with app.uow() as tx:
        tx.start_reconcile_run(run_id, 1, "h", T0)
        assert tx.add_reconcile_matches(run_id, rows[:2], T0) == 2
        assert tx.add_reconcile_matches(run_id, rows, T0) == 1  # two were there already
        assert tx.add_reconcile_matches(run_id, rows, T0) == 0
        tx.commit()
    assert len(pairs(app)) == 3
