"""Fuzzing the ingest path end to end, on SQLite and PostgreSQL: whatever a connector gives for a
mutated file goes through ``ingest_records`` into the store. The run completes, every record
read is accepted or quarantined (``records == accepted + quarantined``), and every quarantined
record and file flag is stored with its file, its line or field, and its reason.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from recoup.adapters.connectors.base import FileFormat, ParseContext
from recoup.adapters.connectors.jsonl import JsonLinesReader
from recoup.adapters.connectors.registry import file_formats
from recoup.adapters.store import tables as t
from recoup.bootstrap import App
from recoup.services.ingest import Item, RawRecord, ingest_records
from tests.fuzz import (
    FIXTURES,
    GENERIC_SAMPLE,
    SHARED,
    WEBHOOK_SAMPLES,
    check_items,
    check_rejection,
    fuzz_settings,
    mutated,
    samples,
)

LABEL = "fuzz/upload.dat"

FILES: dict[str, list[Path]] = {
    "mt940": samples(FIXTURES / "mt940", patterns=("*.txt",),
                     keep=lambda p: not p.name.startswith("LICENSE")),
    "bai2": samples(FIXTURES / "bai2", SHARED / "bai2", patterns=("*.bai2", "*.txt"),
                    keep=lambda p: not p.name.startswith("LICENSE")),
    "ach": samples(FIXTURES / "ach", patterns=("*.ach",)),
    "camt.053": samples(FIXTURES / "iso20022", patterns=("camt053*.xml",)),
    "camt.054": samples(FIXTURES / "iso20022", patterns=("camt054*.xml",)),
    "pain.002": samples(FIXTURES / "iso20022", patterns=("pain002*.xml",)),
    "csv:generic-bank": [FIXTURES / "csv" / "generic-bank.csv"],
    "csv:paypal-activity": [FIXTURES / "csv" / "paypal-activity.csv"],
    **WEBHOOK_SAMPLES,
}  # fmt: skip
CANONICAL = (
    b'{"source": "erp", "external_id": "a1", "type": "invoice.created", '
    b'"occurred_at": "2026-10-01T12:00:00Z", "amount": "10.00", "currency": "EUR"}\n'
)

WHOLE_INPUT = frozenset({"empty", "empty_file", "invalid_json", "truncated", "invalid_encoding",
                         "invalid_payload"})  # fmt: skip
"""Codes of refusals of a whole input (see the fuzz tests of each family): stored with the file
alone."""


@st.composite
def uploads(draw: st.DrawFn) -> tuple[str, bytes]:
    """(format name, mutated file); ``jsonl`` is canonical JSON Lines."""
    name = draw(st.sampled_from(["jsonl", "generic-webhooks", *sorted(FILES)]))
    if name == "jsonl":
        base = CANONICAL * 3
    elif name == "generic-webhooks":
        base = GENERIC_SAMPLE
    else:
        base = draw(st.sampled_from(FILES[name])).read_bytes()
    return name, draw(mutated(base))


def _items(app: App, name: str, data: bytes) -> tuple[Iterable[Item], str]:
    if name == "jsonl":
        reader = JsonLinesReader(path=Path("-"), label=LABEL)
        return reader.records(io.BytesIO(data)), "canonical"
    fmt: FileFormat = file_formats()[name]
    context = ParseContext(label=LABEL, received_at=app.clock.now())
    return fmt.parse(data, context), fmt.name


def test_any_mutated_file_is_stored_as_events_or_located_quarantine(app: App) -> None:
    @fuzz_settings(max_examples=max(5, settings.get_profile("fuzz").max_examples // 2))
    @given(uploads())
    @example(("bai2", b"01,A,B,150716,0713,1,,,2/\n02,B,C,1,150715,2340,GBP,2/\n"
                      b"03,7,GBP,010,1\x0000,,,/\n16,191,1\x00,V,150715,,1,R/\n"))  # fmt: skip
    @example(("generic-webhooks", b'[{"' + b"k" * 300 + b'": 1}]'))
    def ingest(upload: tuple[str, bytes]) -> None:
        name, data = upload
        items, format_name = _items(app, name, data)

        whole = _whole(name, data)

        report = ingest_records(_checked(items, whole), uow=app.uow, clock=app.clock,
                                detectors=app.detectors, policy=app.policy, label=LABEL,
                                format_name=format_name, batch_size=50)  # fmt: skip

        assert report.records == report.accepted + report.quarantined
        for rejection in report.first_rejections:  # canonical lines are parsed inside ingest
            check_rejection(rejection, LABEL, whole)
        run, quarantined, flags = _stored(app, report.run_id)
        assert (run.status, run.lines_read, run.quarantined) == (
            "completed", report.records, report.quarantined,
        )  # fmt: skip
        # A quarantined record is stored once per content; see the test below for how a row
        # seen again keeps its location.
        assert all(row.label == LABEL and row.code and row.reason.strip() for row in quarantined)
        assert all(row.label == LABEL and row.code and row.reason.strip() for row in flags)

    ingest()


def _checked(items: Iterable[Item], whole: frozenset[str]) -> Iterator[Item]:
    """``items`` as they go into ingest, each checked as the connector gave it."""
    for item in items:
        if not isinstance(item, RawRecord):
            check_items([item], LABEL, whole_input_codes=whole)
        yield item


def _whole(name: str, data: bytes) -> frozenset[str]:
    """The codes that may refuse ``data`` as a whole: a generic body that is JSON but neither an
    object nor an array is refused by the canonical schema, with no field to name."""
    if name == "generic-webhooks" and not data.lstrip(b" \t\r\n\xef\xbb\xbf").startswith(
        (b"{", b"[")
    ):
        return WHOLE_INPUT | {"invalid_field"}
    return WHOLE_INPUT


def test_a_record_seen_again_is_stored_with_the_location_and_reason_of_the_same_sighting(
    app: App,
) -> None:
    # given the same bytes refused first as a JSON line (at line 3), then as an MT940 file
    first = ingest_records(
        [RawRecord(b"x", LABEL, 3)], uow=app.uow, clock=app.clock, detectors=app.detectors,
        label=LABEL,
    )  # fmt: skip
    context = ParseContext(label="other.sta", received_at=app.clock.now())
    again = ingest_records(file_formats()["mt940"].parse(b"x", context), uow=app.uow,
                           clock=app.clock, detectors=app.detectors, label="other.sta",
                           format_name="mt940")  # fmt: skip
    assert (first.quarantined, again.quarantined) == (1, 1)

    (row,) = _stored(app, again.run_id)[1]

    # then the row says where and why of one sighting, not the line of one and reason of another
    (rejection,) = again.first_rejections
    assert (row.format, row.label, row.line, row.field, row.code, row.reason) == (
        "mt940", "other.sta", rejection.location.line, rejection.location.field,
        rejection.code, rejection.reason,
    )  # fmt: skip


def _stored(app: App, run_id: str) -> tuple[Any, list[Any], list[Any]]:
    """The run's row, its quarantined records and its file flags, as stored."""
    with app.engine.connect() as conn:
        run = conn.execute(sa.select(t.ingest_runs).where(t.ingest_runs.c.id == run_id)).one()
        quarantined = conn.execute(
            sa.select(t.quarantine).where(t.quarantine.c.run_id == run_id)
        ).all()
        flags = conn.execute(sa.select(t.file_flags).where(t.file_flags.c.run_id == run_id)).all()
    return run, list(quarantined), list(flags)
