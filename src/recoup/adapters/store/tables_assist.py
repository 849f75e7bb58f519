"""Tables of the assist area, on the shared metadata (imported at the end of tables.py)."""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401

from recoup.adapters.store.tables import Id, metadata  # noqa: F401
from recoup.adapters.store.types import Amount, JSONValue, UTCDateTime  # noqa: F401
