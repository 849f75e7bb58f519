"""What every Stripe event mapper shares: the event being mapped and how ids, amounts and
cards are read from Stripe objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from recoup.adapters.connectors.webhooks._common import (
    PayloadContext,
    id_text,
    integer,
    network_name,
    obj,
    text,
)

Fields = dict[str, Any]


@dataclass(kw_only=True)
class _Ctx(PayloadContext):
    """One Stripe event being mapped."""

    event_id: str
    event_type: str
    occurred_at: datetime
    account: str | None = None
    livemode: bool | None = None

    def base(self, type_: str, *, external_id: str | None = None) -> Fields:
        return {
            "source": self.source,
            "external_id": external_id or self.event_id,
            "type": type_,
            "occurred_at": self.occurred_at,
            "attributes": {
                "stripe_event": self.event_type,
                "stripe_event_id": self.event_id if external_id else None,
                "account": self.account,
                "livemode": self.livemode,
            },
        }


class _BadAmount(Exception):
    def __init__(self, field_: str, value: Any) -> None:
        super().__init__(f"{field_} must be an integer amount in minor units, got {value!r}")
        self.field = field_


def _ref(value: Any) -> str | None:
    """An id given as a string, or as the ``id`` of an expanded object."""
    if isinstance(value, dict):
        value = value.get("id")
    return text(value)


def _money(o: Fields, key: str = "amount", *, where: str = "data.object") -> Fields:
    """``amount_minor`` and ``currency`` from a Stripe object; absent when the object has
    none. A non-integer amount (a decimal string) is an error, never guessed at."""
    value = o.get(key)
    if value is None:
        return {}
    amount = integer(value)
    if amount is None:
        raise _BadAmount(f"{where}.{key}", value)
    currency = text(o.get("currency"))
    return {"amount_minor": amount, "currency": currency.upper() if currency else None}


def _order(o: Fields) -> str | None:
    return id_text(obj(o.get("metadata")).get("order_id"))


def _card(o: Fields) -> Fields:
    return obj(obj(o.get("payment_method_details")).get("card"))


def _network(card: Fields) -> str | None:
    return network_name(card.get("network")) or network_name(card.get("brand"))
