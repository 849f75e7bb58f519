"""Running a unit of work again when another process got there first.

Several processes share one PostgreSQL. Two of them may plan the same case from stale reads, or
a worker may move a case while an ingest batch is attaching a finding to it. The store then
refuses the loser's transaction with ``LostRaceError`` after rolling it back, and nothing of it
is kept. Running the same work again in a new transaction reads what the winner committed, and
because events, findings and cases are keyed by what they are about, the second run neither
doubles nor drops anything.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from recoup.domain.errors import LostRaceError

log = logging.getLogger(__name__)

DEFAULT_ATTEMPTS = 3

T = TypeVar("T")


def retry_lost_races(
    work: Callable[[], T],
    *,
    what: str,
    attempts: int = DEFAULT_ATTEMPTS,
    on_retry: Callable[[LostRaceError], None] | None = None,
    pause: float = 0.01,
) -> T:
    """Run ``work`` (one whole transaction) and run it again, up to ``attempts`` times in all,
    while it loses a race. Any other error, and the last lost race, reach the caller."""
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except LostRaceError as exc:
            if attempt == attempts:
                log.error("%s lost a race %d times; giving up: %s", what, attempts, exc)
                raise
            log.warning("%s lost a race (attempt %d of %d), running it again: %s",
                        what, attempt, attempts, exc)  # fmt: skip
            if on_retry is not None:
                on_retry(exc)
            # a short, jittered pause so two losers do not collide again in lockstep
            time.sleep(pause * attempt * (1 + random.random()))
    raise AssertionError("unreachable")  # pragma: no cover
