"""The outbound webhook sender: one POST per attempt through httpx.

Redirects are not followed (a receiver that moved is a configuration to fix, and following
one would send the signed body somewhere nobody subscribed). The answer's body is not read
beyond what httpx buffers: only the status code counts. Remote failures never raise; a
timeout, a refused connection or a protocol error comes back as ``status_code=None`` with the
error's class and text, which the delivery retries.
"""

from __future__ import annotations

import time
from datetime import timedelta

import httpx

from recoup import __version__
from recoup.adapters.http_client import OwnedHttpClient
from recoup.domain.notify import Backoff, OutboundRequest, SendResult
from recoup.services.notify import Delivering


class HttpWebhookSender(OwnedHttpClient):
    def __init__(
        self,
        *,
        timeout_seconds: float = 10.0,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._timeout = httpx.Timeout(timeout_seconds)
        self._use_client(client, transport)

    def send(self, request: OutboundRequest) -> SendResult:
        headers = {"User-Agent": f"recoup/{__version__}", **request.headers}
        started = time.perf_counter()
        try:
            response = self._http.post(request.url, content=request.body, headers=headers,
                                       timeout=self._timeout, follow_redirects=False)  # fmt: skip
        except httpx.HTTPError as exc:
            return SendResult(None, f"{type(exc).__name__}: {exc}"[:500], _ms(started))
        error = None if response.is_success else f"HTTP {response.status_code}"
        return SendResult(response.status_code, error, _ms(started))


def _ms(started: float) -> int:
    return max(0, round((time.perf_counter() - started) * 1000))


def http_delivering(
    *,
    max_attempts: int,
    timeout_seconds: float,
    backoff_base_seconds: float,
    backoff_cap_seconds: float,
    chunk: int = 100,
) -> Delivering:
    """What the worker and ``recoup notify run`` deliver with, from the notify settings."""
    return Delivering(
        sender=HttpWebhookSender(timeout_seconds=timeout_seconds),
        max_attempts=max_attempts,
        backoff=Backoff(base=timedelta(seconds=backoff_base_seconds),
                        cap=timedelta(seconds=backoff_cap_seconds)),
        chunk=chunk,
    )  # fmt: skip
