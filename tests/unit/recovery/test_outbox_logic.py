"""The outbox's pure rules: keys, what one attempt does to an item, replay, and the resolution
that waits on a writeback."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recoup.domain.cases.case import Case, CaseStatus
from recoup.domain.detection.taxonomy import Tier
from recoup.domain.errors import ConflictError, InvalidInputError
from recoup.domain.recovery.outbox import (
    MAX_KEY_CHARS,
    OutboxItem,
    OutboxStatus,
    after_attempt,
    apply_on_confirm,
    idempotency_key,
    new_item,
    on_confirm_of,
    outbox_id,
    replayed,
)
from recoup.domain.recovery.writeback import DEFAULT_CAP, WritebackResult, backoff_ceiling

NOW = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
CASE = "0f3c5a52-8d1e-4b7a-9c2e-6a0d4e1b2c3d"
OK = WritebackResult("confirmed", "HTTP 200", 200, reference="erp-1")
DOWN = WritebackResult("retry", "HTTP 503 from erp", 503)
REFUSED = WritebackResult("terminal", "HTTP 400 from erp: unknown order", 400)
RESOLVE = on_confirm_of("recovered", "retry succeeded", recovered_amount=Decimal("25.00"))


def item(**changes: object) -> OutboxItem:
    base = new_item(case_id=CASE, target="erp", operation="record_outcome",
                    payload={"amount": Decimal("25.00")}, key="step-3", now=NOW,
                    on_confirm=RESOLVE)  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


def case(status: CaseStatus = CaseStatus.IN_PROGRESS) -> Case:
    return Case(
        id=CASE, type="payment_failed", category="payments", entity_kind="payment",
        entity_key="pi_1", status=status, tier=Tier.STRAIGHT_THROUGH, owner_team="ops",
        queue="ops.system", breakpoint="transaction", kind="system", title="t", opened_at=NOW,
        updated_at=NOW, first_seen_at=NOW, last_seen_at=NOW, sla_goal_at=NOW, sla_due_at=NOW,
        pauses_automation=False, pending_resolution=dict(RESOLVE),
    )  # fmt: skip


# -- keys ----------------------------------------------------------------------------------------


def test_the_key_names_the_case_the_operation_and_the_change_never_the_attempt() -> None:
    assert idempotency_key(CASE, "record_outcome", "step-3") == f"{CASE}:record_outcome:step-3"
    first, again = item(), item()
    assert (first.id, first.idempotency_key) == (again.id, again.idempotency_key)
    assert first.id == outbox_id(first.idempotency_key)
    assert (first.status, first.attempts, first.next_at) == (OutboxStatus.PENDING, 0, NOW)
    assert first.request().idempotency_key == first.idempotency_key


def test_a_long_key_is_cut_with_a_digest_so_two_long_keys_never_meet() -> None:
    one = idempotency_key(CASE, "record_outcome", "x" * 300 + "1")
    two = idempotency_key(CASE, "record_outcome", "x" * 300 + "2")
    assert len(one) == len(two) == MAX_KEY_CHARS
    assert one != two
    assert one.startswith(f"{CASE}:record_outcome:xxx")


@pytest.mark.parametrize(
    ("on_confirm", "message"),
    [
        ({"resolution": "fixed", "reason": "r"}, "resolution 'fixed' is not one of"),
        ({"resolution": "recovered", "reason": " "}, "a reason is required"),
        ({"resolution": "recovered", "reason": "r", "recoverd_amount": "1"}, "unknown key"),
        ({"resolution": "recovered", "reason": "r", "lost_amount": 1.5}, "not a decimal amount"),
        ({"resolution": "recovered", "reason": "r", "lost_amount": "NaN"}, "not a decimal"),
    ],
)
def test_a_resolution_that_could_not_be_applied_is_refused_when_queued(
    on_confirm: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        new_item(case_id=CASE, target="erp", operation="op", payload={}, key="k", now=NOW,
                 on_confirm=on_confirm)  # fmt: skip


def test_an_empty_key_part_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="key must not be empty"):
        idempotency_key(CASE, "record_outcome", " ")


# -- one attempt -------------------------------------------------------------------------------


def test_confirmed_is_final_with_the_time_and_the_answer() -> None:
    done = after_attempt(item(), OK, NOW, random.Random(1))
    assert (done.status, done.attempts, done.next_at, done.confirmed_at) == (
        OutboxStatus.CONFIRMED, 1, None, NOW)  # fmt: skip
    assert (done.last_http_status, done.last_detail) == (200, "HTTP 200")


def test_terminal_goes_to_dead_letter_at_once() -> None:
    dead = after_attempt(item(), REFUSED, NOW, random.Random(1))
    assert (dead.status, dead.attempts, dead.next_at, dead.confirmed_at) == (
        OutboxStatus.DEAD, 1, None, None)  # fmt: skip
    assert dead.last_detail == "HTTP 400 from erp: unknown order"


def test_retry_is_scheduled_with_jitter_a_seed_repeats_it() -> None:
    first = after_attempt(item(), DOWN, NOW, random.Random(7))
    assert first.status is OutboxStatus.RETRYING
    assert first.next_at is not None
    assert NOW <= first.next_at <= NOW + timedelta(seconds=30)
    assert after_attempt(item(), DOWN, NOW, random.Random(7)).next_at == first.next_at
    second = after_attempt(first, DOWN, NOW, random.Random(7))
    assert second.attempts == 2
    assert second.next_at is not None
    assert second.next_at <= NOW + timedelta(minutes=1)


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    asked = WritebackResult("retry", "HTTP 429", 429, retry_after=timedelta(minutes=10))
    assert after_attempt(item(), asked, NOW, random.Random(1)).next_at == NOW + timedelta(
        minutes=10
    )
    greedy = WritebackResult("retry", "HTTP 429", 429, retry_after=timedelta(days=9))
    assert after_attempt(item(), greedy, NOW, random.Random(1)).next_at == NOW + DEFAULT_CAP


def test_a_retry_on_the_last_allowed_attempt_is_dead_and_says_it_gave_up() -> None:
    last = after_attempt(item(attempts=2, status=OutboxStatus.RETRYING), DOWN, NOW,
                         random.Random(1), max_attempts=3)  # fmt: skip
    assert (last.status, last.attempts, last.next_at) == (OutboxStatus.DEAD, 3, None)
    assert last.last_detail == "gave up after 3 attempts: HTTP 503 from erp"


@pytest.mark.parametrize("status", [OutboxStatus.CONFIRMED, OutboxStatus.DEAD])
def test_only_a_due_item_is_attempted(status: OutboxStatus) -> None:
    with pytest.raises(InvalidInputError, match=f"is {status.value}; only a pending"):
        after_attempt(item(status=status, next_at=None), OK, NOW, random.Random(1))


@settings(max_examples=200, deadline=None)
@given(
    outcomes=st.lists(st.sampled_from(["confirmed", "retry", "terminal"]), max_size=20),
    max_attempts=st.integers(min_value=1, max_value=14),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_any_sequence_of_answers_ends_once_and_never_exceeds_the_attempts(
    outcomes: list[str], max_attempts: int, seed: int
) -> None:
    rng, current, now, tried = random.Random(seed), item(), NOW, 0
    for outcome in outcomes:
        if not current.status.is_due_status:
            break
        result = WritebackResult(outcome, outcome, None)  # type: ignore[arg-type]
        current = after_attempt(current, result, now, rng, max_attempts)
        tried += 1
        assert current.attempts == tried <= max_attempts
        if current.status is OutboxStatus.RETRYING:
            assert current.next_at is not None
            assert now <= current.next_at <= now + backoff_ceiling(tried)
            now = current.next_at
        else:
            assert current.next_at is None
            assert (current.status is OutboxStatus.CONFIRMED) == (outcome == "confirmed")
            assert (current.confirmed_at is not None) == (outcome == "confirmed")
    if tried == max_attempts:
        assert not current.status.is_due_status


# -- replay --------------------------------------------------------------------------------------


def test_replay_makes_a_dead_item_pending_now_with_fresh_attempts_and_keeps_the_error() -> None:
    dead = after_attempt(item(), REFUSED, NOW, random.Random(1))
    later = NOW + timedelta(days=1)
    again = replayed(dead, later)
    assert (again.status, again.attempts, again.next_at) == (OutboxStatus.PENDING, 0, later)
    assert again.last_detail == dead.last_detail
    assert (again.id, again.idempotency_key) == (dead.id, dead.idempotency_key)


@pytest.mark.parametrize("status", [OutboxStatus.CONFIRMED, OutboxStatus.PENDING])
def test_only_a_dead_item_is_replayed(status: OutboxStatus) -> None:
    with pytest.raises(InvalidInputError, match="only a dead item is replayed"):
        replayed(item(status=status), NOW)


# -- the resolution waiting on the writeback ---------------------------------------------------


def test_confirmation_resolves_the_case_sets_its_figures_and_clears_the_wait() -> None:
    waiting = case()
    later = NOW + timedelta(hours=2)

    plan = apply_on_confirm(waiting, RESOLVE, later, "system:writeback")

    assert (waiting.status, waiting.outcome, waiting.resolved_at) == (
        CaseStatus.RESOLVED, "recovered", later)  # fmt: skip
    assert (waiting.recovered_amount, waiting.pending_resolution) == (Decimal("25.00"), None)
    assert plan.resolved == {CASE: waiting}
    (audit,) = plan.audit
    assert (audit.action, audit.actor) == ("case.resolved", "system:writeback")
    assert audit.data["before"]["pending_resolution"] == RESOLVE
    assert audit.data["after"]["recovered_amount"] == "25.00"
    assert audit.data["after"]["pending_resolution"] is None


def test_a_case_the_lifecycle_will_not_resolve_is_left_untouched() -> None:
    closed = case(CaseStatus.CLOSED)
    before = closed.snapshot()
    with pytest.raises(ConflictError, match="is closed; it cannot move to resolved"):
        apply_on_confirm(closed, RESOLVE, NOW, "system:writeback")
    assert closed.snapshot() == before


def test_on_confirm_is_json_ready() -> None:
    assert on_confirm_of("written_off", "below threshold", written_off_amount=Decimal("4.50"),
                         handling_cost=Decimal("0.30"), data={"entry": "j1"}) == {
        "resolution": "written_off", "reason": "below threshold",
        "written_off_amount": "4.50", "handling_cost": "0.30", "data": {"entry": "j1"},
    }  # fmt: skip
