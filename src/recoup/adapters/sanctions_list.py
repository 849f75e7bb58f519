"""Read a sanctions list in the layout of OFAC's public SDN CSV files.

``sdn.csv`` has no header; each row is

    ent_num, SDN_Name, SDN_Type, Program, Title, Call_Sign, Vess_type, Tonnage, GRT,
    Vess_flag, Vess_owner, Remarks

and ``alt.csv`` (alternate names) is

    ent_num, alt_num, alt_type, alt_name, alt_remarks

``-0-`` means empty. OFAC leaves SDN_Type empty for an entity (it is read as ``entity``), writes
several programmes as ``SDGT] [IRGC`` (read as ``SDGT, IRGC``), ends lines with CR LF and may end
the file with a Ctrl-Z byte; all of these are accepted. A malformed row is refused with an
:class:`InvalidInputError` naming the file and line, never skipped: a list that silently lost
entries would screen less than the operator thinks.

Recoup ships no list and never downloads one: the operator points
``RECOUP_DETECTION__SANCTIONS_LIST`` (and optionally ``..._SANCTIONS_ALT_NAMES``) at files they
keep current.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from recoup.domain.detection.sanctions import SanctionsEntry, SanctionsList
from recoup.domain.errors import InvalidInputError, Location

SDN_COLUMNS = (
    "ent_num", "SDN_Name", "SDN_Type", "Program", "Title", "Call_Sign", "Vess_type", "Tonnage",
    "GRT", "Vess_flag", "Vess_owner", "Remarks",
)  # fmt: skip
ALT_COLUMNS = ("ent_num", "alt_num", "alt_type", "alt_name", "alt_remarks")

EMPTY = "-0-"
END_OF_FILE = "\x1a"  # Ctrl-Z, which OFAC's files may end with
ENTITY = "entity"


def _decode(path: Path) -> str:
    """The file's text: UTF-8 (a BOM is dropped), else Windows-1252, which OFAC has used."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInputError(
            f"cannot read the sanctions list: {exc.strerror or exc}",
            location=Location(file=str(path)),
        ) from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _value(raw: str) -> str | None:
    """A field's text, or None for ``-0-`` or blank."""
    text = raw.strip()
    return None if text in ("", EMPTY) else text


def _rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each non-blank row, checking the column count."""
    reader = csv.reader(io.StringIO(_decode(path), newline=""), strict=True)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _error(path, reader.line_num, f"not valid CSV: {exc}") from None
        if not row or all(not field.strip(END_OF_FILE + " \t") for field in row):
            continue
        if len(row) != len(columns):
            raise _error(
                path,
                reader.line_num,
                f"expected {len(columns)} columns ({', '.join(columns)}), found {len(row)}",
            )
        yield reader.line_num, row


def _error(path: Path, line: int, message: str, field: str | None = None) -> InvalidInputError:
    return InvalidInputError(message, location=Location(file=str(path), line=line, field=field))


def _ent_num(path: Path, line: int, raw: str) -> str:
    text = raw.strip()
    if not (text.isascii() and text.isdigit()):
        raise _error(path, line, f"ent_num must be a whole number, not {text!r}", "ent_num")
    return str(int(text))


def _program(raw: str) -> str | None:
    """``SDGT] [IRGC`` (OFAC's spelling of several programmes) as ``SDGT, IRGC``."""
    text = _value(raw)
    if text is None:
        return None
    parts = [p.strip(" []") for p in text.split("] [")]
    return ", ".join(p for p in parts if p) or None


def read_sdn(path: Path) -> list[SanctionsEntry]:
    """The entries of an SDN-layout file, in file order, without aliases."""
    entries: list[SanctionsEntry] = []
    seen: dict[str, int] = {}
    for line, row in _rows(path, SDN_COLUMNS):
        uid = _ent_num(path, line, row[0])
        if uid in seen:
            raise _error(path, line, f"ent_num {uid} is listed twice (first on line {seen[uid]})",
                         "ent_num")  # fmt: skip
        seen[uid] = line
        name = _value(row[1])
        if name is None:
            raise _error(path, line, "SDN_Name is empty", "SDN_Name")
        kind = _value(row[2])
        entries.append(
            SanctionsEntry(
                uid=uid,
                name=name,
                type=kind.lower() if kind else ENTITY,
                program=_program(row[3]),
            )
        )
    return entries


def read_alt_names(path: Path, known: set[str] | None = None) -> dict[str, list[str]]:
    """ent_num -> its alternate names, from an ALT-layout file. With ``known``, an ent_num that
    is not in it is refused: the two files are from different releases."""
    aliases: dict[str, list[str]] = {}
    for line, row in _rows(path, ALT_COLUMNS):
        uid = _ent_num(path, line, row[0])
        if known is not None and uid not in known:
            raise _error(
                path,
                line,
                f"alternate name for ent_num {uid}, which is not in the list "
                "(are both files from the same release?)",
                "ent_num",
            )
        name = _value(row[3])
        if name is None:
            raise _error(path, line, "alt_name is empty", "alt_name")
        aliases.setdefault(uid, []).append(name)
    return aliases


def load_sanctions_list(path: Path, alt_names: Path | None = None) -> SanctionsList:
    """The list in ``path`` (SDN layout), each entry with its aliases from ``alt_names`` (ALT
    layout) when given. Raises ``InvalidInputError`` naming the file and line of a bad row, or
    the file when it cannot be read."""
    entries = read_sdn(path)
    if alt_names is not None:
        aliases = read_alt_names(alt_names, {e.uid for e in entries})
        entries = [
            SanctionsEntry(e.uid, e.name, e.type, e.program, tuple(aliases.get(e.uid, ())))
            for e in entries
        ]
    return SanctionsList(entries, source=path.name)


__all__ = ["load_sanctions_list", "read_alt_names", "read_sdn"]
