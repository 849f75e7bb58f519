"""``/cases/{id}``: everything about one case, and the actions on it.

Every action is a plain form post (a hidden ``csrf_token``; htmx adds ``X-CSRF-Token``) that
calls one service and answers 303 back to the case page with what was done (Post/Redirect/Get),
or an error page with the service's message. Nothing here decides what is allowed: the page
hides what would fail (``actions.py``), the services refuse it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from recoup.domain.errors import InvalidInputError
from recoup.domain.policy import explain_record
from recoup.domain.recovery.ladder import Intervention
from recoup.entrypoints.api.pages import approvals_view, reads
from recoup.entrypoints.api.pages.actions import case_actions, next_action
from recoup.entrypoints.api.pages.web import (
    AppDep,
    PageRoute,
    Viewer,
    WorkerUser,
    render,
    see_other,
)
from recoup.services.case_notes import add_note
from recoup.services.cases import assign_case, move_case
from recoup.services.recovery import apply_choice
from recoup.services.selfservice import IssuedLink, issue_case_link

router = APIRouter(route_class=PageRoute)

DONE = {
    "moved": "Status changed.",
    "resolved": "Case resolved.",
    "assigned": "Assignment changed.",
    "noted": "Note added.",
    "ladder": "Ladder moved.",
    "written_off": "Written off.",
    "requested": "Write-off requested: it waits for a second person's approval.",
}
"""What the page says after an action (a fixed set: the query string never carries text)."""

Text = Annotated[str, Form()]


def case_view(
    request: Request, app: AppDep, who: Viewer, case_id: str, *, done: str | None = None,
    issued: IssuedLink | None = None,
) -> Response:  # fmt: skip
    ladders = dict(app.policy.ladders or {})
    with app.reader() as tx:
        view = reads.case_page(tx, case_id, ladders)
    case = view.case
    approvals = approvals_view.for_case(app, case.id)
    pending = any(a["status"] == "requested" for a in approvals)
    team = app.policy.teams.team(case.owner_team)
    threshold = app.settings.web.write_off_approval_above
    actions = case_actions(
        case, who, climb=view.climb, ladder=view.ladder, approval_above=threshold,
        members=list(team.members) if team else [],
        has_secret=bool(app.settings.security.secret_key.get_secret_value()),
    )  # fmt: skip
    context: dict[str, Any] = {
        "view": view,
        "actions": actions,
        "approval_above": threshold,
        "next_action": next_action(
            case, view.climb, view.ladder, app.clock.now(), pending_approval=pending
        ),
        "decision_lines": explain_record(case.decision) if case.decision else [],
        "approvals": approvals,
        "done": DONE.get(done or ""),
        "issued": issued,
    }
    return render(request, "case.html", context, who=who)


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: str, app: AppDep, who: Viewer,
              done: Annotated[str | None, Query()] = None) -> Response:  # fmt: skip
    return case_view(request, app, who, case_id, done=done)


def _back(case_id: str, done: str) -> Response:
    return see_other(f"/cases/{case_id}?done={done}")


@router.post("/cases/{case_id}/move")
def move(case_id: str, app: AppDep, who: WorkerUser, to: Text, reason: Text = "",
         waiting_on: Text = "") -> Response:  # fmt: skip
    if to == "resolved":
        raise InvalidInputError("to: resolving needs a resolution code: use the Resolve form")
    case = move_case(case_id, to, reason, actor=who.actor, uow=app.uow, clock=app.clock,
                     waiting_on=waiting_on or None)  # fmt: skip
    return _back(case.id, "moved")


@router.post("/cases/{case_id}/resolve")
def resolve(case_id: str, app: AppDep, who: WorkerUser, resolution: Text,
            reason: Text = "") -> Response:  # fmt: skip
    if resolution == "written_off":
        raise InvalidInputError("resolution: a write-off goes through the Write off form")
    case = move_case(case_id, "resolved", reason, actor=who.actor, uow=app.uow, clock=app.clock,
                     resolution=resolution)  # fmt: skip
    return _back(case.id, "resolved")


@router.post("/cases/{case_id}/assign")
def assign(case_id: str, app: AppDep, who: WorkerUser, member: Text = "",
           reason: Text = "") -> Response:  # fmt: skip
    reason = reason.strip() or ("taken by " + who.name if member == who.name else "")
    case = assign_case(case_id, member.strip() or None, reason, actor=who.actor, uow=app.uow,
                       clock=app.clock, directory=app.policy.teams)  # fmt: skip
    return _back(case.id, "assigned")


@router.post("/cases/{case_id}/note")
def note(case_id: str, app: AppDep, who: WorkerUser, text: Text = "") -> Response:
    entry = add_note(case_id, text, actor=who.actor, uow=app.uow, clock=app.clock)
    return _back(str(entry["case_id"]), "noted")


@router.post("/cases/{case_id}/ladder")
def ladder(case_id: str, app: AppDep, who: WorkerUser, move: Text,
           reason: Text = "") -> Response:  # fmt: skip
    try:
        chosen = Intervention(move)
    except ValueError:
        raise InvalidInputError(f"move: unknown ladder move {move!r}") from None
    with app.reader() as tx:
        case = reads.find_case(tx, case_id)
    why = f"{reason.strip() or chosen.value} (by {who.actor})"
    apply_choice(case.id, chosen, why, uow=app.uow, clock=app.clock, recovery=app.recovery())
    return _back(case.id, "ladder")


@router.post("/cases/{case_id}/write-off")
def write_off(case_id: str, app: AppDep, who: WorkerUser, reason: Text = "") -> Response:
    with app.reader() as tx:
        case = reads.find_case(tx, case_id)
    outcome = approvals_view.request_write_off(app, case, reason, who)
    return _back(case.id, outcome)


@router.post("/cases/{case_id}/link")
def link(request: Request, case_id: str, app: AppDep, who: WorkerUser) -> Response:
    issued = issue_case_link(case_id, None, actor=who.actor, uow=app.uow, clock=app.clock,
                             recovery=app.recovery())  # fmt: skip
    return case_view(request, app, who, issued.grant.case_id, issued=issued)
