"""Writeback to Shopify through the Admin REST API: a note line and tags on an order.

One operation, ``annotate_order``, with ``payload`` ``{"order_id": <int or digit string>,
"note": <one line, optional>, "tags": [<tag>, ...] (optional)}``:

1. ``GET /admin/api/<version>/orders/<id>.json?fields=id,note,tags``;
2. merge: the tags are added to the order's own (a comma-separated string; compared without
   regard to case, existing ones kept as they are, order kept); the note line is appended on
   a line of its own unless the note already holds it;
3. ``PUT /admin/api/<version>/orders/<id>.json`` with ``{"order": {"id", "note", "tags"}}``,
   only when something changed.

Shopify's REST API takes no idempotency key for this call, so the operation is made idempotent
by its content: a replay finds the tags and the note line already there and answers
``confirmed`` without a PUT. Each request sends ``X-Shopify-Access-Token``. Tags are at most 40
characters each (Shopify's limit) and may not contain a comma.

Classification: 2xx confirmed; 429 (Shopify's rate limit, ``Retry-After`` in seconds), 408,
425 and 5xx retry; 401, 403, 404, 422 and other 4xx terminal; a timeout or connection error
retry. Shopify marks the REST Admin API as legacy (new public apps must use GraphQL); custom
and existing apps may still call it, pinned to a supported ``api_version``.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgspec

from recoup import __version__
from recoup.adapters.clock import SystemClock
from recoup.adapters.http_client import OwnedHttpClient
from recoup.adapters.writeback.http_webhook import parse_retry_after
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

ANNOTATE_ORDER = "annotate_order"
OPERATIONS = frozenset({ANNOTATE_ORDER})
DEFAULT_API_VERSION = "2025-07"
DEFAULT_TIMEOUT = 15.0
TAG_CHARS = 40
ACCESS_TOKEN_HEADER = "X-Shopify-Access-Token"  # noqa: S105 (a header name)
_DETAIL_CHARS = 300
_JSON = msgspec.json.Decoder()


class _Failed(Exception):
    def __init__(self, result: WritebackResult) -> None:
        super().__init__(result.detail)
        self.result = result


class ShopifyRecordsWriteback(OwnedHttpClient):
    """A :class:`~recoup.domain.recovery.writeback.WritebackPort` for one Shopify store.

    ``shop_url`` is the store's admin address (``https://<store>.myshopify.com``; plain http
    only for a loopback host, for tests); ``access_token`` an Admin API access token with
    ``write_orders``."""

    def __init__(
        self,
        shop_url: str,
        access_token: str,
        *,
        api_version: str = DEFAULT_API_VERSION,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Clock | None = None,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        parts = urlsplit(shop_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(f"the Shopify shop URL {shop_url!r} is not an http(s) URL")
        if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "::1", "localhost"):
            raise ConfigurationError(f"the Shopify shop URL {shop_url!r} must use https")
        if not access_token.strip():
            raise ConfigurationError("the Shopify access token is empty")
        if not api_version.strip() or "/" in api_version:
            raise ConfigurationError(f"the Shopify API version {api_version!r} is not valid")
        if not (timeout > 0 and math.isfinite(timeout)):
            raise ConfigurationError(
                f"the Shopify writeback timeout must be positive, got {timeout}"
            )
        self._base = f"{shop_url.rstrip('/')}/admin/api/{api_version}"
        self._timeout = httpx.Timeout(timeout)
        self._timeout_seconds = timeout
        self._clock: Clock = clock or SystemClock()
        self._headers = {
            ACCESS_TOKEN_HEADER: access_token,
            "Accept": "application/json",
            "User-Agent": f"recoup/{__version__}",
        }
        self._use_client(client, transport)

    def __repr__(self) -> str:
        return f"ShopifyRecordsWriteback(base={self._base!r})"

    def deliver(self, request: WritebackRequest) -> WritebackResult:
        if request.operation not in OPERATIONS:
            return WritebackResult(
                TERMINAL,
                f"writeback {request.id}: Shopify writeback has "
                f"no operation {request.operation!r}; known: "
                f"{ANNOTATE_ORDER}",
            )
        try:
            order_id, note_line, tags = _annotation(request.payload)
        except ValueError as exc:
            return WritebackResult(TERMINAL, f"writeback {request.id}: {exc}")
        url = f"{self._base}/orders/{order_id}.json"
        try:
            current = self._order(self._send("GET", url, params={"fields": "id,note,tags"}), url)
            note, old_tags = current.get("note"), current.get("tags")
            note = note if isinstance(note, str) else ""
            new_note = _merge_note(note, note_line)
            new_tags, added = _merge_tags(old_tags if isinstance(old_tags, str) else "", tags)
            if new_note == note and not added:
                return WritebackResult(
                    CONFIRMED, f"order {order_id} already annotated", 200, reference=str(order_id)
                )
            body = {"order": {"id": order_id, "note": new_note, "tags": new_tags}}
            response = self._send("PUT", url, json=body)
        except _Failed as failed:
            return failed.result
        return WritebackResult(
            CONFIRMED,
            f"PUT {url}: HTTP {response.status_code}",
            response.status_code,
            reference=str(order_id),
        )

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        now = self._clock.now()
        try:
            response = self._http.request(
                method, url, headers=self._headers, timeout=self._timeout, **kwargs
            )
        except httpx.TimeoutException as exc:
            raise _Failed(
                WritebackResult(
                    RETRY,
                    f"{method} {url} timed out after "
                    f"{self._timeout_seconds:g} s ({type(exc).__name__})",
                )
            ) from None
        except httpx.RequestError as exc:
            raise _Failed(
                WritebackResult(RETRY, f"{method} {url} failed: {type(exc).__name__}: {exc}")
            ) from None
        status = classify_http(response.status_code)
        if status == CONFIRMED:
            return response
        detail = f"{method} {url}: HTTP {response.status_code}: {_errors(response)}"
        request_id = response.headers.get("X-Request-Id")
        if request_id:
            detail += f" [request {request_id}]"
        retry_after = None
        if status == RETRY:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
        raise _Failed(
            WritebackResult(status, detail, response.status_code, retry_after=retry_after)
        )

    @staticmethod
    def _order(response: httpx.Response, url: str) -> dict[str, Any]:
        try:
            data = _JSON.decode(response.content)
        except msgspec.DecodeError as exc:
            raise _Failed(
                WritebackResult(
                    RETRY, f"GET {url}: the answer is not JSON ({exc})", response.status_code
                )
            ) from None
        order = data.get("order") if isinstance(data, dict) else None
        if not isinstance(order, dict):
            raise _Failed(
                WritebackResult(
                    TERMINAL, f"GET {url}: the answer has no order object", response.status_code
                )
            )
        return order


def _annotation(payload: Any) -> tuple[int, str, list[str]]:
    raw_id = payload.get("order_id")
    if isinstance(raw_id, bool) or not (
        (isinstance(raw_id, int) and raw_id > 0) or (isinstance(raw_id, str) and raw_id.isdigit())
    ):
        raise ValueError(f"payload.order_id must be a positive order id, got {raw_id!r}")
    note = payload.get("note") or ""
    if not isinstance(note, str) or "\n" in note.strip():
        raise ValueError(f"payload.note must be one line of text, got {note!r}")
    tags = payload.get("tags") or []
    if isinstance(tags, str) or not isinstance(tags, list | tuple):
        raise ValueError(f"payload.tags must be a list of strings, got {tags!r}")
    clean: list[str] = []
    for index, tag in enumerate(tags):
        if not isinstance(tag, str) or not tag.strip() or "," in tag:
            raise ValueError(
                f"payload.tags[{index}] must be a non-empty string without a comma, got {tag!r}"
            )
        if len(tag.strip()) > TAG_CHARS:
            raise ValueError(
                f"payload.tags[{index}] has {len(tag.strip())} characters; Shopify "
                f"allows {TAG_CHARS}"
            )
        clean.append(tag.strip())
    if not note.strip() and not clean:
        raise ValueError("payload has neither a note nor tags: nothing to write")
    return int(raw_id), note.strip(), clean


def _merge_tags(existing: str, extra: list[str]) -> tuple[str, bool]:
    """The merged tag string, and whether any tag was added."""
    tags = [tag.strip() for tag in existing.split(",") if tag.strip()]
    seen = {tag.casefold() for tag in tags}
    added = False
    for tag in extra:
        if tag.casefold() not in seen:
            tags.append(tag)
            seen.add(tag.casefold())
            added = True
    return ", ".join(tags), added


def _merge_note(existing: str, line: str) -> str:
    if not line or line in existing.splitlines():
        return existing
    return f"{existing.rstrip()}\n{line}" if existing.strip() else line


def _errors(response: httpx.Response) -> str:
    """Shopify's ``errors`` (a string, or an object of field to messages), else the body."""
    try:
        data = _JSON.decode(response.content)
    except msgspec.DecodeError:
        data = None
    errors = data.get("errors") if isinstance(data, dict) else None
    if isinstance(errors, dict):
        text = "; ".join(
            f"{field}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
            for field, v in errors.items()
        )
    elif errors is not None:
        text = str(errors)
    else:
        text = " ".join(response.text.split()) or response.reason_phrase
    return text if len(text) <= _DETAIL_CHARS else text[: _DETAIL_CHARS - 3] + "..."


__all__ = [
    "ACCESS_TOKEN_HEADER",
    "ANNOTATE_ORDER",
    "DEFAULT_API_VERSION",
    "DEFAULT_TIMEOUT",
    "OPERATIONS",
    "TAG_CHARS",
    "ShopifyRecordsWriteback",
]
