"""Personal data out of logs; retention stubs keep a verifiable digest."""

from __future__ import annotations

import hashlib
import json
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recoup.adapters.log_redaction import install_log_redaction
from recoup.domain.privacy import is_redacted, redact_text, retention_stub
from tests.conftest import T0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("card 4242 4242 4242 4242 declined", "card 424242******4242 declined"),
        ("mail ana.lopez@example.com now", "mail a***@example.com now"),
        ("iban DE89370400440532013000.", "iban DE89**************3000."),
        ("iban GB29 NWBK 6016 1331 9268 19 ok", "iban GB29 **** **** **** **68 19 ok"),
        ("order 1234567 for 12.00 EUR", "order 1234567 for 12.00 EUR"),
        ("shopify id 820982911946154508", "shopify id 820982911946154508"),
    ],
)
def test_redact_text(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_redaction_is_idempotent(text: str) -> None:
    once = redact_text(text)
    assert redact_text(once) == once


def test_every_log_record_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction()
    install_log_redaction()  # idempotent
    with caplog.at_level(logging.INFO):
        logging.getLogger("recoup.test").info("customer %s paid with %s", "bo@example.org",
                                              "5555555555554444")  # fmt: skip
    assert caplog.messages == ["customer b***@example.org paid with 555555******4444"]


def test_retention_stub_keeps_digest_and_size() -> None:
    raw = '{"card": "masked", "name": "Zoë"}'
    stub = retention_stub(raw, T0)
    data = json.loads(stub)
    assert data["sha256"] == hashlib.sha256(raw.encode()).hexdigest()
    assert data["bytes"] == len(raw.encode())
    assert is_redacted(stub)
    assert not is_redacted(raw)
