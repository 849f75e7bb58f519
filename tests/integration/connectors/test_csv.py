"""CSV files through mapping profiles: the built-in profiles on their samples, the quirks of real
exports, stable external ids, and the promise that every data row ends as exactly one event or
one located rejection, whatever the bytes."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from recoup.adapters import connectors
from recoup.adapters.connectors.base import FileFlag, Item, ParseContext
from recoup.adapters.connectors.csv_loader import load_profile, parse_profile
from recoup.adapters.connectors.csvfiles import FORMATS, CsvFormat
from recoup.domain.detection.detectors import Detectors, WindowState
from recoup.domain.errors import Location
from recoup.domain.ingestion.canonical import Rejection
from recoup.domain.ingestion.event import Event, Refs, event_id_for

FIXTURES = Path(__file__).parents[2] / "fixtures" / "csv"
RECEIVED = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)
PAYPAL = next(f for f in FORMATS if f.name == "csv:paypal-activity")
BANK = next(f for f in FORMATS if f.name == "csv:generic-bank")

PROFILE = """\
source = "shop"

[file]
delimiter = ","

[fields]
external_id = "Id"
status = "State"
reason_message = "Message"

[event_type]
column = "Kind"
map = { sale = "payment.succeeded", fail = "payment.failed", refund = "refund.succeeded" }

[occurred_at]
date_column = "Date"
date_format = ["%Y-%m-%d %H:%M", "%Y-%m-%d"]
timezone_column = "TZ"
timezone = "Europe/Paris"

[amount]
column = "Amount"
currency_column = "Currency"

[reason_code]
column = "Code"
namespace = "shop"

[refs]
order = "Order"
"""
HEADER = b"Id,Kind,Date,TZ,Amount,Currency,Order,Code,State,Message\n"


def parse(fmt: CsvFormat, data: bytes, label: str = "export.csv", **kw: Any) -> list[Item]:
    return list(fmt.parse(data, ParseContext(label, RECEIVED, **kw)))


def shop(extra: str = "", *, replace: tuple[str, str] | None = None) -> CsvFormat:
    text = PROFILE if replace is None else PROFILE.replace(*replace)
    return CsvFormat(parse_profile(text + extra, origin="shop.toml", default_name="shop"))


def events(items: list[Item]) -> list[Event]:
    assert all(isinstance(item, Event) for item in items), [str(i) for i in items]
    return [item for item in items if isinstance(item, Event)]


def only_event(items: list[Item]) -> Event:
    (event,) = events(items)
    return event


def only_rejection(items: list[Item]) -> Rejection:
    (rejection,) = items
    assert isinstance(rejection, Rejection), rejection
    return rejection


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# --- PayPal activity download -----------------------------------------------------------------


def test_the_paypal_sample_becomes_one_event_per_transaction() -> None:
    data = (FIXTURES / "paypal-activity.csv").read_bytes()

    found = events(parse(PAYPAL, data, "Download.CSV"))

    summary = [
        (e.type, e.occurred_at, e.amount, e.currency, e.direction, e.external_id, e.refs, e.status)
        for e in found
    ]
    assert summary == [
        ("payment.succeeded", utc(2026, 10, 3, 16, 15, 2), Decimal("1250.00"), "USD", "credit",
         "5TY05013RG002845M", Refs(payment="5TY05013RG002845M", invoice="INV-2026-0412"),
         "Completed"),
        ("payment.failed", utc(2026, 10, 3, 18, 40, 18), Decimal("89.90"), "USD", "credit",
         "9LK12345AB678901C", Refs(payment="9LK12345AB678901C", invoice="INV-2026-0413"),
         "Denied"),
        ("refund.succeeded", utc(2026, 10, 5, 23, 2, 44), Decimal("250.00"), "USD", "debit",
         "1AB23456CD789012E", Refs(payment="5TY05013RG002845M", invoice="INV-2026-0412",
                                   refund="1AB23456CD789012E"), "Completed"),
        ("payment.succeeded", utc(2026, 10, 12, 15, 5, 0), Decimal("420.00"), "USD", "credit",
         "3XY45678EF901234G", Refs(payment="3XY45678EF901234G", invoice="INV-2026-0440"),
         "Reversed"),
        ("dispute.opened", utc(2026, 10, 20, 20, 22, 10), Decimal("420.00"), "USD", "debit",
         "7CB98765ZY432109X", Refs(payment="3XY45678EF901234G", invoice="INV-2026-0440",
                                   dispute="7CB98765ZY432109X"), "Completed"),
        ("custom.paypal.fee", utc(2026, 10, 20, 20, 22, 11), Decimal("20.00"), "USD", "debit",
         "8FE11223GH445566J", Refs(payment="7CB98765ZY432109X"), "Completed"),
        ("payment.succeeded", utc(2026, 10, 29, 1, 45, 30), Decimal("75.00"), "EUR", "credit",
         "2MN33445PQ667788R", Refs(payment="2MN33445PQ667788R"), "Completed"),
        ("payment.reversed", utc(2026, 11, 2, 18, 0, 0), Decimal("75.00"), "EUR", "debit",
         "4RS55667TU889900V", Refs(payment="2MN33445PQ667788R"), "Completed"),
        ("custom.paypal.other", utc(2026, 11, 3, 17, 0, 0), Decimal("1000.00"), "USD", "debit",
         "6WX77889YZ001122A", Refs(payment="6WX77889YZ001122A"), "Completed"),
        ("payout.created", utc(2026, 11, 4, 15, 30, 0), Decimal("2500.00"), "USD", "debit",
         "0BC99001DE223344F", Refs(payout="0BC99001DE223344F"), "Completed"),
    ]  # fmt: skip
    assert {e.source for e in found} == {"paypal"}
    assert [e.id for e in found] == [event_id_for("paypal", e.external_id) for e in found]
    assert {e.received_at for e in found} == {RECEIVED}


def test_paypal_keeps_its_type_fee_and_the_rest_in_attributes_and_the_row_as_evidence() -> None:
    data = (FIXTURES / "paypal-activity.csv").read_bytes()

    first, denied, refund, *_ = events(parse(PAYPAL, data))

    assert first.attributes == {
        "paypal_type": "Express Checkout Payment",
        "paypal_status": "Completed",
        "counterparty": "Anna Schmidt",
        "fee": "-36.55",
        "net": "1213.45",
        "balance": "4213.45",
        "balance_impact": "Credit",
        "item_title": "Espresso machine, stainless steel",
        "custom_number": "ORD-1042",
    }
    assert refund.attributes["reference_transaction"] == "5TY05013RG002845M"
    assert refund.attributes["fee"] == "7.31"
    assert first.raw is not None
    assert first.raw.startswith('"10/03/2026","09:15:02","PDT","Anna Schmidt"')
    assert '"Anna Schmidt, 12 Elm Street, Springfield, IL, 62704, United States"' in first.raw
    assert denied.raw is not None
    assert '"Please gift-wrap the second bag.\r\nThanks, Ben"' in denied.raw
    assert denied.raw.endswith('"GB","Memo"')


def test_a_paypal_row_that_breaks_is_rejected_at_its_own_line_after_a_multi_line_row() -> None:
    lines = (FIXTURES / "paypal-activity.csv").read_bytes().split(b"\r\n")
    lines[5] = lines[5].replace(b'"10/12/2026"', b'"13/12/2026"')  # physical line 6
    lines[7] = lines[7].replace(b'"-20.00"', b'"-20,00.0"')  # physical line 8

    items = parse(PAYPAL, b"\r\n".join(lines), "Download.CSV")

    rejections = [item for item in items if isinstance(item, Rejection)]
    assert [(r.location, r.code, r.reason) for r in rejections] == [
        (Location("Download.CSV", 6, "Date"), "invalid_date",
         'unparseable date "13/12/2026" in column Date (expected %m/%d/%Y or %Y-%m-%d)'),
        (Location("Download.CSV", 8, "Gross"), "invalid_amount",
         'amount "-20,00.0" in column Gross is not a number'),
    ]  # fmt: skip
    assert len(items) == 10


# --- generic bank export ----------------------------------------------------------------------


def test_a_bank_credit_with_a_description_has_remittance_and_one_without_is_flagged() -> None:
    data = (
        b"Date,Value Date,Description,Reference,Debit,Credit,Balance,Currency\n"
        b'01/10/2026,01/10/2026,ACME LTD INV-2026-0042,,,"1,250.00",,EUR\n'
        b"02/10/2026,02/10/2026,,,,99.00,,EUR\n"
    )
    events = [i for i in parse(BANK, data, "s.csv", source="bank:main-eur") if isinstance(i, Event)]

    found = Detectors().run(events, WindowState(), datetime(2026, 10, 3, tzinfo=UTC)).findings

    assert events[0].attributes["remittance"] == "ACME LTD INV-2026-0042"
    assert [(f.type, f.amount) for f in found] == [("missing_remittance", Decimal("99.00"))]


def test_the_bank_sample_gives_events_rejections_and_a_summary_flag_in_file_order() -> None:
    data = (FIXTURES / "generic-bank.csv").read_bytes()

    items = parse(BANK, data, "statement.csv", source="bank:main-eur")

    def shape(item: Item) -> tuple[Any, ...]:
        if isinstance(item, Event):
            return (item.occurred_at, item.amount, item.direction, item.refs, item.attributes)
        return (type(item).__name__, item.location, item.code, item.reason)

    def text(description: str, **rest: str) -> dict[str, str]:  # the description is remittance
        return {"description": description, "remittance": description, **rest}

    cafe = text("CARD PAYMENT CAFE ROMA, MILANO", value_date="2026-10-02")
    assert [shape(item) for item in items] == [
        (utc(2026, 10, 1), Decimal("5000.00"), "credit", Refs(bank_transaction="TRF-88120"),
         text("Transfer from savings account", value_date="2026-10-01", balance="17345.67")),
        (utc(2026, 10, 2), Decimal("4.50"), "debit", Refs(), cafe),
        (utc(2026, 10, 2), Decimal("4.50"), "debit", Refs(), cafe),
        (utc(2026, 10, 3), Decimal("1180.00"), "debit", Refs(bank_transaction="DD-55120"),
         text("SEPA DIRECT DEBIT STROMWERK GMBH\nMandate M-2211 Invoice 2026-10",
              value_date="2026-10-02", balance="16156.67")),
        (utc(2026, 10, 5), Decimal("2500.00"), "credit", Refs(bank_transaction="PP-WD-0001"),
         text("PAYPAL WITHDRAWAL 0BC99001DE223344F", value_date="2026-10-05",
              balance="18656.67")),
        ("Rejection", Location("statement.csv", 9, "Date"), "invalid_date",
         'unparseable date "31/02/2026" in column Date '
         "(expected %d/%m/%Y or %d.%m.%Y or %d-%m-%Y or %Y-%m-%d)"),
        ("Rejection", Location("statement.csv", 10, "Credit"), "invalid_amount",
         'amount "12,3,4" in column Credit is not a number'),
        (utc(2026, 10, 7), Decimal("12.00"), "debit", Refs(bank_transaction="FEE-2026-10"),
         text("Account maintenance fee", value_date="2026-10-07", balance="18644.67")),
        ("FileFlag", Location("statement.csv", 12), "summary_row",
         'summary row ("Total"), not a transaction: not imported'),
    ]  # fmt: skip
    found = [item for item in items if isinstance(item, Event)]
    assert {(e.source, e.type, e.currency) for e in found} == {
        ("bank:main-eur", "bank.statement_line", "EUR")
    }
    rejected = [item for item in items if isinstance(item, Rejection)]
    assert [r.raw for r in rejected] == [
        "31/02/2026,31/02/2026,Interest adjustment,INT-0226,,0.42,,EUR",
        '06/10/2026,06/10/2026,Refund from supplier,SUP-7781,,"12,3,4","18,656.67",EUR',
    ]


def test_bank_rows_without_an_id_get_stable_ids_and_identical_rows_stay_two_events() -> None:
    data = (FIXTURES / "generic-bank.csv").read_bytes()

    first = events([i for i in parse(BANK, data) if isinstance(i, Event)])
    again = events([i for i in parse(BANK, data, "renamed-copy.csv") if isinstance(i, Event)])

    ids = [e.external_id for e in first]
    assert ids == [e.external_id for e in again]
    assert [e.id for e in first] == [e.id for e in again]
    assert len(set(ids)) == len(ids) == 6
    assert all(i.startswith("row:") for i in ids)
    cafe_one, cafe_two = ids[1], ids[2]
    assert cafe_one.rsplit(":", 1) == [cafe_two.rsplit(":", 1)[0], "1"]
    assert cafe_two.endswith(":2")


def test_a_derived_id_depends_on_the_row_not_on_its_position_or_on_unmapped_columns() -> None:
    header = b"Date,Description,Debit,Credit,Currency\n"
    row = b"02/10/2026,CARD PAYMENT,4.50,,EUR\n"
    other = b"01/10/2026,SALARY,,2000.00,EUR\n"

    alone = only_event(parse(BANK, header + row))
    after_another = events(parse(BANK, header + other + row))[1]
    with_more_columns = only_event(
        parse(BANK, b"Notes," + header.replace(b"\n", b",Extra\n") + b"x," + row[:-1] + b",y\n")
    )
    twice = events(parse(BANK, header + row + other + row))

    assert alone.external_id == after_another.external_id == with_more_columns.external_id
    assert [e.external_id for e in twice] == [
        alone.external_id,
        events(parse(BANK, header + other))[0].external_id,
        alone.external_id[:-1] + "2",
    ]


# --- a profile of your own: the till sample ---------------------------------------------------


def test_a_cp1252_semicolon_export_with_a_preamble_and_german_numbers() -> None:
    till = CsvFormat(load_profile(FIXTURES / "shop-ledger.toml"))
    data = (FIXTURES / "shop-ledger.csv").read_bytes()

    items = parse(till, data, "kasse.csv")

    found = [item for item in items if isinstance(item, Event)]
    assert [
        (e.type, e.occurred_at, e.amount, e.direction, e.reason_code, e.refs, e.attributes)
        for e in found
    ] == [
        ("payment.succeeded", utc(2026, 10, 1, 7, 15), Decimal("1250.00"), "credit", None,
         Refs(order="B-1001"), {"customer_name": "Müller"}),
        ("payment.failed", utc(2026, 10, 1, 8, 2), Decimal("89.90"), "debit", "iso:MD06",
         Refs(order="B-1002"), {"customer_name": "Šimek"}),
        ("refund.succeeded", utc(2026, 10, 2, 9, 30), Decimal("45.00"), "debit", None,
         Refs(order="B-1003"), {"customer_name": "Dupré"}),
        ("refund.succeeded", utc(2026, 10, 2, 9, 30), Decimal("45.00"), "debit", None,
         Refs(order="B-1003"), {"customer_name": "Dupré"}),
    ]  # fmt: skip
    assert found[2].external_id != found[3].external_id
    assert {e.source for e in found} == {"till:nord"}
    assert [(r.location, r.code, r.reason) for r in items if isinstance(r, Rejection)] == [
        (Location("kasse.csv", 9, "Uhrzeit"), "invalid_date",
         'unparseable time "25:61" in column Uhrzeit (expected %H:%M)'),
        (Location("kasse.csv", 10, "Vorgang"), "unknown_type",
         'no event type for Vorgang "Gutschein" in profile shop-ledger'),
    ]  # fmt: skip


# --- quirks -----------------------------------------------------------------------------------


def test_rows_are_located_at_the_physical_line_where_they_start() -> None:
    data = (
        b"Id,Kind,Date,TZ,Amount,Currency\r\n"  # 1
        b'a,sale,2026-01-01,,x,EUR,"one\r\ntwo"\r\n'  # 2-3
        b"b,sale,2026-01-01,,y,EUR\n"  # 4
        b'c,sale,2026-01-01,,z,EUR,"three\rfour"\r'  # 5-6
        b"\r\n"  # 7
        b" , ,\n"  # 8
        b"d,sale,2026-01-01,,w,EUR"  # 9, no line end
    )

    items = parse(shop(), data)

    assert [(r.location.line, r.location.field) for r in items if isinstance(r, Rejection)] == [
        (2, None),
        (4, "Amount"),
        (5, None),
        (9, "Amount"),
    ]
    assert [r.code for r in items if isinstance(r, Rejection)] == [
        "extra_cells",
        "invalid_amount",
        "extra_cells",
        "invalid_amount",
    ]


def test_a_utf8_bom_is_skipped_even_when_the_profile_says_plain_utf8() -> None:
    fmt = shop('[file]\nencoding = "utf-8"\n', replace=('[file]\ndelimiter = ","\n', ""))
    data = b"\xef\xbb\xbf" + HEADER + b"a,sale,2026-01-01,,1.00,EUR,,,,\n"

    event = only_event(parse(fmt, data))

    assert event.external_id == "a"


def test_bytes_that_are_not_in_the_profile_encoding_reject_only_their_row() -> None:
    data = HEADER + b"a,sale,2026-01-01,,1.00,EUR,caf\xe9,,,\nb,sale,2026-01-01,,2.00,EUR,,,,\n"

    first, second = parse(shop(), data)

    assert isinstance(first, Rejection)
    assert (first.location, first.code) == (Location("export.csv", 2), "invalid_encoding")
    assert first.reason == "not valid utf-8: byte 0xE9 (profile shop says utf-8)"
    assert first.raw == "a,sale,2026-01-01,,1.00,EUR,caf\\xe9,,,"
    assert isinstance(second, Event)
    assert second.external_id == "b"


def test_cp1252_holes_are_rejected_and_latin1_reads_every_byte() -> None:
    row = b"a,sale,2026-01-01,,1.00,EUR,x\x81y,,,\n"
    windows = shop(replace=('delimiter = ","', 'delimiter = ","\nencoding = "cp1252"'))
    latin = shop(replace=('delimiter = ","', 'delimiter = ","\nencoding = "latin-1"'))

    rejected = only_rejection(parse(windows, HEADER + row))
    accepted = only_event(parse(latin, HEADER + row))

    assert (rejected.code, rejected.reason) == (
        "invalid_encoding",
        "not valid cp1252: byte 0x81 (profile shop says cp1252)",
    )
    assert accepted.refs == Refs(order="x\x81y")


def test_quoted_fields_keep_commas_quotes_and_line_breaks() -> None:
    data = (
        HEADER
        + b'a,sale,2026-01-01,,"1,250.00",EUR,"O-1, O-2","x","He said ""no""\r\nthen left",\n'
    )

    event = only_event(parse(shop('[numbers]\nthousands = ","\n'), data))

    assert event.amount == Decimal("1250.00")
    assert event.refs == Refs(order="O-1, O-2")
    assert event.reason_code == "shop:x"
    assert event.status == 'He said "no"\r\nthen left'


def test_missing_columns_flag_the_header_and_reject_every_row_at_that_column() -> None:
    data = b"Id,Kind,Date,Sum,Currency\na,sale,2026-01-01,1,EUR\nb,sale,2026-01-01,2,EUR\n"

    items = parse(shop(), data)

    assert items == [
        FileFlag(
            Location("export.csv", 1),
            "missing_columns",
            "the header has no column Amount, which profile shop needs: every row is rejected",
        ),
        Rejection(
            Location("export.csv", 2, "Amount"),
            "missing_column",
            "the header has no column Amount (profile shop)",
            "a,sale,2026-01-01,1,EUR",
        ),
        Rejection(
            Location("export.csv", 3, "Amount"),
            "missing_column",
            "the header has no column Amount (profile shop)",
            "b,sale,2026-01-01,2,EUR",
        ),
    ]


def test_header_names_match_without_regard_to_case_and_spacing() -> None:
    data = b" id ,KIND,date,tz,AMOUNT,currency\na,sale,2026-01-01,,1,EUR\n"

    event = only_event(parse(shop(), data))

    assert (event.external_id, event.amount) == ("a", Decimal(1))


def test_short_rows_read_missing_cells_as_empty_and_extra_empty_cells_are_ignored() -> None:
    data = HEADER + b"a,sale,2026-01-01\nb,sale,2026-01-01,,3.00,EUR,,,,,,,\n"

    short, padded = parse(shop(), data)

    assert isinstance(short, Rejection)
    assert (short.location, short.reason) == (
        Location("export.csv", 2, "Amount"),
        "no amount in column Amount",
    )
    assert isinstance(padded, Event)
    assert padded.amount == Decimal("3.00")


def test_an_unterminated_quote_is_one_rejection_covering_the_lines_it_swallowed() -> None:
    data = HEADER + b'a,sale,2026-01-01,,1,EUR,"open\nb,sale,2026-01-01,,2,EUR\nc,sale\n'

    rejection = only_rejection(parse(shop(), data))

    assert (rejection.location, rejection.code) == (Location("export.csv", 2), "invalid_csv")
    assert rejection.reason == (
        "a quoted field opened on line 2 is never closed: lines 2-4 were read as one row"
    )


@pytest.mark.parametrize("data", [b"", b"\n\r\n  \n", b"\xef\xbb\xbf"])
def test_a_file_without_a_header_is_one_flag(data: bytes) -> None:
    assert parse(shop(), data) == [
        FileFlag(Location("export.csv", None), "no_header", "no header row: the file holds no rows")
    ]


def test_a_header_alone_gives_nothing() -> None:
    assert parse(shop(), HEADER) == []


def test_the_header_line_skips_a_preamble_and_the_delimiter_is_sniffed() -> None:
    fmt = shop(replace=('delimiter = ","', "header_line = 3"))
    data = b"Export of shop\nPeriod,2026-01\n" + HEADER.replace(b",", b";")
    data += b"a;sale;2026-01-01;;1,5;EUR;;;;\n"

    items = parse(fmt, data + b"b;sale;2026-01-01;;x;EUR;;;;\n")

    assert [type(i).__name__ for i in items] == ["Rejection", "Rejection"]
    assert [(i.location.line, i.reason) for i in items if isinstance(i, Rejection)] == [
        (4, 'amount "1,5" in column Amount is not a number'),
        (5, 'amount "x" in column Amount is not a number'),
    ]
    decimal_comma = shop(
        '[numbers]\ndecimal = ","\n', replace=('delimiter = ","', "header_line = 3")
    )
    assert only_event(parse(decimal_comma, data)).amount == Decimal("1.5")


def test_date_time_and_zone_from_the_row_or_the_profile() -> None:
    data = HEADER + (
        b"a,sale,2026-07-01 10:00,,1,EUR\n"
        b"b,sale,2026-07-01 10:00,+05:30,1,EUR\n"
        b"c,sale,2026-07-01,America/New_York,1,EUR\n"
        b"d,sale,2026-07-01,Mars/Olympus,1,EUR\n"
    )

    a, b, c, d = parse(shop(), data)

    assert isinstance(a, Event)
    assert a.occurred_at == utc(2026, 7, 1, 8, 0)
    assert isinstance(b, Event)
    assert b.occurred_at == utc(2026, 7, 1, 4, 30)
    assert isinstance(c, Event)
    assert c.occurred_at == utc(2026, 7, 1, 4, 0)
    assert isinstance(d, Rejection)
    assert (d.location.field, d.code, d.reason) == (
        "TZ",
        "invalid_timezone",
        'unknown time zone "Mars/Olympus" in column TZ',
    )


def test_a_row_without_a_zone_is_rejected_when_the_profile_has_no_default() -> None:
    fmt = shop(replace=('timezone = "Europe/Paris"\n', ""))

    rejection = only_rejection(parse(fmt, HEADER + b"a,sale,2026-07-01,,1,EUR\n"))

    assert (rejection.location.field, rejection.reason) == ("TZ", "no time zone in column TZ")


def test_an_offset_in_the_date_itself_wins() -> None:
    fmt = shop(replace=('["%Y-%m-%d %H:%M", "%Y-%m-%d"]', '"%Y-%m-%dT%H:%M:%S%z"'))

    event = only_event(parse(fmt, HEADER + b"a,sale,2026-07-01T10:00:00-02:00,+09:00,1,EUR\n"))

    assert event.occurred_at == utc(2026, 7, 1, 12, 0)


@pytest.mark.parametrize(
    ("amount", "direction", "expected"),
    [("12.00", "credit", "12.00"), ("-12.00", "debit", "12.00"), ("0.00", None, "0.00")],
)
def test_a_signed_amount_gives_the_direction(
    amount: str, direction: str | None, expected: str
) -> None:
    data = HEADER + f"a,sale,2026-01-01,,{amount},EUR\n".encode()

    event = only_event(parse(shop(), data))

    assert (event.amount, event.direction) == (Decimal(expected), direction)


def test_negative_means_credit_turns_the_sign_around() -> None:
    fmt = shop(replace=('column = "Amount"\n', 'column = "Amount"\nnegative_means = "credit"\n'))

    event = only_event(parse(fmt, HEADER + b"a,sale,2026-01-01,,-5.00,EUR\n"))

    assert (event.amount, event.direction) == (Decimal("5.00"), "credit")


def test_an_indicator_column_gives_the_direction() -> None:
    fmt = shop(
        replace=(
            'column = "Amount"\n',
            'column = "Amount"\nindicator_column = "DC"\ndebit_values = ["D", "DR"]\n'
            'credit_values = ["C", "CR"]\n',
        )
    )
    header = HEADER.replace(b"Amount", b"Amount,DC")
    data = header + (
        b"a,sale,2026-01-01,,5.00,dr,EUR\n"
        b"b,sale,2026-01-01,,-5.00,C,EUR\n"
        b"c,sale,2026-01-01,,5.00,X,EUR\n"
    )

    a, b, c = parse(fmt, data)

    assert isinstance(a, Event)
    assert (a.amount, a.direction) == (Decimal("5.00"), "debit")
    assert isinstance(b, Event)
    assert (b.amount, b.direction) == (Decimal("5.00"), "credit")
    assert isinstance(c, Rejection)
    assert (c.location.field, c.reason) == (
        "DC",
        'unknown debit/credit indicator "X" in column DC (expected one of d/dr/c/cr)',
    )


def test_debit_and_credit_columns_must_hold_exactly_one_amount() -> None:
    header = b"Date,Description,Debit,Credit,Currency\n"
    data = header + (
        b"01/10/2026,both,1.00,2.00,EUR\n"
        b"01/10/2026,neither,,,EUR\n"
        b"01/10/2026,zero debit and a credit,0.00,2.00,EUR\n"
        b"01/10/2026,negative debit,-3.00,,EUR\n"
    )

    both, neither, zero, negative = parse(BANK, data)

    assert isinstance(both, Rejection)
    assert (both.location.field, both.reason) == (
        "Debit",
        "both Debit (1.00) and Credit (2.00) hold an amount",
    )
    assert isinstance(neither, Rejection)
    assert neither.reason == "no amount in column Debit or Credit"
    assert isinstance(zero, Event)
    assert (zero.amount, zero.direction) == (Decimal("2.00"), "credit")
    assert isinstance(negative, Event)
    assert (negative.amount, negative.direction) == (Decimal("3.00"), "debit")


def test_a_schema_rejection_names_the_column_the_bad_value_came_from() -> None:
    data = HEADER + (
        b"a,sale,2026-01-01,,1.00,XYZ\n"
        b"b,sale,2026-01-01,,1.5,JPY\n"
        b"c,sale,2026-01-01,,1,EUR,,Bad Code!\n"
        b",sale,2026-01-01,,1,EUR\n"
    )

    currency, yen, code, no_id = parse(shop(), data)

    assert isinstance(currency, Rejection)
    assert (currency.location, currency.code, currency.reason) == (
        Location("export.csv", 2, "Currency"),
        "invalid_value",
        "unknown ISO 4217 currency code 'XYZ' (column Currency)",
    )
    assert isinstance(yen, Rejection)
    assert (yen.location.field, yen.reason) == (
        "Amount",
        "amount 1.5 has 1 decimal places but JPY allows 0 (column Amount)",
    )
    assert isinstance(code, Rejection)
    assert (code.location.field, code.code) == ("Code", "invalid_field")
    assert isinstance(no_id, Rejection)
    assert (no_id.location.field, no_id.reason) == ("Id", "no id in column Id")


def test_the_context_source_overrides_the_profile_source() -> None:
    data = HEADER + b"a,sale,2026-01-01,,1,EUR\n"

    event = only_event(parse(shop(), data, source="shop:eu"))
    rejection = only_rejection(parse(shop(), data, source="Not A Source"))

    assert (event.source, event.id) == ("shop:eu", event_id_for("shop:eu", "a"))
    assert (rejection.location.field, rejection.code) == ("source", "invalid_field")


def test_an_unmapped_kind_is_rejected_and_a_default_type_catches_it() -> None:
    data = HEADER + b"a,payout,2026-01-01,,1,EUR\n"

    rejection = only_rejection(parse(shop(), data))
    caught = only_event(
        parse(shop(replace=("map = {", 'default = "custom.shop.other"\nmap = {')), data)
    )

    assert (rejection.location.field, rejection.code, rejection.reason) == (
        "Kind",
        "unknown_type",
        'no event type for Kind "payout" in profile shop',
    )
    assert caught.type == "custom.shop.other"


def test_rules_match_several_columns_and_replace_refs_for_their_rows() -> None:
    rule = (
        '\n[[event_type.rules]]\nwhen = { Kind = "refund", State = ["Failed", "denied"] }\n'
        'type = "refund.failed"\nrefs = { order = "", refund = "Id", payment = "Order" }\n'
    )
    text = PROFILE.replace("\n[occurred_at]", rule + "\n[occurred_at]")
    rules = CsvFormat(parse_profile(text, origin="shop.toml", default_name="shop"))
    data = HEADER + b"r1,REFUND,2026-01-01,,-1,EUR,pay_9,,DENIED\nr2,refund,2026-01-01,,-1,EUR,o1\n"

    failed, succeeded = events(parse(rules, data))

    assert (failed.type, failed.refs, failed.status) == (
        "refund.failed",
        Refs(payment="pay_9", refund="r1"),
        "DENIED",
    )
    assert (succeeded.type, succeeded.refs) == ("refund.succeeded", Refs(order="o1"))


# --- never raises, never loses a row ----------------------------------------------------------

BANK_HEADER = ["Date", "Value Date", "Description", "Reference", "Debit", "Credit", "Balance",
               "Currency"]  # fmt: skip
realistic = st.sampled_from(
    ["01/10/2026", "31/02/2026", "2026-10-01", "1,234.56", "(12.00)", "12,3,4", "4.50", "-1",
     "EUR", "JPY", "eur", "", " ", "Total", "Closing balance:", "REF-1", '"', ",", "\r\n", "\n"]
)  # fmt: skip
cells = realistic | st.text(st.characters(codec="utf-8"), max_size=12)
rows = st.lists(st.lists(cells, max_size=10), max_size=12)


def row_items(items: list[Item]) -> list[Item]:
    """The items that stand for one data row each (file flags about the header do not)."""
    return [i for i in items if not isinstance(i, FileFlag) or i.code == "summary_row"]


def check_items(items: list[Item]) -> None:
    assert all(isinstance(item, (Event, Rejection, FileFlag)) for item in items)
    assert not [i for i in items if isinstance(i, Rejection) and i.code == "connector_error"]
    lines = [item.location.line for item in row_items(items) if not isinstance(item, Event)]
    numbers = [line for line in lines if line is not None and line >= 2]
    assert numbers == lines
    assert numbers == sorted(set(numbers))


@settings(database=None, deadline=None, max_examples=200)
@given(
    body=rows,
    terminator=st.sampled_from(["\r\n", "\n", "\r"]),
    bom=st.booleans(),
)
@example(body=[["Total", "", "", "", "1", "2"]], terminator="\n", bom=False)
@example(
    body=[["01/10/2026", "", "a\nb", "", "1.00", "", "", "EUR"]] * 2, terminator="\r", bom=True
)
def test_any_well_formed_csv_gives_one_item_per_non_blank_row(
    body: list[list[str]], terminator: str, bom: bool
) -> None:
    buffer = io.StringIO(newline="")
    # the writer only quotes line breaks that are in its own terminator
    if terminator == "\r\n":
        writer = csv.writer(buffer, lineterminator=terminator, quoting=csv.QUOTE_MINIMAL)
    else:
        writer = csv.writer(buffer, lineterminator=terminator, quoting=csv.QUOTE_ALL)
    writer.writerow(BANK_HEADER)
    starts = []  # the physical line each non-blank row starts on
    for row in body:
        line = 1 + len(io.StringIO(buffer.getvalue(), newline="").readlines())
        writer.writerow(row)
        if "".join(row).strip():
            starts.append(line)
    data = (b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode("utf-8")

    items = parse(BANK, data)

    check_items(items)
    assert len(row_items(items)) == len(starts)
    for item, start in zip(row_items(items), starts, strict=True):
        assert isinstance(item, Event) or item.location.line == start
    assert len([i for i in items if isinstance(i, FileFlag)]) == len(
        [i for i in items if isinstance(i, FileFlag) and i.code == "summary_row"]
    )


BANK_COMMA = CsvFormat(  # a fixed delimiter, so that the oracle splits rows the same way
    parse_profile(
        (Path(connectors.__file__).parent / "profiles" / "generic-bank.toml")
        .read_text(encoding="utf-8")
        .replace('delimiter = "auto"', 'delimiter = ","'),
        origin="generic-bank.toml",
        default_name="generic-bank",
    )
)


def oracle_rows(data: bytes, encoding: str) -> int:
    """How many non-blank rows follow the header, read independently with :mod:`csv`."""
    text = data.decode(encoding, "surrogateescape").removeprefix("\ufeff")
    lines = iter(io.StringIO(text, newline=""))
    for line in lines:
        if line.strip():
            break
    else:
        return 0
    reader = csv.reader(itertools.chain([line], lines))
    next(reader)  # the header, which may span lines
    return sum(1 for row in reader if "".join(row).strip())


@settings(database=None, deadline=None, max_examples=200,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(
    sample=st.sampled_from(["paypal-activity.csv", "generic-bank.csv"]),
    edits=st.lists(
        st.tuples(st.integers(0, 10_000), st.sampled_from(["insert", "delete", "replace"]),
                  st.binary(min_size=1, max_size=3) | st.sampled_from([b'"', b",", b"\n", b"\r"])),
        max_size=8,
    ),
)  # fmt: skip
def test_mutated_exports_never_raise_and_every_row_is_accounted_for(
    sample: str, edits: list[tuple[int, str, bytes]]
) -> None:
    data = bytearray((FIXTURES / sample).read_bytes())
    for position, action, chunk in edits:
        at = position % (len(data) + 1)
        if action == "insert":
            data[at:at] = chunk
        elif action == "delete":
            del data[at : at + len(chunk)]
        else:
            data[at : at + len(chunk)] = chunk
    fmt = PAYPAL if sample.startswith("paypal") else BANK_COMMA

    items = parse(fmt, bytes(data))

    check_items(items)
    assert len(row_items(items)) == oracle_rows(bytes(data), "utf-8")


@settings(database=None, deadline=None, max_examples=300)
@given(data=st.binary(max_size=400))
@example(data=b"Date,Debit,Credit,Currency\n\x00,\x00\n")
@example(data=b'Date,Debit,Credit,Currency\n"' + b"x" * 10 + b"\n")
def test_any_bytes_never_raise(data: bytes) -> None:
    for fmt in (*FORMATS, shop()):
        items = parse(fmt, data)

        check_items(items)
