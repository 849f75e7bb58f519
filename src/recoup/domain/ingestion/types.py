"""The canonical event types. Connectors map each source's vocabulary onto these.

Types are ``<entity>.<what happened>``. A type outside this list is refused at ingest (so a typo
cannot silently skip detection), except under the ``custom.`` prefix, kept for your own feeds.
"""

from __future__ import annotations

EVENT_TYPES: dict[str, str] = {
    # payments
    "payment.authorized": "an authorisation was approved; funds are held, not captured",
    "payment.succeeded": "a payment was captured or settled successfully",
    "payment.failed": "a payment attempt was declined or errored; reason_code says why",
    "payment.captured": "a previously authorised payment was captured",
    "payment.capture_failed": "capturing an authorised payment failed",
    "payment.canceled": "a payment or authorisation was cancelled",
    "payment.authorization_expired": "an authorisation lapsed before capture",
    "payment.reversed": "a completed payment was reversed by the provider (PayPal reversal)",
    "payment.pending": "a payment is waiting on the customer or the provider",
    # refunds
    "refund.created": "a refund was requested",
    "refund.succeeded": "a refund reached the customer",
    "refund.failed": "a refund could not be completed",
    "refund.reversed": "a completed refund was reversed",
    # disputes
    "dispute.inquiry_opened": "a retrieval request or pre-dispute inquiry was opened",
    "dispute.opened": "a chargeback or dispute was opened; reason_code is the network reason",
    "dispute.updated": "a dispute changed status or evidence",
    "dispute.funds_withdrawn": "the disputed amount was taken from the balance",
    "dispute.funds_reinstated": "the disputed amount was given back",
    "dispute.won": "the dispute was decided for the merchant",
    "dispute.lost": "the dispute was decided for the cardholder",
    "dispute.closed": "the dispute was closed without a decision recorded here",
    "dispute.early_fraud_warning": "an issuer reported likely fraud before any dispute",
    # payouts
    "payout.created": "a payout to the merchant's bank was created",
    "payout.paid": "a payout arrived in the bank account",
    "payout.failed": "a payout was rejected or returned",
    "payout.canceled": "a payout was cancelled before it was paid",
    # invoices (receivables and payables)
    "invoice.created": "an invoice was issued or received",
    "invoice.finalized": "an invoice became payable",
    "invoice.paid": "an invoice was paid in full",
    "invoice.payment_failed": "collecting an invoice failed",
    "invoice.voided": "an invoice was voided",
    "invoice.approved": "a supplier invoice was approved for payment",
    "invoice.marked_uncollectible": "an invoice was written off as uncollectible",
    # subscriptions
    "subscription.payment_failed": "a subscription's recurring charge failed",
    "subscription.payment_succeeded": "a subscription's recurring charge succeeded",
    # orders and fulfilment
    "order.created": "an order was placed",
    "order.paid": "an order was paid",
    "order.updated": "an order changed",
    "order.cancelled": "an order was cancelled",
    "order.deleted": "an order was deleted at the source",
    "order.fulfilled": "every line of an order was shipped",
    "order.partially_fulfilled": "some lines of an order were shipped",
    "fulfillment.created": "a shipment was created",
    "fulfillment.updated": "a carrier reported progress on a shipment",
    "return.requested": "a customer asked to return goods",
    "return.approved": "a return was approved",
    "return.updated": "a return changed",
    "return.reopened": "a closed return was reopened",
    "return.closed": "a return was completed or declined",
    # suppliers
    "supplier.created": "a supplier was onboarded",
    "supplier.updated": "a supplier's details (for example bank account) changed",
    "supplier.payment_initiated": "a payment to a supplier was sent",
    # bank
    "bank.transfer_initiated": "a credit transfer or debit was sent to the bank (pain.001)",
    "bank.transfer_accepted": "the bank accepted a transfer (pain.002 / pacs.002 ACCP, ACSC)",
    "bank.transfer_rejected": "the bank rejected a transfer; reason_code is the ISO code",
    "bank.transfer_returned": "a transfer came back (camt.054, pacs.004, ACH return)",
    "bank.notification_of_change": "the bank reported corrected account details (ACH NOC)",
    "bank.statement_line": "one booked line of a bank statement",
    "bank.balance": "a statement balance (opening, closing, interim)",
}

CUSTOM_PREFIX = "custom."


def is_known_type(event_type: str) -> bool:
    return event_type in EVENT_TYPES or (
        event_type.startswith(CUSTOM_PREFIX) and len(event_type) > len(CUSTOM_PREFIX)
    )
