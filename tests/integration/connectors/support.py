"""What the connector tests share: where the samples are, how a parse is split into events,
rejections and flags, and the checks every "never raises" property makes.

Each test file keeps its own expectations (counts, amounts, codes); only the scaffolding is here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from recoup.adapters.connectors.base import FileFlag, Item
from recoup.domain.ingestion.canonical import Rejection
from recoup.domain.ingestion.cards import mask_card_numbers
from recoup.domain.ingestion.event import SOURCE_PATTERN, Event

FIXTURES_ROOT = Path(__file__).resolve().parents[2] / "fixtures"
"""``tests/fixtures``: the samples copied into the project, one folder per format."""

SHARED_ROOT = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures"
"""The team's shared sample collection beside the checkout; tests that read it skip when it is
not there."""

Result = Event | Rejection
"""What a webhook mapper returns for each payload."""


def stored(text: str) -> str:
    """What canonical ingestion keeps of a value in attributes or raw (card-number masking)."""
    return mask_card_numbers(text)


# --- file formats -------------------------------------------------------------------------------


@dataclass
class Parsed:
    """The items of one parse, split by kind."""

    items: list[Item]

    @property
    def events(self) -> list[Event]:
        return [item for item in self.items if isinstance(item, Event)]

    @property
    def rejections(self) -> list[Rejection]:
        return [item for item in self.items if isinstance(item, Rejection)]

    @property
    def flags(self) -> list[FileFlag]:
        return [item for item in self.items if isinstance(item, FileFlag)]

    def of_type(self, kind: str) -> list[Event]:
        return [event for event in self.events if event.type == kind]

    @property
    def lines(self) -> list[Event]:
        return self.of_type("bank.statement_line")

    @property
    def balances(self) -> list[Event]:
        return self.of_type("bank.balance")

    def balance(self, external_id_end: str) -> Event:
        """The one balance whose external id ends with ``external_id_end``."""
        (found,) = [b for b in self.balances if b.external_id.endswith(external_id_end)]
        return found


def sample_params(
    copies: Path,
    shared: Path,
    pattern: str,
    *,
    copy_id: str = "copy",
    keep: Callable[[Path], bool] = lambda path: True,
) -> list[Any]:
    """The samples copied into the project, then those of the shared collection (one skipped
    parameter saying so when it is not there), each with an id naming where it came from."""
    params = [
        pytest.param(p, id=f"{copy_id}/{p.name}") for p in sorted(copies.glob(pattern)) if keep(p)
    ]
    if shared.is_dir():
        params += [
            pytest.param(p, id=f"shared/{p.name}") for p in sorted(shared.glob(pattern)) if keep(p)
        ]
    else:
        params.append(
            pytest.param(
                None, marks=pytest.mark.skip(reason=f"shared samples not present at {shared}")
            )
        )
    return params


def assert_only_items(items: Iterable[Item], label: str) -> None:
    """Only events, rejections and flags came out, and every rejection and flag names the file."""
    for item in items:
        assert isinstance(item, Event | Rejection | FileFlag), item
        if not isinstance(item, Event):
            assert item.location.file == label


def assert_statement_events(events: Sequence[Event]) -> None:
    """Bank statement events are lines or balances, of a valid source, each key used once."""
    for event in events:
        assert event.type in ("bank.statement_line", "bank.balance")
        assert re.fullmatch(SOURCE_PATTERN, event.source)
    ids = [(e.source, e.external_id) for e in events]
    assert len(ids) == len(set(ids))


def assert_sample_counts(parsed: Parsed, expected: tuple[int, int, int, list[str]]) -> None:
    """``expected``: (statement lines, balances, rejections, flag codes in order)."""
    lines, balances, rejections, flags = expected
    assert (len(parsed.lines), len(parsed.balances), len(parsed.rejections)) == (
        lines,
        balances,
        rejections,
    )
    assert [f.code for f in parsed.flags] == flags


PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
"""The budget of the bank-file properties that parse whole files."""

BYTE_EDITS = st.lists(
    st.tuples(st.floats(0, 1, exclude_max=True), st.binary(max_size=3)), max_size=8
)
"""Edits for :func:`edited`: where (a fraction of the length) and the bytes put there."""


def edited(data: bytes, edits: list[tuple[float, bytes]]) -> bytes:
    """``data`` with the byte at each edit replaced by the edit's bytes (no bytes: deleted)."""
    mutated = bytearray(data)
    for where, replacement in edits:
        position = int(len(mutated) * where)
        mutated[position : position + 1] = replacement
    return bytes(mutated)


# --- webhooks -----------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
"""Any JSON value, small: what a mutated field of a webhook body may hold."""


def only_event(results: Sequence[Result]) -> Event:
    assert len(results) == 1, results
    event = results[0]
    assert isinstance(event, Event), event
    return event


def assert_results(results: Sequence[object]) -> None:
    """Something came out, and only events and rejections."""
    assert results
    assert all(isinstance(r, Event | Rejection) for r in results)


def assert_no_mapping_error(results: Iterable[object]) -> None:
    """Only events and rejections, and no rejection hides a mapper bug."""
    for result in results:
        assert isinstance(result, Event | Rejection)
        if isinstance(result, Rejection):
            assert result.code != "mapping_error", result


def assert_well_formed(results: Sequence[object], label: str, source: str) -> None:
    """Every result is an event of ``source`` or a located rejection; a mapper bug never hides
    as one."""
    assert results, f"{label}: nothing came out"
    for result in results:
        if isinstance(result, Rejection):
            assert result.location.file == label
            assert result.code != "mapping_error", result
            assert result.reason
        else:
            assert isinstance(result, Event)
            assert result.source == source
            assert result.occurred_at.tzinfo is not None


__all__ = [
    "BYTE_EDITS",
    "FIXTURES_ROOT",
    "JSON_VALUES",
    "PROPERTY",
    "SHARED_ROOT",
    "Parsed",
    "Result",
    "assert_no_mapping_error",
    "assert_only_items",
    "assert_results",
    "assert_sample_counts",
    "assert_statement_events",
    "assert_well_formed",
    "edited",
    "only_event",
    "sample_params",
    "stored",
]
