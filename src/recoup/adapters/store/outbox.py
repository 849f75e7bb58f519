"""Outbox and journal queries, mixed into the unit of work."""

from __future__ import annotations

import sqlalchemy as sa


class OutboxMixin:
    conn: sa.Connection
    dialect: str
