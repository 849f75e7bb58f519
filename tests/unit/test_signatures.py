"""Webhook signature checks: authentic deliveries pass; tampering, wrong secrets, stale
timestamps and missing headers fail with a clear reason; nothing raises on hostile input."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recoup.adapters.connectors.webhooks.signatures import (
    VERIFIED,
    Failure,
    SignatureError,
    Verification,
    adyen_signing_string,
    sign_adyen_item,
    sign_generic,
    verify_adyen,
    verify_adyen_item,
    verify_generic,
    verify_paypal_relay,
    verify_shopify,
    verify_source_address,
    verify_stripe,
)
from recoup.domain.errors import ConfigurationError, PermissionDeniedError

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
T = int(NOW.timestamp())
BODY = b'{"id":"evt_1","object":"event","type":"charge.failed"}'
SECRET = "whsec_test_5f1c0a"
ADYEN = Path(__file__).parents[1] / "fixtures" / "adyen"
ADYEN_TEST_KEY = "9F3C1A7B5E2D4C6A8B0E1F2D3C4B5A6978695A4B3C2D1E0F1A2B3C4D5E6F7A8B"


def stripe_header(body: bytes, secret: str, t: int = T, extra: str = "") -> str:
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}{extra}"


# -- the result type ------------------------------------------------------------------------------


def test_a_verification_is_truthy_only_when_ok() -> None:
    assert VERIFIED
    assert VERIFIED.ok
    assert VERIFIED.reason == "ok"
    failed = Verification(Failure.BAD_SIGNATURE, "no match")
    assert not failed
    assert failed.reason == "bad signature"
    VERIFIED.raise_for_failure()
    with pytest.raises(SignatureError) as caught:
        failed.raise_for_failure()
    assert isinstance(caught.value, PermissionDeniedError)
    assert caught.value.failure is Failure.BAD_SIGNATURE
    assert caught.value.code == "invalid_signature"


@pytest.mark.parametrize("secret", ["", b""])
def test_an_empty_secret_is_a_configuration_error_not_a_pass(secret: Any) -> None:
    with pytest.raises(ConfigurationError):
        verify_shopify(BODY, {"X-Shopify-Hmac-Sha256": "x"}, secret)
    with pytest.raises(ConfigurationError):
        verify_stripe(BODY, {"Stripe-Signature": "t=1,v1=00"}, secret, now=NOW)


# -- Stripe ---------------------------------------------------------------------------------------


def test_stripe_valid_signature_is_accepted() -> None:
    headers = {"Stripe-Signature": stripe_header(BODY, SECRET)}
    assert verify_stripe(BODY, headers, SECRET, now=NOW) == VERIFIED


def test_stripe_header_name_is_case_insensitive_and_any_v1_may_match() -> None:
    good = stripe_header(BODY, SECRET)
    other = stripe_header(BODY, "whsec_old")
    value = f"{other},v1={good.split('v1=')[1]},v0=deadbeef"
    assert verify_stripe(BODY, {"stripe-signature": value}, SECRET, now=NOW)


def test_stripe_accepts_any_of_several_secrets_while_rolling() -> None:
    headers = {"Stripe-Signature": stripe_header(BODY, "whsec_new")}
    assert verify_stripe(BODY, headers, ["whsec_old", "whsec_new"], now=NOW)


def test_stripe_tampered_body_is_rejected() -> None:
    headers = {"Stripe-Signature": stripe_header(BODY, SECRET)}
    result = verify_stripe(BODY.replace(b"failed", b"succeeded"), headers, SECRET, now=NOW)
    assert result.failure is Failure.BAD_SIGNATURE


def test_stripe_wrong_secret_is_rejected() -> None:
    headers = {"Stripe-Signature": stripe_header(BODY, "whsec_other")}
    assert verify_stripe(BODY, headers, SECRET, now=NOW).failure is Failure.BAD_SIGNATURE


@pytest.mark.parametrize("skew", [301, -301, 86_400])
def test_stripe_stale_or_future_timestamp_is_rejected(skew: int) -> None:
    headers = {"Stripe-Signature": stripe_header(BODY, SECRET, t=T - skew)}
    result = verify_stripe(BODY, headers, SECRET, now=NOW)
    assert result.failure is Failure.STALE_TIMESTAMP
    assert "300 s" in result.detail


def test_stripe_tolerance_is_configurable_and_inclusive() -> None:
    headers = {"Stripe-Signature": stripe_header(BODY, SECRET, t=T - 300)}
    assert verify_stripe(BODY, headers, SECRET, now=NOW)
    strict = timedelta(seconds=60)
    assert verify_stripe(BODY, headers, SECRET, now=NOW, tolerance=strict).failure is (
        Failure.STALE_TIMESTAMP
    )


def test_stripe_bad_signature_is_reported_before_a_stale_timestamp() -> None:
    headers = {"Stripe-Signature": stripe_header(BODY, "whsec_other", t=T - 10_000)}
    assert verify_stripe(BODY, headers, SECRET, now=NOW).failure is Failure.BAD_SIGNATURE


@pytest.mark.parametrize(
    ("headers", "failure"),
    [
        ({}, Failure.MISSING_HEADER),
        ({"Content-Type": "application/json"}, Failure.MISSING_HEADER),
        ({"Stripe-Signature": ""}, Failure.MALFORMED_HEADER),
        ({"Stripe-Signature": "v1=abcd"}, Failure.MALFORMED_HEADER),
        ({"Stripe-Signature": f"t={T}"}, Failure.MALFORMED_HEADER),
        ({"Stripe-Signature": "t=soon,v1=00"}, Failure.MALFORMED_HEADER),
        ({"Stripe-Signature": f"t={T},v1=not-hex"}, Failure.MALFORMED_HEADER),
        ({"Stripe-Signature": f"t={T},v0=" + "0" * 64}, Failure.MALFORMED_HEADER),
    ],
)
def test_stripe_missing_or_malformed_header(headers: dict[str, str], failure: Failure) -> None:
    assert verify_stripe(BODY, headers, SECRET, now=NOW).failure is failure


def test_stripe_documented_example_shape() -> None:
    # The shape of Stripe's documentation: t=, then v1=, then a v0= test signature.
    value = (
        stripe_header(BODY, SECRET)
        + ",v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39"
    )
    assert verify_stripe(BODY, {"Stripe-Signature": value}, SECRET, now=NOW)


# -- Shopify --------------------------------------------------------------------------------------


def shopify_header(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def test_shopify_valid_accepted_tampered_and_wrong_secret_rejected() -> None:
    headers = {"X-Shopify-Hmac-Sha256": shopify_header(BODY, "shpss_app")}
    assert verify_shopify(BODY, headers, "shpss_app") == VERIFIED
    assert verify_shopify(BODY + b" ", headers, "shpss_app").failure is Failure.BAD_SIGNATURE
    assert verify_shopify(BODY, headers, "shpss_other").failure is Failure.BAD_SIGNATURE
    lower = {"x-shopify-hmac-sha256": headers["X-Shopify-Hmac-Sha256"]}
    assert verify_shopify(BODY, lower, "shpss_app")


def test_shopify_known_vector() -> None:
    # Computed independently: printf '%s' '{"id":1}' |
    #   openssl dgst -sha256 -hmac 'hush' -binary | base64
    value = "VnKUjZsLuN5iZWjn5EntcBVCF9kMN43LglzCE1/GSeY="
    assert verify_shopify(b'{"id":1}', {"X-Shopify-Hmac-Sha256": value}, "hush")


@pytest.mark.parametrize(
    ("headers", "failure"),
    [
        ({}, Failure.MISSING_HEADER),
        ({"X-Shopify-Hmac-Sha256": "not base64!"}, Failure.MALFORMED_HEADER),
        ({"X-Shopify-Hmac-Sha256": base64.b64encode(b"short").decode()}, Failure.MALFORMED_HEADER),
    ],
)
def test_shopify_missing_or_malformed_header(headers: dict[str, str], failure: Failure) -> None:
    assert verify_shopify(BODY, headers, "shpss_app").failure is failure


# -- Adyen ----------------------------------------------------------------------------------------


def adyen_vectors() -> list[dict[str, Any]]:
    vectors: list[dict[str, Any]] = json.loads((ADYEN / "hmac-vectors.json").read_text())["vectors"]
    return vectors


@pytest.mark.parametrize("vector", adyen_vectors(), ids=lambda v: v["name"][:40])
def test_adyen_vectors_from_adyens_own_library(vector: dict[str, Any]) -> None:
    item = dict(vector["item"])
    assert sign_adyen_item(item, vector["hmac_key"]) == vector["signature"]
    item["additionalData"] = {"hmacSignature": vector["signature"]}
    assert verify_adyen_item(item, vector["hmac_key"]) == VERIFIED


def _b64_hmac(key: bytes, text: str) -> str:
    return base64.b64encode(hmac.new(key, text.encode(), hashlib.sha256).digest()).decode()


def test_adyen_signs_colons_and_backslashes_unescaped() -> None:
    """Adyen-signed notifications with ':' and '\\' in merchantReference verify only when the
    values are joined as they are; an escaping implementation would reject them."""
    by_name = {v["name"].split(" ")[0]: v for v in adyen_vectors()}
    for name in ("backslash_notification.json", "colon_notification.json"):
        vector = by_name[name]
        item = vector["item"]
        plain = adyen_signing_string(item)
        assert item["merchantReference"] in plain
        escaped = plain.replace(
            item["merchantReference"],
            item["merchantReference"].replace("\\", "\\\\").replace(":", "\\:"),
        )
        key = bytes.fromhex(vector["hmac_key"])
        assert _b64_hmac(key, plain) == vector["signature"]
        assert _b64_hmac(key, escaped) != vector["signature"]


def test_adyen_hand_checked_vector() -> None:
    # printf '%s' 'PSP0001::RecoupTestMerchant:order:with\colon:2599:EUR:AUTHORISATION:true' |
    #   openssl dgst -sha256 -mac HMAC -macopt hexkey:9F3C...7A8B -binary | base64
    item: dict[str, Any] = {
        "pspReference": "PSP0001",
        "merchantAccountCode": "RecoupTestMerchant",
        "merchantReference": "order:with\\colon",
        "amount": {"value": 2599, "currency": "EUR"},
        "eventCode": "AUTHORISATION",
        "success": "true",
    }
    expected = "5gAEtk9LMWSOkjCqpG5TLK+fZ9tTbdBzC6RNduUvZ/A="
    assert adyen_signing_string(item) == (
        "PSP0001::RecoupTestMerchant:order:with\\colon:2599:EUR:AUTHORISATION:true"
    )
    assert sign_adyen_item(item, ADYEN_TEST_KEY) == expected
    assert sign_adyen_item(item, ADYEN_TEST_KEY.lower()) == expected
    item["success"] = True  # a boolean is signed as Adyen writes it
    assert sign_adyen_item(item, ADYEN_TEST_KEY) == expected


@pytest.mark.parametrize("name", ["authorisation.json", "disputes.json", "modifications.json"])
def test_adyen_sample_batches_verify(name: str) -> None:
    body = (ADYEN / name).read_bytes()
    assert verify_adyen(body, ADYEN_TEST_KEY) == VERIFIED


def test_adyen_one_tampered_item_fails_the_batch_and_says_which() -> None:
    document = json.loads((ADYEN / "modifications.json").read_bytes())
    document["notificationItems"][1]["NotificationRequestItem"]["amount"]["value"] = 1
    result = verify_adyen(json.dumps(document).encode(), ADYEN_TEST_KEY)
    assert result.failure is Failure.BAD_SIGNATURE
    assert result.detail.startswith("notificationItems[1]")


def test_adyen_wrong_key_missing_signature_and_malformed_body() -> None:
    body = (ADYEN / "authorisation.json").read_bytes()
    assert verify_adyen(body, "00" * 32).failure is Failure.BAD_SIGNATURE
    document = json.loads(body)
    del document["notificationItems"][0]["NotificationRequestItem"]["additionalData"][
        "hmacSignature"
    ]
    assert verify_adyen(json.dumps(document).encode(), ADYEN_TEST_KEY).failure is (
        Failure.MISSING_SIGNATURE
    )
    assert verify_adyen(b"not json", ADYEN_TEST_KEY).failure is Failure.MALFORMED_BODY
    assert verify_adyen(b'{"live":"false"}', ADYEN_TEST_KEY).failure is Failure.MALFORMED_BODY


def test_adyen_key_must_be_hex() -> None:
    with pytest.raises(ConfigurationError):
        sign_adyen_item({}, "not-hex")
    with pytest.raises(ConfigurationError):
        verify_adyen_item({}, "")


# -- generic and PayPal relay ---------------------------------------------------------------------


def test_generic_signer_and_verifier_round_trip() -> None:
    value = sign_generic(BODY, "s3cret", timestamp=NOW)
    assert value.startswith(f"t={T},v1=")
    headers = {"X-Recoup-Signature": value}
    assert verify_generic(BODY, headers, "s3cret", now=NOW) == VERIFIED
    assert verify_generic(BODY + b"x", headers, "s3cret", now=NOW).failure is (
        Failure.BAD_SIGNATURE
    )
    assert verify_generic(BODY, headers, "other", now=NOW).failure is Failure.BAD_SIGNATURE
    later = NOW + timedelta(minutes=6)
    assert verify_generic(BODY, headers, "s3cret", now=later).failure is Failure.STALE_TIMESTAMP
    assert verify_generic(BODY, {}, "s3cret", now=NOW).failure is Failure.MISSING_HEADER


def test_generic_known_vector() -> None:
    # printf '%s' '1772366400.{}' | openssl dgst -sha256 -hmac 's3cret'
    expected = "8c4c72f19ce4284eb286f29128e842337529452bbf9e8e70b482f4d03c55cba2"
    assert sign_generic(b"{}", "s3cret", timestamp=1772366400) == f"t=1772366400,v1={expected}"
    headers = {"X-Recoup-Signature": f"t=1772366400,v1={expected}"}
    assert verify_generic(b"{}", headers, "s3cret", now=NOW)


def test_paypal_relay_timestamped_and_plain_modes() -> None:
    timestamped = {"X-Recoup-Relay-Signature": sign_generic(BODY, "relay", timestamp=T)}
    assert verify_paypal_relay(BODY, timestamped, "relay", now=NOW)
    stale = NOW + timedelta(hours=1)
    assert verify_paypal_relay(BODY, timestamped, "relay", now=stale).failure is (
        Failure.STALE_TIMESTAMP
    )
    digest = hmac.new(b"relay", BODY, hashlib.sha256).hexdigest()
    for value in (digest, f"sha256={digest}", f"SHA256={digest.upper()}"):
        assert verify_paypal_relay(BODY, {"X-Recoup-Relay-Signature": value}, "relay", now=NOW)
    plain = {"X-Recoup-Relay-Signature": digest}
    assert verify_paypal_relay(BODY + b"!", plain, "relay", now=NOW).failure is (
        Failure.BAD_SIGNATURE
    )
    assert verify_paypal_relay(BODY, plain, "other", now=NOW).failure is Failure.BAD_SIGNATURE
    assert verify_paypal_relay(BODY, {}, "relay", now=NOW).failure is Failure.MISSING_HEADER
    custom = {"X-My-Gateway": digest}
    assert verify_paypal_relay(BODY, custom, "relay", now=NOW, header="x-my-gateway")
    bad = {"X-Recoup-Relay-Signature": "zz"}
    assert verify_paypal_relay(BODY, bad, "relay", now=NOW).failure is Failure.MALFORMED_HEADER


@pytest.mark.parametrize(
    ("address", "ok"),
    [
        ("173.0.82.1", True),
        ("::ffff:173.0.82.1", True),
        ("2001:db8::7", True),
        ("[2001:db8::7]", True),
        ("173.0.96.1", False),
        ("10.0.0.1", False),
        ("not an address", False),
        ("", False),
        (None, False),
    ],
)
def test_paypal_allow_list(address: str | None, ok: bool) -> None:
    result = verify_source_address(address, ["173.0.80.0/20", "2001:db8::/32"])
    assert result.ok is ok
    if not ok:
        assert result.failure is Failure.SOURCE_NOT_ALLOWED


def test_allow_list_configuration_errors() -> None:
    with pytest.raises(ConfigurationError):
        verify_source_address("1.2.3.4", [])
    with pytest.raises(ConfigurationError):
        verify_source_address("1.2.3.4", ["nonsense/99"])


# -- hostile input --------------------------------------------------------------------------------

header_values = st.one_of(
    st.text(max_size=200),
    st.builds(
        lambda t, sig: f"t={t},v1={sig}",
        st.integers(min_value=-(10**15), max_value=10**15),
        st.text(alphabet="0123456789abcdefg", max_size=70),
    ),
)


@given(body=st.binary(max_size=300), value=header_values)
def test_no_check_raises_on_arbitrary_headers_and_bodies(body: bytes, value: str) -> None:
    for name in ("Stripe-Signature", "X-Recoup-Signature", "X-Shopify-Hmac-Sha256"):
        headers = {name: value}
        verify_stripe(body, headers, SECRET, now=NOW)
        verify_generic(body, headers, SECRET, now=NOW)
        verify_shopify(body, headers, SECRET)
        verify_paypal_relay(body, {"X-Recoup-Relay-Signature": value}, SECRET, now=NOW)
    verify_adyen(body, ADYEN_TEST_KEY)
    verify_source_address(value, ["10.0.0.0/8"])


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "pspReference",
                "merchantReference",
                "success",
                "amount",
                "additionalData",
                "eventCode",
            ]
        ),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.text(max_size=20),
            st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
        ),
    )
)
def test_adyen_item_check_never_raises(item: dict[str, Any]) -> None:
    result = verify_adyen_item(item, ADYEN_TEST_KEY)
    assert isinstance(result, Verification)
