"""Sanctions screening: a party name on an event that is close to an entry on a sanctions list.

The list is data the operator supplies (the OFAC SDN CSV layout is read by
``recoup.adapters.sanctions_list``); this module only matches. Without a list the detector is
off: Recoup ships no list and never fetches one.

Names are compared after :func:`normalise_name` (case, accents, punctuation and legal forms such
as Ltd or GmbH removed) with rapidfuzz's ``token_sort_ratio``, so word order does not matter
("SMITH, John" is "John Smith"). Every list name is normalised and token-sorted once, when the
screen is built; screening one name is then a single ``process.extractOne`` over the prepared
keys with a score cut-off, and only events of the listed types that carry a name pay it.

The same normaliser serves the supplier account-holder check in ``rules_payables``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from rapidfuzz import fuzz, process

from recoup.domain.detection.detectors import RuleSpec, _entity, _finding, default_tier
from recoup.domain.detection.findings import Finding
from recoup.domain.errors import InvalidInputError
from recoup.domain.ingestion.event import Event
from recoup.domain.ingestion.types import EVENT_TYPES

SANCTIONS_ALERT = "sanctions_alert"

DEFAULT_THRESHOLD = 90
MIN_THRESHOLD = 50
MAX_THRESHOLD = 100

# Event type -> the attribute that holds the party's name on it.
SUPPLIER_NAME_FIELDS = {
    "supplier.created": "name",
    "supplier.updated": "name",
    "supplier.payment_initiated": "creditor_name",
}
CUSTOMER_NAME_FIELDS = {
    "order.created": "customer_name",
    **{t: "customer_name" for t in EVENT_TYPES if t.startswith("payment.")},
}
NAME_FIELDS: dict[str, str] = {**SUPPLIER_NAME_FIELDS, **CUSTOMER_NAME_FIELDS}
SCREENED_TYPES = frozenset(NAME_FIELDS)

# Legal forms that say nothing about who a party is. Dots are dropped before this is consulted,
# so "S.A." is "sa" and "B.V." is "bv".
LEGAL_FORMS = frozenset(
    {
        "ab", "ag", "as", "bv", "bvba", "co", "corp", "corporation", "company", "cv", "gmbh",
        "inc", "incorporated", "jsc", "kft", "kg", "kk", "limited", "llc", "llp", "lp", "ltd",
        "nv", "oao", "ojsc", "ooo", "oy", "pjsc", "plc", "pte", "pty", "sa", "sarl", "sas",
        "se", "spa", "sl", "srl", "zao",
    }
)  # fmt: skip

_DOTS_AND_QUOTES = re.compile(r"[.'’`]")
_NOT_WORD = re.compile(r"[^0-9a-z]+")


def normalise_name(name: str) -> str:
    """``name`` in the form two names are compared in: accents folded, lower case, ``&`` read as
    ``and``, punctuation as spaces, and legal forms (Ltd, Limited, GmbH, Inc, LLC, SA, BV, ...)
    dropped from both ends. A name made only of legal forms keeps them, so it is never blank
    unless it had no letters or digits."""
    folded = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in folded if not unicodedata.combining(c)).casefold()
    text = _DOTS_AND_QUOTES.sub("", text.replace("&", " and "))
    tokens = _NOT_WORD.sub(" ", text).split()
    start, end = 0, len(tokens)
    while end > start + 1 and tokens[end - 1] in LEGAL_FORMS:
        end -= 1
    while end > start + 1 and tokens[start] in LEGAL_FORMS:
        start += 1
    return " ".join(tokens[start:end])


def _sorted_tokens(normalised: str) -> str:
    """What ``token_sort_ratio`` compares: the tokens in sorted order."""
    return " ".join(sorted(normalised.split()))


def name_score(a: str, b: str) -> float:
    """How alike two party names are, 0 to 100: ``token_sort_ratio`` of the normalised names."""
    return fuzz.token_sort_ratio(normalise_name(a), normalise_name(b), processor=None)


@dataclass(frozen=True, slots=True)
class SanctionsEntry:
    """One listed party. ``uid`` is the list's own id (OFAC's ``ent_num``); ``type`` is
    ``individual``, ``entity``, ``vessel`` or ``aircraft``; ``program`` the sanctions programmes
    it is listed under; ``aliases`` its other names (aka, fka, nka)."""

    uid: str
    name: str
    type: str | None = None
    program: str | None = None
    aliases: tuple[str, ...] = ()


class SanctionsList:
    """The entries of a sanctions list, in file order. ``source`` says where it came from (a
    file name), for the finding's detail."""

    def __init__(self, entries: Iterable[SanctionsEntry], source: str | None = None) -> None:
        self.entries: tuple[SanctionsEntry, ...] = tuple(entries)
        self.source = source

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[SanctionsEntry]:
        return iter(self.entries)


@dataclass(frozen=True, slots=True)
class SanctionsMatch:
    """The closest entry to a screened name: which entry, by which of its names, how close."""

    entry: SanctionsEntry
    matched_name: str
    score: float

    @property
    def by_alias(self) -> bool:
        return self.matched_name != self.entry.name


class SanctionsScreen:
    """The ``sanctions_alert`` rule: screens the party name an event carries (see
    :data:`NAME_FIELDS`) against ``sanctions`` and fires when the closest name scores at or
    above ``threshold`` (50 to 100; raises ``InvalidInputError`` otherwise)."""

    def __init__(self, sanctions: SanctionsList, threshold: int = DEFAULT_THRESHOLD) -> None:
        if isinstance(threshold, bool) or not MIN_THRESHOLD <= threshold <= MAX_THRESHOLD:
            raise InvalidInputError(
                f"the sanctions threshold must be {MIN_THRESHOLD} to {MAX_THRESHOLD}, "
                f"not {threshold!r}"
            )
        self.sanctions = sanctions
        self.threshold = threshold
        prepared: list[tuple[str, SanctionsEntry, str]] = []
        for entry in sanctions.entries:
            for listed in (entry.name, *entry.aliases):
                key = _sorted_tokens(normalise_name(listed))
                if key:
                    prepared.append((key, entry, listed))
        # Token-sorted once here, so each screen is a plain ratio (token_sort_ratio without
        # re-sorting every list name for every event), and ordered by length, so a screen only
        # scores the names whose length could reach the threshold (see _lengths_for).
        prepared.sort(key=lambda p: len(p[0]))
        self._keys: Sequence[str] = [p[0] for p in prepared]
        self._lengths: Sequence[int] = [len(p[0]) for p in prepared]
        self._names: Sequence[tuple[SanctionsEntry, str]] = [(p[1], p[2]) for p in prepared]

    def _lengths_for(self, length: int) -> tuple[int, int]:
        """The slice of keys long enough and short enough to score ``threshold`` against a name
        of ``length``: the ratio is at most 200 * shorter / (sum of lengths), so a key of length
        L can only reach threshold t when q*t/(200-t) <= L <= q*(200-t)/t (one spare character
        each side against rounding)."""
        t = self.threshold
        low = math.floor(length * t / (200 - t)) - 1
        high = math.ceil(length * (200 - t) / t) + 1
        return bisect_left(self._lengths, low), bisect_right(self._lengths, high)

    @property
    def spec(self) -> RuleSpec:
        """The rule with the event types it reads, for ``DetectionSettings.sanctions``."""
        return SCREENED_TYPES, self

    def match(self, name: str) -> SanctionsMatch | None:
        """The closest listed name scoring at or above the threshold, or None."""
        query = _sorted_tokens(normalise_name(name))
        start, end = self._lengths_for(len(query))
        if not query or start >= end:
            return None
        best = process.extractOne(
            query,
            self._keys[start:end],
            scorer=fuzz.ratio,
            processor=None,
            score_cutoff=self.threshold,
        )
        if best is None:
            return None
        entry, listed = self._names[start + best[2]]
        return SanctionsMatch(entry, listed, best[1])

    def __call__(self, event: Event, detected_at: datetime) -> Finding | None:
        field = NAME_FIELDS.get(event.type)
        if field is None:
            return None
        name = _text(event.attributes.get(field))
        if name is None:
            return None
        found = self.match(name)
        if found is None:
            return None
        entry = found.entry
        score = round(found.score, 1)
        program = f", {entry.program}" if entry.program else ""
        return _finding(
            event,
            SANCTIONS_ALERT,
            _entity(event, "supplier", "customer"),
            detected_at=detected_at,
            summary=f"{field} is close to sanctions list entry {entry.name!r} "
            f"(uid {entry.uid}{program}): score {score:g}",
            tier=default_tier(SANCTIONS_ALERT),
            detail={
                "field": field,
                "list_name": entry.name,
                "matched_name": found.matched_name,
                "by_alias": found.by_alias,
                "uid": entry.uid,
                "list_type": entry.type,
                "program": entry.program,
                "score": score,
                "confidence": round(found.score / 100, 3),
                "threshold": self.threshold,
                "list_source": self.sanctions.source,
            },
        )


def _text(value: object) -> str | None:
    """The attribute as text, or None when it is absent, blank or not a string."""
    if not isinstance(value, str):
        return None
    return value.strip() or None


__all__ = [
    "DEFAULT_THRESHOLD",
    "NAME_FIELDS",
    "SANCTIONS_ALERT",
    "SCREENED_TYPES",
    "SanctionsEntry",
    "SanctionsList",
    "SanctionsMatch",
    "SanctionsScreen",
    "name_score",
    "normalise_name",
]
