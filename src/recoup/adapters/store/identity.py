"""Users, API keys, sessions, login attempts and approvals, mixed into the unit of work."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from recoup.adapters.store import tables_identity as ti
from recoup.domain.approvals import Approval, ApprovalStatus
from recoup.domain.identity import ApiKey, Role, SensitiveAction, Session, User, role_names


def _roles(value: Any) -> frozenset[Role]:
    return frozenset(Role(v) for v in value or ())


def _user(row: Any) -> User:
    m = row._mapping
    return User(id=str(m["id"]), name=m["name"], roles=_roles(m["roles"]),
                is_active=bool(m["is_active"]), created_at=m["created_at"],
                updated_at=m["updated_at"], password_hash=m["password_hash"])  # fmt: skip


def _key(row: Any) -> ApiKey:
    m = row._mapping
    return ApiKey(id=m["id"], name=m["name"], roles=_roles(m["roles"]),
                  created_at=m["created_at"], created_by=m["created_by"],
                  revoked_at=m["revoked_at"], revoked_by=m["revoked_by"],
                  secret_hash=m["secret_hash"])  # fmt: skip


def _approval(row: Any) -> Approval:
    m = row._mapping
    return Approval(
        id=str(m["id"]), action=SensitiveAction(m["action"]), target=m["target"],
        params=dict(m["params"] or {}), reason=m["reason"], requester=m["requester"],
        status=ApprovalStatus(m["status"]), requested_at=m["requested_at"],
        expires_at=m["expires_at"], decided_by=m["decided_by"], decided_at=m["decided_at"],
        decision_note=m["decision_note"], executed_at=m["executed_at"],
        result=None if m["result"] is None else dict(m["result"]),
    )  # fmt: skip


class IdentityMixin:
    conn: sa.Connection
    dialect: str

    def _insert_new(self, table: sa.Table, values: Mapping[str, Any], unique: str) -> bool:
        """Insert unless a row holds the same ``unique`` value; True when inserted."""
        insert = (postgresql if self.dialect == "postgresql" else sqlite).insert(table)
        stmt = (
            insert.values(**values)
            .on_conflict_do_nothing(index_elements=[unique])
            .returning(table.c[unique])
        )
        # RETURNING, not rowcount: an INSERT's rowcount is not reliable on every driver.
        return self.conn.execute(stmt).first() is not None

    # -- users ---------------------------------------------------------------------------------

    def add_user(self, user: User) -> bool:
        return self._insert_new(ti.users, {
            "id": user.id, "name": user.name, "password_hash": user.password_hash,
            "roles": role_names(user.roles), "is_active": user.is_active,
            "created_at": user.created_at, "updated_at": user.updated_at,
        }, "name")  # fmt: skip

    def user_by_name(self, name: str) -> User | None:
        row = self.conn.execute(sa.select(ti.users).where(ti.users.c.name == name)).first()
        return None if row is None else _user(row)

    def user_by_id(self, user_id: str) -> User | None:
        row = self.conn.execute(sa.select(ti.users).where(ti.users.c.id == user_id)).first()
        return None if row is None else _user(row)

    def list_users(self) -> list[User]:
        query = sa.select(ti.users).order_by(ti.users.c.name)
        return [_user(row) for row in self.conn.execute(query)]

    def update_user(self, user_id: str, at: datetime, *, roles: frozenset[Role] | None = None,
                    is_active: bool | None = None,
                    password_hash: str | None = None) -> None:  # fmt: skip
        values: dict[str, Any] = {"updated_at": at}
        if roles is not None:
            values["roles"] = role_names(roles)
        if is_active is not None:
            values["is_active"] = is_active
        if password_hash is not None:
            values["password_hash"] = password_hash
        self.conn.execute(ti.users.update().where(ti.users.c.id == user_id).values(values))

    def count_active_admins(self) -> int:
        # Roles are a small JSON list; reading the active users is simpler than a JSON query
        # that differs per database, and there are few users.
        query = sa.select(ti.users.c.roles).where(ti.users.c.is_active.is_(True))
        return sum(1 for roles in self.conn.execute(query).scalars() if Role.ADMIN in _roles(roles))

    # -- keys ----------------------------------------------------------------------------------

    def add_key(self, key: ApiKey) -> bool:
        return self._insert_new(ti.api_keys, {
            "id": key.id, "name": key.name, "secret_hash": key.secret_hash,
            "roles": role_names(key.roles), "created_at": key.created_at,
            "created_by": key.created_by,
        }, "name")  # fmt: skip

    def key_by_id(self, key_id: str) -> ApiKey | None:
        row = self.conn.execute(sa.select(ti.api_keys).where(ti.api_keys.c.id == key_id)).first()
        return None if row is None else _key(row)

    def key_maker(self, name: str) -> str | None:
        k = ti.api_keys.c
        return self.conn.execute(sa.select(k.created_by).where(k.name == name)).scalar_one_or_none()

    def list_keys(self) -> list[ApiKey]:
        query = sa.select(ti.api_keys).order_by(ti.api_keys.c.created_at, ti.api_keys.c.name)
        return [_key(row) for row in self.conn.execute(query)]

    def revoke_key(self, key_id: str, at: datetime, by: str) -> bool:
        k = ti.api_keys.c
        result = self.conn.execute(
            ti.api_keys.update()
            .where(k.id == key_id, k.revoked_at.is_(None))
            .values(revoked_at=at, revoked_by=by)
        )
        return bool(result.rowcount)

    # -- sessions and login attempts -----------------------------------------------------------

    def add_session(self, session: Session) -> None:
        self.conn.execute(ti.sessions.insert().values(
            id=session.id, user_id=session.user_id, csrf_token=session.csrf_token,
            address=session.address, created_at=session.created_at,
            expires_at=session.expires_at,
        ))  # fmt: skip

    def session_by_id(self, session_id: str) -> Session | None:
        row = self.conn.execute(
            sa.select(ti.sessions).where(ti.sessions.c.id == session_id)
        ).first()
        if row is None:
            return None
        m = row._mapping
        return Session(id=m["id"], user_id=str(m["user_id"]), csrf_token=m["csrf_token"],
                       created_at=m["created_at"], expires_at=m["expires_at"],
                       address=m["address"], revoked_at=m["revoked_at"])  # fmt: skip

    def revoke_session(self, session_id: str, at: datetime) -> bool:
        s = ti.sessions.c
        result = self.conn.execute(
            ti.sessions.update().where(s.id == session_id, s.revoked_at.is_(None))
            .values(revoked_at=at)
        )  # fmt: skip
        return bool(result.rowcount)

    def revoke_user_sessions(self, user_id: str, at: datetime) -> int:
        s = ti.sessions.c
        result = self.conn.execute(
            ti.sessions.update()
            .where(s.user_id == user_id, s.revoked_at.is_(None), s.expires_at > at)
            .values(revoked_at=at)
        )
        return int(result.rowcount or 0)

    def add_login_attempt(self, name: str, address: str, at: datetime, succeeded: bool) -> None:
        self.conn.execute(ti.login_attempts.insert().values(
            name=name, address=address, at=at, succeeded=succeeded))  # fmt: skip

    def failed_logins(self, *, name: str | None, address: str | None, since: datetime) -> int:
        a = ti.login_attempts.c
        who = a.name == name if name is not None else a.address == address
        last_ok = self.conn.execute(
            sa.select(sa.func.max(a.at)).where(who, a.succeeded.is_(True), a.at >= since)
        ).scalar_one_or_none()
        after = since if last_ok is None else max(since, last_ok)
        query = sa.select(sa.func.count()).where(who, a.succeeded.is_(False), a.at >= after)
        if last_ok is not None and after == last_ok:
            query = query.where(a.at > last_ok)
        return int(self.conn.execute(query).scalar_one())

    # -- approvals -----------------------------------------------------------------------------

    def add_approval(self, approval: Approval) -> bool:
        return self._insert_new(ti.approvals, {
            "id": approval.id, "action": approval.action.value, "target": approval.target,
            "open_key": approval.open_key, "params": dict(approval.params),
            "reason": approval.reason, "requester": approval.requester,
            "status": approval.status.value, "requested_at": approval.requested_at,
            "expires_at": approval.expires_at,
        }, "open_key")  # fmt: skip

    def approval_by_id(self, approval_id: str) -> Approval | None:
        row = self.conn.execute(
            sa.select(ti.approvals).where(ti.approvals.c.id == approval_id)
        ).first()
        return None if row is None else _approval(row)

    def open_approval(self, open_key: str) -> Approval | None:
        row = self.conn.execute(
            sa.select(ti.approvals).where(ti.approvals.c.open_key == open_key)
        ).first()
        return None if row is None else _approval(row)

    def expire_approvals(self, now: datetime, open_key: str | None = None) -> list[str]:
        p = ti.approvals.c
        due = [p.status == ApprovalStatus.REQUESTED.value, p.expires_at <= now]
        if open_key is not None:
            due.append(p.open_key == open_key)
        ids = [str(i) for i in self.conn.execute(sa.select(p.id).where(*due)).scalars()]
        if ids:
            self.conn.execute(
                ti.approvals.update().where(p.id.in_(ids), *due)
                .values(status=ApprovalStatus.EXPIRED.value, open_key=None)
            )  # fmt: skip
        return ids

    def decide_approval(self, approval_id: str, status: ApprovalStatus, by: str, at: datetime,
                        note: str | None) -> bool:  # fmt: skip
        p = ti.approvals.c
        result = self.conn.execute(
            ti.approvals.update()
            .where(p.id == approval_id, p.status == ApprovalStatus.REQUESTED.value,
                   p.expires_at > at)
            .values(status=status.value, decided_by=by, decided_at=at, decision_note=note,
                    open_key=None)
        )  # fmt: skip
        return bool(result.rowcount)

    def record_approval_result(self, approval_id: str, at: datetime,
                               result: Mapping[str, Any]) -> None:  # fmt: skip
        self.conn.execute(
            ti.approvals.update().where(ti.approvals.c.id == approval_id)
            .values(executed_at=at, result=dict(result))
        )  # fmt: skip

    def list_approvals(self, status: ApprovalStatus | None, now: datetime,
                       limit: int) -> Sequence[Approval]:  # fmt: skip
        p = ti.approvals.c
        query = sa.select(ti.approvals).order_by(p.requested_at.desc(), p.id).limit(limit)
        requested = p.status == ApprovalStatus.REQUESTED.value
        if status is ApprovalStatus.REQUESTED:
            query = query.where(requested, p.expires_at > now)
        elif status is ApprovalStatus.EXPIRED:
            query = query.where(sa.or_(p.status == status.value,
                                       sa.and_(requested, p.expires_at <= now)))  # fmt: skip
        elif status is not None:
            query = query.where(p.status == status.value)
        return [_approval(row).as_of(now) for row in self.conn.execute(query)]
