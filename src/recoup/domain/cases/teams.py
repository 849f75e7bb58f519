"""Teams, their members, and who gets a new case.

A team works the cases of its queues. When a case opens for a team with members, it is assigned
at once: ``least_loaded`` gives it to the member with the fewest open cases (ties in the order
the members are listed), ``round_robin`` to the next member in turn. A team without members
leaves its cases unassigned, in the queue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from recoup.domain.errors import InvalidInputError

Strategy = Literal["least_loaded", "round_robin"]
STRATEGIES: tuple[str, ...] = ("least_loaded", "round_robin")


@dataclass(frozen=True, slots=True)
class Team:
    name: str
    members: tuple[str, ...]
    strategy: Strategy = "least_loaded"

    def __post_init__(self) -> None:
        if len(set(self.members)) != len(self.members):
            raise InvalidInputError(f"team {self.name!r} lists a member twice")
        if self.strategy not in STRATEGIES:
            raise InvalidInputError(
                f"team {self.name!r}: assignment must be one of {', '.join(STRATEGIES)}"
            )


@dataclass(frozen=True, slots=True)
class TeamDirectory:
    teams: Mapping[str, Team] = field(default_factory=dict)

    def team(self, name: str) -> Team | None:
        return self.teams.get(name)

    def is_member(self, team: str, member: str) -> bool:
        found = self.teams.get(team)
        return found is not None and member in found.members


NO_TEAMS = TeamDirectory()


@dataclass
class Loads:
    """What assignment needs from the store: open cases per (team, member), and how many cases
    each team has had assigned (the round-robin position)."""

    open_by_member: dict[tuple[str, str], int] = field(default_factory=dict)
    assigned_by_team: dict[str, int] = field(default_factory=dict)


def choose(team: Team, loads: Loads) -> str | None:
    """The member who gets the next case of ``team``; updates ``loads`` as if assigned."""
    if not team.members:
        return None
    if team.strategy == "round_robin":
        turn = loads.assigned_by_team.get(team.name, 0)
        member = team.members[turn % len(team.members)]
    else:
        member = min(team.members, key=lambda m: loads.open_by_member.get((team.name, m), 0))
    key = (team.name, member)
    loads.open_by_member[key] = loads.open_by_member.get(key, 0) + 1
    loads.assigned_by_team[team.name] = loads.assigned_by_team.get(team.name, 0) + 1
    return member


def teams_of(names: Iterable[str], directory: TeamDirectory) -> list[Team]:
    return [team for name in sorted(set(names)) if (team := directory.team(name)) is not None]
