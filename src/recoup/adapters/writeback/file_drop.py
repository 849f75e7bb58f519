"""Writeback by file drop: one file per request in a folder an ERP import job watches.

The file is named from the idempotency key, so every attempt of one change targets the same
file and a replay finds it: the same content already there is ``confirmed`` without writing
again; a different content under the same key is ``terminal`` (the key was reused for another
change, which must not silently replace the first).

A file appears whole or not at all: it is written to a hidden temporary file in the same folder
(``.recoup-tmp-*``, which import jobs should ignore), flushed to disk, and renamed into place
with ``os.replace``, atomic on POSIX and Windows within one file system.

Formats:

- ``json``: :meth:`WritebackRequest.to_json` and a newline (sorted keys, decimals as strings).
- ``csv``: RFC 4180, UTF-8, CRLF line ends, a header row and one data row: the columns
  ``recoup_request_id, recoup_case_id, recoup_target, recoup_operation,
  recoup_idempotency_key``, then one column per payload key in sorted order. Decimals are
  written as they are (``25.00``), ``None`` as an empty field, a nested list or object as JSON.

File names: the key itself when it is a safe name (letters, digits, ``.``, ``_``, ``-``, at
most 100, starting with a letter or digit), else the key with every other character replaced
by ``_``, leading ``.``, ``_`` and ``-`` dropped (no hidden files), cut to 80, plus ``-`` and
the first 16 hex digits of its SHA-256 (so two keys that differ only in unsafe characters
never share a file); then ``.json`` or ``.csv``.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
import os
import re
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from recoup.domain.errors import ConfigurationError
from recoup.domain.recovery.writeback import (
    CONFIRMED,
    RETRY,
    TERMINAL,
    WritebackRequest,
    WritebackResult,
    WritebackStatus,
)

FileFormat = Literal["json", "csv"]
FIXED_COLUMNS = (
    "recoup_request_id",
    "recoup_case_id",
    "recoup_target",
    "recoup_operation",
    "recoup_idempotency_key",
)
TEMP_PREFIX = ".recoup-tmp-"
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_UNSAFE_CHAR = re.compile(r"[^A-Za-z0-9._-]")
# Failures that no retry can cure: the folder is not writable or not a folder.
_TERMINAL_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EISDIR, errno.EROFS})


def file_name(idempotency_key: str, file_format: FileFormat) -> str:
    """The name of the file that holds the request with ``idempotency_key``."""
    if _SAFE_NAME.fullmatch(idempotency_key):
        stem = idempotency_key
    else:
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]
        cleaned = _UNSAFE_CHAR.sub("_", idempotency_key).lstrip("._-")[:80]
        stem = f"{cleaned}-{digest}" if cleaned else digest
    return f"{stem}.{file_format}"


def render(request: WritebackRequest, file_format: FileFormat) -> bytes:
    """The file content for ``request``; the same request always gives the same bytes.
    Raises ``TypeError`` or ``ValueError`` for a payload the format cannot hold."""
    if file_format == "json":
        return request.to_json() + b"\n"
    clash = sorted(set(FIXED_COLUMNS) & set(request.payload))
    if clash:
        raise ValueError(f"payload key {clash[0]!r} clashes with a fixed CSV column")
    keys = sorted(request.payload)
    fixed = [
        request.id,
        request.case_id,
        request.target,
        request.operation,
        request.idempotency_key,
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*FIXED_COLUMNS, *keys])
    writer.writerow([*fixed, *(_cell(request.payload[key]) for key in keys)])
    return out.getvalue().encode()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | Decimal):
        return str(value)
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return str(value)


class FileDropWriteback:
    """A :class:`~recoup.domain.recovery.writeback.WritebackPort` writing into ``folder``,
    which must exist (it is not created: a typo should fail at start-up, not fill a new
    folder nobody imports from)."""

    def __init__(self, folder: str | os.PathLike[str], file_format: FileFormat = "json") -> None:
        self._folder = Path(folder)
        if file_format not in ("json", "csv"):
            raise ConfigurationError(
                f"writeback file format {file_format!r} is not one of 'json', 'csv'"
            )
        if not self._folder.is_dir():
            raise ConfigurationError(f"writeback folder {str(self._folder)!r} is not a folder")
        self._format: FileFormat = file_format

    def __repr__(self) -> str:
        return f"FileDropWriteback(folder={str(self._folder)!r}, format={self._format!r})"

    def path_for(self, request: WritebackRequest) -> Path:
        return self._folder / file_name(request.idempotency_key, self._format)

    def deliver(self, request: WritebackRequest) -> WritebackResult:
        try:
            content = render(request, self._format)
        except (TypeError, ValueError) as exc:
            return WritebackResult(
                TERMINAL,
                f"writeback {request.id}: payload cannot be written as {self._format}: {exc}",
            )
        path = self.path_for(request)
        try:
            existing = path.read_bytes()
        except FileNotFoundError:
            existing = None
        except OSError as exc:
            return _failure(path, exc)
        if existing is not None:
            if existing == content:
                return WritebackResult(CONFIRMED, f"{path} already written", reference=path.name)
            return WritebackResult(
                TERMINAL,
                f"{path} already holds a different request under idempotency key "
                f"{request.idempotency_key!r}; not overwritten",
                reference=path.name,
            )
        try:
            _write_atomically(path, content)
        except OSError as exc:
            return _failure(path, exc)
        return WritebackResult(CONFIRMED, f"wrote {path}", reference=path.name)


def _write_atomically(path: Path, content: bytes) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable where the platform allows opening a folder."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _failure(path: Path, exc: OSError) -> WritebackResult:
    status: WritebackStatus = TERMINAL if exc.errno in _TERMINAL_ERRNOS else RETRY
    return WritebackResult(status, f"cannot write {path}: {exc.strerror or exc}")


__all__ = [
    "FIXED_COLUMNS",
    "TEMP_PREFIX",
    "FileDropWriteback",
    "FileFormat",
    "file_name",
    "render",
]
