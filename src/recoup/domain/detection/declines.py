"""Classify a decline reason code into what a retry can do about it.

Classes, from most to least final:

- ``never``: hard decline; the issuer will not approve this card for this payment;
- ``update_credentials``: hard until the customer's card details are refreshed;
- ``fix_data``: hard until some data (CVC, expiry, address) is corrected;
- ``later``: soft decline; the same card may succeed on a later retry;
- ``unknown``: a code we have no table for; a person looks before anything is retried.

The tables come from the networks' published codes (see ``data/NOTICE.md``). A Visa normalised
reason that appears in several categories takes the most final class, and our own
``reason_classes.csv`` settles the reasons the Visa table leaves open. A merchant advice code
(Mastercard MAC, Stripe ``advice_code``) given with the decline overrides the table.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

ORDER = ("never", "update_credentials", "fix_data", "later")


@dataclass(frozen=True, slots=True)
class DeclineClass:
    advice: str
    normalized_reason: str | None

    @property
    def is_soft(self) -> bool:
        return self.advice == "later"

    @property
    def decline_type(self) -> str:
        if self.advice == "unknown":
            return "unknown"
        return "soft" if self.is_soft else "hard"


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files(__package__).joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def _most_final(a: str | None, b: str) -> str:
    if a is None:
        return b
    return a if ORDER.index(a) <= ORDER.index(b) else b


@cache
def _tables() -> tuple[dict[str, str], dict[str, dict[str, str]], dict[str, str]]:
    """(reason -> class, namespace -> {code -> reason}, advice code -> class)."""
    category_class = {r["category"]: r["class"] for r in _rows("visa_decline_categories.csv")}
    reason_class: dict[str, str] = {}
    visa: dict[str, str] = {}
    for row in _rows("visa_decline_response_codes.csv"):
        cls = row["class_override"] or category_class[row["category"]]
        reason = row["normalized_reason"]
        reason_class[reason] = _most_final(reason_class.get(reason), cls)
        visa[row["code"]] = reason
    for row in _rows("reason_classes.csv"):
        reason_class[row["normalized_reason"]] = row["class"]
    codes = {
        "visa": visa,
        "stripe": {r["code"]: r["normalized_reason"] for r in _rows("stripe_decline_codes.csv")},
        "mc": {r["code"]: r["normalized_reason"] for r in _rows("mastercard_response_codes.csv")},
    }
    advice = {
        f"mc:{r['code']}": r["effect"]
        for r in _rows("mastercard_merchant_advice_codes.csv")
        if r["effect"] in ORDER or r["effect"] == "wait"
    }
    advice |= {f"stripe:{r['code']}": r["effect"] for r in _rows("stripe_advice_codes.csv")}
    return reason_class, codes, advice


def classify_decline(
    reason_code: str | None, attributes: dict[str, Any] | None = None
) -> DeclineClass:
    reason_class, codes, advice_table = _tables()
    reason: str | None = None
    advice = "unknown"
    if reason_code and ":" in reason_code:
        namespace, code = reason_code.split(":", 1)
        reason = codes.get(namespace, {}).get(code)
        if reason is not None:
            advice = reason_class.get(reason, "unknown")
    attrs = attributes or {}
    for key, namespace in (("merchant_advice_code", "mc"), ("advice_code", "stripe")):
        given = attrs.get(key)
        if isinstance(given, int) and not isinstance(given, bool):
            given = f"{given:02d}"  # a MAC sent as a number: 3 means "03"
        if given is not None:
            effect = advice_table.get(f"{namespace}:{given}")
            if effect == "wait":
                effect = "later"
            if effect is not None:
                advice = effect
    return DeclineClass(advice, reason)


FRAUD_REASONS = frozenset(
    {"fraudulent", "suspected_fraud", "stolen_card", "lost_card", "pickup_card"}
)
