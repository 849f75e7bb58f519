"""Stateless rules about payables master data: a VAT number or tax id that fails validation, a
supplier bank account (IBAN) that cannot be right, and one held in someone else's name.

Both check format and check digits offline with ``python-stdnum`` (pure Python, no network:
VIES and other online look-ups are never called). A full IBAN is never put in a finding: the
summary and detail show its country and last four characters only; a tax id (``tax_id``, which
may be a person's number such as a US SSN) is shown the same way, a VAT number in full.

The account-holder check compares ``attributes.account_holder_name`` with the supplier's
``attributes.name`` after :func:`recoup.domain.detection.sanctions.normalise_name` (case,
punctuation and legal forms such as Ltd / Limited / GmbH ignored), so "Acme Trading Ltd" and
"ACME TRADING LIMITED" agree. Its finding has its own id (``finding_id`` of
``supplier_bank_mismatch:name``), so an event with both an invalid IBAN and a foreign holder
keeps both findings, each with its own reason, instead of one overwriting the other.

The "bank account changed since the last payment" half of supplier_bank_mismatch needs state
(the account last paid) and is not done here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from stdnum import get_cc_module, iban, numdb
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)

from recoup.domain.detection.detectors import RuleSpec, _entity, _finding, default_tier
from recoup.domain.detection.findings import Finding, finding_id
from recoup.domain.detection.sanctions import name_score
from recoup.domain.ingestion.event import Event

TAX_VALIDATION_FAILED = "tax_validation_failed"
SUPPLIER_BANK_MISMATCH = "supplier_bank_mismatch"

TAX_TYPES = frozenset(
    {"invoice.created", "invoice.approved", "supplier.created", "supplier.updated"}
)
BANK_TYPES = frozenset(
    {"supplier.created", "supplier.updated", "supplier.payment_initiated", "invoice.created"}
)
HOLDER_TYPES = frozenset({"supplier.created", "supplier.updated", "supplier.payment_initiated"})

# Below this token_sort_ratio (0-100) the account holder is someone other than the supplier.
HOLDER_NAME_THRESHOLD = 80
# The account-holder finding's id is finding_id of this, so it never takes the invalid-IBAN
# finding's id on the same event.
HOLDER_FINDING_KEY = f"{SUPPLIER_BANK_MISMATCH}:name"

INVALID_FORMAT = "invalid format"
INVALID_CHECKSUM = "invalid checksum"
INVALID_LENGTH = "invalid length"
INVALID_COMPONENT = "invalid component"
UNKNOWN_COUNTRY = "unknown country"

# Longer than any tax id or IBAN (34): refused before stdnum sees it.
MAX_LENGTH = 64

_SEPARATORS = re.compile(r"[\s\-./]")
_COUNTRY = re.compile(r"[A-Z]{2}")
# What a ref must look like to be read as an IBAN: country, two check digits, 11 to 30 more.
_IBAN_LIKE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]+")
_BBAN_PART = re.compile(r"(\d+)!?[nac]")

# VAT prefixes that are not ISO country codes: Greece (EL), Northern Ireland (XI), the EU OSS
# scheme (EU) and the Isle of Man (IM) are all handled by stdnum.eu.vat.
_EU_PREFIXES = frozenset({"el", "xi", "eu", "im"})


@dataclass(frozen=True, slots=True)
class Failure:
    """A number that failed validation: which attribute, its country, why, and how to show it."""

    field: str
    country: str | None
    reason: str
    shown: str

    def detail(self) -> dict[str, object]:
        return {
            "field": self.field,
            "country": self.country,
            "reason": self.reason,
            "number": self.shown,
        }


def _compact(value: str) -> str:
    return _SEPARATORS.sub("", value).upper()


def _last4(number: str) -> str:
    return f"…{number[-4:]}"


def _reason(error: ValidationError) -> str:
    if isinstance(error, InvalidChecksum):
        return INVALID_CHECKSUM
    if isinstance(error, InvalidLength):
        return INVALID_LENGTH
    if isinstance(error, InvalidFormat):
        return INVALID_FORMAT
    if isinstance(error, InvalidComponent):
        return INVALID_COMPONENT
    return INVALID_FORMAT


def _run(modules: list[Any], number: str) -> str | None:
    """None when one of the modules accepts the number, else the first module's reason."""
    first: str | None = None
    for module in modules:
        try:
            module.validate(number)
        except ValidationError as error:
            first = first or _reason(error)
        except (ValueError, LookupError, TypeError):
            first = first or INVALID_FORMAT
        else:
            return None
    return first or UNKNOWN_COUNTRY


def _text(value: object) -> str | None:
    """The attribute as text, or None when it is absent or blank."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None


def _vat_modules(cc: str) -> list[Any]:
    if cc in _EU_PREFIXES or cc in eu_vat.MEMBER_STATES:
        return [eu_vat]
    module = get_cc_module(cc, "vat")
    return [module] if module is not None else []


def check_vat(value: str, field: str = "vat_number") -> Failure | None:
    """A VAT number with its country prefix (``DE136695976``, ``ATU13585627``, ``GB980780684``):
    EU numbers through ``stdnum.eu.vat``, others through the country's ``vat`` module."""
    number = _compact(value)
    cc = number[:2]
    if len(number) > MAX_LENGTH:
        return Failure(field, None, INVALID_LENGTH, number[:16] + "…")
    if not _COUNTRY.fullmatch(cc):
        return Failure(field, None, INVALID_FORMAT, number)
    modules = _vat_modules(cc.lower())
    if not modules:
        return Failure(field, cc, UNKNOWN_COUNTRY, number)
    reason = _run(modules, number)
    return None if reason is None else Failure(field, cc, reason, number)


def check_tax_id(value: str, country: str | None) -> Failure | None:
    """A tax id in ``country``'s format: valid when the country's ``vat`` or ``tin`` module in
    stdnum accepts it. Without a country, a number with a VAT prefix is checked as a VAT number."""
    number = _compact(value)
    shown = _last4(number)
    if len(number) > MAX_LENGTH:
        return Failure("tax_id", country, INVALID_LENGTH, shown)
    if country is None:
        if _COUNTRY.fullmatch(number[:2]):
            failure = check_vat(number, field="tax_id")
            if failure is None:
                return None
            return Failure("tax_id", failure.country, failure.reason, shown)
        return Failure("tax_id", None, UNKNOWN_COUNTRY, shown)
    cc = country.strip().upper()
    if not _COUNTRY.fullmatch(cc):
        return Failure("tax_id", cc or None, UNKNOWN_COUNTRY, shown)
    lookup = "gr" if cc == "EL" else cc.lower()
    modules = [m for name in ("vat", "tin") if (m := get_cc_module(lookup, name)) is not None]
    if not modules:
        return Failure("tax_id", cc, UNKNOWN_COUNTRY, shown)
    reason = _run(modules, number)
    return None if reason is None else Failure("tax_id", cc, reason, shown)


def _iban_length(cc: str) -> int | None:
    """The length of ``cc``'s IBANs from stdnum's registry, or None for an unknown country."""
    info = numdb.get("iban").info(cc)
    structure = info[0][1].get("bban") if info else None
    if not structure:
        return None
    return 4 + sum(int(size) for size in _BBAN_PART.findall(structure))


def check_iban(value: str, field: str = "iban") -> Failure | None:
    """An IBAN: shape, known country, the country's length, then ``stdnum.iban`` (mod-97 check
    digits, the country's BBAN structure and any national check digits)."""
    number = _compact(value)
    cc = number[:2] if _COUNTRY.fullmatch(number[:2]) else None
    shown = _last4(number)
    if len(number) > MAX_LENGTH:
        return Failure(field, cc, INVALID_LENGTH, shown)
    if cc is None or not _IBAN_SHAPE.fullmatch(number):
        return Failure(field, cc, INVALID_FORMAT, shown)
    length = _iban_length(cc)
    if length is None:
        return Failure(field, cc, UNKNOWN_COUNTRY, shown)
    if len(number) != length:
        return Failure(field, cc, INVALID_LENGTH, shown)
    reason = _run([iban], number)
    return None if reason is None else Failure(field, cc, reason, shown)


def _attr(event: Event, name: str) -> str | None:
    return _text(event.attributes.get(name))


def _tax_failures(event: Event) -> list[Failure]:
    failures: list[Failure] = []
    vat_number = _attr(event, "vat_number")
    if vat_number is not None and (failure := check_vat(vat_number)) is not None:
        failures.append(failure)
    tax_id = _attr(event, "tax_id")
    if tax_id is not None:
        failure = check_tax_id(tax_id, _attr(event, "tax_id_country"))
        if failure is not None:
            failures.append(failure)
    return failures


def _label(failure: Failure) -> str:
    if failure.field == "vat_number":
        return f"VAT number {failure.shown}"
    country = f" ({failure.country})" if failure.country else ""
    return f"tax id{country} ending {failure.shown.lstrip('…')}"


def detect_tax_validation_failed(event: Event, detected_at: datetime) -> Finding | None:
    """A VAT number (``attributes.vat_number``) or tax id (``attributes.tax_id`` with
    ``attributes.tax_id_country``) on an invoice or supplier fails its format or check digits."""
    if event.type not in TAX_TYPES:
        return None
    failures = _tax_failures(event)
    if not failures:
        return None
    first = failures[0]
    more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
    return _finding(
        event,
        TAX_VALIDATION_FAILED,
        _entity(event, "invoice", "supplier"),
        detected_at=detected_at,
        summary=f"{_label(first)} failed validation: {first.reason}{more}",
        tier=default_tier(TAX_VALIDATION_FAILED),
        detail={**first.detail(), "failures": [f.detail() for f in failures]},
    )


def _bank_account(event: Event) -> tuple[str, str] | None:
    """``attributes.iban``, else ``refs.bank_account`` when it looks like an IBAN."""
    value = _attr(event, "iban")
    if value is not None:
        return "iban", value
    ref = event.refs.bank_account
    if ref is not None and _IBAN_LIKE.fullmatch(_compact(ref)):
        return "refs.bank_account", ref
    return None


def detect_invalid_iban(event: Event, detected_at: datetime) -> Finding | None:
    """A supplier's IBAN fails its country format or mod-97 check digits: paying it would bounce
    at best, so automation pauses for a person (taxonomy)."""
    if event.type not in BANK_TYPES:
        return None
    account = _bank_account(event)
    if account is None:
        return None
    failure = check_iban(account[1], field=account[0])
    if failure is None:
        return None
    where = failure.country or "unknown country"
    return _finding(
        event,
        SUPPLIER_BANK_MISMATCH,
        _entity(event, "supplier", "invoice"),
        detected_at=detected_at,
        summary=f"invalid IBAN ({where}, ending {failure.shown.lstrip('…')}): {failure.reason}",
        tier=default_tier(SUPPLIER_BANK_MISMATCH),
        detail=failure.detail(),
    )


def detect_holder_name_mismatch(event: Event, detected_at: datetime) -> Finding | None:
    """The supplier's bank account is held in another name (``attributes.account_holder_name``
    scores below 80 against ``attributes.name``): the classic invoice-redirection fraud, so a
    person checks before paying. Quiet unless both names are given."""
    if event.type not in HOLDER_TYPES:
        return None
    name = _attr(event, "name")
    holder = _attr(event, "account_holder_name")
    if name is None or holder is None:
        return None
    exact = name_score(name, holder)
    if exact >= HOLDER_NAME_THRESHOLD:
        return None
    score = round(exact, 1)
    finding = _finding(
        event,
        SUPPLIER_BANK_MISMATCH,
        _entity(event, "supplier", "invoice"),
        detected_at=detected_at,
        summary=f"bank account holder {holder!r} does not match supplier {name!r} "
        f"(score {score:g})",
        tier=default_tier(SUPPLIER_BANK_MISMATCH),
        detail={
            "field": "account_holder_name",
            "reason": "account holder differs",
            "name": name,
            "account_holder_name": holder,
            "score": score,
            "threshold": HOLDER_NAME_THRESHOLD,
        },
    )
    return replace(finding, id=finding_id(HOLDER_FINDING_KEY, event.event_id))


def rules() -> list[RuleSpec]:
    return [
        (HOLDER_TYPES, detect_holder_name_mismatch),
        (TAX_TYPES, detect_tax_validation_failed),
        (BANK_TYPES, detect_invalid_iban),
    ]
