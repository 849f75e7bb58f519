"""The writeback outbox: what the store keeps for each writeback, how an attempt moves it on,
and the store port.

A writeback is written into the outbox in the same transaction as the case change that needs
it, and sent only after that transaction committed (never from inside it: a rollback must not
leave a change in the system of record that Recoup does not know about). Each item moves
through four statuses:

==============  ===========================================================================
``pending``     written, never tried; due at ``next_at`` (its creation, or a replay)
``retrying``    tried and answered ``retry``; due again at ``next_at`` (backoff with jitter)
``confirmed``   the system of record confirmed it; final
``dead``        answered ``terminal``, or ``retry`` on the last allowed attempt: a person
                looks at ``last_detail`` and replays it (back to ``pending``) once fixed
==============  ===========================================================================

The case a writeback belongs to is **not** resolved when the item is written: the resolution
waits on the case as ``pending_resolution`` (the item's ``on_confirm``) and is applied when the
item is confirmed (:func:`apply_on_confirm`). Applying it clears ``pending_resolution``, so a
confirmation recorded twice (a crash between sending and recording, then a resend that the
remote answers from its idempotency key) resolves the case once.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Protocol

from recoup.domain.cases.case import Case, CaseStatus
from recoup.domain.cases.casing import CasePlan
from recoup.domain.cases.lifecycle import RESOLUTION_CODES, transition
from recoup.domain.errors import InvalidInputError
from recoup.domain.ids import derived_id
from recoup.domain.recovery.ledger import JournalEntry
from recoup.domain.recovery.writeback import (
    CONFIRMED,
    DEFAULT_BASE,
    DEFAULT_CAP,
    MAX_ATTEMPTS,
    TERMINAL,
    WritebackRequest,
    WritebackResult,
    next_attempt_at,
)

MAX_KEY_CHARS = 255
"""The outbox column and what remote systems accept for an idempotency key."""
_DETAIL_CHARS = 2000


class OutboxStatus(StrEnum):
    PENDING = "pending"
    RETRYING = "retrying"
    CONFIRMED = "confirmed"
    DEAD = "dead"

    @property
    def is_due_status(self) -> bool:
        """An item in this status is sent once its ``next_at`` has come."""
        return self in (OutboxStatus.PENDING, OutboxStatus.RETRYING)


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One writeback as stored. ``attempts`` counts the attempts recorded so far; ``next_at``
    is when the next one is due (None once ``confirmed`` or ``dead``); ``on_confirm`` is the
    resolution to apply to the case when the system of record confirms (None: nothing)."""

    id: str
    case_id: str
    target: str
    operation: str
    payload: Mapping[str, Any]
    idempotency_key: str
    status: OutboxStatus
    attempts: int
    next_at: datetime | None
    created_at: datetime
    confirmed_at: datetime | None = None
    last_http_status: int | None = None
    last_detail: str | None = None
    on_confirm: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "payload", MappingProxyType(dict(self.payload)))
        if self.on_confirm is not None:
            object.__setattr__(self, "on_confirm", MappingProxyType(dict(self.on_confirm)))

    def request(self) -> WritebackRequest:
        """What the adapter is handed: the same id and key on every attempt."""
        return WritebackRequest(
            id=self.id,
            case_id=self.case_id,
            target=self.target,
            operation=self.operation,
            payload=self.payload,
            idempotency_key=self.idempotency_key,
        )


def idempotency_key(case_id: str, operation: str, key: str) -> str:
    """The key of one change: ``<case id>:<operation>:<key>``, where ``key`` is the caller's
    name for the change (a ladder step, an attempt id). The same three give the same key on
    every attempt and after a replay; a key longer than 255 characters keeps its start and
    ends with a digest of the whole, so two long keys never collide."""
    for name, value in (("case_id", case_id), ("operation", operation), ("key", key)):
        if not value.strip():
            raise InvalidInputError(f"writeback idempotency key: {name} must not be empty")
    full = f"{case_id}:{operation}:{key}"
    if len(full) <= MAX_KEY_CHARS:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()
    return f"{full[: MAX_KEY_CHARS - len(digest) - 1]}~{digest}"


def outbox_id(key: str) -> str:
    """The item's id follows from its idempotency key: writing the same change twice is one row."""
    return derived_id("outbox", key)


def new_item(
    *,
    case_id: str,
    target: str,
    operation: str,
    payload: Mapping[str, Any],
    key: str,
    now: datetime,
    on_confirm: Mapping[str, Any] | None = None,
) -> OutboxItem:
    """A ``pending`` item due at ``now`` (sent by the next delivery run after the commit)."""
    if on_confirm is not None:
        check_on_confirm(on_confirm)
    full_key = idempotency_key(case_id, operation, key)
    item = OutboxItem(
        id=outbox_id(full_key), case_id=case_id, target=target, operation=operation,
        payload=payload, idempotency_key=full_key, status=OutboxStatus.PENDING, attempts=0,
        next_at=now, created_at=now, on_confirm=on_confirm,
    )  # fmt: skip
    item.request()  # refuse an empty target or operation now, not at the first attempt
    return item


def after_attempt(
    item: OutboxItem,
    result: WritebackResult,
    now: datetime,
    rng: random.Random,
    max_attempts: int = MAX_ATTEMPTS,
    *,
    base: timedelta = DEFAULT_BASE,
    cap: timedelta = DEFAULT_CAP,
) -> OutboxItem:
    """The item after one more attempt that came to ``result`` at ``now``:

    - ``confirmed`` -> ``confirmed`` (``confirmed_at`` = now, nothing more due);
    - ``terminal`` -> ``dead``;
    - ``retry`` -> ``retrying``, due at :func:`next_attempt_at` (honouring ``retry_after``),
      or ``dead`` when this was attempt number ``max_attempts``.

    Only a due item (``pending`` or ``retrying``) can be attempted."""
    if not item.status.is_due_status:
        raise InvalidInputError(
            f"writeback {item.id} is {item.status.value}; only a pending or retrying item is sent"
        )
    if max_attempts < 1:
        raise InvalidInputError(f"max_attempts must be at least 1, got {max_attempts}")
    attempts = item.attempts + 1
    common: dict[str, Any] = {
        "attempts": attempts,
        "last_http_status": result.http_status,
        "last_detail": result.detail[:_DETAIL_CHARS],
    }
    if result.status == CONFIRMED:
        return replace(
            item, status=OutboxStatus.CONFIRMED, next_at=None, confirmed_at=now, **common
        )
    if result.status == TERMINAL or attempts >= max_attempts:
        if result.status != TERMINAL:
            common["last_detail"] = f"gave up after {attempts} attempts: {result.detail}"[
                :_DETAIL_CHARS
            ]
        return replace(item, status=OutboxStatus.DEAD, next_at=None, **common)
    due = next_attempt_at(attempts, now, rng, base, cap, retry_after=result.retry_after)
    return replace(item, status=OutboxStatus.RETRYING, next_at=due, **common)


def replayed(item: OutboxItem, now: datetime) -> OutboxItem:
    """A ``dead`` item sent again: ``pending``, due at ``now``, with a fresh count of attempts
    (the earlier ones stay in the audit trail). ``last_detail`` is kept until the next attempt
    so an operator still sees why it died."""
    if item.status is not OutboxStatus.DEAD:
        raise InvalidInputError(
            f"writeback {item.id} is {item.status.value}; only a dead item is replayed"
        )
    return replace(item, status=OutboxStatus.PENDING, attempts=0, next_at=now)


# -- the resolution waiting on a writeback ---------------------------------------------------

RESOLUTION_AMOUNTS = ("recovered_amount", "written_off_amount", "lost_amount", "handling_cost")
"""Case figures a resolution may set (as decimal strings; they replace the case's values)."""
_ON_CONFIRM_KEYS = frozenset({"resolution", "reason", "data", *RESOLUTION_AMOUNTS})


def on_confirm_of(
    resolution: str,
    reason: str,
    *,
    recovered_amount: Decimal | None = None,
    written_off_amount: Decimal | None = None,
    lost_amount: Decimal | None = None,
    handling_cost: Decimal | None = None,
    data: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON-ready resolution to apply when a writeback is confirmed: a resolution code of
    the lifecycle, the reason for the audit record, the case figures it sets, and free
    ``data`` for the caller (kept, not interpreted)."""
    out: dict[str, Any] = {"resolution": resolution, "reason": reason}
    amounts = {
        "recovered_amount": recovered_amount,
        "written_off_amount": written_off_amount,
        "lost_amount": lost_amount,
        "handling_cost": handling_cost,
    }
    out.update({name: str(value) for name, value in amounts.items() if value is not None})
    if data:
        out["data"] = dict(data)
    check_on_confirm(out)
    return out


def check_on_confirm(on_confirm: Mapping[str, Any]) -> None:
    """Refuse a resolution that could not be applied later, when it is written (not when the
    remote confirms, hours later, with nobody watching)."""
    unknown = sorted(set(on_confirm) - _ON_CONFIRM_KEYS)
    if unknown:
        allowed = ", ".join(sorted(_ON_CONFIRM_KEYS))
        raise InvalidInputError(f"on_confirm: unknown key {unknown[0]!r}; keys are {allowed}")
    resolution = on_confirm.get("resolution")
    if resolution not in RESOLUTION_CODES:
        codes = ", ".join(sorted(RESOLUTION_CODES))
        raise InvalidInputError(f"on_confirm: resolution {resolution!r} is not one of {codes}")
    reason = on_confirm.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInputError("on_confirm: a reason is required (it goes on the audit record)")
    for name in RESOLUTION_AMOUNTS:
        if name in on_confirm and on_confirm[name] is not None:
            _amount(on_confirm, name)


def _amount(on_confirm: Mapping[str, Any], name: str) -> Decimal:
    value = on_confirm[name]
    try:
        amount = Decimal(str(value)) if not isinstance(value, float | bool) else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise InvalidInputError(f"on_confirm: {name} {value!r} is not a decimal amount")
    return amount


def apply_on_confirm(
    case: Case, on_confirm: Mapping[str, Any], now: datetime, actor: str
) -> CasePlan:
    """Resolve ``case`` as ``on_confirm`` says: the lifecycle's ``resolved`` transition with
    its resolution code, then the figures it sets, and ``pending_resolution`` cleared. Raises
    the lifecycle's ``ConflictError`` (a case already resolved or closed) or
    ``InvalidInputError`` before changing anything."""
    check_on_confirm(on_confirm)
    amounts = {
        name: _amount(on_confirm, name)
        for name in RESOLUTION_AMOUNTS
        if on_confirm.get(name) is not None
    }
    plan = transition(
        case, CaseStatus.RESOLVED, reason=str(on_confirm["reason"]), actor=actor, now=now,
        resolution=str(on_confirm["resolution"]),
    )  # fmt: skip
    for name, amount in amounts.items():
        setattr(case, name, amount)
    case.pending_resolution = None
    # The audit record's "after" is taken inside transition(); include the figures set here.
    for entry in plan.audit:
        if entry.subject_type == "case" and entry.subject_id == case.id:
            entry.data["after"] = case.snapshot()
    return plan


# -- the store port ----------------------------------------------------------------------------


class OutboxStore(Protocol):
    """Outbox and journal persistence; every method is part of the caller's transaction."""

    def add_outbox(self, items: Sequence[OutboxItem]) -> set[str]:
        """Insert items whose idempotency key is not stored yet; an item with a stored key is
        left as it is (whatever its status). Returns the ids inserted."""
        ...

    def claim_due_outbox(
        self, now: datetime, limit: int, lease_until: datetime
    ) -> list[OutboxItem]:
        """Up to ``limit`` pending or retrying items due at ``now``, oldest due first, with
        their ``next_at`` moved to ``lease_until`` so no other runner takes them while they are
        being sent (on PostgreSQL the rows are locked and skipped by others until commit).
        The items are returned as they were before the lease."""
        ...

    def outbox_items(self, ids: Sequence[str]) -> list[OutboxItem]:
        """Items by full id or a unique prefix of its hex digits, in the order given. Raises
        ``NotFoundError`` or ``ConflictError`` (a prefix matching several) naming the id."""
        ...

    def lock_outbox_item(self, item_id: str) -> OutboxItem | None:
        """The item by full id, locked to this transaction where the store can."""
        ...

    def update_outbox(self, item: OutboxItem) -> None:
        """Store the item's status, attempts, next_at, confirmed_at and last result."""
        ...

    def list_outbox(self, status: OutboxStatus | None, limit: int) -> list[OutboxItem]:
        """Items, oldest first; of one status when given."""
        ...

    def outbox_counts(self) -> dict[str, int]:
        """Status -> number of items (statuses with none left out)."""
        ...

    def outbox_of_case(self, case_id: str) -> list[OutboxItem]:
        """Every item of one case, oldest first."""
        ...

    def oldest_due_outbox(self) -> OutboxItem | None:
        """The pending or retrying item created first."""
        ...

    def add_journal_entries(self, entries: Sequence[JournalEntry]) -> set[str]:
        """Insert entries whose id is not stored yet; returns the ids inserted."""
        ...

    def journal_entries(
        self,
        *,
        case_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[JournalEntry]:
        """Entries of one case or of all, with ``since <= at < until`` where given; in order
        of time, then id."""
        ...


__all__ = [
    "MAX_KEY_CHARS",
    "RESOLUTION_AMOUNTS",
    "OutboxItem",
    "OutboxStatus",
    "OutboxStore",
    "after_attempt",
    "apply_on_confirm",
    "check_on_confirm",
    "idempotency_key",
    "new_item",
    "on_confirm_of",
    "outbox_id",
    "replayed",
]
