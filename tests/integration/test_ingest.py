"""The batch pipeline on SQLite and PostgreSQL: dedupe, detect, cases, quarantine, audit."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from recoup.adapters.connectors.jsonl import JsonLinesReader
from recoup.adapters.store import tables as t
from recoup.bootstrap import App
from recoup.services.audit import verify_audit
from recoup.services.cases import CaseFilter, list_cases
from recoup.services.ingest import IngestReport, RawRecord, ingest_records
from recoup.services.quarantine import discard_quarantined, list_quarantine, replay_quarantined
from tests.helpers import raw, record


def ingest(app: App, records: list[RawRecord], batch_size: int = 500) -> IngestReport:
    return ingest_records(records, uow=app.uow, clock=app.clock, detectors=app.detectors,
                          label="test.jsonl", batch_size=batch_size)  # fmt: skip


def counts(app: App) -> dict[str, int]:
    with app.engine.connect() as conn:
        return {
            table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in t.metadata.sorted_tables
            if table.name not in ("ingest_runs", "audit_log", "audit_head")
        }


MONTH = [
    record("e1", "payment.failed", amount="12.50", reason="stripe:insufficient_funds",
           payment="pi_1", customer="c1"),
    record("e2", "payment.failed", minutes=60, amount="12.50", reason="stripe:insufficient_funds",
           payment="pi_1", customer="c1"),
    record("e3", "payment.succeeded", minutes=5, amount="20", payment="pi_2", customer="c2"),
    record("e4", "payment.succeeded", minutes=9, amount="20.00", payment="pi_3", customer="c2"),
    record("e5", "dispute.opened", minutes=10, amount="20.00", reason="visa:10.4",
           payment="pi_3", dispute="dp_1"),
    record("e6", "refund.failed", minutes=11, amount="5.00", reason="stripe:declined",
           payment="pi_2", refund="re_1"),
    record("e7", "payment.failed", minutes=12, amount="99.00", reason="stripe:stolen_card",
           payment="pi_4", customer="c3"),
]  # fmt: skip


def test_events_become_findings_and_owned_cases(app: App) -> None:
    report = ingest(app, raw(MONTH))

    assert (report.records, report.accepted, report.duplicates, report.quarantined) == (7, 7, 0, 0)
    assert dict(report.findings_by_type) == {
        "payment_failed": 3, "duplicate_charge": 1, "dispute_opened": 1, "refund_failed": 1,
    }  # fmt: skip
    assert (report.cases_opened, report.cases_attached) == (5, 1)
    cases = {c.entity_key: c for c in list_cases(CaseFilter(), reader=app.reader)}
    assert set(cases) == {"pi_1", "c2", "dp_1", "re_1", "pi_4"}
    retry = cases["pi_1"]
    assert (retry.type, retry.finding_count, retry.amount, retry.currency) == (
        "payment_failed", 2, __import__("decimal").Decimal("12.50"), "EUR",
    )  # fmt: skip
    assert (retry.owner_team, retry.queue, retry.tier.value) == (
        "payments_ops", "payments_ops.system", "straight_through",
    )  # fmt: skip
    assert retry.sla_due_at == app.clock.now() + timedelta(days=1)
    assert cases["pi_4"].tier.value == "human"
    assert cases["dp_1"].queue == "disputes.policy"
    assert cases["c2"].type == "duplicate_charge"
    with app.engine.connect() as conn:
        timers = conn.execute(sa.select(t.timers.c.kind)).scalars().all()
        links = conn.execute(
            sa.select(t.entity_links.c.kind, t.entity_links.c.key)
            .where(t.entity_links.c.key == "pi_3")
        ).all()  # fmt: skip
    assert sorted(timers) == sorted(
        ["sla_goal", "sla_deadline", "aging_1d", "aging_3d", "aging_7d"] * 5
    )
    assert sorted(links) == [("payment", "pi_3"), ("payment", "pi_3")]


def test_redelivery_is_a_counted_no_op(app: App) -> None:
    ingest(app, raw(MONTH))
    before = counts(app)

    again = ingest(app, raw(MONTH + MONTH), batch_size=3)

    assert (again.accepted, again.duplicates, again.findings, again.cases_opened) == (14, 14, 0, 0)
    assert counts(app) == before
    with app.engine.connect() as conn:
        runs = conn.execute(
            sa.select(t.ingest_runs.c.accepted, t.ingest_runs.c.duplicates,
                      t.ingest_runs.c.status).order_by(t.ingest_runs.c.started_at)
        ).all()  # fmt: skip
    assert [tuple(r) for r in runs][-1] == (14, 14, "completed")


def test_batching_does_not_change_the_outcome(app: App) -> None:
    ingest(app, raw(MONTH), batch_size=1)
    one_by_one = sorted(
        (c.id, c.finding_count, c.amount) for c in list_cases(CaseFilter(), reader=app.reader)
    )
    assert len(one_by_one) == 5
    with app.engine.begin() as conn:
        for table in ("case_timeline", "timers", "findings", "cases", "detector_windows",
                      "entity_links", "events"):  # fmt: skip
            conn.exec_driver_sql(f"DELETE FROM {table}")

    ingest(app, raw(MONTH), batch_size=1000)

    together = sorted(
        (c.id, c.finding_count, c.amount) for c in list_cases(CaseFilter(), reader=app.reader)
    )
    assert together == one_by_one


def test_a_repeat_outside_the_dedupe_window_opens_a_new_case(app: App) -> None:
    first = record("f1", "payment.failed", amount="10.00", reason="stripe:generic_decline",
                   payment="pi_9")  # fmt: skip
    late = record("f2", "payment.failed", minutes=60 * 24 * 4, amount="10.00",
                  reason="stripe:generic_decline", payment="pi_9")  # fmt: skip
    ingest(app, raw([first]))
    report = ingest(app, raw([late]))

    assert (report.cases_opened, report.cases_attached) == (1, 0)
    cases = list_cases(CaseFilter(), reader=app.reader)
    assert len(cases) == 2
    keys = sorted((c.open_key is not None, c.last_seen_at) for c in cases)
    assert [k[0] for k in keys] == [False, True]


MALFORMED = [
    b'{"source":"stripe","external_id":"ok1","type":"payment.succeeded",'
    b'"occurred_at":"2026-10-01T10:00:00Z","amount":"5.00","currency":"EUR"}',
    b'{"source":"stripe","external_id":"bad-json",',
    b'{"source":"stripe","type":"payment.failed","occurred_at":"2026-10-01T10:00:00Z"}',
    b'{"source":"stripe","external_id":"cur","type":"payment.failed",'
    b'"occurred_at":"2026-10-01T10:00:00Z","amount":"5.00","currency":"XYZ"}',
    b'{"source":"stripe","external_id":"typ","type":"payment.failed",'
    b'"occurred_at":"2026-10-01T10:00:00Z","amount":true,"currency":"EUR"}',
    b'{"source":"stripe","external_id":"ok2","type":"refund.failed",'
    b'"occurred_at":"2026-10-01T10:00:00Z","amount":"1.00","currency":"EUR","refs":{"refund":"r"}}',
    b'{"source":"stripe","external_id":"trunc","type":"payment.fai',
]


def test_malformed_input_is_quarantined_with_its_location_and_nothing_is_lost(
    app: App, tmp_path: Path
) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(MALFORMED[:3]) + b"\n\n" + b"\n".join(MALFORMED[3:]))
    reader = JsonLinesReader.open(path)

    report = ingest_records(reader.records(), uow=app.uow, clock=app.clock,
                            detectors=app.detectors, label=reader.label)  # fmt: skip

    assert report.records == 7
    assert reader.blank_lines == 1
    assert (report.accepted, report.quarantined) == (2, 5)
    assert report.accepted + report.quarantined == report.records
    items = list_quarantine(reader=app.reader)
    located = sorted((i.line, i.field, i.code) for i in items)
    assert located == [
        (2, None, "truncated"),
        (3, "external_id", "invalid_field"),
        (5, "currency", "invalid_value"),
        (6, "amount", "invalid_field"),
        (8, None, "truncated"),
    ]
    assert all(i.label == str(path) for i in items)
    assert {i.raw.encode() for i in items} == {MALFORMED[n] for n in (1, 2, 3, 4, 6)}


def test_the_same_bad_record_twice_is_counted_not_duplicated(app: App) -> None:
    report = ingest(app, raw([MALFORMED[1], MALFORMED[1]]))
    ingest(app, raw([MALFORMED[1]]))

    assert report.quarantined == 2
    (item,) = list_quarantine(reader=app.reader)
    assert item.seen_count == 3


def _fix_currency(app: App, item_id: str, raw_text: str) -> None:
    with app.engine.begin() as conn:
        conn.execute(t.quarantine.update().where(t.quarantine.c.id == item_id)
                     .values(raw=raw_text))  # fmt: skip


def test_replay_ingests_records_that_now_pass_and_keeps_the_rest(app: App) -> None:
    ingest(app, raw([MALFORMED[3], MALFORMED[1]]))
    items = {i.code: i for i in list_quarantine(reader=app.reader)}
    fixable = items["invalid_value"]
    _fix_currency(app, fixable.id, fixable.raw.replace('"XYZ"', '"EUR"'))

    report = replay_quarantined(None, uow=app.uow, clock=app.clock, detectors=app.detectors)

    assert [i.id for i in report.replayed] == [fixable.id]
    assert [i.id for i, _ in report.still_bad] == [items["truncated"].id]
    assert report.findings == 1
    assert [i.id for i in list_quarantine(reader=app.reader)] == [items["truncated"].id]
    (replayed,) = list_quarantine(reader=app.reader, status="replayed")
    assert replayed.event_id is not None
    assert counts(app)["events"] == 1

    again = replay_quarantined([fixable.id], uow=app.uow, clock=app.clock,
                               detectors=app.detectors)  # fmt: skip
    assert (len(again.replayed), again.findings) == (1, 0)
    assert counts(app)["events"] == 1


def test_discard_keeps_the_record_and_audits_the_reason(app: App) -> None:
    ingest(app, raw([MALFORMED[1]]))
    (item,) = list_quarantine(reader=app.reader)

    discard_quarantined(item.id[:8], reason="test feed", actor="user:ana", uow=app.uow,
                        clock=app.clock)  # fmt: skip

    assert list_quarantine(reader=app.reader) == []
    (kept,) = list_quarantine(reader=app.reader, status="discarded")
    assert kept.raw == item.raw
    with app.engine.connect() as conn:
        actions = conn.execute(sa.select(t.audit_log.c.action, t.audit_log.c.actor)).all()
    assert ("quarantine.discarded", "user:ana") in [tuple(a) for a in actions]


def _audit_rows(app: App) -> list[Any]:
    with app.engine.connect() as conn:
        return conn.execute(sa.select(t.audit_log).order_by(t.audit_log.c.seq)).all()


def _drop_audit_guard(app: App) -> None:
    with app.engine.begin() as conn:
        if app.engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER USER")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_delete")


def test_audit_verify_passes_then_names_the_altered_record(app: App) -> None:
    ingest(app, raw(MONTH), batch_size=2)
    rows = _audit_rows(app)
    assert [r.action for r in rows].count("case.opened") == 5
    assert verify_audit(reader=app.reader).is_intact
    assert verify_audit(reader=app.reader).records == len(rows)

    _drop_audit_guard(app)
    target = rows[3]
    with app.engine.begin() as conn:
        conn.execute(t.audit_log.update().where(t.audit_log.c.seq == target.seq)
                     .values(actor="someone-else"))  # fmt: skip

    result = verify_audit(reader=app.reader)
    assert result.problem is not None
    assert result.problem.seq == target.seq
    assert "altered" in result.problem.reason


def test_audit_verify_notices_records_removed_from_the_end(app: App) -> None:
    ingest(app, raw(MONTH))
    last = _audit_rows(app)[-1]
    _drop_audit_guard(app)
    with app.engine.begin() as conn:
        conn.execute(t.audit_log.delete().where(t.audit_log.c.seq == last.seq))

    result = verify_audit(reader=app.reader)

    assert result.problem is not None
    assert result.problem.seq == last.seq


def test_a_retry_that_succeeds_resolves_the_case_as_recovered(app: App) -> None:
    failed = record("r1", "payment.failed", amount="30.00", reason="stripe:insufficient_funds",
                    payment="pi_r")  # fmt: skip
    paid = record("r2", "payment.succeeded", minutes=90, amount="30.00", payment="pi_r",
                  customer="c_r")  # fmt: skip
    ingest(app, raw([failed]))

    report = ingest(app, raw([paid]))

    assert report.cases_resolved == 1
    (case,) = list_cases(CaseFilter(status=None), reader=app.reader)
    assert (case.status.value, case.outcome, case.open_key) == ("resolved", "recovered", None)
    assert case.resolved_at == app.clock.now()
    assert (case.recovered_amount, case.lost_amount) == (Decimal("30.00"), None)
    assert list_cases(CaseFilter(), reader=app.reader) == []
    with app.engine.connect() as conn:
        timers = conn.execute(sa.select(t.timers.c.status)).scalars().all()
        actions = conn.execute(sa.select(t.audit_log.c.action)).scalars().all()
    assert sorted(timers) == ["cancelled"] * 5  # SLA goal and deadline, three aging alerts
    assert "case.resolved" in actions
    assert verify_audit(reader=app.reader).is_intact


def test_failure_and_success_in_one_batch_and_a_later_failure_opens_a_new_case(app: App) -> None:
    batch = [
        record("s1", "payment.failed", amount="8.00", reason="stripe:generic_decline",
               payment="pi_s"),
        record("s2", "payment.succeeded", minutes=5, amount="8.00", payment="pi_s"),
        record("s3", "payment.failed", minutes=60, amount="8.00", reason="stripe:generic_decline",
               payment="pi_s"),
    ]  # fmt: skip

    report = ingest(app, raw(batch))

    assert (report.cases_opened, report.cases_resolved) == (2, 1)
    cases = sorted(list_cases(CaseFilter(status=None), reader=app.reader),
                   key=lambda c: c.first_seen_at)  # fmt: skip
    assert [(c.status.value, c.outcome) for c in cases] == [("resolved", "recovered"),
                                                          ("new", None)]  # fmt: skip


def test_a_success_before_the_failure_does_not_resolve_it(app: App) -> None:
    batch = [
        record("u1", "payment.succeeded", amount="8.00", payment="pi_u"),
        record("u2", "payment.failed", minutes=5, amount="8.00", reason="stripe:generic_decline",
               payment="pi_u"),
    ]  # fmt: skip

    report = ingest(app, raw(batch))

    assert (report.cases_opened, report.cases_resolved) == (1, 0)


def test_a_won_dispute_resolves_its_case(app: App) -> None:
    ingest(app, raw([record("d1", "dispute.opened", amount="20.00", reason="visa:10.4",
                            dispute="dp_w", payment="pi_w")]))  # fmt: skip

    ingest(app, raw([record("d2", "dispute.won", minutes=600, amount="20.00", dispute="dp_w")]))

    (case,) = list_cases(CaseFilter(status=None), reader=app.reader)
    assert (case.status.value, case.outcome) == ("resolved", "won")
