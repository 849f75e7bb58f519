"""Fuzzing every connector: the properties every input must keep, and the strategies that make
the inputs.

Each ``test_fuzz_<family>.py`` feeds its connectors three kinds of input: structurally valid
records with random values (edge amounts, currencies of exponent 0, 2 and 3, edge dates, unicode,
huge ids), real sample files mutated (:func:`mutated`: byte flips, truncation, lines or elements
duplicated and deleted, other encodings, oversized fields) and random bytes. Whatever comes in,
:func:`check_items` holds:

- parsing raises nothing (``sniff`` and ``parse`` are documented never to raise; format
  detection raises only :class:`~recoup.domain.errors.InvalidInputError`), and no rejection hides
  a caught bug (codes ``mapping_error``, ``parser_error``, ``connector_error``);
- every item is an :class:`Event`, a :class:`Rejection` or a :class:`FileFlag`;
- every rejection names the file, the line or the field (only a rejection of the whole input,
  such as an empty file, may name the file alone), and a reason;
- every event is normalised: id derived from (source, external id), UTC times, an amount that
  is a finite, non-negative ``Decimal`` fitting its currency, and a currency whenever there is an
  amount;
- everything can be stored: no NUL character, no unencodable text, no location field longer
  than the quarantine keeps;
- no parse hangs (:func:`bounded`).

The ``fuzz`` hypothesis profile (``conftest.py``) sets the budget.
"""

from __future__ import annotations

import json
import re
import signal
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

from recoup.adapters.connectors.base import FileFlag, FileFormat, ParseContext
from recoup.domain.ingestion.canonical import MAX_FIELD, Rejection
from recoup.domain.ingestion.event import REASON_CODE_PATTERN, SOURCE_PATTERN, Event, event_id_for
from recoup.domain.money import MAX_INTEGER_DIGITS, check_amount, currency_exponent, is_currency

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
"""``tests/fixtures``: the sample files copied into the project."""

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"
"""The team's shared sample collection beside the checkout (used when it is there)."""

LABEL = "fuzz-input"
RECEIVED_AT = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
CONTEXT = ParseContext(label=LABEL, received_at=RECEIVED_AT)

BUG_CODES = frozenset({"mapping_error", "parser_error", "connector_error"})
"""Rejection codes a connector's last line of defence gives when it caught an exception of its
own: each one is a bug, however politely it is reported."""

PARSE_SECONDS = 20.0
"""The wall-clock bound of one parse: inputs are a few hundred KiB at most, so a parse that
takes this long is stuck, not slow."""


def fuzz_settings(**overrides: Any) -> settings:
    """The ``fuzz`` profile (registered in ``conftest.py``), with ``overrides``."""
    return settings(settings.get_profile("fuzz"), **overrides)


# -- bounds --------------------------------------------------------------------------------------


class ParseHangError(AssertionError):
    """A parse ran longer than :data:`PARSE_SECONDS`."""


@contextmanager
def bounded(seconds: float = PARSE_SECONDS) -> Iterator[None]:
    """Fail (instead of hanging the suite) when the body runs longer than ``seconds``. Uses the
    real-time interval timer, so it works in the main thread only, where pytest runs tests."""

    def expired(_signum: int, _frame: object) -> None:
        raise ParseHangError(f"still parsing after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def parse(fmt: FileFormat, data: bytes, context: ParseContext = CONTEXT) -> list[Any]:
    """Every item ``fmt`` gives for ``data``, under the hang bound."""
    with bounded():
        return list(fmt.parse(data, context))


# -- the properties ------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one input gave, split by kind."""

    events: list[Event] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    flags: list[FileFlag] = field(default_factory=list)

    @property
    def records(self) -> int:
        """Events plus rejections: the records the input held, as the connector counted them."""
        return len(self.events) + len(self.rejections)


def check_items(
    items: Iterable[object],
    label: str = LABEL,
    *,
    whole_input_codes: frozenset[str] = frozenset(),
) -> Outcome:
    """Assert the properties of the module docstring over one parse and split what it gave.

    ``whole_input_codes`` are the codes with which a connector refuses its whole input (an empty
    body, a file that is not XML at all): those rejections may name the file alone."""
    outcome = Outcome()
    for item in items:
        if isinstance(item, Event):
            check_event(item)
            outcome.events.append(item)
        elif isinstance(item, Rejection):
            check_rejection(item, label, whole_input_codes)
            outcome.rejections.append(item)
        elif isinstance(item, FileFlag):
            assert item.location.file == label, item
            assert item.code, item
            assert item.reason.strip(), item
            assert_storable(item.reason, item.code, item.location.field)
            outcome.flags.append(item)
        else:
            raise AssertionError(f"neither an event, a rejection nor a flag: {item!r}")
    return outcome


def check_rejection(item: Rejection, label: str, whole_input_codes: frozenset[str]) -> None:
    where = item.location
    assert item.code not in BUG_CODES, f"a connector caught its own error: {item}"
    assert where.file == label, item
    if item.code not in whole_input_codes:
        assert where.line is not None or where.field, f"rejection without a line or field: {item}"
    assert len(where.field or "") <= MAX_FIELD, f"the field is too long to store: {item}"
    assert item.code, item
    assert item.reason.strip(), item
    assert isinstance(item.raw, str), item
    assert_storable(item.raw, item.reason, item.code, where.field)


def check_event(event: Event) -> None:
    """A normalised event, as ingest and the store expect it."""
    assert re.fullmatch(SOURCE_PATTERN, event.source), event.source
    assert event.id == event_id_for(event.source, event.external_id), event
    assert event.amount_minor is None
    for at in (event.occurred_at, event.received_at):
        assert at is not None, event
        assert at.utcoffset() == timedelta(0), event
    if event.amount is None:
        assert event.currency is None, f"a currency without an amount: {event}"
    else:
        assert isinstance(event.amount, Decimal), type(event.amount)
        assert event.currency is not None, event
        assert is_currency(event.currency), event
        assert event.amount.is_finite(), event.amount
        assert event.amount >= 0, event.amount
        check_amount(event.amount, event.currency)
    if event.reason_code is not None:
        assert re.fullmatch(REASON_CODE_PATTERN, event.reason_code), event.reason_code
    assert_storable(
        event.source, event.external_id, event.type, event.currency, event.reason_code,
        event.reason_message, event.status, event.raw, event.attributes,
        dict(event.refs.items()),
    )  # fmt: skip


def assert_storable(*values: object) -> None:
    """Every string inside ``values`` can be stored as text on SQLite and PostgreSQL."""
    for value in values:
        for text in _strings(value):
            assert "\x00" not in text, f"a NUL character would be stored: {text[:80]!r}"
            text.encode("utf-8")  # a lone surrogate raises here


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def fits(minor: int, currency: str) -> bool:
    """Are ``minor`` units of ``currency`` within the 18 digits before the point Recoup accepts?
    Larger amounts are refused at their field everywhere, never rounded."""
    limit: int = 10 ** (MAX_INTEGER_DIGITS + currency_exponent(currency))
    return minor < limit


def minor_to_decimal(minor: int, currency: str) -> Decimal:
    """What an amount in minor units must come out as."""
    return Decimal(minor).scaleb(-currency_exponent(currency))


# -- values at the edges -------------------------------------------------------------------------

CURRENCIES = st.sampled_from(["JPY", "KRW", "CLP", "EUR", "USD", "GBP", "BHD", "KWD", "TND"])
"""Currencies with exponent 0, 2 and 3."""

BAD_CURRENCIES = st.sampled_from(["", "eur", "EU", "EURO", "XXX", "XAU", "ZZZ", "€", "E\x00R"])

EDGE_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from([
        "", " ", "\x00", "\ufeff", "\u202e", "\ud7ff", "\U0001f4b8", "Zoë Ñandú 東京", "\r\n",
        "'; DROP TABLE events; --", "%s%n", "{{7*7}}", "../../etc/passwd", "NaN", "-0", "1e9999",
    ]),
    st.integers(1, 20_000).map(lambda n: "X" * n),
)  # fmt: skip
"""Text a field may hold: any unicode, control characters, injections, and very long values."""

HUGE_IDS = st.one_of(
    st.integers(0, 10**40).map(str),
    st.text("abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=300),
    st.integers(200, 5000).map(lambda n: "id_" + "9" * n),
)


@st.composite
def minor_amounts(draw: st.DrawFn, *, max_digits: int = 22) -> int:
    """Amounts in minor units: zero, one, around powers of ten, the largest allowed and beyond."""
    edge = st.sampled_from([0, 1, 9, 10, 99, 100, 10**9, 2**31 - 1, 2**31, 2**53, 2**63 - 1])
    power = st.integers(0, max_digits).map(lambda n: 10**n)
    near = st.tuples(power, st.sampled_from([-1, 0, 1])).map(lambda pair: max(pair[0] + pair[1], 0))
    return draw(st.one_of(edge, near, st.integers(0, 10**max_digits)))


def decimal_text(minor: int, exponent: int, point: str = ".") -> str:
    """``minor`` units written with ``exponent`` decimals: (12345, 2) -> ``123.45``."""
    digits = str(minor).rjust(exponent + 1, "0")
    if not exponent:
        return digits
    return f"{digits[:-exponent]}{point}{digits[-exponent:]}"


DATES = st.one_of(
    st.datetimes(datetime(1970, 1, 1), datetime(2099, 12, 31), timezones=st.just(UTC)),
    st.sampled_from([
        datetime(1970, 1, 1, tzinfo=UTC), datetime(2000, 2, 29, tzinfo=UTC),
        datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2038, 1, 19, 3, 14, 8, tzinfo=UTC),
        datetime(2069, 12, 31, tzinfo=UTC), datetime(2099, 12, 31, 23, 59, 59, tzinfo=UTC),
    ]),
)  # fmt: skip
"""Instants at the edges: epoch, leap days, 2038, the two-digit-year pivot, far future."""


def samples(
    *folders: Path, patterns: tuple[str, ...], keep: Callable[[Path], bool] = bool
) -> list[Path]:
    """The sample files under ``folders`` (those present) that match ``patterns``."""
    found: set[Path] = set()
    for folder in folders:
        if folder.is_dir():
            for pattern in patterns:
                found.update(p for p in folder.rglob(pattern) if p.is_file() and keep(p))
    return sorted(found)


# -- mutating real samples ------------------------------------------------------------------------

_LEAF = re.compile(rb"<([A-Za-z][\w.:-]*)(?:\s[^<>]*)?>[^<]*</\1>")
_TOKEN = re.compile(rb"[A-Za-z0-9][A-Za-z0-9.,+-]*")
_ENCODINGS = ("utf-16", "utf-16-be", "utf-32", "cp1252", "latin-1", "cp500", "shift_jis")


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True) or [data]


@st.composite
def _line_edit(draw: st.DrawFn, data: bytes) -> bytes:
    lines = _lines(data)
    i = draw(st.integers(0, len(lines) - 1))
    how = draw(st.sampled_from(["duplicate", "delete", "swap", "replace", "repeat"]))
    if how == "duplicate":
        lines.insert(i, lines[i])
    elif how == "delete":
        del lines[i]
    elif how == "swap" and i + 1 < len(lines):
        lines[i], lines[i + 1] = lines[i + 1], lines[i]
    elif how == "replace":
        lines[i] = draw(st.binary(max_size=120)) + b"\n"
    else:  # the same line many times over: a long file of one record
        lines[i:i] = [lines[i]] * draw(st.integers(2, 300))
    return b"".join(lines)


@st.composite
def _element_edit(draw: st.DrawFn, data: bytes) -> bytes:
    """An XML leaf element deleted, duplicated or given another value."""
    found = list(_LEAF.finditer(data))
    if not found:
        return data
    match = draw(st.sampled_from(found))
    start, end = match.span()
    element = data[start:end]
    how = draw(st.sampled_from(["delete", "duplicate", "value", "value", "value"]))
    if how == "delete":
        return data[:start] + data[end:]
    if how == "duplicate":
        return data[:start] + element + element + data[end:]
    tag = match.group(1)
    head = element[: element.index(b">") + 1]
    value = draw(EDGE_TEXT).replace("&", "&amp;").replace("<", "&lt;")
    return (
        data[:start]
        + head
        + value.encode("utf-8", "surrogatepass")
        + b"</"
        + tag
        + b">"
        + data[end:]
    )


@st.composite
def _token_edit(draw: st.DrawFn, data: bytes) -> bytes:
    """One word or number of the file replaced by a value at the edge (or any text)."""
    found = list(_TOKEN.finditer(data[:200_000]))
    if not found:
        return data
    start, end = draw(st.sampled_from(found)).span()
    value = draw(
        st.one_of(
            EDGE_TEXT.map(lambda s: s.encode("utf-8", "surrogatepass")),
            st.sampled_from([b"9" * 40, b"0", b"-1", b"99999999999999999999,99", b"1.2.3", b"0x10",
                             b"991332", b"000000", b"20261301", b"+", b",", b"/"]),
        )
    )  # fmt: skip
    return data[:start] + value + data[end:]


@st.composite
def _byte_edit(draw: st.DrawFn, data: bytes) -> bytes:
    mutated = bytearray(data)
    for _ in range(draw(st.integers(1, 8))):
        if not mutated:
            break
        i = draw(st.integers(0, len(mutated) - 1))
        how = draw(st.sampled_from(["flip", "set", "insert", "delete"]))
        if how == "flip":
            mutated[i] ^= 1 << draw(st.integers(0, 7))
        elif how == "set":
            mutated[i] = draw(st.integers(0, 255))
        elif how == "insert":
            mutated[i:i] = draw(st.binary(min_size=1, max_size=8))
        else:
            del mutated[i]
    return bytes(mutated)


@st.composite
def _encoding_edit(draw: st.DrawFn, data: bytes) -> bytes:
    """The file's text in another encoding, or with a byte order mark or other line ends."""
    how = draw(st.sampled_from(["encode", "bom", "crlf", "lf", "cr"]))
    if how == "bom":
        return draw(st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"])) + data
    if how in ("crlf", "lf", "cr"):
        ending = {"crlf": b"\r\n", "lf": b"\n", "cr": b"\r"}[how]
        return ending.join(data.splitlines())
    text = data.decode("utf-8", "replace")
    return text.encode(draw(st.sampled_from(_ENCODINGS)), "replace")


@st.composite
def _oversize_edit(draw: st.DrawFn, data: bytes) -> bytes:
    """A run of up to 200 KiB inserted somewhere: a field far longer than any format allows."""
    i = draw(st.integers(0, len(data)))
    unit = draw(st.sampled_from([b"A", b"9", b" ", b"\xc3\xa9", b"0,", b"<a>", b"{", b"["]))
    return data[:i] + unit * draw(st.integers(1_000, 200_000 // len(unit))) + data[i:]


def mutated(data: bytes) -> st.SearchStrategy[bytes]:
    """``data`` with one to three mutations applied."""

    def one(current: bytes) -> st.SearchStrategy[bytes]:
        return st.one_of(
            st.integers(0, len(current)).map(lambda cut: current[:cut]),
            _byte_edit(current),
            _line_edit(current),
            _element_edit(current),
            _token_edit(current),
            _encoding_edit(current),
            _oversize_edit(current),
        )

    @st.composite
    def chain(draw: st.DrawFn) -> bytes:
        current = data
        for _ in range(draw(st.integers(1, 3))):
            current = draw(one(current))
        return current

    return chain()


def mutated_samples(paths: list[Path]) -> st.SearchStrategy[tuple[Path, bytes]]:
    """A sample path and its bytes mutated."""
    assert paths, "no sample files found"
    return st.sampled_from(paths).flatmap(lambda p: st.tuples(st.just(p), mutated(p.read_bytes())))


# -- mutating JSON payloads ----------------------------------------------------------------------


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)


EDGE_JSON = st.recursive(
    st.none() | st.booleans() | EDGE_TEXT
    | st.sampled_from([0, -1, 1, 2**31, 2**53 + 1, 2**63, -(2**63) - 1, 10**30, 10**400,
                       1.5, -0.0, 1e308, 5e-324, 0.1])
    | st.integers() | st.floats(allow_nan=False, allow_infinity=False),
    _containers,
    max_leaves=6,
)  # fmt: skip
"""Any JSON value, with the numbers and strings that break mappers: huge and negative integers,
floats where integers belong, unicode, control characters, very long text."""


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:20]):
            found += _paths(item, (*path, index))
    return found


@st.composite
def json_edits(draw: st.DrawFn, document: Any) -> Any:
    """``document`` with one to four of its values replaced, deleted or doubled."""
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(document)
        path = draw(st.sampled_from(paths))
        if not path:
            document = draw(EDGE_JSON)
            continue
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        key = path[-1]
        how = draw(st.sampled_from(["replace", "replace", "replace", "delete", "double"]))
        if how == "delete":
            del parent[key]
        elif how == "double":
            parent[key] = [parent[key], parent[key]]
        else:
            parent[key] = draw(EDGE_JSON)
    return document


def _json_samples(*folders: Path, skip: tuple[str, ...] = ()) -> list[Path]:
    return samples(*folders, patterns=("*.json", "*.jsonl"),
                   keep=lambda p: not any(s in str(p) for s in skip))  # fmt: skip


WEBHOOK_SAMPLES: dict[str, list[Path]] = {
    "stripe-events": _json_samples(
        FIXTURES / "stripe", SHARED / "stripe", skip=("openapi", "enums")
    ),
    "shopify-webhooks": _json_samples(FIXTURES / "shopify", SHARED / "shopify"),
    "adyen-notifications": _json_samples(FIXTURES / "adyen", skip=("hmac-vectors",)),
    "paypal-webhooks": _json_samples(FIXTURES / "paypal"),
}

GENERIC_SAMPLE = json.dumps([
    {"source": "erp", "external_id": "inv-1", "type": "invoice.created",
     "occurred_at": "2026-10-01T12:00:00Z", "amount": "120.00", "currency": "EUR",
     "refs": {"invoice": "INV-1", "supplier": "S-1"}},
    {"source": "erp:eu", "external_id": "pay-1", "type": "payment.failed",
     "occurred_at": "2026-10-02T12:00:00+02:00", "amount_minor": 1200, "currency": "JPY",
     "reason_code": "iso:AM04", "attributes": {"note": "Zoë"}},
], indent=1).encode()  # fmt: skip
"""Saved bodies of each provider, by file format name (the generic one is a canonical array)."""


def webhook_bodies(provider: str) -> st.SearchStrategy[bytes]:
    """Real saved bodies of ``provider`` (a file format name)."""
    if provider == "generic-webhooks":
        return st.just(GENERIC_SAMPLE)
    return st.sampled_from(WEBHOOK_SAMPLES[provider]).map(Path.read_bytes)


def webhook_documents(provider: str) -> st.SearchStrategy[Any]:
    """Real payloads of ``provider``, decoded (the first of a JSON Lines file)."""

    def first_document(data: bytes) -> Any:
        return json.loads(data if _is_json(data) else data.strip().splitlines()[0])

    return webhook_bodies(provider).map(first_document)


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


RANDOM_BYTES = st.one_of(
    st.binary(max_size=4000),
    st.lists(st.sampled_from([b"\n", b"\r\n", b",", b"/", b":", b"{", b"}", b"[", b"]", b'"',
                              b"<", b">", b"0", b"9", b"A", b"\xff", b"\x00"]),
             max_size=400).map(b"".join),
)  # fmt: skip
"""Random bytes, and random runs of the characters every format's grammar is made of."""


__all__ = [
    "BAD_CURRENCIES",
    "BUG_CODES",
    "CONTEXT",
    "CURRENCIES",
    "DATES",
    "EDGE_JSON",
    "EDGE_TEXT",
    "FIXTURES",
    "GENERIC_SAMPLE",
    "HUGE_IDS",
    "LABEL",
    "RANDOM_BYTES",
    "RECEIVED_AT",
    "SHARED",
    "WEBHOOK_SAMPLES",
    "Outcome",
    "ParseHangError",
    "assert_storable",
    "bounded",
    "check_event",
    "check_items",
    "check_rejection",
    "decimal_text",
    "fits",
    "fuzz_settings",
    "json_edits",
    "minor_amounts",
    "minor_to_decimal",
    "mutated",
    "mutated_samples",
    "parse",
    "samples",
    "webhook_bodies",
    "webhook_documents",
]
