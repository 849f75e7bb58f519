"""Outbound webhook subscriptions, deliveries and attempts, mixed into the unit of work.

Deliveries are written insert-if-absent on (subscription, case, event, case version) and
attempts on (delivery, number): storing the same case change twice, or recording the same
attempt twice, leaves one row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from recoup.adapters.store import tables_notify as tn
from recoup.adapters.store.queries import id_prefix_filter
from recoup.domain.cases.case import Case
from recoup.domain.cases.casing import CasePlan
from recoup.domain.errors import ConflictError, NotFoundError
from recoup.domain.notify import (
    Attempt,
    CaseEvent,
    Delivery,
    DeliveryStatus,
    Subscription,
    plan_deliveries,
)

DUE = [DeliveryStatus.PENDING.value, DeliveryStatus.RETRYING.value]


class NotifyMixin:
    conn: sa.Connection
    dialect: str
    _chunked: Callable[[Sequence[Any]], Iterator[Sequence[Any]]]
    _one_of: Callable[[Any, Sequence[Any]], Any]

    def _notify_insert(self, table: sa.Table) -> Any:
        return (postgresql if self.dialect == "postgresql" else sqlite).insert(table)

    # -- the write path --------------------------------------------------------------------

    def _enqueue_case_events(self, plan: CasePlan, before: Mapping[str, Case]) -> int:
        """Enqueue the deliveries the plan's case changes raise (before the cases are
        written: an updated case's stored version is ``case.version``, the new one follows).
        Returns how many were new."""
        if not plan.created and not plan.updated:
            return 0
        subscriptions = self.subscriptions(active_only=True)
        if not subscriptions:
            return 0
        changes: list[tuple[Case | None, Case, int]] = [
            (None, case, case.version) for case in plan.created.values()
        ]
        for case_id, case in plan.updated.items():
            if case_id in before:
                changes.append((before[case_id], case, case.version + 1))
        deliveries = [
            delivery
            for change in changes
            for delivery in plan_deliveries([change], subscriptions, change[1].updated_at)
        ]
        return self.add_deliveries(deliveries)

    def add_deliveries(self, deliveries: Sequence[Delivery]) -> int:
        if not deliveries:
            return 0
        d = tn.notify_deliveries
        stmt = self._notify_insert(d).on_conflict_do_nothing().returning(d.c.id)
        rows = [_delivery_row(x) for x in {x.id: x for x in deliveries}.values()]
        return len(self.conn.execute(stmt, rows).all())  # one batched statement

    # -- subscriptions ---------------------------------------------------------------------

    def add_subscription(self, subscription: Subscription) -> None:
        s = subscription
        self.conn.execute(
            tn.notify_subscriptions.insert().values(
                id=s.id, url=s.url, secret=s.secret, events=[e.value for e in s.events],
                team=s.team, is_active=s.is_active, created_at=s.created_at,
                created_by=s.created_by, disabled_at=s.disabled_at,
            )
        )  # fmt: skip

    def subscriptions(self, *, active_only: bool = False) -> list[Subscription]:
        s = tn.notify_subscriptions.c
        query = sa.select(tn.notify_subscriptions).order_by(s.created_at, s.id)
        if active_only:
            query = query.where(s.is_active.is_(True))
        return [_subscription(row) for row in self.conn.execute(query)]

    def find_subscription(self, id_or_prefix: str) -> Subscription:
        s = tn.notify_subscriptions
        rows = self.conn.execute(
            sa.select(s).where(id_prefix_filter(s.c.id, id_or_prefix)).limit(2)
        ).all()
        if not rows:
            raise NotFoundError(f"no webhook subscription {id_or_prefix!r}")
        if len(rows) > 1:
            raise ConflictError(f"{id_or_prefix!r} matches several subscriptions; give more")
        return _subscription(rows[0])

    def disable_subscription(self, subscription_id: str, at: datetime) -> bool:
        s = tn.notify_subscriptions
        result = self.conn.execute(
            s.update()
            .where(s.c.id == subscription_id, s.c.is_active.is_(True))
            .values(is_active=False, disabled_at=at)
        )
        return bool(result.rowcount)

    # -- deliveries ------------------------------------------------------------------------

    def claim_due_deliveries(
        self, now: datetime, limit: int, lease_until: datetime
    ) -> list[tuple[Delivery, Subscription]]:
        """Due deliveries with their subscription, pushed to ``lease_until`` so no other
        worker takes them meanwhile (locked with SKIP LOCKED on PostgreSQL)."""
        d = tn.notify_deliveries
        query = (
            sa.select(d)
            .where(d.c.status.in_(DUE), d.c.next_at <= now)
            .order_by(d.c.next_at, d.c.created_at, d.c.id)
            .limit(limit)
        )
        if self.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        deliveries = [_delivery(row) for row in self.conn.execute(query)]
        if not deliveries:
            return []
        ids = [x.id for x in deliveries]
        self.conn.execute(d.update().where(d.c.id.in_(ids)).values(next_at=lease_until))
        subs = {s.id: s for s in self.subscriptions()}
        return [(x, subs[x.subscription_id]) for x in deliveries]

    def record_attempt(self, delivery: Delivery, attempt: Attempt) -> bool:
        a = tn.notify_attempts
        stmt = self._notify_insert(a).on_conflict_do_nothing().returning(a.c.number)
        row = self.conn.execute(
            stmt,
            {"delivery_id": attempt.delivery_id, "number": attempt.number, "at": attempt.at,
             "outcome": attempt.outcome.value, "status_code": attempt.status_code,
             "error": None if attempt.error is None else attempt.error[:2000],
             "duration_ms": attempt.duration_ms},
        ).first()  # fmt: skip
        if row is None:
            return False
        d = tn.notify_deliveries
        self.conn.execute(
            d.update()
            .where(d.c.id == delivery.id)
            .values(
                status=delivery.status.value, attempts=delivery.attempts,
                next_at=delivery.next_at, delivered_at=delivery.delivered_at,
                last_status_code=delivery.last_status_code,
                last_error=None if delivery.last_error is None else delivery.last_error[:2000],
            )
        )  # fmt: skip
        return True

    def list_deliveries(
        self,
        *,
        status: DeliveryStatus | None = None,
        case_id: str | None = None,
        subscription_id: str | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        """Newest first, each with its attempts."""
        d = tn.notify_deliveries.c
        query = sa.select(tn.notify_deliveries).order_by(d.created_at.desc(), d.id).limit(limit)
        if status is not None:
            query = query.where(d.status == status.value)
        if case_id is not None:
            query = query.where(d.case_id == case_id)
        if subscription_id is not None:
            query = query.where(d.subscription_id == subscription_id)
        deliveries = [_delivery(row) for row in self.conn.execute(query)]
        self._attach_attempts(deliveries)
        return deliveries

    def find_delivery(self, id_or_prefix: str) -> Delivery:
        d = tn.notify_deliveries
        rows = self.conn.execute(
            sa.select(d).where(id_prefix_filter(d.c.id, id_or_prefix)).limit(2)
        ).all()
        if not rows:
            raise NotFoundError(f"no webhook delivery {id_or_prefix!r}")
        if len(rows) > 1:
            raise ConflictError(f"{id_or_prefix!r} matches several deliveries; give more")
        delivery = _delivery(rows[0])
        self._attach_attempts([delivery])
        return delivery

    def _attach_attempts(self, deliveries: Sequence[Delivery]) -> None:
        by_id = {x.id: x for x in deliveries}
        a = tn.notify_attempts.c
        for chunk in self._chunked(sorted(by_id)):
            query = (
                sa.select(tn.notify_attempts)
                .where(self._one_of(a.delivery_id, chunk))
                .order_by(a.delivery_id, a.number)
            )
            for row in self.conn.execute(query):
                attempt = _attempt(row)
                by_id[attempt.delivery_id].history.append(attempt)

    def requeue_delivery(self, delivery_id: str, at: datetime) -> bool:
        """Due now with a fresh attempt budget, unless it is queued already (pending or
        retrying: a second redelivery, or one racing the worker, changes nothing)."""
        d = tn.notify_deliveries
        result = self.conn.execute(
            d.update()
            .where(d.c.id == delivery_id, d.c.status.not_in(DUE))
            .values(status=DeliveryStatus.PENDING.value, next_at=at,
                    requeued_after=d.c.attempts)
        )  # fmt: skip
        return bool(result.rowcount)

    def delivery_counts(self) -> dict[str, int]:
        d = tn.notify_deliveries.c
        query = sa.select(d.status, sa.func.count()).group_by(d.status)
        return {str(status): int(count) for status, count in self.conn.execute(query)}


def _delivery_row(x: Delivery) -> dict[str, Any]:
    return {
        "id": x.id, "subscription_id": x.subscription_id, "case_id": x.case_id,
        "event": x.event.value, "case_version": x.case_version, "payload": x.payload,
        "status": x.status.value, "attempts": x.attempts, "requeued_after": x.requeued_after,
        "next_at": x.next_at, "created_at": x.created_at, "delivered_at": x.delivered_at,
        "last_status_code": x.last_status_code, "last_error": x.last_error,
    }  # fmt: skip


def _delivery(row: Any) -> Delivery:
    m = row._mapping
    return Delivery(
        id=str(m["id"]), subscription_id=str(m["subscription_id"]), case_id=str(m["case_id"]),
        event=CaseEvent(m["event"]), case_version=m["case_version"],
        payload=dict(m["payload"]), status=DeliveryStatus(m["status"]),
        attempts=m["attempts"], next_at=m["next_at"], created_at=m["created_at"],
        delivered_at=m["delivered_at"], last_status_code=m["last_status_code"],
        last_error=m["last_error"], requeued_after=m["requeued_after"],
    )  # fmt: skip


def _attempt(row: Any) -> Attempt:
    m = row._mapping
    return Attempt(
        delivery_id=str(m["delivery_id"]), number=m["number"], at=m["at"],
        outcome=DeliveryStatus(m["outcome"]), status_code=m["status_code"], error=m["error"],
        duration_ms=m["duration_ms"],
    )  # fmt: skip


def _subscription(row: Any) -> Subscription:
    m = row._mapping
    return Subscription(
        id=str(m["id"]), url=m["url"], secret=m["secret"],
        events=tuple(CaseEvent(e) for e in m["events"]), team=m["team"],
        is_active=bool(m["is_active"]), created_at=m["created_at"],
        created_by=m["created_by"], disabled_at=m["disabled_at"],
    )  # fmt: skip
