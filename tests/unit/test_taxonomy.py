"""The taxonomy: every finding type of the product design, with consistent defaults."""

from __future__ import annotations

from datetime import timedelta

import pytest

from recoup.domain.detection.taxonomy import (
    TAXONOMY,
    Category,
    FindingType,
    Kind,
    Tier,
    finding_type,
)

DESIGNED_TYPES = [
    "payment_failed", "capture_failed", "retry_exhausted", "duplicate_charge", "dispute_opened",
    "inquiry_opened", "authorization_expired", "refund_failed", "payout_failed",
    "amount_mismatch", "missing_payment", "orphan_payment", "settlement_delayed",
    "bank_rejected", "bank_returned", "unmatched_bank_line", "fee_mismatch",
    "duplicate_invoice", "supplier_bank_mismatch", "blocked_payment", "tax_validation_failed",
    "missing_remittance", "sanctions_alert", "order_stalled", "duplicate_order",
    "split_conflict", "stock_unavailable", "carrier_conflict", "address_risk",
    "high_value_review", "fraud_review",
]  # fmt: skip

ALL_TYPES = sorted(TAXONOMY)


def test_every_designed_type_is_present() -> None:
    missing = sorted(set(DESIGNED_TYPES) - set(TAXONOMY))

    assert missing == []


def test_the_taxonomy_holds_exactly_the_designed_types() -> None:
    assert len(DESIGNED_TYPES) == 31
    assert sorted(TAXONOMY) == sorted(DESIGNED_TYPES)


@pytest.mark.parametrize("name", ALL_TYPES)
def test_each_type_is_registered_under_its_own_name(name: str) -> None:
    spec = finding_type(name)

    assert isinstance(spec, FindingType)
    assert spec.name == name


@pytest.mark.parametrize("name", ALL_TYPES)
def test_each_sla_goal_comes_before_its_deadline(name: str) -> None:
    spec = TAXONOMY[name]

    assert timedelta(0) < spec.sla_goal < spec.sla_deadline


@pytest.mark.parametrize("name", ALL_TYPES)
def test_each_dedupe_window_is_positive(name: str) -> None:
    assert TAXONOMY[name].dedupe_window > timedelta(0)


@pytest.mark.parametrize("name", ALL_TYPES)
def test_each_queue_is_the_owner_team_and_matches_the_kind(name: str) -> None:
    spec = TAXONOMY[name]

    assert spec.queue == f"{spec.owner_team}.{spec.kind.value}"
    assert spec.queue.endswith((".policy", ".system"))
    assert spec.queue.rsplit(".", 1)[1] == spec.kind.value


@pytest.mark.parametrize("name", ALL_TYPES)
def test_each_type_has_an_owner_an_entity_and_a_description(name: str) -> None:
    spec = TAXONOMY[name]

    assert spec.owner_team
    assert "." not in spec.owner_team
    assert spec.entity
    assert spec.description


def test_no_team_takes_both_kinds_in_one_queue() -> None:
    queues: dict[str, set[Kind]] = {}
    for spec in TAXONOMY.values():
        queues.setdefault(spec.queue, set()).add(spec.kind)

    assert all(len(kinds) == 1 for kinds in queues.values())


@pytest.mark.parametrize(
    ("name", "queue", "kind"),
    [
        ("payment_failed", "payments_ops.system", Kind.SYSTEM),
        ("dispute_opened", "disputes.policy", Kind.POLICY),
        ("bank_rejected", "treasury.system", Kind.SYSTEM),
        ("duplicate_invoice", "accounts_payable.policy", Kind.POLICY),
        ("sanctions_alert", "compliance.policy", Kind.POLICY),
        ("order_stalled", "fulfilment_ops.system", Kind.SYSTEM),
    ],
)
def test_examples_of_queues(name: str, queue: str, kind: Kind) -> None:
    assert (TAXONOMY[name].queue, TAXONOMY[name].kind) == (queue, kind)


@pytest.mark.parametrize("name", ["sanctions_alert", "fraud_review"])
def test_sanctions_and_fraud_pause_automation_and_need_a_human(name: str) -> None:
    spec = TAXONOMY[name]

    assert spec.pauses_automation is True
    assert spec.tier is Tier.HUMAN
    assert spec.kind is Kind.POLICY


def test_routine_payment_failures_do_not_pause_automation() -> None:
    assert TAXONOMY["payment_failed"].pauses_automation is False
    assert TAXONOMY["payment_failed"].tier is Tier.STRAIGHT_THROUGH


def test_the_detected_types_have_their_documented_defaults() -> None:
    spec = TAXONOMY["payment_failed"]

    assert (spec.category, spec.owner_team, spec.entity) == (
        Category.PAYMENTS, "payments_ops", "payment",
    )  # fmt: skip
    assert (spec.sla_goal, spec.sla_deadline, spec.dedupe_window) == (
        timedelta(hours=4), timedelta(days=1), timedelta(days=3),
    )  # fmt: skip
    assert TAXONOMY["duplicate_charge"].entity == "customer"
    assert TAXONOMY["dispute_opened"].entity == "dispute"
    assert TAXONOMY["refund_failed"].entity == "refund"


def test_an_unknown_type_is_a_key_error_naming_it() -> None:
    with pytest.raises(KeyError, match="unknown finding type 'payment_exploded'"):
        finding_type("payment_exploded")
