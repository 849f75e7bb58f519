"""The recovery runner on SQLite and PostgreSQL: new cases climb their ladder; retries go to
the PSP simulator when the retry planner allows, hard declines never; a recovered payment
resolves its case with the money; a ladder with nothing left hands the case to a person; the
email step reaches a real SMTP server on loopback; every attempt is stored once and audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from recoup.adapters.clock import FixedClock
from recoup.adapters.store import tables as t
from recoup.bootstrap import App, bootstrap
from recoup.domain.cases.case import Case
from recoup.domain.recovery.retries import is_funding_date
from recoup.services.audit import verify_audit
from recoup.services.ingest import ingest_records
from recoup.services.recovery import RecoveryReport, run_recovery
from recoup.settings import DatabaseSettings, RecoverySettings, Settings
from tests.conftest import T0
from tests.helpers import raw, record
from tests.loopback_smtp import PASSWORD, USER, EphemeralController, Inbox, authenticate

H = timedelta(hours=1)


def make_app(store_url: str, **recovery: object) -> App:
    settings = Settings(
        database=DatabaseSettings(url=store_url, auto_upgrade=False),
        recovery=RecoverySettings(gateway="simulator", simulator_seed=11, **recovery),  # type: ignore[arg-type]
    )
    app = bootstrap(settings, clock=FixedClock(T0))
    app.ensure_schema()
    return app


@pytest.fixture
def rec_app(store_url: str) -> Iterator[App]:
    app = make_app(store_url)
    yield app
    app.close()


def failed(ref: str, reason: str, **attributes: object) -> dict[str, object]:
    rec = record(f"f_{ref}", "payment.failed", amount="40.00", reason=reason, payment=ref,
                 customer=f"cus_{ref}")  # fmt: skip
    rec["attributes"] = {"network": "visa", **attributes}
    return rec


def ingest(app: App, records: list[dict[str, object]]) -> None:
    ingest_records(raw(records), uow=app.uow, clock=app.clock, detectors=app.detectors,
                   label="t", policy=app.policy)  # fmt: skip


def climb_hours(app: App, hours: int, start: datetime = T0) -> RecoveryReport:
    """Run the recovery runner every hour for ``hours`` hours; the report of all rounds."""
    total = RecoveryReport()
    recovery = app.recovery()
    for hour in range(hours + 1):
        report = run_recovery(uow=app.uow, clock=FixedClock(start + hour * H), recovery=recovery)
        total.actions.update(report.actions)
        total.recovered += report.recovered
        total.escalated += report.escalated
        total.started += report.started
    return total


def only_case(app: App) -> Case:
    with app.reader() as tx:
        (case,) = tx.list_cases({"status": None}, 10)
    return case


def attempts(app: App) -> list[tuple[str, str, datetime]]:
    a = t.recovery_attempts.c
    with app.engine.connect() as conn:
        rows = conn.execute(sa.select(a.kind, a.outcome, a.at).order_by(a.at, a.id)).all()
    return [(kind, outcome, at) for kind, outcome, at in rows]


def test_a_hard_decline_is_never_retried_and_stays_with_its_team(rec_app: App) -> None:
    ingest(rec_app, [failed("pi_1", "stripe:stolen_card")])
    report = climb_hours(rec_app, 30)

    # No retry may run and no channel is configured: nothing automated could run, so the
    # ladder's hand-off leaves the case in its queue (not escalated) and says why.
    case = only_case(rec_app)
    assert case.status.value == "new"
    kinds = [(kind, outcome) for kind, outcome, _ in attempts(rec_app)]
    assert ("retry", "not_eligible") in kinds
    assert all(outcome != "succeeded" and outcome != "failed" for k, outcome in kinds
               if k == "retry")  # fmt: skip
    assert kinds[-1] == ("escalate", "handed_over")
    assert report.escalated == 0
    assert case.handling_cost is None  # nothing ran, nothing cost anything
    assert verify_audit(reader=rec_app.reader).is_intact


def test_a_soft_decline_is_retried_on_funding_days_until_recovered(rec_app: App) -> None:
    ingest(rec_app, [failed("pi_2", "stripe:insufficient_funds")])
    climb_hours(rec_app, 24 * 15)

    retries = [(outcome, at) for kind, outcome, at in attempts(rec_app) if kind == "retry"]
    assert retries, "the planner allowed no retry in 15 days"
    assert all(is_funding_date(at.date()) and at.hour == 9 for _, at in retries)
    assert len(retries) <= 4
    case = only_case(rec_app)
    if retries[-1][0] == "succeeded":
        assert (case.status.value, case.outcome) == ("resolved", "recovered")
        assert case.recovered_amount == Decimal("40.00")
    else:
        assert case.status.value == "escalated"
    with rec_app.reader() as tx:
        timeline = tx.case_timeline(case.id)
    assert sum(1 for e in timeline if e["kind"] == "recovery") == len(attempts(rec_app))
    # Running again at the same times changes nothing: every attempt is stored once.
    before = attempts(rec_app)
    climb_hours(rec_app, 24 * 15)
    assert attempts(rec_app) == before
    assert verify_audit(reader=rec_app.reader).is_intact


def test_a_case_resolved_by_its_source_stops_its_climb(rec_app: App) -> None:
    paid = record("p_3", "payment.succeeded", minutes=30, amount="40.00", payment="pi_3",
                  customer="cus_pi_3")  # fmt: skip
    ingest(rec_app, [failed("pi_3", "stripe:insufficient_funds")])
    ingest(rec_app, [paid])
    climb_hours(rec_app, 24 * 3)

    assert only_case(rec_app).outcome == "recovered"
    assert attempts(rec_app) == []
    with rec_app.engine.connect() as conn:
        status = conn.execute(sa.select(t.recovery.c.status)).scalar_one()
    assert status == "stopped"


def test_cases_of_types_without_a_ladder_do_not_climb(rec_app: App) -> None:
    ingest(rec_app, [record("d_1", "dispute.opened", amount="40.00", dispute="dp_1",
                            charge="ch_1", customer="cus_1")])  # fmt: skip
    with rec_app.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.recovery)).scalar() == 1
    ingest(rec_app, [record("o_1", "order.created", amount="10.00", order="o_1")])
    with rec_app.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.recovery)).scalar() == 1


def test_the_email_step_reaches_a_real_smtp_server(store_url: str) -> None:
    inbox = Inbox()
    controller = EphemeralController(
        inbox, hostname="127.0.0.1", port=0, authenticator=authenticate,
        auth_require_tls=False, auth_exclude_mechanism=["LOGIN"],
    )  # fmt: skip
    controller.start()
    url = f"mailto://{USER}:{PASSWORD}@127.0.0.1:{controller.port}?from=billing@shop.example"
    app = make_app(store_url, outreach_channels={"email": SecretStr(url)})
    try:
        ingest(app, [failed("pi_4", "stripe:expired_card", customer_email="ana@example.org",
                            customer_name="Ana")])  # fmt: skip
        climb_hours(app, 30)
        case = only_case(app)
        m = t.messages.c
        with app.engine.connect() as conn:
            sent = conn.execute(sa.select(m.recipient, m.template, m.status)).all()
        assert sent == [("ana@example.org", "payment_failed", "sent")]
        [message] = inbox.messages()
        assert message["To"] == "ana@example.org"
        body = message.get_body(("plain",))
        assert body is not None
        assert "Ana" in body.get_content()
        assert "/self-service/" in body.get_content()
        with app.engine.connect() as conn:
            grants = conn.execute(sa.select(t.selfservice_grants.c.actions)).scalars().all()
        assert len(grants) == 1
        assert case.status.value == "new"  # waiting 3 days for a new card
        climb_hours(app, 24 * 4, start=T0 + 30 * H)
        # No new card came and the card cannot be retried: a person takes over.
        assert only_case(app).status.value == "escalated"
        assert attempts(app)[-1][:2] == ("escalate", "escalated")
        assert len(inbox.messages()) == 1
        assert verify_audit(reader=app.reader).is_intact
    finally:
        app.close()
        controller.stop()


def test_a_small_failed_payment_is_written_off_and_posted(rec_app: App) -> None:
    small = failed("pi_5", "stripe:insufficient_funds")
    small["amount"] = "3.50"
    ingest(rec_app, [small])
    report = climb_hours(rec_app, 1)

    case = only_case(rec_app)
    assert (case.status.value, case.outcome) == ("resolved", "written_off")
    assert case.written_off_amount == Decimal("3.50")
    assert report.recovered == 0
    assert attempts(rec_app) == []
    j = t.journal_entries.c
    with rec_app.engine.connect() as conn:
        [(kind, lines)] = conn.execute(sa.select(j.kind, j.lines)).all()
    assert kind == "write_off"
    debits = sum(Decimal(line["debit"] or 0) for line in lines)
    credits = sum(Decimal(line["credit"] or 0) for line in lines)
    assert debits == credits == Decimal("3.50")
    climb_hours(rec_app, 1)  # nothing more: posted once
    with rec_app.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.journal_entries)).scalar() == 1


def test_a_recovered_case_resolves_only_when_its_writeback_is_confirmed(
    store_url: str, tmp_path: Path
) -> None:
    from recoup.services.worker import Writeback, run_due
    from recoup.settings import WritebackSettings

    settings = Settings(
        database=DatabaseSettings(url=store_url, auto_upgrade=False),
        recovery=RecoverySettings(gateway="simulator", simulator_seed=3),
        writeback=WritebackSettings(target="file", folder=tmp_path / "out"),
    )
    app = bootstrap(settings, clock=FixedClock(T0))
    app.ensure_schema()
    try:
        payments = [failed(f"pi_w{i}", "stripe:processing_error") for i in range(6)]
        ingest(app, payments)
        recovery = app.recovery()
        for hour in range(24 * 4):
            run_recovery(uow=app.uow, clock=FixedClock(T0 + hour * H), recovery=recovery)
        with app.reader() as tx:
            cases = tx.list_cases({"status": None}, 20)
        waiting = [c for c in cases if c.pending_resolution]
        assert waiting, "no retry of a processing error recovered in four days"
        assert all(c.status.value != "resolved" for c in waiting)
        assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
        port = app.writeback_port()
        assert port is not None
        at = T0 + 4 * 24 * H
        report = run_due(uow=app.uow, clock=FixedClock(at), detectors=app.detectors,
                         writeback=Writeback(port))  # fmt: skip
        assert report.writeback.confirmed == len(waiting)
        files = sorted((tmp_path / "out").iterdir())
        assert len(files) == len(waiting)
        with app.reader() as tx:
            done = {c.id: c for c in tx.list_cases({"status": None}, 20)}
        for case in waiting:
            after = done[case.id]
            assert (after.status.value, after.outcome) == ("resolved", "recovered")
            assert after.recovered_amount == Decimal("40.00")
            assert after.pending_resolution is None
        again = run_due(uow=app.uow, clock=FixedClock(at + H), detectors=app.detectors,
                        writeback=Writeback(port))  # fmt: skip
        assert again.writeback.claimed == 0
        assert len(sorted((tmp_path / "out").iterdir())) == len(waiting)
        assert verify_audit(reader=app.reader).is_intact
    finally:
        app.close()


def test_a_self_service_choice_moves_the_climb_once(rec_app: App) -> None:
    from recoup.domain.errors import ConflictError, PermissionDeniedError
    from recoup.domain.recovery.selfservice import WrongCodeError
    from recoup.services.selfservice import issue_case_link, redeem_link

    ingest(rec_app, [failed("pi_6", "stripe:insufficient_funds")])
    recovery = rec_app.recovery()
    run_recovery(uow=rec_app.uow, clock=FixedClock(T0), recovery=recovery)  # climb started
    case = only_case(rec_app)
    issued = issue_case_link(
        case.id[:8], ["retry_now", "payment_plan"], actor="user:ana", uow=rec_app.uow,
        clock=FixedClock(T0 + H), recovery=recovery,
    )  # fmt: skip
    token = issued.grant.token
    wrong = "000000" if issued.grant.code != "000000" else "111111"
    with pytest.raises(WrongCodeError):
        redeem_link(token, wrong, "retry_now", uow=rec_app.uow, clock=FixedClock(T0 + 2 * H),
                    recovery=recovery)  # fmt: skip
    with pytest.raises(PermissionDeniedError, match="does not offer"):
        redeem_link(token, issued.grant.code, "dispute", uow=rec_app.uow,
                    clock=FixedClock(T0 + 2 * H), recovery=recovery)  # fmt: skip

    # The customer asks for a retry now (mid-cycle: the funding-day timing gives way).
    redeem_link(token, issued.grant.code, "retry_now", uow=rec_app.uow,
                clock=FixedClock(T0 + 3 * H), recovery=recovery)  # fmt: skip
    retries = [(o, at) for kind, o, at in attempts(rec_app) if kind == "retry"]
    assert retries == [(retries[0][0], T0 + 3 * H)]
    assert retries[0][0] in ("succeeded", "failed")
    with pytest.raises(ConflictError, match="used already"):
        redeem_link(token, issued.grant.code, "retry_now", uow=rec_app.uow,
                    clock=FixedClock(T0 + 4 * H), recovery=recovery)  # fmt: skip
    g = t.selfservice_grants.c
    with rec_app.engine.connect() as conn:
        used, action, failures = conn.execute(sa.select(g.used_at, g.used_action,
                                                        g.failed_attempts)).one()  # fmt: skip
    assert (used, action, failures) == (T0 + 3 * H, "retry_now", 1)
    a = t.audit_log.c
    with rec_app.engine.connect() as conn:
        actions = conn.execute(sa.select(a.action)).scalars().all()
    assert {"selfservice.issued", "selfservice.wrong_code", "selfservice.redeemed",
            "recovery.choice"} <= set(actions)  # fmt: skip
    assert verify_audit(reader=rec_app.reader).is_intact


def test_a_lost_dispute_stops_its_climb_and_posts_the_chargeback_once(rec_app: App) -> None:
    opened = record("d_2", "dispute.opened", amount="80.00", reason="visa:10.4", dispute="dp_2",
                    charge="ch_2", customer="cus_2")  # fmt: skip
    lost = record("d_3", "dispute.lost", minutes=60, amount="80.00", dispute="dp_2",
                  charge="ch_2", customer="cus_2")  # fmt: skip
    ingest(rec_app, [opened])
    ingest(rec_app, [lost])
    climb_hours(rec_app, 2)
    climb_hours(rec_app, 2)

    case = only_case(rec_app)
    assert (case.outcome, case.lost_amount) == ("lost", Decimal("80.00"))
    j = t.journal_entries.c
    with rec_app.engine.connect() as conn:
        [(kind, lines)] = conn.execute(sa.select(j.kind, j.lines)).all()
    assert kind == "chargeback"
    assert sum(Decimal(x["debit"] or 0) for x in lines) == Decimal("80.00")
    assert sum(Decimal(x["credit"] or 0) for x in lines) == Decimal("80.00")


def test_dispute_evidence_goes_to_the_psp_once_and_onto_the_timeline(rec_app: App) -> None:
    from recoup.services.recovery import submit_evidence

    ingest(rec_app, [record("d_4", "dispute.opened", amount="25.00", reason="visa:13.1",
                            dispute="dp_4", charge="ch_4", customer="cus_4")])  # fmt: skip
    case = only_case(rec_app)
    recovery = rec_app.recovery()
    evidence = {"product_description": "blue mug", "shipping_tracking_number": "1Z999"}
    first = submit_evidence(case.id, evidence, submit=True, actor="user:ana", uow=rec_app.uow,
                            clock=rec_app.clock, recovery=recovery)  # fmt: skip
    again = submit_evidence(case.id, evidence, submit=True, actor="user:ana", uow=rec_app.uow,
                            clock=rec_app.clock, recovery=recovery)  # fmt: skip
    assert first.status == again.status == "submitted"
    evidence_attempts = [x for x in attempts(rec_app) if x[0] == "evidence"]
    assert len(evidence_attempts) == 1
    with rec_app.reader() as tx:
        summaries = [e["summary"] for e in tx.case_timeline(case.id)]
    assert "evidence submitted: submitted" in summaries


def test_with_external_accounting_each_entry_is_written_back_too(
    store_url: str, tmp_path: Path
) -> None:
    import json

    from recoup.services.worker import Writeback, run_due
    from recoup.settings import WritebackSettings

    settings = Settings(
        database=DatabaseSettings(url=store_url, auto_upgrade=False),
        recovery=RecoverySettings(external_accounting=True),
        writeback=WritebackSettings(target="file", folder=tmp_path / "out"),
    )
    app = bootstrap(settings, clock=FixedClock(T0))
    app.ensure_schema()
    try:
        small = failed("pi_x", "stripe:insufficient_funds")
        small["amount"] = "2.00"
        ingest(app, [small])
        climb_hours(app, 1)
        assert (
            only_case(app).pending_resolution is not None
        )  # the write-off waits for its writeback
        port = app.writeback_port()
        assert port is not None
        report = run_due(uow=app.uow, clock=FixedClock(T0 + 2 * H), detectors=app.detectors,
                         writeback=Writeback(port))  # fmt: skip
        assert report.writeback.confirmed == 2  # the resolution and the journal entry
        assert only_case(app).outcome == "written_off"
        bodies = [json.loads(p.read_text()) for p in sorted((tmp_path / "out").iterdir())]
        operations = sorted(b["operation"] for b in bodies)
        assert operations == ["journal_entry", "record_outcome"]
        [journal] = [b for b in bodies if b["operation"] == "journal_entry"]
        lines = journal["payload"]["lines"]
        assert sum(Decimal(x["debit"] or 0) for x in lines) == Decimal("2.00")
    finally:
        app.close()
