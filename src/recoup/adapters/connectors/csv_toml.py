"""Reading the tables of a TOML profile, with errors that name the file and the key."""

from __future__ import annotations

import difflib
from typing import Any

from recoup.adapters.connectors.csv_profile import Columns
from recoup.domain.errors import InvalidInputError, Location


class TomlTable:
    """One TOML table of a profile being read. ``allow`` refuses unknown keys first (with a
    did-you-mean), then each getter checks the type of its value; every error names the file
    and the dotted key."""

    def __init__(self, data: dict[str, Any], origin: str, path: str = "") -> None:
        self.data = data
        self.origin = origin
        self.path = path

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def fail(self, name: str, message: str) -> InvalidInputError:
        return InvalidInputError(message, location=Location(file=self.origin, field=self.key(name)))

    def get(self, name: str) -> Any:
        return self.data.get(name)

    def text(self, name: str, *, default: str | None = None, required: bool = False) -> str | None:
        value = self.get(name)
        if value is None:
            if required:
                raise self.fail(name, f"missing required key '{self.key(name)}'")
            return default
        if not isinstance(value, str) or (not value and required):
            raise self.fail(name, f"'{self.key(name)}' must be a non-empty string")
        return value

    def required_text(self, name: str) -> str:
        value = self.text(name, required=True)
        assert value is not None
        return value

    def texts(self, name: str, *, allow_empty: bool = False) -> tuple[str, ...] | None:
        """A string or a list of strings."""
        value = self.get(name)
        if value is None:
            return None
        items = [value] if isinstance(value, str) else value
        if (
            not isinstance(items, list)
            or not all(isinstance(item, str) and item.strip() for item in items)
            or not (items or allow_empty)
        ):
            raise self.fail(name, f"'{self.key(name)}' must be a string or a list of strings")
        return tuple(items)

    def columns(self, name: str, *, required: bool = False) -> Columns | None:
        value = self.texts(name)
        if value is None and required:
            raise self.fail(name, f"missing required mapping '{self.key(name)}' (a column name)")
        return value

    def integer(self, name: str, default: int, minimum: int) -> int:
        value = self.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(name, f"'{self.key(name)}' must be a whole number >= {minimum}")
        return value

    def choice(self, name: str, options: dict[str, str] | tuple[str, ...], default: str) -> str:
        value = self.get(name)
        if value is None:
            return default
        if not isinstance(value, str) or value.lower() not in options:
            allowed = ", ".join(repr(option) for option in options)
            raise self.fail(name, f"'{self.key(name)}' is {value!r}; allowed: {allowed}")
        return options[value.lower()] if isinstance(options, dict) else value.lower()

    def table(self, name: str, *, required: bool = False) -> TomlTable | None:
        value = self.get(name)
        if value is None:
            if required:
                raise self.fail(name, f"missing required table [{self.key(name)}]")
            return None
        if not isinstance(value, dict):
            raise self.fail(name, f"'{self.key(name)}' must be a table")
        return TomlTable(value, self.origin, self.key(name))

    def allow(self, *known: str) -> TomlTable:
        """Refuse any key not in ``known``."""
        for name in self.data:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f" (did you mean '{self.key(close[0])}'?)" if close else ""
                listed = ", ".join(known)
                raise self.fail(name, f"unknown key '{self.key(name)}'{hint}; known: {listed}")
        return self


__all__ = ["TomlTable"]
