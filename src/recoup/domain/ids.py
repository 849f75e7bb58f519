"""Identifiers. Ids that follow from a natural key are derived (uuid5) so that re-running the
same input produces the same rows: that is what makes ingest and detection idempotent."""

from __future__ import annotations

import hashlib
import uuid

NAMESPACE = uuid.UUID("2d0e3c1a-7b3f-4f8e-9d55-3b1c1a0f6e21")
"""The UUID v5 namespace of every derived id (SQL that derives ids must use the same)."""
_NAMESPACE = NAMESPACE


def uuid5_str(namespace: uuid.UUID, name: str) -> str:
    """``str(uuid.uuid5(namespace, name))`` without building UUID objects: this runs several
    times per event on the ingest path. A unit test holds it equal to the standard library."""
    digest = bytearray(hashlib.sha1(namespace.bytes + name.encode("utf-8")).digest()[:16])  # noqa: S324 - RFC 4122 v5 is SHA-1 by definition
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    return dashed(digest.hex())


def dashed(h: str) -> str:
    """A UUID's 32 hex digits in the usual 8-4-4-4-12 form (how ids are spoken everywhere but
    in SQLite's columns, which keep the digits alone)."""
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def derived_id(*parts: str) -> str:
    """A stable id for the thing named by ``parts`` (for example a finding's type and trigger)."""
    return uuid5_str(_NAMESPACE, "\x1f".join(parts))


def short_id(full: str) -> str:
    """The first 8 hex digits: how people quote a case id."""
    return full.replace("-", "")[:8]
