"""Fuzzing the CSV connector: the built-in profiles, a profile of our own, and profile files."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from recoup.adapters.connectors.csv_loader import parse_profile
from recoup.adapters.connectors.csvfiles import CsvFormat, builtin_profiles, load_profile
from recoup.domain.errors import InvalidInputError
from recoup.domain.money import MAX_INTEGER_DIGITS, currency_exponent
from tests.fuzz import (
    CURRENCIES,
    EDGE_TEXT,
    FIXTURES,
    RANDOM_BYTES,
    check_items,
    decimal_text,
    fuzz_settings,
    minor_amounts,
    minor_to_decimal,
    mutated,
    parse,
)

CSV = FIXTURES / "csv"
BUILTIN = builtin_profiles()
FORMATS = {
    "generic-bank": (CsvFormat(BUILTIN["generic-bank"]), CSV / "generic-bank.csv"),
    "paypal-activity": (CsvFormat(BUILTIN["paypal-activity"]), CSV / "paypal-activity.csv"),
    "shop-ledger": (CsvFormat(load_profile(CSV / "shop-ledger.toml")), CSV / "shop-ledger.csv"),
}

TEXT = EDGE_TEXT.filter(lambda s: "\x00" not in s and not any(0xD800 <= ord(c) < 0xE000 for c in s))

ROW = st.tuples(
    st.dates(date(1900, 1, 1), date(2999, 12, 31)),
    minor_amounts(max_digits=16),
    st.booleans(),  # money in
    TEXT,
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", max_size=30),
)


def _with_thousands(minor: int, exponent: int) -> str:
    """``1234567`` cents -> ``12,345.67``, as the bank exports write it."""
    whole, _, fraction = decimal_text(minor, exponent).partition(".")
    grouped = f"{int(whole):,}"
    return f"{grouped}.{fraction}" if fraction else grouped


@fuzz_settings()
@given(CURRENCIES, st.lists(ROW, max_size=12), st.sampled_from([",", ";", "\t"]))
@example("JPY", [(date(2000, 1, 1), 2**63 - 1, False, "a\r\nb", "")], ",")
def test_a_valid_bank_export_gives_one_exact_event_or_located_rejection_per_row(
    currency: str, rows: list[tuple[date, int, bool, str, str]], delimiter: str
) -> None:
    exponent = currency_exponent(currency)
    limit = 10 ** (MAX_INTEGER_DIGITS + exponent)
    header = ["Date", "Value Date", "Description", "Reference", "Debit", "Credit", "Balance",
              "Currency"]  # fmt: skip
    lines = [_row(header, delimiter)]
    expected_events, expected_rejections = [], []
    for day, minor, money_in, text, reference in rows:
        amount = _with_thousands(minor, exponent)
        debit, credit = ("", amount) if money_in else (amount, "")
        line = sum(len(io.StringIO(row, newline="").readlines()) for row in lines) + 1
        lines.append(_row([day.strftime("%d/%m/%Y"), "", text, reference, debit, credit, "",
                           currency], delimiter))  # fmt: skip
        if text.strip().lower() in _SUMMARY_LABELS:
            continue  # a summary row: a flag, not a record
        if minor >= limit:
            expected_rejections.append(line)
        else:
            direction = None if not minor else "credit" if money_in else "debit"
            expected_events.append((minor_to_decimal(minor, currency), currency, direction))
    fmt, _ = FORMATS["generic-bank"]

    outcome = check_items(parse(fmt, "".join(lines).encode("utf-8")))

    assert [(e.amount, e.currency, e.direction) for e in outcome.events] == expected_events
    assert [r.location.line for r in outcome.rejections] == expected_rejections


def _row(cells: list[str], delimiter: str) -> str:
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerow(cells)
    return out.getvalue()


_SUMMARY_LABELS = {"total", "totals", "opening balance", "closing balance"}


@fuzz_settings()
@given(st.sampled_from(sorted(FORMATS)), st.data())
def test_a_mutated_export_is_read_or_rejected_at_its_line(name: str, data: st.DataObject) -> None:
    fmt, path = FORMATS[name]
    mutation = data.draw(mutated(path.read_bytes()))

    check_items(parse(fmt, mutation))


@fuzz_settings()
@given(st.sampled_from(sorted(FORMATS)), RANDOM_BYTES)
def test_random_bytes_are_read_or_rejected_at_their_line(name: str, data: bytes) -> None:
    fmt, path = FORMATS[name]
    header = path.read_bytes().splitlines(keepends=True)
    # half the time behind the real header, so the bytes are read as rows
    check_items(parse(fmt, data))
    check_items(parse(fmt, b"".join(header[: 4 if name == "shop-ledger" else 1]) + data))


PROFILE_FOLDER = Path(__file__).parents[2] / "src/recoup/adapters/connectors/profiles"
PROFILES = sorted([*PROFILE_FOLDER.glob("*.toml"), CSV / "shop-ledger.toml"])


GENERIC_BANK = (PROFILE_FOLDER / "generic-bank.toml").read_text(encoding="utf-8")


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


@fuzz_settings()
@given(
    st.sampled_from(PROFILES).flatmap(
        lambda p: st.tuples(st.just(p), mutated(p.read_bytes()).map(_text))
    )
)
@example((PROFILES[0], 'name = "x"\nsource = "bank"\n[file]\nheader_line = ' + "9" * 4301 + "\n"))
@example((PROFILES[0], 'name = "x"\nsource = "bank"\nx = ' + "[" * 5000 + "\n"))
@example((PROFILES[0], GENERIC_BANK.replace('"%d/%m/%Y"', '"%d/%m/%m"')))
def test_a_mutated_profile_loads_or_is_refused_with_its_location(case: tuple[Path, str]) -> None:
    path, text = case

    try:
        profile = parse_profile(text, origin="fuzz.toml", default_name="fuzz")
    except InvalidInputError as exc:
        refusal: InvalidInputError | None = exc
    else:
        refusal = None
    if refusal is not None:
        assert refusal.location.file == "fuzz.toml", refusal
        assert refusal.message.strip()
        return
    # a profile that loads reads any bytes without raising
    check_items(parse(CsvFormat(profile), path.with_suffix(".csv").read_bytes()
                      if path.with_suffix(".csv").exists() else b"a,b\n1,2\n"))  # fmt: skip


def test_the_samples_are_there() -> None:
    assert all(path.is_file() for _, path in FORMATS.values())
    assert len(PROFILES) == 3
