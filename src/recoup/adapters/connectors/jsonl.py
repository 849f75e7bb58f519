"""JSON Lines files of canonical events: one record per line, read as a stream.

Lines keep their numbers (1-based, blank lines included) so every rejection can point at the
exact line; blank lines are skipped and counted, never treated as records.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from recoup.domain.errors import InvalidInputError, Location
from recoup.services.ingest import RawRecord


@dataclass
class JsonLinesReader:
    path: Path
    label: str
    bytes_read: int = 0
    blank_lines: int = 0
    size: int | None = None

    @classmethod
    def open(cls, path: Path) -> JsonLinesReader:
        if str(path) != "-":
            if not path.exists():
                raise InvalidInputError("file not found", location=Location(file=str(path)))
            if path.is_dir():
                raise InvalidInputError("is a folder, not a file", location=Location(str(path)))
            size: int | None = path.stat().st_size
        else:
            size = None
        return cls(path=path, label=str(path), size=size)

    def records(self, stream: BinaryIO | None = None) -> Iterator[RawRecord]:
        if stream is not None:
            yield from self._read(stream)
            return
        with self.path.open("rb") as handle:
            yield from self._read(handle)

    def _read(self, handle: BinaryIO) -> Iterator[RawRecord]:
        for number, line in enumerate(handle, start=1):
            self.bytes_read += len(line)
            data = line.rstrip(b"\r\n")
            if not data.strip():
                self.blank_lines += 1
                continue
            yield RawRecord(data=data, file=self.label, line=number)
