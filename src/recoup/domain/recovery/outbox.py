"""The writeback outbox: what the store keeps for each writeback, and its port."""

from __future__ import annotations

from typing import Protocol


class OutboxStore(Protocol):
    """Outbox and journal persistence; every method is part of the caller's transaction."""
