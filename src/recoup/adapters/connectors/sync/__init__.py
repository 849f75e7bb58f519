"""Pull connectors: API clients that list a source's events for ``recoup sync``.

Each client yields :class:`~recoup.services.sync.EventPage` objects and translates its HTTP
library's failures into Recoup's :mod:`~recoup.domain.errors` at the boundary, so the sync
service never sees a transport error.
"""
