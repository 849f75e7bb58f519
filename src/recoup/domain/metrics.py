"""The product's case metrics as counters a case contributes to, and quantiles from buckets.

A case's *contribution* is a small set of counters (``Key`` -> ``Cell``: a count and an amount)
that follows from the case's current state alone. The store keeps the sum of every case's
contribution in a summary table; when a case changes it subtracts the old contribution and adds
the new one in the same transaction, so the summary always equals a rebuild from the cases
(a property test checks it). Reading a metric then costs a read of the summary rows, however
many cases there are.

Amounts are summed as integers of :data:`AMOUNT_SCALE` (ten-thousandths of the currency unit,
enough for every ISO 4217 currency): sums stay exact on both databases, and a case's amount
with more decimals is rounded half-even once, in its contribution, the same way on every path.

Durations (time to first touch, time to resolution) are counted in log-spaced buckets: bucket 0
holds durations under one second, bucket ``i >= 1`` holds ``[2 ** ((i - 1) / 4), 2 ** (i / 4))``
seconds, so each bucket is about 19% wider than the one below. A quantile read from the
buckets is the geometric middle of the bucket the quantile falls in: within that bucket's
bounds, so within about 19% of the true value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from recoup.domain.cases.case import Case
from recoup.domain.ids import derived_id

AMOUNT_SCALE = 10_000
"""Summed amounts are integers of 1/10,000 of the currency unit."""

BUCKETS_PER_DOUBLING = 4
"""Duration buckets per doubling: each bucket is 2 ** (1/4), about 1.19 times, the one below."""

MAX_BUCKET = 160
"""The last bucket (about 1.1e12 seconds): everything longer is counted in it."""

RECOVERED_OUTCOMES = frozenset({"recovered", "partially_recovered", "won", "refunded"})
"""Outcomes that brought money back (besides any case with a recovered amount)."""

AGE_BANDS: tuple[tuple[str, timedelta | None], ...] = (
    ("under_1d", timedelta(days=1)),
    ("1d_3d", timedelta(days=3)),
    ("3d_7d", timedelta(days=7)),
    ("over_7d", None),
)
"""Aging bands of open cases: (label, upper bound of the age, exclusive)."""


# -- counter names -------------------------------------------------------------------------
# Each counter is (name, k1, k2, k3); unused key parts are "".

CASES = "cases"
"""Every case: (tier, kind, breakpoint)."""
STATUS = "status"
"""Every case by its current status: (status,)."""
CATEGORY = "category"
"""Every case: (category, owner team)."""
OPEN_AGE = "open_age"
"""Open cases by the hour they opened: (category, owner team, opened hour ISO)."""
OPEN_EXPOSURE = "open_exposure"
"""Open cases with money at stake: (currency,), count and amount."""
SLA_BREACHED = "sla_breached"
"""Cases whose SLA deadline passed: ("open" | "ended",)."""
ENDED = "ended"
"""Cases resolved or closed: (outcome or "none",)."""
FIRST_TOUCH_RESOLVED = "first_touch_resolved"
"""Ended cases never reopened, escalated or put to wait."""
REWORKED = "reworked"
"""Cases reopened at least once; the amount column is unused, ``REOPENS`` counts reopenings."""
REOPENS = "reopens"
DUPLICATE_FREE = "duplicate_free"
"""Ended cases that were neither a duplicate claim nor resolved as one."""
OUTCOME_AMOUNT = "outcome_amount"
"""Money by outcome figure: ("recovered" | "written_off" | "lost", currency)."""
BY_REASON = "by_reason"
"""Ended cases with a reason (decline) code: (reason code, "recovered" | "not_recovered")."""
FIRST_TOUCH_SECONDS = "first_touch_seconds"
"""Histogram of opened -> first touch: (tier, bucket)."""
RESOLUTION_SECONDS = "resolution_seconds"
"""Histogram of opened -> resolved (or closed): (tier, bucket)."""


@dataclass(frozen=True, slots=True, order=True)
class Key:
    name: str
    k1: str = ""
    k2: str = ""
    k3: str = ""


@dataclass(frozen=True, slots=True)
class Cell:
    count: int = 0
    amount: int = 0
    """In units of 1/``AMOUNT_SCALE``."""

    def __add__(self, other: Cell) -> Cell:
        return Cell(self.count + other.count, self.amount + other.amount)

    def __neg__(self) -> Cell:
        return Cell(-self.count, -self.amount)

    @property
    def is_zero(self) -> bool:
        return self.count == 0 and self.amount == 0


Counters = dict[Key, Cell]


def scaled(amount: Decimal) -> int:
    """``amount`` as an integer of 1/``AMOUNT_SCALE`` units (rounded half-even)."""
    return int((amount * AMOUNT_SCALE).to_integral_value(rounding=ROUND_HALF_EVEN))


def unscaled(units: int) -> Decimal:
    return Decimal(units) / AMOUNT_SCALE


# -- buckets -------------------------------------------------------------------------------


def bucket_of(seconds: float) -> int:
    """The duration bucket of ``seconds`` (negative durations count as zero)."""
    if seconds < 1:
        return 0
    index = math.floor(BUCKETS_PER_DOUBLING * math.log2(seconds)) + 1
    # log2 is a float: nudge the index so the bounds hold exactly
    while index > 1 and seconds < bucket_bounds(index)[0]:
        index -= 1
    while index < MAX_BUCKET and seconds >= bucket_bounds(index)[1]:
        index += 1
    return min(index, MAX_BUCKET)


def bucket_bounds(index: int) -> tuple[float, float]:
    """``[low, high)`` seconds of a bucket."""
    if index <= 0:
        return 0.0, 1.0
    if index >= MAX_BUCKET:
        return 2 ** ((MAX_BUCKET - 1) / BUCKETS_PER_DOUBLING), math.inf
    return 2 ** ((index - 1) / BUCKETS_PER_DOUBLING), 2 ** (index / BUCKETS_PER_DOUBLING)


def quantile(buckets: Mapping[int, int], q: float) -> float | None:
    """The ``q`` quantile (0 < q <= 1) of the durations counted in ``buckets``, or None when
    there are none. It is the geometric middle of the bucket holding the ``ceil(q * n)``-th
    smallest duration (the middle of ``[0, 1)`` for bucket 0, the low bound for the last)."""
    if not 0 < q <= 1:
        raise ValueError(f"quantile must be in (0, 1], got {q}")
    total = sum(count for count in buckets.values() if count > 0)
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for index in sorted(buckets):
        count = buckets[index]
        if count <= 0:
            continue
        seen += count
        if seen >= rank:
            return _middle(index)
    raise AssertionError("unreachable: rank <= total")  # pragma: no cover


def _middle(index: int) -> float:
    low, high = bucket_bounds(index)
    if index <= 0:
        return 0.5
    if math.isinf(high):
        return low
    return math.sqrt(low * high)


def age_band(age: timedelta) -> str:
    for label, upper in AGE_BANDS:
        if upper is None or age < upper:
            return label
    raise AssertionError("unreachable: the last band is open-ended")  # pragma: no cover


# -- what one case contributes -------------------------------------------------------------


def first_touch_at(case: Case) -> datetime | None:
    """When someone (or the automation) first moved the case out of ``new``: the earliest of
    triage, work started, waiting, resolution and closure. Escalation is the clock's doing,
    not a touch, and is not counted."""
    stamps = [case.triaged_at, case.in_progress_at, case.waiting_at, case.resolved_at,
              case.closed_at]  # fmt: skip
    present = [s for s in stamps if s is not None]
    return min(present) if present else None


def ended_at(case: Case) -> datetime | None:
    if case.status.is_open:
        return None
    return case.resolved_at or case.closed_at


def is_recovered(case: Case) -> bool:
    return case.outcome in RECOVERED_OUTCOMES or bool(case.recovered_amount)


def hour_of(at: datetime) -> str:
    return at.replace(minute=0, second=0, microsecond=0).isoformat()


def contribution(case: Case, reason_code: str | None = None) -> Counters:
    """The counters ``case`` adds to the summary in its current state. ``reason_code`` is the
    reason (decline) code of the finding that opened it, when it had one."""
    out: Counters = {}

    def add(key: Key, count: int = 1, amount: int = 0) -> None:
        out[key] = out.get(key, Cell()) + Cell(count, amount)

    tier = case.tier.value
    add(Key(CASES, tier, case.kind, case.breakpoint))
    add(Key(STATUS, case.status.value))
    add(Key(CATEGORY, case.category, case.owner_team))
    is_open = case.status.is_open
    if is_open:
        add(Key(OPEN_AGE, case.category, case.owner_team, hour_of(case.opened_at)))
        if case.amount is not None and case.currency is not None:
            add(Key(OPEN_EXPOSURE, case.currency), 1, scaled(case.amount))
    if case.sla_breached_at is not None:
        add(Key(SLA_BREACHED, "open" if is_open else "ended"))
    if case.reopen_count > 0:
        add(Key(REWORKED))
        add(Key(REOPENS), case.reopen_count)
    touched = first_touch_at(case)
    if touched is not None:
        seconds = (touched - case.opened_at).total_seconds()
        add(Key(FIRST_TOUCH_SECONDS, tier, str(bucket_of(seconds))))
    ended = ended_at(case)
    if not is_open:
        add(Key(ENDED, case.outcome or "none"))
        if case.reopen_count == 0 and case.escalation_level == 0 and case.waiting_at is None:
            add(Key(FIRST_TOUCH_RESOLVED))
        if case.duplicate_of is None and case.outcome != "duplicate":
            add(Key(DUPLICATE_FREE))
        if reason_code:
            recovered = "recovered" if is_recovered(case) else "not_recovered"
            add(Key(BY_REASON, reason_code, recovered))
        if ended is not None:
            seconds = (ended - case.opened_at).total_seconds()
            add(Key(RESOLUTION_SECONDS, tier, str(bucket_of(seconds))))
    if case.currency is not None:
        for figure, amount in (("recovered", case.recovered_amount),
                               ("written_off", case.written_off_amount),
                               ("lost", case.lost_amount)):  # fmt: skip
            if amount:
                add(Key(OUTCOME_AMOUNT, figure, case.currency), 1, scaled(amount))
    return out


def delta(before: Counters | None, after: Counters | None) -> Counters:
    """``after - before``, without the cells that cancel out."""
    out: Counters = dict(after or {})
    for key, cell in (before or {}).items():
        out[key] = out.get(key, Cell()) + -cell
    return {key: cell for key, cell in out.items() if not cell.is_zero}


def total(parts: Iterable[Counters]) -> Counters:
    """The sum of several contributions (cells that cancel out are dropped)."""
    out: Counters = {}
    for part in parts:
        for key, cell in part.items():
            out[key] = out.get(key, Cell()) + cell
    return {key: cell for key, cell in out.items() if not cell.is_zero}


def opening_reason_code(case_id: str, findings: Iterable[tuple[str, str | None]]) -> str | None:
    """The reason code of the finding that opened ``case_id``, given (finding id, reason
    code) pairs: a case's id is derived from the id of its opening finding."""
    for finding_id, code in findings:
        if derived_id("case", finding_id) == case_id:
            return code
    return None


__all__ = [
    "AGE_BANDS",
    "AMOUNT_SCALE",
    "Cell",
    "Counters",
    "Key",
    "age_band",
    "bucket_bounds",
    "bucket_of",
    "contribution",
    "delta",
    "first_touch_at",
    "opening_reason_code",
    "quantile",
    "scaled",
    "total",
    "unscaled",
]
