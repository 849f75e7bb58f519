"""``/approvals``, ``/reconcile/review`` and ``/dashboard``."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from recoup.domain.identity import Permission
from recoup.entrypoints.api.pages import approvals_view, dashboard
from recoup.entrypoints.api.pages.web import (
    AppDep,
    ApproverUser,
    PageRoute,
    Viewer,
    WorkerUser,
    render,
    see_other,
)
from recoup.services.metrics import read_metrics
from recoup.services.reconcile import decide_suggestion, review_queue

router = APIRouter(route_class=PageRoute)

DONE = {
    "approved": "Approved: the action ran.",
    "failed": "Approved, but the action failed: see the approval's result on the case.",
    "denied": "Denied: nothing ran.",
    "confirmed": "Match confirmed: the items reconcile.",
    "rejected": "Match rejected: the items are open again.",
}
Done = Annotated[str | None, Query()]
Text = Annotated[str, Form()]


@router.get("/approvals")
def approvals_page(request: Request, app: AppDep, who: ApproverUser,
                   done: Done = None) -> Response:  # fmt: skip
    context = {"pending": approvals_view.pending(app), "decided": approvals_view.decided(app),
               "done": DONE.get(done or "")}  # fmt: skip
    return render(request, "approvals.html", context, who=who)


@router.post("/approvals/{approval_id}")
def decide_approval(approval_id: str, app: AppDep, who: ApproverUser, decision: Text,
                    reason: Text = "") -> Response:  # fmt: skip
    outcome = approvals_view.decide(app, approval_id, decision, reason, who)
    return see_other(f"/approvals?done={outcome}")


REVIEW_LIMIT = 100


@router.get("/reconcile/review")
def reconcile_review(request: Request, app: AppDep, who: Viewer, done: Done = None) -> Response:
    rows = review_queue(reader=app.reader, limit=REVIEW_LIMIT)
    items: set[str] = {str(r[k]) for r in rows for k in ("left_id", "right_id")}
    with app.reader() as tx:
        events = {str(e["id"]): e for e in tx.event_summaries(sorted(items))} if items else {}
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        grouped[str(r["match_id"])].append(r)
    matches = [{"match_id": mid, "rule": pairs[0]["rule"], "score": pairs[0]["score"],
                "difference": pairs[0]["amount_diff"],
                "left": _items(pairs, "left_id", events),
                "right": _items(pairs, "right_id", events)}
               for mid, pairs in grouped.items()]  # fmt: skip
    context = {"matches": matches, "can_work": who.can(Permission.WORK),
               "done": DONE.get(done or "")}  # fmt: skip
    return render(request, "reconcile.html", context, who=who)


def _items(pairs: list[dict[str, Any]], key: str,
           events: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:  # fmt: skip
    ids = sorted({str(p[key]) for p in pairs})
    return [events.get(i, {"id": i}) for i in ids]


@router.post("/reconcile/review/{match_id}")
def decide_match(match_id: str, app: AppDep, who: WorkerUser, decision: Text,
                 reason: Text = "") -> Response:  # fmt: skip
    confirm = decision == "confirm"
    decide_suggestion(match_id, confirm, reason, actor=who.actor, uow=app.uow, clock=app.clock)
    return see_other(f"/reconcile/review?done={'confirmed' if confirm else 'rejected'}")


@router.get("/dashboard")
def dashboard_page(request: Request, app: AppDep, who: Viewer) -> Response:
    metrics = read_metrics(reader=app.reader, clock=app.clock)
    context = {"panels": dashboard.panels(metrics),
               "period": f"as of {metrics.generated_at:%Y-%m-%d %H:%M} UTC"}  # fmt: skip
    return render(request, "dashboard.html", context, who=who)
