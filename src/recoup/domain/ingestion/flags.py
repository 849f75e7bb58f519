"""File flags: problems with a whole file or statement that lose no record."""

from __future__ import annotations

from dataclasses import dataclass

from recoup.domain.errors import Location


@dataclass(frozen=True, slots=True)
class FileFlag:
    """For example a statement whose opening balance plus entries is not its closing balance,
    or a batch whose control totals do not match. The records are still ingested; the flag is
    stored with the run and shown to the user."""

    location: Location
    code: str
    reason: str

    def __post_init__(self) -> None:
        # The reason quotes the file; a NUL character in it (which PostgreSQL text cannot hold)
        # is shown as U+FFFD so the flag can be stored.
        if "\x00" in self.reason:
            object.__setattr__(self, "reason", self.reason.replace("\x00", "\ufffd"))

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"
