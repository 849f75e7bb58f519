"""CSV mapping profiles: loading and checking TOML, reading cells, recognising headers."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recoup.adapters.connectors.base import FileFormat
from recoup.adapters.connectors.csv_loader import load_profile, parse_profile
from recoup.adapters.connectors.csv_profile import (
    AmountSpec,
    AttributeSpec,
    FileSpec,
    NumberFormat,
    OccurredAtSpec,
    ReasonCodeSpec,
    resolve_zone,
)
from recoup.adapters.connectors.csv_values import NumberReader
from recoup.adapters.connectors.csvfiles import FORMATS, CsvFormat, builtin_profiles
from recoup.domain.errors import InvalidInputError

FIXTURES = Path(__file__).parents[1] / "fixtures" / "csv"

MINIMAL = """\
source = "shop"

[event_type]
value = "payment.succeeded"

[occurred_at]
date_column = "Date"
date_format = "%Y-%m-%d"
timezone = "UTC"

[amount]
column = "Amount"
currency = "EUR"
"""


def write(tmp_path: Path, text: str, name: str = "my-export.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> InvalidInputError:
    path = write(tmp_path, text)
    with pytest.raises(InvalidInputError) as caught:
        load_profile(path)
    assert caught.value.location.file == str(path)
    return caught.value


# --- loading ------------------------------------------------------------------------------------


def test_a_minimal_profile_loads_with_the_documented_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)

    profile = load_profile(path)

    assert (profile.name, profile.source, profile.origin) == ("my-export", "shop", str(path))
    assert profile.description == "CSV export mapped by profile my-export"
    assert profile.file == FileSpec("utf-8-sig", "auto", '"', 1, ())
    assert profile.numbers == NumberFormat(".", "", ("minus", "parentheses", "trailing_minus"))
    assert profile.event_type.value == "payment.succeeded"
    assert profile.occurred_at == OccurredAtSpec(("Date",), ("%Y-%m-%d",), timezone="UTC")
    assert profile.amount == AmountSpec(column=("Amount",), currency="EUR")
    assert profile.external_id is None
    assert profile.required_columns() == (("Date",), ("Amount",))


def test_the_sample_till_profile_loads_every_section() -> None:
    profile = load_profile(FIXTURES / "shop-ledger.toml")

    assert (profile.name, profile.source) == ("shop-ledger", "till:nord")
    assert profile.file == FileSpec("cp1252", ";", '"', 4, ())
    assert profile.numbers == NumberFormat(",", ".", ("minus", "parentheses", "trailing_minus"))
    assert profile.event_type.column == ("Vorgang",)
    assert dict(profile.event_type.map) == {
        "zahlung": "payment.succeeded",
        "rücklastschrift": "payment.failed",
        "erstattung": "refund.succeeded",
    }
    assert profile.occurred_at.time_column == ("Uhrzeit",)
    assert profile.occurred_at.timezone == "Europe/Berlin"
    assert profile.reason_code == ReasonCodeSpec(("Grund",), "iso")
    assert profile.refs == (("order", ("Beleg",)),)
    assert profile.attributes == (AttributeSpec("customer_name", ("Kunde",)),)


def test_the_built_in_profiles_load_and_name_their_formats() -> None:
    profiles = builtin_profiles()

    assert sorted(profiles) == ["generic-bank", "paypal-activity"]
    assert [fmt.name for fmt in FORMATS] == ["csv:paypal-activity", "csv:generic-bank"]
    assert profiles["paypal-activity"].source == "paypal"
    assert profiles["paypal-activity"].external_id == ("Transaction ID",)
    assert profiles["paypal-activity"].event_type.default == "custom.paypal.other"
    assert profiles["generic-bank"].source == "bank"
    assert profiles["generic-bank"].event_type.value == "bank.statement_line"
    assert profiles["generic-bank"].external_id is None
    assert profiles["generic-bank"].amount is not None
    assert profiles["generic-bank"].amount.style == "debit_credit"


def test_a_profile_is_frozen(tmp_path: Path) -> None:
    profile = load_profile(write(tmp_path, MINIMAL))

    with pytest.raises(AttributeError):
        profile.source = "other"  # type: ignore[misc]


def replaced(old: str, new: str) -> str:
    assert old in MINIMAL
    return MINIMAL.replace(old, new)


PROFILE_ERRORS: list[tuple[str, str, str | None, str]] = [
    ("unknown top-level key", 'sorce = "x"\n' + MINIMAL, "sorce",
     "unknown key 'sorce' (did you mean 'source'?)"),
    ("unknown key in a table", replaced('column = "Amount"', 'colum = "Amount"'),
     "amount.colum", "unknown key 'amount.colum' (did you mean 'amount.column'?)"),
    ("missing source", replaced('source = "shop"\n', ""), "source",
     "missing required key 'source'"),
    ("source in capitals", replaced('"shop"', '"Shop"'), "source",
     "source 'Shop' must be lower case"),
    ("bad profile name", 'name = "My Export"\n' + MINIMAL, "name",
     "profile name 'My Export' must be lower case"),
    ("missing event type", replaced('[event_type]\nvalue = "payment.succeeded"\n', ""),
     "event_type", "missing required table [event_type]"),
    ("unknown event type", replaced('"payment.succeeded"', '"payment.succeded"'),
     "event_type.value", "unknown event type 'payment.succeded'"),
    ("map without column", replaced('value = "payment.succeeded"', 'map = { A = "refund.failed" }'),
     "event_type.column", "'event_type.map' needs 'event_type.column'"),
    ("event type in a rule", replaced(
        'value = "payment.succeeded"',
        '[[event_type.rules]]\nwhen = { Kind = "x" }\ntype = "payment.nope"'),
     "event_type.rules[1].type", "unknown event type 'payment.nope'"),
    ("rule without when", replaced(
        'value = "payment.succeeded"', '[[event_type.rules]]\ntype = "payment.failed"'),
     "event_type.rules[1].when", "missing required table [event_type.rules[1].when]"),
    ("missing date column", replaced('date_column = "Date"\n', ""),
     "occurred_at.date_column", "missing required mapping 'occurred_at.date_column'"),
    ("date format without a year", replaced('"%Y-%m-%d"', '"%m-%d"'),
     "occurred_at.date_format", "format '%m-%d' in 'occurred_at.date_format' does not read the "
     "year"),
    ("unknown strptime directive", replaced('"%Y-%m-%d"', '"%Y-%m-%d %Q"'),
     "occurred_at.date_format", "bad format '%Y-%m-%d %Q' in 'occurred_at.date_format'"),
    ("%Z", replaced('"%Y-%m-%d"', '"%Y-%m-%d %Z"'), "occurred_at.date_format",
     "'occurred_at.date_format' uses %Z"),
    ("12-hour clock without am/pm", replaced('timezone = "UTC"', 'time_format = "%I:%M"\n'
     'timezone = "UTC"'), "occurred_at.time_format", "does not read the hour"),
    ("unknown zone", replaced('"UTC"', '"Mars/Olympus_Mons"'), "occurred_at.timezone",
     "unknown time zone 'Mars/Olympus_Mons'"),
    ("no zone at all", replaced('timezone = "UTC"\n', ""), "occurred_at.timezone",
     "missing 'occurred_at.timezone'"),
    ("unknown zone abbreviation target", replaced(
        'timezone = "UTC"', 'timezone = "UTC"\ntimezone_names = { XST = "+25:00" }'),
     "occurred_at.timezone_names.XST", "unknown time zone '+25:00'"),
    ("debit without credit", replaced('column = "Amount"', 'debit_column = "Out"'),
     "amount.credit_column", "give both 'amount.debit_column' and 'amount.credit_column'"),
    ("no amount column", replaced('column = "Amount"\n', ""), "amount.column",
     "missing required mapping 'amount.column'"),
    ("currency twice", replaced('currency = "EUR"', 'currency = "EUR"\ncurrency_column = "Cur"'),
     "amount.currency_column", "give exactly one of 'amount.currency_column'"),
    ("indicator without values", replaced('column = "Amount"', 'column = "Amount"\n'
     'indicator_column = "DC"'), "amount.debit_values", "needs 'amount.debit_values'"),
    ("negative_means", replaced('column = "Amount"', 'column = "Amount"\n'
     'negative_means = "minus"'), "amount.negative_means", "allowed: 'debit', 'credit'"),
    ("thousands same as decimal", MINIMAL + '[numbers]\ndecimal = ","\nthousands = ","\n',
     "numbers.thousands", "'numbers.thousands' must be one of"),
    ("negative style", MINIMAL + '[numbers]\nnegatives = ["brackets"]\n', "numbers.negatives",
     "'numbers.negatives' may hold minus, parentheses, trailing_minus"),
    ("encoding", MINIMAL + '[file]\nencoding = "utf-16"\n', "file.encoding",
     "'file.encoding' is 'utf-16'; allowed:"),
    ("delimiter", MINIMAL + '[file]\ndelimiter = "::"\n', "file.delimiter",
     "'file.delimiter' must be"),
    ("header line", MINIMAL + "[file]\nheader_line = 0\n", "file.header_line",
     "'file.header_line' must be a whole number >= 1"),
    ("column of the wrong type", MINIMAL + "[fields]\nexternal_id = 7\n", "fields.external_id",
     "'fields.external_id' must be a string or a list of strings"),
    ("unknown ref kind", MINIMAL + '[refs]\npaymnt = "Id"\n', "refs.paymnt",
     "unknown ref kind 'refs.paymnt' (did you mean 'refs.payment'?)"),
    ("reason namespace", MINIMAL + '[reason_code]\ncolumn = "Why"\nnamespace = "Bank X"\n',
     "reason_code.namespace", "'reason_code.namespace' 'Bank X' must be lower case"),
    ("reason without column", MINIMAL + '[reason_code]\nnamespace = "iso"\n',
     "reason_code.column", "missing required mapping 'reason_code.column'"),
    ("attribute parse kind", MINIMAL + '[attributes]\nfee = { column = "Fee", parse = "money" }\n',
     "attributes.fee.parse", "'attributes.fee.parse' is 'money'; allowed: 'text', 'number', "
     "'date'"),
    ("not TOML", MINIMAL + "[amount\n", None, "not valid TOML"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [case[1:] for case in PROFILE_ERRORS],
    ids=[case[0] for case in PROFILE_ERRORS],
)
def test_a_bad_profile_is_refused_naming_the_file_and_the_key(
    tmp_path: Path, text: str, key: str | None, message: str
) -> None:
    error = load_error(tmp_path, text)

    assert error.location.field == key
    assert message in error.message
    assert str(error).startswith(f"{tmp_path / 'my-export.toml'}")


def test_a_missing_profile_file_is_an_invalid_input_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"

    with pytest.raises(InvalidInputError) as caught:
        load_profile(path)

    assert caught.value.location.file == str(path)
    assert caught.value.message.startswith("cannot read profile:")


def test_parse_profile_names_the_origin_it_is_given() -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_profile("source = 1", origin="inline", default_name="x")

    assert (caught.value.location.file, caught.value.location.field) == ("inline", "source")


def test_rule_refs_may_drop_a_profile_ref_with_an_empty_column(tmp_path: Path) -> None:
    text = replaced(
        'value = "payment.succeeded"',
        '[[event_type.rules]]\nwhen = { Kind = ["Payout", "Withdrawal"] }\ntype = "payout.paid"\n'
        'refs = { payment = "", payout = "Id" }',
    )

    profile = load_profile(write(tmp_path, text))

    (rule,) = profile.event_type.rules
    assert rule.when == ((("Kind",), frozenset({"payout", "withdrawal"})),)
    assert rule.refs == (("payment", ()), ("payout", ("Id",)))


# --- cells ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "text", "expected"),
    [
        (NumberFormat(".", ","), "1,234.56", Decimal("1234.56")),
        (NumberFormat(".", ","), "1234.56", Decimal("1234.56")),
        (NumberFormat(".", ","), " -36.55 ", Decimal("-36.55")),
        (NumberFormat(".", ","), "+5", Decimal(5)),
        (NumberFormat(".", ","), "(12.00)", Decimal("-12.00")),
        (NumberFormat(".", ","), "( 1,000.00 )", Decimal("-1000.00")),
        (NumberFormat(".", ","), "45.00-", Decimal("-45.00")),
        (NumberFormat(".", ","), ".5", Decimal("0.5")),
        (NumberFormat(".", ","), "12,3,4", None),
        (NumberFormat(".", ","), "12,34", None),
        (NumberFormat(".", ","), "(-5)", None),
        (NumberFormat(".", ","), "-5-", None),
        (NumberFormat(".", ","), "(5", None),
        (NumberFormat(".", ","), "5.", None),
        (NumberFormat(".", ","), "1e5", None),
        (NumberFormat(".", ","), "", None),
        (NumberFormat(".", ","), "-", None),
        (NumberFormat(",", "."), "1.234,56", Decimal("1234.56")),
        (NumberFormat(",", "."), "1.234", Decimal(1234)),
        (NumberFormat(",", " "), "1 234 567,8", Decimal("1234567.8")),
        (NumberFormat(",", "\u00a0"), "1\u00a0234,50", Decimal("1234.50")),
        (NumberFormat(".", "'"), "1'234.50", Decimal("1234.50")),
        (NumberFormat(".", ""), "1,234.56", None),
        (NumberFormat(".", ",", ("minus",)), "(12.00)", None),
        (NumberFormat(".", ",", ("minus",)), "12.00-", None),
        (NumberFormat(".", ",", ("parentheses",)), "-12.00", None),
    ],
)
def test_numbers_are_read_as_the_profile_writes_them(
    fmt: NumberFormat, text: str, expected: Decimal | None
) -> None:
    value = NumberReader(fmt)(text)

    assert value == expected
    if expected is not None:
        assert str(value) == str(expected)


@pytest.mark.parametrize(
    ("text", "offset_hours"),
    [("UTC", 0), ("Z", 0), ("gmt", 0), ("+02:00", 2), ("-0500", -5), ("UTC+1", 1), ("+5", 5)],
)
def test_fixed_zones_resolve_to_their_offset(text: str, offset_hours: float) -> None:
    zone = resolve_zone(text)

    assert zone is not None
    assert zone.utcoffset(None).total_seconds() == offset_hours * 3600  # type: ignore[union-attr]


@pytest.mark.parametrize("text", ["", "PDT", "Mars/Olympus", "../etc/passwd", "+24:00", "\x00"])
def test_unknown_zones_resolve_to_none(text: str) -> None:
    assert resolve_zone(text) is None


def test_iana_zones_resolve() -> None:
    zone = resolve_zone("Europe/Berlin")

    assert str(zone) == "Europe/Berlin"


# --- sniffing -------------------------------------------------------------------------------------


def fmt(name: str) -> CsvFormat:
    return next(f for f in FORMATS if f.name == name)


def head(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()[:4096]


def test_each_built_in_profile_recognises_its_own_sample_and_not_the_others() -> None:
    paypal, bank = fmt("csv:paypal-activity"), fmt("csv:generic-bank")

    assert paypal.sniff("Download.CSV", head("paypal-activity.csv")) is True
    assert bank.sniff("statement.csv", head("generic-bank.csv")) is True
    assert paypal.sniff("statement.csv", head("generic-bank.csv")) is False
    assert bank.sniff("Download.CSV", head("paypal-activity.csv")) is False
    assert paypal.sniff("till.csv", head("shop-ledger.csv")) is False
    assert bank.sniff("till.csv", head("shop-ledger.csv")) is False


@pytest.mark.parametrize(
    "header",
    [
        b"Date;Value Date;Description;Reference;Debit;Credit;Balance;Currency\r\n",
        b"\xef\xbb\xbfdate,description,debit,credit,currency\n",
        b"Booking Date\tDescription\tMoney Out\tMoney In\tCurrency\n1\t2\n",
        b"\n\n  DATE , Debit , Credit , Currency \n",
    ],
)
def test_the_bank_profile_recognises_variants_of_its_header(header: bytes) -> None:
    assert fmt("csv:generic-bank").sniff("x.csv", header) is True


@pytest.mark.parametrize(
    "head_bytes",
    [b"", b"\n\n", b"\xff\xfe\x00D\x00a", b'{"source": "stripe"}\n', b'"Date,Debit\n', b"Date"],
)
def test_sniffing_something_else_says_no_and_never_raises(head_bytes: bytes) -> None:
    for each in FORMATS:
        assert each.sniff("x", head_bytes) is False


def test_a_format_carries_its_profile_name_and_description(tmp_path: Path) -> None:
    profile = load_profile(write(tmp_path, 'description = "Shop export"\n' + MINIMAL))

    csv_format: FileFormat = CsvFormat(profile)

    assert (csv_format.name, csv_format.description) == ("csv:my-export", "Shop export")
    assert csv_format.sniff("x.csv", b"Date,Amount\n2026-01-01,1\n") is True
    assert csv_format.sniff("x.csv", b"Date,Total\n") is False


@settings(database=None, deadline=None, max_examples=300)
@given(
    key=st.sampled_from(["date_format", "time_format", "timezone", "date_column"]),
    value=st.text(max_size=20) | st.lists(st.text(max_size=8), max_size=3) | st.integers(),
)
def test_any_occurred_at_value_loads_or_is_refused_naming_its_key(key: str, value: Any) -> None:
    text = MINIMAL.replace('timezone = "UTC"\n', f'timezone = "UTC"\n{key}_x = 1\n')
    data = tomllib.loads(text)
    data["occurred_at"].pop(f"{key}_x")
    data["occurred_at"][key] = value

    error = refusal(toml_text(data))

    if error is not None:
        assert error.location.file == "fuzz.toml"
        assert error.location.field is not None
        assert error.location.field.startswith("occurred_at.")


def refusal(text: str) -> InvalidInputError | None:
    try:
        parse_profile(text, origin="fuzz.toml", default_name="fuzz")
    except InvalidInputError as error:
        return error
    return None


def toml_text(data: dict[str, Any]) -> str:
    """A small TOML writer for the tables of a profile (strings, integers, lists of strings)."""

    def value(item: Any) -> str:
        if isinstance(item, list):
            return "[" + ", ".join(value(part) for part in item) + "]"
        if isinstance(item, str):
            return '"' + "".join(char if char.isalnum() or char in " %:/+-._" else
                                 f"\\U{ord(char):08x}" for char in item) + '"'  # fmt: skip
        return str(item)

    lines = [f"{key} = {value(item)}" for key, item in data.items() if not isinstance(item, dict)]
    for name, table in data.items():
        if isinstance(table, dict):
            lines.append(f"[{name}]")
            lines += [f"{key} = {value(item)}" for key, item in table.items()]
    return "\n".join(lines) + "\n"
