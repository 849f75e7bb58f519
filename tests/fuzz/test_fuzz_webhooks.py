"""Fuzzing the webhook mappers of every provider (Stripe, Shopify, Adyen, PayPal, generic), as
saved bodies (their file formats) and as live deliveries (``events_from_payload``).

Random values in valid payloads are in ``test_fuzz_webhook_payloads.py``; the HTTP intake in
``test_fuzz_webhooks_http.py``.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from recoup.adapters.connectors.registry import file_formats
from recoup.adapters.connectors.webhooks import adyen, generic, paypal, shopify, stripe
from recoup.adapters.connectors.webhooks.providers import webhook_reparsers
from recoup.domain.ports import QuarantineItem
from recoup.services.quarantine import reparse_canonical
from tests.fuzz import (
    LABEL,
    RANDOM_BYTES,
    RECEIVED_AT,
    WEBHOOK_SAMPLES,
    bounded,
    check_items,
    fuzz_settings,
    json_edits,
    mutated,
    parse,
    webhook_bodies,
    webhook_documents,
)

WHOLE_BODY = frozenset(
    {"empty", "invalid_json", "truncated", "invalid_encoding", "invalid_payload"}
)
"""A body that is not JSON, or JSON that is not a payload of the provider at all (a number, a
string), is refused as a whole: there is no field to name."""


def _whole(provider: str, body: bytes) -> frozenset[str]:
    """The codes a refusal of ``body`` as a whole may have: a generic body that is neither an
    object nor an array is refused by the canonical schema (``invalid_field``) with no field."""
    start = body.lstrip(b" \t\r\n\xef\xbb\xbf")[:1]
    if provider == "generic-webhooks" and start not in (b"{", b"["):
        return WHOLE_BODY | {"invalid_field"}
    return WHOLE_BODY


FORMATS = file_formats()


def _deliver(provider: str, body: bytes) -> list[Any]:
    """``body`` as a live delivery of ``provider`` (what ``POST /hooks/{source}`` maps)."""
    label, at = LABEL, RECEIVED_AT
    with bounded():
        if provider == "stripe-events":
            return stripe.events_from_payload(body, received_at=at, label=label)
        if provider == "shopify-webhooks":
            headers = {"x-shopify-topic": "orders/create", "x-shopify-webhook-id": "w-1"}
            return shopify.events_from_payload(body, received_at=at, label=label, headers=headers)
        if provider == "adyen-notifications":
            return adyen.events_from_payload(body, received_at=at, label=label)
        if provider == "paypal-webhooks":
            return paypal.events_from_payload(body, received_at=at, label=label)
        return generic.events_from_payload(body, received_at=at, label=label, source="erp")


PROVIDERS = [*WEBHOOK_SAMPLES, "generic-webhooks"]


# -- mutated bytes -------------------------------------------------------------------------------


@fuzz_settings()
@given(st.sampled_from(PROVIDERS).flatmap(
    lambda name: st.tuples(st.just(name), webhook_bodies(name).flatmap(mutated))
))  # fmt: skip
@example(("generic-webhooks", b'[{"source": "erp", "external_id": "a\\u0000", "type": "x"}]'))
@example(("generic-webhooks", b"1e999"))
def test_a_mutated_saved_body_is_mapped_or_refused_with_its_location(
    case: tuple[str, bytes],
) -> None:
    provider, data = case

    outcome = check_items(parse(FORMATS[provider], data), whole_input_codes=_whole(provider, data))

    assert outcome.records >= 1 or not data.strip(b" \t\r\n\xef\xbb\xbf")


@fuzz_settings()
@given(st.sampled_from(PROVIDERS), RANDOM_BYTES)
def test_random_bytes_are_refused_with_a_reason(provider: str, data: bytes) -> None:
    whole = _whole(provider, data)
    check_items(parse(FORMATS[provider], data), whole_input_codes=whole)
    outcome = check_items(_deliver(provider, data), whole_input_codes=whole)

    assert outcome.records >= 1


# -- mutated JSON: every value of a real payload replaced, deleted or duplicated ------------------


@fuzz_settings()
@given(
    st.sampled_from(PROVIDERS).flatmap(
        lambda name: st.tuples(
            st.just(name), webhook_documents(name).flatmap(json_edits), st.booleans()
        )
    )
)
@example(("generic-webhooks", {"": 1}, True))  # an empty key was refused with no field
@example(("generic-webhooks", [{"source": "erp", "refs": {"": "x"}}], True))
def test_any_value_anywhere_in_a_payload_is_mapped_or_refused_at_its_field(
    case: tuple[str, Any, bool],
) -> None:
    provider, document, ascii_only = case
    body = json.dumps(document, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")

    whole = _whole(provider, body)
    outcome = check_items(_deliver(provider, body), whole_input_codes=whole)

    assert outcome.records >= 1
    check_items(parse(FORMATS[provider], body), whole_input_codes=whole)


@fuzz_settings()
@given(st.sampled_from(PROVIDERS), st.integers(1, 100_000), st.sampled_from(["[", '{"a":']))
def test_deeply_nested_json_is_refused_not_a_crash(provider: str, depth: int, opener: str) -> None:
    body = (opener * depth).encode()

    check_items(_deliver(provider, body), whole_input_codes=WHOLE_BODY)


def test_the_samples_are_there() -> None:
    assert {name: len(paths) >= 4 for name, paths in WEBHOOK_SAMPLES.items()} == dict.fromkeys(
        WEBHOOK_SAMPLES, True
    )


# -- replaying quarantined bodies ----------------------------------------------------------------

REPARSERS = {**webhook_reparsers(), "canonical": reparse_canonical}
LABELS = st.one_of(
    st.sampled_from(["hook:stripe", "hook:acme", "hook:", "sync:stripe:stripe evt_1",
                     "sync::", "sync:stripe:", "quarantine:1", "fuzz-input"]),
    st.text(min_size=1, max_size=30),
)  # fmt: skip
"""Labels as the quarantine stores them (a file, a webhook or sync source), and any text."""


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


@fuzz_settings()
@given(
    st.sampled_from(sorted(REPARSERS)),
    LABELS,
    st.one_of(
        st.text(max_size=2000),
        st.sampled_from(PROVIDERS)
        .flatmap(webhook_bodies)
        .map(lambda b: b.decode("utf-8", "replace")),
    ),
)
def test_replaying_any_quarantined_body_gives_events_or_located_rejections(
    format_name: str, label: str, raw: str
) -> None:
    item = QuarantineItem(
        id="q-1", format=format_name, label=label, line=None, field=None, code="invalid_json",
        reason="fuzz", raw=raw, status="open", seen_count=1, attempts=0,
        first_seen_at=RECEIVED_AT, last_seen_at=RECEIVED_AT, event_id=None,
    )  # fmt: skip

    with bounded():
        results = REPARSERS[format_name](item, RECEIVED_AT)

    # a body replayed alone has no line; a canonical one that is not an object is refused by
    # the schema as a whole
    schema = {"invalid_field"} if format_name in ("canonical", "generic-webhooks") else set()
    check_items(results, label, whole_input_codes=WHOLE_BODY | schema)
