"""The words of a reconciliation result: match statuses, break reasons, match ids and the score.

The engine computes scores and match ids in SQL over millions of rows; the functions here are
the definition it must agree with (a unit test holds the two equal on examples).

Score of a candidate pair, from 0 to 1 (weights from the pass, :class:`Weights`)::

    amount = 1 - 0.5 * |diff| / allowed     (1 when diff = 0; 0.5 at the tolerance edge;
                                              allowed = absolute + percent/100 * |left amount|,
                                              plus the fee allowance when the right is lower)
    date   = 1 - 0.5 * |days| / (window + 1)
    text   = 1 when an identifier key joined the pair, else the mean of the configured fuzzy
             similarities (reference, name) / 100
    score  = (w_amount * amount + w_date * date + w_text * text) / (w_amount + w_date + w_text)

The text part is left out (its weight is not counted) for a pair the amount block found in a
pass that configures no fuzzy minimum: there is no text evidence either way. Fuzzy minimums
apply only to pairs found by the amount block; an equal identifier is stronger evidence.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from enum import StrEnum

from recoup.domain.ids import derived_id
from recoup.domain.reconcile.rules import Weights

MATCH_ID_PREFIX = "reconcile.match"
BREAK_SEARCH_EXTRA_DAYS = 30
"""How far past the widest pass window the nearest counterpart of a break is looked for."""
DEFAULT_REFERENCE_MIN = 85.0
"""The similarity below which a break reports a reference difference when no pass sets one."""


class MatchStatus(StrEnum):
    AUTO = "auto"
    """Score at or above the pass's auto threshold: reconciled without a person."""
    SUGGESTED = "suggested"
    """Score between the thresholds: waits in the review queue for confirm, reject or force."""


class BreakReason(StrEnum):
    AMOUNT_OVER = "amount_over"
    """The nearest counterpart carries more money than expected (beyond the tolerance)."""
    AMOUNT_UNDER = "amount_under"
    """The nearest counterpart carries less money than expected (beyond the tolerance)."""
    CURRENCY = "currency"
    """The nearest counterpart is in another currency and no FX pass explained it."""
    DATE = "date"
    """The nearest counterpart is outside every pass's date window."""
    REFERENCE = "reference"
    """The nearest counterpart's reference differs (below the fuzzy minimum)."""
    DUPLICATE = "duplicate"
    """Another record on the same side has the same amount, currency, date and reference."""
    MISSING_COUNTERPART = "missing_counterpart"
    """No counterpart shares an identifier or sits within the amount and date band."""


class Side(StrEnum):
    LEFT = "left"
    RIGHT = "right"


RIGHT_IDS_SEPARATOR = "\x1e"
"""Joins the sorted right ids of a one-to-many match into the first part of its id."""


def match_id(right_ids: str | Iterable[str], left_ids: Iterable[str]) -> str:
    """The id of the match of the bank line ``right_ids`` (or of several, one-to-many) with
    ``left_ids``: the same records always give the same id, whatever their order. A three-way
    order joins its payment's match and its id."""
    right = right_ids if isinstance(right_ids, str) else RIGHT_IDS_SEPARATOR.join(sorted(right_ids))
    return derived_id(MATCH_ID_PREFIX, right, *sorted(left_ids))


def status_for(score: float, *, auto_threshold: float, suggest_threshold: float) -> str | None:
    """``auto``, ``suggested`` or None (not a match) for ``score``."""
    if score >= auto_threshold:
        return MatchStatus.AUTO.value
    if score >= suggest_threshold:
        return MatchStatus.SUGGESTED.value
    return None


def allowed_difference(
    left_amount: Decimal,
    absolute: Decimal,
    percent: Decimal,
    *,
    fee_absolute: Decimal = Decimal(0),
    fee_percent: Decimal = Decimal(0),
    right_is_lower: bool = False,
) -> Decimal:
    """The largest |right - left| a pass accepts for ``left_amount`` (exact Decimal); a right
    amount lower than the left one may also be short by the fee allowance."""
    allowed = absolute + percent / 100 * abs(left_amount)
    if right_is_lower:
        allowed += fee_absolute + fee_percent / 100 * abs(left_amount)
    return allowed


def score(
    *,
    amount_diff: Decimal,
    allowed: Decimal,
    days_apart: int,
    window_days: int,
    text: float | None,
    weights: Weights,
) -> float:
    """The module docstring's formula; ``text`` None means the text part is left out."""
    if allowed > 0:
        amount_part = 1 - 0.5 * float(abs(amount_diff) / allowed)
    else:
        amount_part = 1.0 if amount_diff == 0 else 0.0
    date_part = 1 - 0.5 * abs(days_apart) / (window_days + 1)
    total = weights.amount * amount_part + weights.date * date_part
    weight = weights.amount + weights.date
    if text is not None:
        total += weights.text * text
        weight += weights.text
    return total / weight


__all__ = [
    "BREAK_SEARCH_EXTRA_DAYS",
    "DEFAULT_REFERENCE_MIN",
    "MATCH_ID_PREFIX",
    "RIGHT_IDS_SEPARATOR",
    "BreakReason",
    "MatchStatus",
    "Side",
    "allowed_difference",
    "match_id",
    "score",
    "status_for",
]
