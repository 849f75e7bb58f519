"""The demo month must be reproducible, valid canonical input, and look like the merchant it
claims to be: the demo's numbers are only worth showing if the rates are the documented ones and
every exception in it was put there on purpose."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec
import pytest

from recoup.adapters.simulation import demo_simulation
from recoup.adapters.simulation.demo_month import (
    DUPLICATE_WINDOW_SECONDS,
    MASTERCARD_DECLINES,
    STRIPE_DECLINES,
    VISA_DECLINES,
    DemoSpec,
    demo_lines,
    write_demo_month,
)
from recoup.domain.detection.declines import classify_decline
from recoup.domain.detection.detectors import DUPLICATE_CHARGE, Detectors, WindowState
from recoup.domain.ingestion.canonical import Rejection, parse_record
from recoup.domain.ingestion.event import Event

SMALL = DemoSpec(payments=3000)
RECEIVED_AT = datetime(2026, 12, 1, tzinfo=UTC)


def _decode(lines: list[bytes]) -> list[dict[str, Any]]:
    return [msgspec.json.decode(line) for line in lines]


def _at(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(record["occurred_at"])


@pytest.fixture(scope="module")
def small_lines() -> list[bytes]:
    return list(demo_lines(SMALL))


@pytest.fixture(scope="module")
def small_events(small_lines: list[bytes]) -> list[Event]:
    events = []
    for n, line in enumerate(small_lines, start=1):
        parsed = parse_record(line, received_at=RECEIVED_AT, file="demo.jsonl", line=n)
        assert not isinstance(parsed, Rejection), str(parsed)
        events.append(parsed)
    return events


@pytest.fixture(scope="module")
def month() -> list[dict[str, Any]]:
    """The default spec, generated once for every rate check."""
    return _decode(list(demo_lines(DemoSpec())))


def _injected(records: list[dict[str, Any]]) -> set[str]:
    return {
        r["refs"]["payment"]
        for r in records
        if r["type"] == "payment.succeeded" and "demo_duplicate_of" in r.get("attributes", {})
    }


def _duplicate_pairs(records: list[dict[str, Any]]) -> int:
    """Pairs the duplicate detector would see: same customer, amount and currency, different
    payments, within its window."""
    by_key: dict[tuple[str, str, str], list[tuple[datetime, str]]] = defaultdict(list)
    for r in records:
        if r["type"] == "payment.succeeded":
            key = (r["refs"]["customer"], r["currency"], r["amount"])
            by_key[key].append((_at(r), r["refs"]["payment"]))
    window = timedelta(seconds=DUPLICATE_WINDOW_SECONDS)
    pairs = 0
    for charges in by_key.values():
        for i, (at_a, ref_a) in enumerate(charges):
            for at_b, ref_b in charges[i + 1 :]:
                if ref_a != ref_b and abs(at_a - at_b) <= window:
                    pairs += 1
    return pairs


def test_same_spec_gives_the_same_bytes(small_lines: list[bytes]) -> None:
    assert list(demo_lines(SMALL)) == small_lines


def test_another_seed_gives_another_month(small_lines: list[bytes]) -> None:
    assert list(demo_lines(DemoSpec(seed=SMALL.seed + 1, payments=SMALL.payments))) != small_lines


def test_every_line_is_a_canonical_event(
    small_lines: list[bytes], small_events: list[Event]
) -> None:
    assert len(small_events) == len(small_lines)
    assert all(not line.endswith(b"\n") for line in small_lines)
    ids = Counter((e.source, e.external_id) for e in small_events)
    assert max(ids.values()) == 1
    start = SMALL.start
    end = start + timedelta(days=SMALL.days)
    assert all(start <= e.occurred_at < end for e in small_events)
    times = [e.occurred_at for e in small_events]
    assert times == sorted(times)
    assert {e.source for e in small_events} == {"shop", "stripe", "adyen"}


def test_each_payment_tells_a_consistent_story(small_events: list[Event]) -> None:
    orders = {e.refs.order: e for e in small_events if e.type == "order.created"}
    by_payment: dict[str, list[Event]] = defaultdict(list)
    for e in small_events:
        if e.type.startswith("payment.") and e.refs.payment is not None:
            by_payment[e.refs.payment].append(e)
    for attempts in by_payment.values():
        order = orders[attempts[0].refs.order]
        assert order.occurred_at < attempts[0].occurred_at
        assert {(e.amount, e.currency, e.refs.customer) for e in attempts} == {
            (order.amount, order.currency, order.refs.customer)
        }
        # Nothing happens to a payment after it succeeded, and retries repeat the first code.
        assert all(e.type == "payment.failed" for e in attempts[:-1])
        assert len({e.reason_code for e in attempts if e.type == "payment.failed"}) <= 1
        if len(attempts) > 1:
            assert classify_decline(attempts[0].reason_code).is_soft
            spread = attempts[-1].occurred_at - attempts[0].occurred_at
            assert spread <= timedelta(days=4)


def test_decline_tables_use_known_current_codes() -> None:
    data = resources.files("recoup.domain.detection").joinpath("data")
    stripe_rows = csv.DictReader(
        data.joinpath("stripe_decline_codes.csv").read_text("utf-8").splitlines()
    )
    current = {row["code"] for row in stripe_rows if row["deprecated"] != "true"}
    assert {d.code for d in STRIPE_DECLINES} <= current
    for namespace, table in (("stripe", STRIPE_DECLINES), ("visa", VISA_DECLINES)):
        for decline in table:
            assert classify_decline(f"{namespace}:{decline.code}").normalized_reason is not None
    for decline in MASTERCARD_DECLINES:
        assert classify_decline(f"mc:{decline.code}").normalized_reason is not None


def test_retried_codes_are_soft_declines() -> None:
    for namespace, table in (
        ("stripe", STRIPE_DECLINES),
        ("visa", VISA_DECLINES),
        ("mc", MASTERCARD_DECLINES),
    ):
        for decline in table:
            if decline.retried:
                assert classify_decline(f"{namespace}:{decline.code}").is_soft, decline


def test_disputes_follow_their_payment(small_events: list[Event]) -> None:
    paid = {e.refs.payment: e for e in small_events if e.type == "payment.succeeded"}
    inquiries = {e.refs.dispute: e for e in small_events if e.type == "dispute.inquiry_opened"}
    disputes = [e for e in small_events if e.type == "dispute.opened"]
    assert disputes
    for dispute in disputes:
        payment = paid[dispute.refs.payment]
        assert dispute.amount == payment.amount
        assert dispute.currency == payment.currency
        gap = dispute.occurred_at - payment.occurred_at
        assert timedelta(days=3) <= gap <= timedelta(days=20)
        due = datetime.fromisoformat(dispute.attributes["evidence_due_by"]).date()
        assert 7 <= (due - dispute.occurred_at.date()).days <= 20
        inquiry = inquiries.pop(dispute.refs.dispute, None)
        if inquiry is not None:
            assert payment.occurred_at < inquiry.occurred_at < dispute.occurred_at
            assert dispute.reason_code in ("visa:10.4", "visa:13.1")
    assert not inquiries, "every inquiry turns into a dispute"


def test_refunds_never_exceed_their_payment(small_events: list[Event]) -> None:
    paid = {e.refs.payment: e for e in small_events if e.type == "payment.succeeded"}
    created = {e.refs.refund: e for e in small_events if e.type == "refund.created"}
    outcomes = [e for e in small_events if e.type in ("refund.succeeded", "refund.failed")]
    assert created
    assert len(outcomes) == len(created)
    for outcome in outcomes:
        request = created[outcome.refs.refund]
        payment = paid[outcome.refs.payment]
        assert outcome.amount == request.amount
        assert request.amount is not None
        assert payment.amount is not None
        assert Decimal("0.01") <= request.amount <= payment.amount
        assert payment.occurred_at < request.occurred_at < outcome.occurred_at
        if outcome.type == "refund.failed":
            assert outcome.reason_code is not None


def test_payouts_pay_each_days_captures(small_events: list[Event]) -> None:
    captured: dict[tuple[str, str, date], Decimal] = defaultdict(Decimal)
    for e in small_events:
        if e.type == "payment.succeeded":
            assert e.amount is not None
            assert e.currency is not None
            captured[(e.source, e.currency, e.occurred_at.date())] += e.amount
    payouts = [e for e in small_events if e.type == "payout.paid"]
    last_day = (SMALL.start + timedelta(days=SMALL.days - 1)).date()
    assert len(payouts) == sum(1 for (_, _, day) in captured if day < last_day)
    for payout in payouts:
        assert payout.currency is not None
        day = payout.occurred_at.date() - timedelta(days=1)
        assert payout.amount == captured[(payout.source, payout.currency, day)]
        assert payout.direction == "credit"


def test_the_detector_finds_exactly_the_injected_duplicates(small_events: list[Event]) -> None:
    injected = {
        e.refs.payment
        for e in small_events
        if e.type == "payment.succeeded" and "demo_duplicate_of" in e.attributes
    }
    assert injected
    detection = Detectors().run(small_events, WindowState(), RECEIVED_AT)
    found = {
        f.detail["duplicate_payment"] for f in detection.findings if f.type == DUPLICATE_CHARGE
    }
    assert found == injected


def test_rates_on_the_default_month(month: list[dict[str, Any]]) -> None:
    orders = sum(1 for r in month if r["type"] == "order.created")
    assert orders == DemoSpec().payments
    first_failures = sum(
        1 for r in month if r["type"] == "payment.failed" and r["attributes"]["attempt"] == 1
    )
    assert 0.07 <= first_failures / orders <= 0.11

    succeeded = [r for r in month if r["type"] == "payment.succeeded"]
    duplicates = len(_injected(month))
    originals = len(succeeded) - duplicates
    disputes = sum(1 for r in month if r["type"] == "dispute.opened")
    assert 0.003 <= disputes / originals <= 0.007
    assert 0.0015 <= duplicates / originals <= 0.0025
    assert 0.025 <= sum(1 for r in month if r["type"] == "refund.created") / originals <= 0.035
    assert any(r["type"] == "refund.failed" for r in month)
    assert any(r["type"] == "dispute.inquiry_opened" for r in month)

    sources = Counter(r["source"] for r in month if r["type"] == "payment.succeeded")
    assert 0.75 <= sources["stripe"] / len(succeeded) <= 0.85
    currencies = Counter(r["currency"] for r in month if r["type"] == "order.created")
    assert 0.55 <= currencies["EUR"] / orders <= 0.65
    customers = {r["refs"]["customer"] for r in month if r["type"] == "order.created"}
    assert 22_000 <= len(customers) <= 28_000


def test_no_accidental_duplicates_in_the_default_month(month: list[dict[str, Any]]) -> None:
    injected = _injected(month)
    assert injected
    assert _duplicate_pairs(month) == len(injected)


def test_write_demo_month_is_the_lines_with_newlines(
    tmp_path: Path, small_lines: list[bytes]
) -> None:
    path = tmp_path / "month.jsonl"
    path.write_bytes(b"stale")
    count = write_demo_month(path, SMALL)
    assert count == len(small_lines)
    assert path.read_bytes() == b"".join(line + b"\n" for line in small_lines)
    assert [p.name for p in tmp_path.iterdir()] == ["month.jsonl"]


def test_a_short_month_keeps_every_event_inside_it() -> None:
    spec = DemoSpec(seed=7, payments=500, start=datetime(2026, 2, 27, 13, 30, tzinfo=UTC), days=2)
    records = _decode(list(demo_lines(spec)))
    assert all(spec.start <= _at(r) < spec.start + timedelta(days=2) for r in records)
    assert _duplicate_pairs(records) == len(_injected(records))


def test_a_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        DemoSpec(start=datetime(2026, 10, 1))


def test_colliding_amounts_are_nudged_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    """With every basket at exactly the median, repeat buyers collide all the time; the
    generator must still leave only the injected duplicates."""
    monkeypatch.setattr(demo_simulation, "AMOUNT_SIGMA", 0.0)
    records = _decode(list(demo_lines(DemoSpec(payments=3000, days=1))))
    amounts = Counter(r["amount"] for r in records if r["type"] == "payment.succeeded")
    assert len(amounts) > 1
    assert _duplicate_pairs(records) == len(_injected(records))
