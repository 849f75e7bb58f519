"""CSV exports (PayPal activity, bank statements, your own) read through a mapping profile.

A CSV file says nothing about what its columns mean, so the ``csv`` format needs a
:class:`CsvProfile` (a TOML file, see ``docs/csv-profiles.md``): ``CsvFormat(load_profile(path))``.
The profiles that ship with Recoup are in :func:`builtin_profiles` and their formats, named
``csv:<profile>``, in :data:`FORMATS`; each recognises its export by the header row.

Reading is a stream: the bytes are decoded incrementally and the rows come one at a time from
:mod:`csv`, each mapped as it is read. Every data row becomes exactly one :class:`Event` or one
:class:`Rejection` located by the file label, the physical line where the row starts (a quoted
field may span lines) and the column. Lines before the header, blank lines and rows whose cells
are all empty are not records and are skipped; a summary row the profile names
(``file.summary_labels``) is not a record either and is reported as a ``summary_row`` file flag.
How rows without an id column get a stable external id is explained in
:mod:`recoup.adapters.connectors.csv_rows`.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Iterator
from functools import cache
from importlib import resources
from itertools import chain

from recoup.adapters.connectors.base import FileFlag, Item, ParseContext
from recoup.adapters.connectors.csv_loader import load_profile, parse_profile
from recoup.adapters.connectors.csv_profile import CsvProfile
from recoup.adapters.connectors.csv_rows import RowMapper, header_key
from recoup.domain.errors import Location
from recoup.domain.ingestion.canonical import Rejection

BUILTIN = ("paypal-activity", "generic-bank")
_CANDIDATES = (",", ";", "\t", "|")
_SLICE = 1 << 20
_SURROGATE = re.compile("[\udc80-\udcff]")


def _detect_delimiter(line: str) -> str:
    """The candidate that splits the header line most often (a comma when none does)."""
    counts = [line.count(candidate) for candidate in _CANDIDATES]
    best = max(range(len(_CANDIDATES)), key=counts.__getitem__)
    return _CANDIDATES[best] if counts[best] else ","


def _decodes(data: bytes, encoding: str) -> bool:
    """Is all of ``data`` valid in ``encoding``? Checked in slices, keeping no decoded text."""
    if data.isascii():
        return True
    decoder = codecs.getincrementaldecoder(encoding)()
    view = memoryview(data)
    try:
        for start in range(0, len(view), _SLICE):
            decoder.decode(view[start : start + _SLICE])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _tracked(lines: Iterable[str], taken: list[str]) -> Iterator[str]:
    """Hand lines to the csv reader, remembering those it takes for the row being read."""
    for line in lines:
        taken.append(line)
        yield line


class CsvFormat:
    """The ``csv`` file format, bound to one profile."""

    def __init__(self, profile: CsvProfile) -> None:
        self.profile = profile
        self.name = f"csv:{profile.name}"
        self.description = profile.description

    def __repr__(self) -> str:
        return f"CsvFormat({self.profile.name!r})"

    # --- sniffing -------------------------------------------------------------------------------

    def sniff(self, name: str, head: bytes) -> bool:
        """Does the header row (where the profile puts it) hold every column the profile needs?"""
        try:
            return self._sniff(head)
        except Exception:  # the contract: sniffing never raises
            return False

    def _sniff(self, head: bytes) -> bool:
        spec = self.profile.file
        encoding = "utf-8" if spec.encoding == "utf-8-sig" else spec.encoding
        text = head.decode(encoding, errors="replace").removeprefix("\ufeff")
        lines = io.StringIO(text, newline="").readlines()[spec.header_line - 1 :]
        while lines and not lines[0].strip():
            lines.pop(0)
        if not lines:
            return False
        delimiter = spec.delimiter if spec.delimiter != "auto" else _detect_delimiter(lines[0])
        header = next(csv.reader(lines, delimiter=delimiter, quotechar=spec.quote), [])
        names = {header_key(cell) for cell in header}
        required = self.profile.required_columns()
        return bool(required) and all(
            any(header_key(name) in names for name in columns) for columns in required
        )

    # --- parsing --------------------------------------------------------------------------------

    def parse(self, data: bytes, context: ParseContext) -> Iterator[Item]:
        """Every data row as one event or one rejection; file flags for the rest."""
        spec = self.profile.file
        label = context.label
        encoding = spec.encoding
        if encoding == "utf-8" and data.startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"
        errors = "strict" if _decodes(data, encoding) else "surrogateescape"
        stream = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, errors=errors, newline="")
        lines = iter(stream)
        line_no = 0
        for _ in range(spec.header_line - 1):
            if next(lines, None) is None:
                break
            line_no += 1
        first = None
        for line in lines:
            if line.strip():
                first = line
                break
            line_no += 1
        if first is None:
            where = f" on or after line {spec.header_line}" if spec.header_line > 1 else ""
            reason = f"no header row{where}: the file holds no rows"
            yield FileFlag(Location(label), "no_header", reason)
            return
        delimiter = spec.delimiter if spec.delimiter != "auto" else _detect_delimiter(first)
        taken: list[str] = []
        reader = csv.reader(
            _tracked(chain([first], lines), taken), delimiter=delimiter, quotechar=spec.quote
        )
        header_line = line_no + 1
        try:
            header = next(reader)
        except csv.Error as exc:
            yield FileFlag(Location(label, header_line), "bad_header", f"header row: {exc}")
            header = []
        line_no += len(taken)
        taken.clear()
        mapper = RowMapper(
            self.profile,
            header,
            label=label,
            source=context.source,
            received_at=context.received_at,
        )
        if mapper.missing:
            missing = ", ".join(mapper.missing)
            yield FileFlag(
                Location(label, header_line),
                "missing_columns",
                f"the header has no column {missing}, which profile "
                f"{self.profile.name} needs: every row is rejected",
            )
        check = errors == "surrogateescape"
        while True:
            problem = ""
            try:
                row: list[str] | None = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                row, problem = None, f"not valid CSV: {exc}"
            start = line_no + 1
            line_no += len(taken)
            raw = "".join(taken).rstrip("\r\n")
            span = len(taken)
            taken.clear()
            if row is None:
                yield Rejection(
                    Location(label, start),
                    "invalid_csv",
                    problem,
                    self._printable(raw, encoding, check),
                )
                continue
            if not "".join(row).strip():
                continue
            if check and _SURROGATE.search(raw):
                yield self._bad_bytes(raw, encoding, Location(label, start))
                continue
            if span > 1 and raw.count(spec.quote) % 2:
                reason = (
                    f"a quoted field opened on line {start} is never closed: lines "
                    f"{start}-{start + span - 1} were read as one row"
                )
                yield Rejection(Location(label, start), "invalid_csv", reason, raw)
                continue
            try:
                item = mapper.map(row, start, raw)
            except Exception as exc:  # a bug must not lose the row or stop the file
                reason = f"connector error: {type(exc).__name__}: {exc}"
                item = Rejection(Location(label, start), "connector_error", reason, raw)
            yield item

    @staticmethod
    def _printable(raw: str, encoding: str, check: bool) -> str:
        if not check:
            return raw
        base = "utf-8" if encoding == "utf-8-sig" else encoding
        return raw.encode(base, "surrogateescape").decode(base, "backslashreplace")

    def _bad_bytes(self, raw: str, encoding: str, location: Location) -> Rejection:
        match = _SURROGATE.search(raw)
        assert match is not None
        byte = ord(match.group()) - 0xDC00
        base = "utf-8" if encoding == "utf-8-sig" else encoding
        reason = f"not valid {base}: byte 0x{byte:02X} (profile {self.profile.name} says {base})"
        return Rejection(location, "invalid_encoding", reason, self._printable(raw, base, True))


# --- the profiles that ship with Recoup ---------------------------------------------------------


def builtin_profiles() -> dict[str, CsvProfile]:
    """The ready-made profiles, by name: ``paypal-activity`` and ``generic-bank``."""
    return dict(_builtin_profiles())


@cache
def _builtin_profiles() -> dict[str, CsvProfile]:
    folder = resources.files("recoup.adapters.connectors").joinpath("profiles")
    profiles = {}
    for name in BUILTIN:
        text = folder.joinpath(f"{name}.toml").read_text(encoding="utf-8")
        profiles[name] = parse_profile(text, origin=f"{name}.toml (built in)", default_name=name)
    return profiles


FORMATS: tuple[CsvFormat, ...] = tuple(CsvFormat(p) for p in builtin_profiles().values())

__all__ = ["FORMATS", "CsvFormat", "CsvProfile", "builtin_profiles", "load_profile"]
