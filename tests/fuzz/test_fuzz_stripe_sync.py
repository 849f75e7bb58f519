"""Fuzzing ``recoup sync stripe``'s reader of Stripe's Events API (``StripeEventsClient``).

Whatever the API answers (any status, ``Retry-After`` and ``Stripe-Should-Retry`` header, and a
body that is a mutated real page, a real page with any value anywhere, or random bytes), listing
pages either yields pages of raw events or raises :class:`ExternalSystemError` (its documented
errors: terminal or retryable), never anything else, never the API key in a message, and never
waits longer than the retry policy allows. Each event of a page then goes through the Stripe
mapper as ``sync`` does, and gives events or located rejections.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from hypothesis import example, given
from hypothesis import strategies as st

from recoup.adapters.connectors.sync.stripe_events import RetryPolicy, StripeEventsClient
from recoup.adapters.connectors.webhooks import stripe
from recoup.domain.errors import ExternalSystemError
from tests.fuzz import (
    FIXTURES,
    RANDOM_BYTES,
    RECEIVED_AT,
    bounded,
    check_items,
    fuzz_settings,
    json_edits,
    mutated,
)

KEY = "sk_test_fuzzsecretkey0123456789"
PAGES = sorted((FIXTURES / "stripe-sync").glob("events-*.json"))
ERRORS = sorted((FIXTURES / "stripe-sync").glob("error-*.json"))
MAX_PAGES = 8
"""A fuzzed server may say ``has_more`` for ever with new ids; the test reads this many."""

WHOLE_BODY = frozenset(
    {"empty", "invalid_json", "truncated", "invalid_encoding", "invalid_payload"}
)


def _page_document(path: Path) -> Any:
    return json.loads(path.read_bytes())


BODIES = st.one_of(
    st.sampled_from(PAGES).map(Path.read_bytes),
    st.sampled_from(PAGES).map(Path.read_bytes).flatmap(mutated),
    st.sampled_from(PAGES)
    .map(_page_document)
    .flatmap(json_edits)
    .map(lambda document: json.dumps(document).encode()),
    st.sampled_from(ERRORS).map(Path.read_bytes),
    RANDOM_BYTES,
)

HEADER_TEXT = st.one_of(
    st.sampled_from(["0", "1", "1.5", "-1", "nan", "inf", "1e400", "120", "true", "false", ""]),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12),
)

RESPONSE = st.tuples(
    st.sampled_from([200, 200, 200, 200, 400, 401, 403, 404, 409, 429, 500, 502, 503]),
    st.dictionaries(st.sampled_from(["Retry-After", "Stripe-Should-Retry", "Request-Id"]),
                    HEADER_TEXT, max_size=3),
    BODIES,
)  # fmt: skip


class FuzzedStripe:
    """Answers each request with the next scripted response (the last one again after that)."""

    def __init__(self, responses: list[tuple[int, dict[str, str], bytes]]) -> None:
        self.responses = responses
        self.requests = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        status, headers, body = self.responses[min(self.requests, len(self.responses) - 1)]
        self.requests += 1
        return httpx.Response(status, headers=headers, content=body)


@fuzz_settings()
@given(st.lists(RESPONSE, min_size=1, max_size=6))
# found by fuzzing: a body with bytes that are not UTF-8 inside a JSON string, or nested too
# deeply, escaped as UnicodeDecodeError / RecursionError instead of the documented errors
@example([(400, {}, b'{"error": {"message": "\x80"}}')])
@example([(200, {}, b'{"object": "list", "data": ["\x80"]}')])
@example([(200, {}, b'{"a":' * 10_000)])
@example([(503, {"Stripe-Should-Retry": "false"}, b'{"error":' * 10_000)])
def test_any_answer_gives_pages_or_a_documented_error(
    responses: list[tuple[int, dict[str, str], bytes]],
) -> None:
    server = FuzzedStripe(responses)
    waits: list[float] = []
    retry = RetryPolicy(max_attempts=3, max_retry_after=60.0)
    client = StripeEventsClient(KEY, transport=httpx.MockTransport(server.handle), retry=retry,
                                sleep=waits.append)  # fmt: skip

    refusal = None
    with bounded():
        try:
            pages = list(_first_pages(client))
        except ExternalSystemError as exc:  # the documented errors, and only those
            refusal, pages = str(exc), []
        finally:
            client.close()

    if refusal is not None:
        assert refusal.strip()
        assert KEY not in refusal, refusal

    assert all(0 <= wait <= 60.0 for wait in waits), waits
    for page in pages:
        for index, event in enumerate(page.events):
            assert isinstance(event.body, bytes)
            assert event.id is None or (isinstance(event.id, str) and event.id)
            assert event.created is None or type(event.created) is int
            label = f"sync:stripe:stripe {event.id or f'data[{index}]'}"
            results = stripe.events_from_payload(event.body, received_at=RECEIVED_AT, label=label)
            check_items(results, label, whole_input_codes=WHOLE_BODY)


def _first_pages(client: StripeEventsClient) -> Iterator[Any]:
    for number, page in enumerate(client.pages(created_gte=0), start=1):
        yield page
        if number == MAX_PAGES:
            return


def test_the_samples_are_there() -> None:
    assert (len(PAGES), len(ERRORS)) == (5, 3)
