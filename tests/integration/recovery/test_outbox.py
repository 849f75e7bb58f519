"""The writeback outbox on SQLite and PostgreSQL, in front of the real signed-webhook adapter and
a real receiving server on 127.0.0.1 (stdlib ``ThreadingHTTPServer``, an ephemeral port).

The receiver behaves as a real one must: it verifies the signature, applies each idempotency
key once, and answers a repeat with its first answer. Its phases are scripted by the test: a
500 outage, then a hang after applying (our timeout: the effect landed, we do not know it),
then recovery; a payload it refuses with 400 until it is "fixed".
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa

from recoup.adapters.store import tables as t
from recoup.adapters.writeback.http_webhook import HttpWebhookWriteback, verify_signature
from recoup.bootstrap import App
from recoup.domain.cases.case import Case, CaseStatus
from recoup.domain.cases.casing import CasePlan
from recoup.domain.detection.taxonomy import Tier
from recoup.domain.errors import ConflictError, NotFoundError
from recoup.domain.money import Money
from recoup.domain.recovery.ledger import LedgerOptions, postings_for, reverse
from recoup.domain.recovery.outbox import OutboxItem, OutboxStatus, on_confirm_of
from recoup.domain.recovery.writeback import WritebackRequest, WritebackResult
from recoup.services.writeback import (
    deliver_due,
    enqueue_writeback,
    journal_entries,
    outbox_overview,
    post_journal,
    replay,
    resolve_or_enqueue,
    writeback_resolver,
)
from tests.conftest import T0

SECRET = "whsec_recoup_fixture_0123456789abcdef"
CLIENT_TIMEOUT = 0.3


# -- a receiving ERP endpoint on 127.0.0.1 -------------------------------------------------------


class Receiver:
    """``phase``: ``fail`` answers 500 and applies nothing; ``hang`` applies the change, then
    holds the answer past the client's timeout; ``ok`` applies and answers 200. A payload with
    ``"reject": true`` is answered 400 (and not applied) until ``fixed`` is set. A key is
    applied once; a repeat gets the first answer again."""

    def __init__(self) -> None:
        self.phase = "ok"
        self.fixed = False
        self.requests: Counter[str] = Counter()
        self.effects: Counter[str] = Counter()
        self.answers: dict[str, bytes] = {}
        self.bad_signatures = 0
        self.lock = threading.Lock()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                # OSError: the client gave up (our timeout); a real server just logs it
                with contextlib.suppress(OSError):
                    receiver.handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/recoup"

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers["Content-Length"]))
        key = request.headers["Idempotency-Key"]
        signature = request.headers.get("Recoup-Signature", "")
        if not verify_signature(signature, body, SECRET, datetime.now(UTC)):
            with self.lock:
                self.bad_signatures += 1
            self.answer(request, 401, b'{"error":"bad signature"}')
            return
        with self.lock:
            self.requests[key] += 1
            envelope = json.loads(body)
            if key in self.answers:  # a repeat: the first answer, no second effect
                status, answer, hang = 200, self.answers[key], False
            elif envelope["payload"].get("reject") and not self.fixed:
                status, answer, hang = 400, b'{"error":"unknown order"}', False
            elif self.phase == "fail":
                status, answer, hang = 500, b'{"error":"database down"}', False
            else:
                self.effects[key] += 1
                answer = json.dumps({"reference": f"erp-{len(self.answers) + 1}"}).encode()
                self.answers[key] = answer
                status, hang = 200, self.phase == "hang"
        if hang:
            self.release.wait(CLIENT_TIMEOUT * 4)
        self.answer(request, status, answer)

    @staticmethod
    def answer(request: BaseHTTPRequestHandler, status: int, body: bytes) -> None:
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.server.shutdown()
        server.server.server_close()
        server.thread.join(5)


@pytest.fixture
def port(receiver: Receiver) -> Iterator[HttpWebhookWriteback]:
    with HttpWebhookWriteback(receiver.url, SECRET, timeout=CLIENT_TIMEOUT) as adapter:
        yield adapter


# -- helpers -----------------------------------------------------------------------------------


def new_case(n: int, at: datetime = T0) -> Case:
    return Case(
        id=str(uuid.UUID(int=n + 1)), type="payment_failed", category="payments",
        entity_kind="payment", entity_key=f"pi_{n}", status=CaseStatus.IN_PROGRESS,
        tier=Tier.STRAIGHT_THROUGH, owner_team="payments_ops", queue="payments_ops.system",
        breakpoint="transaction", kind="system", title=f"payment pi_{n} failed", opened_at=at,
        updated_at=at, first_seen_at=at, last_seen_at=at, sla_goal_at=at + timedelta(hours=4),
        sla_due_at=at + timedelta(days=1), pauses_automation=False, amount=Decimal("25.00"),
        currency="EUR", open_key=f"payment_failed|payment|pi_{n}",
    )  # fmt: skip


def seed(app: App, count: int) -> list[str]:
    cases = [new_case(n) for n in range(count)]
    with app.uow() as tx:
        tx.save_plan(CasePlan(created={c.id: c for c in cases}), [])
        tx.commit()
    return [c.id for c in cases]


def queue(
    app: App, case_id: str, *, key: str = "step-1", reject: bool = False
) -> OutboxItem | None:
    payload: dict[str, Any] = {"payment_intent": f"pi_for_{case_id[-4:]}", "outcome": "recovered",
                               "amount": Decimal("25.00")}  # fmt: skip
    if reject:
        payload["reject"] = True
    with app.uow() as tx:
        case = tx.cases_by_id([case_id])[case_id]
        plan = CasePlan()
        item = enqueue_writeback(
            tx, plan, case, target="erp", operation="record_outcome", payload=payload, key=key,
            now=app.clock.now(),
            on_confirm=on_confirm_of("recovered", "retry succeeded",
                                     recovered_amount=Decimal("25.00")),
        )  # fmt: skip
        tx.save_plan(plan, [])
        tx.append_audit(plan.audit)
        tx.commit()
    return item


def cases(app: App, ids: list[str]) -> dict[str, Case]:
    with app.reader() as tx:
        return tx.cases_by_id(ids)


def items(app: App) -> dict[str, OutboxItem]:
    with app.reader() as tx:
        return {i.case_id: i for i in tx.list_outbox(None, 100)}


def audit_actions(app: App, prefix: str) -> Counter[str]:
    with app.reader() as tx:
        rows = tx.conn.execute(sa.select(t.audit_log.c.action)).scalars()
        return Counter(a for a in rows if a.startswith(prefix))


def run(app: App, port: HttpWebhookWriteback, seed_: int = 1, **kw: Any) -> Any:
    return deliver_due(uow=app.uow, clock=app.clock, port=port, rng=random.Random(seed_), **kw)


# -- the required scenario -----------------------------------------------------------------------


def test_outage_timeout_recovery_applies_each_case_once_and_resolves_only_when_confirmed(
    app: App, receiver: Receiver, port: HttpWebhookWriteback
) -> None:
    ids = seed(app, 4)
    good, rejected = ids[:3], ids[3]
    for case_id in good:
        assert queue(app, case_id) is not None
    assert queue(app, rejected, reject=True) is not None
    assert queue(app, good[0]) is None  # the same change queued again: one row, one effect
    for case in cases(app, ids).values():
        assert case.status is CaseStatus.IN_PROGRESS
        assert case.pending_resolution == {"resolution": "recovered", "reason": "retry succeeded",
                                           "recovered_amount": "25.00"}  # fmt: skip

    # 1. the ERP is down: 500 for the good ones (retry), 400 for the bad one (dead letter)
    receiver.phase = "fail"
    report = run(app, port)
    assert (report.claimed, report.retrying, report.dead, report.confirmed) == (4, 3, 1, 0)
    state = items(app)
    assert [state[c].status for c in good] == [OutboxStatus.RETRYING] * 3
    assert all(T0 <= state[c].next_at <= T0 + timedelta(seconds=30) for c in good)  # type: ignore[operator]
    assert (state[rejected].status, state[rejected].last_http_status) == (OutboxStatus.DEAD, 400)
    assert "unknown order" in (state[rejected].last_detail or "")
    assert run(app, port).claimed == 0  # nothing due before the backoff is over

    # 2. the ERP applies the change but answers too late: we time out and must not resolve
    receiver.phase = "hang"
    app.clock.advance(timedelta(seconds=31))  # type: ignore[attr-defined]
    report = run(app, port, seed_=2)
    assert (report.claimed, report.retrying, report.confirmed) == (3, 3, 0)
    assert all("timed out" in (items(app)[c].last_detail or "") for c in good)
    assert sorted(receiver.effects.values()) == [1, 1, 1]  # landed remotely ...
    assert all(c.status is CaseStatus.IN_PROGRESS for c in cases(app, ids).values())  # ... not here

    # 3. the ERP answers again: the repeat gets the first answer, no second effect
    receiver.phase = "ok"
    receiver.release.set()
    app.clock.advance(timedelta(seconds=61))  # type: ignore[attr-defined]
    report = run(app, port, seed_=3)
    assert (report.claimed, report.confirmed, report.cases_resolved) == (3, 3, 3)
    resolved = cases(app, ids)
    for case_id in good:
        case = resolved[case_id]
        assert (case.status, case.outcome, case.resolved_at) == (
            CaseStatus.RESOLVED,
            "recovered",
            app.clock.now(),
        )
        assert (case.recovered_amount, case.pending_resolution) == (Decimal("25.00"), None)
        item = items(app)[case_id]
        assert (item.status, item.attempts, item.confirmed_at) == (
            OutboxStatus.CONFIRMED, 3, app.clock.now())  # fmt: skip
    assert resolved[rejected].status is CaseStatus.IN_PROGRESS  # its writeback is dead
    assert set(receiver.effects.values()) == {1}
    assert len(receiver.effects) == 3
    assert sorted(receiver.requests.values()) == [1, 3, 3, 3]  # the 400 was sent once
    assert receiver.bad_signatures == 0

    # 4. replaying a confirmed writeback does nothing
    confirmed_id = items(app)[good[0]].id
    result = replay(uow=app.uow, clock=app.clock, ids=[confirmed_id])
    assert (result.replayed, result.already_confirmed) == ([], [confirmed_id])
    assert items(app)[good[0]].status is OutboxStatus.CONFIRMED
    assert run(app, port).claimed == 0

    # 5. the dead letter: fixed on the ERP side, replayed, sent again, confirmed, resolved
    receiver.fixed = True
    dead_id = items(app)[rejected].id
    result = replay(uow=app.uow, clock=app.clock, ids=[dead_id[:8]])
    assert result.replayed == [dead_id]
    assert (items(app)[rejected].status, items(app)[rejected].attempts) == (OutboxStatus.PENDING, 0)
    report = run(app, port)
    assert (report.claimed, report.confirmed, report.cases_resolved) == (1, 1, 1)
    assert cases(app, [rejected])[rejected].status is CaseStatus.RESOLVED
    assert len(receiver.effects) == 4
    assert set(receiver.effects.values()) == {1}

    # every status change is on the audit trail; each case resolved exactly once
    assert audit_actions(app, "writeback.") == Counter({
        "writeback.queued": 4, "writeback.sent": 11, "writeback.retry_scheduled": 6,
        "writeback.dead": 1, "writeback.confirmed": 4, "writeback.replayed": 1,
    })  # fmt: skip
    assert audit_actions(app, "case.resolved") == Counter({"case.resolved": 4})
    assert audit_actions(app, "case.resolution_pending") == Counter({"case.resolution_pending": 4})
    with app.reader() as tx:
        assert tx.audit_head()[0] > 0
    overview = outbox_overview(reader=app.reader)
    assert overview.counts == {"pending": 0, "retrying": 0, "confirmed": 4, "dead": 0}
    assert (overview.oldest_due, overview.dead) == (None, [])


def test_a_crash_between_sending_and_recording_resends_safely_and_resolves_once(
    app: App, receiver: Receiver, port: HttpWebhookWriteback
) -> None:
    (case_id,) = seed(app, 1)
    queue(app, case_id)
    # a runner claims the item and sends it, then dies before recording the answer
    with app.uow() as tx:
        (claimed,) = tx.claim_due_outbox(
            app.clock.now(), 10, app.clock.now() + timedelta(minutes=5)
        )
        tx.commit()
    assert port.deliver(claimed.request()).is_confirmed
    assert run(app, port).claimed == 0  # leased: another runner does not send it meanwhile
    assert cases(app, [case_id])[case_id].status is CaseStatus.IN_PROGRESS

    app.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    report = run(app, port)

    assert (report.claimed, report.confirmed, report.cases_resolved) == (1, 1, 1)
    assert receiver.requests[claimed.idempotency_key] == 2
    assert receiver.effects[claimed.idempotency_key] == 1
    assert audit_actions(app, "case.resolved") == Counter({"case.resolved": 1})


class Scripted:
    """A port answering from a script, for the rules that need no network."""

    def __init__(self, *results: WritebackResult) -> None:
        self.results = list(results)
        self.sent: list[WritebackRequest] = []

    def deliver(self, request: WritebackRequest) -> WritebackResult:
        self.sent.append(request)
        return self.results.pop(0)


def test_retry_on_the_last_allowed_attempt_goes_to_dead_letter(app: App) -> None:
    (case_id,) = seed(app, 1)
    queue(app, case_id)
    port = Scripted(*[WritebackResult("retry", "HTTP 503 from erp", 503)] * 3)
    for _ in range(3):
        deliver_due(uow=app.uow, clock=app.clock, port=port, rng=random.Random(0),
                    max_attempts=3)  # fmt: skip
        app.clock.advance(timedelta(hours=7))  # type: ignore[attr-defined]
    item = items(app)[case_id]
    assert (item.status, item.attempts, item.next_at) == (OutboxStatus.DEAD, 3, None)
    assert item.last_detail == "gave up after 3 attempts: HTTP 503 from erp"
    assert len(port.sent) == 3
    assert cases(app, [case_id])[case_id].pending_resolution is not None


def test_replay_all_dead_and_unknown_ids(app: App) -> None:
    ids = seed(app, 3)
    for case_id in ids:
        queue(app, case_id)
    port = Scripted(WritebackResult("terminal", "HTTP 404"), WritebackResult("terminal", "x"),
                    WritebackResult("confirmed", "ok", 200))  # fmt: skip
    deliver_due(uow=app.uow, clock=app.clock, port=port, rng=random.Random(0))
    with pytest.raises(NotFoundError, match="no writeback 'ffffffff'"):
        replay(uow=app.uow, clock=app.clock, ids=["ffffffff"])
    assert sorted(i.status for i in items(app).values()) == ["confirmed", "dead", "dead"]

    report = replay(uow=app.uow, clock=app.clock, ids=None)

    assert len(report.replayed) == 2
    assert report.already_confirmed == []
    assert sorted(i.status for i in items(app).values()) == ["confirmed", "pending", "pending"]


def test_a_case_resolved_meanwhile_keeps_the_writeback_confirmed_and_notes_why(app: App) -> None:
    (case_id,) = seed(app, 1)
    queue(app, case_id)
    with app.uow() as tx:  # a person closes the case while the writeback is on its way
        case = tx.cases_by_id([case_id])[case_id]
        case.status = CaseStatus.CLOSED
        tx.save_plan(CasePlan(updated={case.id: case}), [])
        tx.commit()
    report = deliver_due(uow=app.uow, clock=app.clock, port=Scripted(
        WritebackResult("confirmed", "HTTP 200", 200)), rng=random.Random(0))  # fmt: skip
    assert (report.confirmed, report.cases_resolved, report.resolutions_refused) == (1, 0, 1)
    item = items(app)[case_id]
    assert item.status is OutboxStatus.CONFIRMED
    assert "case not resolved" in (item.last_detail or "")
    assert "closed" in (item.last_detail or "")
    case = cases(app, [case_id])[case_id]
    assert (case.status, case.pending_resolution, case.outcome) == (CaseStatus.CLOSED, None, None)


def test_two_writebacks_for_one_resolution_resolve_when_both_are_confirmed(app: App) -> None:
    (case_id,) = seed(app, 1)
    queue(app, case_id, key="erp")
    queue(app, case_id, key="stripe")
    port = Scripted(WritebackResult("confirmed", "ok", 200), WritebackResult("retry", "503", 503),
                    WritebackResult("confirmed", "ok", 200))  # fmt: skip
    first = deliver_due(uow=app.uow, clock=app.clock, port=port, rng=random.Random(0))
    assert (first.confirmed, first.retrying, first.cases_resolved) == (1, 1, 0)
    assert cases(app, [case_id])[case_id].status is CaseStatus.IN_PROGRESS
    app.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    second = deliver_due(uow=app.uow, clock=app.clock, port=port, rng=random.Random(0))
    assert (second.confirmed, second.cases_resolved) == (1, 1)
    assert cases(app, [case_id])[case_id].status is CaseStatus.RESOLVED


def test_a_different_resolution_cannot_wait_on_the_same_case(app: App) -> None:
    (case_id,) = seed(app, 1)
    queue(app, case_id)
    with app.uow() as tx:
        case = tx.cases_by_id([case_id])[case_id]
        with pytest.raises(ConflictError, match="already waits to be resolved as 'recovered'"):
            enqueue_writeback(tx, CasePlan(), case, target="erp", operation="record_outcome",
                              payload={}, key="other", now=app.clock.now(),
                              on_confirm=on_confirm_of("written_off", "gave up"))  # fmt: skip
    assert len(items(app)) == 1


def test_resolve_or_enqueue_resolves_at_once_when_writeback_is_off(app: App) -> None:
    first, second = seed(app, 2)
    decided = on_confirm_of("written_off", "below threshold", written_off_amount=Decimal("4.50"))
    with app.uow() as tx:
        found = tx.cases_by_id([first, second])
        plan = CasePlan()
        now = app.clock.now()
        common: dict[str, Any] = {"operation": "record_outcome", "payload": {"x": 1}, "key": "k",
                                  "now": now, "on_confirm": decided}  # fmt: skip
        assert resolve_or_enqueue(tx, plan, found[first], target=None, **common) == "resolved"
        assert resolve_or_enqueue(tx, plan, found[second], target="erp", **common) == "queued"
        tx.save_plan(plan, [])
        tx.append_audit(plan.audit)
        tx.commit()
    with app.uow() as tx:
        again = tx.cases_by_id([second])[second]
        assert resolve_or_enqueue(tx, CasePlan(), again, target="erp", **common) == "already_queued"
    after = cases(app, [first, second])
    assert (after[first].status, after[first].written_off_amount) == (
        CaseStatus.RESOLVED,
        Decimal("4.50"),
    )
    assert (after[second].status, after[second].pending_resolution) == (
        CaseStatus.IN_PROGRESS,
        decided,
    )
    assert list(items(app)) == [second]


@pytest.mark.postgres
def test_concurrent_runners_claim_disjoint_items_on_postgresql(app: App) -> None:
    if app.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: there is nothing to skip")
    for case_id in seed(app, 4):
        queue(app, case_id)
    now = app.clock.now()
    with app.uow() as one, app.uow() as two:
        first = one.claim_due_outbox(now, 2, now + timedelta(minutes=5))
        second = two.claim_due_outbox(now, 10, now + timedelta(minutes=5))
        assert len(first) == 2
        assert len(second) == 2
        assert not {i.id for i in first} & {i.id for i in second}


# -- the journal ---------------------------------------------------------------------------------


def test_journal_entries_are_stored_once_and_read_back_by_range(app: App) -> None:
    case_id, other = seed(app, 2)
    at = T0 + timedelta(hours=1)
    write_off = postings_for("write_off", Money(Decimal("4.5"), "USD"), case_id, at, key="a1")
    fee = postings_for("fee", Money(Decimal("15"), "EUR"), other, at + timedelta(days=1), key="f1")
    assert write_off is not None
    assert fee is not None
    correction = reverse(write_off, at + timedelta(days=2))
    with app.uow() as tx:
        assert post_journal(tx, [write_off, fee, None], LedgerOptions()) == {write_off.id, fee.id}
        assert post_journal(tx, [write_off, correction], LedgerOptions()) == {correction.id}
        assert post_journal(tx, [fee], LedgerOptions(accounting_enabled=False)) == set()
        tx.commit()

    assert journal_entries(reader=app.reader) == [write_off, fee, correction]
    assert journal_entries(reader=app.reader, since=at + timedelta(days=1)) == [fee, correction]
    assert journal_entries(reader=app.reader, until=at + timedelta(days=1)) == [write_off]
    assert journal_entries(reader=app.reader, case_id=other) == [fee]
    assert audit_actions(app, "ledger.") == Counter({"ledger.posted": 3})


def test_the_resolver_for_the_recovery_runner_keys_by_resolution_and_reopen_count(
    app: App,
) -> None:
    first, second = seed(app, 2)
    off, on = writeback_resolver(None), writeback_resolver("erp")
    with app.uow() as tx:
        found = tx.cases_by_id([first, second])
        now = app.clock.now()
        args: dict[str, Any] = {"resolution": "recovered", "reason": "retry succeeded",
                                "now": now, "payload": {"payment_intent": "pi_1"},
                                "recovered_amount": Decimal("9.99")}  # fmt: skip
        for plan in (off(tx, found[first], **args), on(tx, found[second], **args)):
            tx.save_plan(plan, [])
            tx.append_audit(plan.audit)
        tx.commit()
    after = cases(app, [first, second])
    assert (after[first].status, after[first].recovered_amount) == (
        CaseStatus.RESOLVED, Decimal("9.99"))  # fmt: skip
    assert after[second].status is CaseStatus.IN_PROGRESS
    (queued,) = items(app).values()
    assert queued.idempotency_key == f"{second}:record_outcome:resolve:recovered:0"
    assert queued.on_confirm == {"resolution": "recovered", "reason": "retry succeeded",
                                 "recovered_amount": "9.99"}  # fmt: skip
