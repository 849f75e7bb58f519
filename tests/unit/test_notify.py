"""Outbound webhooks in the domain: which events a change raises, signing and verifying,
classifying answers, backoff, and a delivery's state after each attempt."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recoup.domain.cases.case import Case, CaseStatus
from recoup.domain.detection.taxonomy import Tier
from recoup.domain.errors import InvalidInputError
from recoup.domain.notify import (
    Backoff,
    CaseEvent,
    Delivery,
    DeliveryStatus,
    SendResult,
    Subscription,
    case_events,
    classify,
    delivery_id,
    next_state,
    parse_events,
    plan_deliveries,
    sign,
    verify_signature,
)
from recoup.services.notify import body_of, check_url, request_for
from tests.conftest import T0

SECRET = "whsec_0123456789abcdef"


def make_case(**changes: object) -> Case:
    case = Case(
        id="9f0c1b9e-3a9b-5f43-9d0f-0a1b2c3d4e5f", type="payment_failed", category="payments",
        entity_kind="payment", entity_key="pi_1", status=CaseStatus.NEW,
        tier=Tier.STRAIGHT_THROUGH, owner_team="payments_ops", queue="payments_ops.system",
        breakpoint="transaction", kind="system", title="t", opened_at=T0, updated_at=T0,
        first_seen_at=T0, last_seen_at=T0, sla_goal_at=T0, sla_due_at=T0,
        pauses_automation=False, amount=Decimal("10.00"), currency="EUR",
    )  # fmt: skip
    for name, value in changes.items():
        setattr(case, name, value)
    return case


def subscription(**changes: object) -> Subscription:
    sub = Subscription(id="00000000-0000-4000-8000-000000000001", url="http://127.0.0.1/x",
                       secret=SECRET, events=tuple(CaseEvent), team=None, is_active=True,
                       created_at=T0, created_by="user:ann")  # fmt: skip
    return replace(sub, **changes)  # type: ignore[arg-type]


# -- events ----------------------------------------------------------------------------------


def test_a_new_case_is_opened() -> None:
    assert case_events(None, make_case()) == [CaseEvent.OPENED]


def test_escalation_resolution_and_reopening_are_told_from_the_stored_state() -> None:
    before = make_case()
    assert case_events(before, make_case(escalation_level=1, status=CaseStatus.ESCALATED)) == [
        CaseEvent.ESCALATED
    ]
    resolved = make_case(status=CaseStatus.RESOLVED)
    assert case_events(before, resolved) == [CaseEvent.RESOLVED]
    # closing a resolved case raises nothing; reopening does
    assert case_events(resolved, make_case(status=CaseStatus.CLOSED)) == []
    assert case_events(resolved, make_case(status=CaseStatus.TRIAGED, reopen_count=1)) == [
        CaseEvent.REOPENED
    ]
    # a finding attached to an open case raises nothing
    assert case_events(before, make_case(finding_count=2)) == []


def test_parse_events_refuses_unknown_names_naming_the_field() -> None:
    assert parse_events("resolved, opened") == (CaseEvent.OPENED, CaseEvent.RESOLVED)
    with pytest.raises(InvalidInputError, match="unknown event closed") as caught:
        parse_events("opened,closed")
    assert caught.value.location.field == "events"
    with pytest.raises(InvalidInputError, match="at least one"):
        parse_events(" , ")


def test_deliveries_go_to_matching_active_subscriptions_with_a_stable_id() -> None:
    opened_only = subscription(events=(CaseEvent.OPENED,))
    other_team = subscription(id="00000000-0000-4000-8000-000000000002", team="finance")
    disabled = subscription(id="00000000-0000-4000-8000-000000000003", is_active=False)
    case = make_case()
    out = plan_deliveries([(None, case, 1)], [opened_only, other_team, disabled], T0)
    assert [(d.subscription_id, d.event, d.case_version) for d in out] == [
        (opened_only.id, CaseEvent.OPENED, 1)
    ]
    assert out[0].id == delivery_id(opened_only.id, case.id, CaseEvent.OPENED, 1)
    assert out[0].payload["type"] == "case.opened"
    assert out[0].payload["case"]["amount"] == "10.00"
    again = plan_deliveries([(None, case, 1)], [opened_only], T0 + timedelta(seconds=1))
    assert again[0].id == out[0].id


# -- signatures ------------------------------------------------------------------------------


def test_a_signed_body_verifies_and_any_change_fails() -> None:
    body = b'{"id":"d1","type":"case.opened"}'
    at = int(T0.timestamp())
    header = sign(SECRET, at, body)
    assert header.startswith(f"t={at},v1=")
    assert verify_signature(SECRET, header, body, T0)
    assert not verify_signature(SECRET, header, body + b" ", T0)
    assert not verify_signature("another secret value", header, body, T0)
    assert not verify_signature(SECRET, header, body, T0 + timedelta(minutes=6))
    assert not verify_signature(SECRET, header.replace(f"t={at}", f"t={at + 1}"), body, T0)
    assert not verify_signature(SECRET, "garbage", body, T0)
    assert not verify_signature(SECRET, f"t={at}", body, T0)


def test_a_header_with_a_second_signature_verifies_during_a_rotation() -> None:
    body = b"{}"
    at = int(T0.timestamp())
    old = sign("old secret 0123456789", at, body).partition("v1=")[2]
    header = f"{sign(SECRET, at, body)},v1={old}"
    assert verify_signature(SECRET, header, body, T0)
    assert verify_signature("old secret 0123456789", header, body, T0)


def test_the_request_carries_the_signature_of_the_exact_body() -> None:
    d = plan_deliveries([(None, make_case(), 1)], [subscription()], T0)[0]
    request = request_for(d, subscription(), T0)
    assert request.body == body_of(d)
    assert request.headers["Recoup-Event"] == "case.opened"
    assert request.headers["Recoup-Delivery"] == d.id
    assert verify_signature(SECRET, request.headers["Recoup-Signature"], request.body, T0)


# -- answers, backoff, states ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status"),
    [(200, "delivered"), (204, "delivered"), (400, "failed"), (404, "failed"), (410, "failed"),
     (408, "retrying"), (429, "retrying"), (500, "retrying"), (503, "retrying"),
     (None, "retrying"), (302, "failed"), (101, "failed")],
)  # fmt: skip
def test_classify(code: int | None, status: str) -> None:
    assert classify(code).value == status


@given(st.integers(min_value=1, max_value=60), st.integers(min_value=0, max_value=2**32))
def test_backoff_grows_to_the_cap_and_jitter_stays_in_range(attempt: int, seed: int) -> None:
    backoff = Backoff(base=timedelta(seconds=30), cap=timedelta(hours=6), jitter=0.5)
    wait = backoff.delay(attempt, random.Random(seed)).total_seconds()
    ceiling = min(6 * 3600, 30 * 2 ** (attempt - 1))
    assert ceiling * 0.5 <= wait <= ceiling


def delivery(**changes: object) -> Delivery:
    d = plan_deliveries([(None, make_case(), 1)], [subscription()], T0)[0]
    for name, value in changes.items():
        setattr(d, name, value)
    return d


def test_states_after_attempts() -> None:
    rng = random.Random(1)
    backoff = Backoff()
    d = delivery()
    a = next_state(d, SendResult(500, "HTTP 500", 12), T0, max_attempts=3, backoff=backoff,
                   rng=rng)  # fmt: skip
    assert (a.number, a.outcome, d.status, d.attempts) == (1, DeliveryStatus.RETRYING,
                                                           DeliveryStatus.RETRYING, 1)  # fmt: skip
    assert d.next_at is not None
    assert T0 + timedelta(seconds=15) <= d.next_at <= T0 + timedelta(seconds=30)
    next_state(d, SendResult(None, "ConnectTimeout", 10_000), T0, max_attempts=3,
               backoff=backoff, rng=rng)  # fmt: skip
    last = next_state(d, SendResult(503, "HTTP 503", 5), T0, max_attempts=3, backoff=backoff,
                      rng=rng)  # fmt: skip
    assert (last.number, d.status, d.next_at) == (3, DeliveryStatus.DEAD, None)

    refused = delivery()
    next_state(refused, SendResult(400, "HTTP 400", 5), T0, max_attempts=3, backoff=backoff,
               rng=rng)  # fmt: skip
    assert (refused.status, refused.attempts, refused.next_at) == (DeliveryStatus.FAILED, 1, None)

    ok = delivery()
    next_state(ok, SendResult(200, None, 5), T0, max_attempts=3, backoff=backoff, rng=rng)
    assert (ok.status, ok.delivered_at) == (DeliveryStatus.DELIVERED, T0)


def test_a_redelivered_delivery_gets_a_fresh_budget() -> None:
    d = delivery(attempts=3, requeued_after=3, status=DeliveryStatus.PENDING)
    next_state(d, SendResult(500, "HTTP 500", 5), T0, max_attempts=3, backoff=Backoff(),
               rng=random.Random(0))  # fmt: skip
    assert (d.status, d.attempts) == (DeliveryStatus.RETRYING, 4)


@pytest.mark.parametrize("url", ["ftp://x/y", "/relative", "http://", "not a url", ""])
def test_bad_urls_are_refused_naming_the_field(url: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        check_url(url)
    assert caught.value.location.field == "url"
