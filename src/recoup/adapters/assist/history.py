"""Generated labeled history: resolved cases with the text people and banks write and the
choices operators made, for evaluating assist before a deployment has labels of its own.

The labeled month (``adapters/simulation/labeled*.py``) labels finding types only; assist also
needs root causes, next actions and free text. Each archetype here is a kind of case operators
see (a soft decline for lack of funds, a closed supplier account rejected by the bank, a
"not received" chargeback ...) with its source, event types, reason codes, typical text and the
labels operators give it. The noise is deliberate, so the scores mean something:

- archetypes overlap: the same reason code with different root causes told apart only by the
  text (``iso:AC01`` for a typo in one IBAN or for a whole onboarding batch imported wrong),
  unknown reason codes whose meaning is only in the text, text that is empty or generic;
- texts mix fragments, typos, upper and lower case, German and English, and filler words;
- operators disagree with themselves: ``LABEL_NOISE`` of labels are replaced by a sibling value
  (another root cause or next action of the same type), and ``TEAM_NOISE`` of cases were
  reassigned to another team.

Deterministic: the same seed gives the same history.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from recoup.domain.assist.features import Features, amount_band
from recoup.domain.assist.labels import LabeledExample

LABEL_NOISE = 0.03
TEAM_NOISE = 0.02


@dataclass(frozen=True, slots=True)
class Archetype:
    type: str
    owner_team: str
    root_cause: str
    next_action: str
    sources: tuple[str, ...]
    events: tuple[str, ...]
    codes: tuple[str, ...]
    texts: tuple[str, ...]
    amounts: tuple[int, int]
    weight: int = 10


A = Archetype
# fmt: off
ARCHETYPES = (
    A("payment_failed", "payments_ops", "insufficient_funds", "retry_later", ("stripe", "adyen"),
      ("payment.failed",), ("stripe:insufficient_funds", "adyen:not_enough_balance"),
      ("Your card has insufficient funds.", "insufficient funds", "balance too low", "",
       "nsf on card"), (10, 400), 18),
    A("payment_failed", "payments_ops", "expired_card", "request_card_update", ("stripe",),
      ("payment.failed",), ("stripe:expired_card",),
      ("Your card has expired.", "card expired {m}/{y}", "expiry date passed", ""), (10, 300)),
    A("payment_failed", "payments_ops", "suspected_fraud", "block_and_review",
      ("stripe", "adyen"), ("payment.failed",), ("stripe:fraudulent", "adyen:fraud"),
      ("issuer suspects fraud", "stolen card reported", "card reported lost", "pickup card"),
      (50, 2000), 6),
    A("payment_failed", "payments_ops", "issuer_declined", "retry_later", ("stripe", "paypal"),
      ("payment.failed",), ("stripe:do_not_honor", "stripe:generic_decline", "paypal:declined"),
      ("Do not honor", "The card was declined.", "declined by issuer", ""), (10, 500), 12),
    A("payment_failed", "payments_ops", "processor_outage", "monitor_and_retry", ("adyen",),
      ("payment.failed",), ("adyen:unknown_905", "adyen:unknown_999", "adyen:unknown_912"),
      ("acquirer timeout", "issuer unavailable try later", "gateway timeout upstream 504",
       "technical problem at issuer"), (10, 400), 6),
    A("payment_failed", "payments_ops", "authentication_required", "send_payment_link",
      ("stripe", "adyen"), ("payment.failed",),
      ("stripe:authentication_required", "adyen:unknown_3ds"),
      ("3DS authentication required", "strong customer authentication needed",
       "sca challenge not completed", "authentication failed"), (10, 600), 6),
    A("retry_exhausted", "payments_ops", "insufficient_funds", "contact_customer", ("stripe",),
      ("payment.failed", "payment.retry_failed"), ("stripe:insufficient_funds",),
      ("insufficient funds", "all retries failed nsf", ""), (10, 300), 6),
    A("dispute_opened", "disputes", "fraud_claim", "submit_evidence", ("stripe", "adyen"),
      ("dispute.created",), ("visa:10.4", "mc:4837"),
      ("cardholder says transaction not authorised", "customer does not recognise the charge",
       "card not present fraud claim", "Karteninhaber bestreitet die Zahlung"), (30, 1500)),
    A("dispute_opened", "disputes", "product_not_received", "submit_tracking",
      ("stripe", "paypal"), ("dispute.created",), ("visa:13.1", "mc:4855", "paypal:inr"),
      ("customer says parcel never arrived", "item not received", "tracking shows delivered",
       "Ware nicht erhalten", "package lost in transit"), (20, 800)),
    A("dispute_opened", "disputes", "duplicate_processing", "refund_customer", ("stripe",),
      ("dispute.created",), ("visa:12.6.1", "mc:4834"),
      ("charged twice for the same order", "duplicate charge on statement",
       "double billing"), (10, 500), 6),
    A("dispute_opened", "disputes", "subscription_cancelled", "submit_evidence",
      ("stripe",), ("dispute.created",), ("visa:13.2",),
      ("cancelled subscription still billed", "customer cancelled before renewal",
       "recurring charge after cancellation"), (5, 120), 6),
    A("inquiry_opened", "disputes", "product_not_received", "submit_tracking", ("paypal",),
      ("inquiry.created",), ("paypal:inr", "visa:13.1"),
      ("where is my order", "buyer says not delivered", "no delivery yet"), (20, 400), 6),
    A("bank_rejected", "treasury", "account_closed", "request_new_bank_details", ("bank",),
      ("transfer.rejected",), ("iso:AC04",),
      ("account closed", "Konto aufgeloest", "closed account number", "AC04 CLOSED ACCOUNT",
       ""), (200, 20000)),
    A("bank_rejected", "treasury", "invalid_account_number", "correct_bank_details", ("bank",),
      ("transfer.rejected",), ("iso:AC01", "iso:BE01"),
      ("incorrect account number", "IBAN invalid", "check digit wrong", "name mismatch",
       "AC01 INCORRECT ACCOUNT NUMBER"), (200, 20000)),
    A("bank_rejected", "treasury", "onboarding_batch_error", "fix_supplier_master_data",
      ("bank",), ("transfer.rejected",), ("iso:AC01", "iso:RC01"),
      ("supplier onboarded in batch import", "migrated vendor master batch",
       "bulk onboarding file wrong bic", "imported supplier record BIC missing"),
      (200, 20000), 6),
    A("bank_returned", "treasury", "account_closed", "request_new_bank_details", ("bank",),
      ("debit.returned",), ("ach:R02", "iso:AC04"),
      ("account closed", "R02 ACCOUNT CLOSED", "Konto erloschen"), (50, 5000)),
    A("bank_returned", "treasury", "insufficient_funds", "retry_later", ("bank",),
      ("debit.returned",), ("ach:R01", "iso:AM04"),
      ("insufficient funds", "R01 NSF", "Deckung nicht ausreichend", ""), (50, 5000)),
    A("bank_returned", "treasury", "mandate_revoked", "contact_customer", ("bank",),
      ("debit.returned",), ("ach:R07", "iso:MD01", "ach:R10"),
      ("authorization revoked by customer", "no mandate", "customer advises not authorized",
       "Widerspruch durch Zahler"), (50, 5000), 6),
    A("missing_remittance", "accounts_receivable", "remittance_missing_reference",
      "contact_payer", ("bank",), ("bank.credit",), (),
      ("PAYMENT THANK YOU", "TRANSFER", "SEPA GUTSCHRIFT", "payment for services", "",
       "ref see email"), (100, 9000)),
    A("unmatched_bank_line", "finance_ops", "reference_typo", "match_manually", ("bank",),
      ("bank.credit",), (),
      ("INV-2O{y}-1O{m}", "lnv {n}", "invoice {n} and {n2}", "RE {n} payment", "inv{n}"),
      (100, 9000)),
    A("unmatched_bank_line", "finance_ops", "unknown_payer", "ask_bank_for_details", ("bank",),
      ("bank.credit",), (),
      ("GUTSCHRIFT", "CREDIT TRANSFER", "", "incoming wire"), (100, 9000), 5),
    A("amount_mismatch", "accounts_receivable", "fees_deducted", "request_balance",
      ("bank", "stripe"), ("payment.succeeded", "invoice.issued"), (),
      ("less bank charges", "net of fees", "abzueglich Gebuehren", "charges deducted by bank"),
      (100, 9000)),
    A("amount_mismatch", "accounts_receivable", "partial_payment", "request_balance",
      ("bank", "stripe"), ("payment.succeeded", "invoice.issued"), (),
      ("part payment", "instalment 1 of 3", "Teilzahlung", "first half, rest next month"),
      (100, 9000)),
    A("amount_mismatch", "accounts_receivable", "early_payment_discount", "write_off_difference",
      ("bank",), ("payment.succeeded", "invoice.issued"), (),
      ("2% skonto", "less early payment discount", "Skonto abgezogen"), (100, 9000), 6),
    A("duplicate_invoice", "accounts_payable", "supplier_resubmitted", "void_duplicate",
      ("erp",), ("invoice.received",), (),
      ("resent invoice", "copy of invoice", "reminder with invoice attached", "DUPLICATE",
       ""), (100, 20000)),
    A("supplier_bank_mismatch", "accounts_payable", "unverified_bank_change",
      "verify_by_callback", ("erp",), ("supplier.updated",), (),
      ("please update our bank details", "new account from next payment", "we changed banks",
       "urgent new IBAN"), (100, 50000)),
    A("order_stalled", "fulfilment_ops", "warehouse_backlog", "expedite_fulfilment",
      ("shopify",), ("order.created",), (),
      ("not picked yet", "warehouse backlog", "awaiting stock allocation", ""), (20, 600)),
    A("carrier_conflict", "fulfilment_ops", "carrier_scan_missing", "open_carrier_claim",
      ("shopify",), ("fulfillment.updated",), (),
      ("delivered without scan", "carrier says returned, shop says delivered",
       "tracking stuck"), (20, 600), 6),
    A("payout_failed", "treasury", "payout_account_invalid", "update_payout_account",
      ("stripe", "paypal"), ("payout.failed",), ("stripe:account_closed", "stripe:no_account"),
      ("bank account could not be found", "payout account closed", "invalid payout account"),
      (500, 50000), 6),
    A("refund_failed", "payments_ops", "card_closed", "refund_by_bank_transfer",
      ("stripe", "adyen"), ("refund.failed",), ("stripe:expired_or_canceled_card",),
      ("card no longer valid", "refund to closed card", "card cancelled"), (10, 400), 6),
)
# fmt: on

FILLERS = ("", "", "pls check", "see attached", "ref", "urgent", "thanks", "fyi", "ticket")


def _siblings(field: str, archetype: Archetype) -> list[str]:
    values = {getattr(a, field) for a in ARCHETYPES if a.type == archetype.type}
    values.discard(getattr(archetype, field))
    if not values:
        values = {getattr(a, field) for a in ARCHETYPES} - {getattr(archetype, field)}
    return sorted(values)


def _text(rng: random.Random, archetype: Archetype) -> str:
    template = rng.choice(archetype.texts)
    text = template.format(
        m=f"{rng.randint(1, 12):02d}",
        y=f"{rng.randint(24, 28)}",
        n=rng.randint(10_000, 99_999),
        n2=rng.randint(10_000, 99_999),
    )
    roll = rng.random()
    if roll < 0.15:
        text = text.upper()
    elif roll < 0.3:
        text = text.lower()
    if text and rng.random() < 0.1:  # a typo: two letters swapped
        i = rng.randrange(max(len(text) - 1, 1))
        text = text[:i] + text[i + 1 : i + 2] + text[i : i + 1] + text[i + 2 :]
    return " ".join(p for p in (text, rng.choice(FILLERS)) if p)


def generate_history(
    count: int, *, seed: int = 42, label_noise: float = LABEL_NOISE
) -> list[LabeledExample]:
    """``count`` resolved cases with features and operator labels; ``label_noise`` of the root
    causes and next actions are an operator's other choice (no model can be right on those, so
    the best held-out accuracy is about ``1 - label_noise``)."""
    rng = random.Random(seed)
    weights = [a.weight for a in ARCHETYPES]
    out = []
    for index in range(count):
        arch = rng.choices(ARCHETYPES, weights)[0]
        source = rng.choice(arch.sources)
        amount = Decimal(rng.randint(arch.amounts[0] * 100, arch.amounts[1] * 100)) / 100
        fields = {
            "amount": amount_band(amount),
            "currency": rng.choice(("EUR", "EUR", "USD")),
            "source": source,
            "events": "+".join(sorted(arch.events)),
        }
        if arch.codes and rng.random() > 0.03:
            code = rng.choice(arch.codes)
            fields["reason_code"] = code
            fields["reason_ns"] = code.split(":", 1)[0]
        labels = {
            "type": arch.type,
            "owner_team": arch.owner_team,
            "root_cause": arch.root_cause,
            "next_action": arch.next_action,
        }
        for name in ("root_cause", "next_action"):
            if rng.random() < label_noise:
                labels[name] = rng.choice(_siblings(name, arch))
        if rng.random() < TEAM_NOISE:
            labels["owner_team"] = rng.choice(_siblings("owner_team", arch))
        features = Features(fields=fields, text=_text(rng, arch))
        out.append(LabeledExample(f"generated-{seed}-{index}", features, labels))
    return out


__all__ = ["ARCHETYPES", "generate_history"]
