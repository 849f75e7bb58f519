"""Running a unit of work again when it loses a race: how often, and what is not retried."""

from __future__ import annotations

import logging

import pytest

from recoup.domain.errors import ConflictError, LostRaceError
from recoup.services.races import retry_lost_races


def _losing(times: int) -> tuple[list[int], object]:
    calls: list[int] = []

    def work() -> str:
        calls.append(len(calls) + 1)
        if len(calls) <= times:
            raise LostRaceError(f"lost round {len(calls)}")
        return "done"

    return calls, work


def test_work_that_loses_a_race_runs_again_until_it_wins(caplog: pytest.LogCaptureFixture) -> None:
    calls, work = _losing(2)
    seen: list[str] = []

    with caplog.at_level(logging.WARNING, logger="recoup.services.races"):
        result = retry_lost_races(work, what="a batch", pause=0,  # type: ignore[arg-type]
                                  on_retry=lambda exc: seen.append(str(exc)))  # fmt: skip

    assert result == "done"
    assert calls == [1, 2, 3]
    assert seen == ["lost round 1", "lost round 2"]
    assert [r.levelname for r in caplog.records] == ["WARNING", "WARNING"]
    assert "a batch lost a race (attempt 1 of 3)" in caplog.records[0].getMessage()


def test_the_last_lost_race_reaches_the_caller_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls, work = _losing(5)

    with (
        caplog.at_level(logging.WARNING, logger="recoup.services.races"),
        pytest.raises(LostRaceError, match="lost round 3"),
    ):
        retry_lost_races(work, what="a batch", pause=0)  # type: ignore[arg-type]

    assert calls == [1, 2, 3]
    assert caplog.records[-1].levelname == "ERROR"


@pytest.mark.parametrize("error", [ConflictError("invalid transition"), RuntimeError("bug")])
def test_other_errors_are_not_retried(error: Exception) -> None:
    calls: list[int] = []

    def work() -> None:
        calls.append(1)
        raise error

    with pytest.raises(type(error)):
        retry_lost_races(work, what="a batch", pause=0)

    assert calls == [1]


def test_at_least_one_attempt_is_required() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        retry_lost_races(lambda: None, what="x", attempts=0)
