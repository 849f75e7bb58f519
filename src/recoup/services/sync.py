"""Sync: pull a source's events through its API, as a fallback for missed webhooks.

Stripe lists events newest first and pages towards older ones (``starting_after``), so the
newest event of a window is read first but is only *fully* behind us once the whole window has
been read. The cursor therefore has two parts (:class:`SyncCursor`):

- the **mark**: the ``created`` time and id of the newest event of the last walk that
  completed. Everything from the first sync up to the mark has been ingested; a later sync
  without ``--since`` reads from ``mark - overlap`` (Stripe's ``created`` has second resolution
  and events can be listed late), and the overlap is absorbed by ingest's idempotency;
- the **walk** in progress, if any: its lower bound, its newest event (the mark it will set)
  and the oldest event committed so far. A walk that stops (a failure, ``--limit-pages``) is
  continued from ``created[lte] = oldest.created`` next time, so no page is read twice except
  the events of that one second.

Each page is ingested in its own transaction through :func:`ingest_records`; the cursor is
written (with its audit record) in the next transaction, only after the page is committed. A
crash between the two re-reads one page, which changes nothing: events are keyed by
(source, Stripe event id), so overlapping syncs and webhooks never count an event twice.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from recoup.domain.audit import AuditEntry
from recoup.domain.detection.detectors import Detectors
from recoup.domain.errors import (
    ConfigurationError,
    ConflictError,
    ExternalSystemError,
    InvalidInputError,
    Location,
)
from recoup.domain.ingestion.canonical import Rejection
from recoup.domain.ingestion.event import SOURCE_PATTERN, Event
from recoup.domain.policy import PolicyEngine
from recoup.domain.ports import Clock, UnitOfWorkFactory
from recoup.services.ingest import IngestReport, Item, ingest_records

SYNC_ACTOR = "system:sync"
CURSOR_ADVANCED = "sync.cursor_advanced"
FORMAT_NAME = "stripe-events"
"""The quarantine format of refused events: the Stripe webhook format, so replay can map them."""
MAX_CURSOR_NAME = 100
OVERLAP = timedelta(minutes=5)
STRIPE_RETENTION = timedelta(days=30)
"""The Events API lists the last 30 days only; older events cannot be fetched."""


# -- what the client gives and what the mapper does --------------------------------------------


@dataclass(frozen=True, slots=True)
class RawEvent:
    """One event of a page: its exact JSON bytes (the evidence), and the id, ``created`` and
    type read from them, each None when missing or malformed (the mapper then refuses the
    event with its location, and the cursor ignores it)."""

    body: bytes
    id: str | None
    created: int | None
    type: str | None


@dataclass(frozen=True, slots=True)
class EventPage:
    """One page of the list, newest event first, as the API returns it."""

    events: tuple[RawEvent, ...]
    has_more: bool


class EventSource(Protocol):
    """The API client: every event with ``created_gte <= created <= created_lte``, newest
    first, a page at a time; the next page is requested only when asked for."""

    def pages(self, *, created_gte: int, created_lte: int | None) -> Iterator[EventPage]: ...


class EventMapper(Protocol):
    """One provider event (JSON bytes) to canonical events or located rejections; never
    raises. The Stripe webhook mapper ``events_from_payload`` is one."""

    def __call__(
        self, body: bytes, *, received_at: datetime, label: str, source: str
    ) -> Sequence[Event | Rejection]: ...


# -- the cursor ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mark:
    """A point in the event list. ``id`` is None when a walk found no event at all: the mark
    is then the walk's lower bound, so the next sync reads that window again."""

    created: int
    id: str | None

    def __str__(self) -> str:
        return f"{self.id or 'no event'} at {_iso(self.created)}"


@dataclass(frozen=True, slots=True)
class Walk:
    """A walk down the list that has not finished: ``since`` is its ``created[gte]``,
    ``newest`` the mark it sets when it completes, ``oldest`` the last event committed."""

    since: int
    newest: Mark
    oldest: Mark


@dataclass(frozen=True, slots=True)
class SyncCursor:
    mark: Mark | None = None
    walk: Walk | None = None

    def to_text(self) -> str:
        data: dict[str, Any] = {}
        if self.mark is not None:
            data |= {"created": self.mark.created, "id": self.mark.id}
        if self.walk is not None:
            data["walk"] = {"since": self.walk.since, "newest": _mark_data(self.walk.newest),
                            "oldest": _mark_data(self.walk.oldest)}  # fmt: skip
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_text(cls, text: str) -> SyncCursor:
        """Raises ValueError (or KeyError, TypeError) on a cursor this code did not write."""
        data = json.loads(text)
        mark = _mark(data) if "created" in data else None
        walk_data = data.get("walk")
        walk = None
        if walk_data is not None:
            walk = Walk(_int(walk_data["since"]), _mark(walk_data["newest"]),
                        _mark(walk_data["oldest"]))  # fmt: skip
        return cls(mark, walk)

    def __str__(self) -> str:
        text = str(self.mark) if self.mark else "none"
        if self.walk is not None:
            text += f" (unfinished walk down to {self.walk.oldest})"
        return text


def _iso(created: int) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat().replace("+00:00", "Z")


def _mark_data(mark: Mark) -> dict[str, Any]:
    return {"created": mark.created, "id": mark.id}


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def _mark(data: dict[str, Any]) -> Mark:
    mark_id = data.get("id")
    if mark_id is not None and not isinstance(mark_id, str):
        raise TypeError(f"expected an event id, got {mark_id!r}")
    return Mark(_int(data["created"]), mark_id)


def cursor_name(source: str) -> str:
    return f"sync:stripe:{source}"


# -- the report ---------------------------------------------------------------------------------


@dataclass
class SyncReport:
    name: str
    cursor_before: SyncCursor | None = None
    cursor_after: SyncCursor | None = None
    pages: int = 0
    events_fetched: int = 0
    skipped: int = 0
    """Events of a type the mapper does not track: read (the cursor moves past them), not
    ingested, so a full account's event list does not flood the quarantine."""
    is_complete: bool = False
    ingest: IngestReport = field(default_factory=IngestReport)
    warnings: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.ingest.accepted

    @property
    def new_events(self) -> int:
        return self.ingest.new_events

    @property
    def duplicates(self) -> int:
        return self.ingest.duplicates

    @property
    def quarantined(self) -> int:
        return self.ingest.quarantined


# -- the use case -------------------------------------------------------------------------------


@dataclass
class _Run:
    """One sync in progress: its dependencies, budget and the cursor as last written."""

    client: EventSource
    uow: UnitOfWorkFactory
    clock: Clock
    detectors: Detectors
    policy: PolicyEngine | None
    mapper: EventMapper
    source: str
    tracked_types: Collection[str] | None
    limit_pages: int | None
    on_page: Callable[[SyncReport], None] | None
    report: SyncReport
    state: SyncCursor
    stored: str | None


def sync_stripe_events(
    *,
    client: EventSource,
    uow: UnitOfWorkFactory,
    clock: Clock,
    detectors: Detectors,
    policy: PolicyEngine | None = None,
    mapper: EventMapper,
    source: str = "stripe",
    since: datetime | None = None,
    until: datetime | None = None,
    limit_pages: int | None = None,
    overlap: timedelta = OVERLAP,
    tracked_types: Collection[str] | None = None,
    on_page: Callable[[SyncReport], None] | None = None,
) -> SyncReport:
    """Read ``[since, until)`` (``since`` defaults to the stored mark minus ``overlap``; an
    unfinished walk is finished first), ingest every page and advance the cursor."""
    if limit_pages is not None and limit_pages < 1:
        raise InvalidInputError("--limit-pages must be at least 1")
    for name_, value in (("since", since), ("until", until)):
        if value is not None and value.utcoffset() is None:
            raise InvalidInputError("must be timezone-aware", location=Location(field=name_))
    if since is not None and until is not None and since >= until:
        raise InvalidInputError("--since must be before --until", location=Location(field="since"))
    if not re.fullmatch(SOURCE_PATTERN, source) or len(cursor_name(source)) > MAX_CURSOR_NAME:
        reason = "must be lower case, like stripe or stripe:eu-account, and short"
        raise InvalidInputError(f"source {source!r} {reason}", location=Location(field="source"))
    name = cursor_name(source)
    report = SyncReport(name=name)
    with uow() as tx:
        stored = tx.get_cursor(name)
    state = _load(stored, name, since, report)
    report.cursor_before = report.cursor_after = state
    run = _Run(client, uow, clock, detectors, policy, mapper, source, tracked_types, limit_pages,
               on_page, report, state, stored)  # fmt: skip
    lte = None if until is None else math.ceil(until.timestamp()) - 1  # until is exclusive
    try:
        if since is not None:
            if state.walk is not None:
                report.warnings.append(f"the unfinished walk from {_iso(state.walk.since)} down to "
                                       f"{state.walk.oldest} is replaced by --since")  # fmt: skip
            _walk(run, math.floor(since.timestamp()), lte, None)
            return report
        if state.walk is not None:
            walk = state.walk
            if not _walk(run, walk.since, walk.oldest.created, walk):
                return report
        if run.state.mark is None:
            raise InvalidInputError(f"no cursor {name} is stored yet: the first sync needs --since")
        start = run.state.mark.created - math.ceil(overlap.total_seconds())
        _walk(run, start, lte, None)
        return report
    except ExternalSystemError as exc:
        if not report.pages:
            raise
        pages = f"{report.pages} page{'s' if report.pages != 1 else ''}"
        raise type(exc)(f"{exc.message}; the {pages} read before stay committed and the cursor "
                        f"is at {run.state}") from exc  # fmt: skip


def _load(stored: str | None, name: str, since: datetime | None, report: SyncReport) -> SyncCursor:
    if stored is None:
        return SyncCursor()
    try:
        return SyncCursor.from_text(stored)
    except (ValueError, KeyError, TypeError) as exc:
        if since is None:
            raise ConfigurationError(
                f"the stored cursor {name} is not readable ({exc}); give --since to start over"
            ) from None
        report.warnings.append(f"the unreadable cursor {name} is replaced")
        return SyncCursor()


def _walk(run: _Run, gte: int, lte: int | None, resumed: Walk | None) -> bool:
    """Read one window to its end, or until the page budget runs out (returns False)."""
    report = run.report
    _warn_retention(run, gte)
    walk = resumed
    pages = run.client.pages(created_gte=gte, created_lte=lte)
    while True:
        if run.limit_pages is not None and report.pages >= run.limit_pages:
            report.is_complete = False
            return False
        page = next(pages, None)
        if page is None:
            break
        report.pages += 1
        _ingest_page(run, page)
        marks = [Mark(e.created, e.id) for e in page.events if e.id and e.created is not None]
        if marks:
            oldest = min(marks, key=lambda m: m.created)
            newest = walk.newest if walk else max(marks, key=lambda m: m.created)
            walk = Walk(walk.since if walk else gte, newest, oldest)
        if page.has_more:
            _checkpoint(run, replace(run.state, walk=walk), complete=False)
        else:
            _checkpoint(run, _completed(run.state, walk, gte), complete=True)
        if run.on_page is not None:
            run.on_page(report)
        if not page.has_more:
            break
    report.is_complete = True
    return True


def _completed(state: SyncCursor, walk: Walk | None, gte: int) -> SyncCursor:
    """The cursor once a walk has read its whole window: the newer of the two marks."""
    mark = state.mark
    if walk is not None and (mark is None or walk.newest.created >= mark.created):
        mark = walk.newest
    if mark is None:
        mark = Mark(gte, None)
    return SyncCursor(mark, None)


def _ingest_page(run: _Run, page: EventPage) -> None:
    report = run.report
    received_at = run.clock.now()
    items: list[Item] = []
    for index, event in enumerate(page.events):
        report.events_fetched += 1
        tracked = run.tracked_types
        if tracked is not None and event.type is not None and event.type not in tracked:
            report.skipped += 1
            continue
        label = f"{report.name} {event.id or f'page {report.pages} data[{index}]'}"
        items.extend(run.mapper(event.body, received_at=received_at, label=label,
                                source=run.source))  # fmt: skip
    if not items:
        return
    result = ingest_records(items, uow=run.uow, clock=run.clock, detectors=run.detectors,
                            policy=run.policy,
                            label=f"{report.name} page {report.pages}", format_name=FORMAT_NAME,
                            batch_size=len(items))  # fmt: skip
    report.ingest.merge(result)


def _checkpoint(run: _Run, state: SyncCursor, *, complete: bool) -> None:
    """Write the cursor and its audit record, refusing if another sync moved it meanwhile."""
    if state == run.state:
        return
    text = state.to_text()
    now = run.clock.now()
    with run.uow() as tx:
        current = tx.get_cursor(run.report.name)
        if current != run.stored:
            raise ConflictError(f"the cursor {run.report.name} was moved by another sync "
                                "meanwhile; run one sync per source at a time")  # fmt: skip
        tx.set_cursor(run.report.name, text, now)
        data = {"before": _as_data(current), "after": json.loads(text),
                "page": run.report.pages, "walk_complete": complete}  # fmt: skip
        tx.append_audit([AuditEntry(now, SYNC_ACTOR, CURSOR_ADVANCED, "sync_cursor",
                                    run.report.name, data)])  # fmt: skip
        tx.commit()
    run.state, run.stored = state, text
    run.report.cursor_after = state


def _as_data(text: str | None) -> Any:
    """A stored cursor for the audit record: its JSON, or the text itself if it has none."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _warn_retention(run: _Run, gte: int) -> None:
    oldest = run.clock.now() - STRIPE_RETENTION
    warning = (f"Stripe lists the last 30 days of events only: nothing before "
               f"{oldest.isoformat(timespec='seconds')} can be fetched")  # fmt: skip
    if datetime.fromtimestamp(gte, UTC) < oldest and warning not in run.report.warnings:
        run.report.warnings.append(warning)


__all__ = [
    "CURSOR_ADVANCED",
    "OVERLAP",
    "SYNC_ACTOR",
    "EventMapper",
    "EventPage",
    "EventSource",
    "Mark",
    "RawEvent",
    "SyncCursor",
    "SyncReport",
    "Walk",
    "cursor_name",
    "sync_stripe_events",
]
