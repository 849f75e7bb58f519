"""What a model sees of a case: structured fields and free text, never the answer.

The features leave out every field a suggestion predicts (type, owner team, root cause, next
action) and everything policy derived from them (category, tier, queue), so a model cannot
learn to copy the label. What stays is what the sources said: which source, which event types,
which reason code, how much money, and the words people and banks wrote (remittance text,
dispute notes, reason messages).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

TEXT_KEYS = (
    "reason_message",
    "remittance",
    "remittance_info",
    "note",
    "notes",
    "description",
    "message",
    "memo",
    "reference",
    "reason",
    "statement_text",
    "narrative",
)
"""Attribute keys whose values are free text written by a person, a bank or a network."""

MAX_TEXT = 2_000
"""Characters of free text kept per case (long notes add little and cost memory)."""

_TOKEN = re.compile(r"[^a-z0-9:._=-]+")


@dataclass(frozen=True, slots=True)
class Features:
    """Structured fields (name -> value, all text) and free text of one case."""

    fields: Mapping[str, str] = field(default_factory=dict)
    text: str = ""

    def document(self) -> str:
        """One line for a bag-of-words model: each field as a single ``name=value`` token,
        then the free text in lower case."""
        tokens = [f"{name}={_squash(value)}" for name, value in sorted(self.fields.items())]
        return " ".join([*tokens, self.text.lower()]).strip()


def _squash(value: str) -> str:
    return _TOKEN.sub("_", value.strip().lower()) or "_"


def amount_band(amount: Decimal | None) -> str:
    """Order of magnitude of the money at stake: ``none``, ``lt10``, ``lt100``, ... ``ge100k``."""
    if amount is None:
        return "none"
    for limit in (10, 100, 1_000, 10_000, 100_000):
        if amount < limit:
            return f"lt{limit}"
    return "ge100k"


def features_of(
    findings: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
    *,
    amount: Decimal | None = None,
    currency: str | None = None,
) -> Features:
    """The features of a case from its findings (rows with ``reason_code``, ``detail``) and
    the events they cite (rows with ``source``, ``type``, ``reason_code``, ``status``,
    ``attributes``). Order does not matter: the result is sorted and deduplicated."""
    fields: dict[str, str] = {"amount": amount_band(amount)}
    if currency:
        fields["currency"] = currency
    sources = sorted({str(e["source"]).split(":")[0] for e in events if e.get("source")})
    if sources:
        fields["source"] = "+".join(sources)
    kinds = sorted({str(e["type"]) for e in events if e.get("type")})
    if kinds:
        fields["events"] = "+".join(kinds[:4])
    codes = sorted({str(c) for row in [*findings, *events] if (c := row.get("reason_code"))})
    if codes:
        fields["reason_code"] = codes[0]
        fields["reason_ns"] = codes[0].split(":", 1)[0]
    statuses = sorted({str(e["status"]) for e in events if e.get("status")})
    if statuses:
        fields["status"] = statuses[0]
    texts: list[str] = []
    for row in [*events, *findings]:
        for source in (row.get("attributes"), row.get("detail")):
            if isinstance(source, Mapping):
                texts.extend(str(source[k]) for k in TEXT_KEYS if source.get(k))
    text = " ".join(dict.fromkeys(t.strip() for t in texts if t.strip()))
    return Features(fields=fields, text=text[:MAX_TEXT])


__all__ = ["TEXT_KEYS", "Features", "amount_band", "features_of"]
