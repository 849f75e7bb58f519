"""The duplicate_invoice and duplicate_order windows (duplicate_charge is in test_detectors)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from recoup.domain.detection.detectors import Detectors, WindowRequest, WindowState
from recoup.domain.detection.duplicates import (
    InvoiceRef,
    normalise_invoice_number,
    one_edit_apart,
)
from recoup.domain.detection.findings import Finding, finding_id
from recoup.domain.detection.taxonomy import Tier
from recoup.domain.ingestion.event import Event, event_id_for
from tests.conftest import T0
from tests.helpers import DETECTED
from tests.helpers import canonical_event as event

DAY = 24 * 60


def eid(external_id: str) -> str:
    return event_id_for("stripe", external_id)


def run(events: list[Event], state: WindowState | None = None) -> list[Finding]:
    return Detectors().run(events, state or WindowState(), DETECTED).findings


def invoice(external_id: str, invoice_id: str, number: str, *, minutes: float = 0,
            amount: str = "1200.00", supplier: str = "sup_1", currency: str = "EUR",
            type_: str = "invoice.created") -> Event:  # fmt: skip
    return event(external_id, type_, minutes=minutes, amount=amount, currency=currency,
                 attributes={"invoice_number": number}, invoice=invoice_id,
                 supplier=supplier)  # fmt: skip


def order(external_id: str, order_id: str, *, minutes: float = 0, amount: str = "49.90",
          customer: str = "cus_1", currency: str = "EUR") -> Event:  # fmt: skip
    return event(external_id, "order.created", minutes=minutes, amount=amount,
                 currency=currency, order=order_id, customer=customer)  # fmt: skip


def across_runs(first: list[Event], second: list[Event]) -> list[Finding]:
    """Two ingest runs: the second sees the window entries the first stored."""
    detectors = Detectors()
    early = detectors.run(first, WindowState(), DETECTED)
    late = detectors.run(second, WindowState.of(early.window_entries), DETECTED)
    return early.findings + late.findings


# --- normalisation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("INV-0012", "INV12"),
        ("inv 12", "INV12"),
        ("inv.0012/a", "INV12A"),
        ("0042", "42"),
        ("INV-2026-0042", "INV202642"),
        ("000", "0"),
        (" - ", None),
    ],
)
def test_invoice_numbers_are_normalised(raw: str, normal: str | None) -> None:
    assert normalise_invoice_number(raw) == normal


@pytest.mark.parametrize(
    ("a", "b", "near"),
    [
        ("INV12", "INV13", True),
        ("INV12", "INV123", True),
        ("INV12", "INV2", True),
        ("INV12", "INV12", False),
        ("INV12", "INV21", False),
        ("INV12", "INV1234", False),
    ],
)
def test_near_numbers_are_one_edit_apart(a: str, b: str, near: bool) -> None:
    assert one_edit_apart(a, b) is near
    assert one_edit_apart(b, a) is near


def test_an_invoice_ref_survives_the_window_store() -> None:
    ref = InvoiceRef("in 1", "INV12", Decimal("10.00"), "EUR")

    assert InvoiceRef.decode(ref.encode()) == ref
    assert InvoiceRef.decode(InvoiceRef("x", "N", None, None).encode()).amount is None


# --- duplicate_invoice --------------------------------------------------------------------------


def test_the_same_number_written_differently_is_a_duplicate_invoice() -> None:
    first = invoice("i1", "in_1", "INV-0012")
    second = invoice("i2", "in_2", "inv 12", minutes=3 * DAY, amount="1150.00")

    findings = run([first, second])

    (finding,) = findings
    assert finding.type == "duplicate_invoice"
    assert finding.id == finding_id("duplicate_invoice", eid("i2"))
    assert finding.trigger_event_id == eid("i2")
    assert finding.evidence_event_ids == (eid("i1"), eid("i2"))
    assert (finding.entity_kind, finding.entity_key) == ("supplier", "sup_1")
    assert finding.exposure_key == "invoice:in_2"
    assert (finding.amount, finding.currency) == (Decimal("1150.00"), "EUR")
    assert finding.tier is Tier.GUIDED
    assert finding.detail == {
        "rule": "same_number",
        "original_invoice": "in_1",
        "duplicate_invoice": "in_2",
        "original_number": "INV12",
        "duplicate_number": "INV12",
    }


def test_refs_invoice_is_the_number_when_the_source_gives_no_other() -> None:
    first = event("i1", "invoice.created", amount="10.00", invoice="INV-0012", supplier="sup_1")
    second = event("i2", "invoice.approved", minutes=60, amount="10.00", invoice="inv 12",
                   supplier="sup_1")  # fmt: skip

    assert [f.trigger_event_id for f in run([first, second])] == [eid("i2")]


def test_a_near_number_with_the_same_amount_within_seven_days_is_a_duplicate_invoice() -> None:
    findings = run([invoice("i1", "in_1", "INV-1012"),
                    invoice("i2", "in_2", "INV-1013", minutes=7 * DAY)])  # fmt: skip

    (finding,) = findings
    assert finding.evidence_event_ids == (eid("i1"), eid("i2"))
    assert finding.detail["rule"] == "near_number"
    assert (finding.detail["original_number"], finding.detail["duplicate_number"]) == (
        "INV1012",
        "INV1013",
    )
    assert (finding.amount, finding.currency) == (Decimal("1200.00"), "EUR")


def test_the_same_number_is_a_duplicate_up_to_ninety_days_apart() -> None:
    far = invoice("i2", "in_2", "A1", minutes=90 * DAY, amount="5.00")
    assert len(run([invoice("i1", "in_1", "A-1"), far])) == 1
    assert run([invoice("i1", "in_1", "A-1"), invoice("i2", "in_2", "A1", minutes=91 * DAY)]) == []


@pytest.mark.parametrize(
    "second",
    [
        invoice("i2", "in_2", "INV-0012", minutes=60, supplier="sup_2"),
        invoice("i2", "in_1", "INV-0012", minutes=60, type_="invoice.approved"),
        invoice("i2", "in_2", "INV-0013", minutes=8 * DAY),
        invoice("i2", "in_2", "INV-0013", minutes=60, amount="1200.01"),
        invoice("i2", "in_2", "INV-0013", minutes=60, currency="USD"),
        invoice("i2", "in_2", "INV-0021", minutes=60),
    ],
    ids=[
        "other-supplier",
        "same-invoice-id",
        "8-days",
        "other-amount",
        "other-currency",
        "two-characters",
    ],
)
def test_near_misses_are_not_duplicate_invoices(second: Event) -> None:
    assert run([invoice("i1", "in_1", "INV-0012"), second]) == []


def test_an_invoice_without_supplier_or_id_is_never_remembered() -> None:
    no_supplier = event("i1", "invoice.created", amount="10.00", invoice="in_1")
    no_id = event("i2", "invoice.created", amount="10.00", supplier="sup_1",
                  attributes={"invoice_number": "INV-1"})  # fmt: skip

    detection = Detectors().run([no_supplier, no_id], WindowState(), DETECTED)

    assert detection.findings == []
    assert detection.window_entries == []
    requests = Detectors().window_requests([no_supplier, no_id])
    assert [r for r in requests if r.detector.startswith("duplicate_")] == []
    # Only amount_mismatch's gate asks whether the receivable invoice was settled.
    assert [(r.detector, r.key) for r in requests] == [("gate.amount_mismatch", "invoice:in_1")]


def test_an_invoice_is_remembered_under_its_number_and_its_amount() -> None:
    detection = Detectors().run([invoice("i1", "in_1", "INV-0012")], WindowState(), DETECTED)

    assert [(e.detector, e.key, e.ref) for e in detection.window_entries] == [
        ("duplicate_invoice", "sup_1|INV12", "1200.00 EUR INV12 in_1"),
        ("duplicate_invoice.amount", "sup_1|EUR|1200.00", "1200.00 EUR INV12 in_1"),
    ]


def test_invoice_window_requests_use_each_rules_window() -> None:
    requests = Detectors().window_requests([invoice("i1", "in_1", "INV-0012", minutes=DAY)])

    at = T0 + timedelta(days=1)
    assert requests == [
        WindowRequest("duplicate_invoice", "sup_1|INV12", at - timedelta(days=90),
                      at + timedelta(days=90)),
        WindowRequest("duplicate_invoice.amount", "sup_1|EUR|1200.00", at - timedelta(days=7),
                      at + timedelta(days=7)),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (invoice("i1", "in_1", "INV-0012"), invoice("i2", "in_2", "inv 12", minutes=DAY,
                                                     amount="99.00")),
        (invoice("i1", "in_1", "INV-1012"), invoice("i2", "in_2", "INV-1013", minutes=DAY)),
    ],
    ids=["same-number", "near-number"],
)  # fmt: skip
def test_out_of_order_invoices_give_the_same_finding(first: Event, second: Event) -> None:
    in_order = run([first, second])
    in_one_batch_reversed = run([second, first])
    late_original = across_runs([second], [first])

    assert in_order == in_one_batch_reversed == late_original
    (finding,) = late_original
    assert finding.id == finding_id("duplicate_invoice", eid("i2"))
    assert finding.evidence_event_ids == (eid("i1"), eid("i2"))
    assert finding.amount == second.amount
    assert finding.exposure_key == "invoice:in_2"


def test_an_invoice_matching_both_rules_gives_one_finding() -> None:
    findings = run([invoice("i1", "in_1", "INV-12"), invoice("i2", "in_2", "INV-12", minutes=60),
                    invoice("i3", "in_3", "INV-13", minutes=120)])  # fmt: skip

    assert [(f.trigger_event_id, f.detail["rule"]) for f in findings] == [
        (eid("i2"), "same_number"),
        (eid("i3"), "near_number"),
    ]


# --- duplicate_order ----------------------------------------------------------------------------


def test_a_checkout_submitted_twice_is_a_duplicate_order() -> None:
    detection = Detectors().run(
        [order("o1", "ord_1"), order("o2", "ord_2", minutes=2)], WindowState(), DETECTED
    )

    (finding,) = detection.findings
    assert finding.type == "duplicate_order"
    assert finding.id == finding_id("duplicate_order", eid("o2"))
    assert (finding.entity_kind, finding.entity_key) == ("order", "ord_2")
    assert finding.evidence_event_ids == (eid("o1"), eid("o2"))
    assert finding.exposure_key == "order:ord_2"
    assert (finding.amount, finding.currency) == (Decimal("49.90"), "EUR")
    assert finding.detail == {"original_order": "ord_1", "duplicate_order": "ord_2"}
    assert [(e.detector, e.key, e.ref) for e in detection.window_entries] == [
        ("duplicate_order", "cus_1|EUR|49.90", "ord_1"),
        ("duplicate_order", "cus_1|EUR|49.90", "ord_2"),
    ]


def test_orders_ten_minutes_apart_are_duplicates_eleven_are_not() -> None:
    assert len(run([order("o1", "ord_1"), order("o2", "ord_2", minutes=10)])) == 1
    assert run([order("o1", "ord_1"), order("o2", "ord_2", minutes=11)]) == []


@pytest.mark.parametrize(
    "second",
    [
        order("o2", "ord_1", minutes=1),
        order("o2", "ord_2", minutes=1, customer="cus_2"),
        order("o2", "ord_2", minutes=1, amount="49.91"),
        order("o2", "ord_2", minutes=1, currency="USD"),
    ],
    ids=["same-order", "other-customer", "other-amount", "other-currency"],
)
def test_near_misses_are_not_duplicate_orders(second: Event) -> None:
    assert run([order("o1", "ord_1"), second]) == []


def test_an_order_without_customer_is_never_a_duplicate() -> None:
    first = event("o1", "order.created", amount="5.00", order="ord_1")
    second = event("o2", "order.created", minutes=1, amount="5.00", order="ord_2")

    detection = Detectors().run([first, second], WindowState(), DETECTED)

    assert (detection.findings, detection.window_entries) == ([], [])


def test_out_of_order_orders_give_the_same_finding() -> None:
    first, second = order("o1", "ord_1"), order("o2", "ord_2", minutes=5)

    in_order = run([first, second])
    late_original = across_runs([second], [first])

    assert in_order == late_original
    assert [f.id for f in late_original] == [finding_id("duplicate_order", eid("o2"))]


def test_order_window_requests_span_ten_minutes_either_side() -> None:
    requests = Detectors().window_requests([order("o1", "ord_1", minutes=30)])

    assert [r for r in requests if not r.detector.startswith("gate.")] == [
        WindowRequest("duplicate_order", "cus_1|EUR|49.90", T0 + timedelta(minutes=20),
                      T0 + timedelta(minutes=40)),
    ]  # fmt: skip
