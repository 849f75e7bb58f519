"""The demo month's rate tables and code mixes: who pays with what, how often and why payments
are declined, disputed, charged twice and refunded, and when payouts arrive.

Every number here is documented where it is set; the demo's figures are only worth showing if
they are these.
"""

from __future__ import annotations

from typing import NamedTuple

DAY = 86_400
HOUR = 3_600
MINUTE = 60

# --- Who pays, with what ------------------------------------------------------------------------

# Share of payments whose customer already bought this month. Picking the earlier buyer in
# proportion to their past orders (preferential attachment) gives a few loyal, frequent buyers and
# a long tail of one-off buyers: 50,000 payments come from about 25,000 customers.
REPEAT_BUYER_SHARE = 0.5
# Card network mix of a European/US online shop.
NETWORK_MIX: tuple[tuple[str, float], ...] = (("visa", 60.0), ("mastercard", 35.0), ("amex", 5.0))
# Share of all payments that go through Adyen, the secondary acquirer. The merchant routes Amex
# only through Stripe, so Adyen sees Visa and Mastercard and its declines are network codes.
ADYEN_SHARE = 0.20
# Presentment currency, fixed per customer (it follows where they live).
CURRENCY_MIX: tuple[tuple[str, float], ...] = (("EUR", 60.0), ("USD", 25.0), ("GBP", 15.0))
# Basket totals are log-normal: median 45.00, a long tail of larger orders.
AMOUNT_MEDIAN = 45.0
AMOUNT_SIGMA = 0.85
# Smallest and largest basket the shop accepts, in minor units.
AMOUNT_MIN_MINOR = 100
AMOUNT_MAX_MINOR = 250_000

# Orders per hour of day (UTC), relative: quiet nights, a lunchtime bump, an evening peak.
HOURLY_WEIGHTS: tuple[float, ...] = (
    1.0, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2.5, 3.2, 3.6, 3.8,
    4.0, 3.8, 3.6, 3.6, 3.8, 4.2, 4.8, 5.4, 5.8, 5.2, 3.8, 2.2,
)  # fmt: skip
# Orders per weekday (Monday first), relative: shoppers buy more towards and over the weekend.
WEEKDAY_WEIGHTS: tuple[float, ...] = (1.0, 0.95, 0.95, 1.0, 1.1, 1.2, 1.15)
# Seconds between placing the order and the first payment attempt (checkout, 3-D Secure).
CHECKOUT_SECONDS = (5, 180)

# --- Declines and retries -----------------------------------------------------------------------

# Share of payments whose first attempt is declined: typical for card-not-present e-commerce.
FIRST_ATTEMPT_FAILURE_RATE = 0.09
# Each retry of a soft decline succeeds with this probability; otherwise it fails the same way.
RETRY_SUCCESS_RATE = 0.35
# A soft decline is retried this many times (inclusive range) ...
RETRY_COUNT = (1, 3)
# ... spread over this many days after the first attempt (inclusive range).
RETRY_HORIZON_DAYS = (1, 4)


class DeclineCode(NamedTuple):
    """One decline the issuer can give: the code without namespace, how often, the text the
    source shows, and whether the merchant's dunning retries it."""

    code: str
    weight: float
    message: str
    retried: bool


# Stripe's decline_code mix (non-deprecated codes only). Weights are percent of declines.
STRIPE_DECLINES: tuple[DeclineCode, ...] = (
    DeclineCode("insufficient_funds", 30.0, "The card has insufficient funds.", True),
    DeclineCode("generic_decline", 20.0, "The card was declined for an unknown reason.", True),
    DeclineCode("do_not_honor", 15.0, "The card was declined: do not honor.", True),
    DeclineCode("expired_card", 8.0, "The card has expired.", False),
    DeclineCode("incorrect_cvc", 5.0, "The card's security code is incorrect.", False),
    DeclineCode("card_velocity_exceeded", 4.0, "The card's spending limit was exceeded.", True),
    DeclineCode("processing_error", 4.0, "An error occurred while processing the card.", True),
    DeclineCode("lost_card", 1.0, "The card was reported lost.", False),
    DeclineCode("stolen_card", 0.8, "The card was reported stolen.", False),
    DeclineCode("fraudulent", 1.7, "The payment was suspected to be fraudulent.", False),
    DeclineCode("pickup_card", 0.5, "The issuer asked to retain the card.", False),
    DeclineCode("incorrect_number", 4.0, "The card number is incorrect.", False),
    DeclineCode("transaction_not_allowed", 3.0, "The card does not allow this purchase.", False),
    DeclineCode("authentication_required", 3.0, "The card requires authentication.", False),
)
# Visa response codes as Adyen passes them on; the same mix, generic and do-not-honor both being
# Visa's 05. Messages are Visa's own meanings.
VISA_DECLINES: tuple[DeclineCode, ...] = (
    DeclineCode("51", 30.0, "Not sufficient funds", True),
    DeclineCode("05", 35.0, "Do not honor", True),
    DeclineCode("54", 8.0, "Expired card or expiration date missing", False),
    DeclineCode("N7", 5.0, "Decline for CVV2 failure", False),
    DeclineCode("61", 4.0, "Exceeds approval amount limit", True),
    DeclineCode("96", 4.0, "System malfunction", True),
    DeclineCode("41", 1.0, "Lost card, pick up", False),
    DeclineCode("43", 0.8, "Stolen card, pick up", False),
    DeclineCode("59", 1.7, "Suspected fraud", False),
    DeclineCode("04", 0.5, "Pick up card (no fraud)", False),
    DeclineCode("14", 4.0, "Invalid account number (no such number)", False),
    DeclineCode("57", 3.0, "Transaction not permitted to cardholder", False),
    DeclineCode("1A", 3.0, "Additional customer authentication required", False),
)
# Mastercard response codes as Adyen passes them on. Mastercard has no CVC or SCA code of its
# own (issuers answer 05), so those shares fold into the others.
MASTERCARD_DECLINES: tuple[DeclineCode, ...] = (
    DeclineCode("51", 30.0, "Not sufficient funds", True),
    DeclineCode("05", 35.0, "Do not honor", True),
    DeclineCode("54", 8.0, "Expired card", False),
    DeclineCode("61", 4.0, "Exceeds withdrawal amount limit", True),
    DeclineCode("96", 4.0, "System malfunction", True),
    DeclineCode("41", 1.0, "Lost card", False),
    DeclineCode("43", 0.8, "Stolen card, pick-up", False),
    DeclineCode("34", 1.7, "Suspected fraud", False),
    DeclineCode("04", 0.5, "Pick-up", False),
    DeclineCode("14", 4.0, "Invalid card number (no such number)", False),
    DeclineCode("57", 3.0, "Transaction not permitted to cardholder", False),
)

# --- Disputes -----------------------------------------------------------------------------------

# Share of succeeded payments disputed within the month: 0.5% is a healthy shop (Visa and
# Mastercard monitoring programmes start at about 0.9%).
DISPUTE_RATE = 0.005
# Days between the payment and the dispute (inclusive range), kept inside the month.
DISPUTE_DELAY_DAYS = (3, 20)
# Days the merchant has to answer a dispute (inclusive range).
EVIDENCE_DUE_DAYS = (7, 20)
# Share of Visa fraud (10.4) and not-received (13.1) disputes that start as an inquiry: about one
# in five of all disputes.
INQUIRY_SHARE = 0.45
# Days between the inquiry and the dispute (inclusive range).
INQUIRY_LEAD_DAYS = (1, 5)
# Visa reasons that can be preceded by an inquiry.
INQUIRY_REASONS = frozenset({"10.4", "13.1"})

# Network reason codes, weighted: card-absent fraud is the most common dispute online.
VISA_DISPUTES: tuple[tuple[str, float, str], ...] = (
    ("10.4", 45.0, "Other Fraud: Card-Absent Environment"),
    ("13.1", 25.0, "Merchandise/Services Not Received"),
    ("13.3", 20.0, "Not as Described or Defective Merchandise/Services"),
    ("12.6.1", 10.0, "Duplicate Processing"),
)
MASTERCARD_DISPUTES: tuple[tuple[str, float, str], ...] = (
    ("4837", 50.0, "No Cardholder Authorization"),
    ("4853", 35.0, "Cardholder Dispute"),
    ("4863", 15.0, "Cardholder Does Not Recognize: Potential Fraud"),
)
AMEX_DISPUTES: tuple[tuple[str, float, str], ...] = (
    ("F29", 50.0, "Card Not Present"),
    ("C08", 25.0, "Goods/Services Not Received or Only Partially Received"),
    ("C31", 15.0, "Goods/Services Not as Described"),
    ("P08", 10.0, "Duplicate Charge"),
)

# --- Double charges -----------------------------------------------------------------------------

# Share of succeeded payments charged a second time (a double-clicked checkout, a webhook retried
# by the shop): the exception recoup's duplicate detector exists for.
DUPLICATE_RATE = 0.002
# Seconds between the original charge and its duplicate (inclusive range).
DUPLICATE_DELAY_SECONDS = (10, 20 * MINUTE)
# The detector's window: no other two charges of one customer, amount and currency may be this
# close, or the demo would contain double charges nobody put there.
DUPLICATE_WINDOW_SECONDS = HOUR

# --- Refunds ------------------------------------------------------------------------------------

# Share of succeeded payments refunded within the month (returns, cancelled orders).
REFUND_RATE = 0.03
# Days between the payment and the refund request (inclusive range).
REFUND_DELAY_DAYS = (1, 10)
# Share of refunds for part of the payment (one item of the basket returned).
PARTIAL_REFUND_SHARE = 0.25
# Share of refunds that fail: the card was closed, lost or replaced since the payment.
REFUND_FAILURE_RATE = 0.04
# Seconds until a refund completes (inclusive ranges); failures are reported days later.
REFUND_SUCCESS_SECONDS = (30, 6 * HOUR)
REFUND_FAILURE_SECONDS = (1 * DAY, 5 * DAY)
# Stripe's refund failure_reason values, weighted.
STRIPE_REFUND_FAILURES: tuple[tuple[str, float, str], ...] = (
    ("expired_or_canceled_card", 50.0, "The card was expired or cancelled."),
    ("declined", 30.0, "The issuer declined the refund."),
    ("lost_or_stolen_card", 20.0, "The card was reported lost or stolen."),
)
ADYEN_REFUND_FAILURE = ("refund_failed", "The refund was refused by the card scheme.")

# --- Payouts ------------------------------------------------------------------------------------

# Each day's captures are paid out the next morning, per source and currency, at this hour (UTC).
PAYOUT_HOUR = {"stripe": 6, "adyen": 7}

# The source of the shop's own order events.
SHOP_SOURCE = "shop"
# external_id prefix per source.
EXTERNAL_ID_PREFIX = {"stripe": "evt_", "adyen": "adyen-", SHOP_SOURCE: "shop-"}
