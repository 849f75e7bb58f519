"""Writeback to an ERP or middleware endpoint: one signed JSON POST per request.

The body is :meth:`WritebackRequest.to_json` (``id``, ``case_id``, ``target``, ``operation``,
``idempotency_key``, ``payload``; sorted keys, compact, decimals as strings). Headers:

- ``Content-Type: application/json``
- ``Idempotency-Key: <request.idempotency_key>``: the same on every attempt of one change; the
  receiver applies a key once and answers a repeat with its first answer.
- ``Recoup-Signature: t=<unix seconds>,v1=<hex>``, where ``<hex>`` is the lowercase hex
  HMAC-SHA256, keyed with the shared secret, of the ASCII timestamp, a ``.``, and the raw body
  bytes exactly as sent. To verify, a receiver splits the header on ``,`` and ``=``,
  recomputes the HMAC over ``t + "." + body`` before parsing the body, compares in constant
  time, and refuses a timestamp more than five minutes from its own clock (a replayed old
  request). :func:`verify_signature` is that check in Python.

The answer is classified by :func:`recoup.domain.recovery.writeback.classify_http`; a timeout
or a connection error is ``retry`` (the idempotency key makes the next attempt safe even if the
first one did land). ``Retry-After`` on a 429 or 503, in seconds or as an HTTP date, comes back
as ``WritebackResult.retry_after``. A 2xx whose JSON body has a string ``reference`` has it
stored as the result's reference.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgspec

from recoup import __version__
from recoup.adapters.clock import SystemClock
from recoup.adapters.http_client import OwnedHttpClient
from recoup.domain.errors import ConfigurationError
from recoup.domain.ports import Clock
from recoup.domain.recovery.writeback import (
    CONFIRMED,
    RETRY,
    TERMINAL,
    WritebackRequest,
    WritebackResult,
    classify_http,
)

SIGNATURE_HEADER = "Recoup-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SIGNATURE_TOLERANCE = timedelta(minutes=5)
DEFAULT_TIMEOUT = 10.0
MIN_SECRET_BYTES = 16
_DETAIL_CHARS = 300
_ANY_JSON = msgspec.json.Decoder()


def sign(body: bytes, secret: str | bytes, timestamp: int) -> str:
    """The ``Recoup-Signature`` value of ``body`` sent at ``timestamp`` (unix seconds)."""
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify_signature(
    header: str,
    body: bytes,
    secret: str | bytes,
    now: datetime,
    tolerance: timedelta = SIGNATURE_TOLERANCE,
) -> bool:
    """True when ``header`` is a valid ``Recoup-Signature`` of ``body`` made within
    ``tolerance`` of ``now``. Several ``v1`` entries are allowed (one per secret while a
    secret is being rotated); any one matching is enough."""
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    if abs(now.timestamp() - timestamp) > tolerance.total_seconds():
        return False
    expected = sign(body, secret, timestamp).rpartition("v1=")[2]
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)


class HttpWebhookWriteback(OwnedHttpClient):
    """A :class:`~recoup.domain.recovery.writeback.WritebackPort` that POSTs to ``url``.

    ``url`` must be https; plain http is accepted for a loopback host or with
    ``allow_insecure_http`` (a lab ERP). ``timeout`` (seconds) bounds connecting, each read and
    each write. Give ``transport`` or a whole ``client`` to talk to something other than the
    network; a given client is the giver's to close."""

    def __init__(
        self,
        url: str,
        secret: str | bytes,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Clock | None = None,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        allow_insecure_http: bool = False,
    ) -> None:
        _check_url(url, allow_insecure_http)
        key = secret.encode() if isinstance(secret, str) else secret
        if len(key) < MIN_SECRET_BYTES:
            raise ConfigurationError(
                f"the writeback webhook secret has {len(key)} bytes; use at least "
                f"{MIN_SECRET_BYTES} random bytes"
            )
        if not (timeout > 0 and math.isfinite(timeout)):
            raise ConfigurationError(
                f"the writeback webhook timeout must be positive, got {timeout}"
            )
        self._url = url
        self._shown_url = _shown(url)
        self._secret = key
        self._timeout = httpx.Timeout(timeout)
        self._timeout_seconds = timeout
        self._clock: Clock = clock or SystemClock()
        self._use_client(client, transport)

    def __repr__(self) -> str:
        return f"HttpWebhookWriteback(url={self._shown_url!r})"

    def deliver(self, request: WritebackRequest) -> WritebackResult:
        try:
            body = request.to_json()
        except (TypeError, ValueError) as exc:
            return WritebackResult(TERMINAL, f"writeback {request.id}: payload is not JSON: {exc}")
        now = self._clock.now()
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": f"recoup/{__version__}",
            IDEMPOTENCY_HEADER: request.idempotency_key,
            SIGNATURE_HEADER: sign(body, self._secret, int(now.timestamp())),
        }
        try:
            response = self._http.post(
                self._url, content=body, headers=headers, timeout=self._timeout
            )
        except httpx.TimeoutException as exc:
            return WritebackResult(
                RETRY, f"POST {self._shown_url} timed out after {self._timeout_seconds:g} s "
                f"({type(exc).__name__})",
            )  # fmt: skip
        except httpx.RequestError as exc:
            return WritebackResult(
                RETRY, f"POST {self._shown_url} failed: {type(exc).__name__}: {exc}"
            )
        status = classify_http(response.status_code)
        detail = f"HTTP {response.status_code} from {self._shown_url}"
        if status == CONFIRMED:
            return WritebackResult(status, detail, response.status_code, _reference(response))
        excerpt = _excerpt(response)
        if excerpt:
            detail += f": {excerpt}"
        retry_after = None
        if response.status_code in (429, 503):
            retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
        return WritebackResult(status, detail, response.status_code, retry_after=retry_after)


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """``Retry-After`` (RFC 9110 10.2.3) as a wait from ``now``: delay-seconds or an
    HTTP-date; a date in the past is a wait of zero; anything else is ignored (None)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds) or seconds < 0:
            return None
        return timedelta(seconds=seconds)
    try:
        at = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if at.tzinfo is None:  # an HTTP-date is always GMT
        at = at.replace(tzinfo=UTC)
    return max(at - now, timedelta(0))


def _check_url(url: str, allow_insecure_http: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"the writeback webhook URL {url!r} is not an http(s) URL")
    if parts.scheme == "http" and not allow_insecure_http and not _is_loopback(parts.hostname):
        raise ConfigurationError(
            f"the writeback webhook URL {url!r} is plain http; use https, or allow insecure "
            "http explicitly for a test system"
        )


def _shown(url: str) -> str:
    """``url`` without user info, query or fragment, which may carry a token."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _reference(response: httpx.Response) -> str | None:
    try:
        data: Any = _ANY_JSON.decode(response.content)
    except msgspec.DecodeError:
        return None
    reference = data.get("reference") if isinstance(data, dict) else None
    return reference if isinstance(reference, str) and reference else None


def _excerpt(response: httpx.Response) -> str:
    text = " ".join(response.text.split())
    return text if len(text) <= _DETAIL_CHARS else text[: _DETAIL_CHARS - 3] + "..."


__all__ = [
    "DEFAULT_TIMEOUT",
    "IDEMPOTENCY_HEADER",
    "MIN_SECRET_BYTES",
    "SIGNATURE_HEADER",
    "SIGNATURE_TOLERANCE",
    "HttpWebhookWriteback",
    "parse_retry_after",
    "sign",
    "verify_signature",
]
