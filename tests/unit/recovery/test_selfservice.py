"""The self-service link: signed, expiring, single use, with a one-time code; and which actions
a link may offer. Property tests: any changed byte, any wrong code, any used nonce fails."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recoup.adapters.policy.ladders import load_ladders
from recoup.domain.errors import ConflictError, InvalidInputError, PermissionDeniedError
from recoup.domain.recovery.ladder import Intervention, Step, StepKind
from recoup.domain.recovery.selfservice import (
    ACTIONS,
    MAX_CODE_ATTEMPTS,
    SelfServiceGrant,
    WrongCodeError,
    eligible_actions,
    issue_link,
    move_for,
    read_link,
    redeem,
)

T0 = datetime(2026, 10, 1, 12, 0, 30, tzinfo=UTC)
SECRET = b"recoup-test-secret-not-for-production"
TTL = timedelta(days=3)
LADDERS = load_ladders()


def counter(start: int = 0) -> Callable[[int], bytes]:
    """A fake random source: repeatable, different bytes on every call."""
    calls = itertools.count(start)
    return lambda n: bytes((next(calls) * 7 + i) % 256 for i in range(n))


def grant(actions: tuple[str, ...] = ("update_payment_method", "retry_now"),
          case_id: str = "case-1", source: int = 0) -> SelfServiceGrant:  # fmt: skip
    return issue_link(case_id, actions, now=T0, ttl=TTL, secret=SECRET,
                      nonce_source=counter(source))  # fmt: skip


def test_a_link_is_redeemed_with_its_code_for_one_of_its_actions() -> None:
    issued = grant()

    done = redeem(issued.token, issued.code, "retry_now", now=T0 + timedelta(hours=1),
                  secret=SECRET, used=set())  # fmt: skip

    assert (done.case_id, done.action, done.nonce, done.move) == (
        "case-1", "retry_now", issued.nonce, Intervention.RETRY_NOW)  # fmt: skip
    assert issued.expires_at == datetime(2026, 10, 4, 12, 0, 30, tzinfo=UTC)
    assert issued.actions == ("update_payment_method", "retry_now")


def test_the_code_is_six_digits_and_never_in_the_link() -> None:
    issued = grant()

    assert len(issued.code) == 6
    assert issued.code.isdigit()
    assert issued.code not in issued.token
    assert issued.code not in issued.code_hash
    assert len(issued.code_hash) == 64
    assert "." in issued.token
    assert all(c.isalnum() or c in "-_." for c in issued.token)  # URL-safe


def test_issuing_is_repeatable_with_the_same_random_source() -> None:
    assert grant() == grant()
    assert grant().nonce != grant(source=50).nonce


def test_the_page_can_read_a_valid_link_before_the_code() -> None:
    issued = grant()

    view = read_link(issued.token, now=T0, secret=SECRET, used=())

    assert (view.case_id, view.actions, view.nonce) == ("case-1", issued.actions, issued.nonce)


def test_an_expired_link_is_refused() -> None:
    issued = grant()
    last_second = issued.expires_at - timedelta(seconds=1)

    assert redeem(issued.token, issued.code, "retry_now", now=last_second, secret=SECRET,
                  used=()).case_id == "case-1"  # fmt: skip
    with pytest.raises(PermissionDeniedError, match="this link expired at 2026-10-04T12:00:30"):
        redeem(issued.token, issued.code, "retry_now", now=issued.expires_at, secret=SECRET,
               used=())  # fmt: skip


def test_a_used_link_is_a_conflict() -> None:
    issued = grant()

    with pytest.raises(ConflictError, match="already used"):
        redeem(issued.token, issued.code, "retry_now", now=T0, secret=SECRET,
               used={issued.nonce})  # fmt: skip


def test_a_wrong_code_counts_down_and_the_limit_closes_the_link() -> None:
    issued = grant()
    wrong = f"{(int(issued.code) + 1) % 1_000_000:06d}"

    with pytest.raises(WrongCodeError) as caught:
        redeem(issued.token, wrong, "retry_now", now=T0, secret=SECRET, used=(),
               failed_attempts=1)  # fmt: skip
    assert (caught.value.nonce, caught.value.attempts_left) == (issued.nonce, 3)
    assert isinstance(caught.value, PermissionDeniedError)
    with pytest.raises(PermissionDeniedError, match="too many wrong codes"):
        redeem(issued.token, issued.code, "retry_now", now=T0, secret=SECRET, used=(),
               failed_attempts=MAX_CODE_ATTEMPTS)  # fmt: skip


def test_an_action_the_link_does_not_offer_is_refused() -> None:
    issued = grant()

    with pytest.raises(PermissionDeniedError, match="does not offer 'payment_plan'"):
        redeem(issued.token, issued.code, "payment_plan", now=T0, secret=SECRET, used=())


def test_a_link_signed_with_another_secret_is_refused() -> None:
    issued = grant()

    with pytest.raises(PermissionDeniedError, match="not valid"):
        redeem(issued.token, issued.code, "retry_now", now=T0, secret=b"x" * 32, used=())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"actions": ()}, "needs at least one action"),
        ({"actions": ("pay_twice",)}, "unknown self-service action 'pay_twice'"),
        ({"ttl": timedelta(0)}, "at most 30 days"),
        ({"ttl": timedelta(days=31)}, "at most 30 days"),
        ({"now": datetime(2026, 10, 1)}, "timezone-aware"),
        ({"secret": b"short"}, "at least 16 bytes"),
        ({"nonce_source": lambda n: b"\x00"}, "returned 1 bytes, not 16"),
        ({"case_id": " "}, "needs a case id"),
    ],
)
def test_issuing_refuses_bad_input(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"case_id": "c1", "actions": ("retry_now",), "now": T0, "ttl": TTL,
                               "secret": SECRET, "nonce_source": counter()}  # fmt: skip
    args.update(kwargs)
    with pytest.raises(InvalidInputError, match=message):
        issue_link(**args)  # type: ignore[arg-type]


def test_the_code_is_drawn_without_bias() -> None:
    draws = iter([bytes(16), b"\xff\xff\xff\xff", (1234567).to_bytes(4, "big")])

    issued = issue_link("c1", ("retry_now",), now=T0, ttl=TTL, secret=SECRET,
                        nonce_source=lambda n: next(draws))  # fmt: skip

    assert issued.code == "234567"  # 0xffffffff is above the last full million: drawn again


# --- what a link may offer -------------------------------------------------------------------


def test_eligible_actions_come_from_the_step_and_the_type() -> None:
    email = LADDERS["payment_failed"].steps[1]
    plan = LADDERS["missing_payment"].steps[1]
    address = LADDERS["address_risk"].steps[0]

    assert eligible_actions("payment_failed", False, email) == [
        "update_payment_method", "retry_now", "dispute"]  # fmt: skip
    assert eligible_actions("missing_payment", False, plan) == ["payment_plan", "dispute"]
    assert eligible_actions("order_stalled", False, email) == []  # not for that type
    assert eligible_actions("payment_failed", True, email) == []  # paused
    assert eligible_actions("address_risk", True, address) == ["confirm_address"]
    assert eligible_actions("payment_failed", False, LADDERS["payment_failed"].steps[-1]) == []
    assert eligible_actions("payment_failed", False, None) == []


def test_a_paused_case_offers_only_information_gathering() -> None:
    step = Step(StepKind.REQUEST_INPUT, params={"input": "x", "actions": (
        "upload_document", "dispute")}, timeout=timedelta(hours=1), while_paused=True)  # fmt: skip

    assert eligible_actions("amount_mismatch", True, step) == ["upload_document"]
    assert eligible_actions("amount_mismatch", False, step) == ["upload_document", "dispute"]


def test_every_action_maps_to_a_move() -> None:
    assert {name: move_for(name).value for name in ACTIONS} == {
        "retry_now": "retry_now",
        "update_payment_method": "input_received",
        "payment_plan": "stop",
        "confirm_address": "input_received",
        "upload_document": "input_received",
        "dispute": "escalate",
    }


# --- properties ------------------------------------------------------------------------------

ISSUED = grant()


@settings(max_examples=200, deadline=None)
@given(index=st.integers(0, len(ISSUED.token) - 1), char=st.characters())
def test_changing_any_character_of_the_token_breaks_it(index: int, char: str) -> None:
    token = ISSUED.token
    tampered = token[:index] + char + token[index + 1 :]
    if tampered == token:
        return
    with pytest.raises(PermissionDeniedError, match="not valid"):
        read_link(tampered, now=T0, secret=SECRET, used=())


@settings(max_examples=200, deadline=None)
@given(cut=st.integers(0, len(ISSUED.token) - 1), extra=st.text(max_size=3))
def test_a_shortened_or_extended_token_is_refused(cut: int, extra: str) -> None:
    for token in (ISSUED.token[:cut], ISSUED.token + "x" + extra):
        with pytest.raises(PermissionDeniedError, match="not valid"):
            read_link(token, now=T0, secret=SECRET, used=())


@settings(max_examples=200, deadline=None)
@given(code=st.text(alphabet="0123456789", min_size=6, max_size=6))
def test_only_the_issued_code_opens_the_link(code: str) -> None:
    if code == ISSUED.code:
        assert redeem(ISSUED.token, code, "retry_now", now=T0, secret=SECRET, used=())
    else:
        with pytest.raises(WrongCodeError):
            redeem(ISSUED.token, code, "retry_now", now=T0, secret=SECRET, used=())


@settings(max_examples=200, deadline=None)
@given(
    case_id=st.text(min_size=1, max_size=40).filter(str.strip),
    actions=st.lists(st.sampled_from(sorted(ACTIONS)), min_size=1, unique=True),
    source=st.integers(0, 10_000),
    ttl_seconds=st.integers(1, 30 * 86_400),
    used=st.booleans(),
)
def test_a_link_round_trips_once_and_not_after_expiry(
    case_id: str, actions: list[str], source: int, ttl_seconds: int, used: bool
) -> None:
    issued = issue_link(case_id, actions, now=T0, ttl=timedelta(seconds=ttl_seconds),
                        secret=SECRET, nonce_source=counter(source))  # fmt: skip
    spent = {issued.nonce} if used else set()
    if used:
        with pytest.raises(ConflictError):
            redeem(issued.token, issued.code, actions[-1], now=T0, secret=SECRET, used=spent)
    else:
        done = redeem(issued.token, issued.code, actions[-1], now=T0, secret=SECRET, used=spent)
        assert (done.case_id, done.action) == (case_id, actions[-1])
    with pytest.raises(PermissionDeniedError, match="expired"):
        redeem(issued.token, issued.code, actions[-1], now=issued.expires_at, secret=SECRET,
               used=spent)  # fmt: skip
