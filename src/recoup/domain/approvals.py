"""Four-eyes approvals of sensitive actions: one request, one decision by someone else.

    requested --approve (another principal with ``approve``)--> approved --> the action runs
        |------deny (another principal with ``approve``)----> denied
        '------nobody decided before ``expires_at``---------> expired

An approval is decided once. The store makes that true across processes: a decision is a
conditional update from ``requested`` (``ApprovalStore.decide_approval``), so of two approvers
clicking at once exactly one wins and the action runs once. What the action produced (or why it
failed) is kept on the approval as ``result``.

Which actions need approval: a write-off of more than the threshold (an operator may write off
less on their own), and every provisional credit and force-match.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from types import TracebackType
from typing import Any, Protocol, Self

from recoup.domain.errors import ConflictError, InvalidInputError, Location
from recoup.domain.identity import KeyOwner, Principal, SensitiveAction, check_four_eyes
from recoup.domain.ports import AuditStore


class ApprovalStatus(StrEnum):
    REQUESTED = "requested"
    """Waiting for a second person."""
    APPROVED = "approved"
    """Released by a second person; the action was run (see ``result``)."""
    DENIED = "denied"
    """Refused by a second person; nothing was run."""
    EXPIRED = "expired"
    """Nobody decided in time; nothing was run. Ask again if it is still needed."""


DECIDED = frozenset({ApprovalStatus.APPROVED, ApprovalStatus.DENIED, ApprovalStatus.EXPIRED})


@dataclass(frozen=True, slots=True)
class Approval:
    id: str
    action: SensitiveAction
    target: str
    """What the action is about: a case id, or the match id of a force-match."""
    params: Mapping[str, Any]
    reason: str
    requester: str
    """The requester's actor name (``alice``, ``key:ci``)."""
    status: ApprovalStatus
    requested_at: datetime
    expires_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    executed_at: datetime | None = None
    result: Mapping[str, Any] | None = field(default=None)

    @property
    def open_key(self) -> str:
        """One request at a time per action and target (unique in the store while open)."""
        return f"{self.action.value}|{self.target}"

    def status_at(self, now: datetime) -> ApprovalStatus:
        """The status as it stands at ``now``: an undecided request past its time is expired
        even before anything wrote that down."""
        if self.status is ApprovalStatus.REQUESTED and now >= self.expires_at:
            return ApprovalStatus.EXPIRED
        return self.status

    def as_of(self, now: datetime) -> Approval:
        return replace(self, status=self.status_at(now))


def needs_approval(action: SensitiveAction, amount: Decimal | None, threshold: Decimal) -> bool:
    """True when ``action`` on ``amount`` needs a second person: a write-off above
    ``threshold`` (at or below it an operator may write off alone; an unknown amount needs
    approval), every provisional credit and every force-match."""
    if action is SensitiveAction.WRITE_OFF:
        return amount is None or amount > threshold
    return True


REQUIRED_PARAMS: Mapping[SensitiveAction, tuple[str, ...]] = {
    SensitiveAction.WRITE_OFF: ("amount", "currency"),
    SensitiveAction.PROVISIONAL_CREDIT: ("product_type", "transaction_type"),
    SensitiveAction.FORCE_MATCH: ("left_ids", "right_ids"),
}
"""What each action needs to run, besides its target and the request's reason."""


def check_request(action: SensitiveAction, target: str, params: Mapping[str, Any],
                  reason: str) -> str:  # fmt: skip
    """Refuse a request that could not run, naming the field; returns the trimmed reason."""
    if not target.strip():
        raise InvalidInputError("the action needs a target", location=Location(field="target"))
    for name in REQUIRED_PARAMS[action]:
        value = params.get(name)
        if value is None or (isinstance(value, str | list | tuple) and not value):
            raise InvalidInputError(
                f"{action.value} needs {name}", location=Location(field=f"params.{name}")
            )
    reason = reason.strip()
    if len(reason) < 3:
        raise InvalidInputError(
            "a reason is required (it goes on the audit record)", location=Location(field="reason")
        )
    return reason


def check_decision(
    approval: Approval,
    approver: Principal,
    now: datetime,
    key_owner: KeyOwner = lambda _name: None,
) -> None:
    """Refuse a decision by the requester (or the same party through a key: ``key_owner``)
    or by someone without ``approve`` (four-eyes), and a decision on an approval that is no
    longer waiting."""
    check_four_eyes(approval.requester, approver, key_owner)
    status = approval.status_at(now)
    if status is ApprovalStatus.EXPIRED:
        raise ConflictError(
            f"approval {approval.id} expired at {approval.expires_at.isoformat()}; nothing was "
            "run; request it again if it is still needed"
        )
    if status is not ApprovalStatus.REQUESTED:
        raise ConflictError(
            f"approval {approval.id} was {status.value} by {approval.decided_by} at "
            f"{approval.decided_at.isoformat() if approval.decided_at else '?'}"
        )


class ApprovalRules(Protocol):
    """The settings approvals follow (``RECOUP_WEB__*``; ``WebSettings`` has them)."""

    @property
    def write_off_approval_above(self) -> Decimal: ...

    @property
    def approval_hours(self) -> float: ...


class ApprovalStore(Protocol):
    """Approval rows; every method is part of the caller's transaction."""

    def add_approval(self, approval: Approval) -> bool:
        """Insert; False (nothing written) when a request for the same action and target is
        still open."""
        ...

    def approval_by_id(self, approval_id: str) -> Approval | None: ...

    def open_approval(self, open_key: str) -> Approval | None: ...

    def expire_approvals(self, now: datetime, open_key: str | None = None) -> list[str]:
        """Mark requests past their time as expired; returns their ids."""
        ...

    def decide_approval(self, approval_id: str, status: ApprovalStatus, by: str, at: datetime,
                        note: str | None) -> bool:  # fmt: skip
        """``requested`` -> ``status`` if still requested and not expired at ``at``; False when
        someone else decided first (or it expired)."""
        ...

    def record_approval_result(self, approval_id: str, at: datetime,
                               result: Mapping[str, Any]) -> None: ...  # fmt: skip

    def list_approvals(self, status: ApprovalStatus | None, now: datetime,
                       limit: int) -> Sequence[Approval]: ...  # fmt: skip

    def key_maker(self, name: str) -> str | None:
        """Who made the API key named ``name`` (its ``created_by``), revoked or not; None when
        there is no such key."""
        ...


class ApprovalUnitOfWork(ApprovalStore, AuditStore, Protocol):
    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...
