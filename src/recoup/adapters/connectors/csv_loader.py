"""Loading a CSV profile from TOML, checked completely before any row is read.

An unknown key, a missing mapping, an unknown event type, a bad date format or time zone is an
:class:`InvalidInputError` whose location names the profile file and the key
(``amount.column``, ``event_type.rules[2].type``), so a broken profile fails at once rather
than quarantining a whole file row by row.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from recoup.adapters.connectors.csv_profile import (
    ATTRIBUTE_KINDS,
    DEFAULT_TIME_FORMATS,
    DELIMITERS,
    ENCODINGS,
    NEGATIVE_STYLES,
    THOUSANDS,
    AmountSpec,
    AttributeSpec,
    Columns,
    CsvProfile,
    EventTypeSpec,
    FileSpec,
    NumberFormat,
    OccurredAtSpec,
    ReasonCodeSpec,
    TypeRule,
    resolve_zone,
)
from recoup.adapters.connectors.csv_toml import TomlTable
from recoup.domain.errors import InvalidInputError, Location
from recoup.domain.ingestion.event import REF_KINDS, SOURCE_PATTERN
from recoup.domain.ingestion.types import is_known_type

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_NAMESPACE = re.compile(r"^[a-z][a-z0-9_]*$")
_TOP_KEYS = (
    "name",
    "description",
    "source",
    "file",
    "fields",
    "event_type",
    "occurred_at",
    "numbers",
    "amount",
    "reason_code",
    "refs",
    "attributes",
)
_SAMPLE = datetime(2031, 12, 23, 21, 47, 58, 123456)  # noqa: DTZ001 - strptime gives naive values


def load_profile(path: str | Path) -> CsvProfile:
    """Read and check a profile file; raise :class:`InvalidInputError` naming file and key."""
    origin = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read profile: {exc}", location=Location(origin)) from None
    return parse_profile(text, origin=origin, default_name=Path(path).stem)


def parse_profile(text: str, *, origin: str, default_name: str) -> CsvProfile:
    """A profile from TOML text; ``origin`` names it in errors."""
    try:
        data = tomllib.loads(text)
    except (ValueError, RecursionError) as exc:  # also an integer too long, arrays too deep
        raise InvalidInputError(f"not valid TOML: {exc}", location=Location(origin)) from None
    top = TomlTable(data, origin).allow(*_TOP_KEYS)
    name = top.text("name") or default_name
    if not _NAME.match(name):
        raise top.fail("name", f"profile name {name!r} must be lower case: letters, digits, -_.")
    source = top.required_text("source")
    if not re.match(SOURCE_PATTERN, source):
        raise top.fail("source", f"source {source!r} must be lower case, like paypal or bank:eur")
    description = top.text("description", default=f"CSV export mapped by profile {name}")
    assert description is not None
    file = _file_spec(top.table("file") or TomlTable({}, origin, "file"))
    fields = top.table("fields")
    external_id = status = reason_message = None
    if fields is not None:
        fields.allow("external_id", "status", "reason_message")
        external_id = fields.columns("external_id")
        status = fields.columns("status")
        reason_message = fields.columns("reason_message")
    event_type = _event_type(top.table("event_type", required=True))
    occurred_at = _occurred_at(top.table("occurred_at", required=True))
    numbers = _numbers(top.table("numbers") or TomlTable({}, origin, "numbers"))
    amount_table = top.table("amount")
    amount = _amount(amount_table) if amount_table is not None else None
    reason_table = top.table("reason_code")
    reason_code = _reason_code(reason_table) if reason_table is not None else None
    refs_table = top.table("refs")
    refs = _refs(refs_table) if refs_table is not None else ()
    attributes_table = top.table("attributes")
    attributes = _attributes(attributes_table) if attributes_table is not None else ()
    return CsvProfile(
        name=name,
        description=description,
        source=source,
        origin=origin,
        file=file,
        event_type=event_type,
        occurred_at=occurred_at,
        numbers=numbers,
        external_id=external_id,
        amount=amount,
        status=status,
        reason_message=reason_message,
        reason_code=reason_code,
        refs=refs,
        attributes=attributes,
    )


def _file_spec(t: TomlTable) -> FileSpec:
    t.allow("encoding", "delimiter", "quote", "header_line", "summary_labels")
    encoding = t.choice("encoding", ENCODINGS, "utf-8-sig")
    delimiter = t.get("delimiter")
    if delimiter is None:
        delimiter = "auto"
    elif not isinstance(delimiter, str) or delimiter.lower() not in DELIMITERS:
        raise t.fail("delimiter", '\'file.delimiter\' must be "auto", ",", ";", "\\t" or "|"')
    quote = t.text("quote", default='"')
    if quote is None or len(quote) != 1 or quote.isalnum() or quote in "\r\n" + delimiter:
        raise t.fail("quote", "'file.quote' must be one character, not a letter or the delimiter")
    header_line = t.integer("header_line", 1, 1)
    labels = t.texts("summary_labels", allow_empty=True) or ()
    return FileSpec(
        encoding=encoding,
        delimiter=DELIMITERS[delimiter.lower()],
        quote=quote,
        header_line=header_line,
        summary_labels=tuple(label.strip().rstrip(":").casefold() for label in labels),
    )


def _event_type_name(t: TomlTable, name: str, value: Any) -> str:
    if not isinstance(value, str) or not is_known_type(value):
        raise t.fail(
            name,
            f"unknown event type {value!r} in '{t.key(name)}' (see `recoup events types`; "
            "your own types go under custom.)",
        )
    return value


def _event_type(t: TomlTable | None) -> EventTypeSpec:
    assert t is not None
    t.allow("value", "column", "map", "rules", "default")
    value = t.get("value")
    column = t.columns("column")
    mapping = t.get("map")
    rules_data = t.get("rules")
    default = t.get("default")
    if value is not None:
        if column or mapping or rules_data or default:
            raise t.fail("value", "give a fixed 'event_type.value' or column/map/rules, not both")
        return EventTypeSpec(value=_event_type_name(t, "value", value))
    pairs: list[tuple[str, str]] = []
    if mapping is not None:
        if column is None:
            raise t.fail("column", "'event_type.map' needs 'event_type.column'")
        if not isinstance(mapping, dict) or not mapping:
            raise t.fail("map", "'event_type.map' must be a table of column value = event type")
        for key, target in mapping.items():
            pairs.append((key.strip().casefold(), _event_type_name(t, f"map.{key}", target)))
    elif column is not None:
        raise t.fail("map", "'event_type.column' needs 'event_type.map'")
    rules = _rules(t, rules_data)
    if not pairs and not rules:
        raise t.fail(
            "value", "missing required mapping: 'event_type.value', or column and map, or rules"
        )
    return EventTypeSpec(
        column=column,
        map=tuple(pairs),
        rules=rules,
        default=None if default is None else _event_type_name(t, "default", default),
    )


def _rules(t: TomlTable, data: Any) -> tuple[TypeRule, ...]:
    if data is None:
        return ()
    if not isinstance(data, list) or not all(isinstance(rule, dict) for rule in data):
        raise t.fail(
            "rules", "'event_type.rules' must be an array of tables ([[event_type.rules]])"
        )
    rules = []
    for index, rule_data in enumerate(data, start=1):
        rule = TomlTable(rule_data, t.origin, f"{t.path}.rules[{index}]")
        rule.allow("when", "type", "refs")
        when = rule.table("when", required=True)
        assert when is not None
        conditions = []
        for column in when.data:
            values = when.texts(column)
            assert values is not None
            conditions.append(((column,), frozenset(v.strip().casefold() for v in values)))
        if not conditions:
            raise rule.fail("when", f"'{rule.key('when')}' must name at least one column")
        event_type = _event_type_name(rule, "type", rule.get("type"))
        refs_table = rule.table("refs")
        refs = _refs(refs_table, allow_unset=True) if refs_table is not None else ()
        rules.append(TypeRule(when=tuple(conditions), type=event_type, refs=refs))
    return tuple(rules)


def check_format(t: TomlTable, name: str, fmt: str, parts: tuple[str, ...]) -> None:
    """A strptime pattern is usable if a sample survives formatting and parsing back."""
    if "%Z" in fmt:
        raise t.fail(
            name,
            f"'{t.key(name)}' uses %Z, which Python cannot read reliably; "
            "use %z, a timezone_column or occurred_at.timezone",
        )
    sample = _SAMPLE.replace(tzinfo=timezone(timedelta(hours=1))) if "%z" in fmt else _SAMPLE
    try:
        back = datetime.strptime(sample.strftime(fmt), fmt)  # noqa: DTZ007 - checked below
    except (ValueError, re.error) as exc:  # re.error: a directive repeated (%m%m)
        raise t.fail(name, f"bad format {fmt!r} in '{t.key(name)}': {exc}") from None
    missing = [part for part in parts if getattr(back, part) != getattr(_SAMPLE, part)]
    if missing:
        raise t.fail(
            name, f"format {fmt!r} in '{t.key(name)}' does not read the {', '.join(missing)}"
        )


def _occurred_at(t: TomlTable | None) -> OccurredAtSpec:
    assert t is not None
    t.allow(
        "date_column",
        "date_format",
        "time_column",
        "time_format",
        "timezone_column",
        "timezone",
        "timezone_names",
    )
    date_column = t.columns("date_column", required=True)
    assert date_column is not None
    date_formats = t.texts("date_format")
    if date_formats is None:
        raise t.fail(
            "date_format",
            "missing required key 'occurred_at.date_format' (a strptime pattern such as %d/%m/%Y)",
        )
    for fmt in date_formats:
        check_format(t, "date_format", fmt, ("year", "month", "day"))
    time_column = t.columns("time_column")
    time_formats = t.texts("time_format") or DEFAULT_TIME_FORMATS
    for fmt in time_formats:
        check_format(t, "time_format", fmt, ("hour", "minute"))
    timezone_column = t.columns("timezone_column")
    zone = t.text("timezone")
    if zone is not None and resolve_zone(zone) is None:
        raise t.fail(
            "timezone",
            f"unknown time zone {zone!r}: use an IANA name like "
            "Europe/Berlin or an offset like +02:00",
        )
    names_table = t.table("timezone_names")
    names: list[tuple[str, str]] = []
    if names_table is not None:
        for abbreviation in names_table.data:
            target = names_table.required_text(abbreviation)
            if resolve_zone(target) is None:
                raise names_table.fail(abbreviation, f"unknown time zone {target!r}")
            names.append((abbreviation.strip().upper(), target))
    with_offset = all("%z" in fmt for fmt in date_formats)
    if zone is None and timezone_column is None and not with_offset:
        raise t.fail(
            "timezone",
            "missing 'occurred_at.timezone': the dates carry no offset "
            "(%z), so say which zone they are in, or give a timezone_column",
        )
    return OccurredAtSpec(
        date_column=date_column,
        date_formats=date_formats,
        time_column=time_column,
        time_formats=time_formats,
        timezone_column=timezone_column,
        timezone=zone,
        timezone_names=tuple(names),
    )


def _numbers(t: TomlTable) -> NumberFormat:
    t.allow("decimal", "thousands", "negatives")
    decimal = t.choice("decimal", (".", ","), ".")
    thousands = t.get("thousands")
    if thousands is None:
        thousands = ""
    if thousands not in THOUSANDS or thousands == decimal:
        raise t.fail(
            "thousands",
            f"'numbers.thousands' must be one of {THOUSANDS!r} and differ from numbers.decimal",
        )
    negatives = t.texts("negatives")
    if negatives is not None and not set(negatives) <= set(NEGATIVE_STYLES):
        raise t.fail("negatives", f"'numbers.negatives' may hold {', '.join(NEGATIVE_STYLES)}")
    return NumberFormat(decimal, thousands, negatives or NEGATIVE_STYLES)


def _amount(t: TomlTable) -> AmountSpec:
    t.allow(
        "column",
        "debit_column",
        "credit_column",
        "indicator_column",
        "debit_values",
        "credit_values",
        "negative_means",
        "currency_column",
        "currency",
    )
    column = t.columns("column")
    debit, credit = t.columns("debit_column"), t.columns("credit_column")
    indicator = t.columns("indicator_column")
    debit_values = t.texts("debit_values")
    credit_values = t.texts("credit_values")
    negative_means = t.choice("negative_means", ("debit", "credit"), "debit")
    currency_column, currency = t.columns("currency_column"), t.text("currency")
    if (debit is None) != (credit is None):
        raise t.fail(
            "credit_column" if credit is None else "debit_column",
            "give both 'amount.debit_column' and 'amount.credit_column'",
        )
    if debit is not None and (column or indicator):
        raise t.fail("column", "give 'amount.column' or debit and credit columns, not both")
    if debit is None and column is None:
        raise t.fail(
            "column", "missing required mapping 'amount.column' (or debit_column and credit_column)"
        )
    if indicator is not None and not (debit_values and credit_values):
        raise t.fail(
            "debit_values",
            "'amount.indicator_column' needs 'amount.debit_values' and 'amount.credit_values'",
        )
    if indicator is None and (debit_values or credit_values):
        raise t.fail(
            "indicator_column",
            "'amount.debit_values' and 'amount.credit_values' need 'amount.indicator_column'",
        )
    if (currency_column is None) == (currency is None):
        raise t.fail(
            "currency_column",
            "give exactly one of 'amount.currency_column' and a fixed 'amount.currency'",
        )
    if currency is not None and not re.fullmatch(r"[A-Z]{3}", currency):
        raise t.fail("currency", f"'amount.currency' {currency!r} must be an ISO 4217 code")
    return AmountSpec(
        column=column,
        debit_column=debit,
        credit_column=credit,
        indicator_column=indicator,
        debit_values=_folded(debit_values),
        credit_values=_folded(credit_values),
        negative_means=negative_means,
        currency_column=currency_column,
        currency=currency,
    )


def _folded(values: tuple[str, ...] | None) -> tuple[str, ...]:
    return tuple(value.strip().casefold() for value in values or ())


def _reason_code(t: TomlTable) -> ReasonCodeSpec:
    t.allow("column", "namespace")
    column = t.columns("column", required=True)
    namespace = t.required_text("namespace")
    if not _NAMESPACE.match(namespace):
        raise t.fail(
            "namespace",
            f"'reason_code.namespace' {namespace!r} must be lower case "
            "letters, digits and _ (like paypal or iso)",
        )
    assert column is not None
    return ReasonCodeSpec(column, namespace)


def _refs(t: TomlTable, *, allow_unset: bool = False) -> tuple[tuple[str, Columns], ...]:
    """``kind = column``; in a rule, ``kind = ""`` drops the profile's ref of that kind."""
    refs: list[tuple[str, Columns]] = []
    for kind in t.data:
        if kind not in REF_KINDS:
            close = difflib.get_close_matches(kind, REF_KINDS, n=1)
            hint = f" (did you mean '{t.key(close[0])}'?)" if close else ""
            raise t.fail(
                kind, f"unknown ref kind '{t.key(kind)}'{hint}; known: {', '.join(REF_KINDS)}"
            )
        if allow_unset and t.get(kind) == "":
            refs.append((kind, ()))
            continue
        columns = t.columns(kind)
        assert columns is not None
        refs.append((kind, columns))
    return tuple(refs)


def _attributes(t: TomlTable) -> tuple[AttributeSpec, ...]:
    attributes = []
    for name, value in t.data.items():
        if not name.strip():
            raise t.fail(name, "attribute names must not be empty")
        if isinstance(value, dict):
            spec = t.table(name)
            assert spec is not None
            spec.allow("column", "parse")
            column = spec.columns("column", required=True)
            assert column is not None
            kind = spec.choice("parse", ATTRIBUTE_KINDS, "text")
            attributes.append(AttributeSpec(name, column, kind))
        else:
            column = t.columns(name)
            assert column is not None
            attributes.append(AttributeSpec(name, column))
    return tuple(attributes)


__all__ = ["load_profile", "parse_profile"]
