"""What the demo month generates: ``DemoSpec``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class DemoSpec:
    """What to generate: the seed makes it reproducible, the rest sizes it."""

    seed: int = 2026
    payments: int = 50_000
    start: datetime = datetime(2026, 10, 1, tzinfo=UTC)
    days: int = 31

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.start.utcoffset() is None:
            raise ValueError("DemoSpec.start must be timezone-aware")
        if self.payments < 0:
            raise ValueError("DemoSpec.payments must not be negative")
        if self.days < 1:
            raise ValueError("DemoSpec.days must be at least 1")
