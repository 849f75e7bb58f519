"""Is this webhook delivery really from the provider? Pure functions, no I/O, no clock.

Every check returns a :class:`Verification`: truthy when the delivery is authentic, otherwise
falsy with a :class:`Failure` saying why (``missing header``, ``malformed header``, ``bad
signature``, ``stale timestamp``, ...) and a short detail for the logs. Call
:meth:`Verification.raise_for_failure` to turn a failure into a :class:`SignatureError` (a
:class:`~recoup.domain.errors.PermissionDeniedError`). A secret that is empty is a configuration
mistake, not a bad delivery, and raises :class:`~recoup.domain.errors.ConfigurationError`: an
empty HMAC key would let anybody sign.

Every comparison of a signature is constant-time (:func:`hmac.compare_digest`). Signatures are
computed over the **raw body bytes** exactly as received: a body that was parsed and serialised
again (as in saved samples) no longer verifies. Headers are looked up case-insensitively. Where
a scheme carries a timestamp, ``now`` is injected by the caller and the signature is checked
before the timestamp, so an unauthenticated caller learns nothing about our clock.

Schemes
=======

Stripe (``Stripe-Signature``)
    ``t=<unix seconds>,v1=<hex>[,v1=<hex>...][,v0=...]``; ``v1`` is the hex HMAC-SHA256 of
    ``f"{t}.".encode() + body`` keyed with the endpoint secret (``whsec_...``, used as it is).
    Any ``v1`` may match (Stripe sends one per active secret while a secret is being rolled);
    ``v0`` and unknown schemes are ignored. The timestamp must be within ``tolerance`` (300 s by
    default) of ``now``, in either direction.

Shopify (``X-Shopify-Hmac-Sha256``)
    base64 of the HMAC-SHA256 of the raw body keyed with the app's client secret. No timestamp:
    replays are caught downstream by the event id (``X-Shopify-Webhook-Id``).

Adyen (``additionalData.hmacSignature`` of each ``NotificationRequestItem``)
    base64 of the HMAC-SHA256, keyed with the **hex-decoded** HMAC key from the Customer Area,
    of ``pspReference:originalReference:merchantAccountCode:merchantReference:value:currency:
    eventCode:success`` (missing values are empty strings; ``value`` is the integer amount in
    minor units; ``success`` is ``true`` or ``false``). The values are joined **as they are**:
    Adyen does not escape ``:`` or ``\\`` in notification signatures. (Escaping belongs to the
    older key-value signing of Hosted Payment Pages.) Real notifications signed by Adyen with a
    ``:`` or ``\\`` in ``merchantReference`` verify only without escaping; the tests hold three
    of them. A batch is authentic only if every item is.

PayPal
    PayPal's own check either calls PayPal's ``verify-webhook-signature`` API or fetches
    PayPal's signing certificate from ``paypal-cert-url``: both need PayPal's servers at
    verification time, which a pure check cannot do. Two offline modes instead:

    - **shared secret**: put a relay (API gateway, proxy, queue consumer) in front of Recoup that
      receives from PayPal, verifies with PayPal, and signs what it forwards. The header (name of
      your choice) is either the timestamped generic form ``t=<unix>,v1=<hex>`` (preferred:
      replay-protected) or a plain ``sha256=<hex>`` / ``<hex>`` HMAC-SHA256 of the body (for
      relays that cannot add a timestamp; no replay protection beyond event-id dedupe).
    - **allow-list**: accept only deliveries whose peer address is in networks you configure
      (PayPal's published webhook ranges, or your relay's address).

    Trade-off: the shared secret proves who signed *this body* and, timestamped, when; it costs
    a relay you run and a secret to rotate. The allow-list needs no relay and no secret, but it
    proves only where the TCP connection came from, not what the body says: anything on an
    allowed network (another tenant of a shared egress, a compromised host) passes, ranges
    change without notice, and behind a proxy the caller must pass the real client address (the
    right ``X-Forwarded-For`` hop, from trusted proxies only), never a header value the client
    controls. Use both where you can; use the allow-list alone only for low-risk sources.

Generic (``X-Recoup-Signature``)
    Recoup's own scheme for any sender: ``t=<unix seconds>,v1=<hex HMAC-SHA256 of
    f"{t}.{body}">``, checked like Stripe's. :func:`sign_generic` makes the header, for tests
    and for outbound deliveries.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import msgspec

from recoup.domain.errors import ConfigurationError, PermissionDeniedError

DEFAULT_TOLERANCE = timedelta(seconds=300)

STRIPE_HEADER = "Stripe-Signature"
SHOPIFY_HEADER = "X-Shopify-Hmac-Sha256"
GENERIC_HEADER = "X-Recoup-Signature"
PAYPAL_RELAY_HEADER = "X-Recoup-Relay-Signature"

ADYEN_SIGNED_FIELDS = (
    "pspReference",
    "originalReference",
    "merchantAccountCode",
    "merchantReference",
    "value",
    "currency",
    "eventCode",
    "success",
)

_MAX_HEADER = 8192  # a longer signature header is not one we will parse


class Failure(StrEnum):
    """Why a delivery was not accepted as authentic."""

    MISSING_HEADER = "missing header"
    MALFORMED_HEADER = "malformed header"
    MISSING_SIGNATURE = "missing signature"
    MALFORMED_BODY = "malformed body"
    BAD_SIGNATURE = "bad signature"
    STALE_TIMESTAMP = "stale timestamp"
    SOURCE_NOT_ALLOWED = "source not allowed"


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of one check: ``ok`` (and truthy) or a :class:`Failure` with a detail."""

    failure: Failure | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def reason(self) -> str:
        """``"ok"`` or the failure's words (``"bad signature"``)."""
        return "ok" if self.failure is None else self.failure.value

    def __bool__(self) -> bool:
        return self.ok

    def raise_for_failure(self) -> None:
        """Raise :class:`SignatureError` unless the delivery is authentic."""
        if self.failure is not None:
            raise SignatureError(self)


VERIFIED = Verification()


def _fail(failure: Failure, detail: str = "") -> Verification:
    return Verification(failure, detail or failure.value)


class SignatureError(PermissionDeniedError):
    """The webhook delivery is not authentic."""

    code = "invalid_signature"

    def __init__(self, verification: Verification) -> None:
        self.verification = verification
        self.failure = verification.failure
        super().__init__(f"webhook signature check failed: {verification.detail}")


# -- helpers -------------------------------------------------------------------------------------


def _key(secret: str | bytes, what: str) -> bytes:
    key = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    if not key:
        raise ConfigurationError(f"the {what} is empty; configure the webhook secret")
    return key


def _keys(secrets: str | bytes | Sequence[str | bytes], what: str) -> list[bytes]:
    if isinstance(secrets, str | bytes):
        return [_key(secrets, what)]
    keys = [_key(secret, what) for secret in secrets]
    if not keys:
        raise ConfigurationError(f"no {what} configured")
    return keys


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header ``name``, whatever its case in ``headers``; None when absent."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        for key, candidate in headers.items():
            if isinstance(key, str) and key.lower() == lowered:
                value = candidate
                break
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return str(value)


def _unix(now: datetime) -> int:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return int(now.timestamp())


@dataclass(frozen=True, slots=True)
class _Timestamped:
    timestamp: int
    signatures: list[bytes]


def _parse_timestamped(value: str, scheme: str = "v1") -> _Timestamped | Verification:
    """``t=<unix>,v1=<hex>,...`` -> the timestamp and every ``v1`` digest."""
    if len(value) > _MAX_HEADER:
        return _fail(Failure.MALFORMED_HEADER, "signature header is too long")
    timestamp: int | None = None
    signatures: list[bytes] = []
    for part in value.split(","):
        name, sep, item = part.strip().partition("=")
        if not sep:
            continue
        if name == "t":
            item = item.strip()
            if not item.isascii() or not item.isdigit() or len(item) > 12:
                return _fail(Failure.MALFORMED_HEADER, "timestamp t= is not a unix time")
            timestamp = int(item)
        elif name == scheme:
            try:
                digest = bytes.fromhex(item.strip())
            except ValueError:
                continue  # an unreadable signature cannot match; others may
            if len(digest) == hashlib.sha256().digest_size:
                signatures.append(digest)
    if timestamp is None:
        return _fail(Failure.MALFORMED_HEADER, "no timestamp t= in the signature header")
    if not signatures:
        return _fail(Failure.MALFORMED_HEADER, f"no {scheme}= signature in the signature header")
    return _Timestamped(timestamp, signatures)


def _verify_timestamped(
    body: bytes,
    value: str | None,
    keys: list[bytes],
    *,
    now: datetime,
    tolerance: timedelta,
    header: str,
) -> Verification:
    if value is None:
        return _fail(Failure.MISSING_HEADER, f"no {header} header")
    parsed = _parse_timestamped(value)
    if isinstance(parsed, Verification):
        return parsed
    message = str(parsed.timestamp).encode("ascii") + b"." + bytes(body)
    matched = False
    for key in keys:
        expected = _hmac(key, message)
        for given in parsed.signatures:
            # Compare with every candidate: no early exit on a match.
            matched |= hmac.compare_digest(expected, given)
    if not matched:
        return _fail(Failure.BAD_SIGNATURE, "no signature matches the body and secret")
    age = abs(_unix(now) - parsed.timestamp)
    if age > tolerance.total_seconds():
        return _fail(
            Failure.STALE_TIMESTAMP,
            f"signed {age} s from now, more than the {int(tolerance.total_seconds())} s allowed",
        )
    return VERIFIED


def _base64_digest(value: str) -> bytes | None:
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return digest if len(digest) == hashlib.sha256().digest_size else None


# -- Stripe --------------------------------------------------------------------------------------


def verify_stripe(
    body: bytes,
    headers: Mapping[str, str],
    secret: str | Sequence[str],
    *,
    now: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> Verification:
    """Check a ``Stripe-Signature`` header. ``secret`` may list several endpoint secrets (while
    one is being rolled); any of them may have signed."""
    keys = _keys(secret, "Stripe endpoint secret")
    value = header_value(headers, STRIPE_HEADER)
    return _verify_timestamped(
        body, value, keys, now=now, tolerance=tolerance, header=STRIPE_HEADER
    )


# -- Shopify -------------------------------------------------------------------------------------


def verify_shopify(
    body: bytes, headers: Mapping[str, str], secret: str | Sequence[str]
) -> Verification:
    """Check ``X-Shopify-Hmac-Sha256``: base64 HMAC-SHA256 of the raw body."""
    keys = _keys(secret, "Shopify app secret")
    value = header_value(headers, SHOPIFY_HEADER)
    if value is None:
        return _fail(Failure.MISSING_HEADER, f"no {SHOPIFY_HEADER} header")
    given = _base64_digest(value) if len(value) <= _MAX_HEADER else None
    if given is None:
        return _fail(Failure.MALFORMED_HEADER, f"{SHOPIFY_HEADER} is not a base64 SHA-256 HMAC")
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(_hmac(key, bytes(body)), given)
    if not matched:
        return _fail(Failure.BAD_SIGNATURE, "the HMAC does not match the body and secret")
    return VERIFIED


# -- Adyen ---------------------------------------------------------------------------------------


def _adyen_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def adyen_signing_string(item: Mapping[str, Any]) -> str:
    """The text Adyen signs for one ``NotificationRequestItem`` (see the module docstring)."""
    amount = item.get("amount")
    amount = amount if isinstance(amount, Mapping) else {}
    values = {
        **{name: item.get(name) for name in ADYEN_SIGNED_FIELDS},
        "value": amount.get("value"),
        "currency": amount.get("currency"),
    }
    return ":".join(_adyen_text(values[name]) for name in ADYEN_SIGNED_FIELDS)


def _adyen_key(hmac_key: str) -> bytes:
    if not hmac_key or not hmac_key.strip():
        raise ConfigurationError("the Adyen HMAC key is empty; configure the webhook secret")
    try:
        return binascii.unhexlify(hmac_key.strip())
    except (binascii.Error, ValueError):
        raise ConfigurationError("the Adyen HMAC key must be hexadecimal") from None


def sign_adyen_item(item: Mapping[str, Any], hmac_key: str) -> str:
    """The ``hmacSignature`` Adyen would put on ``item`` (for tests and replays)."""
    digest = _hmac(_adyen_key(hmac_key), adyen_signing_string(item).encode("utf-8"))
    return base64.b64encode(digest).decode("ascii")


def verify_adyen_item(item: Mapping[str, Any], hmac_key: str | Sequence[str]) -> Verification:
    """Check one ``NotificationRequestItem``'s ``additionalData.hmacSignature``."""
    keys = [hmac_key] if isinstance(hmac_key, str) else list(hmac_key)
    if not keys:
        raise ConfigurationError("no Adyen HMAC key configured")
    decoded = [_adyen_key(key) for key in keys]
    additional = item.get("additionalData")
    given_text = additional.get("hmacSignature") if isinstance(additional, Mapping) else None
    if not isinstance(given_text, str) or not given_text.strip():
        return _fail(Failure.MISSING_SIGNATURE, "no additionalData.hmacSignature")
    given = _base64_digest(given_text)
    if given is None:
        return _fail(Failure.MALFORMED_HEADER, "hmacSignature is not a base64 SHA-256 HMAC")
    message = adyen_signing_string(item).encode("utf-8")
    matched = False
    for key in decoded:
        matched |= hmac.compare_digest(_hmac(key, message), given)
    if not matched:
        return _fail(Failure.BAD_SIGNATURE, "hmacSignature does not match the item and key")
    return VERIFIED


def verify_adyen(body: bytes, hmac_key: str | Sequence[str]) -> Verification:
    """Check every item of an Adyen notification body; the first failure is the answer."""
    try:
        document = msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return _fail(Failure.MALFORMED_BODY, "the body is not JSON")
    items = document.get("notificationItems") if isinstance(document, dict) else None
    if not isinstance(items, list) or not items:
        return _fail(Failure.MALFORMED_BODY, "no notificationItems in the body")
    for index, wrapper in enumerate(items):
        item = wrapper.get("NotificationRequestItem") if isinstance(wrapper, dict) else None
        if not isinstance(item, dict):
            return _fail(Failure.MALFORMED_BODY, f"notificationItems[{index}] is not an item")
        result = verify_adyen_item(item, hmac_key)
        if not result:
            return Verification(result.failure, f"notificationItems[{index}]: {result.detail}")
    return VERIFIED


# -- generic -------------------------------------------------------------------------------------


def sign_generic(body: bytes, secret: str, *, timestamp: int | datetime) -> str:
    """The ``X-Recoup-Signature`` value for ``body``: ``t=<unix>,v1=<hex>``."""
    key = _key(secret, "webhook secret")
    t = _unix(timestamp) if isinstance(timestamp, datetime) else int(timestamp)
    digest = _hmac(key, str(t).encode("ascii") + b"." + bytes(body))
    return f"t={t},v1={digest.hex()}"


def verify_generic(
    body: bytes,
    headers: Mapping[str, str],
    secret: str | Sequence[str],
    *,
    now: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
    header: str = GENERIC_HEADER,
) -> Verification:
    """Check Recoup's own ``X-Recoup-Signature: t=<unix>,v1=<hex>`` header."""
    keys = _keys(secret, "webhook secret")
    value = header_value(headers, header)
    return _verify_timestamped(body, value, keys, now=now, tolerance=tolerance, header=header)


# -- PayPal --------------------------------------------------------------------------------------


def verify_paypal_relay(
    body: bytes,
    headers: Mapping[str, str],
    secret: str | Sequence[str],
    *,
    now: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
    header: str = PAYPAL_RELAY_HEADER,
) -> Verification:
    """Shared-secret mode: the relay's HMAC-SHA256 header (see the module docstring).

    ``t=<unix>,v1=<hex>`` is checked like the generic scheme, with ``tolerance``; a bare
    ``sha256=<hex>`` or ``<hex>`` is the HMAC of the body alone, with no timestamp."""
    keys = _keys(secret, "PayPal relay secret")
    value = header_value(headers, header)
    if value is None:
        return _fail(Failure.MISSING_HEADER, f"no {header} header")
    if "=" in value and not value.strip().lower().startswith("sha256="):
        return _verify_timestamped(body, value, keys, now=now, tolerance=tolerance, header=header)
    text = value.strip()
    if text.lower().startswith("sha256="):
        text = text[len("sha256=") :]
    try:
        given = bytes.fromhex(text) if len(text) <= _MAX_HEADER else b""
    except ValueError:
        given = b""
    if len(given) != hashlib.sha256().digest_size:
        return _fail(Failure.MALFORMED_HEADER, f"{header} is not a hex SHA-256 HMAC")
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(_hmac(key, bytes(body)), given)
    if not matched:
        return _fail(Failure.BAD_SIGNATURE, "the HMAC does not match the body and secret")
    return VERIFIED


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(networks: Iterable[str | Network]) -> tuple[Network, ...]:
    """Allowed source networks from configuration (``"173.0.80.0/20"``, ``"2001:db8::/32"``,
    or a single address). Raises :class:`ConfigurationError` for an unreadable entry."""
    parsed: list[Network] = []
    for entry in networks:
        if isinstance(entry, ipaddress.IPv4Network | ipaddress.IPv6Network):
            parsed.append(entry)
            continue
        try:
            parsed.append(ipaddress.ip_network(str(entry).strip(), strict=False))
        except ValueError:
            raise ConfigurationError(f"{entry!r} is not an IP network or address") from None
    return tuple(parsed)


def verify_source_address(
    remote_address: str | None, allowed: Iterable[str | Network]
) -> Verification:
    """Allow-list mode: is the peer address inside one of the ``allowed`` networks?

    ``remote_address`` is the TCP peer, or the client address a trusted proxy reported; an
    IPv4-mapped IPv6 address (``::ffff:1.2.3.4``) is compared as the IPv4 address it is."""
    networks = parse_networks(allowed)
    if not networks:
        raise ConfigurationError("the allow-list of source networks is empty")
    if not remote_address:
        return _fail(Failure.SOURCE_NOT_ALLOWED, "the source address is unknown")
    try:
        address = ipaddress.ip_address(remote_address.strip().strip("[]"))
    except ValueError:
        return _fail(Failure.SOURCE_NOT_ALLOWED, "the source address is not an IP address")
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address.version == network.version and address in network for network in networks):
        return VERIFIED
    return _fail(Failure.SOURCE_NOT_ALLOWED, f"{address} is not in the allowed networks")


__all__ = [
    "ADYEN_SIGNED_FIELDS",
    "DEFAULT_TOLERANCE",
    "GENERIC_HEADER",
    "PAYPAL_RELAY_HEADER",
    "SHOPIFY_HEADER",
    "STRIPE_HEADER",
    "VERIFIED",
    "Failure",
    "SignatureError",
    "Verification",
    "adyen_signing_string",
    "header_value",
    "parse_networks",
    "sign_adyen_item",
    "sign_generic",
    "verify_adyen",
    "verify_adyen_item",
    "verify_generic",
    "verify_paypal_relay",
    "verify_shopify",
    "verify_source_address",
    "verify_stripe",
]
