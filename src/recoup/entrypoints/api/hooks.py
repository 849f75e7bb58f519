"""``POST /hooks/{source}``: verify, map, group-commit, then answer.

The answer is 2xx only once the transaction holding the delivery's events is committed, so a
sender that sees 2xx never needs to retry and one that does not will retry safely (events are
idempotent by (source, external id)). A bad or missing signature is answered 401 and counted,
never stored; a body over the size limit 413; a body the provider's mapper cannot read at all
400, with the body kept in quarantine so an authenticated delivery is never lost.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from recoup.adapters.connectors.webhooks.providers import WebhookProvider
from recoup.domain.ingestion.canonical import Rejection
from recoup.domain.ports import Clock
from recoup.services.group_commit import Delivery, GroupCommitter


class HookCounters:
    """Requests refused before they reach the pipeline, by source and reason (exposed at
    ``GET /hooks/stats`` and in the logs)."""

    def __init__(self) -> None:
        self.rejected: Counter[tuple[str, str]] = Counter()
        self.accepted: Counter[str] = Counter()

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": dict(self.accepted),
            "rejected": [
                {"source": source, "reason": reason, "count": n}
                for (source, reason), n in sorted(self.rejected.items())
            ],
        }


def _problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra},
        status_code=status,
        media_type="application/problem+json",
    )


async def _read_body(request: Request, limit: int) -> bytes | None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class HookEndpoint:
    def __init__(
        self,
        *,
        providers: Mapping[str, WebhookProvider],
        committer: GroupCommitter,
        clock: Clock,
        max_body_bytes: int,
        counters: HookCounters,
    ) -> None:
        self.providers = providers
        self.committer = committer
        self.clock = clock
        self.max_body_bytes = max_body_bytes
        self.counters = counters

    async def handle(self, request: Request) -> Response:
        source = request.path_params["source"]
        provider = self.providers.get(source)
        if provider is None:
            self.counters.rejected[(source, "unknown source")] += 1
            return _problem(404, "Unknown webhook source",
                            f"no webhook source {source!r} is configured")  # fmt: skip
        body = await _read_body(request, self.max_body_bytes)
        if body is None:
            self.counters.rejected[(source, "too large")] += 1
            return _problem(413, "Payload too large",
                            f"bodies over {self.max_body_bytes} bytes are refused")  # fmt: skip
        headers = {k.lower(): v for k, v in request.headers.items()}
        client = request.client.host if request.client else None
        now = self.clock.now()
        refusal = provider.verify(headers, body, client, now)
        if refusal is not None:
            self.counters.rejected[(source, refusal)] += 1
            return _problem(401, "Signature check failed", refusal)
        items = provider.events(body, headers, now, source)
        events = [i for i in items if not isinstance(i, Rejection)]
        rejections = [i for i in items if isinstance(i, Rejection)]
        delivery = Delivery(source, provider.format_name, events, rejections)
        try:
            result = await asyncio.wrap_future(self.committer.submit(delivery))
        except Exception:
            self.counters.rejected[(source, "commit failed")] += 1
            return _problem(503, "Not stored", "the delivery could not be committed; retry")
        self.counters.accepted[source] += 1
        payload = {"accepted": result.accepted, "new": result.new,
                   "duplicates": result.duplicates, "quarantined": result.quarantined}  # fmt: skip
        if not events and rejections and all(r.code in _UNREADABLE for r in rejections):
            # kept in quarantine (counted in the body), but nothing in it could be read
            return _problem(400, "Unreadable body", rejections[0].reason, **payload)
        return JSONResponse(payload, status_code=200)


_UNREADABLE = frozenset({"invalid_json", "truncated", "invalid_encoding", "malformed"})
