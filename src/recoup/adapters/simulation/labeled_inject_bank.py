"""Injected bank, payables and compliance exceptions: rejected and returned transfers, bank
lines nobody can match, duplicate invoices, changed or invalid bank accounts, held payments, bad
VAT numbers and sanctioned names. Each uses a fresh supplier or bank transaction."""

from __future__ import annotations

from recoup.adapters.simulation.demo_rates import DAY, HOUR, MINUTE
from recoup.adapters.simulation.labeled_base import AP, BANK, Gen
from recoup.adapters.simulation.labeled_payables import (
    new_supplier,
    pay_supplier,
    statement_line,
    supplier_invoice,
    transfer,
)
from recoup.adapters.simulation.labeled_tools import break_iban, break_vat, make_iban, money

REJECTS = (
    ("iso:AC04", "Account number specified has been closed on the bank books."),
    ("iso:AC01", "Account number is invalid or missing."),
    ("iso:AG01", "Transaction forbidden on this type of account."),
    ("iso:RC01", "Bank identifier code specified in the message has an incorrect format."),
    ("iso:AM04", "Amount of funds available to cover specified message amount is insufficient."),
)
RETURNS = (
    ("iso:AC04", "Account closed"),
    ("iso:AC06", "Account blocked"),
    ("iso:BE04", "Missing creditor address"),
    ("iso:MS03", "Reason not specified"),
)
ACH_RETURNS = (
    ("ach:R01", "Insufficient Funds"),
    ("ach:R02", "Account Closed"),
    ("ach:R03", "No Account/Unable to Locate Account"),
)
HOLDS = (
    ("ap:price_variance", "Invoice price differs from the purchase order."),
    ("ap:missing_goods_receipt", "No goods receipt for the purchase order."),
    ("ap:manual_hold", "Held by accounts payable for review."),
)


def _of(g: Gen, rows: tuple[tuple[str, str], ...]) -> tuple[str, str]:
    return rows[int(g.rng.random() * len(rows))]


# -- bank ----------------------------------------------------------------------------------------


def _supplier_payment(g: Gen, at: int) -> tuple[str, str, int, int]:
    """A fresh supplier's invoice, approved and sent for payment; (end-to-end, iban, cents,
    time the transfer was sent)."""
    supplier = new_supplier(g, at)
    invoice, number, cents = supplier_invoice(g, at + g.randint(HOUR, 4 * HOUR), supplier)
    sent = at + g.randint(6 * HOUR, DAY)
    e2e = pay_supplier(g, sent, supplier, invoice, number, cents)
    transfer(g, sent + g.randint(MINUTE, 20 * MINUTE), e2e, cents, supplier.iban)
    return e2e, supplier.iban, cents, sent + 20 * MINUTE


def bank_rejected(g: Gen, i: int) -> None:
    e2e, _, cents, sent = _supplier_payment(g, g.start_for(2 * DAY))
    code = _of(g, REJECTS)
    g.add(
        sent + g.randint(HOUR, 6 * HOUR),
        BANK["EUR"],
        "bank.transfer_rejected",
        {
            "refs": {"end_to_end": e2e},
            "amount": money(cents),
            "currency": "EUR",
            "reason_code": code[0],
            "reason_message": code[1],
            "status": "RJCT",
        },
    )
    g.label("bank_rejected", "end_to_end", e2e, code[0])


def bank_returned(g: Gen, i: int) -> None:
    at = g.start_for(5 * DAY)
    if i % 3 == 2:
        _ach_return(g, at)
        return
    e2e, _, cents, sent = _supplier_payment(g, at)
    g.add(
        sent + g.randint(HOUR, 3 * HOUR),
        BANK["EUR"],
        "bank.transfer_accepted",
        {"refs": {"end_to_end": e2e}, "status": "ACSC"},
    )
    booked = sent + g.randint(14 * HOUR, 30 * HOUR)
    statement_line(g, booked, cents, "debit", remittance="SEPA transfer", end_to_end=e2e)
    code = _of(g, RETURNS)
    fee = 0 if i % 3 == 0 else min(max(1, cents // 100), 1_500)
    attrs = {"charges": money(fee)} if fee else {}
    g.add(
        booked + g.randint(DAY, 3 * DAY),
        BANK["EUR"],
        "bank.transfer_returned",
        {
            "refs": {"end_to_end": e2e},
            "amount": money(cents - fee),
            "currency": "EUR",
            "direction": "credit",
            "reason_code": code[0],
            "reason_message": code[1],
            "status": "RTND",
            "attributes": attrs,
        },
    )
    g.label("bank_returned", "end_to_end", e2e, code[0])
    if fee:
        g.label("fee_mismatch", "end_to_end", e2e, f"returned {money(fee)} short")


def _ach_return(g: Gen, at: int) -> None:
    trace = f"0{g.randint(10**13, 10**14 - 1)}"
    cents = g.randint(20_000, 800_000)
    source = BANK["USD"]
    g.add(
        at,
        source,
        "bank.transfer_initiated",
        {
            "refs": {"ach_trace": trace},
            "amount": money(cents),
            "currency": "USD",
            "direction": "debit",
            "status": "PDNG",
            "attributes": {"sec_code": "CCD", "company_entry_description": "VENDOR PAY"},
        },
    )
    booked = at + g.randint(DAY, 2 * DAY)
    statement_line(
        g, booked, cents, "debit", currency="USD", remittance="ACH VENDOR PAY", ach_trace=trace
    )
    code = _of(g, ACH_RETURNS)
    g.add(
        booked + g.randint(DAY, 2 * DAY),
        source,
        "bank.transfer_returned",
        {
            "refs": {"ach_trace": trace},
            "amount": money(cents),
            "currency": "USD",
            "direction": "credit",
            "reason_code": code[0],
            "reason_message": code[1],
            "status": "returned",
        },
    )
    g.label("bank_returned", "ach_trace", trace, code[0])


def unmatched_bank_line(g: Gen, i: int) -> None:
    at = g.start_for(HOUR)
    cents = g.randint(5_000, 900_000)
    variant = i % 3
    if variant == 0:
        btx = statement_line(g, at, cents, "credit", remittance="SEPA CT", end_to_end=g.id("E2E"))
    elif variant == 1:
        text = f"RECHNUNG {g.randint(10_000, 99_999)} KUNDE {g.randint(1_000, 9_999)}"
        btx = statement_line(g, at, cents, "credit", remittance=text)
    else:
        text = f"SEPA-LASTSCHRIFT MANDAT M{g.randint(100_000, 999_999)}"
        btx = statement_line(g, at, cents, "debit", remittance=text, end_to_end=g.id("E2E"))
    g.label("unmatched_bank_line", "bank_transaction", btx, "reference matches nothing")


def missing_remittance(g: Gen, i: int) -> None:
    at = g.start_for(HOUR)
    btx = statement_line(g, at, g.randint(2_000, 500_000), "credit")
    g.label("missing_remittance", "bank_transaction", btx, "credit with no reference")


# -- payables ------------------------------------------------------------------------------------


def duplicate_invoice(g: Gen, i: int) -> None:
    gap = g.randint(DAY, min(20 * DAY, g.end // 3))
    at = g.start_for(gap + DAY)
    supplier = new_supplier(g, at)
    first = at + g.randint(HOUR, 6 * HOUR)
    _, number, cents = supplier_invoice(g, first, supplier)
    if i % 2 == 0:
        head, _, tail = number.rpartition("-")
        again, when, rule = f"{head.replace('-', ' ')} 0{tail}".lower(), first + gap, "same number"
    else:
        digit = str((int(number[-1]) + 1) % 10)
        again = number[:-1] + digit
        when, rule = first + g.randint(HOUR, 6 * DAY), "same amount, number one edit apart"
    supplier_invoice(g, when, supplier, cents=cents, number=again)
    g.label("duplicate_invoice", "supplier", supplier.ref, f"{rule}: {number} / {again}")


def supplier_bank_mismatch(g: Gen, i: int) -> None:
    at = g.start_for(6 * DAY)
    variant = i % 3
    if variant == 1:
        supplier = new_supplier(g, at)
        g.rows[-1][4]["attributes"]["iban"] = broken = break_iban(supplier.iban)
        g.label("supplier_bank_mismatch", "supplier", supplier.ref, f"invalid IBAN {broken}")
        return
    if variant == 2:
        holder = g.names.person(g.rng)
        supplier = new_supplier(g, at, account_holder_name=holder)
        g.label("supplier_bank_mismatch", "supplier", supplier.ref, f"account held by {holder}")
        return
    supplier = new_supplier(g, at)
    invoice, number, cents = supplier_invoice(g, at + HOUR, supplier)
    e2e = pay_supplier(g, at + 2 * HOUR, supplier, invoice, number, cents)
    transfer(g, at + 2 * HOUR + MINUTE, e2e, cents, supplier.iban)
    statement_line(g, at + DAY, cents, "debit", remittance=number, end_to_end=e2e)
    changed = at + g.randint(2 * DAY, 3 * DAY)
    new_iban = make_iban(g.rng, supplier.country)
    g.add(
        changed,
        AP,
        "supplier.updated",
        {
            "refs": {"supplier": supplier.ref},
            "status": "active",
            "attributes": {
                "name": supplier.name,
                "account_holder_name": supplier.name,
                "iban": new_iban,
            },
        },
    )
    invoice, number, cents = supplier_invoice(g, changed + HOUR, supplier)
    e2e = pay_supplier(g, changed + DAY, supplier, invoice, number, cents, iban=new_iban)
    transfer(g, changed + DAY + MINUTE, e2e, cents, new_iban)
    g.label("supplier_bank_mismatch", "supplier", supplier.ref, "bank account changed, then paid")


def blocked_payment(g: Gen, i: int) -> None:
    at = g.start_for(2 * DAY)
    supplier = new_supplier(g, at)
    code = _of(g, HOLDS)
    if i % 2 == 0:
        invoice, _, _ = supplier_invoice(g, at + HOUR, supplier, status="on_hold")
        g.rows[-1][4].update(reason_code=code[0], reason_message=code[1])
    else:
        invoice, number, cents = supplier_invoice(g, at + HOUR, supplier)
        pay_supplier(g, at + DAY, supplier, invoice, number, cents, status="blocked")
        g.rows[-1][4].update(reason_code=code[0], reason_message=code[1])
    g.label("blocked_payment", "invoice", invoice, code[0])


def tax_validation_failed(g: Gen, i: int) -> None:
    at = g.start_for(DAY)
    if i % 2 == 0:
        supplier = new_supplier(g, at)
        broken = break_vat(supplier.vat)
        invoice, _, _ = supplier_invoice(g, at + HOUR, supplier, vat_number=broken)
        g.label("tax_validation_failed", "invoice", invoice, f"VAT {broken} on the invoice")
        return
    supplier = new_supplier(g, at)
    g.rows[-1][4]["attributes"]["vat_number"] = broken = break_vat(supplier.vat)
    g.label("tax_validation_failed", "supplier", supplier.ref, f"VAT {broken} on the supplier")


def sanctions_alert(g: Gen, i: int) -> None:
    name = g.sanctioned[i % len(g.sanctioned)]
    at = g.start_for(3 * DAY)
    if i % 2 == 0:
        supplier = new_supplier(g, at, name=name, account_holder_name=name)
        g.label("sanctions_alert", "supplier", supplier.ref, name)
        return
    order = g.new_order(at, name=name)
    g.clean_order(at, order)
    g.label("sanctions_alert", "customer", order.customer, name)
