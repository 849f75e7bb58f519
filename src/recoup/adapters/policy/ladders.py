"""Read the recovery ladders (``ladders.toml`` in the policy folder) and validate every field.

    version = 1

    [ladders.payment_failed]
    budget = { max_attempts = 6, max_days = 14 }
    stop_on = ["recovered", "customer_replied", "disputed", "case_resolved"]
    escalate_when_exhausted = true          # the default

    [[ladders.payment_failed.steps]]
    kind = "retry"
    wait = "1d"
    repeat = 2

A policy folder without ``ladders.toml`` uses the default pack's. Every problem in the file is
collected and named by file, ladder and step ("ladders.toml: ladder payment_failed, step 3:
unknown kind 'retyr' (did you mean 'retry'?)"); ladder names must be finding types of the
taxonomy, or ``default``. The result always holds a ``default`` ladder: the file's, else
:func:`recoup.domain.recovery.ladder.fallback_ladder` (escalate at once).
"""

from __future__ import annotations

import difflib
import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

from recoup.domain.detection.taxonomy import TAXONOMY
from recoup.domain.errors import ConfigurationError, InvalidInputError
from recoup.domain.recovery.ladder import (
    DEFAULT_LADDER,
    PARAMS,
    STOP_SIGNALS,
    Budget,
    LadderSpec,
    ParamValue,
    Step,
    StepKind,
    fallback_ladder,
)
from recoup.domain.recovery.selfservice import action_problem

LADDERS_FILE = "ladders.toml"
DEFAULT_LADDERS = Path(__file__).parent / "default" / LADDERS_FILE
VERSION = 1

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_LADDER_KEYS = ("budget", "stop_on", "escalate_when_exhausted", "steps")
_STEP_KEYS = ("kind", "wait", "timeout", "repeat", "while_paused")
_ALL_PARAMS = sorted(set().union(*(req | opt for req, opt in PARAMS.values())))


class LadderFileError(ConfigurationError):
    """The ladders file is not valid."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{problems[0]}{more}")


def parse_duration(text: object) -> timedelta:
    """``"90s"``, ``"30m"``, ``"4h"``, ``"3d"``, ``"1d12h"``, ``"0"``."""
    if not isinstance(text, str):
        raise ValueError(f"must be a duration like '30m', '4h' or '3d', not {text!r}")
    match = _DURATION.match(text.strip())
    if text.strip() == "0":
        return timedelta(0)
    if not text.strip() or match is None:
        raise ValueError(f"must be a duration like '30m', '4h', '3d' or '1d12h', not {text!r}")
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def _hint(value: str, known: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(value, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Reader:
    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.problems: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{self.origin}: {where}{': ' if where else ''}{message}")

    def step(self, ladder: str, number: int, raw: Any) -> Step | None:
        where = f"ladder {ladder}, step {number}"
        if not isinstance(raw, dict):
            self.fail(where, "must be a table")
            return None
        kind_text = raw.get("kind")
        names = [k.value for k in StepKind]
        if not isinstance(kind_text, str) or kind_text not in names:
            hint = _hint(kind_text, names) if isinstance(kind_text, str) else ""
            shown = "missing" if kind_text is None else repr(kind_text)
            self.fail(where, f"{'kind is' if kind_text is None else 'unknown kind'} "
                             f"{shown}{hint}; known: {', '.join(names)}")  # fmt: skip
            return None
        kind = StepKind(kind_text)
        required, optional = PARAMS[kind]
        known = (*_STEP_KEYS, *sorted(required | optional))
        for key in raw:
            if key not in known:
                hint = _hint(key, [*known, *_ALL_PARAMS])
                self.fail(where, f"unknown key {key!r} for a {kind} step{hint}; "
                                 f"allowed: {', '.join(known)}")  # fmt: skip
                return None
        durations: dict[str, timedelta | None] = {"wait": timedelta(0), "timeout": None}
        for key in durations:
            if key in raw:
                try:
                    durations[key] = parse_duration(raw[key])
                except ValueError as exc:
                    self.fail(where, f"{key} {exc}")
                    return None
        wait, timeout = durations["wait"] or timedelta(0), durations["timeout"]
        repeat = raw.get("repeat", 1)
        while_paused = raw.get("while_paused", False)
        if isinstance(repeat, bool) or not isinstance(repeat, int):
            self.fail(where, f"repeat must be a whole number, not {repeat!r}")
            return None
        if not isinstance(while_paused, bool):
            self.fail(where, f"while_paused must be true or false, not {while_paused!r}")
            return None
        params: dict[str, ParamValue] = {}
        for key in sorted(required | optional):
            if key in raw:
                value = raw[key]
                params[key] = tuple(value) if isinstance(value, list) else value
        try:
            step = Step(kind, wait, params, timeout, repeat, while_paused)
        except InvalidInputError as exc:
            self.fail(where, exc.message)
            return None
        for action in params.get("actions", ()):
            problem = action_problem(ladder, action)
            if problem:
                self.fail(where, problem)
        return step

    def budget(self, ladder: str, raw: Any) -> Budget | None:
        where = f"ladder {ladder}, budget"
        if not isinstance(raw, dict):
            self.fail(where, "needs max_attempts and max_days, e.g. "
                             "{ max_attempts = 3, max_days = 14 }")  # fmt: skip
            return None
        for key in raw:
            if key not in ("max_attempts", "max_days"):
                self.fail(where, f"unknown key {key!r}; allowed: max_attempts, max_days")
                return None
        values = [raw.get("max_attempts"), raw.get("max_days")]
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in values):
            self.fail(where, "max_attempts and max_days must be whole numbers >= 1")
            return None
        return Budget(int(raw["max_attempts"]), int(raw["max_days"]))

    def ladder(self, name: str, raw: Any) -> LadderSpec | None:
        where = f"ladder {name}"
        if name != DEFAULT_LADDER and name not in TAXONOMY:
            hint = _hint(name, sorted(TAXONOMY))
            self.fail(where, f"unknown finding type {name!r}{hint}; a ladder is named after "
                             "a type of the taxonomy or 'default'")  # fmt: skip
            return None
        if not isinstance(raw, dict):
            self.fail(where, "must be a table")
            return None
        for key in raw:
            if key not in _LADDER_KEYS:
                self.fail(where, f"unknown key {key!r}{_hint(key, _LADDER_KEYS)}; "
                                 f"allowed: {', '.join(_LADDER_KEYS)}")  # fmt: skip
                return None
        budget = self.budget(name, raw.get("budget"))
        stop_on = raw.get("stop_on", [])
        if not isinstance(stop_on, list) or not all(isinstance(s, str) for s in stop_on):
            self.fail(where, "stop_on must be a list of stop conditions")
            stop_on = []
        for signal in stop_on:
            if signal not in STOP_SIGNALS:
                hint = _hint(signal, STOP_SIGNALS)
                known = ", ".join(STOP_SIGNALS)
                self.fail(where, f"unknown stop condition {signal!r}{hint}; known: {known}")
        escalate = raw.get("escalate_when_exhausted", True)
        if not isinstance(escalate, bool):
            self.fail(where, "escalate_when_exhausted must be true or false")
        raw_steps = raw.get("steps")
        if not isinstance(raw_steps, list) or not raw_steps:
            self.fail(where, "needs at least one [[ladders.<type>.steps]]")
            return None
        steps = [self.step(name, number, item) for number, item in enumerate(raw_steps, 1)]
        for number, step in enumerate(steps[:-1], 1):
            if step is not None and step.kind is StepKind.ESCALATE:
                self.fail(f"{where}, step {number}", "escalate ends the climb; it must be the "
                                                     "last step")  # fmt: skip
        if budget is None or any(s is None for s in steps) or self.problems:
            return None
        try:
            return LadderSpec(name, tuple(s for s in steps if s is not None), budget,
                              frozenset(stop_on), bool(escalate))  # fmt: skip
        except InvalidInputError as exc:
            self.fail("", exc.message)
            return None


def read_ladders(text: str, origin: str) -> dict[str, LadderSpec]:
    """Parse and validate one ladders file's text; ``origin`` names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LadderFileError([f"{origin}: not valid TOML: {exc}"]) from None
    reader = _Reader(origin)
    for key in data:
        if key not in ("version", "ladders"):
            reader.fail("", f"unknown top-level key {key!r}; allowed: version, ladders")
    if data.get("version") != VERSION:
        reader.fail("", f"version must be {VERSION}, not {data.get('version')!r}")
    ladders = data.get("ladders")
    if not isinstance(ladders, dict) or not ladders:
        reader.fail("", "needs at least one [ladders.<type>] table")
        ladders = {}
    found: dict[str, LadderSpec] = {}
    for name, raw in ladders.items():
        spec = reader.ladder(name, raw)
        if spec is not None:
            found[name] = spec
    if reader.problems:
        raise LadderFileError(reader.problems)
    found.setdefault(DEFAULT_LADDER, fallback_ladder())
    return found


def ladders_file(path: Path | str | None = None) -> Path:
    """The ladders file of a policy folder (the default pack's when it has none), or ``path``
    itself when it names a file."""
    if path is None:
        return DEFAULT_LADDERS
    path = Path(path)
    if path.is_dir():
        inside = path / LADDERS_FILE
        return inside if inside.exists() else DEFAULT_LADDERS
    return path


def load_ladders(path: Path | str | None = None) -> dict[str, LadderSpec]:
    """Every ladder by finding type, plus ``default``; see :func:`ladders_file` for ``path``."""
    file = ladders_file(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise LadderFileError([f"{file}: cannot read: {exc.strerror}"]) from None
    return read_ladders(text, str(file))


__all__ = [
    "DEFAULT_LADDERS",
    "LADDERS_FILE",
    "LadderFileError",
    "ladders_file",
    "load_ladders",
    "parse_duration",
    "read_ladders",
]
