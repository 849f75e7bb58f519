"""Who may do what: roles, permissions, the principal behind a request, and four-eyes.

A principal is a person logged in to the pages (``kind="user"``) or a machine holding an API key
(``kind="key"``). Roles grant permissions; the API and the pages check a permission, never a role
name, so the matrix below is the one place that says who may do what.

Four-eyes: a sensitive action (a write-off above the threshold, a provisional credit, a force-match)
is first *requested*, then *approved* by a different principal holding ``approve``. The requester
can never approve their own request, whatever roles they hold.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from recoup.domain.errors import PermissionDeniedError


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    APPROVER = "approver"
    ADMIN = "admin"
    AUDITOR = "auditor"


class Permission(StrEnum):
    READ = "read"
    """See events, findings, cases, queues, policies, reconciliation, ledger, metrics."""
    WORK = "work"
    """Transition, assign, note, attach evidence, bulk actions, request sensitive actions."""
    APPROVE = "approve"
    """Approve (or deny) another principal's sensitive request."""
    ADMIN = "admin"
    """Manage users, keys, webhook subscriptions, quarantine replay, policy validation."""
    AUDIT = "audit"
    """Export the audit trail."""


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ}),
    Role.OPERATOR: frozenset({Permission.READ, Permission.WORK}),
    Role.APPROVER: frozenset({Permission.READ, Permission.WORK, Permission.APPROVE}),
    Role.ADMIN: frozenset({Permission.READ, Permission.WORK, Permission.ADMIN}),
    Role.AUDITOR: frozenset({Permission.READ, Permission.AUDIT}),
}
"""Admin does not imply approve: an approver is named on purpose, so that setting the system up
and releasing money are separate duties."""


class SensitiveAction(StrEnum):
    WRITE_OFF = "write_off"
    """A write-off above ``RECOUP_WEB__WRITE_OFF_APPROVAL_ABOVE`` (in the case's currency)."""
    PROVISIONAL_CREDIT = "provisional_credit"
    FORCE_MATCH = "force_match"


def parse_roles(values: Iterable[str]) -> frozenset[Role]:
    roles = set()
    for value in values:
        try:
            roles.add(Role(value.strip().lower()))
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise PermissionDeniedError(f"unknown role {value!r}; roles are {known}") from None
    return frozenset(roles)


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated actor of a request. ``name`` is what the audit trail records."""

    name: str
    roles: frozenset[Role]
    kind: str = "user"

    @property
    def actor(self) -> str:
        return self.name if self.kind == "user" else f"key:{self.name}"

    @property
    def permissions(self) -> frozenset[Permission]:
        granted: set[Permission] = set()
        for role in self.roles:
            granted |= ROLE_PERMISSIONS[role]
        return frozenset(granted)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise PermissionDeniedError(f"{self.actor} lacks the {permission.value!r} permission")


def check_four_eyes(requester: str, approver: Principal) -> None:
    """Refuse an approval by the requester or by someone without ``approve``."""
    approver.require(Permission.APPROVE)
    if approver.actor == requester:
        raise PermissionDeniedError("four-eyes: the requester of an action cannot approve it")
