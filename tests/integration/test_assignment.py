"""New cases go to a member of their owner team: least loaded or round robin; on SQLite and
PostgreSQL. A bad teams file stops the start naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from recoup.adapters.clock import FixedClock
from recoup.adapters.teams_file import load_teams
from recoup.bootstrap import App, bootstrap
from recoup.domain.cases.teams import Loads, Team, choose
from recoup.domain.errors import ConfigurationError, InvalidInputError
from recoup.services.cases import assign_case
from recoup.services.ingest import ingest_records
from recoup.settings import DatabaseSettings, PolicySettings, Settings
from tests.conftest import T0
from tests.helpers import raw, record

TEAMS = """
[teams.payments_ops]
members = ["ana", "ben", "chen"]
assignment = "{strategy}"

[teams.disputes]
members = []
"""


def failures(start: int, n: int) -> list[dict[str, object]]:
    return [
        record(f"f{i}", "payment.failed", minutes=i, amount="10.00",
               reason="stripe:insufficient_funds", payment=f"pi_{i}", customer=f"c{i}")
        for i in range(start, start + n)
    ]  # fmt: skip


def app_with(store_url: str, tmp_path: Path, strategy: str) -> App:
    teams = tmp_path / "teams.toml"
    teams.write_text(TEAMS.format(strategy=strategy))
    settings = Settings(database=DatabaseSettings(url=store_url, auto_upgrade=False),
                        policy=PolicySettings(teams_file=teams))  # fmt: skip
    app = bootstrap(settings, clock=FixedClock(T0))
    app.ensure_schema()
    return app


def assignees(app: App) -> list[str | None]:
    with app.reader() as tx:
        cases = tx.list_cases({"status": None}, 100)
    return [c.assignee for c in sorted(cases, key=lambda c: c.entity_key)]


def ingest(app: App, records: list[dict[str, object]]) -> None:
    ingest_records(raw(records), uow=app.uow, clock=app.clock, detectors=app.detectors,
                   label="t", policy=app.policy)  # fmt: skip


@pytest.mark.parametrize("strategy", ["round_robin", "least_loaded"])
def test_new_cases_are_shared_among_the_team(store_url: str, tmp_path: Path, strategy: str) -> None:
    app = app_with(store_url, tmp_path, strategy)
    try:
        ingest(app, failures(0, 3))
        assert sorted(a or "" for a in assignees(app)) == ["ana", "ben", "chen"]
        # ana's case is resolved: least loaded gives her the next one; round robin goes on.
        with app.reader() as tx:
            (anas,) = tx.list_cases({"status": "open", "assignee": "ana"}, 10)
        from recoup.services.cases import move_case

        move_case(anas.id, "resolved", "paid", actor="user:x", uow=app.uow, clock=app.clock,
                  resolution="recovered")  # fmt: skip
        ingest(app, failures(3, 1))
        with app.reader() as tx:
            newest = next(c for c in tx.list_cases({"status": "open"}, 10)
                          if c.entity_key == "pi_3")  # fmt: skip
        assert newest.assignee == "ana"  # least loaded: 0 open; round robin: the 4th turn
        moved = assign_case(newest.id, "ben", "ben knows this customer", actor="user:x",
                            uow=app.uow, clock=app.clock, directory=app.policy.teams)  # fmt: skip
        assert moved.assignee == "ben"
        with pytest.raises(InvalidInputError, match="not a member of payments_ops"):
            assign_case(newest.id, "zoe", "x", actor="user:x", uow=app.uow, clock=app.clock,
                        directory=app.policy.teams)  # fmt: skip
    finally:
        app.close()


def test_least_loaded_picks_the_emptiest_member_and_ties_go_in_order() -> None:
    team = Team("t", ("ana", "ben", "chen"))
    loads = Loads(open_by_member={("t", "ana"): 2, ("t", "ben"): 1})
    assert [choose(team, loads) for _ in range(4)] == ["chen", "ben", "chen", "ana"]
    assert choose(Team("empty", ()), loads) is None


def test_a_bad_teams_file_names_itself(tmp_path: Path, store_url: str) -> None:
    bad = tmp_path / "teams.toml"
    bad.write_text('[teams.ops]\nmembers = ["a", "a"]\n')
    with pytest.raises(InvalidInputError, match="lists a member twice"):
        load_teams(bad)
    bad.write_text('[teams.ops]\nmembers = ["a"]\nassignment = "random"\n')
    settings = Settings(database=DatabaseSettings(url=store_url, auto_upgrade=False),
                        policy=PolicySettings(teams_file=bad))  # fmt: skip
    with pytest.raises(ConfigurationError, match=r"TEAMS_FILE.*teams\.ops\.assignment"):
        bootstrap(settings)
