"""Users, logins, lockouts, sessions and API keys on SQLite and PostgreSQL: passwords are stored
as argon2id hashes, keys and sessions as digests; a lockout is counted in the database; a
session ends on expiry, logout, password or role change and when its user is disabled; nothing
secret reaches the audit trail, and every change is in it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from recoup.adapters.clock import FixedClock
from recoup.adapters.passwords import fast_credentials
from recoup.adapters.store import tables as t
from recoup.adapters.store import tables_identity as ti
from recoup.bootstrap import App, bootstrap
from recoup.domain.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from recoup.domain.identity import Principal, Role
from recoup.services import identity
from recoup.services.audit import verify_audit
from recoup.settings import DatabaseSettings, Settings, WebSettings

CREDS = fast_credentials()
WEB = WebSettings(login_attempts=3, login_lockout_minutes=10, session_hours=8)
PASSWORD = "correct horse battery"


def add(app: App, name: str = "ana", *roles: str, password: str = PASSWORD) -> Any:
    return identity.create_user(name, password, roles or ("operator",), actor="cli",
                                uow=app.uow, clock=app.clock, credentials=CREDS,
                                settings=WEB)  # fmt: skip


def login(app: App, name: str = "ana", password: str = PASSWORD,
          address: str = "10.0.0.1") -> identity.SessionGrant:  # fmt: skip
    return identity.login(name, password, address, uow=app.uow, clock=app.clock,
                          credentials=CREDS, settings=WEB)  # fmt: skip


def who(app: App, token: str, clock: FixedClock | None = None) -> Principal | None:
    return identity.principal_for_session(token, reader=app.reader, clock=clock or app.clock,
                                          credentials=CREDS)  # fmt: skip


def audit(app: App) -> list[tuple[str, str, str]]:
    with app.engine.connect() as conn:
        a = t.audit_log.c
        rows = conn.execute(sa.select(a.actor, a.action, a.data).order_by(a.seq)).all()
    return [(r.actor, r.action, r.data) for r in rows]


def secrets_in_audit(app: App, *secrets: str) -> list[str]:
    text = " ".join(data for _, _, data in audit(app))
    return [s for s in secrets if s in text]


def test_a_user_is_stored_with_an_argon2_hash_and_logs_in(app: App) -> None:
    user = add(app, "Ana@Example.org", "operator", "viewer")

    assert user.name == "ana@example.org"
    with app.engine.connect() as conn:
        stored = conn.execute(sa.select(ti.users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    grant = login(app, "ANA@example.org")
    assert grant.expires_at == app.clock.now() + timedelta(hours=8)
    assert grant.principal == Principal("ana@example.org",
                                        frozenset({Role.OPERATOR, Role.VIEWER}))  # fmt: skip
    assert who(app, grant.token) == grant.principal
    with app.engine.connect() as conn:
        session_id = conn.execute(sa.select(ti.sessions.c.id)).scalar_one()
    assert session_id == CREDS.digest(grant.token) != grant.token
    assert [action for _, action, _ in audit(app)] == ["user.created", "session.login"]
    assert secrets_in_audit(app, PASSWORD, grant.token, grant.csrf_token, stored) == []
    assert verify_audit(reader=app.reader).is_intact


def test_bad_users_and_passwords_are_refused_naming_the_field(app: App) -> None:
    add(app)
    with pytest.raises(ConflictError, match="a user named 'ana' exists"):
        add(app, "ANA")
    with pytest.raises(InvalidInputError, match="too short") as short:
        add(app, "bob", password="short")
    assert short.value.location.field == "password"
    with pytest.raises(InvalidInputError, match="unknown role 'boss'") as role:
        add(app, "bob", "boss")
    assert role.value.location.field == "roles"
    with pytest.raises(InvalidInputError) as name:
        add(app, "bob smith")
    assert name.value.location.field == "name"
    assert [u.name for u in identity.list_users(reader=app.reader)] == ["ana"]


def test_a_wrong_password_an_unknown_name_and_a_disabled_user_read_the_same(app: App) -> None:
    add(app)
    add(app, "root", "admin")
    for name, password in (("ana", "wrong password!!"), ("nobody", PASSWORD)):
        with pytest.raises(PermissionDeniedError, match=r"^wrong name or password$"):
            login(app, name, password)
    identity.disable_user("ana", actor="root", uow=app.uow, clock=app.clock)
    with pytest.raises(PermissionDeniedError, match=r"^wrong name or password$"):
        login(app, "ana", address="10.0.0.2")
    failed = [(actor, data) for actor, action, data in audit(app)
              if action == "session.login_failed"]  # fmt: skip
    assert [actor for actor, _ in failed] == ["login:ana", "login:nobody", "login:ana"]
    assert ['"wrong password"' in d for _, d in failed] == [True, False, False]
    assert secrets_in_audit(app, PASSWORD, "wrong password!!") == []


def test_failures_per_name_lock_it_out_until_the_window_passes(app: App, clock: FixedClock) -> None:
    add(app)
    for n in range(3):
        with pytest.raises(PermissionDeniedError, match="wrong name or password"):
            login(app, password=f"guess number {n}", address=f"10.0.1.{n}")
    with pytest.raises(PermissionDeniedError, match=r"too many failed logins.*10 minutes"):
        login(app, address="10.9.9.9")  # even the right password, from a fresh address
    with app.engine.connect() as conn:
        attempts = conn.execute(sa.select(sa.func.count()).select_from(ti.login_attempts))
        assert attempts.scalar_one() == 3  # a refused attempt is not checked nor counted
    clock.advance(timedelta(minutes=10, seconds=1))
    assert login(app).principal.name == "ana"


def test_failures_from_one_address_lock_it_out_for_every_name(app: App, clock: FixedClock) -> None:
    add(app)
    for name in ("x1", "x2", "x3"):
        with pytest.raises(PermissionDeniedError, match="wrong name or password"):
            login(app, name, address="203.0.113.7")
    with pytest.raises(PermissionDeniedError, match="too many failed logins"):
        login(app, "ana", address="203.0.113.7")
    assert login(app, "ana", address="198.51.100.1").principal.name == "ana"


def test_a_success_resets_the_count(app: App) -> None:
    add(app)
    for _ in range(2):
        with pytest.raises(PermissionDeniedError):
            login(app, password="not the password")
    login(app)
    for _ in range(2):
        with pytest.raises(PermissionDeniedError, match="wrong name or password"):
            login(app, password="not the password")
    assert login(app).principal.name == "ana"


def test_the_lockout_holds_across_processes(app: App, store_url: str) -> None:
    """A second app on the same database (another API process) sees the same failures."""
    add(app)
    other = bootstrap(Settings(database=DatabaseSettings(url=store_url, auto_upgrade=False)),
                      clock=app.clock)  # fmt: skip
    try:
        for instance in (app, other, app):
            with pytest.raises(PermissionDeniedError, match="wrong name or password"):
                login(instance, password="not the password")
        with pytest.raises(PermissionDeniedError, match="too many failed logins"):
            login(other)
    finally:
        other.close()


def test_a_session_ends_at_its_expiry_and_at_logout(app: App, clock: FixedClock) -> None:
    add(app)
    grant = login(app)
    almost = FixedClock(clock.now() + timedelta(hours=8) - timedelta(seconds=1))
    assert who(app, grant.token, almost) is not None
    assert who(app, grant.token, FixedClock(clock.now() + timedelta(hours=8))) is None

    second = login(app)
    assert identity.logout(second.token, uow=app.uow, clock=app.clock, credentials=CREDS)
    assert who(app, second.token) is None
    assert not identity.logout(second.token, uow=app.uow, clock=app.clock, credentials=CREDS)
    assert who(app, "made-up") is None
    assert who(app, "") is None


def test_role_and_password_changes_and_disabling_end_sessions(app: App) -> None:
    add(app, "root", "admin")
    add(app)
    first = login(app)
    user = identity.set_roles("ana", ["approver"], actor="root", uow=app.uow, clock=app.clock)
    assert user.roles == frozenset({Role.APPROVER})
    assert who(app, first.token) is None
    second = login(app)
    assert who(app, second.token) == Principal("ana", frozenset({Role.APPROVER}))
    identity.set_password("ana", "a brand new password", actor="root", uow=app.uow,
                          clock=app.clock, credentials=CREDS, settings=WEB)  # fmt: skip
    assert who(app, second.token) is None
    with pytest.raises(PermissionDeniedError):
        login(app)
    third = login(app, password="a brand new password")
    identity.disable_user("ana", actor="root", uow=app.uow, clock=app.clock)
    assert who(app, third.token) is None
    actions = [action for _, action, _ in audit(app)]
    assert [a for a in actions if a.startswith("user.") and a != "user.created"] == [
        "user.roles_changed",
        "user.password_changed",
        "user.disabled",
    ]
    assert secrets_in_audit(app, "a brand new password", third.token) == []


def test_the_last_active_admin_cannot_be_removed(app: App) -> None:
    add(app, "root", "admin")
    with pytest.raises(ConflictError, match="last active admin"):
        identity.disable_user("root", actor="root", uow=app.uow, clock=app.clock)
    with pytest.raises(ConflictError, match="last active admin"):
        identity.set_roles("root", ["viewer"], actor="root", uow=app.uow, clock=app.clock)
    add(app, "second", "admin")
    assert not identity.disable_user("root", actor="second", uow=app.uow,
                                     clock=app.clock).is_active  # fmt: skip
    with pytest.raises(NotFoundError):
        identity.disable_user("ghost", actor="second", uow=app.uow, clock=app.clock)


def test_a_key_is_shown_once_stored_as_a_digest_and_revoked(app: App) -> None:
    made = identity.create_key("CI-Runner", ["operator"], actor="root", uow=app.uow,
                               clock=app.clock, credentials=CREDS)  # fmt: skip
    key_id, secret = made.token.removeprefix("rk_").split("_", 1)
    assert key_id == made.key.id
    with app.engine.connect() as conn:
        row = conn.execute(sa.select(ti.api_keys)).one()
    assert row.secret_hash == CREDS.digest(secret)
    assert secret not in str(tuple(row))
    principal = identity.principal_for_key(made.token, reader=app.reader, credentials=CREDS)
    assert principal == Principal("ci-runner", frozenset({Role.OPERATOR}), "key", owner="root")
    assert principal.actor == "key:ci-runner"
    for bad in (made.token + "x", f"rk_{key_id}_", "rk_nope_" + secret, "Bearer", ""):
        assert identity.principal_for_key(bad, reader=app.reader, credentials=CREDS) is None
    with pytest.raises(ConflictError, match="a key named 'ci-runner' exists"):
        identity.create_key("ci-runner", ["viewer"], actor="root", uow=app.uow,
                            clock=app.clock, credentials=CREDS)  # fmt: skip

    revoked = identity.revoke_key(key_id, actor="root", uow=app.uow, clock=app.clock)
    assert revoked.revoked_at == app.clock.now()
    assert identity.principal_for_key(made.token, reader=app.reader, credentials=CREDS) is None
    head = _head(app)
    identity.revoke_key("ci-runner", actor="root", uow=app.uow, clock=app.clock)
    assert _head(app) == head  # revoking twice writes nothing
    assert [(k.name, k.revoked_by) for k in identity.list_keys(reader=app.reader)] == [
        ("ci-runner", "root")
    ]
    assert secrets_in_audit(app, secret, made.token) == []
    assert [a for _, a, _ in audit(app)] == ["key.created", "key.revoked"]


def _head(app: App) -> tuple[int, str]:
    with app.reader() as tx:
        return tx.audit_head()
