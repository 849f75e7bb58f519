"""Ladder climbs, attempts, messages and self-service grants, mixed into the unit of work."""

from __future__ import annotations

import sqlalchemy as sa


class RecoveryMixin:
    conn: sa.Connection
    dialect: str
