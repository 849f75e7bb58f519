"""classify_decline: what a retry can do about a decline, from the networks' code tables."""

from __future__ import annotations

import pytest

from recoup.domain.detection.declines import DeclineClass, classify_decline


@pytest.mark.parametrize("code", ["stripe:insufficient_funds", "visa:51", "mc:51"])
def test_insufficient_funds_is_a_soft_decline(code: str) -> None:
    decline = classify_decline(code)

    assert decline == DeclineClass("later", "insufficient_funds")
    assert decline.is_soft is True
    assert decline.decline_type == "soft"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("stripe:fraudulent", "fraudulent"),
        ("visa:07", "fraudulent"),
        ("mc:07", "fraudulent"),
        ("stripe:lost_card", "lost_card"),
        ("visa:41", "lost_card"),
        ("mc:41", "lost_card"),
        ("stripe:stolen_card", "stolen_card"),
    ],
)
def test_fraud_and_lost_cards_are_never_retried(code: str, reason: str) -> None:
    decline = classify_decline(code)

    assert decline == DeclineClass("never", reason)
    assert decline.is_soft is False
    assert decline.decline_type == "hard"


@pytest.mark.parametrize("code", ["stripe:expired_card", "visa:54", "mc:54", "mc:33"])
def test_an_expired_card_needs_its_data_fixed_and_is_hard(code: str) -> None:
    decline = classify_decline(code)

    assert decline == DeclineClass("fix_data", "expired_card")
    assert decline.decline_type == "hard"


def test_new_account_information_needs_updated_credentials() -> None:
    decline = classify_decline("stripe:new_account_information_available")

    assert decline == DeclineClass("update_credentials", "new_account_information")
    assert decline.decline_type == "hard"


def test_our_own_reason_classes_settle_what_the_visa_table_leaves_open() -> None:
    # suspected_fraud is category 2 ("cannot approve at this time") in the Visa table.
    assert classify_decline("visa:59") == DeclineClass("never", "suspected_fraud")
    assert classify_decline("stripe:generic_decline") == DeclineClass("later", "generic_decline")


@pytest.mark.parametrize("code", ["amex:51", "stripe:not_a_code", "insufficient_funds", ""])
def test_a_code_without_a_table_entry_is_unknown(code: str) -> None:
    decline = classify_decline(code)

    assert decline == DeclineClass("unknown", None)
    assert decline.is_soft is False
    assert decline.decline_type == "unknown"


def test_no_reason_code_is_unknown() -> None:
    assert classify_decline(None) == DeclineClass("unknown", None)
    assert classify_decline(None).decline_type == "unknown"


def test_mastercard_advice_code_03_makes_a_soft_decline_never() -> None:
    decline = classify_decline("mc:51", {"merchant_advice_code": "03"})

    assert decline == DeclineClass("never", "insufficient_funds")
    assert decline.decline_type == "hard"


@pytest.mark.parametrize("mac", ["24", "25", "30"])
def test_mastercard_wait_advice_counts_as_later(mac: str) -> None:
    decline = classify_decline("mc:54", {"merchant_advice_code": mac})

    assert decline == DeclineClass("later", "expired_card")
    assert decline.is_soft is True


def test_mastercard_advice_01_asks_for_updated_credentials() -> None:
    decline = classify_decline("mc:51", {"merchant_advice_code": "01"})

    assert decline.advice == "update_credentials"


def test_a_mastercard_advice_code_without_retry_effect_leaves_the_table_class() -> None:
    # MAC 05 ("negotiated value not approved") says nothing about retrying.
    decline = classify_decline("mc:51", {"merchant_advice_code": "05"})

    assert decline == DeclineClass("later", "insufficient_funds")


def test_an_unknown_advice_code_leaves_the_table_class() -> None:
    decline = classify_decline("stripe:expired_card", {"advice_code": "be_nice"})

    assert decline == DeclineClass("fix_data", "expired_card")


def test_stripe_advice_code_do_not_try_again_makes_a_soft_decline_never() -> None:
    decline = classify_decline("stripe:insufficient_funds", {"advice_code": "do_not_try_again"})

    assert decline == DeclineClass("never", "insufficient_funds")


def test_stripe_advice_code_try_again_later_makes_a_hard_decline_soft() -> None:
    decline = classify_decline("stripe:expired_card", {"advice_code": "try_again_later"})

    assert decline == DeclineClass("later", "expired_card")
    assert decline.decline_type == "soft"


def test_stripe_advice_code_confirm_card_data_asks_for_a_fix() -> None:
    decline = classify_decline("stripe:insufficient_funds", {"advice_code": "confirm_card_data"})

    assert decline.advice == "fix_data"


def test_an_advice_code_classifies_even_without_a_reason_code() -> None:
    decline = classify_decline(None, {"merchant_advice_code": "03"})

    assert decline == DeclineClass("never", None)


def test_unrelated_attributes_change_nothing() -> None:
    decline = classify_decline("visa:51", {"note": "retry me", "advice": "03"})

    assert decline == DeclineClass("later", "insufficient_funds")
