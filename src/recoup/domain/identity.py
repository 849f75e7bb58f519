"""Who may do what: roles, permissions, the principal behind a request, and four-eyes.

A principal is a person logged in to the pages (``kind="user"``) or a machine holding an API key
(``kind="key"``). Roles grant permissions; the API and the pages check a permission, never a role
name, so the matrix below is the one place that says who may do what.

Four-eyes: a sensitive action (a write-off above the threshold, a provisional credit, a force-match)
is first *requested*, then *approved* by a different principal holding ``approve``. The requester
can never approve their own request, whatever roles they hold.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import TracebackType
from typing import Protocol, Self

from recoup.domain.errors import InvalidInputError, Location, PermissionDeniedError
from recoup.domain.ports import AuditStore


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
    owner: str | None = None
    """For a key, the actor that made it: four-eyes counts a key and its maker as one party."""

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


KeyOwner = Callable[[str], str | None]
"""The actor that made the key named so, or None (no such key)."""

_MAX_KEY_CHAIN = 8  # keys made by keys made by ...: far more than anyone builds


def owner_actor(created_by: str) -> str:
    """The actor a key's ``created_by`` names, in the form the audit trail gives a request's
    actor: the command line records ``user:ana`` where the API records ``ana``."""
    return created_by.removeprefix("user:")


def parties(actor: str, key_owner: KeyOwner) -> set[str]:
    """``actor`` and, when it is a key, whoever made it (and so on up a chain of keys made by
    keys): the people and keys four-eyes counts as one party."""
    found = {actor}
    current: str | None = actor
    for _ in range(_MAX_KEY_CHAIN):
        if current is None or not current.startswith("key:"):
            break
        current = key_owner(current.removeprefix("key:"))
        if current is not None:
            found.add(current)
    return found


def check_four_eyes(
    requester: str, approver: Principal, key_owner: KeyOwner = lambda _name: None
) -> None:
    """Refuse an approval by the requester or by someone without ``approve``. A key and the
    actor that made it are one party: a person cannot approve through their own key what they
    asked for, nor approve what their key asked for."""
    approver.require(Permission.APPROVE)
    if approver.actor == requester:
        raise PermissionDeniedError("four-eyes: the requester of an action cannot approve it")
    theirs = parties(approver.actor, key_owner)
    if approver.owner is not None:
        theirs |= parties(approver.owner, key_owner)
    if theirs & parties(requester, key_owner):
        raise PermissionDeniedError(
            f"four-eyes: {requester} and {approver.actor} are one party (a key and the actor "
            "that made it); the requester of an action cannot approve it"
        )


# -- names, credentials and the store behind them ------------------------------------------------

_NAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")


def normalise_name(name: str, *, field: str = "name") -> str:
    """A user or key name as stored: trimmed, lower case, letters, digits and ``. _ @ -``
    (an e-mail address is a fine name). Names are what the audit trail records."""
    value = name.strip().lower()
    if not _NAME.match(value):
        raise InvalidInputError(
            f"{name!r} is not a valid name: 1 to 64 of a-z, 0-9 and . _ @ -, starting with a "
            "letter or digit",
            location=Location(field=field),
        )
    return value


def roles_of(values: Iterable[str | Role], *, field: str = "roles") -> frozenset[Role]:
    """Roles from names, refusing an empty set (a principal without roles could do nothing and
    is almost always a mistake) and unknown names, naming the field."""
    try:
        roles = parse_roles(str(v) for v in values)
    except PermissionDeniedError as exc:
        raise InvalidInputError(exc.message, location=Location(field=field)) from None
    if not roles:
        known = ", ".join(r.value for r in Role)
        raise InvalidInputError(f"give at least one role ({known})", location=Location(field=field))
    return roles


def role_names(roles: Iterable[Role]) -> list[str]:
    return sorted(r.value for r in roles)


KEY_PREFIX = "rk"


def key_token(key_id: str, secret: str) -> str:
    """What an API key's holder presents: ``rk_<id>_<secret>``."""
    return f"{KEY_PREFIX}_{key_id}_{secret}"


def split_key_token(token: str) -> tuple[str, str] | None:
    """``(id, secret)`` of an ``rk_<id>_<secret>`` token; None when it does not have that
    shape (the secret may itself contain ``_``; the id never does)."""
    prefix, _, rest = token.strip().partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != KEY_PREFIX or not key_id or not secret:
        return None
    return key_id, secret


class IdentityRules(Protocol):
    """The settings logins follow (``RECOUP_WEB__*``; ``WebSettings`` has them)."""

    @property
    def session_hours(self) -> float: ...

    @property
    def login_attempts(self) -> int: ...

    @property
    def login_lockout_minutes(self) -> float: ...

    @property
    def password_min_length(self) -> int: ...


class Credentials(Protocol):
    """Password hashing and random secrets (``adapters/passwords.py``): the services never pick
    an algorithm or a source of randomness themselves."""

    def hash_password(self, password: str) -> str: ...

    def verify_password(self, stored: str, password: str) -> bool:
        """True when ``password`` matches ``stored``; False (never an error) otherwise."""
        ...

    def needs_rehash(self, stored: str) -> bool:
        """True when ``stored`` was made with weaker parameters than the current ones."""
        ...

    def new_secret(self) -> str:
        """A fresh URL-safe secret with at least 256 bits of entropy."""
        ...

    def new_key_id(self) -> str:
        """A short public identifier for an API key (hex, no ``_``)."""
        ...

    def digest(self, secret: str) -> str:
        """The stored form of a high-entropy secret (a session token, an API key's secret)."""
        ...


@dataclass(frozen=True, slots=True)
class User:
    id: str
    name: str
    roles: frozenset[Role]
    is_active: bool
    created_at: datetime
    updated_at: datetime
    password_hash: str = field(default="", repr=False)

    def principal(self) -> Principal:
        return Principal(self.name, self.roles, "user")


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    """The public part of the token ``rk_<id>_<secret>``."""
    name: str
    roles: frozenset[Role]
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    secret_hash: str = field(default="", repr=False)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def principal(self) -> Principal:
        return Principal(self.name, self.roles, "key", owner=owner_actor(self.created_by))


@dataclass(frozen=True, slots=True)
class Session:
    """A login. Stored under the digest of its token; the token itself is only in the cookie."""

    id: str
    user_id: str
    csrf_token: str
    created_at: datetime
    expires_at: datetime
    address: str
    revoked_at: datetime | None = None

    def is_live(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


class IdentityStore(Protocol):
    """Users, keys, sessions and login attempts; every method is part of the caller's
    transaction."""

    def add_user(self, user: User) -> bool:
        """Insert; False (nothing written) when the name is taken."""
        ...

    def user_by_name(self, name: str) -> User | None: ...

    def user_by_id(self, user_id: str) -> User | None: ...

    def list_users(self) -> list[User]: ...

    def update_user(self, user_id: str, at: datetime, *, roles: frozenset[Role] | None = None,
                    is_active: bool | None = None,
                    password_hash: str | None = None) -> None: ...  # fmt: skip

    def count_active_admins(self) -> int: ...

    def add_key(self, key: ApiKey) -> bool:
        """Insert; False (nothing written) when the name is taken."""
        ...

    def key_by_id(self, key_id: str) -> ApiKey | None: ...

    def list_keys(self) -> list[ApiKey]: ...

    def revoke_key(self, key_id: str, at: datetime, by: str) -> bool:
        """Revoke an active key; False when it was revoked before."""
        ...

    def add_session(self, session: Session) -> None: ...

    def session_by_id(self, session_id: str) -> Session | None: ...

    def revoke_session(self, session_id: str, at: datetime) -> bool: ...

    def revoke_user_sessions(self, user_id: str, at: datetime) -> int: ...

    def add_login_attempt(self, name: str, address: str, at: datetime, succeeded: bool) -> None: ...

    def failed_logins(self, *, name: str | None, address: str | None, since: datetime) -> int:
        """Failed attempts for this name (or this address) after ``since`` and after the latest
        successful one for the same name (or address)."""
        ...


class IdentityUnitOfWork(IdentityStore, AuditStore, Protocol):
    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...
