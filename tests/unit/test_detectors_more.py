"""The stateless detectors beyond the first five, and the dispatch by event type."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from recoup.bootstrap import bootstrap
from recoup.domain.detection.detectors import (
    DEFAULT_HIGH_VALUE_THRESHOLDS,
    Detection,
    DetectionSettings,
    Detectors,
    WindowState,
    detect_dispute_opened,
    detect_payment_failed,
    detect_refund_failed,
)
from recoup.domain.detection.findings import Finding, finding_id
from recoup.domain.detection.rules_orders import HighValueReview
from recoup.domain.detection.rules_payments import CAPTURE_FAILED_RULE, detect_capture_failed
from recoup.domain.detection.taxonomy import Breakpoint, Kind, Tier
from recoup.domain.errors import ConfigurationError, InvalidInputError
from recoup.domain.ingestion.event import Event, event_id_for
from recoup.settings import DatabaseSettings, Settings, load_settings
from tests.conftest import T0
from tests.helpers import DETECTED
from tests.helpers import canonical_event as event


def run(events: list[Event], detectors: Detectors | None = None) -> list[Finding]:
    return (detectors or Detectors()).run(events, WindowState(), DETECTED).findings


def eid(external_id: str, source: str = "stripe") -> str:
    return event_id_for(source, external_id)


def assert_kept(finding: Finding, external_id: str, source: str = "stripe") -> None:
    """The finding is the event's: its id, trigger, evidence and times."""
    assert finding.id == finding_id(finding.type, eid(external_id, source))
    assert finding.trigger_event_id == eid(external_id, source)
    assert finding.evidence_event_ids == (eid(external_id, source),)
    assert finding.occurred_at == T0
    assert finding.detected_at == DETECTED


# --- capture_failed (written, not yet run by Detectors) ---------------------------------------


def test_a_failed_capture_is_a_guided_transaction_break_that_pauses_automation() -> None:
    failed = event("c1", "payment.capture_failed", amount="12.345", currency="BHD",
                   reason="adyen:insufficient_balance", payment="pi_1")  # fmt: skip

    finding = detect_capture_failed(failed, DETECTED)

    assert finding is not None
    assert_kept(finding, "c1")
    assert finding.type == "capture_failed"
    assert (finding.entity_kind, finding.entity_key) == ("payment", "pi_1")
    assert finding.exposure_key == "payment:pi_1"
    assert finding.reason_code == "adyen:insufficient_balance"
    assert (finding.amount, finding.currency) == (Decimal("12.345"), "BHD")
    assert finding.tier is Tier.GUIDED
    assert finding.spec.breakpoint is Breakpoint.TRANSACTION
    assert finding.spec.pauses_automation is True
    assert finding.summary == "capture of 12.345 BHD failed (adyen:insufficient_balance)"


def test_a_failed_capture_falls_back_to_the_charge() -> None:
    finding = detect_capture_failed(event("c1", "payment.capture_failed", charge="ch_1"), DETECTED)

    assert finding is not None
    assert (finding.entity_kind, finding.entity_key) == ("charge", "ch_1")
    assert finding.summary == "capture of an unknown amount failed (no reason code)"


def test_a_successful_capture_is_not_a_failed_capture() -> None:
    captured = event("c1", "payment.captured", amount="10.00", payment="pi_1")

    assert detect_capture_failed(captured, DETECTED) is None


def test_the_capture_rule_is_dispatched_on_capture_failures() -> None:
    types, rule = CAPTURE_FAILED_RULE

    assert types == frozenset({"payment.capture_failed"})
    assert rule in Detectors().dispatch["payment.capture_failed"]


# --- authorization_expired --------------------------------------------------------------------


def test_an_expired_authorisation_is_detected() -> None:
    expired = event("a1", "payment.authorization_expired", amount="80.00", payment="pi_1",
                    charge="ch_1")  # fmt: skip

    (finding,) = run([expired])

    assert_kept(finding, "a1")
    assert finding.type == "authorization_expired"
    assert (finding.entity_kind, finding.entity_key) == ("payment", "pi_1")
    assert (finding.amount, finding.currency) == (Decimal("80.00"), "EUR")
    assert finding.reason_code is None
    assert finding.tier is Tier.GUIDED
    assert finding.spec.breakpoint is Breakpoint.TRANSACTION
    assert finding.summary == "authorisation of 80.00 EUR expired before capture"


def test_a_cancelled_authorisation_is_not_an_expired_one() -> None:
    assert run([event("a1", "payment.canceled", amount="80.00", payment="pi_1")]) == []


# --- payout_failed ----------------------------------------------------------------------------


def test_a_failed_payout_keeps_its_reason() -> None:
    failed = event("p1", "payout.failed", amount="1200.00", reason="stripe:account_closed",
                   message="The bank account has been closed", payout="po_1")  # fmt: skip

    (finding,) = run([failed])

    assert_kept(finding, "p1")
    assert finding.type == "payout_failed"
    assert (finding.entity_kind, finding.entity_key) == ("payout", "po_1")
    assert finding.exposure_key == "payout:po_1"
    assert finding.reason_code == "stripe:account_closed"
    assert (finding.amount, finding.currency) == (Decimal("1200.00"), "EUR")
    assert finding.tier is Tier.GUIDED
    assert finding.spec.breakpoint is Breakpoint.TRANSACTION
    assert finding.spec.queue == "treasury.system"
    assert finding.summary == "payout of 1,200.00 EUR failed (stripe:account_closed)"
    assert finding.detail == {"reason_message": "The bank account has been closed"}


def test_a_paid_payout_finds_nothing() -> None:
    assert run([event("p1", "payout.paid", amount="1200.00", payout="po_1")]) == []


# --- bank_rejected ----------------------------------------------------------------------------


def test_a_bank_reject_is_explained_by_its_iso_reason() -> None:
    rejected = event("r1", "bank.transfer_rejected", source="bank:main-eur", amount="1000.00",
                     reason="iso:AC04", status="RJCT", end_to_end="E2E-1", instruction="PMT-1",
                     uetr="8a562c67-ca16-48ba-b074-65581be6f011")  # fmt: skip

    (finding,) = run([rejected])

    assert_kept(finding, "r1", "bank:main-eur")
    assert finding.type == "bank_rejected"
    assert (finding.entity_kind, finding.entity_key) == ("end_to_end", "E2E-1")
    assert finding.reason_code == "iso:AC04"
    assert (finding.amount, finding.currency) == (Decimal("1000.00"), "EUR")
    assert finding.tier is Tier.GUIDED
    assert finding.spec.breakpoint is Breakpoint.TRANSACTION
    assert finding.summary == "transfer rejected: AC04 (the account is closed), 1,000.00 EUR"
    assert finding.detail == {
        "reason_scheme": "iso",
        "reason": "AC04",
        "reason_name": "ClosedAccountNumber",
        "reason_meaning": "the account is closed",
        "status": "RJCT",
    }


@pytest.mark.parametrize(
    ("refs", "entity"),
    [
        ({"instruction": "PMT-1", "uetr": "u-1", "bank_transaction": "bt-1"},
         ("instruction", "PMT-1")),
        ({"uetr": "u-1", "bank_transaction": "bt-1"}, ("uetr", "u-1")),
        ({"bank_transaction": "bt-1"}, ("bank_transaction", "bt-1")),
        ({}, ("event", "bank:main-eur:r1")),
    ],
)  # fmt: skip
def test_a_bank_reject_names_the_transfer_by_its_best_id(
    refs: dict[str, str], entity: tuple[str, str]
) -> None:
    rejected = event("r1", "bank.transfer_rejected", source="bank:main-eur", reason="iso:AM04",
                     **refs)  # fmt: skip

    (finding,) = run([rejected])

    assert (finding.entity_kind, finding.entity_key) == entity


@pytest.mark.parametrize(
    ("reason", "summary"),
    [
        ("iso:ZZ99", "transfer rejected: iso:ZZ99 (unknown reason), 5.00 EUR"),
        (None, "transfer rejected: no reason code, 5.00 EUR"),
    ],
)
def test_a_bank_reject_without_a_known_reason_says_so(reason: str | None, summary: str) -> None:
    rejected = event("r1", "bank.transfer_rejected", amount="5.00", reason=reason,
                     end_to_end="E2E-1")  # fmt: skip

    (finding,) = run([rejected])

    assert finding.summary == summary
    assert finding.reason_code == reason
    assert finding.detail["reason_name"] is None


def test_an_accepted_transfer_finds_nothing() -> None:
    accepted = event("r1", "bank.transfer_accepted", amount="1000.00", status="ACSC",
                     end_to_end="E2E-1")  # fmt: skip

    assert run([accepted]) == []


# --- bank_returned ----------------------------------------------------------------------------


def test_an_iso_return_is_explained_and_its_exposure_is_the_returned_amount() -> None:
    returned = event("t1", "bank.transfer_returned", source="bank:main-eur", amount="999.50",
                     reason="iso:AC04", end_to_end="E2E-1")  # fmt: skip

    (finding,) = run([returned])

    assert_kept(finding, "t1", "bank:main-eur")
    assert finding.type == "bank_returned"
    assert (finding.entity_kind, finding.entity_key) == ("end_to_end", "E2E-1")
    assert finding.exposure_key == "end_to_end:E2E-1"
    assert (finding.amount, finding.currency) == (Decimal("999.50"), "EUR")
    assert finding.reason_code == "iso:AC04"
    assert finding.tier is Tier.GUIDED
    assert finding.spec.breakpoint is Breakpoint.TRANSACTION
    assert finding.summary == "transfer returned: AC04 (the account is closed), 999.50 EUR"


def test_an_ach_return_is_named_by_its_trace_and_explained_by_its_r_code() -> None:
    returned = event("t1", "bank.transfer_returned", source="bank:ach", amount="250.00",
                     currency="USD", reason="ach:R01", ach_trace="091000019000001",
                     bank_transaction="bt-1")  # fmt: skip

    (finding,) = run([returned])

    assert finding.type == "bank_returned"
    assert (finding.entity_kind, finding.entity_key) == ("ach_trace", "091000019000001")
    assert (finding.amount, finding.currency) == (Decimal("250.00"), "USD")
    assert finding.reason_code == "ach:R01"
    assert finding.summary == "transfer returned: R01 (Insufficient Funds), 250.00 USD"
    assert finding.detail == {
        "reason_scheme": "ach",
        "reason": "R01",
        "reason_name": "Insufficient Funds",
        "reason_meaning": "Available balance is not sufficient to cover the dollar value of "
        "the debit entry",
    }


def test_a_booked_statement_line_finds_nothing() -> None:
    line = event("t1", "bank.statement_line", source="bank:main-eur", amount="999.50",
                 end_to_end="E2E-1")  # fmt: skip

    assert run([line]) == []


# --- fraud_review -----------------------------------------------------------------------------


def test_an_early_fraud_warning_goes_to_a_person() -> None:
    warning = event("w1", "dispute.early_fraud_warning", amount="300.00",
                    reason="stripe:made_with_stolen_card", charge="ch_1", payment="pi_1",
                    attributes={"actionable": True})  # fmt: skip

    (finding,) = run([warning])

    assert_kept(finding, "w1")
    assert finding.type == "fraud_review"
    assert (finding.entity_kind, finding.entity_key) == ("charge", "ch_1")
    assert finding.exposure_key == "payment:pi_1"
    assert finding.reason_code == "stripe:made_with_stolen_card"
    assert (finding.amount, finding.currency) == (Decimal("300.00"), "EUR")
    assert finding.tier is Tier.HUMAN
    assert finding.spec.breakpoint is Breakpoint.IDENTITY
    assert finding.spec.pauses_automation is True
    assert finding.summary == "early fraud warning (stripe:made_with_stolen_card) on 300.00 EUR"
    assert finding.detail == {"actionable": True}


def test_a_dispute_update_is_not_a_fraud_warning() -> None:
    assert run([event("w1", "dispute.updated", amount="300.00", charge="ch_1")]) == []


# --- high_value_review ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "limit"),
    [("5000.00", "EUR", "5,000.00 EUR"), ("5000.01", "USD", "5,000.00 USD"),
     ("750000", "JPY", "750,000 JPY")],
)  # fmt: skip
def test_an_order_at_or_above_the_threshold_is_reviewed(
    amount: str, currency: str, limit: str
) -> None:
    order = event("o1", "order.created", source="shop", amount=amount, currency=currency,
                  order="1001", customer="cus_1")  # fmt: skip

    (finding,) = run([order])

    assert_kept(finding, "o1", "shop")
    assert finding.type == "high_value_review"
    assert (finding.entity_kind, finding.entity_key) == ("order", "1001")
    assert (finding.amount, finding.currency) == (Decimal(amount), currency)
    assert finding.reason_code is None
    assert finding.tier is Tier.HUMAN
    assert finding.spec.breakpoint is Breakpoint.ELIGIBILITY
    assert finding.spec.kind is Kind.POLICY
    assert finding.spec.pauses_automation is True
    assert finding.summary.endswith(f"is at or above the {limit} review threshold")
    assert finding.detail == {"threshold": str(DEFAULT_HIGH_VALUE_THRESHOLDS[currency])}


def test_a_high_value_order_summary_reads_plainly() -> None:
    (finding,) = run([event("o1", "order.created", amount="7500", order="1001")])

    assert finding.summary == (
        "order of 7,500.00 EUR is at or above the 5,000.00 EUR review threshold"
    )


def test_a_high_value_authorisation_is_reviewed_on_its_order_else_its_payment() -> None:
    with_order = event("a1", "payment.authorized", amount="6000.00", payment="pi_1", order="1001")
    without = event("a2", "payment.authorized", minutes=1, amount="6000.00", payment="pi_2")

    first, second = run([with_order, without])

    assert (first.entity_kind, first.entity_key) == ("order", "1001")
    assert (second.entity_kind, second.entity_key) == ("payment", "pi_2")
    assert second.summary == (
        "authorisation of 6,000.00 EUR is at or above the 5,000.00 EUR review threshold"
    )


@pytest.mark.parametrize(
    ("type_", "amount", "currency"),
    [
        ("order.created", "4999.99", "EUR"),
        ("order.created", "749999", "JPY"),
        ("order.created", "1000000.00", "CHF"),
        ("payment.authorized", "4999.99", "GBP"),
        ("order.paid", "9000.00", "EUR"),
        ("payment.succeeded", "9000.00", "EUR"),
    ],
    ids=["eur-under", "jpy-under", "no-chf-threshold", "auth-under", "order-paid", "payment"],
)
def test_an_order_just_under_the_threshold_or_another_event_is_not_reviewed(
    type_: str, amount: str, currency: str
) -> None:
    assert run([event("o1", type_, amount=amount, currency=currency, order="1001")]) == []


def test_an_order_without_an_amount_is_not_reviewed() -> None:
    assert run([event("o1", "order.created", order="1001")]) == []


def test_the_thresholds_are_a_setting() -> None:
    detectors = Detectors(DetectionSettings(high_value_thresholds={"CHF": Decimal(1000)}))
    orders = [
        event("o1", "order.created", amount="1000.00", currency="CHF", order="1"),
        event("o2", "order.created", amount="9000.00", currency="EUR", order="2"),
    ]

    findings = run(orders, detectors)

    assert [f.entity_key for f in findings] == ["1"]
    assert findings[0].detail == {"threshold": "1000"}


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [
        ({"EUR": Decimal(0)}, "the high-value threshold for EUR must be positive"),
        ({"EUR": Decimal("0.001")}, "amount 0.001 has 3 decimal places but EUR allows 2"),
        ({"XYZ": Decimal(5)}, "unknown ISO 4217 currency code 'XYZ'"),
    ],
)
def test_a_bad_threshold_is_refused(thresholds: dict[str, Decimal], message: str) -> None:
    with pytest.raises(InvalidInputError) as excinfo:
        HighValueReview(thresholds)

    assert excinfo.value.message == message


# --- blocked_payment --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "status", "summary"),
    [
        ("invoice.approved", "blocked", "invoice payment of 12,000.00 EUR is blocked (erp:R)"),
        ("invoice.created", "on_hold", "invoice payment of 12,000.00 EUR is on hold (erp:R)"),
        ("supplier.payment_initiated", "On Hold",
         "supplier payment of 12,000.00 EUR is on hold (erp:R)"),
    ],
)  # fmt: skip
def test_a_blocked_or_held_supplier_payment_waits_for_release(
    type_: str, status: str, summary: str
) -> None:
    held = event("i1", type_, source="erp", amount="12000.00", reason="erp:R", status=status,
                 invoice="INV-7", supplier="SUP-1")  # fmt: skip

    (finding,) = run([held])

    assert_kept(finding, "i1", "erp")
    assert finding.type == "blocked_payment"
    assert (finding.entity_kind, finding.entity_key) == ("invoice", "INV-7")
    assert finding.exposure_key == "invoice:INV-7"
    assert (finding.amount, finding.currency) == (Decimal("12000.00"), "EUR")
    assert finding.reason_code == "erp:R"
    assert finding.tier is Tier.GUIDED
    assert finding.spec.breakpoint is Breakpoint.ELIGIBILITY
    assert finding.spec.queue == "accounts_payable.policy"
    assert finding.summary == summary
    assert finding.detail == {"status": status}


def test_a_blocked_supplier_payment_without_an_invoice_is_named_by_its_supplier() -> None:
    held = event("i1", "supplier.payment_initiated", source="erp", status="blocked",
                 supplier="SUP-1")  # fmt: skip

    (finding,) = run([held])

    assert (finding.entity_kind, finding.entity_key) == ("supplier", "SUP-1")
    assert finding.summary == "supplier payment of an unknown amount is blocked"


@pytest.mark.parametrize(
    ("type_", "status"),
    [
        ("invoice.approved", "open"),
        ("invoice.approved", None),
        ("supplier.payment_initiated", "sent"),
        ("supplier.updated", "blocked"),
        ("custom.invoice_hold", "blocked"),
    ],
)
def test_an_open_invoice_or_a_non_payment_event_is_not_blocked(
    type_: str, status: str | None
) -> None:
    assert run([event("i1", type_, source="erp", amount="12000.00", status=status,
                      invoice="INV-7")]) == []  # fmt: skip


# --- dispatch ---------------------------------------------------------------------------------


def legacy_run(events: list[Event]) -> Detection:
    """``Detectors.run`` as it was: every stateless rule on every event, then the window."""
    detectors = Detectors()
    state = WindowState()
    out = Detection()
    for e in sorted(events, key=lambda e: (e.occurred_at, e.event_id)):
        for rule in (detect_payment_failed, detect_dispute_opened, detect_refund_failed):
            found = rule(e, DETECTED)
            if found is not None:
                out.findings.append(found)
        found, entry = detectors.duplicate.check(e, state, DETECTED)
        if found is not None:
            out.findings.append(found)
        if entry is not None:
            out.window_entries.append(entry)
    return out


def test_the_dispatch_finds_what_the_loop_over_every_rule_found() -> None:
    batch = [
        event("f1", "payment.failed", minutes=3, amount="9.99", reason="stripe:insufficient_funds",
              payment="pi_9", customer="cus_1"),
        event("f2", "invoice.payment_failed", minutes=1, amount="50.00", invoice="in_1"),
        event("f3", "subscription.payment_failed", minutes=1, reason="visa:41",
              subscription="sub_1"),
        event("d1", "dispute.opened", minutes=2, amount="5.00", reason="visa:10.4",
              dispute="dp_1", payment="pi_5"),
        event("d2", "dispute.inquiry_opened", minutes=2, charge="ch_2", dispute="dp_2"),
        event("r1", "refund.failed", minutes=4, amount="5.00", refund="re_1"),
        event("s1", "payment.succeeded", minutes=5, amount="20.00", payment="pi_1",
              customer="cus_1"),
        event("s2", "payment.succeeded", minutes=6, amount="20.00", payment="pi_2",
              customer="cus_1"),
        event("s3", "payment.succeeded", minutes=6, amount="20.00", payment="pi_2",
              customer="cus_1"),
        event("u1", "refund.succeeded", minutes=7, amount="5.00", refund="re_1"),
        event("o1", "order.created", minutes=8, amount="20.00", order="1001"),
        event("x1", "custom.thing", minutes=9),
    ]  # fmt: skip
    expected = legacy_run(batch)

    detection = Detectors().run(list(reversed(batch)), WindowState(), DETECTED)

    # Timers are not findings: the legacy loop had none, and none of these events meets one.
    assert [x.rule for x in detection.expectations] == ["orphan_payment"] * 3
    assert detection.meets == []
    detection.expectations = []
    # Failed attempts mark the retry gate of their payment (see TimelineDetector.waits_on).
    gates = [e for e in detection.window_entries if e.detector.startswith("gate.")]
    assert {(e.detector, e.key) for e in gates} == {
        ("gate.retry_exhausted", "payment:pi_9"),
        ("gate.retry_exhausted", "invoice:in_1"),
        ("gate.retry_exhausted", "subscription:sub_1"),
    }
    detection.window_entries = [e for e in detection.window_entries if e not in gates]
    assert detection == expected
    assert [f.id for f in detection.findings] == [
        finding_id("payment_failed", eid("f3")),
        finding_id("payment_failed", eid("f2")),
        finding_id("inquiry_opened", eid("d2")),
        finding_id("dispute_opened", eid("d1")),
        finding_id("payment_failed", eid("f1")),
        finding_id("refund_failed", eid("r1")),
        finding_id("duplicate_charge", eid("s2")),
        finding_id("duplicate_charge", eid("s3")),
    ]


def test_the_dispatch_lists_exactly_the_types_a_rule_reads() -> None:
    dispatch = Detectors().dispatch

    assert sorted(dispatch) == [
        "bank.statement_line", "bank.transfer_rejected", "bank.transfer_returned",
        "dispute.early_fraud_warning", "dispute.inquiry_opened", "dispute.opened",
        "invoice.approved", "invoice.created", "invoice.finalized", "invoice.marked_uncollectible",
        "invoice.paid", "invoice.payment_failed", "invoice.voided",
        "order.created", "order.updated",
        "payment.authorization_expired", "payment.authorized", "payment.capture_failed",
        "payment.failed", "payment.succeeded",
        "payout.failed",
        "refund.failed",
        "subscription.payment_failed",
        "supplier.created", "supplier.payment_initiated", "supplier.updated",
    ]  # fmt: skip
    assert [rule.__name__ for rule in dispatch["invoice.payment_failed"]] == [  # type: ignore[attr-defined]
        "detect_payment_failed",
        "detect_blocked_payment",
    ]


def test_a_failed_invoice_payment_that_is_also_blocked_gives_both_findings() -> None:
    failed = event("i1", "invoice.payment_failed", source="erp", amount="10.00",
                   status="blocked", invoice="INV-1")  # fmt: skip

    assert [f.type for f in run([failed])] == ["payment_failed", "blocked_payment"]


# --- settings ---------------------------------------------------------------------------------


@pytest.fixture
def _no_recoup_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.upper().startswith("RECOUP_"):
            monkeypatch.delenv(key)


@pytest.mark.usefixtures("_no_recoup_variables")
def test_the_thresholds_default_when_not_set() -> None:
    assert load_settings().detection.high_value_thresholds == {
        "EUR": Decimal(5000),
        "USD": Decimal(5000),
        "GBP": Decimal(5000),
        "JPY": Decimal(750_000),
    }


@pytest.mark.usefixtures("_no_recoup_variables")
def test_the_thresholds_are_read_as_json_and_reach_the_detectors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(
        "RECOUP_DETECTION__HIGH_VALUE_THRESHOLDS", '{"EUR": "10000", "JPY": 2000000}'
    )
    loaded = load_settings()
    settings = Settings(
        database=DatabaseSettings(url=f"sqlite:///{tmp_path}/t.db"),  # type: ignore[arg-type]
        detection=loaded.detection,
    )

    app = bootstrap(settings)
    try:
        thresholds = app.detectors.settings.high_value_thresholds
        findings = run([event("o1", "order.created", amount="9999.99", order="1"),
                        event("o2", "order.created", amount="10000", order="2")],
                       app.detectors)  # fmt: skip
    finally:
        app.close()

    assert thresholds == {"EUR": Decimal(10000), "JPY": Decimal(2_000_000)}
    assert [f.entity_key for f in findings] == ["2"]


@pytest.mark.usefixtures("_no_recoup_variables")
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('{"EUR": "0"}', "EUR: the threshold must be positive"),
        ('{"eur": "5000"}', "unknown ISO 4217 currency code 'eur'"),
        ('{"EUR": "5000.001"}', "EUR: amount 5000.001 has 3 decimal places but EUR allows 2"),
    ],
)
def test_a_bad_threshold_setting_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("RECOUP_DETECTION__HIGH_VALUE_THRESHOLDS", value)

    with pytest.raises(ConfigurationError) as excinfo:
        load_settings()

    assert excinfo.value.message == (f"setting RECOUP_DETECTION__HIGH_VALUE_THRESHOLDS: {message}")


@pytest.mark.usefixtures("_no_recoup_variables")
def test_a_misspelt_threshold_variable_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECOUP_DETECTION__HIGH_VALUE_THRESHOLD", '{"EUR": "1"}')

    with pytest.raises(ConfigurationError) as excinfo:
        load_settings()

    assert excinfo.value.message == (
        "unknown setting RECOUP_DETECTION__HIGH_VALUE_THRESHOLD; see `recoup config show`"
    )
