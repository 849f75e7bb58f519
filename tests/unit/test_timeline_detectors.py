"""The timeline detectors: retry_exhausted, amount_mismatch, fee_mismatch, split_conflict,
carrier_conflict and the account-changed half of supplier_bank_mismatch. Each fires on its
evidence with the same finding id whatever the arrival order and batching, and stays quiet on
the nearest clean case."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from recoup.domain.detection.detectors import DetectionSettings, Detectors, WindowState
from recoup.domain.detection.findings import Finding, finding_id
from recoup.domain.detection.rules_timeline_bank import FeeMismatch
from recoup.domain.detection.rules_timeline_orders import CarrierConflict, SplitConflict
from recoup.domain.detection.rules_timeline_payables import SupplierAccountChanged
from recoup.domain.detection.rules_timeline_payments import (
    AmountMismatch,
    RetryExhausted,
    crossings,
    network_of,
)
from recoup.domain.detection.taxonomy import Breakpoint, Tier
from recoup.domain.detection.timeline import EntityGraph
from recoup.domain.ingestion.event import Event
from tests.conftest import T0
from tests.helpers import DETECTED
from tests.helpers import canonical_event as event

DAY = 24 * 60
HOUR = 60


def ingest_like(batches: Sequence[Sequence[Event]], settings: DetectionSettings | None = None,
                ) -> dict[str, Finding]:  # fmt: skip
    """The timeline findings of ``batches`` ingested one after the other: each batch sees the
    events stored before it and itself (as ``store_events`` does). The store keeps an id once."""
    detectors = Detectors(settings)
    stored: list[Event] = []
    kept: dict[str, Finding] = {}
    state = WindowState()  # the window store: gate marks persist across batches
    for batch in batches:
        stored.extend(batch)
        detectors.run(list(batch), state, DETECTED)
        graph = EntityGraph.of(stored)
        plan = detectors.plan_timelines(list(batch), state)
        for finding in detectors.run_timelines(plan, graph, DETECTED):
            kept.setdefault(finding.id, finding)
    return kept


def of_type(findings: dict[str, Finding], type_: str) -> list[Finding]:
    return [f for f in findings.values() if f.type == type_]


def orders(events: list[Event]) -> list[list[list[Event]]]:
    """The ways ``events`` can arrive: one batch, one by one, one by one in reverse, and the
    second half before the first."""
    half = len(events) // 2
    return [
        [events],
        [[e] for e in events],
        [[e] for e in reversed(events)],
        [events[half:], events[:half]],
    ]


def assert_same_everywhere(events: list[Event], type_: str,
                           settings: DetectionSettings | None = None) -> Finding:  # fmt: skip
    """Exactly one finding of ``type_``, with the same id, whatever the arrival order."""
    found = [of_type(ingest_like(batches, settings), type_) for batches in orders(events)]
    assert all(len(f) == 1 for f in found), found
    assert len({f[0].id for f in found}) == 1
    return found[0][0]


def assert_quiet(events: list[Event], type_: str,
                 settings: DetectionSettings | None = None) -> None:  # fmt: skip
    for batches in orders(events):
        assert of_type(ingest_like(batches, settings), type_) == []


def failures(n: int, *, every: float, reason: str = "stripe:card_declined",
             attributes: dict[str, Any] | None = None, **refs: str) -> list[Event]:  # fmt: skip
    refs = refs or {"payment": "pi_1"}
    return [
        event(
            f"f{i}",
            "payment.failed",
            minutes=i * every,
            amount="40.00",
            reason=reason,
            attributes=attributes,
            charge=f"ch_{i}",
            **refs,
        )
        for i in range(n)
    ]


# --- retry_exhausted ---------------------------------------------------------------------------


def test_the_network_comes_from_the_attribute_else_the_reason_namespace() -> None:
    assert network_of(event("a", "payment.failed", reason="visa:51")) == "visa"
    assert network_of(event("a", "payment.failed", reason="mc:51")) == "mastercard"
    assert network_of(event("a", "payment.failed", reason="stripe:x")) is None
    assert network_of(event("a", "payment.failed", reason="visa:51",
                            attributes={"network": "MasterCard"})) == "mastercard"  # fmt: skip
    assert network_of(event("a", "payment.failed", attributes={"network": "amex"})) == "amex"


def test_crossings_are_edge_triggered_on_a_sliding_window() -> None:
    times = [T0 + timedelta(hours=h) for h in (0, 1, 2, 3, 30, 31, 32)]
    assert crossings(times, 3, timedelta(hours=24)) == [2, 6]
    assert crossings(times, 4, timedelta(hours=24)) == [3]
    # Edges included: two attempts exactly a window apart are within it.
    assert crossings([*times[:1], T0 + timedelta(hours=24)], 2, timedelta(hours=24)) == [1]


def test_visa_retries_fire_once_at_the_fifteenth_attempt_within_30_days() -> None:
    events = failures(15, every=DAY, reason="visa:51")

    finding = assert_same_everywhere(events, "retry_exhausted")

    assert finding.id == finding_id("retry_exhausted", events[14].event_id)
    assert finding.trigger_event_id == events[14].event_id
    assert (finding.entity_kind, finding.entity_key) == ("payment", "pi_1")
    assert (finding.amount, finding.currency) == (Decimal("40.00"), "EUR")
    assert finding.spec.breakpoint is Breakpoint.TRANSACTION
    assert finding.tier is Tier.GUIDED
    assert finding.evidence_event_ids == tuple(e.event_id for e in events[:15])
    assert finding.detail["network"] == "visa"
    assert (finding.detail["attempts"], finding.detail["limit"]) == (15, 15)
    assert finding.summary == (
        "retries exhausted for 40.00 EUR: 15 failed attempts within 30 days (the visa limit is 15)"
    )


def test_attempts_past_the_limit_fire_no_more_when_they_arrive_in_time_order() -> None:
    events = failures(25, every=HOUR, reason="visa:51")
    for batches in ([events], [[e] for e in events], [events[:10], events[10:]]):
        found = of_type(ingest_like(batches), "retry_exhausted")
        assert [f.trigger_event_id for f in found] == [events[14].event_id]


def test_fourteen_visa_failures_or_fifteen_over_more_than_30_days_are_quiet() -> None:
    assert_quiet(failures(14, every=DAY, reason="visa:51"), "retry_exhausted")
    assert_quiet(failures(15, every=2.2 * DAY, reason="visa:51"), "retry_exhausted")


def test_mastercard_allows_ten_attempts_within_24_hours() -> None:
    events = failures(10, every=2 * HOUR, attributes={"network": "mastercard"})
    finding = assert_same_everywhere(events, "retry_exhausted")
    assert finding.id == finding_id("retry_exhausted", events[9].event_id)
    assert finding.detail["network"] == "mastercard"
    # Ten attempts over 27 hours: never ten within 24 hours.
    assert_quiet(failures(10, every=3 * HOUR, reason="mc:51"), "retry_exhausted")


def test_other_networks_allow_eight_attempts_within_30_days() -> None:
    events = failures(8, every=3 * DAY, attributes={"network": "amex"})
    finding = assert_same_everywhere(events, "retry_exhausted")
    assert finding.id == finding_id("retry_exhausted", events[7].event_id)
    assert finding.detail["network"] == "amex"
    assert_quiet(failures(7, every=DAY), "retry_exhausted")


def test_one_attempt_reported_by_two_sources_counts_once() -> None:
    events = failures(7, every=HOUR)
    twin = event("twin", "payment.failed", source="adyen", minutes=7 * HOUR, amount="40.00",
                 payment="pi_1", charge="ch_6")  # fmt: skip
    assert_quiet([*events, twin], "retry_exhausted")


def test_attempts_group_by_payment_else_invoice_else_subscription() -> None:
    on_invoice = [
        event(
            f"i{i}",
            "invoice.payment_failed",
            minutes=i * DAY,
            amount="9.00",
            invoice="in_1",
            subscription="sub_1",
        )
        for i in range(8)
    ]
    finding = assert_same_everywhere(on_invoice, "retry_exhausted")
    assert (finding.entity_kind, finding.entity_key) == ("invoice", "in_1")
    # Four attempts on two payments each are not eight on one.
    split = failures(4, every=HOUR) + [
        event(f"g{i}", "payment.failed", minutes=i * HOUR, payment="pi_2", charge=f"c2_{i}")
        for i in range(4)
    ]
    assert_quiet(split, "retry_exhausted")


def test_a_failure_marked_retries_exhausted_fires_at_once() -> None:
    last = event("last", "subscription.payment_failed", amount="9.00",
                 attributes={"retries_exhausted": True}, subscription="sub_1")  # fmt: skip

    finding = assert_same_everywhere([last], "retry_exhausted")

    assert finding.id == finding_id("retry_exhausted", last.event_id)
    assert (finding.entity_kind, finding.entity_key) == ("subscription", "sub_1")
    assert finding.detail["retries_exhausted"] is True
    assert "no retry is left" in finding.summary
    not_yet = event("x", "payment.failed", attributes={"retries_exhausted": False},
                    payment="pi_1")  # fmt: skip
    assert_quiet([not_yet], "retry_exhausted")


def test_retry_limits_are_settings() -> None:
    settings = DetectionSettings(retry_limits={"other": (3, timedelta(days=1))})
    events = failures(3, every=HOUR)
    finding = assert_same_everywhere(events, "retry_exhausted", settings)
    assert finding.id == finding_id("retry_exhausted", events[2].event_id)
    with pytest.raises(ValueError, match="other"):
        RetryExhausted({"visa": (15, timedelta(days=30))})


def test_a_late_earlier_attempt_moves_the_crossing_to_the_attempt_that_now_reaches_it() -> None:
    events = failures(8, every=HOUR)
    findings = of_type(ingest_like([events[1:], events[:1]]), "retry_exhausted")
    # Seven attempts first (no finding), then the earliest: the eighth in time crosses.
    assert [f.id for f in findings] == [finding_id("retry_exhausted", events[7].event_id)]


# --- amount_mismatch ---------------------------------------------------------------------------


def invoice(amount: str = "120.00", **refs: str) -> Event:
    return event("inv", "invoice.finalized", source="erp", amount=amount, invoice="in_1",
                 customer="c1", **refs)  # fmt: skip


def paid_invoice(amount: str = "120.00") -> Event:
    return event("inv-paid", "invoice.paid", source="erp", minutes=90, amount=amount,
                 invoice="in_1")  # fmt: skip


def payment(external_id: str, amount: str, minutes: float = 60, currency: str = "EUR",
            **refs: str) -> Event:  # fmt: skip
    return event(external_id, "payment.succeeded", minutes=minutes, amount=amount,
                 currency=currency, **refs)  # fmt: skip


def test_an_invoice_paid_short_is_a_mismatch_once_settled() -> None:
    events = [invoice(), payment("p1", "100.00", payment="pi_1", invoice="in_1"), paid_invoice()]

    finding = assert_same_everywhere(events, "amount_mismatch")

    assert (finding.entity_kind, finding.entity_key) == ("invoice", "in_1")
    assert (finding.amount, finding.currency) == (Decimal("20.00"), "EUR")
    assert finding.trigger_event_id == events[2].event_id
    assert finding.spec.breakpoint is Breakpoint.ELIGIBILITY
    assert finding.tier is Tier.GUIDED
    assert finding.detail["expected"] == "120.00"
    assert finding.detail["collected"] == "100.00"
    assert finding.detail["difference"] == "-20.00"
    assert finding.detail["payments_counted"] == 1
    assert set(finding.evidence_event_ids) == {e.event_id for e in events}
    assert finding.summary == (
        "invoice in_1 of 120.00 EUR was settled with 100.00 EUR: underpaid by 20.00 EUR"
    )


def test_no_mismatch_before_settlement_or_when_the_payments_add_up() -> None:
    partial = [invoice(), payment("p1", "100.00", payment="pi_1", invoice="in_1")]
    assert_quiet(partial, "amount_mismatch")
    both = [*partial, payment("p2", "20.00", 70, payment="pi_2", invoice="in_1"), paid_invoice()]
    assert_quiet(both, "amount_mismatch")


def test_a_payment_reported_twice_counts_once() -> None:
    events = [
        invoice(),
        payment("ch_1", "120.00", payment="pi_1", charge="ch_1", invoice="in_1"),
        payment("pi_1", "120.00", 61, payment="pi_1", invoice="in_1"),
        payment("ch_1-again", "120.00", 62, charge="ch_1", invoice="in_1"),
        paid_invoice(),
    ]
    assert_quiet(events, "amount_mismatch")


def test_without_payments_the_settling_event_is_what_was_collected() -> None:
    finding = assert_same_everywhere([invoice(), paid_invoice("130.00")], "amount_mismatch")
    assert (finding.amount, finding.detail["difference"]) == (Decimal("10.00"), "10.00")
    assert finding.detail["payments_counted"] == 0
    assert "overpaid by 10.00 EUR" in finding.summary
    assert_quiet([invoice(), paid_invoice()], "amount_mismatch")


def test_another_currency_is_a_mismatch() -> None:
    events = [invoice(), payment("p1", "120.00", currency="USD", invoice="in_1"), paid_invoice()]
    finding = assert_same_everywhere(events, "amount_mismatch")
    assert (finding.amount, finding.currency) == (Decimal("120.00"), "EUR")
    assert finding.detail["collected_by_currency"] == {"USD": "120.00"}
    assert finding.detail["collected"] is None


def test_a_payable_invoice_is_not_read() -> None:
    events = [invoice(supplier="S-1"), payment("p1", "1.00", invoice="in_1"), paid_invoice()]
    assert_quiet(events, "amount_mismatch")


def test_an_order_settled_for_less_is_a_mismatch_on_the_order() -> None:
    events = [
        event("o", "order.created", source="shop", amount="50.00", order="o_1"),
        payment("p1", "45.00", payment="pi_1", order="o_1"),
        event("o-paid", "order.paid", source="shop", minutes=90, amount="45.00", order="o_1"),
    ]
    finding = assert_same_everywhere(events, "amount_mismatch")
    assert (finding.entity_kind, finding.entity_key) == ("order", "o_1")
    assert finding.amount == Decimal("5.00")


def test_tolerances_are_settings() -> None:
    events = [invoice(), payment("p1", "119.95", invoice="in_1"), paid_invoice()]
    assert_same_everywhere(events, "amount_mismatch")
    assert_quiet(events, "amount_mismatch", DetectionSettings(amount_tolerance=Decimal("0.05")))
    assert_quiet(events, "amount_mismatch",
                 DetectionSettings(amount_tolerance_percent=Decimal("0.05")))  # fmt: skip
    with pytest.raises(ValueError, match="negative"):
        AmountMismatch(Decimal(-1))


def test_changed_evidence_is_a_new_finding() -> None:
    first = [invoice(), payment("p1", "100.00", invoice="in_1"), paid_invoice()]
    later = [payment("p2", "10.00", 100, payment="pi_2", invoice="in_1")]
    findings = of_type(ingest_like([first, later]), "amount_mismatch")
    assert [f.detail["collected"] for f in findings] == ["100.00", "110.00"]


def test_a_payment_naming_neither_invoice_nor_order_asks_for_no_timeline() -> None:
    assert AmountMismatch().anchors(payment("p", "1.00", payment="pi_1")) == []
    no_amount = event("p", "payment.succeeded", payment="pi_1", order="o_1")
    assert AmountMismatch().anchors(no_amount) == []
    assert AmountMismatch().anchors(payment("p", "1.00", invoice="in_1", order="o_1")) == [
        ("invoice", "in_1"),
        ("order", "o_1"),
    ]
    assert Detectors().plan_timelines([payment("p", "1.00", payment="pi_1")]).anchors == set()


# --- fee_mismatch ------------------------------------------------------------------------------


def transfer(amount: str = "1000.00", currency: str = "EUR") -> Event:
    return event("tx", "bank.transfer_initiated", source="bank:main", amount=amount,
                 currency=currency, end_to_end="E2E-1", instruction="I-1")  # fmt: skip


def line(amount: str, type_: str = "bank.statement_line", attributes: dict[str, Any] | None = None,
         currency: str = "EUR", **refs: str) -> Event:  # fmt: skip
    refs = refs or {"end_to_end": "E2E-1"}
    return event("line", type_, source="bank:main", minutes=DAY, amount=amount, currency=currency,
                 attributes=attributes, bank_transaction="bt_1", **refs)  # fmt: skip


def test_a_statement_line_short_by_a_fee_is_a_fee_mismatch() -> None:
    events = [transfer(), line("998.50")]

    finding = assert_same_everywhere(events, "fee_mismatch")

    assert finding.id == finding_id("fee_mismatch", events[1].event_id)
    assert (finding.entity_kind, finding.entity_key) == ("end_to_end", "E2E-1")
    assert (finding.amount, finding.currency) == (Decimal("1.50"), "EUR")
    assert finding.spec.breakpoint is Breakpoint.ELIGIBILITY
    assert finding.tier is Tier.STRAIGHT_THROUGH
    assert finding.detail["counterpart_amount"] == "1000.00"
    assert finding.detail["received_amount"] == "998.50"
    assert finding.detail["fee_difference"] == "1.50"
    assert finding.evidence_event_ids == (events[0].event_id, events[1].event_id)


def test_a_returned_transfer_short_by_a_fee_is_a_fee_mismatch() -> None:
    finding = assert_same_everywhere([transfer(), line("985.00", "bank.transfer_returned")],
                                     "fee_mismatch")  # fmt: skip
    assert finding.amount == Decimal("15.00")


def test_a_payout_line_up_to_two_percent_short_names_the_payout() -> None:
    paid = event("po", "payout.paid", amount="500.00", payout="po_1")
    finding = assert_same_everywhere([paid, line("490.00", payout="po_1")], "fee_mismatch")
    assert (finding.entity_kind, finding.entity_key) == ("payout", "po_1")
    # 11.00 is more than 2% of 500.00 ...
    assert_quiet([paid, line("489.00", payout="po_1")], "fee_mismatch")
    # ... unless the bank says that was its fee.
    charged = line("489.00", attributes={"charges": "11.00"}, payout="po_1")
    finding = assert_same_everywhere([paid, charged], "fee_mismatch")
    assert finding.detail["matched_by"] == "reported_fee"


def test_equal_larger_or_other_currency_lines_are_not_fee_mismatches() -> None:
    assert_quiet([transfer(), line("1000.00")], "fee_mismatch")
    assert_quiet([transfer(), line("1000.01")], "fee_mismatch")
    assert_quiet([transfer(currency="USD"), line("999.00")], "fee_mismatch")
    assert_quiet([transfer(), line("979.99")], "fee_mismatch")
    assert_quiet([line("999.00")], "fee_mismatch")


def test_fee_percent_is_a_setting() -> None:
    events = [transfer(), line("970.00")]
    assert_quiet(events, "fee_mismatch")
    assert_same_everywhere(events, "fee_mismatch",
                           DetectionSettings(fee_tolerance_percent=Decimal(3)))  # fmt: skip
    with pytest.raises(ValueError, match="negative"):
        FeeMismatch(Decimal(-1))


# --- split_conflict and carrier_conflict -------------------------------------------------------


def order(items: int = 3) -> Event:
    return event("o1", "order.created", source="shop", amount="90.00", order="o_1",
                 attributes={"item_count": items})  # fmt: skip


def shipment(n: int, items: int | str) -> Event:
    return event(f"ship-{n}", "fulfillment.created", source="shop", minutes=n * HOUR,
                 order="o_1", attributes={"item_count": items})  # fmt: skip


def test_shipping_more_items_than_ordered_is_a_split_conflict() -> None:
    events = [order(3), shipment(1, 2), shipment(2, "2")]

    finding = assert_same_everywhere(events, "split_conflict")

    assert finding.id == finding_id("split_conflict", events[2].event_id)
    assert (finding.entity_kind, finding.entity_key) == ("order", "o_1")
    assert (finding.amount, finding.currency) == (Decimal("90.00"), "EUR")
    assert finding.spec.breakpoint is Breakpoint.TRANSACTION
    assert finding.detail == {"ordered": 3, "shipped": 4, "shipments": 2}


def test_shipping_what_was_ordered_is_no_split_conflict() -> None:
    assert_quiet([order(3), shipment(1, 2), shipment(2, 1)], "split_conflict")
    assert_quiet([shipment(1, 2), shipment(2, 2)], "split_conflict")


def cancelled() -> Event:
    return event("o1-cancel", "order.cancelled", source="shop", minutes=HOUR, amount="90.00",
                 order="o_1")  # fmt: skip


def carrier(n: int, status: str) -> Event:
    return event(f"trk-{n}", "fulfillment.updated", source="carrier", minutes=n * HOUR,
                 order="o_1", attributes={"shipment_status": status})  # fmt: skip


def test_a_carrier_moving_a_cancelled_order_is_a_carrier_conflict() -> None:
    events = [cancelled(), carrier(2, "in_transit"), carrier(3, "Out-For-Delivery")]

    finding = assert_same_everywhere(events, "carrier_conflict")

    assert finding.id == finding_id("carrier_conflict", events[1].event_id)
    assert (finding.entity_kind, finding.entity_key) == ("order", "o_1")
    assert (finding.amount, finding.currency) == (Decimal("90.00"), "EUR")
    assert finding.spec.breakpoint is Breakpoint.WRITEBACK
    assert finding.detail["shipment_status"] == "in_transit"
    # A shipment already on its way when the order was cancelled conflicts too.
    assert_same_everywhere([carrier(0, "delivered"), cancelled()], "carrier_conflict")


def test_no_carrier_conflict_without_cancellation_or_progress() -> None:
    assert_quiet([carrier(2, "in_transit")], "carrier_conflict")
    assert_quiet([cancelled(), carrier(2, "label_created")], "carrier_conflict")
    assert CarrierConflict().anchors(carrier(2, "confirmed")) == []
    assert SplitConflict().anchors(shipment(1, "many")) == []


# --- supplier_bank_mismatch: account changed ---------------------------------------------------

IBAN_A = "DE89370400440532013000"
IBAN_B = "GB82WEST12345698765432"


def supplier_event(external_id: str, type_: str, iban: str | None, minutes: float) -> Event:
    attributes = {"iban": iban} if iban is not None else {"note": "no account"}
    return event(external_id, type_, source="erp", minutes=minutes, amount="700.00",
                 attributes=attributes, supplier="S-1")  # fmt: skip


def test_paying_another_account_than_last_time_is_a_supplier_bank_mismatch() -> None:
    events = [
        supplier_event("pay-1", "supplier.payment_initiated", IBAN_A, 0),
        supplier_event("pay-2", "supplier.payment_initiated", IBAN_B, DAY),
    ]

    finding = assert_same_everywhere(events, "supplier_bank_mismatch")

    second = events[1].event_id
    assert finding.id == finding_id("supplier_bank_mismatch:changed", second)
    assert finding.id != finding_id("supplier_bank_mismatch", second)
    assert finding.id != finding_id("supplier_bank_mismatch:name", second)
    assert (finding.entity_kind, finding.entity_key) == ("supplier", "S-1")
    assert finding.spec.breakpoint is Breakpoint.IDENTITY
    assert finding.tier is Tier.HUMAN
    assert finding.detail["previous_iban"] == "DE …3000"
    assert finding.detail["iban"] == "GB …5432"
    assert IBAN_A not in finding.summary
    assert IBAN_B not in finding.summary
    assert IBAN_B not in str(finding.detail)


def test_an_update_to_another_account_after_a_payment_fires() -> None:
    events = [
        supplier_event("pay-1", "supplier.payment_initiated", IBAN_A, 0),
        supplier_event("upd", "supplier.updated", IBAN_B, DAY),
    ]
    finding = assert_same_everywhere(events, "supplier_bank_mismatch")
    assert finding.trigger_event_id == events[1].event_id


def test_the_same_account_or_no_previous_payment_is_quiet() -> None:
    spaced = " ".join(IBAN_A[i : i + 4] for i in range(0, len(IBAN_A), 4)).lower()
    assert_quiet([supplier_event("pay-1", "supplier.payment_initiated", IBAN_A, 0),
                  supplier_event("pay-2", "supplier.payment_initiated", spaced, DAY)],
                 "supplier_bank_mismatch")  # fmt: skip
    assert_quiet([supplier_event("upd", "supplier.updated", IBAN_A, 0),
                  supplier_event("pay-1", "supplier.payment_initiated", IBAN_B, DAY)],
                 "supplier_bank_mismatch")  # fmt: skip
    assert_quiet([supplier_event("pay-1", "supplier.payment_initiated", None, 0),
                  supplier_event("pay-2", "supplier.payment_initiated", IBAN_B, DAY)],
                 "supplier_bank_mismatch")  # fmt: skip


def test_each_payment_compares_with_the_one_before_it() -> None:
    events = [
        supplier_event("pay-1", "supplier.payment_initiated", IBAN_A, 0),
        supplier_event("pay-2", "supplier.payment_initiated", IBAN_B, DAY),
        supplier_event("pay-3", "supplier.payment_initiated", IBAN_B, 2 * DAY),
        supplier_event("pay-4", "supplier.payment_initiated", IBAN_A, 3 * DAY),
    ]
    for batches in orders(events):
        found = of_type(ingest_like(batches), "supplier_bank_mismatch")
        assert sorted(f.trigger_event_id for f in found) == sorted(
            [events[1].event_id, events[3].event_id]
        )
    assert SupplierAccountChanged().anchors(events[0]) == [("supplier", "S-1")]


# --- registration ------------------------------------------------------------------------------


def test_detectors_run_every_timeline_detector() -> None:
    names = [d.name for d in Detectors().timeline_detectors]
    assert names == [
        "retry_exhausted",
        "amount_mismatch",
        "fee_mismatch",
        "split_conflict",
        "carrier_conflict",
        "supplier_bank_mismatch:changed",
    ]
