"""The recovery store port: ladder climbs, attempts, messages and self-service grants."""

from __future__ import annotations

from typing import Protocol


class RecoveryStore(Protocol):
    """Recovery persistence; every method is part of the caller's transaction."""
