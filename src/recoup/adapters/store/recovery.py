"""Ladder climbs, attempts, messages and self-service grants, mixed into the unit of work."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from recoup.adapters.store import tables as t
from recoup.adapters.store.rows import event_from_row
from recoup.domain.ingestion.event import Event
from recoup.domain.recovery.ladder import LadderState, LadderStatus
from recoup.domain.recovery.outreach import Contact, ContactStatus
from recoup.domain.recovery.store import (
    AttemptRecord,
    GrantRecord,
    MessageRecord,
    climb_from_json,
    climb_to_json,
)

NEW = "new"
"""A climb row written when its case opens; the runner starts it."""
ACTIVE = [LadderStatus.CLIMBING.value, LadderStatus.WAITING_INPUT.value]
"""Climb statuses that can come due."""


class RecoveryMixin:
    conn: sa.Connection
    dialect: str

    def _upsert(self, table: sa.Table) -> Any:
        return (postgresql if self.dialect == "postgresql" else sqlite).insert(table)

    def save_climbs(self, states: Sequence[LadderState], now: datetime) -> None:
        if not states:
            return
        rows = [
            {"case_id": s.case_id, "ladder": s.ladder, "status": s.status.value,
             "next_at": None if s.is_finished else s.next_at, "state": climb_to_json(s),
             "updated_at": now}
            for s in states
        ]  # fmt: skip
        insert = self._upsert(t.recovery)
        statement = insert.on_conflict_do_update(
            index_elements=["case_id"],
            set_={name: insert.excluded[name] for name in
                  ("ladder", "status", "next_at", "state", "updated_at")},
        )  # fmt: skip
        self.conn.execute(statement, rows)

    def climbs(self, case_ids: Iterable[str]) -> dict[str, LadderState]:
        wanted = sorted(set(case_ids))
        if not wanted:
            return {}
        query = sa.select(t.recovery.c.state).where(t.recovery.c.case_id.in_(wanted))
        rows = self.conn.execute(query).scalars()
        states = (climb_from_json(row) for row in rows if row)  # {}: not started yet
        return {s.case_id: s for s in states}

    def add_new_climbs(self, case_ids: Sequence[str], now: datetime) -> None:
        """Climbs to start: due now, state empty until the runner starts them."""
        if not case_ids:
            return
        rows = [{"case_id": c, "ladder": "", "status": NEW, "next_at": now, "state": {},
                 "updated_at": now} for c in case_ids]  # fmt: skip
        self.conn.execute(
            self._upsert(t.recovery).on_conflict_do_nothing(index_elements=["case_id"]), rows
        )

    def claim_due_climbs(self, now: datetime, limit: int) -> list[tuple[str, LadderState | None]]:
        r = t.recovery.c
        query = (
            sa.select(r.case_id, r.state)
            .where(r.status.in_([NEW, *ACTIVE]), r.next_at <= now)
            .order_by(r.next_at, r.case_id)
            .limit(limit)
        )
        if self.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return [
            (str(case_id), climb_from_json(state) if state else None)
            for case_id, state in self.conn.execute(query)
        ]

    def lease_climbs(self, case_ids: Sequence[str], until: datetime) -> None:
        """Move claimed climbs' due time to ``until``: a runner that dies mid-turn leaves them
        to be claimed again then."""
        r = t.recovery.c
        if case_ids:
            self.conn.execute(
                t.recovery.update().where(r.case_id.in_(list(case_ids))).values(next_at=until)
            )

    def climb_counts(self) -> dict[str, dict[str, Any]]:
        """Climb status -> {"count": n, "next_at": the earliest due time}."""
        r = t.recovery.c
        query = sa.select(r.status, sa.func.count(), sa.func.min(r.next_at)).group_by(r.status)
        return {
            status: {"count": count, "next_at": next_at}
            for status, count, next_at in self.conn.execute(query)
        }

    def attempt_counts(self) -> dict[tuple[str, str], int]:
        """(action kind, outcome) -> attempts."""
        a = t.recovery_attempts.c
        query = sa.select(a.kind, a.outcome, sa.func.count()).group_by(a.kind, a.outcome)
        return {(kind, outcome): count for kind, outcome, count in self.conn.execute(query)}

    def add_attempts(self, attempts: Sequence[AttemptRecord]) -> set[str]:
        if not attempts:
            return set()
        a = t.recovery_attempts.c
        ids = [x.id for x in attempts]
        seen = set(self.conn.execute(sa.select(a.id).where(a.id.in_(ids))).scalars())
        fresh = [x for x in attempts if x.id not in seen]
        if fresh:
            self.conn.execute(
                t.recovery_attempts.insert(),
                [
                    {"id": x.id, "case_id": x.case_id, "step_index": x.step_index, "kind": x.kind,
                     "at": x.at, "outcome": x.outcome, "detail": x.detail, "amount": x.amount,
                     "currency": x.currency, "data": dict(x.data)}
                    for x in fresh
                ],
            )  # fmt: skip
        return {x.id for x in fresh}

    def attempts_of(self, case_id: str) -> list[AttemptRecord]:
        a = t.recovery_attempts.c
        query = sa.select(t.recovery_attempts).where(a.case_id == case_id).order_by(a.at, a.id)
        return [
            AttemptRecord(
                id=m["id"],
                case_id=str(m["case_id"]),
                step_index=m["step_index"],
                kind=m["kind"],
                at=m["at"],
                outcome=m["outcome"],
                detail=m["detail"],
                amount=m["amount"],
                currency=m["currency"],
                data=dict(m["data"] or {}),
            )
            for m in (row._mapping for row in self.conn.execute(query))
        ]

    def case_source_events(self, case_id: str) -> list[Event]:
        f = t.findings.c
        evidence = self.conn.execute(sa.select(f.evidence).where(f.case_id == case_id)).scalars()
        ids = sorted({str(i) for ids in evidence for i in (ids or [])})
        if not ids:
            return []
        e = t.events.c
        rows = self.conn.execute(sa.select(t.events).where(e.id.in_(ids)))
        return sorted((event_from_row(row) for row in rows), key=lambda ev: ev.occurred_at)

    def add_messages(self, messages: Sequence[MessageRecord]) -> None:
        if not messages:
            return
        insert = self._upsert(t.messages)
        statement = insert.on_conflict_do_update(
            index_elements=["id"],
            set_={name: insert.excluded[name] for name in ("status", "at", "detail")},
        )
        self.conn.execute(
            statement,
            [
                {"id": m.id, "case_id": m.case_id, "channel": m.channel, "recipient": m.recipient,
                 "template": m.template, "language": m.language, "kind": m.kind,
                 "subject": m.subject, "status": m.status, "at": m.at, "detail": m.detail}
                for m in messages
            ],
        )  # fmt: skip

    def contacts_of(self, recipient: str) -> list[Contact]:
        m = t.messages.c
        query = sa.select(m.at, m.channel, m.status).where(m.recipient == recipient)
        return [
            Contact(at, channel, ContactStatus(status))
            for at, channel, status in self.conn.execute(query.order_by(m.at))
        ]

    def add_grant(self, grant: GrantRecord) -> None:
        self.conn.execute(
            t.selfservice_grants.insert().values(
                nonce=grant.nonce, case_id=grant.case_id, actions=list(grant.actions),
                created_at=grant.created_at, expires_at=grant.expires_at,
                failed_attempts=grant.failed_attempts,
            )
        )  # fmt: skip

    def grant(self, nonce: str) -> GrantRecord | None:
        g = t.selfservice_grants.c
        row = self.conn.execute(sa.select(t.selfservice_grants).where(g.nonce == nonce)).first()
        if row is None:
            return None
        m = row._mapping
        return GrantRecord(
            nonce=m["nonce"], case_id=str(m["case_id"]), actions=tuple(m["actions"]),
            created_at=m["created_at"], expires_at=m["expires_at"], used_at=m["used_at"],
            used_action=m["used_action"], failed_attempts=m["failed_attempts"],
        )  # fmt: skip

    def use_grant(self, nonce: str, action: str, at: datetime) -> bool:
        g = t.selfservice_grants.c
        result = self.conn.execute(
            t.selfservice_grants.update()
            .where(g.nonce == nonce, g.used_at.is_(None))
            .values(used_at=at, used_action=action)
        )
        return bool(result.rowcount)

    def fail_grant(self, nonce: str) -> int:
        g = t.selfservice_grants.c
        self.conn.execute(
            t.selfservice_grants.update()
            .where(g.nonce == nonce)
            .values(failed_attempts=g.failed_attempts + 1)
        )
        count = self.conn.execute(sa.select(g.failed_attempts).where(g.nonce == nonce)).scalar()
        return int(count or 0)
