"""Fuzzing ``POST /hooks/{source}`` through the real HTTP app, on SQLite and PostgreSQL.

Every body is signed as its provider signs (so it gets past the signature check and reaches the
mapper and the store): random bytes, mutated real bodies and real payloads with any value
anywhere. The answer is 2xx or 4xx, never 5xx; a 4xx carries a reason; every delivery's records
end as stored events or quarantined rejections, and no batch fails to commit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from recoup.adapters.clock import FixedClock
from recoup.adapters.connectors.webhooks.signatures import sign_adyen_item, sign_generic
from recoup.adapters.store import tables as t
from recoup.bootstrap import App, bootstrap
from recoup.entrypoints.api.app import create_app
from recoup.settings import DatabaseSettings, Settings, WebhookSettings, WebhookSource
from tests.fuzz import (
    RANDOM_BYTES,
    fuzz_settings,
    json_edits,
    mutated,
    webhook_bodies,
    webhook_documents,
)

ADYEN_KEY = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
SOURCES = {
    # source: (provider, file format of its samples, secret)
    "stripe": ("stripe", "stripe-events", "whsec_fuzz"),
    "shopify": ("shopify", "shopify-webhooks", "shpss_fuzz"),
    "adyen": ("adyen", "adyen-notifications", ADYEN_KEY),
    "paypal": ("paypal", "paypal-webhooks", "relay-fuzz"),
    "acme": ("generic", "generic-webhooks", "generic-fuzz"),
}
TOPICS = ["orders/create", "orders/paid", "refunds/create", "disputes/update", "nope/none", ""]


@pytest.fixture
def hooks(store_url: str, clock: FixedClock) -> Iterator[tuple[TestClient, App]]:
    sources = {
        name: WebhookSource(provider=provider, secret=SecretStr(secret))  # type: ignore[arg-type]
        for name, (provider, _, secret) in SOURCES.items()
    }
    settings = Settings(
        database=DatabaseSettings(url=SecretStr(store_url), auto_upgrade=False),
        webhooks=WebhookSettings(sources=sources),
    )
    app = bootstrap(settings, clock=clock)
    app.ensure_schema()
    with TestClient(create_app(app, app.webhook_providers())) as client:
        yield client, app
    app.close()


def _signed_adyen(document: Any) -> tuple[bytes, bool]:
    """The document with every item signed; False when it has no item that could be signed
    (then the delivery is refused before it is read)."""
    items = document.get("notificationItems") if isinstance(document, dict) else None
    wrappers = items if isinstance(items, list) else []
    signable = bool(wrappers)
    for wrapper in wrappers:
        item = wrapper.get("NotificationRequestItem") if isinstance(wrapper, dict) else None
        if not isinstance(item, dict):
            signable = False
            continue
        if not isinstance(item.get("additionalData"), dict):
            item["additionalData"] = {}
        item["additionalData"]["hmacSignature"] = sign_adyen_item(item, ADYEN_KEY)
    return json.dumps(document).encode(), signable


def _headers(source: str, body: bytes, app: App, topic: str) -> dict[str, str]:
    provider, _, secret = SOURCES[source]
    now = app.clock.now()
    if provider == "stripe":
        return {"Stripe-Signature": sign_generic(body, secret, timestamp=now)}
    if provider == "shopify":
        digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        return {"X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
                "X-Shopify-Topic": topic, "X-Shopify-Webhook-Id": "fuzz-1"}  # fmt: skip
    if provider == "paypal":
        return {"X-Recoup-Relay-Signature": sign_generic(body, secret, timestamp=now)}
    if provider == "generic":
        return {"X-Recoup-Signature": sign_generic(body, secret, timestamp=now)}
    return {}  # Adyen signs inside the body


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[str, bytes, bool, str]:
    """(source, body, whether the body is signed, Shopify topic)."""
    source = draw(st.sampled_from(sorted(SOURCES)))
    provider, file_format, _ = SOURCES[source]
    how = draw(st.sampled_from(["random", "mutated", "values", "values"]))
    if how == "values":
        document = draw(webhook_documents(file_format).flatmap(json_edits))
        if provider == "adyen":
            body, signed = _signed_adyen(document)
        else:
            body, signed = json.dumps(document).encode(), True
    else:
        body = draw(
            RANDOM_BYTES if how == "random" else webhook_bodies(file_format).flatmap(mutated)
        )
        signed = provider != "adyen"
    return source, body, signed, draw(st.sampled_from(TOPICS))


def _check_answer(response: Any, signed: bool) -> None:
    assert response.status_code < 500, (response.status_code, response.text)
    payload = response.json()
    if response.status_code < 300:
        counts = [payload[k] for k in ("accepted", "new", "duplicates", "quarantined")]
        assert all(isinstance(n, int) and n >= 0 for n in counts), payload
        assert payload["accepted"] + payload["quarantined"] >= 1, "a delivery's records vanished"
        return
    assert isinstance(payload.get("detail"), str), payload
    assert payload["detail"].strip(), payload
    if signed:  # signed as the provider signs: never refused as unauthentic
        assert response.status_code != 401, payload
    if response.headers["content-type"].startswith("application/problem+json"):
        assert payload["status"] == response.status_code, payload
        assert payload["title"], payload
    else:  # 400: the body was stored in quarantine and could not be read at all
        assert response.status_code == 400, payload
        assert payload["quarantined"] >= 1, payload


def test_any_signed_body_is_answered_2xx_or_4xx_and_lands_in_events_or_quarantine(
    hooks: tuple[TestClient, App],
) -> None:
    client, app = hooks
    answered: list[int] = []

    @fuzz_settings()
    @given(deliveries())
    def deliver(case: tuple[str, bytes, bool, str]) -> None:
        source, body, signed, topic = case
        headers = {"Content-Type": "application/json", **_headers(source, body, app, topic)}

        response = client.post(f"/hooks/{source}", content=body, headers=headers)

        _check_answer(response, signed)
        answered.append(response.status_code)

    deliver()

    stats = client.get("/hooks/stats").json()
    assert stats["failed_batches"] == 0, stats
    assert [r for r in stats["rejected"] if r["reason"] == "commit failed"] == []
    assert any(status < 300 for status in answered)
    with app.engine.connect() as conn:
        rows = conn.execute(sa.select(t.quarantine.c.label, t.quarantine.c.code,
                                      t.quarantine.c.reason)).all()  # fmt: skip
    for label, code, reason in rows:
        assert label in {f"hook:{source}" for source in SOURCES}, label
        assert code, reason
        assert reason.strip(), code


def test_a_shopify_body_without_a_topic_is_quarantined_not_lost(
    hooks: tuple[TestClient, App],
) -> None:
    client, app = hooks
    body = b'{"id": 1, "total_price": "1.00", "currency": "EUR"}'
    headers = _headers("shopify", body, app, "")
    del headers["X-Shopify-Topic"]

    response = client.post("/hooks/shopify", content=body, headers=headers)

    assert (response.status_code, response.json()["quarantined"]) == (200, 1)


def test_a_long_unknown_key_is_quarantined_not_a_failed_commit(
    hooks: tuple[TestClient, App],
) -> None:
    # found by fuzzing: the rejection's field quoted the 300-character key, which PostgreSQL's
    # quarantine column refused, so the whole group commit failed and the sender got 503
    client, app = hooks
    body = b'[{"' + b"k" * 300 + b'": 1}]'
    headers = _headers("acme", body, app, "")

    response = client.post("/hooks/acme", content=body, headers=headers)

    assert (response.status_code, response.json()["quarantined"]) == (200, 1)


def test_a_body_with_a_nul_byte_is_quarantined_not_a_failed_commit(
    hooks: tuple[TestClient, App],
) -> None:
    # found by fuzzing: the rejection kept the NUL byte, which PostgreSQL text cannot hold
    client, app = hooks
    body = b'{"id": "evt_1", "object": "event", "type": "\x00"}'
    headers = _headers("stripe", body, app, "")

    response = client.post("/hooks/stripe", content=body, headers=headers)

    assert (response.status_code, response.json()["quarantined"]) == (400, 1)
