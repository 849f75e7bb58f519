"""The chargeback reason table: lookups, network names, categories, lazy loading."""

from __future__ import annotations

import csv
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recoup.domain.reference import chargebacks
from recoup.domain.reference.chargebacks import (
    CATEGORIES,
    ReasonInfo,
    chargeback_reason,
    infer_network,
    network_namespace,
)


def test_visa_fraud_code_is_found_with_its_category() -> None:
    info = chargeback_reason("visa", "10.4")
    assert info == ReasonInfo("visa", "10.4", "Other Fraud - Card Absent Environment", "fraud")
    assert info.reason_code == "visa:10.4"


@pytest.mark.parametrize(
    ("network", "code", "description", "category"),
    [
        ("mc", "4837", "No Cardholder Authorization", "fraud"),
        ("Mastercard", "4853", "Cardholder Dispute", "consumer dispute"),
        ("mastercard", "4808", "Authorization - Related Chargeback", "authorization"),
        ("visa", "12.6", "Duplicate Processing/Paid by other means", "processing error"),
        ("visa", "13.1", "Merchandise/Services Not Received", "consumer dispute"),
        ("American Express", "F29", "Card Not Present", "fraud"),
        (
            "amex",
            "c08",
            "Goods / Services Not Received or Only Partially Received",
            "consumer dispute",
        ),
        ("discover", "UA02", "Card Not Present Transaction", "fraud"),
        ("Diners Club", "C42", "Card Not Present Transaction", "fraud"),
        ("amex", "M10", "Vehicle Rental – Capital Damages", "other"),
    ],
)
def test_lookups_across_networks(network: str, code: str, description: str, category: str) -> None:
    info = chargeback_reason(network, code)
    assert info is not None
    assert (info.description, info.category) == (description, category)
    assert info.category in CATEGORIES


@pytest.mark.parametrize(
    ("network", "code"),
    [("visa", "99.9"), ("jcb", "10.4"), ("", "10.4"), ("visa", ""), (None, "4837"), ("mc", None)],
)
def test_unknown_network_or_code_is_none(network: str | None, code: str | None) -> None:
    assert chargeback_reason(network, code) is None


def test_network_names_map_to_reason_code_namespaces() -> None:
    assert network_namespace("Mastercard") == "mc"
    assert network_namespace("MASTERCARD") == "mc"
    assert network_namespace("American Express") == "amex"
    assert network_namespace("american_express") == "amex"
    assert network_namespace("visa") == "visa"
    assert network_namespace("unionpay") is None
    assert network_namespace(None) is None


def test_every_row_of_the_shipped_file_is_loaded_once() -> None:
    text = (
        resources.files(chargebacks.__package__)
        .joinpath(chargebacks.DATA_FILE)
        .read_text(encoding="utf-8")
    )
    rows = list(csv.DictReader(text.splitlines()))
    assert len(rows) == 257
    for row in rows:
        info = chargeback_reason(row["network"], row["reason_code"])
        assert info is not None, row
        assert info.description == row["description"].strip()


def test_the_table_is_loaded_lazily_and_once() -> None:
    chargebacks._table.cache_clear()
    assert chargebacks._table.cache_info().currsize == 0
    chargeback_reason("visa", "10.4")
    chargeback_reason("mc", "4837")
    assert chargebacks._table.cache_info().misses == 1


def test_a_bare_code_is_attributed_only_when_unambiguous() -> None:
    assert infer_network("10.4") == "visa"  # the Visa Claims Resolution shape
    assert infer_network("13.7") == "visa"
    assert infer_network("4837") == "mc"
    assert infer_network("4863") is None  # Mastercard and Discover
    assert infer_network("4866") is None  # Discover and Pulse
    assert infer_network("4827") is None  # in no table
    assert infer_network("") is None


@given(st.text(max_size=30), st.text(max_size=30))
def test_lookups_never_raise(network: str, code: str) -> None:
    chargeback_reason(network, code)
    infer_network(code)
    network_namespace(network)
