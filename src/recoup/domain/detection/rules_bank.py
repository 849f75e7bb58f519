"""Stateless rules about bank transfers: rejects (pain.002 / pacs.002) and returns (camt.054,
pacs.004, ACH), each explained with the meaning of its ISO 20022 or NACHA reason code; and money
that arrived on a statement with nothing to apply it by (missing remittance).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from recoup.domain.detection.detectors import (
    RuleSpec,
    _entity,
    _finding,
    _money,
    default_tier,
)
from recoup.domain.detection.findings import Finding
from recoup.domain.ingestion.event import Event
from recoup.domain.reference.ach import ach_return_reason
from recoup.domain.reference.iso20022 import iso_reason

BANK_REJECTED = "bank_rejected"
BANK_RETURNED = "bank_returned"
MISSING_REMITTANCE = "missing_remittance"

REJECTED_TYPE = "bank.transfer_rejected"
RETURNED_TYPE = "bank.transfer_returned"
STATEMENT_LINE_TYPE = "bank.statement_line"

# The transfer's own ids first, the statement line last.
REJECT_ENTITY = ("end_to_end", "instruction", "uetr", "bank_transaction")
RETURN_ENTITY = ("end_to_end", "instruction", "uetr", "ach_trace", "bank_transaction")
# Any of these on a credit line is something cash application can match it by.
REMITTANCE_REFS = (
    "end_to_end", "instruction", "uetr", "ach_trace", "invoice", "payment", "payout", "order",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class BankReason:
    """A bank reason code explained: ``scheme`` ``iso`` or ``ach``, the bare ``code``, its name
    and a short ``label`` for the summary; ``known`` is False for a code not in the lists."""

    scheme: str | None
    code: str | None
    name: str | None = None
    meaning: str | None = None
    label: str | None = None

    @property
    def known(self) -> bool:
        return self.label is not None

    def text(self, reason_code: str | None) -> str:
        if self.label is not None:
            return f"{self.code} ({self.label})"
        if reason_code is not None:
            return f"{reason_code} (unknown reason)"
        return "no reason code"

    def detail(self) -> dict[str, object]:
        return {
            "reason_scheme": self.scheme,
            "reason": self.code,
            "reason_name": self.name,
            "reason_meaning": self.meaning,
        }


def bank_reason(reason_code: str | None, *, ach: bool) -> BankReason:
    """Explain ``iso:AC04`` from the ISO 20022 lists, or (when ``ach``) ``ach:R01`` from the
    NACHA return codes."""
    if reason_code is None:
        return BankReason(None, None)
    scheme, _, code = reason_code.partition(":")
    if scheme == "iso":
        iso = iso_reason(code)
        if iso is not None:
            return BankReason(scheme, iso.code, iso.name, iso.meaning, iso.meaning)
    elif scheme == "ach" and ach:
        nacha = ach_return_reason(code)
        if nacha is not None:
            meaning = nacha.description or nacha.title
            return BankReason(scheme, nacha.code, nacha.title, meaning, nacha.title)
    return BankReason(scheme, code)


def detect_bank_rejected(event: Event, detected_at: datetime) -> Finding | None:
    """The bank refused a transfer before executing it; the ISO reason says why."""
    if event.type != REJECTED_TYPE:
        return None
    reason = bank_reason(event.reason_code, ach=False)
    return _finding(
        event,
        BANK_REJECTED,
        _entity(event, *REJECT_ENTITY),
        detected_at=detected_at,
        summary=f"transfer rejected: {reason.text(event.reason_code)}, {_money(event)}",
        tier=default_tier(BANK_REJECTED),
        detail={**reason.detail(), "status": event.status},
    )


def detect_bank_returned(event: Event, detected_at: datetime) -> Finding | None:
    """A transfer or debit came back; the exposure is the returned amount."""
    if event.type != RETURNED_TYPE:
        return None
    reason = bank_reason(event.reason_code, ach=True)
    return _finding(
        event,
        BANK_RETURNED,
        _entity(event, *RETURN_ENTITY),
        detected_at=detected_at,
        summary=f"transfer returned: {reason.text(event.reason_code)}, {_money(event)}",
        tier=default_tier(BANK_RETURNED),
        detail=reason.detail(),
    )


def _blank(value: object) -> bool:
    """True for an absent or empty remittance, or text of only whitespace."""
    if isinstance(value, str):
        return not value.strip()
    return not value


def detect_missing_remittance(event: Event, detected_at: datetime) -> Finding | None:
    """Money came in on a statement line with no remittance text and no reference to an invoice,
    order, payment, payout or transfer: nobody can apply it without asking the payer. A debit
    is our own money going out, so only credits count."""
    if event.type != STATEMENT_LINE_TYPE or event.direction != "credit":
        return None
    if not _blank(event.attributes.get("remittance")):
        return None
    if any(getattr(event.refs, kind) is not None for kind in REMITTANCE_REFS):
        return None
    return _finding(
        event,
        MISSING_REMITTANCE,
        _entity(event, "bank_transaction"),
        detected_at=detected_at,
        summary=f"credit of {_money(event)} arrived without remittance information",
        tier=default_tier(MISSING_REMITTANCE),
        detail={"counterparty_name": event.attributes.get("counterparty_name")},
    )


def rules() -> list[RuleSpec]:
    return [
        (frozenset({REJECTED_TYPE}), detect_bank_rejected),
        (frozenset({RETURNED_TYPE}), detect_bank_returned),
        (frozenset({STATEMENT_LINE_TYPE}), detect_missing_remittance),
    ]
