"""What every Shopify topic mapper shares: the payload being mapped, exact ids (from the
GraphQL id when there is one) and money.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from recoup.adapters.connectors.webhooks._common import (
    PayloadContext,
    decimal,
    id_text,
    iso,
    parse_time,
    text,
)

Fields = dict[str, Any]


@dataclass(kw_only=True)
class _Ctx(PayloadContext):
    """One Shopify payload being mapped."""

    topic: str
    webhook_id: str | None
    triggered_at: datetime | None
    shop: str | None

    def when(self, *candidates: Any) -> tuple[datetime, str | None]:
        """The first readable time among ``candidates``, else the delivery's trigger time,
        else when we received it (and which fallback was used)."""
        for candidate in candidates:
            parsed = parse_time(candidate)
            if parsed is not None:
                return parsed, None
        if self.triggered_at is not None:
            return self.triggered_at, "triggered_at"
        return self.received_at, "received_at"

    def base(
        self,
        type_: str,
        occurred: tuple[datetime, str | None],
        *,
        object_id: str | None,
        version: Any = None,
        external_id: str | None = None,
    ) -> Fields:
        occurred_at, fallback = occurred
        if external_id is None:
            if self.webhook_id:
                external_id = self.webhook_id
            else:
                stamp = text(version) or iso(occurred_at)
                external_id = f"{self.topic}:{object_id or 'unknown'}:{stamp}"
        return {
            "source": self.source,
            "external_id": external_id[:255],
            "type": type_,
            "occurred_at": occurred_at,
            "attributes": {
                "shopify_topic": self.topic,
                "shopify_webhook_id": self.webhook_id,
                "shop": self.shop,
                "occurred_at_source": fallback,
            },
        }


def _gid_tail(gid: Any) -> str | None:
    value = text(gid)
    if not value or not value.startswith("gid://"):
        return None
    tail = value.rsplit("/", 1)[-1].split("?", 1)[0]
    return tail or None


def _id(o: Fields, key: str = "id", gid_key: str = "admin_graphql_api_id") -> str | None:
    """An object's id, exactly: from its GraphQL id when it has one."""
    return _gid_tail(o.get(gid_key)) or id_text(o.get(key))


def _id_attributes(o: Fields) -> Fields:
    numeric, gid = id_text(o.get("id")), _gid_tail(o.get("admin_graphql_api_id"))
    return {"id_from_gid": True} if numeric and gid and numeric != gid else {}


def _money(amount: Any, currency: Any) -> Fields:
    value = decimal(amount)
    code = text(currency)
    if value is None:
        return {}
    return {"amount": value, "currency": code.upper() if code else None}
