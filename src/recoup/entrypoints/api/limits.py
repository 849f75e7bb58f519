"""A ceiling on request bodies for the API and the pages (``RECOUP_WEB__MAX_REQUEST_BYTES``).

Multipart uploads are parsed (and spooled to disk) before an endpoint sees them, so an
endpoint's own size check comes too late to protect the disk. This ASGI middleware refuses a
body over the ceiling before any of it is parsed: at once when ``Content-Length`` says so, and
otherwise (a chunked body) as soon as the bytes received pass it. The answer is a 413 problem;
nothing of the request is kept. Webhook intake has its own, smaller limit
(``RECOUP_WEBHOOKS__MAX_BODY_BYTES``) and is answered before this layer.
"""

from __future__ import annotations

import contextlib

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recoup.entrypoints.api.problems import problem


class _TooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _refusal(self) -> JSONResponse:
        return problem(413, "Payload too large",
                       f"request bodies over {self.max_bytes} bytes are refused "
                       "(RECOUP_WEB__MAX_REQUEST_BYTES)", code="too_large")  # fmt: skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refusal()(scope, receive, send)
            return
        seen = 0
        exceeded = started = False

        async def counted() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    exceeded = True
                    raise _TooLarge  # stops the parser; whatever it answers is dropped
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if exceeded:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        with contextlib.suppress(_TooLarge):
            await self.app(scope, counted, watched)
        if exceeded and not started:
            await self._refusal()(scope, receive, send)
