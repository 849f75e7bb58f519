"""An HTTP client an adapter either makes (and closes) or is given (and leaves to its giver)."""

from __future__ import annotations

from types import TracebackType
from typing import Self

import httpx


class OwnedHttpClient:
    """Mixin for adapters that talk HTTP through ``self._http``: tests pass a client or a
    transport; in production the adapter makes its own and ``close()`` (or ``with``) ends it."""

    _http: httpx.Client
    _owns_client: bool

    def _use_client(
        self, client: httpx.Client | None, transport: httpx.BaseTransport | None
    ) -> None:
        self._owns_client = client is None
        self._http = client if client is not None else httpx.Client(transport=transport)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP client if this object made it (a given one is the giver's)."""
        if self._owns_client:
            self._http.close()
