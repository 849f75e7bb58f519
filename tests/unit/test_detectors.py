"""Detectors over handcrafted events: stateless rules and the duplicate-charge window."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from recoup.domain.detection.detectors import (
    DetectionSettings,
    Detectors,
    WindowEntry,
    WindowRequest,
    WindowState,
    duplicate_key,
)
from recoup.domain.detection.findings import Finding, finding_id
from recoup.domain.detection.taxonomy import Tier
from recoup.domain.ingestion.canonical import Rejection, parse_record
from recoup.domain.ingestion.event import Event, event_id_for
from tests.conftest import T0
from tests.helpers import DETECTED
from tests.helpers import canonical_event as event


def run(
    events: list[Event], state: WindowState | None = None, detectors: Detectors | None = None
) -> list[Finding]:
    detection = (detectors or Detectors()).run(events, state or WindowState(), DETECTED)
    return detection.findings


def eid(external_id: str) -> str:
    return event_id_for("stripe", external_id)


def paid(external_id: str, payment: str, *, minutes: float = 0, amount: str = "20.00",
         currency: str = "EUR", customer: str = "cus_1") -> Event:  # fmt: skip
    return event(external_id, "payment.succeeded", minutes=minutes, amount=amount,
                 currency=currency, payment=payment, customer=customer)  # fmt: skip


# --- payment_failed ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "tier", "decline_type", "advice"),
    [
        ("stripe:insufficient_funds", Tier.STRAIGHT_THROUGH, "soft", "later"),
        ("stripe:expired_card", Tier.GUIDED, "hard", "fix_data"),
        ("stripe:fraudulent", Tier.HUMAN, "hard", "never"),
        ("visa:41", Tier.HUMAN, "hard", "never"),
        ("stripe:not_a_code", Tier.GUIDED, "unknown", "unknown"),
    ],
)
def test_a_failed_payment_is_tiered_by_its_decline(
    reason: str, tier: Tier, decline_type: str, advice: str
) -> None:
    failed = event("e1", "payment.failed", amount="12.50", reason=reason, payment="pi_1")

    (finding,) = run([failed])

    assert finding.type == "payment_failed"
    assert finding.tier is tier
    assert finding.detail["decline_type"] == decline_type
    assert finding.detail["advice"] == advice
    assert (finding.entity_kind, finding.entity_key) == ("payment", "pi_1")
    assert finding.exposure_key == "payment:pi_1"
    assert finding.trigger_event_id == eid("e1")
    assert finding.evidence_event_ids == (eid("e1"),)
    assert (finding.amount, finding.currency) == (Decimal("12.50"), "EUR")
    assert finding.reason_code == reason
    assert finding.occurred_at == T0
    assert finding.detected_at == DETECTED
    assert finding.id == finding_id("payment_failed", eid("e1"))


def test_a_failed_payment_summary_names_the_decline_and_the_money() -> None:
    failed = event("e1", "payment.failed", amount="1234.5", reason="stripe:insufficient_funds",
                   payment="pi_1")  # fmt: skip

    (finding,) = run([failed])

    assert finding.summary == "soft decline (stripe:insufficient_funds) of 1,234.50 EUR"


def test_a_merchant_advice_code_on_the_event_changes_the_tier() -> None:
    failed = event("e1", "payment.failed", reason="mc:51", payment="pi_1",
                   attributes={"merchant_advice_code": "03"})  # fmt: skip

    (finding,) = run([failed])

    assert finding.tier is Tier.GUIDED
    assert finding.detail["decline_type"] == "hard"


@pytest.mark.parametrize(
    ("type_", "refs", "entity"),
    [
        ("invoice.payment_failed", {"invoice": "in_1"}, ("invoice", "in_1")),
        ("subscription.payment_failed", {"subscription": "sub_1"}, ("subscription", "sub_1")),
        ("payment.failed", {"charge": "ch_1", "invoice": "in_1"}, ("charge", "ch_1")),
        ("payment.failed", {}, ("event", "stripe:e1")),
    ],
)
def test_every_failed_payment_type_is_detected_on_its_entity(
    type_: str, refs: dict[str, str], entity: tuple[str, str]
) -> None:
    (finding,) = run([event("e1", type_, reason="stripe:insufficient_funds", **refs)])

    assert finding.type == "payment_failed"
    assert (finding.entity_kind, finding.entity_key) == entity


def test_a_failed_payment_without_amount_says_so() -> None:
    (finding,) = run([event("e1", "payment.failed", payment="pi_1")])

    assert finding.summary == "unknown decline (no reason code) of an unknown amount"
    assert (finding.amount, finding.currency) == (None, None)


# --- disputes and refunds ---------------------------------------------------------------------


def test_a_dispute_opens_a_human_dispute_finding() -> None:
    opened = event("e1", "dispute.opened", amount="20.00", reason="visa:10.4", payment="pi_1",
                   dispute="dp_1", attributes={"evidence_due_by": "2026-10-20"})  # fmt: skip

    (finding,) = run([opened])

    assert finding.type == "dispute_opened"
    assert finding.tier is Tier.HUMAN
    assert (finding.entity_kind, finding.entity_key) == ("dispute", "dp_1")
    assert finding.exposure_key == "payment:pi_1"
    assert finding.detail == {"evidence_due_by": "2026-10-20"}
    assert finding.summary == "dispute opened (visa:10.4) for 20.00 EUR"


def test_an_inquiry_opens_an_inquiry_finding() -> None:
    inquiry = event("e1", "dispute.inquiry_opened", amount="20.00", charge="ch_1",
                    dispute="dp_1")  # fmt: skip

    (finding,) = run([inquiry])

    assert finding.type == "inquiry_opened"
    assert finding.tier is Tier.GUIDED
    assert (finding.entity_kind, finding.entity_key) == ("dispute", "dp_1")
    assert finding.exposure_key == "payment:ch_1"


def test_a_failed_refund_is_detected() -> None:
    failed = event("e1", "refund.failed", amount="5.00", reason="stripe:declined",
                   payment="pi_1", refund="re_1")  # fmt: skip

    (finding,) = run([failed])

    assert finding.type == "refund_failed"
    assert finding.tier is Tier.GUIDED
    assert (finding.entity_kind, finding.entity_key) == ("refund", "re_1")
    assert finding.summary == "refund of 5.00 EUR failed (stripe:declined)"


@pytest.mark.parametrize(
    "type_",
    ["payment.succeeded", "payment.authorized", "dispute.updated", "refund.succeeded",
     "custom.thing"],
)  # fmt: skip
def test_events_that_are_not_exceptions_find_nothing(type_: str) -> None:
    detection = Detectors().run(
        [event("e1", type_, amount="20.00", payment="pi_1", customer="cus_1")],
        WindowState(),
        DETECTED,
    )

    assert detection.findings == []


# --- duplicate_charge -------------------------------------------------------------------------


def test_the_same_amount_paid_twice_within_the_window_is_a_duplicate_charge() -> None:
    first = paid("e1", "pi_1")
    second = paid("e2", "pi_2", minutes=5)

    detection = Detectors().run([first, second], WindowState(), DETECTED)

    (finding,) = detection.findings
    assert finding.type == "duplicate_charge"
    assert finding.id == finding_id("duplicate_charge", eid("e2"))
    assert finding.evidence_event_ids == (eid("e1"), eid("e2"))
    assert finding.trigger_event_id == eid("e2")
    assert (finding.entity_kind, finding.entity_key) == ("customer", "cus_1")
    assert finding.occurred_at == T0 + timedelta(minutes=5)
    assert finding.exposure_key == "payment:pi_2"
    assert finding.detail == {"original_payment": "pi_1", "duplicate_payment": "pi_2"}
    assert finding.tier is Tier.GUIDED
    assert (finding.amount, finding.currency) == (Decimal("20.00"), "EUR")
    assert [e.event_id for e in detection.window_entries] == [eid("e1"), eid("e2")]


def test_the_same_payment_reported_twice_is_not_a_duplicate() -> None:
    assert run([paid("e1", "pi_1"), paid("e2", "pi_1", minutes=5)]) == []


def test_payments_further_apart_than_the_window_are_not_duplicates() -> None:
    detectors = Detectors(DetectionSettings(duplicate_window=timedelta(hours=1)))

    assert run([paid("e1", "pi_1"), paid("e2", "pi_2", minutes=120)], detectors=detectors) == []


def test_the_window_edge_is_inclusive() -> None:
    detectors = Detectors(DetectionSettings(duplicate_window=timedelta(hours=1)))

    findings = run([paid("e1", "pi_1"), paid("e2", "pi_2", minutes=60)], detectors=detectors)

    assert [f.trigger_event_id for f in findings] == [eid("e2")]


def test_a_wider_window_catches_payments_further_apart() -> None:
    detectors = Detectors(DetectionSettings(duplicate_window=timedelta(hours=3)))

    findings = run([paid("e1", "pi_1"), paid("e2", "pi_2", minutes=120)], detectors=detectors)

    assert [f.type for f in findings] == ["duplicate_charge"]


@pytest.mark.parametrize(
    "second",
    [
        {"currency": "USD"},
        {"amount": "20.01"},
        {"customer": "cus_2"},
    ],
    ids=["currency", "amount", "customer"],
)
def test_a_different_currency_amount_or_customer_is_not_a_duplicate(
    second: dict[str, str],
) -> None:
    assert run([paid("e1", "pi_1"), paid("e2", "pi_2", minutes=5, **second)]) == []


def test_a_payment_without_customer_is_never_a_duplicate() -> None:
    first = event("e1", "payment.succeeded", amount="20.00", payment="pi_1")
    second = event("e2", "payment.succeeded", minutes=5, amount="20.00", payment="pi_2")

    detection = Detectors().run([first, second], WindowState(), DETECTED)

    assert detection.findings == []
    assert detection.window_entries == []


def test_amounts_written_differently_are_the_same_amount() -> None:
    findings = run([paid("e1", "pi_1", amount="20"), paid("e2", "pi_2", minutes=5,
                                                            amount="20.00")])  # fmt: skip

    assert [f.evidence_event_ids for f in findings] == [(eid("e1"), eid("e2"))]
    assert duplicate_key(paid("x", "p", amount="20")) == "cus_1|EUR|20.00"


def test_a_third_payment_is_a_second_duplicate_of_the_first() -> None:
    findings = run(
        [paid("e1", "pi_1"), paid("e2", "pi_2", minutes=5), paid("e3", "pi_3", minutes=10)]
    )

    assert [(f.trigger_event_id, f.evidence_event_ids) for f in findings] == [
        (eid("e2"), (eid("e1"), eid("e2"))),
        (eid("e3"), (eid("e1"), eid("e3"))),
    ]


def test_events_are_handled_in_time_order_within_a_batch() -> None:
    in_order = run([paid("e1", "pi_1"), paid("e2", "pi_2", minutes=5)])
    reversed_ = run([paid("e2", "pi_2", minutes=5), paid("e1", "pi_1")])

    assert reversed_ == in_order


def test_out_of_order_delivery_across_runs_gives_the_same_finding_id() -> None:
    first = paid("e1", "pi_1")
    second = paid("e2", "pi_2", minutes=5)
    detectors = Detectors()
    in_order = detectors.run([first, second], WindowState(), DETECTED).findings

    early = detectors.run([second], WindowState(), DETECTED)
    late = detectors.run([first], WindowState.of(early.window_entries), DETECTED)

    assert early.findings == []
    (finding,) = late.findings
    (expected,) = in_order
    assert finding.id == expected.id == finding_id("duplicate_charge", eid("e2"))
    assert finding.trigger_event_id == eid("e2")
    assert finding.evidence_event_ids == (eid("e1"), eid("e2"))
    assert finding.exposure_key == "payment:pi_2"
    assert finding.occurred_at == T0 + timedelta(minutes=5)
    assert finding.detail == {"original_payment": "pi_1", "duplicate_payment": "pi_2"}


def test_in_order_delivery_across_runs_carries_the_window() -> None:
    detectors = Detectors()
    first_run = detectors.run([paid("e1", "pi_1")], WindowState(), DETECTED)

    second_run = detectors.run(
        [paid("e2", "pi_2", minutes=5)], WindowState.of(first_run.window_entries), DETECTED
    )

    assert first_run.findings == []
    assert [f.id for f in second_run.findings] == [finding_id("duplicate_charge", eid("e2"))]
    assert [e.event_id for e in second_run.window_entries] == [eid("e2")]


def test_a_redelivered_event_does_not_pair_with_itself() -> None:
    detectors = Detectors()
    first_run = detectors.run([paid("e1", "pi_1")], WindowState(), DETECTED)

    again = detectors.run([paid("e1", "pi_1")], WindowState.of(first_run.window_entries), DETECTED)

    assert again.findings == []


def test_finding_ids_are_deterministic_across_runs() -> None:
    events = [
        event("f1", "payment.failed", amount="9.99", reason="stripe:insufficient_funds",
              payment="pi_9"),
        event("d1", "dispute.opened", minutes=1, amount="5.00", dispute="dp_1"),
        paid("e1", "pi_1", minutes=2),
        paid("e2", "pi_2", minutes=3),
    ]  # fmt: skip
    later = DETECTED + timedelta(days=3)

    one = Detectors().run(events, WindowState(), DETECTED).findings
    two = Detectors().run(list(reversed(events)), WindowState(), later).findings

    assert [f.id for f in one] == [f.id for f in two]
    assert [f.id for f in one] == [
        finding_id("payment_failed", eid("f1")),
        finding_id("dispute_opened", eid("d1")),
        finding_id("duplicate_charge", eid("e2")),
    ]
    assert len(set(f.id for f in one)) == 3


def test_window_entries_remember_key_time_and_payment() -> None:
    detection = Detectors().run([paid("e1", "pi_1")], WindowState(), DETECTED)

    assert detection.window_entries == [
        WindowEntry("duplicate_charge", "cus_1|EUR|20.00", eid("e1"), T0, "pi_1")
    ]


def test_window_requests_span_the_batch_plus_and_minus_the_window() -> None:
    detectors = Detectors(DetectionSettings(duplicate_window=timedelta(minutes=30)))
    events = [
        paid("e1", "pi_1", minutes=10),
        paid("e2", "pi_2", minutes=40),
        paid("e3", "pi_3", minutes=0, customer="cus_2", amount="5"),
        event("f1", "payment.failed", amount="1.00", reason="stripe:insufficient_funds",
              customer="cus_1"),
    ]  # fmt: skip

    requests = detectors.window_requests(events)

    assert sorted(requests, key=lambda r: r.key) == [
        WindowRequest("duplicate_charge", "cus_1|EUR|20.00", T0 - timedelta(minutes=20),
                      T0 + timedelta(minutes=70)),
        WindowRequest("duplicate_charge", "cus_2|EUR|5.00", T0 - timedelta(minutes=30),
                      T0 + timedelta(minutes=30)),
    ]  # fmt: skip


def test_no_window_is_requested_for_events_without_a_duplicate_key() -> None:
    events = [event("f1", "payment.failed", amount="1.00", customer="cus_1")]

    assert Detectors().window_requests(events) == []


@pytest.mark.parametrize("amount", ["1E+30", "1e999999999", "1000000000000000000.00"])
def test_an_amount_too_large_to_detect_on_is_refused_at_ingest(amount: str) -> None:
    rec = {"source": "stripe", "external_id": "e1", "type": "payment.succeeded",
           "occurred_at": T0.isoformat(), "amount": amount, "currency": "EUR"}  # fmt: skip

    result = parse_record(json.dumps(rec), received_at=DETECTED)

    assert isinstance(result, Rejection)
    assert result.location.field == "amount"
    assert "more than 18 digits" in result.reason


def test_the_largest_accepted_amount_goes_through_detection() -> None:
    big = paid("e1", "pi_1", amount="999999999999999999.99")
    twin = paid("e2", "pi_2", amount="999999999999999999.99", minutes=1)

    detection = Detectors().run([big, twin], WindowState(), DETECTED)

    assert [f.type for f in detection.findings] == ["duplicate_charge"]
