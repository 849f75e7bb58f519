"""Stripe's Events API (``GET /v1/events``) as pages of raw events, with retries.

Each request sends ``Authorization: Bearer <secret key>``, ``limit``, ``created[gte]``, the
optional ``created[lte]`` and, from the second page on, ``starting_after`` = the id of the last
(oldest) event of the page before. Stripe lists newest first, so the walk goes back in time;
``starting_after`` is relative to an object, so events created during the walk do not shift
the pages.

Each event is handed on as the exact bytes Stripe sent (``msgspec.Raw``), never re-encoded, so
the evidence a mapper stores is what Stripe said.

Failures are translated here, at the boundary:

====================================  =========================================================
what happened                         what is raised
====================================  =========================================================
429, 5xx, network error, timeout      retried per :class:`RetryPolicy` (``Retry-After``
                                      honoured); :class:`RetryableExternalError` when the
                                      budget is spent
401 / 403                             :class:`TerminalExternalError`: the key is wrong / may not
                                      read events
other 4xx                             :class:`TerminalExternalError` with Stripe's message
``Stripe-Should-Retry: true/false``   overrides the status's default (Stripe's own advice)
a 200 that is not a list object       :class:`TerminalExternalError` naming the page, the
                                      request and the JSON path at fault
====================================  =========================================================

The key never appears in an error message or ``repr``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec

from recoup import __version__
from recoup.adapters.http_client import OwnedHttpClient
from recoup.domain.errors import (
    ConfigurationError,
    ExternalSystemError,
    RetryableExternalError,
    TerminalExternalError,
)
from recoup.services.sync import EventPage, RawEvent

DEFAULT_BASE_URL = "https://api.stripe.com"
EVENTS_PATH = "/v1/events"
MAX_PAGE_SIZE = 100
DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try one request: ``max_attempts`` in all, the first included. After the
    n-th failure wait ``initial_delay * multiplier ** (n - 1)`` seconds, at most ``max_delay``,
    unless Stripe sent ``Retry-After``: that wait is used instead, up to ``max_retry_after``
    (asked to wait longer, the client gives up at once rather than hang a command).

    No jitter: one sequential client per sync is not a herd, and the waits stay testable."""

    max_attempts: int = 5
    initial_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 8.0
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.initial_delay, self.max_delay, self.max_retry_after) < 0:
            raise ValueError("delays must not be negative")

    def delay(self, failures: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return retry_after
        return min(self.max_delay, self.initial_delay * self.multiplier ** (failures - 1))


class _ListPage(msgspec.Struct):
    object: str
    data: list[msgspec.Raw]
    has_more: bool


class _Head(msgspec.Struct):
    """The fields of an event the walk needs; anything else is the mapper's business."""

    id: Any = None
    created: Any = None
    type: Any = None


_LIST = msgspec.json.Decoder(_ListPage)
_UNREADABLE = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)
"""What decoding a body can raise: not JSON, not UTF-8 inside a string, nested too deeply."""
_HEAD = msgspec.json.Decoder(_Head)
_ERROR = msgspec.json.Decoder(dict[str, Any])


class StripeEventsClient(OwnedHttpClient):
    """Lists a Stripe account's events. Give ``transport`` (or a whole ``client``) to talk to
    something other than the network, and ``sleep`` to wait without waiting, in tests."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        page_size: int = MAX_PAGE_SIZE,
    ) -> None:
        api_key = api_key.strip()
        if not api_key:
            raise ConfigurationError("the Stripe API key is empty")
        if api_key.startswith("pk_"):
            raise ConfigurationError(
                "that is a publishable key; the Events API needs a secret key (sk_...) "
                "or a restricted key (rk_...) with read access to events"
            )
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1 to {MAX_PAGE_SIZE}")
        self._api_key = api_key
        self._url = base_url.rstrip("/") + EVENTS_PATH
        self._use_client(client, transport)
        self._timeout = httpx.Timeout(timeout)
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._page_size = page_size
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Accept": "application/json",
            "User-Agent": f"recoup/{__version__}",
        }

    def __repr__(self) -> str:
        return f"StripeEventsClient(url={self._url!r})"

    def pages(self, *, created_gte: int, created_lte: int | None = None) -> Iterator[EventPage]:
        """Every event with ``created_gte <= created <= created_lte``, newest first; each page
        is requested only when the one before has been consumed."""
        params = {"limit": str(self._page_size), "created[gte]": str(created_gte)}
        if created_lte is not None:
            params["created[lte]"] = str(created_lte)
        number = 1
        while True:
            where = f"Stripe Events API page {number} (GET {EVENTS_PATH}?{_query(params)})"
            page, last_id = _parse(self._get(params).content, where)
            if last_id is not None and last_id == params.get("starting_after"):
                raise TerminalExternalError(f"{where}: the page ends where it started, at "
                                            f"{last_id}; the list would never end")  # fmt: skip
            yield page
            if last_id is None:
                return
            params = {**params, "starting_after": last_id}
            number += 1

    # -- one request, retried --------------------------------------------------------------

    def _get(self, params: dict[str, str]) -> httpx.Response:
        failures = 0
        while True:
            retry_after: float | None = None
            try:
                response = self._http.get(
                    self._url, params=params, headers=self._headers, timeout=self._timeout
                )
            except httpx.RequestError as exc:  # refused, reset, timed out, bad gzip...
                problem = f"network error ({type(exc).__name__})"
            else:
                if response.is_success:
                    return response
                problem = self._describe(response)
                if not _should_retry(response):
                    raise self._refusal(response, problem)
                retry_after = _retry_after(response)
            failures += 1
            if failures >= self._retry.max_attempts:
                raise RetryableExternalError(
                    f"Stripe Events API still failing after {failures} attempts; last: {problem}"
                )
            if retry_after is not None and retry_after > self._retry.max_retry_after:
                raise RetryableExternalError(
                    f"Stripe Events API: {problem}; Stripe asked to retry after "
                    f"{retry_after:g} s, longer than the {self._retry.max_retry_after:g} s "
                    "this client waits"
                )
            self._sleep(self._retry.delay(failures, retry_after))

    def _describe(self, response: httpx.Response) -> str:
        """``HTTP 400 invalid_request_error/parameter_unknown: <Stripe's message>``."""
        error: dict[str, Any] = {}
        try:
            body = _ERROR.decode(response.content)
            if isinstance(body.get("error"), dict):
                error = body["error"]
        except _UNREADABLE:
            pass
        kind = "/".join(str(error[k]) for k in ("type", "code") if error.get(k))
        message = str(error.get("message") or response.reason_phrase or "no message")
        text = f"HTTP {response.status_code}" + (f" {kind}" if kind else "") + f": {message}"
        request_id = response.headers.get("Request-Id")
        if request_id:
            text += f" [request {request_id}]"
        return text.replace(self._api_key, "[redacted]")

    def _refusal(self, response: httpx.Response, problem: str) -> ExternalSystemError:
        status = response.status_code
        if status == 401:
            return TerminalExternalError(
                f"Stripe rejected the API key ({problem}); use a current secret key (sk_...) "
                "or restricted key (rk_...) of the account"
            )
        if status == 403:
            return TerminalExternalError(
                f"the API key may not list events ({problem}); a restricted key needs read "
                "access to Events"
            )
        if status < 500:
            return TerminalExternalError(f"Stripe refused the request ({problem})")
        return RetryableExternalError(f"Stripe failed and advised against retrying ({problem})")


def _should_retry(response: httpx.Response) -> bool:
    advice = str(response.headers.get("Stripe-Should-Retry", "")).strip().lower()
    if advice in ("true", "false"):
        return advice == "true"
    return response.status_code == 429 or response.status_code >= 500


def _retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds; the HTTP-date form (Stripe does not send it) is ignored
    and the backoff used instead."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _query(params: dict[str, str]) -> str:
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()))


def _parse(body: bytes, where: str) -> tuple[EventPage, str | None]:
    """The page, and the id to ask for the next page with (None when it is the last)."""
    try:
        listing = _LIST.decode(body)
    except _UNREADABLE as exc:
        raise TerminalExternalError(f"{where}: not a Stripe list object: {exc}") from None
    if listing.object != "list":
        raise TerminalExternalError(f"{where}: object is {listing.object!r}, not 'list'")
    events = tuple(_event(raw) for raw in listing.data)
    last_id = events[-1].id if events else None
    if listing.has_more and last_id is None:
        at = f"data[{len(events) - 1}].id is missing" if events else "data is empty"
        raise TerminalExternalError(
            f"{where}: has_more is true but {at}, so the next page cannot be asked for"
        )
    return EventPage(events, listing.has_more), last_id if listing.has_more else None


def _event(raw: msgspec.Raw) -> RawEvent:
    body = bytes(raw)
    try:
        head = _HEAD.decode(body)
    except _UNREADABLE:  # not an object: the mapper refuses it with its location
        return RawEvent(body, None, None, None)
    event_id = head.id if isinstance(head.id, str) and head.id else None
    created = head.created
    if not isinstance(created, int) or isinstance(created, bool):
        created = None
    event_type = head.type if isinstance(head.type, str) else None
    return RawEvent(body, event_id, created, event_type)


__all__ = [
    "DEFAULT_BASE_URL",
    "EVENTS_PATH",
    "MAX_PAGE_SIZE",
    "RetryPolicy",
    "StripeEventsClient",
]
