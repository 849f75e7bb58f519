"""``/``, ``/queues`` and ``/queues/{queue}`` with its bulk actions."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from recoup.domain.cases import lifecycle
from recoup.domain.cases.case import CaseStatus
from recoup.domain.detection.taxonomy import ALL_TYPES, Tier
from recoup.domain.errors import InvalidInputError, RecoupError
from recoup.domain.identity import Permission
from recoup.entrypoints.api.pages import reads
from recoup.entrypoints.api.pages.web import (
    AppDep,
    PageRoute,
    Viewer,
    WorkerUser,
    render,
    see_other,
)
from recoup.services.case_notes import assign_cases, move_cases

router = APIRouter(route_class=PageRoute)

Opt = Annotated[str | None, Query()]
BULK_MAX = 200
MOVES = [
    s.value
    for s in (CaseStatus.TRIAGED, CaseStatus.IN_PROGRESS, CaseStatus.ESCALATED, CaseStatus.CLOSED)
]
"""What a bulk move offers (waiting needs a party, resolving a code: their own forms)."""


@router.get("/")
def home() -> Response:
    return see_other("/queues")


@router.get("/queues")
def queues(request: Request, app: AppDep, who: Viewer) -> Response:
    with app.reader() as tx:
        rows = reads.queue_rows(tx, app.clock.now())
    return render(request, "queues.html", {"rows": rows}, who=who)


def _filters(status: str | None, tier: str | None, kind: str | None, type_: str | None,
             assignee: str | None) -> reads.QueueFilters:  # fmt: skip
    filters = reads.QueueFilters(tier=tier or None, kind=kind or None, type=type_ or None,
                                 status=status or "open",
                                 assignee=(assignee or "").strip() or None)  # fmt: skip
    filters.check()
    return filters


def _members(app: AppDep, team: str) -> list[str]:
    found = app.policy.teams.team(team)
    return list(found.members) if found is not None else []


def _context(app: AppDep, who: Viewer, queue: str, filters: reads.QueueFilters,
             after: str | None) -> dict[str, object]:  # fmt: skip
    with app.reader() as tx:
        page = reads.queue_page(tx, queue, filters, after=after)
    more = urlencode({**filters.query_args(), "after": page.next_cursor or ""})
    keep = {**filters.query_args(), **({"after": after} if after else {})}
    team = page.cases[0].owner_team if page.cases else queue.rsplit(".", 1)[0]
    return {
        "page": page, "filters": filters, "more_args": more, "keep": keep,
        "statuses": reads.STATUSES, "tiers": [t.value for t in Tier], "kinds": reads.KINDS,
        "types": sorted(ALL_TYPES), "moves": MOVES,
        "resolutions": sorted(lifecycle.RESOLUTION_CODES - {"written_off"}),
        "members": _members(app, team), "can_work": who.can(Permission.WORK),
    }  # fmt: skip


@router.get("/queues/{queue}")
def queue(
    request: Request, queue: str, app: AppDep, who: Viewer, status: Opt = None,
    tier: Opt = None, kind: Opt = None, type: Opt = None, assignee: Opt = None,
    after: Opt = None,
) -> Response:  # fmt: skip
    filters = _filters(status, tier, kind, type, assignee)
    return render(request, "queue.html", _context(app, who, queue, filters, after or None),
                  who=who)  # fmt: skip


Field = Annotated[str, Form()]


@router.post("/queues/{queue}/bulk")
def bulk(
    request: Request,
    queue: str,
    app: AppDep,
    who: WorkerUser,
    action: Field,
    reason: Field = "",
    to: Field = "",
    member: Field = "",
    resolution: Field = "",
    case_id: Annotated[list[str] | None, Form()] = None,
    keep_status: Field = "",
    keep_tier: Field = "",
    keep_kind: Field = "",
    keep_type: Field = "",
    keep_assignee: Field = "",
    keep_after: Field = "",
) -> Response:
    """Apply one action to the ticked cases; ``keep_*`` are the page's filters, so the rows
    that come back (htmx) are the page the operator is looking at."""
    filters = _filters(keep_status, keep_tier, keep_kind, keep_type, keep_assignee)
    message, failed = _apply(app, who.actor, case_id or [], action, reason, to, member,
                             resolution)  # fmt: skip
    if request.headers.get("HX-Request") != "true":
        if failed:
            raise InvalidInputError(message)
        return see_other(f"/queues/{queue}?{urlencode(filters.query_args())}")
    context = _context(app, who, queue, filters, keep_after or None)
    return render(request, "_bulk_result.html",
                  {**context, "message": message, "failed": failed, "oob_rows": not failed},
                  who=who)  # fmt: skip


def _apply(app: AppDep, actor: str, ids: list[str], action: str, reason: str, to: str,
           member: str, resolution: str) -> tuple[str, bool]:  # fmt: skip
    """Run one bulk action, all or nothing; the message to show and whether it failed."""
    if not ids:
        return "Select at least one case.", True
    if len(ids) > BULK_MAX:
        return f"At most {BULK_MAX} cases at once.", True
    try:
        if action == "assign":
            report = assign_cases(ids, member.strip() or None, reason, actor=actor,
                                  uow=app.uow, clock=app.clock,
                                  directory=app.policy.teams)  # fmt: skip
            who = member.strip() or "the queue"
            return f"Assigned {len(report.applied)} cases to {who}.", False
        if action == "resolve":
            report = move_cases(ids, "resolved", reason, actor=actor, uow=app.uow,
                                clock=app.clock, resolution=resolution or None)  # fmt: skip
            return f"Resolved {len(report.applied)} cases as {resolution}.", False
        if action == "move":
            report = move_cases(ids, to, reason, actor=actor, uow=app.uow, clock=app.clock)
            return f"Moved {len(report.applied)} cases to {to}.", False
        return f"Unknown bulk action {action!r}.", True
    except RecoupError as exc:
        return exc.message, True
