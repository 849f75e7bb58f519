"""The labels: what operators decided about resolved cases.

A resolved case says which type it was and which team owned it in the end. Root cause and next
action are what an operator chose for the case: a suggestion they accepted, or the value they
put in its place. Suggestions nobody decided on are never labels, so a model does not learn
from its own guesses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from recoup.domain.assist.features import Features
from recoup.domain.errors import InvalidInputError, Location

FIELDS = ("type", "owner_team", "root_cause", "next_action")
"""What assist suggests, in the order it is shown."""

POLICY_FIELDS = frozenset({"type", "owner_team"})
"""Fields the case already has from detection and policy: a suggestion for them is advice only."""

UNUSABLE_RESOLUTIONS = frozenset({"false_positive"})
"""A false positive says the detector was wrong, not what the case was about."""

_SLUG = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True, slots=True)
class LabeledExample:
    """One resolved case: its features and the labels known for it (some fields may lack one)."""

    key: str
    features: Features
    labels: Mapping[str, str]


def check_field(field: str) -> str:
    if field not in FIELDS:
        raise InvalidInputError(
            f"unknown suggestion field {field!r}; use one of {', '.join(FIELDS)}",
            location=Location(field="field"),
        )
    return field


def check_value(field: str, value: str, known_types: Iterable[str]) -> str:
    """An operator's value for ``field``: a known case type, or a lower-case slug."""
    value = value.strip()
    if field == "type" and value not in set(known_types):
        raise InvalidInputError(f"unknown case type {value!r}", location=Location(field="value"))
    if not _SLUG.match(value):
        raise InvalidInputError(
            f"{field} must be a lower-case word with underscores (got {value!r})",
            location=Location(field="value"),
        )
    return value


def labels_of(
    case_type: str,
    owner_team: str,
    outcome: str | None,
    decisions: Mapping[str, str],
) -> dict[str, str]:
    """The labels of one resolved case. ``decisions`` maps a field to the value an operator
    accepted or chose; it overrides what the case row says (an operator who corrected the
    type knows better than the detector)."""
    if outcome in UNUSABLE_RESOLUTIONS:
        return {}
    labels = {"type": case_type, "owner_team": owner_team}
    labels.update({k: v for k, v in decisions.items() if k in FIELDS})
    return labels


def label_counts(examples: Iterable[LabeledExample]) -> dict[str, int]:
    counts = dict.fromkeys(FIELDS, 0)
    for example in examples:
        for field in example.labels:
            if field in counts:
                counts[field] += 1
    return counts


__all__ = [
    "FIELDS",
    "POLICY_FIELDS",
    "LabeledExample",
    "check_field",
    "check_value",
    "label_counts",
    "labels_of",
]
