"""Reconciliation rules: an ordered list of passes, each a way two records may be the same money.

A pass says how candidates are found (``keys``: identifiers compared for equality, tried in
order, or ``"amount"`` to block on currency, amount band and date window when no identifier is
shared), how far they may differ (amount tolerance, date window, currency or FX), how sure the
engine must be (fuzzy minimums and the two thresholds), and its shape (``one_to_one``,
``many_to_one`` a group of left records against one right record, ``one_to_many`` one left
record paid by a group of right records, ``three_way`` an order attached through its payment to
the payment's bank line).

Passes run in order over the records earlier passes left unmatched, so the strict passes go
first: a strict pass that matches nothing costs little, a loose pass that runs first steals
records from a strict one. Values are validated here so that the rules file and tests share one
set of errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from recoup.domain.errors import ConfigurationError

LEFT_KINDS = ("charge", "refund", "fee", "payout", "adjustment", "invoice", "order")
"""Every kind a left record may have (see docs/reconcile.md)."""

LEFT_KEY_FIELDS = ("id", "end_to_end", "reference", "payment_ref", "payout_ref", "name")
RIGHT_KEY_FIELDS = ("id", "end_to_end", "reference", "payout_ref", "name")
AMOUNT_BLOCK = "amount"
"""The key that means "no shared identifier": block on currency, amount band and date window."""

SCORERS = ("ratio", "partial_ratio", "token_sort_ratio", "token_set_ratio")
"""RapidFuzz scorers a pass may name; each returns a similarity from 0 to 100."""
NORMALIZERS = ("words", "alnum")
"""How text is prepared before a fuzzy comparison: ``words`` lower-cases it and turns every
other character than a letter or digit into a space (RapidFuzz's default processing);
``alnum`` lower-cases it and keeps letters and digits only, so ``INV-2026-0042``,
``INV2026 0042`` and ``inv 2026-0042`` compare equal."""


class PassKind(StrEnum):
    ONE_TO_ONE = "one_to_one"
    MANY_TO_ONE = "many_to_one"
    ONE_TO_MANY = "one_to_many"
    THREE_WAY = "three_way"


@dataclass(frozen=True, slots=True)
class Key:
    """Equality of ``left_field`` and ``right_field`` (``"payment_ref=reference"``), the left
    value as a word of the right text (``"payout_ref in reference"``, ``in_text``), or the
    amount block. In a three-way pass ``right_field`` is a field of the payment record."""

    left_field: str
    right_field: str
    in_text: bool = False
    """The left value must be one of the words of the right field (words are split at every
    character other than a letter, a digit, ``_`` or ``-``), compared exactly."""

    @property
    def is_amount_block(self) -> bool:
        return self.left_field == AMOUNT_BLOCK

    @classmethod
    def parse(cls, text: str, *, three_way: bool = False) -> Key:
        words = text.split()
        if len(words) == 3 and words[1] == "in" and not three_way:
            left, right = words[0], words[2]
            if left not in LEFT_KEY_FIELDS or right not in RIGHT_KEY_FIELDS:
                raise ConfigurationError(
                    f"key {text!r}: expected LEFT_FIELD in RIGHT_FIELD with fields from "
                    f"{', '.join(LEFT_KEY_FIELDS)} (right side: {', '.join(RIGHT_KEY_FIELDS)})"
                )
            return cls(left, right, in_text=True)
        left, _, right = text.partition("=")
        left, right = left.strip(), (right.strip() or left.strip())
        if left == AMOUNT_BLOCK and right == AMOUNT_BLOCK and not three_way:
            return cls(AMOUNT_BLOCK, AMOUNT_BLOCK)
        right_fields = LEFT_KEY_FIELDS if three_way else RIGHT_KEY_FIELDS
        if left not in LEFT_KEY_FIELDS or right not in right_fields:
            allowed = f"{', '.join(LEFT_KEY_FIELDS)}" + ("" if three_way else f", {AMOUNT_BLOCK}")
            raise ConfigurationError(
                f"key {text!r}: expected FIELD or LEFT_FIELD=RIGHT_FIELD with fields from "
                f"{allowed} (right side: {', '.join(right_fields)})"
            )
        return cls(left, right)

    def __str__(self) -> str:
        if self.in_text:
            return f"{self.left_field} in {self.right_field}"
        if self.is_amount_block or self.left_field == self.right_field:
            return self.left_field
        return f"{self.left_field}={self.right_field}"


@dataclass(frozen=True, slots=True)
class Weights:
    """How the score mixes its parts; see :func:`recoup.domain.reconcile.model.score`."""

    amount: float = 0.4
    date: float = 0.2
    text: float = 0.4


@dataclass(frozen=True, slots=True)
class Pass:
    name: str
    kind: PassKind
    keys: tuple[Key, ...]
    amount_absolute: Decimal = Decimal(0)
    amount_percent: Decimal = Decimal(0)
    fee_absolute: Decimal = Decimal(0)
    """The right amount may also fall short of the left one (be lower, signed) by up to
    ``fee_absolute + fee_percent/100 * |left|`` on top of the symmetric tolerance: a bank fee
    deducted from a transfer, an FX spread."""
    fee_percent: Decimal = Decimal(0)
    date_window_days: int = 0
    allow_fx: bool = False
    reference_min: float | None = None
    name_min: float | None = None
    scorer: str = "token_set_ratio"
    normalize: str = "words"
    """How text is prepared for the scorer: one of :data:`NORMALIZERS`."""
    auto_threshold: float = 0.9
    suggest_threshold: float = 0.7
    left_kinds: tuple[str, ...] = ()
    """Left kinds this pass considers; empty means every kind except ``order``."""
    group_by: str = "payout_ref"
    """many_to_one: the left field that names the group; one_to_many: the right field."""
    payment_kinds: tuple[str, ...] = ("charge", "invoice")
    """three_way: the kinds of left record an order's payment may be."""
    weights: Weights = field(default_factory=Weights)

    def __post_init__(self) -> None:
        where = f"pass {self.name!r}"
        if not self.name.strip():
            raise ConfigurationError("a pass needs a non-empty name")
        if not self.keys:
            raise ConfigurationError(f"{where}: keys must name at least one key")
        for label, amount in (
            ("amount_absolute", self.amount_absolute),
            ("fee_absolute", self.fee_absolute),
        ):
            if amount < 0 or not amount.is_finite():
                raise ConfigurationError(f"{where}: {label} must be a finite amount >= 0")
        for label, percent in (
            ("amount_percent", self.amount_percent),
            ("fee_percent", self.fee_percent),
        ):
            if not Decimal(0) <= percent <= Decimal(100):
                raise ConfigurationError(f"{where}: {label} must be between 0 and 100")
        if not 0 <= self.date_window_days <= 366:
            raise ConfigurationError(f"{where}: date_window_days must be between 0 and 366")
        for label, minimum in (("reference_min", self.reference_min), ("name_min", self.name_min)):
            if minimum is not None and not 0 <= minimum <= 100:
                raise ConfigurationError(f"{where}: {label} must be between 0 and 100")
        if self.scorer not in SCORERS:
            raise ConfigurationError(f"{where}: scorer must be one of {', '.join(SCORERS)}")
        if self.normalize not in NORMALIZERS:
            raise ConfigurationError(f"{where}: normalize must be one of {', '.join(NORMALIZERS)}")
        if not 0 <= self.suggest_threshold <= self.auto_threshold <= 1:
            raise ConfigurationError(
                f"{where}: thresholds must satisfy 0 <= suggest_threshold <= auto_threshold <= 1"
            )
        unknown = set(self.left_kinds) - set(LEFT_KINDS)
        if unknown:
            raise ConfigurationError(
                f"{where}: left_kinds has unknown kinds {', '.join(sorted(unknown))}; "
                f"expected some of {', '.join(LEFT_KINDS)}"
            )
        if set(self.payment_kinds) - set(LEFT_KINDS) or "order" in self.payment_kinds:
            raise ConfigurationError(f"{where}: payment_kinds must be left kinds other than order")
        group_fields = RIGHT_KEY_FIELDS if self.kind is PassKind.ONE_TO_MANY else LEFT_KEY_FIELDS
        if self.group_by not in group_fields or self.group_by == "id":
            raise ConfigurationError(
                f"{where}: group_by must be one of "
                f"{', '.join(f for f in group_fields if f != 'id')}"
            )
        w = self.weights
        if min(w.amount, w.date, w.text) < 0 or w.amount + w.date + w.text <= 0:
            raise ConfigurationError(f"{where}: weights must be >= 0 and not all zero")
        if self.kind is PassKind.THREE_WAY and any(k.is_amount_block for k in self.keys):
            raise ConfigurationError(
                f"{where}: a three_way pass links an order to its payment "
                "by identifiers; the amount key is not allowed"
            )

    @property
    def kinds(self) -> tuple[str, ...]:
        """The left kinds this pass matches (orders only in a three-way pass)."""
        if self.kind is PassKind.THREE_WAY:
            return ("order",)
        return self.left_kinds or tuple(k for k in LEFT_KINDS if k != "order")

    @property
    def uses_fuzzy(self) -> bool:
        return self.reference_min is not None or self.name_min is not None


@dataclass(frozen=True, slots=True)
class Rules:
    version: int
    passes: tuple[Pass, ...]

    def __post_init__(self) -> None:
        if self.version != 1:
            raise ConfigurationError(f"rules version {self.version} is not supported (expected 1)")
        if not self.passes:
            raise ConfigurationError("rules need at least one pass")
        names = [p.name for p in self.passes]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ConfigurationError(f"pass names must be unique: {', '.join(duplicated)}")


__all__ = [
    "AMOUNT_BLOCK",
    "LEFT_KEY_FIELDS",
    "LEFT_KINDS",
    "NORMALIZERS",
    "RIGHT_KEY_FIELDS",
    "SCORERS",
    "Key",
    "Pass",
    "PassKind",
    "Rules",
    "Weights",
]
