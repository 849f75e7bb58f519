"""Read the teams file: who works each owner team's cases and how new cases are shared out.

    # teams.toml
    [teams.payments_ops]
    members = ["ana", "ben", "chen"]
    assignment = "least_loaded"     # or "round_robin"

Errors name the file and the team.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from recoup.domain.cases.teams import STRATEGIES, Team, TeamDirectory
from recoup.domain.errors import InvalidInputError, Location


def load_teams(path: Path) -> TeamDirectory:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror}",
                                location=Location(file=str(path))) from None  # fmt: skip
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(f"{path}: {exc}", location=Location(file=str(path))) from None
    teams = data.get("teams", {})
    if not isinstance(teams, dict):
        raise InvalidInputError(f"{path}: [teams] must be a table",
                                location=Location(file=str(path), field="teams"))  # fmt: skip
    found: dict[str, Team] = {}
    for name, body in teams.items():
        where = Location(file=str(path), field=f"teams.{name}")
        if not isinstance(body, dict):
            raise InvalidInputError(f"{path}: teams.{name} must be a table", location=where)
        members = body.get("members", [])
        if not isinstance(members, list) or not all(
            isinstance(m, str) and m.strip() for m in members
        ):
            raise InvalidInputError(f"{path}: teams.{name}.members must be a list of names",
                                    location=where)  # fmt: skip
        strategy = body.get("assignment", "least_loaded")
        if strategy not in STRATEGIES:
            raise InvalidInputError(
                f"{path}: teams.{name}.assignment must be one of {', '.join(STRATEGIES)}",
                location=where,
            )
        unknown = set(body) - {"members", "assignment"}
        if unknown:
            raise InvalidInputError(
                f"{path}: teams.{name} has unknown keys {', '.join(sorted(unknown))}",
                location=where,
            )
        found[name] = Team(name, tuple(m.strip() for m in members), strategy)
    return TeamDirectory(found)
