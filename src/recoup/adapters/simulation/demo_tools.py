"""The demo generator's building blocks: weighted choices, unique ids that look random, a
payment's story, fast RFC 3339 timestamps and small helpers.
"""

from __future__ import annotations

import math
import random
from bisect import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any

from recoup.adapters.simulation.demo_rates import (
    DAY,
    MINUTE,
    DeclineCode,
)


class _Weighted:
    """A weighted choice by bisection: ``random.choices`` is several times slower per draw."""

    __slots__ = ("_cum", "_items", "_total")

    def __init__(self, items: Sequence[Any], weights: Sequence[float]) -> None:
        self._items = tuple(items)
        self._cum = list(accumulate(weights))
        self._total = self._cum[-1]

    def pick(self, rng: random.Random) -> Any:
        return self._items[bisect(self._cum, rng.random() * self._total)]


class _Ids:
    """Identifiers that look random yet are unique by construction: ``n * mult + add`` modulo a
    power of the base is a bijection when ``mult`` is coprime to the base."""

    __slots__ = ("_add", "_digits", "_hex", "_mod", "_mult", "_n", "_prefix")

    def __init__(self, rng: random.Random, prefix: str, digits: int, *, hexadecimal: bool) -> None:
        base = 16 if hexadecimal else 10
        self._prefix, self._digits, self._hex = prefix, digits, hexadecimal
        self._mod = base**digits
        mult = rng.randrange(self._mod // base, self._mod)
        while math.gcd(mult, base) != 1:
            mult += 1
        self._mult, self._add = mult, rng.randrange(self._mod)
        self._n = 0

    def next(self) -> str:
        self._n += 1
        value = (self._n * self._mult + self._add) % self._mod
        if self._hex:
            return f"{self._prefix}{value:0{self._digits}x}"
        return f"{self._prefix}{value:0{self._digits}d}"


@dataclass(slots=True)
class _Payment:
    order_at: int
    cents: int = 0
    customer: int = 0
    source: str = ""
    network: str = ""
    currency: str = ""
    order_ref: str = ""
    payment_ref: str = ""
    charge_ref: str | None = None
    decline: DeclineCode | None = None
    attempts: list[tuple[int, bool]] = field(default_factory=list)
    succeeded_at: int | None = None
    duplicate_at: int | None = None


class _Clock:
    """RFC 3339 timestamps from second offsets. Formatting is table lookups (each calendar day,
    each minute of the day, each second), as a hundred thousand ``strftime`` calls would be
    a good part of the run."""

    __slots__ = ("_base", "_days", "_minutes", "_seconds")

    def __init__(self, start: datetime) -> None:
        self._base = math.ceil(start.timestamp())
        self._days: dict[int, str] = {}
        self._minutes = [f"{m // 60:02d}:{m % 60:02d}:" for m in range(DAY // MINUTE)]
        self._seconds = [f"{s:02d}Z" for s in range(MINUTE)]

    def iso(self, offset: int) -> str:
        day, rem = divmod(self._base + offset, DAY)
        prefix = self._days.get(day)
        if prefix is None:
            prefix = datetime.fromtimestamp(day * DAY, UTC).strftime("%Y-%m-%dT")
            self._days[day] = prefix
        minute, second = divmod(rem, MINUTE)
        return prefix + self._minutes[minute] + self._seconds[second]

    def date_after(self, offset: int, days: int) -> str:
        moment = datetime.fromtimestamp(self._base + offset, UTC)
        return (moment.date() + timedelta(days=days)).isoformat()

    def weekday(self, day: int) -> int:
        return datetime.fromtimestamp(self._base + day * DAY, UTC).weekday()


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _randint(rng: random.Random, low: int, high: int) -> int:
    """``rng.randint`` without its argument checks, which dominate its cost on a hot path."""
    return low + int(rng.random() * (high - low + 1))


def _customer_ref(customer: int) -> str:
    return f"cus_{customer + 1:07d}"


def _table(rows: Sequence[tuple[Any, ...]]) -> _Weighted:
    return _Weighted(rows, [row[1] for row in rows])
