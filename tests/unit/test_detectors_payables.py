"""The payables master-data detectors: tax ids and VAT numbers, and supplier IBANs."""

from __future__ import annotations

from typing import Any

import pytest

from recoup.domain.detection.detectors import Detectors, WindowState
from recoup.domain.detection.findings import Finding, finding_id
from recoup.domain.detection.rules_payables import (
    check_iban,
    check_tax_id,
    check_vat,
    detect_invalid_iban,
    detect_tax_validation_failed,
)
from recoup.domain.detection.taxonomy import Breakpoint, Kind, Tier
from recoup.domain.ingestion.event import Event, event_id_for
from tests.conftest import T0
from tests.helpers import DETECTED
from tests.helpers import canonical_event as event


def run(events: list[Event]) -> list[Finding]:
    return Detectors().run(events, WindowState(), DETECTED).findings


def assert_kept(finding: Finding, external_id: str) -> None:
    eid = event_id_for("erp", external_id)
    assert finding.id == finding_id(finding.type, eid)
    assert finding.trigger_event_id == eid
    assert finding.evidence_event_ids == (eid,)
    assert finding.occurred_at == T0
    assert finding.detected_at == DETECTED


def erp(external_id: str, type_: str, attributes: dict[str, Any], **refs: str) -> Event:
    return event(external_id, type_, source="erp", attributes=attributes, **refs)


# --- tax_validation_failed --------------------------------------------------------------------


def test_an_invoice_with_a_bad_vat_check_digit_is_a_guided_eligibility_break() -> None:
    invoice = erp("i1", "invoice.created", {"vat_number": "DE136695977"}, invoice="INV-1",
                  supplier="S-1")  # fmt: skip

    finding = detect_tax_validation_failed(invoice, DETECTED)

    assert finding is not None
    assert_kept(finding, "i1")
    assert finding.type == "tax_validation_failed"
    assert (finding.entity_kind, finding.entity_key) == ("invoice", "INV-1")
    assert finding.exposure_key == "invoice:INV-1"
    assert finding.tier is Tier.GUIDED
    assert finding.spec.breakpoint is Breakpoint.ELIGIBILITY
    assert finding.spec.kind is Kind.POLICY
    assert finding.summary == "VAT number DE136695977 failed validation: invalid checksum"
    assert finding.detail["reason"] == "invalid checksum"
    assert finding.detail["field"] == "vat_number"
    assert finding.detail["country"] == "DE"


def test_a_supplier_without_an_invoice_is_the_entity() -> None:
    supplier = erp("s1", "supplier.updated", {"vat_number": "FR4030326504"}, supplier="S-1")

    finding = detect_tax_validation_failed(supplier, DETECTED)

    assert finding is not None
    assert (finding.entity_kind, finding.entity_key) == ("supplier", "S-1")
    assert finding.detail["reason"] == "invalid length"


@pytest.mark.parametrize(
    ("vat", "reason"),
    [
        ("DE136695977", "invalid checksum"),
        ("DE1366", "invalid length"),
        ("ATX13585627", "invalid format"),
        ("NL004495446B01", "invalid checksum"),
        ("GB980780685", "invalid checksum"),
        ("XX123456789", "unknown country"),
        ("136695976", "invalid format"),
    ],
)
def test_invalid_vat_numbers_say_why(vat: str, reason: str) -> None:
    failure = check_vat(vat)

    assert failure is not None
    assert failure.reason == reason


@pytest.mark.parametrize(
    "vat",
    [
        "DE136695976",
        "de 136 695 976",
        "FR40303265045",
        "NL004495445B01",
        "ATU13585627",
        "EL094259216",
        "GB980780684",
        "CHE-116.281.710 MWST",
    ],
)
def test_valid_vat_numbers_are_quiet(vat: str) -> None:
    assert check_vat(vat) is None
    invoice = erp("i1", "invoice.approved", {"vat_number": vat}, invoice="INV-1")
    assert detect_tax_validation_failed(invoice, DETECTED) is None


@pytest.mark.parametrize(
    ("tax_id", "country"),
    [
        ("536-90-4399", "US"),
        ("11.222.333/0001-81", "BR"),
        ("51 824 753 556", "AU"),
        ("27AAPFU0939F1ZV", "IN"),
        ("136695976", "de"),
        ("DE136695976", None),
    ],
)
def test_valid_tax_ids_are_quiet(tax_id: str, country: str | None) -> None:
    assert check_tax_id(tax_id, country) is None


def test_a_tax_id_is_checked_in_its_country_and_only_its_last_four_are_shown() -> None:
    attributes = {"tax_id": "11.222.333/0001-82", "tax_id_country": "BR"}
    supplier = erp("s1", "supplier.created", attributes, supplier="S-9")

    finding = detect_tax_validation_failed(supplier, DETECTED)

    assert finding is not None
    assert (finding.entity_kind, finding.entity_key) == ("supplier", "S-9")
    assert finding.summary == "tax id (BR) ending 0182 failed validation: invalid checksum"
    assert finding.detail["number"] == "…0182"
    assert "11222333000182" not in str(finding.detail)


@pytest.mark.parametrize(
    ("tax_id", "country", "reason"),
    [
        ("123", "ZZ", "unknown country"),
        ("123", "USA", "unknown country"),
        ("12345", None, "unknown country"),
        ("12-3", "US", "invalid format"),
        ("27AAPFU0939F1ZX", "IN", "invalid checksum"),
    ],
)
def test_invalid_tax_ids_say_why(tax_id: str, country: str | None, reason: str) -> None:
    failure = check_tax_id(tax_id, country)

    assert failure is not None
    assert failure.reason == reason


def test_both_numbers_bad_reports_the_vat_number_and_counts_the_other() -> None:
    invoice = erp("i1", "invoice.created",
                  {"vat_number": "DE136695977", "tax_id": "1", "tax_id_country": "ZZ"},
                  invoice="INV-1")  # fmt: skip

    finding = detect_tax_validation_failed(invoice, DETECTED)

    assert finding is not None
    assert finding.summary == (
        "VAT number DE136695977 failed validation: invalid checksum (and 1 more)"
    )
    failures = finding.detail["failures"]
    assert isinstance(failures, list)
    assert [f["reason"] for f in failures] == ["invalid checksum", "unknown country"]


def test_tax_validation_is_quiet_without_a_tax_id_or_on_other_types() -> None:
    assert detect_tax_validation_failed(erp("i1", "invoice.created", {}), DETECTED) is None
    assert (
        detect_tax_validation_failed(erp("i2", "invoice.created", {"vat_number": "  "}), DETECTED)
        is None
    )
    assert (
        detect_tax_validation_failed(
            erp("i3", "invoice.paid", {"vat_number": "DE136695977"}), DETECTED
        )
        is None
    )


# --- supplier_bank_mismatch (invalid IBAN) -----------------------------------------------------


def test_a_supplier_with_a_bad_iban_pauses_for_a_person_and_hides_the_iban() -> None:
    supplier = erp("s1", "supplier.updated", {"iban": "DE89 3704 0044 0532 0130 01"},
                   supplier="S-1", invoice="INV-1")  # fmt: skip

    finding = detect_invalid_iban(supplier, DETECTED)

    assert finding is not None
    assert_kept(finding, "s1")
    assert finding.type == "supplier_bank_mismatch"
    assert (finding.entity_kind, finding.entity_key) == ("supplier", "S-1")
    assert finding.tier is Tier.HUMAN
    assert finding.spec.breakpoint is Breakpoint.IDENTITY
    assert finding.spec.pauses_automation is True
    assert finding.summary == "invalid IBAN (DE, ending 3001): invalid checksum"
    assert finding.detail == {"field": "iban", "country": "DE", "reason": "invalid checksum",
                              "number": "…3001"}  # fmt: skip
    assert "37040044" not in finding.summary + str(finding.detail)


def test_an_invoice_without_a_supplier_is_the_entity() -> None:
    invoice = erp("i1", "invoice.created", {"iban": "NL91ABNA041716430"}, invoice="INV-1")

    finding = detect_invalid_iban(invoice, DETECTED)

    assert finding is not None
    assert (finding.entity_kind, finding.entity_key) == ("invoice", "INV-1")
    assert finding.summary == "invalid IBAN (NL, ending 6430): invalid length"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("DE89370400440532013001", "invalid checksum"),
        ("DE8937040044053201300", "invalid length"),
        ("GB82WEST1234569876543X", "invalid checksum"),
        ("FR1420041010050500013M02607", "invalid checksum"),
        ("XX89370400440532013000", "unknown country"),
        ("12345678", "invalid format"),
        ("DE89-3704-0044-0532-0130-0!", "invalid format"),
    ],
)
def test_invalid_ibans_say_why(value: str, reason: str) -> None:
    failure = check_iban(value)

    assert failure is not None
    assert failure.reason == reason


@pytest.mark.parametrize(
    "value",
    [
        "DE89370400440532013000",
        "de89 3704 0044 0532 0130 00",
        "GB82WEST12345698765432",
        "FR1420041010050500013M02606",
        "NL91ABNA0417164300",
        "ES9121000418450200051332",
    ],
)
def test_valid_ibans_are_quiet(value: str) -> None:
    assert check_iban(value) is None
    payment = erp("p1", "supplier.payment_initiated", {"iban": value}, supplier="S-1")
    assert detect_invalid_iban(payment, DETECTED) is None


def test_a_bank_account_ref_is_read_only_when_it_looks_like_an_iban() -> None:
    looks = erp("s1", "supplier.created", {}, supplier="S-1",
                bank_account="GB82WEST12345698765433")  # fmt: skip
    opaque = erp("s2", "supplier.created", {}, supplier="S-1", bank_account="ba_12345")

    finding = detect_invalid_iban(looks, DETECTED)

    assert finding is not None
    assert finding.detail["field"] == "refs.bank_account"
    assert finding.summary == "invalid IBAN (GB, ending 5433): invalid checksum"
    assert detect_invalid_iban(opaque, DETECTED) is None


def test_iban_check_is_quiet_without_an_iban_or_on_other_types() -> None:
    assert detect_invalid_iban(erp("s1", "supplier.created", {}, supplier="S-1"), DETECTED) is None
    assert (
        detect_invalid_iban(
            erp("i1", "invoice.approved", {"iban": "DE89370400440532013001"}), DETECTED
        )
        is None
    )


# --- dispatch ------------------------------------------------------------------------------------


def test_detectors_run_both_rules_on_one_supplier_event() -> None:
    supplier = erp("s1", "supplier.created",
                   {"vat_number": "ATU13585628", "iban": "DE89370400440532013001"},
                   supplier="S-1")  # fmt: skip
    clean = erp("s2", "supplier.created",
                {"vat_number": "ATU13585627", "iban": "DE89370400440532013000"},
                supplier="S-2")  # fmt: skip

    findings = run([supplier, clean])

    assert sorted(f.type for f in findings) == ["supplier_bank_mismatch", "tax_validation_failed"]
    assert {f.entity_key for f in findings} == {"S-1"}
    assert Detectors().dispatch["supplier.created"][-2:] == (
        detect_tax_validation_failed,
        detect_invalid_iban,
    )
