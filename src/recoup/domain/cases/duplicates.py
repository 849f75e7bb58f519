"""Duplicate claims: a new case that is likely the same claim as an open or recent one.

A customer who writes in twice, disputes a charge they also asked a refund for, or a supplier
who chases one invoice through two channels opens two cases about one piece of money: paying
both claims pays twice. Only claim types (:data:`CLAIM_TYPES`: disputes, inquiries, refunds,
duplicate charges and invoices, amount mismatches, blocked payments, missing remittances) are
compared; recurring failures of one customer's payments are not claims. A new claim case is
compared with the cases of the same **counterparty** (customer or supplier) opened in
the last :data:`LOOKBACK` that are open or were closed within it. A candidate must be about the
same money (same currency, amounts within :data:`AMOUNT_TOLERANCE`); the score then adds up:

========================================  =====
same counterparty and money                0.5
exact same amount                          +0.1
same finding type                          +0.2
otherwise same category                    +0.1
opened within :data:`NEAR` of each other   +0.1
the candidate is still open                +0.1
========================================  =====

The best candidate at or above :data:`LINK_AT` is linked: ``duplicate_of`` and
``duplicate_score`` are set, the timeline and audit say so. Nothing else changes: the operator
resolves the new case as ``duplicate`` or dismisses the link and continues.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from recoup.domain.cases.case import Case
from recoup.domain.cases.casing import CasePlan, change_plan
from recoup.domain.errors import ConflictError
from recoup.domain.ingestion.event import Refs

CLAIM_TYPES = frozenset({
    "dispute_opened", "inquiry_opened", "refund_failed", "duplicate_charge", "amount_mismatch",
    "duplicate_invoice", "blocked_payment", "missing_remittance",
})  # fmt: skip
LOOKBACK = timedelta(days=30)
NEAR = timedelta(days=7)
AMOUNT_TOLERANCE = Decimal("0.01")
LINK_AT = 0.7
ACTOR = "system:duplicates"


def counterparty_of(refs: Refs) -> str | None:
    """Who the money is owed by or to: the customer, else the supplier."""
    if refs.customer:
        return f"customer:{refs.customer}"
    if refs.supplier:
        return f"supplier:{refs.supplier}"
    return None


def _same_money(a: Case, b: Case) -> bool:
    if a.amount is None or b.amount is None or a.currency != b.currency:
        return False
    largest = max(abs(a.amount), abs(b.amount))
    return largest == 0 or abs(a.amount - b.amount) <= largest * AMOUNT_TOLERANCE


def claim_score(new: Case, other: Case, now: datetime) -> float | None:
    """How alike ``new`` and ``other`` are as claims, or None when they cannot be the same."""
    if (
        other.id == new.id
        or new.type not in CLAIM_TYPES
        or other.type not in CLAIM_TYPES
        or new.counterparty is None
        or other.counterparty != new.counterparty
        or (other.type == new.type and other.entity_key == new.entity_key)
        or other.outcome == "duplicate"
        or other.duplicate_of == new.id
        or not _same_money(new, other)
    ):
        return None
    if not other.is_open and (other.resolved_at or other.closed_at or now) < now - LOOKBACK:
        return None
    score = 0.5
    if new.amount == other.amount:
        score += 0.1
    if new.type == other.type:
        score += 0.2
    elif new.category == other.category:
        score += 0.1
    if abs(new.opened_at - other.opened_at) <= NEAR:
        score += 0.1
    if other.is_open:
        score += 0.1
    return round(score, 2)


def best_match(new: Case, candidates: Iterable[Case], now: datetime) -> tuple[Case, float] | None:
    """The most alike candidate at or above :data:`LINK_AT`; ties go to the older case."""
    scored = [
        (score, other)
        for other in candidates
        if (score := claim_score(new, other, now)) is not None and score >= LINK_AT
    ]
    if not scored:
        return None
    score, other = max(scored, key=lambda pair: (pair[0], -pair[1].opened_at.timestamp()))
    return other, score


def link(plan: CasePlan, new: Case, other: Case, score: float, now: datetime) -> None:
    """Mark ``new`` as a likely duplicate of ``other`` inside ``plan`` (``new`` is one of the
    plan's created cases, so it is stored with the link)."""
    before = new.snapshot()
    new.duplicate_of = other.id
    new.duplicate_score = score
    change = change_plan(
        new, before, now=now, actor=ACTOR, action="case.duplicate_linked", kind="duplicate",
        summary=f"possible duplicate of case {other.id} (score {score:.2f})",
        data={"duplicate_of": other.id, "score": score}, updates=False,
    )  # fmt: skip
    plan.timeline.extend(change.timeline)
    plan.audit.extend(change.audit)


def plan_links(plan: CasePlan, candidates: Iterable[Case], now: datetime) -> int:
    """Link each case ``plan`` opens to its best earlier match among ``candidates`` and the
    plan's own earlier cases; returns how many were linked."""
    pool = [c for c in candidates if c.id not in plan.created]
    linked = 0
    for new in sorted(plan.created.values(), key=lambda c: (c.first_seen_at, c.id)):
        if new.counterparty is not None and new.type in CLAIM_TYPES:
            match = best_match(new, pool, now)
            if match is not None:
                link(plan, new, *match, now)
                linked += 1
        pool.append(new)
    return linked


def dismiss(case: Case, *, actor: str, reason: str, now: datetime) -> CasePlan:
    """The operator says the case is not a duplicate: the link is dropped, the case goes on."""
    if case.duplicate_of is None:
        raise ConflictError(f"case {case.id} is not linked as a duplicate")
    if not reason.strip():
        raise ConflictError("a reason is required to dismiss a duplicate link")
    before = case.snapshot()
    was, score = case.duplicate_of, case.duplicate_score
    case.duplicate_of = None
    case.duplicate_score = None
    case.updated_at = now
    return change_plan(
        case, before, now=now, actor=actor, action="case.duplicate_dismissed",
        kind="duplicate_dismissed", summary=f"not a duplicate of case {was}: {reason}",
        data={"was": was, "score": score, "reason": reason},
    )  # fmt: skip
