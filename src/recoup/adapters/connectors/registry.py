"""Every file format Recoup reads, and how a file's format is recognised.

Detection asks each format, most specific first, whether it recognises the file's name and first
4 KiB; canonical JSON Lines is the last resort. ``--format`` skips detection.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module

from recoup.adapters.connectors.base import FileFormat
from recoup.domain.errors import InvalidInputError

CANONICAL = "jsonl"
SNIFF_BYTES = 4096

# Modules that expose FORMATS, in detection order: the most specific signatures first.
_MODULES = (
    "recoup.adapters.connectors.bankfiles.iso20022",
    "recoup.adapters.connectors.bankfiles.mt940",
    "recoup.adapters.connectors.bankfiles.bai2",
    "recoup.adapters.connectors.bankfiles.ach",
    "recoup.adapters.connectors.webhooks.stripe",
    "recoup.adapters.connectors.webhooks.shopify",
    "recoup.adapters.connectors.webhooks.adyen",
    "recoup.adapters.connectors.webhooks.paypal",
    "recoup.adapters.connectors.csvfiles",
    "recoup.adapters.connectors.webhooks.generic",
)


@cache
def file_formats() -> dict[str, FileFormat]:
    formats: dict[str, FileFormat] = {}
    for module_name in _MODULES:
        for fmt in import_module(module_name).FORMATS:
            formats[fmt.name] = fmt
    return formats


def format_names() -> list[str]:
    return [CANONICAL, *file_formats()]


def get_format(name: str) -> FileFormat | None:
    """The format called ``name``; None means canonical JSON Lines."""
    if name == CANONICAL:
        return None
    try:
        return file_formats()[name]
    except KeyError:
        known = ", ".join(format_names())
        raise InvalidInputError(f"unknown format {name!r}; known formats: {known}") from None


def detect_format(name: str, head: bytes) -> FileFormat | None:
    """The format of a file from its name and first bytes; None means canonical JSON Lines."""
    for fmt in file_formats().values():
        if fmt.sniff(name, head):
            return fmt
    if _looks_canonical(name, head):
        return None
    raise InvalidInputError(
        f"cannot tell the format of {name}; give one with --format (`recoup formats` lists them)"
    )


def _looks_canonical(name: str, head: bytes) -> bool:
    if name.endswith((".jsonl", ".ndjson")):
        return True
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return text.startswith(b"{") and b'"external_id"' in text and b'"occurred_at"' in text
