"""Adyen standard notifications to canonical events.

A delivery is a batch: ``{"live": "false", "notificationItems": [{"NotificationRequestItem":
{...}}, ...]}``; each item becomes one event (or one rejection located at
``notificationItems[i]``). Check each item's HMAC with
:func:`~recoup.adapters.connectors.webhooks.signatures.verify_adyen` before mapping a live
delivery, then acknowledge with ``[accepted]``.

=================================================  ===========================================
Adyen eventCode (success)                          canonical type (reason code)
=================================================  ===========================================
AUTHORISATION (true)                               payment.authorized
AUTHORISATION (false)                              payment.failed (``adyen:<refusal reason>``)
CAPTURE (true) / CAPTURE (false), CAPTURE_FAILED   payment.captured / payment.capture_failed
CANCELLATION, TECHNICAL_CANCEL, OFFER_CLOSED       payment.canceled (true only)
CANCEL_OR_REFUND (true)                            refund.succeeded when it refunded, else
                                                   payment.canceled
AUTHORISATION_EXPIRED / EXPIRE                     payment.authorization_expired
PENDING                                            payment.pending
REFUND (true) / REFUND (false), REFUND_FAILED,     refund.succeeded / refund.failed
REFUNDED_REVERSED                                  (``adyen:<reason>``)
REFUND_WITH_DATA (true)                            refund.succeeded
NOTIFICATION_OF_CHARGEBACK, CHARGEBACK             dispute.opened
SECOND_CHARGEBACK, INFORMATION_SUPPLIED,           dispute.updated
DISPUTE_DEFENSE_PERIOD_ENDED,
ISSUER_RESPONSE_TIMEFRAME_EXPIRED, ISSUER_COMMENTS
REQUEST_FOR_INFORMATION                            dispute.inquiry_opened
CHARGEBACK_REVERSED, PREARBITRATION_WON            dispute.won
PREARBITRATION_LOST                                dispute.lost
PAYOUT_THIRDPARTY (true) / (false)                 payout.paid / payout.failed
PAIDOUT_REVERSED, PAYOUT_DECLINE                   payout.failed (``adyen:<reason>``)
PAYOUT_EXPIRE                                      payout.canceled
anything else, or success=false where only         Rejection ``unsupported_type`` (kept for
success means something                            replay)
=================================================  ===========================================

Dispute reasons are the network's when Adyen says which network
(``additionalData.chargebackSchemeCode``, else ``paymentMethod``) and gives the code
(``chargebackReasonCode``, else a code-shaped ``reason``): ``visa:10.4``, ``mc:4837``; otherwise
``adyen:<reason>``. Refusal reasons are normalised: ``" Not enough  balance "`` becomes
``adyen:not_enough_balance``; a numeric ``refusalReasonCode`` in additionalData is mapped to
Adyen's refusal reason name first. The raw acquirer text (``refusalReasonRaw``) and any ISO
response code in it are kept in attributes.

``amount.value`` is minor units. refs: payment = ``originalReference`` for modifications
(captures, refunds, chargebacks), else ``pspReference``; order = ``merchantReference``; the
modification's own ``pspReference`` is the refund / dispute / payout ref.
``external_id`` = ``pspReference:eventCode:success``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import msgspec

from recoup.adapters.connectors.webhooks._common import (
    INVALID_PAYLOAD,
    Payload,
    Result,
    WebhookFormat,
    build,
    id_text,
    integer,
    iso,
    items,
    map_body,
    namespaced,
    obj,
    parse_time,
    reject,
    snake,
    text,
    text_of,
    unsupported,
    unwrap_capture,
)
from recoup.domain.ingestion.canonical import Rejection
from recoup.domain.ingestion.event import Event
from recoup.domain.reference.chargebacks import chargeback_reason, network_namespace

DEFAULT_SOURCE = "adyen"

Fields = dict[str, Any]

# Adyen's refusalReasonCode values (docs: "Refusal reasons"), as the reason names we emit.
REFUSAL_REASONS = {
    "2": "refused",
    "3": "referral",
    "4": "acquirer_error",
    "5": "blocked_card",
    "6": "expired_card",
    "7": "invalid_amount",
    "8": "invalid_card_number",
    "9": "issuer_unavailable",
    "10": "not_supported",
    "11": "3d_not_authenticated",
    "12": "not_enough_balance",
    "14": "acquirer_fraud",
    "15": "cancelled",
    "16": "shopper_cancelled",
    "17": "invalid_pin",
    "18": "pin_tries_exceeded",
    "19": "pin_validation_not_possible",
    "20": "fraud",
    "21": "not_submitted",
    "22": "fraud_cancelled",
    "23": "transaction_not_permitted",
    "24": "cvc_declined",
    "25": "restricted_card",
    "26": "revocation_of_auth",
    "27": "declined_non_generic",
    "28": "withdrawal_amount_exceeded",
    "29": "withdrawal_count_exceeded",
    "31": "issuer_suspected_fraud",
    "32": "avs_declined",
    "33": "card_requires_online_pin",
    "34": "no_checking_account_available_on_card",
    "35": "no_savings_account_available_on_card",
    "36": "mobile_pin_required",
    "37": "contactless_fallback",
    "38": "authentication_required",
    "39": "rreq_not_received_from_ds",
    "40": "current_aid_is_in_penalty_box",
    "41": "cvm_required_restart_payment",
    "42": "3ds_authentication_error",
    "43": "online_pin_required",
    "44": "try_another_interface",
    "45": "chip_downgrade_mode",
    "46": "transaction_blocked_by_adyen_to_prevent_excessive_retry_fees",
}

# Adyen's paymentMethod / chargebackSchemeCode names for card networks.
_SCHEMES = {
    "visa": "visa",
    "visadankort": "visa",
    "electron": "visa",
    "vpay": "visa",
    "mc": "mastercard",
    "mastercard": "mastercard",
    "maestro": "mastercard",
    "bijcard": "mastercard",
    "amex": "amex",
    "discover": "discover",
    "diners": "diners",
    "jcb": "jcb",
    "cup": "unionpay",
    "cartebancaire": "cartes_bancaires",
}

_DISPUTE_OPENED = {"NOTIFICATION_OF_CHARGEBACK", "CHARGEBACK"}
_DISPUTE_UPDATED = {
    "SECOND_CHARGEBACK",
    "INFORMATION_SUPPLIED",
    "DISPUTE_DEFENSE_PERIOD_ENDED",
    "ISSUER_RESPONSE_TIMEFRAME_EXPIRED",
    "ISSUER_COMMENTS",
}
_DISPUTE_EVENTS = {
    **dict.fromkeys(_DISPUTE_OPENED, "dispute.opened"),
    **dict.fromkeys(_DISPUTE_UPDATED, "dispute.updated"),
    "REQUEST_FOR_INFORMATION": "dispute.inquiry_opened",
    "CHARGEBACK_REVERSED": "dispute.won",
    "PREARBITRATION_WON": "dispute.won",
    "PREARBITRATION_LOST": "dispute.lost",
}

_ISO_RESPONSE = re.compile(r"^\s*([0-9A-Z]{2})\s*[:\-]")
_CODE_SHAPED = re.compile(r"^\s*([0-9]{1,2}\.[0-9]|[0-9]{2,4}|[A-Z]{1,2}[0-9]{2})\s*$")


def _success(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
    return None


def _network(item: Fields, additional: Fields) -> str | None:
    for candidate in (
        text(additional.get("chargebackSchemeCode")),
        text(item.get("paymentMethod")),
        text(additional.get("paymentMethodVariant")),
        text(additional.get("paymentMethod")),
    ):
        if candidate:
            key = candidate.strip().lower()
            if key in _SCHEMES:
                return _SCHEMES[key]
            for prefix, scheme in _SCHEMES.items():  # variants: visacorporatecredit, mccredit
                if key.startswith(prefix) and len(prefix) > 2:
                    return scheme
            if key.startswith("mc"):
                return "mastercard"
    return None


def _refusal(item: Fields, additional: Fields) -> tuple[str | None, Fields]:
    """``adyen:<normalised refusal reason>`` and what else the item says about the decline."""
    code = text(additional.get("refusalReasonCode")) or id_text(additional.get("refusalReasonCode"))
    reason_text = text(item.get("reason"))
    name = REFUSAL_REASONS.get(code or "")
    if name is None and reason_text:
        name = snake(reason_text) or None
    raw = text(additional.get("refusalReasonRaw"))
    iso_code = None
    if raw:
        match = _ISO_RESPONSE.match(raw)
        iso_code = match.group(1) if match else None
    advice = text(additional.get("merchantAdviceCode"))
    attributes: Fields = {
        "refusal_reason": " ".join(reason_text.split()) if reason_text else None,
        "refusal_reason_code": code,
        "refusal_reason_raw": raw,
        "network_decline_code": iso_code,
        "merchant_advice_code": advice.split(":", 1)[0].strip() if advice else None,
    }
    return namespaced("adyen", name), attributes


def _dispute_reason(item: Fields, additional: Fields, network: str | None) -> Fields:
    reason_text = text(item.get("reason"))
    code = text(additional.get("chargebackReasonCode"))
    if code is None and reason_text and _CODE_SHAPED.match(reason_text):
        code = reason_text.strip()
    namespace = network_namespace(network)
    info = chargeback_reason(namespace, code)
    if namespace and code:
        reason_code = namespaced(namespace, code)
    else:
        reason_code = namespaced("adyen", snake(code or reason_text or "") or None)
    message = info.description if info else (" ".join(reason_text.split()) if reason_text else None)
    return {
        "reason_code": reason_code,
        "reason_message": message,
        "attributes": {
            "network_reason_code": code,
            "reason_category": info.category if info else None,
            "dispute_status": text(additional.get("disputeStatus")),
            "defendable": text(additional.get("defendable")),
            "evidence_due_by": iso(parse_time(additional.get("defensePeriodEndsAt")))
            or text(additional.get("defensePeriodEndsAt")),
        },
    }


def _type_for(code: str, success: bool, additional: Fields) -> tuple[str | None, str | None]:
    """(canonical type, direction) for an eventCode and its success flag."""
    if code == "AUTHORISATION":
        return ("payment.authorized", None) if success else ("payment.failed", None)
    if code == "CAPTURE":
        return ("payment.captured", "credit") if success else ("payment.capture_failed", None)
    if code == "CAPTURE_FAILED":
        return "payment.capture_failed", None
    if code in ("CANCELLATION", "TECHNICAL_CANCEL", "OFFER_CLOSED"):
        return ("payment.canceled", None) if success else (None, None)
    if code == "CANCEL_OR_REFUND":
        if not success:
            return None, None
        action = text(obj(additional).get("modification.action")) or ""
        return ("refund.succeeded", "debit") if action == "refund" else ("payment.canceled", None)
    if code in ("AUTHORISATION_EXPIRED", "EXPIRE"):
        return "payment.authorization_expired", None
    if code == "PENDING":
        return "payment.pending", None
    if code in ("REFUND", "REFUND_WITH_DATA"):
        return ("refund.succeeded", "debit") if success else ("refund.failed", None)
    if code == "REFUND_FAILED":
        return "refund.failed", None
    if code == "REFUNDED_REVERSED":
        return "refund.reversed", "credit"
    if code in _DISPUTE_EVENTS:
        type_ = _DISPUTE_EVENTS[code]
        if type_ in ("dispute.opened",) or code == "SECOND_CHARGEBACK":
            return type_, "debit"
        return type_, "credit" if type_ == "dispute.won" else None
    if code == "PAYOUT_THIRDPARTY":
        return ("payout.paid", "debit") if success else ("payout.failed", None)
    if code in ("PAIDOUT_REVERSED", "PAYOUT_DECLINE"):
        return "payout.failed", None
    if code == "PAYOUT_EXPIRE":
        return "payout.canceled", None
    return None, None


def _map_item(
    item: Fields,
    *,
    index: int,
    live: bool | None,
    received_at: datetime,
    label: str,
    line: int | None,
    source: str,
) -> Result:
    element = f"notificationItems[{index}]"
    raw = text_of(msgspec.json.encode(item))
    code = (text(item.get("eventCode")) or "").upper()
    psp = text(item.get("pspReference"))
    success = _success(item.get("success"))
    if not code:
        return reject(
            label, line, "invalid_field", "no eventCode", raw, field=f"{element}.eventCode"
        )
    if not psp:
        reason = "no pspReference"
        return reject(label, line, "invalid_field", reason, raw, field=f"{element}.pspReference")
    if success is None:
        reason = 'success must be "true" or "false"'
        return reject(label, line, "invalid_field", reason, raw, field=f"{element}.success")
    additional = obj(item.get("additionalData"))
    type_, direction = _type_for(code, success, additional)
    if type_ is None:
        what = f"Adyen eventCode {code!r} with success={str(success).lower()}"
        return unsupported(label, line, what, raw, field=f"{element}.eventCode")
    occurred_at = parse_time(item.get("eventDate"))
    if occurred_at is None:
        reason = "eventDate must be a date-time with a time zone"
        return reject(label, line, "invalid_field", reason, raw, field=f"{element}.eventDate")
    original = text(item.get("originalReference"))
    amount = obj(item.get("amount"))
    value = amount.get("value")
    minor = integer(value)
    if value is not None and minor is None:
        reason = f"amount.value must be an integer in minor units, got {value!r}"
        return reject(label, line, "invalid_field", reason, raw, field=f"{element}.amount.value")
    currency = text(amount.get("currency"))
    network = _network(item, additional)
    refs: Fields = {"payment": original or psp, "order": text(item.get("merchantReference"))}
    if type_.startswith("refund."):
        refs["refund"] = psp if original else None
    elif type_.startswith("dispute."):
        refs["dispute"] = psp if original else None
    elif type_.startswith("payout."):
        refs = {"payout": original or psp}  # merchantReference names the payout, no order
    fields: Fields = {
        "source": source,
        "external_id": f"{psp}:{code}:{str(success).lower()}",
        "type": type_,
        "occurred_at": occurred_at,
        "amount_minor": minor,
        "currency": currency.upper() if currency and minor is not None else None,
        "direction": direction,
        "status": "success" if success else "failure",
        "refs": refs,
    }
    attributes: Fields = {
        "adyen_event_code": code,
        "merchant_account": text(item.get("merchantAccountCode")),
        "payment_method": text(item.get("paymentMethod")),
        "network": network,
        "live": live,
        "psp_reference": psp,
        "merchant_reference": text(item.get("merchantReference")),
    }
    reason_text = text(item.get("reason"))
    if type_ == "payment.failed":
        fields["reason_code"], refusal = _refusal(item, additional)
        fields["reason_message"] = refusal["refusal_reason"]
        attributes |= refusal
    elif type_.startswith("dispute."):
        dispute = _dispute_reason(item, additional, network)
        fields["reason_code"] = dispute["reason_code"]
        fields["reason_message"] = dispute["reason_message"]
        attributes |= dispute["attributes"]
    elif type_ in ("payment.capture_failed", "refund.failed", "payout.failed"):
        fields["reason_code"] = namespaced(
            "adyen", snake(reason_text) if reason_text else code.lower()
        )
        fields["reason_message"] = " ".join(reason_text.split()) if reason_text else None
    fields["attributes"] = attributes
    return build(fields, received_at=received_at, raw=raw, label=label, line=line, element=element)


def _map(payload: Payload, received_at: datetime, label: str, source: str) -> list[Result]:
    line, raw = payload.line, payload.raw
    document, _ = unwrap_capture(payload.data, raw)  # the evidence stays the whole payload
    if isinstance(document, dict) and "NotificationRequestItem" in document:
        document = {"notificationItems": [document]}  # one item saved on its own
    if isinstance(document, dict) and "pspReference" in document and "eventCode" in document:
        document = {"notificationItems": [{"NotificationRequestItem": document}]}
    if not isinstance(document, dict) or not isinstance(document.get("notificationItems"), list):
        reason = "an Adyen notification is {live, notificationItems: [...]}"
        return [reject(label, line, INVALID_PAYLOAD, reason, raw, field="notificationItems")]
    wrappers = items(document.get("notificationItems"))
    if not wrappers:
        reason = "notificationItems is empty"
        return [reject(label, line, INVALID_PAYLOAD, reason, raw, field="notificationItems")]
    live = _success(document.get("live"))
    out: list[Result] = []
    for index, wrapper in enumerate(wrappers):
        item = obj(wrapper).get("NotificationRequestItem")
        if not isinstance(item, dict):
            where = f"notificationItems[{index}]"
            out.append(
                reject(
                    label,
                    line,
                    INVALID_PAYLOAD,
                    "not a {NotificationRequestItem: {...}}",
                    text_of(msgspec.json.encode(wrapper)),
                    field=where,
                )
            )
            continue
        try:
            out.append(
                _map_item(
                    item,
                    index=index,
                    live=live,
                    received_at=received_at,
                    label=label,
                    line=line,
                    source=source,
                )
            )
        except Exception as exc:  # one bad item never costs the batch its other items
            reason = f"could not map the item ({type(exc).__name__}: {exc})"[:1000]
            where = f"notificationItems[{index}]"
            out.append(
                reject(
                    label,
                    line,
                    "mapping_error",
                    reason,
                    text_of(msgspec.json.encode(item)),
                    field=where,
                )
            )
    return out


def events_from_payload(
    body: bytes, *, received_at: datetime, label: str, source: str = DEFAULT_SOURCE
) -> list[Event | Rejection]:
    """Map one Adyen notification batch (or saved bodies, one per line). Never raises."""
    return map_body(body, received_at, label, source, _map)


FORMAT = WebhookFormat(
    name="adyen-notifications",
    description="Adyen standard notifications (JSON, one batch per file or per line)",
    default_source=DEFAULT_SOURCE,
    mapper=_map,
    markers=(rb'"notificationItems"', rb'"NotificationRequestItem"'),
)

FORMATS = (FORMAT,)

__all__ = ["DEFAULT_SOURCE", "FORMAT", "FORMATS", "REFUSAL_REASONS", "events_from_payload"]
