"""Read a reconciliation rules file (TOML, ``version = 1``) into :class:`Rules`.

    version = 1

    [[pass]]
    name = "end_to_end"
    kind = "one_to_one"              # one_to_one | many_to_one | one_to_many | three_way
    keys = ["end_to_end"]            # tried in order; "a=b" compares left a with right b;
                                     # "a in b": left a is a word of right b;
                                     # "amount" blocks on currency, amount band and date window
    amount_absolute = 0              # decimals are read exactly (never as binary floats)
    amount_percent = 0
    date_window_days = 0

Every other field has the default of :class:`recoup.domain.reconcile.rules.Pass`; unknown keys
are refused. Errors name the file, the pass and the field (docs/reconcile.md).
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

from recoup.domain.errors import ConfigurationError, InvalidInputError, Location
from recoup.domain.reconcile.rules import Key, Pass, PassKind, Rules, Weights

DEFAULT_RULES = "default_rules.toml"
_PASS_FIELDS = {
    "name",
    "kind",
    "keys",
    "amount_absolute",
    "amount_percent",
    "fee_absolute",
    "fee_percent",
    "date_window_days",
    "allow_fx",
    "reference_min",
    "name_min",
    "scorer",
    "normalize",
    "auto_threshold",
    "suggest_threshold",
    "left_kinds",
    "group_by",
    "payment_kinds",
    "weights",
}


def load_rules(path: Path) -> Rules:
    """The rules in ``path``; raise :class:`InvalidInputError` naming file, pass and field."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(
            f"cannot read {path}: {exc.strerror}", location=Location(file=str(path))
        ) from None
    return parse_rules(text, source=str(path))


def default_rules() -> Rules:
    """The rules shipped with Recoup (``default_rules.toml`` next to this module)."""
    text = resources.files(__package__).joinpath(DEFAULT_RULES).read_text(encoding="utf-8")
    return parse_rules(text, source=DEFAULT_RULES)


def parse_rules(text: str, *, source: str = "<rules>") -> Rules:
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(f"{source}: {exc}", location=Location(file=source)) from None
    unknown = set(data) - {"version", "pass"}
    if unknown:
        _fail(source, ", ".join(sorted(unknown)), "unknown top-level keys")
    version = data.get("version")
    if version != 1:
        _fail(source, "version", f"must be 1 (got {version!r})")
    raw_passes = data.get("pass")
    if not isinstance(raw_passes, list) or not raw_passes:
        _fail(source, "pass", "needs at least one [[pass]] table")
    passes = [_pass(source, index, body) for index, body in enumerate(raw_passes)]
    try:
        return Rules(version=1, passes=tuple(passes))
    except ConfigurationError as exc:
        raise InvalidInputError(
            f"{source}: {exc.message}", location=Location(file=source, field="pass")
        ) from None


def _pass(source: str, index: int, body: Any) -> Pass:
    label = f"pass[{index}]"
    if not isinstance(body, dict):
        _fail(source, label, "must be a table")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        _fail(source, f"{label}.name", "must be a non-empty string")
    label = f"pass {name!r}"
    unknown = set(body) - _PASS_FIELDS
    if unknown:
        _fail(source, label, f"has unknown keys {', '.join(sorted(unknown))}")
    try:
        kind = PassKind(body.get("kind", "one_to_one"))
    except ValueError:
        _fail(source, f"{label}.kind", f"must be one of {', '.join(k.value for k in PassKind)}")
    keys = body.get("keys")
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
        _fail(source, f"{label}.keys", "must be a non-empty list of strings")
    args: dict[str, Any] = {"name": name, "kind": kind}
    try:
        args["keys"] = tuple(Key.parse(k, three_way=kind is PassKind.THREE_WAY) for k in keys)
    except ConfigurationError as exc:
        _fail(source, f"{label}.keys", exc.message)
    for field in ("amount_absolute", "amount_percent", "fee_absolute", "fee_percent"):
        if field in body:
            args[field] = _decimal(source, f"{label}.{field}", body[field])
    if "date_window_days" in body:
        value = body["date_window_days"]
        if not isinstance(value, int) or isinstance(value, bool):
            _fail(source, f"{label}.date_window_days", "must be a whole number of days")
        args["date_window_days"] = value
    if "allow_fx" in body:
        if not isinstance(body["allow_fx"], bool):
            _fail(source, f"{label}.allow_fx", "must be true or false")
        args["allow_fx"] = body["allow_fx"]
    for field in ("reference_min", "name_min", "auto_threshold", "suggest_threshold"):
        if field in body:
            args[field] = _number(source, f"{label}.{field}", body[field])
    for field in ("scorer", "normalize", "group_by"):
        if field in body:
            if not isinstance(body[field], str):
                _fail(source, f"{label}.{field}", "must be a string")
            args[field] = body[field]
    for field in ("left_kinds", "payment_kinds"):
        if field in body:
            value = body[field]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                _fail(source, f"{label}.{field}", "must be a list of strings")
            args[field] = tuple(value)
    if "weights" in body:
        args["weights"] = _weights(source, f"{label}.weights", body["weights"])
    try:
        return Pass(**args)
    except ConfigurationError as exc:
        raise InvalidInputError(
            f"{source}: {exc.message}", location=Location(file=source, field=label)
        ) from None


def _weights(source: str, label: str, value: Any) -> Weights:
    if not isinstance(value, dict) or set(value) - {"amount", "date", "text"}:
        _fail(source, label, "must be a table with amount, date and text")
    parts = {k: _number(source, f"{label}.{k}", v) for k, v in value.items()}
    return Weights(**parts)


def _decimal(source: str, label: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        _fail(source, label, "must be a number")
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        _fail(source, label, f"must be a number (got {value!r})")
    if not number.is_finite():
        _fail(source, label, "must be finite")
    return number


def _number(source: str, label: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        _fail(source, label, "must be a number")
    return float(value)


def _fail(source: str, field: str, message: str) -> NoReturn:
    raise InvalidInputError(
        f"{source}: {field} {message}", location=Location(file=source, field=field)
    )


__all__ = ["DEFAULT_RULES", "default_rules", "load_rules", "parse_rules"]
