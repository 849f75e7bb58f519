"""Approvals (four-eyes), the reconciliation review queue and the dashboard."""

from __future__ import annotations

import html
import re
import uuid
from decimal import Decimal

from fastapi.testclient import TestClient

from recoup.bootstrap import App
from recoup.domain.identity import Principal, Role
from recoup.domain.reconcile.items import MatchRow
from recoup.services import approvals
from tests.e2e.pages.support import case_by_entity, login

METRIC_PANELS = ("events", "exception_rate", "tier_split", "time_to_first_touch",
                 "time_to_resolution", "aging", "sla_breaches", "first_touch_resolution",
                 "rework", "manual_reconciliations", "resolved_without_duplicate_contact",
                 "writeback_success", "failures_by_breakpoint", "amounts",
                 "recovery_by_reason", "reconcile_auto_match", "exposure_open")  # fmt: skip
"""One panel per metric of DESIGN.md "Metrics the product reports"."""


def request_big_write_off(client: TestClient, app: App, who: str = "olga") -> str:
    csrf = login(client, who)
    case = case_by_entity(app, "pi_big")
    client.post(f"/cases/{case.id}/write-off", data={"reason": "insolvent", "csrf_token": csrf})
    client.post("/logout", data={"csrf_token": csrf})
    return case.id


def test_an_approver_approves_a_write_off_and_it_runs(client: TestClient, pages_app: App) -> None:
    case_id = request_big_write_off(client, pages_app)
    csrf = login(client, "alice")
    page = client.get("/approvals").text
    row = re.search(r'<tr id="approval-([0-9a-f-]+)">(.*?)</tr>', page, re.S)
    assert row is not None
    assert "900.00 EUR" in row.group(2)
    assert "olga" in row.group(2)

    done = client.post(f"/approvals/{row.group(1)}", data={"decision": "approve",
                                                           "reason": "checked",
                                                           "csrf_token": csrf})  # fmt: skip
    assert done.headers["location"] == "/approvals?done=approved"
    after = case_by_entity(pages_app, "pi_big")
    assert (after.status.value, after.outcome) == ("resolved", "written_off")
    assert after.written_off_amount == Decimal("900.00")
    assert "Nothing is waiting for approval." in client.get("/approvals").text
    assert "approved" in client.get(f"/cases/{case_id}").text


def test_a_denied_write_off_runs_nothing(client: TestClient, pages_app: App) -> None:
    request_big_write_off(client, pages_app)
    csrf = login(client, "alice")
    approval = re.search(r'id="approval-([0-9a-f-]+)"', client.get("/approvals").text)
    assert approval is not None
    deny = {"decision": "deny", "reason": "", "csrf_token": csrf}
    no_reason = client.post(f"/approvals/{approval.group(1)}", data=deny)
    assert no_reason.status_code == 422
    denied = client.post(f"/approvals/{approval.group(1)}",
                         data={"decision": "deny", "reason": "keep chasing",
                               "csrf_token": csrf})  # fmt: skip
    assert denied.headers["location"] == "/approvals?done=denied"
    assert case_by_entity(pages_app, "pi_big").status.value == "new"


def test_the_requester_cannot_approve_their_own_request(client: TestClient, pages_app: App) -> None:
    request_big_write_off(client, pages_app, who="alice")
    csrf = login(client, "alice")
    page = client.get("/approvals").text
    assert "your request" in page
    approval = re.search(r'id="approval-([0-9a-f-]+)"', page)
    assert approval is not None
    approve = {"decision": "approve", "reason": "", "csrf_token": csrf}
    refused = client.post(f"/approvals/{approval.group(1)}", data=approve)
    assert refused.status_code == 403
    assert "four-eyes" in html.unescape(refused.text)
    assert case_by_entity(pages_app, "pi_big").status.value == "new"


def suggest_match(app: App) -> str:
    match_id, run_id = str(uuid.uuid4()), str(uuid.uuid4())
    left = case_by_entity(app, "pi_small")
    with app.reader() as tx:
        (finding,) = tx.case_findings(left.id)
    event_id = str(finding["trigger_event_id"])
    now = app.clock.now()
    with app.uow() as tx:
        tx.start_reconcile_run(run_id, 1, "test", now)
        tx.add_reconcile_matches(run_id, [MatchRow(match_id, event_id, str(uuid.uuid4()),
                                                   "fuzzy_reference", 0.82, "suggested", 1,
                                                   Decimal("0.50"))], now)  # fmt: skip
        tx.finish_reconcile_run(run_id, now, {})
        tx.commit()
    return match_id


def test_the_review_queue_confirms_and_rejects_suggestions(
    client: TestClient, pages_app: App
) -> None:
    csrf = login(client, "olga")
    assert "No suggested matches" in client.get("/reconcile/review").text
    match_id = suggest_match(pages_app)
    page = client.get("/reconcile/review").text
    assert "fuzzy_reference" in page
    assert "0.82" in page
    assert "f_pi_small" in page

    blank = {"decision": "confirm", "reason": " ", "csrf_token": csrf}
    no_reason = client.post(f"/reconcile/review/{match_id}", data=blank)
    assert no_reason.status_code == 422
    done = client.post(f"/reconcile/review/{match_id}",
                       data={"decision": "confirm", "reason": "same reference",
                             "csrf_token": csrf})  # fmt: skip
    assert done.headers["location"] == "/reconcile/review?done=confirmed"
    with pages_app.reader() as tx:
        assert {r["status"] for r in tx.match_rows(match_id)} == {"confirmed"}
    reject = {"decision": "reject", "reason": "oops", "csrf_token": csrf}
    again = client.post(f"/reconcile/review/{match_id}", data=reject)
    assert again.status_code == 409


def test_a_viewer_sees_the_review_queue_without_buttons(client: TestClient, pages_app: App) -> None:
    suggest_match(pages_app)
    login(client, "vera")
    page = client.get("/reconcile/review").text
    assert "fuzzy_reference" in page
    assert 'value="confirm"' not in page


def metric(page: str, key: str) -> str:
    found = re.search(rf'data-testid="metric-{key}">([^<]*)<', page)
    assert found is not None, key
    return found.group(1)


def test_the_dashboard_charts_every_metric_and_changes_with_the_work(
    client: TestClient, pages_app: App
) -> None:
    csrf = login(client, "olga")
    page = client.get("/dashboard").text
    for key in METRIC_PANELS:
        section = re.search(rf'data-metric="{key}">(.*?)</section>', page, re.S)
        assert section is not None, key
        assert "data-chart=" in section.group(1), key
        assert "<table>" in section.group(1), key
    assert metric(page, "cases") == "3 open of 3"
    assert metric(page, "exposure_open") == "980.00 EUR"

    case = case_by_entity(pages_app, "pi_small")
    client.post(f"/cases/{case.id}/write-off", data={"reason": "small", "csrf_token": csrf})
    page = client.get("/dashboard").text
    assert metric(page, "cases") == "2 open of 3"
    assert metric(page, "exposure_open") == "940.00 EUR"


def test_an_approver_approves_a_provisional_credit_from_the_page(
    client: TestClient, pages_app: App
) -> None:
    # the API and the pages run approved actions with the same executors: the credit table too
    case = case_by_entity(pages_app, "pi_big")
    olga = Principal("olga", frozenset({Role.OPERATOR}))
    request = approvals.request_provisional_credit(
        case.id, "debit_card", "pos", "customer disputes the payment", olga,
        uow=pages_app.uow, clock=pages_app.clock, settings=pages_app.settings.web,
        executors=pages_app.approval_executors(),
    )  # fmt: skip
    csrf = login(client, "alice")
    done = client.post(f"/approvals/{request.id}", data={"decision": "approve",
                                                         "reason": "checked",
                                                         "csrf_token": csrf})  # fmt: skip
    assert done.headers["location"] == "/approvals?done=approved"
    ran = approvals.get_approval(request.id, reader=pages_app.reader, clock=pages_app.clock)
    assert ran.result is not None
    assert ran.result["ok"] is True, ran.result
