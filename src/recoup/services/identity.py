"""Users, API keys and logins: who may use Recoup, and how a request proves who it is.

- People log in with a name and a password (argon2id, see ``adapters/passwords.py``) and get a
  session: a random token for the cookie and a CSRF token for the pages' forms. The session is
  stored under the digest of its token and ends ``RECOUP_WEB__SESSION_HOURS`` after the login,
  at logout, or when the user is disabled or their password or roles change.
- Machines present an API key ``rk_<id>_<secret>``, shown once when it is made and stored only
  as the digest of its secret.
- Logins are rate limited in the database, so the limit holds across API processes: after
  ``RECOUP_WEB__LOGIN_ATTEMPTS`` failures for a name, or from an address, within
  ``RECOUP_WEB__LOGIN_LOCKOUT_MINUTES`` (and since the last success), further logins are refused
  without checking the password until the window has passed.

Every change is audited (``user.*``, ``key.*``, ``session.*``); no password, token or secret
ever reaches the audit trail.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from recoup.domain.audit import AuditEntry
from recoup.domain.errors import (
    ConflictError,
    InvalidInputError,
    Location,
    NotFoundError,
    PermissionDeniedError,
)
from recoup.domain.identity import (
    ApiKey,
    Credentials,
    IdentityRules,
    IdentityUnitOfWork,
    Principal,
    Role,
    Session,
    User,
    key_token,
    normalise_name,
    role_names,
    roles_of,
    split_key_token,
)
from recoup.domain.ids import derived_id
from recoup.domain.ports import Clock

IdentityUow = Callable[[], IdentityUnitOfWork]

WRONG_LOGIN = "wrong name or password"
"""The one message for an unknown name, a wrong password and a disabled user: a login form must
not tell a stranger which names exist."""


@dataclass(frozen=True, slots=True)
class SessionGrant:
    """What a successful login hands back: ``token`` goes in the ``recoup_session`` cookie and
    nowhere else; ``csrf_token`` goes in every form and unsafe request of that session."""

    token: str
    csrf_token: str
    expires_at: datetime
    principal: Principal


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A live session as an authenticated request sees it."""

    principal: Principal
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key just made: ``token`` is shown once and cannot be recovered later."""

    key: ApiKey
    token: str


# -- users -----------------------------------------------------------------------------------------


def _check_password(password: str, settings: IdentityRules) -> None:
    if len(password) < settings.password_min_length:
        raise InvalidInputError(
            f"the password is too short: use {settings.password_min_length} characters or more",
            location=Location(field="password"),
        )
    if len(password) > 1024:
        raise InvalidInputError("the password is too long (1024 characters at most)",
                                location=Location(field="password"))  # fmt: skip


def create_user(
    name: str,
    password: str,
    roles: Iterable[str | Role],
    *,
    actor: str,
    uow: IdentityUow,
    clock: Clock,
    credentials: Credentials,
    settings: IdentityRules,
) -> User:
    """Add a user. A name is taken once (ConflictError), even by a disabled user."""
    name = normalise_name(name)
    granted = roles_of(roles)
    _check_password(password, settings)
    now = clock.now()
    user = User(
        id=derived_id("user", name), name=name, roles=granted, is_active=True, created_at=now,
        updated_at=now, password_hash=credentials.hash_password(password),
    )  # fmt: skip
    with uow() as tx:
        if not tx.add_user(user):
            raise ConflictError(f"a user named {name!r} exists")
        tx.append_audit([AuditEntry(now, actor, "user.created", "user", user.id,
                                    {"name": name, "roles": role_names(granted)})])  # fmt: skip
        tx.commit()
    return user


def _user(tx: IdentityUnitOfWork, name: str) -> User:
    user = tx.user_by_name(normalise_name(name))
    if user is None:
        raise NotFoundError(f"no user named {name!r}")
    return user


def _keep_an_admin(tx: IdentityUnitOfWork, user: User, *, still_admin: bool) -> None:
    """Refuse to take away the last active admin: nobody could manage users after that."""
    losing = user.is_active and Role.ADMIN in user.roles and not still_admin
    if losing and tx.count_active_admins() <= 1:
        raise ConflictError(f"{user.name} is the last active admin; add another admin first")


def set_roles(
    name: str, roles: Iterable[str | Role], *, actor: str, uow: IdentityUow, clock: Clock
) -> User:
    """Replace a user's roles. Their sessions end, so the new roles apply at once."""
    granted = roles_of(roles)
    now = clock.now()
    with uow() as tx:
        user = _user(tx, name)
        if granted == user.roles:
            return user
        _keep_an_admin(tx, user, still_admin=Role.ADMIN in granted)
        tx.update_user(user.id, now, roles=granted)
        ended = tx.revoke_user_sessions(user.id, now)
        tx.append_audit([AuditEntry(now, actor, "user.roles_changed", "user", user.id,
                                    {"name": user.name, "before": role_names(user.roles),
                                     "after": role_names(granted),
                                     "sessions_ended": ended})])  # fmt: skip
        tx.commit()
    return replace(user, roles=granted, updated_at=now)


def disable_user(name: str, *, actor: str, uow: IdentityUow, clock: Clock) -> User:
    """Stop a user from logging in and end their sessions; the user and their audit trail stay.
    Disabling a disabled user changes nothing."""
    now = clock.now()
    with uow() as tx:
        user = _user(tx, name)
        if not user.is_active:
            return user
        _keep_an_admin(tx, user, still_admin=False)
        tx.update_user(user.id, now, is_active=False)
        ended = tx.revoke_user_sessions(user.id, now)
        tx.append_audit([AuditEntry(now, actor, "user.disabled", "user", user.id,
                                    {"name": user.name, "sessions_ended": ended})])  # fmt: skip
        tx.commit()
    return replace(user, is_active=False, updated_at=now)


def enable_user(name: str, *, actor: str, uow: IdentityUow, clock: Clock) -> User:
    now = clock.now()
    with uow() as tx:
        user = _user(tx, name)
        if user.is_active:
            return user
        tx.update_user(user.id, now, is_active=True)
        tx.append_audit([AuditEntry(now, actor, "user.enabled", "user", user.id,
                                    {"name": user.name})])  # fmt: skip
        tx.commit()
    return replace(user, is_active=True, updated_at=now)


def set_password(
    name: str,
    password: str,
    *,
    actor: str,
    uow: IdentityUow,
    clock: Clock,
    credentials: Credentials,
    settings: IdentityRules,
) -> User:
    """Set a new password; the user's sessions end (a stolen session does not survive it)."""
    _check_password(password, settings)
    hashed = credentials.hash_password(password)
    now = clock.now()
    with uow() as tx:
        user = _user(tx, name)
        tx.update_user(user.id, now, password_hash=hashed)
        ended = tx.revoke_user_sessions(user.id, now)
        tx.append_audit([AuditEntry(now, actor, "user.password_changed", "user", user.id,
                                    {"name": user.name, "sessions_ended": ended})])  # fmt: skip
        tx.commit()
    return replace(user, updated_at=now, password_hash=hashed)


def get_user(name: str, *, reader: IdentityUow) -> User:
    with reader() as tx:
        return replace(_user(tx, name), password_hash="")


def list_users(*, reader: IdentityUow) -> list[User]:
    with reader() as tx:
        return [replace(u, password_hash="") for u in tx.list_users()]


# -- API keys --------------------------------------------------------------------------------------


def create_key(
    name: str,
    roles: Iterable[str | Role],
    *,
    actor: str,
    uow: IdentityUow,
    clock: Clock,
    credentials: Credentials,
) -> NewKey:
    """Make an API key; the returned token is the only copy of its secret. A name is used once
    (revoked keys keep theirs), so ``key:<name>`` in the audit trail always means one key."""
    name = normalise_name(name)
    granted = roles_of(roles)
    now = clock.now()
    secret = credentials.new_secret()
    key = ApiKey(id=credentials.new_key_id(), name=name, roles=granted, created_at=now,
                 created_by=actor, secret_hash=credentials.digest(secret))  # fmt: skip
    with uow() as tx:
        if not tx.add_key(key):
            raise ConflictError(f"a key named {name!r} exists (revoked keys keep their name)")
        tx.append_audit([AuditEntry(now, actor, "key.created", "api_key", key.id,
                                    {"name": name, "roles": role_names(granted)})])  # fmt: skip
        tx.commit()
    return NewKey(replace(key, secret_hash=""), key_token(key.id, secret))


def revoke_key(key_id: str, *, actor: str, uow: IdentityUow, clock: Clock) -> ApiKey:
    """Revoke a key (by id or name): it stops working at once. Revoking twice changes nothing."""
    now = clock.now()
    with uow() as tx:
        key = tx.key_by_id(key_id.strip())
        if key is None:
            key = next((k for k in tx.list_keys() if k.name == key_id.strip().lower()), None)
        if key is None:
            raise NotFoundError(f"no API key {key_id!r}")
        if not key.is_active:
            return replace(key, secret_hash="")
        tx.revoke_key(key.id, now, actor)
        tx.append_audit([AuditEntry(now, actor, "key.revoked", "api_key", key.id,
                                    {"name": key.name})])  # fmt: skip
        tx.commit()
    return replace(key, revoked_at=now, revoked_by=actor, secret_hash="")


def list_keys(*, reader: IdentityUow) -> list[ApiKey]:
    with reader() as tx:
        return [replace(k, secret_hash="") for k in tx.list_keys()]


def principal_for_key(
    token: str, *, reader: IdentityUow, credentials: Credentials
) -> Principal | None:
    """The key's principal, or None for an unknown, malformed or revoked key."""
    parts = split_key_token(token)
    if parts is None:
        return None
    key_id, secret = parts
    with reader() as tx:
        key = tx.key_by_id(key_id)
    if key is None or not key.is_active:
        return None
    if not hmac.compare_digest(key.secret_hash, credentials.digest(secret)):
        return None
    return key.principal()


# -- logins and sessions ---------------------------------------------------------------------------


def _refused_message(settings: IdentityRules) -> str:
    minutes = f"{settings.login_lockout_minutes:g}"
    return (f"too many failed logins for this name or from this address; try again in "
            f"{minutes} minutes")  # fmt: skip


def login(
    name: str,
    password: str,
    address: str,
    *,
    uow: IdentityUow,
    clock: Clock,
    credentials: Credentials,
    settings: IdentityRules,
) -> SessionGrant:
    """Check a name and password and open a session.

    Raises ``PermissionDeniedError`` with :data:`WRONG_LOGIN` for a wrong name or password or a
    disabled user (the attempt is counted), and with a lockout message, without checking the
    password, once the name or the address has too many recent failures."""
    now = clock.now()
    address = (address or "unknown")[:64]
    raw_name = name.strip().lower()[:64]
    since = now - timedelta(minutes=settings.login_lockout_minutes)
    with uow() as tx:
        for_name = tx.failed_logins(name=raw_name, address=None, since=since)
        for_address = tx.failed_logins(name=None, address=address, since=since)
        if max(for_name, for_address) >= settings.login_attempts:
            raise PermissionDeniedError(_refused_message(settings))
        user = tx.user_by_name(raw_name)
    # Verify outside the transaction: argon2 takes a while, and holds no lock meanwhile. An
    # unknown name is checked against a throwaway hash so it takes as long as a known one.
    stored = user.password_hash if user is not None else _dummy_hash(credentials)
    matches = credentials.verify_password(stored, password)
    ok = matches and user is not None and user.is_active
    with uow() as tx:
        tx.add_login_attempt(raw_name, address, now, ok)
        if not ok or user is None:
            why = "unknown name" if user is None else ("disabled" if matches else "wrong password")
            tx.append_audit([AuditEntry(now, f"login:{raw_name}", "session.login_failed",
                                        "user", user.id if user else derived_id("user", raw_name),
                                        {"name": raw_name, "address": address,
                                         "why": why})])  # fmt: skip
            tx.commit()
            raise PermissionDeniedError(WRONG_LOGIN)
        token, csrf = credentials.new_secret(), credentials.new_secret()
        expires_at = now + timedelta(hours=settings.session_hours)
        session = Session(id=credentials.digest(token), user_id=user.id, csrf_token=csrf,
                          created_at=now, expires_at=expires_at, address=address)  # fmt: skip
        tx.add_session(session)
        if credentials.needs_rehash(user.password_hash):
            tx.update_user(user.id, now, password_hash=credentials.hash_password(password))
        tx.append_audit([AuditEntry(now, user.name, "session.login", "user", user.id,
                                    {"name": user.name, "address": address,
                                     "expires_at": expires_at.isoformat()})])  # fmt: skip
        tx.commit()
    return SessionGrant(token, csrf, expires_at, user.principal())


_DUMMY: dict[int, str] = {}


def _dummy_hash(credentials: Credentials) -> str:
    key = id(credentials)
    if key not in _DUMMY:
        _DUMMY[key] = credentials.hash_password("not a real password: timing only")
    return _DUMMY[key]


def logout(token: str, *, uow: IdentityUow, clock: Clock, credentials: Credentials) -> bool:
    """End the session of ``token``; False when there was no live session."""
    now = clock.now()
    with uow() as tx:
        session = tx.session_by_id(credentials.digest(token))
        if session is None or not session.is_live(now):
            return False
        tx.revoke_session(session.id, now)
        user = tx.user_by_id(session.user_id)
        actor = user.name if user else "unknown"
        tx.append_audit([AuditEntry(now, actor, "session.logout", "user", session.user_id,
                                    {"name": actor})])  # fmt: skip
        tx.commit()
    return True


def session_for(
    token: str, *, reader: IdentityUow, clock: Clock, credentials: Credentials
) -> SessionInfo | None:
    """The live session of ``token`` with its user's current roles, or None when the token is
    unknown, expired, logged out, or its user is disabled."""
    if not token:
        return None
    now = clock.now()
    with reader() as tx:
        session = tx.session_by_id(credentials.digest(token))
        if session is None or not session.is_live(now):
            return None
        user = tx.user_by_id(session.user_id)
    if user is None or not user.is_active:
        return None
    return SessionInfo(user.principal(), session.csrf_token, session.expires_at)


def principal_for_session(
    token: str, *, reader: IdentityUow, clock: Clock, credentials: Credentials
) -> Principal | None:
    info = session_for(token, reader=reader, clock=clock, credentials=credentials)
    return None if info is None else info.principal


def user_json(user: User) -> dict[str, Any]:
    return {"id": user.id, "name": user.name, "roles": role_names(user.roles),
            "is_active": user.is_active, "created_at": user.created_at.isoformat(),
            "updated_at": user.updated_at.isoformat()}  # fmt: skip


def key_json(key: ApiKey) -> dict[str, Any]:
    return {"id": key.id, "name": key.name, "roles": role_names(key.roles),
            "created_at": key.created_at.isoformat(), "created_by": key.created_by,
            "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
            "revoked_by": key.revoked_by}  # fmt: skip
