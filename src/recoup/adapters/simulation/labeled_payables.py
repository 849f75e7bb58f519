"""Payables and bank stories of the labeled month: a supplier with a valid IBAN and VAT
number, its invoices, the transfer that pays one and the statement line that books it."""

from __future__ import annotations

import math
from typing import Any

from recoup.adapters.simulation.labeled_base import AP, BANK, SUPPLIER_COUNTRIES, Gen, Supplier
from recoup.adapters.simulation.labeled_tools import make_iban, make_vat, money


def new_supplier(g: Gen, at: int, *, name: str | None = None, **attributes: Any) -> Supplier:
    rng = g.rng
    country = SUPPLIER_COUNTRIES[int(rng.random() * len(SUPPLIER_COUNTRIES))]
    supplier = Supplier(
        ref=f"SUP-{10_000 + g.next('supplier'):05d}",
        name=name or g.names.company(rng, country),
        country=country,
        iban=make_iban(rng, country),
        vat=make_vat(rng, country),
    )
    attrs = {
        "name": supplier.name,
        "account_holder_name": supplier.name,
        "iban": supplier.iban,
        "vat_number": supplier.vat,
        "country": country,
        **attributes,
    }
    g.add(
        at,
        AP,
        "supplier.created",
        {"refs": {"supplier": supplier.ref}, "status": "active", "attributes": attrs},
    )
    return supplier


def supplier_invoice(
    g: Gen,
    at: int,
    supplier: Supplier,
    *,
    cents: int | None = None,
    number: str | None = None,
    status: str = "open",
    **attributes: Any,
) -> tuple[str, str, int]:
    """``invoice.created``; returns (invoice id, invoice number, cents)."""
    supplier.invoices += 1
    invoice = f"APINV-{g.next('ap_invoice'):07d}"
    number = number or f"{supplier.ref[-3:]}-{2026}-{100 + supplier.invoices:04d}"
    if cents is None:
        cents = round(g.rng.lognormvariate(math.log(1200.0), 0.7) * 100)
        cents = g.invoice_book.free(supplier.ref, "EUR", min(max(cents, 5_000), 900_000), at)
    attrs = {
        "invoice_number": number,
        "due_date": g.date(at, 30),
        "vat_number": supplier.vat,
        **attributes,
    }
    g.add(
        at,
        AP,
        "invoice.created",
        {
            "refs": {"supplier": supplier.ref, "invoice": invoice},
            "amount": money(cents),
            "currency": "EUR",
            "status": status,
            "attributes": attrs,
        },
    )
    return invoice, number, cents


def pay_supplier(
    g: Gen,
    at: int,
    supplier: Supplier,
    invoice: str,
    number: str,
    cents: int,
    *,
    iban: str | None = None,
    status: str = "sent",
) -> str:
    """``supplier.payment_initiated``; returns the end-to-end id the bank will carry."""
    e2e = g.id("E2E")
    g.add(
        at,
        AP,
        "supplier.payment_initiated",
        {
            "refs": {"supplier": supplier.ref, "invoice": invoice, "end_to_end": e2e},
            "amount": money(cents),
            "currency": "EUR",
            "status": status,
            "attributes": {
                "iban": iban or supplier.iban,
                "creditor_name": supplier.name,
                "remittance": number,
                "payment_method": "sepa_credit_transfer",
            },
        },
    )
    return e2e


def transfer(g: Gen, at: int, e2e: str, cents: int, iban: str, currency: str = "EUR") -> str:
    """``bank.transfer_initiated`` (pain.001); returns the instruction id."""
    instruction = g.id("PMTINF-")
    g.add(
        at,
        BANK[currency],
        "bank.transfer_initiated",
        {
            "refs": {"end_to_end": e2e, "instruction": instruction},
            "amount": money(cents),
            "currency": currency,
            "direction": "debit",
            "status": "PDNG",
            "attributes": {"creditor_iban": iban, "scheme": "SCT"},
        },
    )
    return instruction


def statement_line(
    g: Gen,
    at: int,
    cents: int,
    direction: str,
    *,
    currency: str = "EUR",
    remittance: str = "",
    **refs: str,
) -> str:
    """``bank.statement_line`` (camt.053); returns its bank transaction id."""
    btx = g.id("BTX")
    attrs: dict[str, Any] = {"booking_date": g.date(at), "value_date": g.date(at)}
    if remittance:
        attrs["remittance"] = remittance
    g.add(
        at,
        BANK[currency],
        "bank.statement_line",
        {
            "refs": {**refs, "bank_transaction": btx},
            "amount": money(cents),
            "currency": currency,
            "direction": direction,
            "status": "BOOK",
            "attributes": attrs,
        },
    )
    return btx
