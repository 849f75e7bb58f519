"""Tables of the identity area, on the shared metadata (imported at the end of tables.py).

No secret is stored in the clear: a user's password as its argon2id hash, a session under the
SHA-256 of its token, an API key as the SHA-256 of its secret (``adapters/passwords.py``).
"""

from __future__ import annotations

import sqlalchemy as sa

from recoup.adapters.store.tables import Id, metadata
from recoup.adapters.store.types import JSONValue, UTCDateTime

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("roles", JSONValue, nullable=False),
    sa.Column("is_active", sa.Boolean, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("name"),
)
"""People who log in to the pages; a disabled user stays (the audit trail names them)."""

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("roles", JSONValue, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(100), nullable=False),
    sa.Column("revoked_at", UTCDateTime),
    sa.Column("revoked_by", sa.String(100)),
    sa.UniqueConstraint("name"),
)
"""Machine credentials ``rk_<id>_<secret>``: the id is public, the secret only as a digest."""

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("user_id", Id, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("address", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime),
    sa.Index(None, "user_id"),
)
"""Logins; the id is the SHA-256 of the cookie's token."""

login_attempts = sa.Table(
    "login_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("address", sa.String(64), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("succeeded", sa.Boolean, nullable=False),
    sa.Index(None, "name", "at"),
    sa.Index(None, "address", "at"),
)
"""Every login attempt, counted for the lockout (so it holds across API processes)."""

approvals = sa.Table(
    "approvals",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("target", sa.String(100), nullable=False),
    sa.Column("open_key", sa.String(140)),
    sa.Column("params", JSONValue, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("requester", sa.String(110), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("requested_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("decided_by", sa.String(110)),
    sa.Column("decided_at", UTCDateTime),
    sa.Column("decision_note", sa.Text),
    sa.Column("executed_at", UTCDateTime),
    sa.Column("result", JSONValue),
    sa.UniqueConstraint("open_key"),
    sa.Index(None, "status", "requested_at"),
)
"""Four-eyes requests of sensitive actions. ``open_key`` (``action|target``) is set while the
request waits, so one action on one target is requested once at a time."""
