"""Features never hold the answer; labels come from operators; the summary is deterministic."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from recoup.domain.assist.features import Features, amount_band, features_of
from recoup.domain.assist.guardrails import guard
from recoup.domain.assist.labels import check_field, check_value, labels_of
from recoup.domain.assist.model import Prediction, Verdict
from recoup.domain.assist.summary import summarise
from recoup.domain.cases.case import CaseStatus
from recoup.domain.detection.taxonomy import TAXONOMY
from recoup.domain.errors import InvalidInputError
from tests.unit.assist.cases import T, a_case

FINDINGS = [
    {
        "summary": "payment declined: expired card, 1,234.50 EUR",
        "reason_code": "stripe:expired_card",
        "detail": {"decline_type": "hard"},
        "type": "payment_failed",
    },
    {
        "summary": "payment declined again",
        "reason_code": "stripe:expired_card",
        "detail": {},
        "type": "payment_failed",
    },
]
EVENTS = [
    {
        "source": "stripe",
        "type": "payment.failed",
        "reason_code": "stripe:expired_card",
        "status": "failed",
        "attributes": {"reason_message": "Your card has expired.", "card_bin": "424242"},
    },
]


def test_features_hold_what_sources_said_and_never_the_labels() -> None:
    f = features_of(FINDINGS, EVENTS, amount=Decimal("1234.50"), currency="EUR")

    assert f.fields == {
        "amount": "lt10000",
        "currency": "EUR",
        "source": "stripe",
        "events": "payment.failed",
        "reason_code": "stripe:expired_card",
        "reason_ns": "stripe",
        "status": "failed",
    }
    assert f.text == "Your card has expired."
    doc = f.document()
    assert "payment_failed" not in doc
    assert "payments_ops" not in doc
    assert doc.startswith("amount=lt10000 currency=eur events=payment.failed")


def test_a_document_squashes_values_into_single_tokens() -> None:
    doc = Features({"source": "bank:DE 01"}, "Konto Aufgeloest").document()

    assert doc == "source=bank:de_01 konto aufgeloest"


@pytest.mark.parametrize(
    ("amount", "band"),
    [
        (None, "none"),
        (Decimal("9.99"), "lt10"),
        (Decimal(100), "lt1000"),
        (Decimal(250_000), "ge100k"),
    ],
)
def test_amount_bands(amount: Decimal | None, band: str) -> None:
    assert amount_band(amount) == band


def test_labels_of_a_resolved_case_and_the_operators_choices() -> None:
    labels = labels_of(
        "payment_failed",
        "payments_ops",
        "written_off",
        {"root_cause": "expired_card", "owner_team": "disputes"},
    )

    assert labels == {
        "type": "payment_failed",
        "owner_team": "disputes",
        "root_cause": "expired_card",
    }
    assert labels_of("payment_failed", "payments_ops", "false_positive", {}) == {}


def test_operator_values_are_checked_and_name_the_field() -> None:
    assert check_value("type", "bank_rejected", TAXONOMY) == "bank_rejected"
    assert check_value("root_cause", " expired_card ", TAXONOMY) == "expired_card"
    with pytest.raises(InvalidInputError, match="unknown case type") as err:
        check_value("type", "bank_problem", TAXONOMY)
    assert err.value.location.field == "value"
    with pytest.raises(InvalidInputError, match="lower-case word"):
        check_value("next_action", "Call them", TAXONOMY)
    with pytest.raises(InvalidInputError, match="unknown suggestion field 'tier'") as field_err:
        check_field("tier")
    assert field_err.value.location.field == "field"


TIMELINE = [
    {"at": T, "kind": "opened", "summary": "opened by payment_failed"},
    {"at": T + timedelta(hours=1), "kind": "recovery", "summary": "retry 1 declined"},
    {"at": T + timedelta(hours=2), "kind": "assigned", "summary": "assigned to bob: on shift"},
]


def test_the_summary_says_what_happened_money_what_was_tried_and_next() -> None:
    case = replace(a_case(), assignee="bob", status=CaseStatus.IN_PROGRESS)
    hint = guard(case, "next_action", Prediction("request_card_update", 0.7), 0.9, "m1", T)
    cause = replace(
        guard(case, "root_cause", Prediction("expired_card", 0.6), 0.9, "m1", T),
        verdict=Verdict.ACCEPTED,
        final_value="expired_card",
    )

    summary = summarise(case, FINDINGS, EVENTS, TIMELINE, [hint, cause], now=T + timedelta(days=2))

    assert summary.text() == (
        "Case 0b6f0e4c\n"
        "What happened: payment failed on payment pi_1: 2 finding(s) from 2026-10-01 to "
        "2026-10-01, reason stripe:expired_card, reported by stripe. First finding: payment "
        "declined: expired card, 1,234.50 EUR.\n"
        "Money at stake: 1,234.50 EUR\n"
        "What was tried:\n"
        "  - 2026-10-01 13:00 UTC recovery: retry 1 declined\n"
        "  - 2026-10-01 14:00 UTC assigned: assigned to bob: on shift\n"
        "What is next: in_progress, straight_through tier, with bob; deadline passed "
        "2026-10-02 12:00 UTC; suggested next action request card update (70%, needs a "
        "person); root cause expired card"
    )
    assert summary == summarise(
        case, FINDINGS, EVENTS, TIMELINE, [hint, cause], now=T + timedelta(days=2)
    )


def test_the_summary_of_a_closed_case_says_nothing_is_next() -> None:
    case = replace(
        a_case(),
        status=CaseStatus.RESOLVED,
        outcome="recovered",
        recovered_amount=Decimal("1234.50"),
    )

    summary = summarise(case, [], [], [])

    assert summary.what_is_next == "nothing: the case is resolved as recovered"
    assert summary.money_at_stake == "1,234.50 EUR (recovered 1,234.50 EUR)"
    assert summary.what_was_tried == []
    assert "  - nothing yet" in summary.text()
