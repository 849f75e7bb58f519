"""How the pages write money, times, countdowns and names (Jinja filters)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any


def money(amount: Decimal | str | None, currency: str | None = None) -> str:
    if amount is None or amount == "":
        return "–"
    value = Decimal(str(amount))
    text = f"{value:,.2f}"
    return f"{text} {currency}" if currency else text


def when(moment: datetime | None) -> str:
    """A time in UTC, to the minute (``2026-10-01 12:00 UTC``)."""
    if moment is None:
        return "–"
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def duration(delta: timedelta | float | None) -> str:
    """``2d 3h``, ``3h 20m``, ``12m``, ``40s``: the two largest units."""
    if delta is None:
        return "–"
    seconds = int(abs(delta.total_seconds() if isinstance(delta, timedelta) else delta))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def countdown(due: datetime | None, now: datetime) -> str:
    """What the SLA clock says at ``now``: ``due in 3h 20m`` or ``overdue by 2h 5m``."""
    if due is None:
        return "–"
    left = due - now
    if left.total_seconds() >= 0:
        return f"due in {duration(left)}"
    return f"overdue by {duration(left)}"


def label(name: Any) -> str:
    """An identifier as words: ``payment_failed`` -> ``payment failed``."""
    return str(name).replace("_", " ") if name is not None else "–"


def short_id(value: Any) -> str:
    return str(value)[:8]


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"
