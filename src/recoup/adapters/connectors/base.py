"""What every file connector is: a format that can recognise its files and turn one into
canonical events, located rejections and file-level flags.

A connector never raises on bad input and never drops a record: every record of the file ends as
exactly one :class:`Event` or one :class:`Rejection` (which goes to quarantine), so
``read == accepted + quarantined`` holds for files as it does for JSON Lines. Problems that concern
the file as a whole and do not lose a record (a statement whose balances do not add up) are
:class:`FileFlag` values, reported and stored beside the run.

Connectors build events with :func:`recoup.domain.ingestion.canonical.build_event`, which applies
the canonical schema and rules, masks card numbers and keeps the source record as evidence.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from recoup.domain.ingestion.canonical import Rejection
from recoup.domain.ingestion.event import Event
from recoup.domain.ingestion.flags import FileFlag

__all__ = ["FileFlag", "FileFormat", "Item", "ParseContext"]

Item = Event | Rejection | FileFlag


@dataclass(frozen=True, slots=True)
class ParseContext:
    """Where the bytes came from. ``label`` names the file in every location; ``source``, when
    given, overrides the source name the connector would choose (``bank:<account>``, ...)."""

    label: str
    received_at: datetime
    source: str | None = None


class FileFormat(Protocol):
    """One file format. ``name`` is what ``recoup ingest --format`` accepts."""

    name: str
    description: str

    def sniff(self, name: str, head: bytes) -> bool:
        """Is this (file name, first 4 KiB) one of ours? Cheap, and never raises."""
        ...

    def parse(self, data: bytes, context: ParseContext) -> Iterator[Item]:
        """Every record of the file as an event or a rejection, plus any file flags."""
        ...
