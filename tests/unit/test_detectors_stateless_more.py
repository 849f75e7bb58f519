"""missing_remittance, address_risk, stock_unavailable, the risk half of fraud_review and the
account-holder half of supplier_bank_mismatch."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest

from recoup.domain.detection.detectors import Detectors, WindowState
from recoup.domain.detection.findings import Finding, finding_id
from recoup.domain.detection.rules_bank import detect_missing_remittance
from recoup.domain.detection.rules_orders import (
    detect_address_risk,
    detect_risk_review,
    detect_stock_unavailable,
)
from recoup.domain.detection.rules_payables import detect_holder_name_mismatch
from recoup.domain.detection.taxonomy import Breakpoint, Kind, Tier
from recoup.domain.ingestion.event import Event, Refs, event_id_for
from tests.conftest import T0
from tests.helpers import DETECTED
from tests.helpers import canonical_event as event


def run(events: list[Event]) -> list[Finding]:
    return Detectors().run(events, WindowState(), DETECTED).findings


def of_type(findings: list[Finding], type_: str) -> list[Finding]:
    return [f for f in findings if f.type == type_]


def assert_kept(finding: Finding, external_id: str, source: str) -> None:
    """The finding is the event's: its id, trigger, evidence and times."""
    eid = event_id_for(source, external_id)
    assert finding.id == finding_id(finding.type, eid)
    assert finding.trigger_event_id == eid
    assert finding.evidence_event_ids == (eid,)
    assert finding.occurred_at == T0
    assert finding.detected_at == DETECTED


def statement_line(
    *, direction: str | None = "credit", attributes: dict[str, Any] | None = None, **refs: str
) -> Event:
    """A bank statement line of 1,250.00 EUR; ``canonical_event`` sets no direction, so it is
    set here."""
    line = event("l1", "bank.statement_line", source="bank:main-eur", amount="1250.00",
                 attributes=attributes)  # fmt: skip
    return msgspec.structs.replace(line, refs=Refs(**refs), direction=direction)


# --- missing_remittance -----------------------------------------------------------------------


def test_a_credit_with_no_remittance_and_no_reference_cannot_be_applied() -> None:
    line = statement_line(attributes={"counterparty_name": "Jane Payer"}, bank_transaction="bt-1",
                          bank_account="DE89370400440532013000")  # fmt: skip

    (finding,) = run([line])

    assert_kept(finding, "l1", "bank:main-eur")
    assert finding.type == "missing_remittance"
    assert (finding.entity_kind, finding.entity_key) == ("bank_transaction", "bt-1")
    assert finding.exposure_key == "bank_transaction:bt-1"
    assert (finding.amount, finding.currency) == (Decimal("1250.00"), "EUR")
    assert finding.tier is Tier.GUIDED
    assert finding.spec.breakpoint is Breakpoint.IDENTITY
    assert finding.spec.kind is Kind.SYSTEM
    assert finding.spec.queue == "accounts_receivable.system"
    assert finding.summary == "credit of 1,250.00 EUR arrived without remittance information"
    assert finding.detail == {"counterparty_name": "Jane Payer"}


@pytest.mark.parametrize("remittance", [None, "", "   "])
def test_a_blank_remittance_is_no_remittance(remittance: str | None) -> None:
    line = statement_line(attributes={"remittance": remittance}, bank_transaction="bt-1")

    assert detect_missing_remittance(line, DETECTED) is not None


def test_a_line_without_a_transaction_id_is_named_by_its_event() -> None:
    finding = detect_missing_remittance(statement_line(), DETECTED)

    assert finding is not None
    assert (finding.entity_kind, finding.entity_key) == ("event", "bank:main-eur:l1")


@pytest.mark.parametrize(
    ("attributes", "refs"),
    [
        ({"remittance": "INV-2024-001"}, {}),
        ({}, {"end_to_end": "E2E-1"}),
        ({}, {"instruction": "PMT-1"}),
        ({}, {"uetr": "8a562c67-ca16-48ba-b074-65581be6f011"}),
        ({}, {"ach_trace": "091000019000001"}),
        ({}, {"invoice": "INV-1"}),
        ({}, {"payment": "pi_1"}),
        ({}, {"payout": "po_1"}),
        ({}, {"order": "1001"}),
    ],
    ids=["remittance", "end_to_end", "instruction", "uetr", "ach_trace", "invoice", "payment",
         "payout", "order"],
)  # fmt: skip
def test_a_credit_with_remittance_or_a_reference_is_quiet(
    attributes: dict[str, str], refs: dict[str, str]
) -> None:
    line = statement_line(attributes=attributes, bank_transaction="bt-1", **refs)

    assert run([line]) == []


@pytest.mark.parametrize("direction", ["debit", None])
def test_a_debit_or_a_line_without_direction_is_not_missing_remittance(
    direction: str | None,
) -> None:
    assert run([statement_line(direction=direction, bank_transaction="bt-1")]) == []


def test_a_transfer_return_is_not_read_for_remittance() -> None:
    returned = msgspec.structs.replace(
        event("l1", "bank.transfer_returned", source="bank:main-eur", bank_transaction="bt-1"),
        direction="credit",
    )

    assert detect_missing_remittance(returned, DETECTED) is None


# --- address_risk -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attributes", "summary"),
    [
        ({"avs_result": "N"}, "order of 80.00 EUR: AVS result N (address does not match)"),
        ({"avs_result": "no_match"},
         "order of 80.00 EUR: AVS result no_match (address does not match)"),
        ({"address_status": "undeliverable"}, "order of 80.00 EUR: address undeliverable"),
        ({"address_status": "Invalid"}, "order of 80.00 EUR: address Invalid"),
        ({"avs_result": "n", "address_status": "invalid"},
         "order of 80.00 EUR: AVS result n (address does not match), address invalid"),
    ],
)  # fmt: skip
def test_a_failed_address_check_goes_to_fraud(attributes: dict[str, str], summary: str) -> None:
    order = event("o1", "order.created", source="shop", amount="80.00", order="1001",
                  customer="cus_1", attributes=attributes)  # fmt: skip

    (finding,) = run([order])

    assert_kept(finding, "o1", "shop")
    assert finding.type == "address_risk"
    assert (finding.entity_kind, finding.entity_key) == ("order", "1001")
    assert finding.exposure_key == "order:1001"
    assert (finding.amount, finding.currency) == (Decimal("80.00"), "EUR")
    assert finding.tier is Tier.HUMAN
    assert finding.spec.breakpoint is Breakpoint.IDENTITY
    assert finding.spec.queue == "fraud.policy"
    assert finding.spec.pauses_automation is True
    assert finding.summary == summary
    assert finding.detail == {
        "avs_result": attributes.get("avs_result"),
        "address_status": attributes.get("address_status"),
    }


@pytest.mark.parametrize(
    ("type_", "attributes"),
    [
        ("order.created", {"avs_result": "Y", "address_status": "valid"}),
        ("order.created", {"avs_result": "A"}),
        ("order.created", {"avs_result": "", "address_status": None}),
        ("order.created", {}),
        ("order.updated", {"avs_result": "N"}),
    ],
    ids=["match", "partial", "blank", "none", "not-a-new-order"],
)
def test_a_matching_address_or_another_event_is_not_a_risk(
    type_: str, attributes: dict[str, Any]
) -> None:
    order = event("o1", type_, source="shop", order="1001", attributes=attributes)

    assert detect_address_risk(order, DETECTED) is None


# --- stock_unavailable ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "attributes", "signals", "detail"),
    [
        ("order.created", {"inventory_quantity": -2}, "stock after the order -2",
         {"inventory_quantity": "-2", "backordered_quantity": None}),
        ("order.updated", {"backordered_quantity": "3"}, "3 backordered",
         {"inventory_quantity": None, "backordered_quantity": "3"}),
        ("order.created", {"inventory_quantity": "-1", "backordered_quantity": 1},
         "1 backordered, stock after the order -1",
         {"inventory_quantity": "-1", "backordered_quantity": "1"}),
    ],
)  # fmt: skip
def test_an_order_accepted_without_stock_pauses_fulfilment(
    type_: str, attributes: dict[str, Any], signals: str, detail: dict[str, Any]
) -> None:
    order = event("o1", type_, source="shop", amount="40.00", order="1001",
                  attributes=attributes)  # fmt: skip

    (finding,) = run([order])

    assert_kept(finding, "o1", "shop")
    assert finding.type == "stock_unavailable"
    assert (finding.entity_kind, finding.entity_key) == ("order", "1001")
    assert finding.exposure_key == "order:1001"
    assert finding.tier is Tier.GUIDED
    assert finding.spec.breakpoint is Breakpoint.ELIGIBILITY
    assert finding.spec.queue == "fulfilment_ops.system"
    assert finding.spec.pauses_automation is True
    assert finding.summary == f"order of 40.00 EUR accepted without stock: {signals}"
    assert finding.detail == detail


@pytest.mark.parametrize(
    ("type_", "attributes"),
    [
        ("order.created", {"inventory_quantity": 0}),
        ("order.created", {"inventory_quantity": 5, "backordered_quantity": 0}),
        ("order.created", {"inventory_quantity": "lots", "backordered_quantity": True}),
        ("order.created", {"inventory_quantity": "NaN"}),
        ("order.created", {}),
        ("order.paid", {"inventory_quantity": -2}),
    ],
    ids=["last-unit", "in-stock", "not-numbers", "nan", "none", "not-an-order-change"],
)
def test_stock_on_hand_or_another_event_is_not_unavailable(
    type_: str, attributes: dict[str, Any]
) -> None:
    order = event("o1", type_, source="shop", order="1001", attributes=attributes)

    assert detect_stock_unavailable(order, DETECTED) is None


# --- fraud_review (risk signals) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "attributes", "summary"),
    [
        ("order.created", {"risk_level": "highest"},
         "order of 90.00 EUR flagged by a risk check: risk level highest"),
        ("payment.authorized", {"risk_level": "HIGH"},
         "authorisation of 90.00 EUR flagged by a risk check: risk level HIGH"),
        ("payment.succeeded", {"risk_recommendation": "cancel"},
         "payment of 90.00 EUR flagged by a risk check: recommendation cancel"),
        ("order.created", {"risk_level": "high", "risk_recommendation": "Cancel"},
         "order of 90.00 EUR flagged by a risk check: risk level high, recommendation Cancel"),
    ],
)  # fmt: skip
def test_a_high_risk_verdict_goes_to_fraud_review(
    type_: str, attributes: dict[str, str], summary: str
) -> None:
    flagged = event("k1", type_, amount="90.00", order="1001", payment="pi_1",
                    attributes={**attributes, "risk_score": 87})  # fmt: skip

    (finding,) = run([flagged])

    assert_kept(finding, "k1", "stripe")
    assert finding.type == "fraud_review"
    assert (finding.entity_kind, finding.entity_key) == ("order", "1001")
    assert finding.exposure_key == "order:1001"
    assert (finding.amount, finding.currency) == (Decimal("90.00"), "EUR")
    assert finding.tier is Tier.HUMAN
    assert finding.spec.breakpoint is Breakpoint.IDENTITY
    assert finding.spec.queue == "fraud.policy"
    assert finding.summary == summary
    assert finding.detail == {
        "risk_level": attributes.get("risk_level"),
        "risk_recommendation": attributes.get("risk_recommendation"),
        "risk_score": 87,
    }


def test_a_risky_payment_without_an_order_is_named_by_its_payment() -> None:
    flagged = event("k1", "payment.succeeded", amount="90.00", payment="pi_1",
                    attributes={"risk_level": "highest"})  # fmt: skip

    finding = detect_risk_review(flagged, DETECTED)

    assert finding is not None
    assert (finding.entity_kind, finding.entity_key) == ("payment", "pi_1")


@pytest.mark.parametrize(
    ("type_", "attributes"),
    [
        ("order.created", {"risk_level": "elevated", "risk_recommendation": "investigate"}),
        ("order.created", {"risk_level": "normal", "risk_recommendation": "accept"}),
        ("payment.succeeded", {"risk_level": "medium"}),
        ("payment.authorized", {}),
        ("payment.failed", {"risk_level": "highest"}),
        ("order.updated", {"risk_recommendation": "cancel"}),
    ],
    ids=["elevated", "normal", "medium", "none", "failed-payment", "order-update"],
)
def test_a_lower_risk_or_another_event_is_not_reviewed(
    type_: str, attributes: dict[str, str]
) -> None:
    flagged = event("k1", type_, amount="90.00", order="1001", attributes=attributes)

    assert detect_risk_review(flagged, DETECTED) is None


def test_a_high_value_high_risk_order_gives_both_reviews() -> None:
    order = event("o1", "order.created", amount="9000.00", order="1001",
                  attributes={"risk_level": "highest"})  # fmt: skip

    assert [f.type for f in run([order])] == ["high_value_review", "fraud_review"]


# --- supplier_bank_mismatch (account holder) --------------------------------------------------


@pytest.mark.parametrize("type_", ["supplier.created", "supplier.updated",
                                   "supplier.payment_initiated"])  # fmt: skip
def test_an_account_held_in_another_name_goes_to_a_person(type_: str) -> None:
    supplier = event("s1", type_, source="erp", supplier="SUP-1", invoice="INV-1",
                     attributes={"name": "Acme Trading Ltd",
                                 "account_holder_name": "J. Fraudster"})  # fmt: skip

    (finding,) = run([supplier])

    eid = event_id_for("erp", "s1")
    assert finding.id == finding_id("supplier_bank_mismatch:name", eid)
    assert finding.trigger_event_id == eid
    assert finding.type == "supplier_bank_mismatch"
    assert (finding.entity_kind, finding.entity_key) == ("supplier", "SUP-1")
    assert finding.exposure_key == "supplier:SUP-1"
    assert finding.tier is Tier.HUMAN
    assert finding.spec.breakpoint is Breakpoint.IDENTITY
    assert finding.spec.queue == "accounts_payable.policy"
    assert finding.spec.pauses_automation is True
    score = finding.detail["score"]
    assert score < 80
    assert finding.summary == (
        f"bank account holder 'J. Fraudster' does not match supplier 'Acme Trading Ltd' "
        f"(score {score:g})"
    )
    assert finding.detail == {
        "field": "account_holder_name",
        "reason": "account holder differs",
        "name": "Acme Trading Ltd",
        "account_holder_name": "J. Fraudster",
        "score": score,
        "threshold": 80,
    }


@pytest.mark.parametrize(
    ("name", "holder"),
    [
        ("Acme Trading Ltd", "ACME TRADING LIMITED"),
        ("Acme Trading Ltd", "acme trading"),
        ("Müller & Söhne GmbH", "Muller and Sohne"),
        ("Globex S.A.", "GLOBEX SA"),
        ("Trading Acme B.V.", "Acme Trading BV"),
        ("Initech Inc.", "Initech Incorporated"),
    ],
)
def test_the_same_name_spelt_differently_is_not_a_mismatch(name: str, holder: str) -> None:
    supplier = event("s1", "supplier.updated", source="erp", supplier="SUP-1",
                     attributes={"name": name, "account_holder_name": holder})  # fmt: skip

    assert detect_holder_name_mismatch(supplier, DETECTED) is None


@pytest.mark.parametrize(
    ("type_", "attributes"),
    [
        ("supplier.updated", {"name": "Acme Trading Ltd"}),
        ("supplier.updated", {"account_holder_name": "J. Fraudster"}),
        ("supplier.updated", {"name": " ", "account_holder_name": "J. Fraudster"}),
        ("invoice.created", {"name": "Acme Trading Ltd", "account_holder_name": "J. Fraudster"}),
    ],
    ids=["no-holder", "no-name", "blank-name", "invoice"],
)
def test_without_both_names_or_on_an_invoice_there_is_nothing_to_compare(
    type_: str, attributes: dict[str, str]
) -> None:
    supplier = event("s1", type_, source="erp", supplier="SUP-1", attributes=attributes)

    assert detect_holder_name_mismatch(supplier, DETECTED) is None


def test_an_invalid_iban_and_a_foreign_holder_keep_one_finding_each() -> None:
    supplier = event("s1", "supplier.updated", source="erp", supplier="SUP-1",
                     attributes={"name": "Acme Trading Ltd", "account_holder_name": "Someone Else",
                                 "iban": "DE89370400440532013001"})  # fmt: skip

    findings = run([supplier])

    eid = event_id_for("erp", "s1")
    assert [f.type for f in findings] == ["supplier_bank_mismatch", "supplier_bank_mismatch"]
    assert [f.id for f in findings] == [
        finding_id("supplier_bank_mismatch:name", eid),
        finding_id("supplier_bank_mismatch", eid),
    ]
    assert [f.detail["reason"] for f in findings] == ["account holder differs", "invalid checksum"]
    assert len({f.id for f in findings}) == 2
