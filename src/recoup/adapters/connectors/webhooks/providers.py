"""The inbound webhook providers behind ``POST /hooks/{source}``: how each one's signature is
checked and how its body becomes canonical events.

A provider is configured per source (settings ``webhooks.sources``); the HTTP layer only knows
this small interface.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import ModuleType

from recoup.adapters.connectors.webhooks import adyen, generic, paypal, shopify, stripe
from recoup.adapters.connectors.webhooks.signatures import (
    Verification,
    verify_adyen,
    verify_generic,
    verify_paypal_relay,
    verify_shopify,
    verify_source_address,
    verify_stripe,
)
from recoup.domain.ingestion.canonical import Rejection
from recoup.domain.ingestion.event import Event
from recoup.domain.ports import QuarantineItem

Items = list[Event | Rejection]

Verify = Callable[[Mapping[str, str], bytes, str | None, datetime], str | None]
"""(headers, body, client address, now) -> None when authentic, else the reason it is not."""

Map = Callable[[bytes, Mapping[str, str], datetime, str], list[Event | Rejection]]
"""(body, headers, received at, source name) -> the events and refused records it holds."""


@dataclass(frozen=True, slots=True)
class WebhookProvider:
    name: str
    format_name: str
    verify: Verify
    events: Map


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """What settings say about one source (kept free of the settings classes)."""

    provider: str
    secret: str | None
    tolerance_seconds: int
    allow_networks: tuple[str, ...]


def _check(verification: Verification) -> str | None:
    return None if verification.ok else verification.reason


def _verifier(config: ProviderConfig) -> Verify:
    tolerance = timedelta(seconds=config.tolerance_seconds)
    secret = config.secret
    kind = config.provider
    networks = config.allow_networks

    def verify(headers: Mapping[str, str], body: bytes, client: str | None,
               now: datetime) -> str | None:  # fmt: skip
        if networks:
            refused = _check(verify_source_address(client, networks))
            if refused is not None or secret is None:
                return refused
        if secret is None:
            return "no secret configured"
        if kind == "stripe":
            return _check(verify_stripe(body, headers, secret, now=now, tolerance=tolerance))
        if kind == "shopify":
            return _check(verify_shopify(body, headers, secret))
        if kind == "adyen":
            return _check(verify_adyen(body, secret))
        if kind == "paypal":
            return _check(verify_paypal_relay(body, headers, secret, now=now, tolerance=tolerance))
        return _check(verify_generic(body, headers, secret, now=now, tolerance=tolerance))

    return verify


_MODULES: dict[str, ModuleType] = {
    "stripe": stripe,
    "shopify": shopify,
    "adyen": adyen,
    "paypal": paypal,
    "generic": generic,
}


def _map_body(
    kind: str,
    body: bytes,
    headers: Mapping[str, str],
    at: datetime,
    source: str | None,
    label: str,
) -> Items:
    """Run provider ``kind``'s mapper; Shopify also reads the request headers (topic, id)."""
    if kind == "shopify":
        return shopify.events_from_payload(body, received_at=at, label=label,
                                           source=source or shopify.DEFAULT_SOURCE,
                                           headers=headers)  # fmt: skip
    mapped: Items = _MODULES[kind].events_from_payload(
        body, received_at=at, label=label, source=source
    )
    return mapped


def _mapper(kind: str) -> Map:
    def events(body: bytes, headers: Mapping[str, str], at: datetime, source: str) -> Items:
        return _map_body(kind, body, headers, at, source, f"hook:{source}")

    return events


def _format_name(kind: str) -> str:
    name: str = _MODULES[kind].FORMATS[0].name
    return name


def build_providers(configs: Mapping[str, ProviderConfig]) -> dict[str, WebhookProvider]:
    """One provider per configured source name."""
    return {
        name: WebhookProvider(
            name=name,
            format_name=_format_name(config.provider),
            verify=_verifier(config),
            events=_mapper(config.provider),
        )
        for name, config in configs.items()
    }


def _source_from_label(label: str) -> str | None:
    """The source a quarantined body was received for: ``hook:<source>`` (a webhook) or
    ``sync:<provider>:<source> <event id>`` (``recoup sync``)."""
    if label.startswith("hook:"):
        return label.removeprefix("hook:")
    if label.startswith("sync:"):
        head = label.split(" ", 1)[0]
        parts = head.split(":", 2)
        return parts[2] if len(parts) == 3 and parts[2] else None
    return None


def webhook_reparsers() -> dict[str, Callable[[QuarantineItem, datetime], Items]]:
    """How ``recoup quarantine replay`` parses a quarantined webhook body again: a body is
    self-contained, so it can be replayed on its own (file formats cannot)."""

    def reparser(kind: str) -> Callable[[QuarantineItem, datetime], Items]:
        default = getattr(_MODULES[kind], "DEFAULT_SOURCE", None)  # generic: any source

        def reparse(item: QuarantineItem, at: datetime) -> Items:
            label = item.label or f"quarantine:{item.id}"
            source = _source_from_label(label) or default
            return _map_body(kind, item.raw.encode("utf-8"), {}, at, source, label)

        return reparse

    return {_format_name(kind): reparser(kind) for kind in _MODULES}
