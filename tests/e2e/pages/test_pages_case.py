"""The case page: everything about a case, the next action, and the actions the principal and
the policy allow; each action audited, a refused one changing nothing."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from fastapi.testclient import TestClient

from recoup.adapters.clock import FixedClock
from recoup.bootstrap import App
from recoup.domain.cases.case import Case
from tests.e2e.pages.support import case_by_entity, login


def audit_actions(app: App, case_id: str) -> list[str]:
    with app.reader() as tx:
        return [r.action for r in tx.case_audit(case_id)]


def reload(app: App, case: Case) -> Case:
    return case_by_entity(app, case.entity_key)


def test_the_case_page_shows_the_case_its_evidence_decision_and_ladder(
    client: TestClient, pages_app: App
) -> None:
    login(client, "vera")
    case = case_by_entity(pages_app, "pi_small")
    page = client.get(f"/cases/{case.id}")
    text = html.unescape(page.text)
    assert page.status_code == 200
    assert case.title in text
    assert f'data-testid="case-id">{case.id}<' in text
    assert "f_pi_small" in text  # the evidence event
    assert "tier straight_through: table" in text  # the rule trace
    assert "Ladder <strong>payment_failed</strong>: climbing" in text
    assert text.count("<li class=") >= 5  # the ladder's five steps
    assert 'aria-current="step">retry (up to 3 times)' in text
    assert "Let the ladder run: step 1 (retry) is due at 2031-03-04 10:00 UTC." in text
    assert "session.login" not in text  # only this case's audit records
    assert "case.opened" in text or "case.created" in text


def test_the_short_id_finds_the_case_too(client: TestClient, pages_app: App) -> None:
    login(client, "vera")
    case = case_by_entity(pages_app, "pi_small")
    assert client.get(f"/cases/{case.id[:8]}").status_code == 200


def test_an_operator_moves_and_resolves_a_case(client: TestClient, pages_app: App) -> None:
    csrf = login(client, "olga")
    case = case_by_entity(pages_app, "pi_small")
    page = client.get(f"/cases/{case.id}").text
    assert '<option value="in_progress">' in page
    assert '<option value="closed">' not in page  # not allowed from new

    moved = client.post(f"/cases/{case.id}/move", data={"to": "in_progress", "reason": "on it",
                                                        "csrf_token": csrf})  # fmt: skip
    assert (moved.status_code, moved.headers["location"]) == (303, f"/cases/{case.id}?done=moved")
    assert reload(pages_app, case).status.value == "in_progress"
    assert "Status changed." in client.get(moved.headers["location"]).text

    resolved = client.post(f"/cases/{case.id}/resolve", data={
        "resolution": "false_positive", "reason": "test charge", "csrf_token": csrf})  # fmt: skip
    assert resolved.status_code == 303
    after = reload(pages_app, case)
    assert (after.status.value, after.outcome) == ("resolved", "false_positive")
    assert audit_actions(pages_app, case.id)[-2:] == ["case.in_progress", "case.resolved"]
    page = client.get(f"/cases/{case.id}").text
    assert f'action="/cases/{case.id}/resolve"' not in page
    assert "Nothing to do: the case is resolved." in page


def test_a_move_the_lifecycle_refuses_is_a_page_and_changes_nothing(
    client: TestClient, pages_app: App
) -> None:
    csrf = login(client, "olga")
    case = case_by_entity(pages_app, "pi_small")
    before = audit_actions(pages_app, case.id)
    for data in ({"to": "closed", "reason": "x"}, {"to": "waiting", "reason": "x"},
                 {"to": "in_progress", "reason": " "}):  # fmt: skip
        response = client.post(f"/cases/{case.id}/move", data={**data, "csrf_token": csrf})
        assert response.status_code in (409, 422), data
        assert 'role="alert"' in response.text
    assert reload(pages_app, case).status.value == "new"
    assert audit_actions(pages_app, case.id) == before


def test_assign_take_and_note(client: TestClient, pages_app: App) -> None:
    csrf = login(client, "olga")
    case = case_by_entity(pages_app, "pi_small")
    taken = client.post(f"/cases/{case.id}/assign", data={"member": "olga", "reason": "",
                                                          "csrf_token": csrf})  # fmt: skip
    assert taken.status_code == 303
    assert reload(pages_app, case).assignee == "olga"
    noted = client.post(f"/cases/{case.id}/note", data={"text": "called the bank",
                                                        "csrf_token": csrf})  # fmt: skip
    assert noted.status_code == 303
    page = client.get(f"/cases/{case.id}").text
    assert "called the bank" in page
    assert "olga" in page
    assert audit_actions(pages_app, case.id)[-2:] == ["case.assigned", "case.noted"]


def test_the_ladder_buttons_move_the_climb(client: TestClient, pages_app: App) -> None:
    csrf = login(client, "olga")
    case = case_by_entity(pages_app, "pi_small")
    page = client.get(f"/cases/{case.id}").text
    assert 'value="retry_now"' in page
    assert 'value="escalate"' in page

    response = client.post(f"/cases/{case.id}/ladder", data={"move": "retry_now",
                                                             "reason": "customer called",
                                                             "csrf_token": csrf})  # fmt: skip
    assert response.status_code == 303
    with pages_app.reader() as tx:
        attempts = tx.attempts_of(case.id)
    assert [a.kind for a in attempts] == ["retry"]
    assert "customer called (by olga)" in html.unescape(client.get(f"/cases/{case.id}").text)

    bad = client.post(f"/cases/{case.id}/ladder", data={"move": "jump", "csrf_token": csrf})
    assert bad.status_code == 422


def test_a_small_write_off_resolves_at_once(client: TestClient, pages_app: App) -> None:
    csrf = login(client, "olga")
    case = case_by_entity(pages_app, "pi_small")
    page = client.get(f"/cases/{case.id}").text
    assert "Write off 40.00 EUR" in page
    assert "Request write-off approval" not in page
    done = client.post(f"/cases/{case.id}/write-off", data={"reason": "not worth chasing",
                                                           "csrf_token": csrf})  # fmt: skip
    assert done.headers["location"] == f"/cases/{case.id}?done=written_off"
    after = reload(pages_app, case)
    assert (after.status.value, after.outcome) == ("resolved", "written_off")
    assert "write off" in client.get(f"/cases/{case.id}").text  # the posting is listed


def test_a_big_write_off_waits_for_a_second_person(client: TestClient, pages_app: App) -> None:
    csrf = login(client, "olga")
    case = case_by_entity(pages_app, "pi_big")
    assert "Request write-off approval" in client.get(f"/cases/{case.id}").text
    asked = client.post(f"/cases/{case.id}/write-off", data={"reason": "customer insolvent",
                                                            "csrf_token": csrf})  # fmt: skip
    assert asked.headers["location"] == f"/cases/{case.id}?done=requested"
    assert reload(pages_app, case).status.value == "new"
    page = client.get(asked.headers["location"]).text
    assert "Wait for a second person to approve the write-off" in page
    assert "requested by olga" in page


def test_a_link_is_offered_only_at_a_step_that_offers_actions(
    client: TestClient, pages_app: App, pages_clock: FixedClock
) -> None:
    csrf = login(client, "olga")
    case = case_by_entity(pages_app, "pi_small")
    link_form = f'action="/cases/{case.id}/link"'
    assert link_form not in client.get(f"/cases/{case.id}").text  # a retry step offers nothing

    for _ in range(3):  # the three retries of step 1 decline (seeded simulator)
        pages_clock.advance(timedelta(hours=1))
        client.post(f"/cases/{case.id}/ladder", data={"move": "retry_now", "reason": "again",
                                                      "csrf_token": csrf})  # fmt: skip
    with pages_app.reader() as tx:
        climb = tx.climbs([case.id])[case.id]
    assert climb.step_index == 1  # the channel step, which offers actions
    assert link_form in client.get(f"/cases/{case.id}").text

    issued = client.post(f"/cases/{case.id}/link", data={"csrf_token": csrf})
    assert issued.status_code == 200
    code = re.search(r"<dt>Code</dt><dd><code>(\d{6})</code>", issued.text)
    url = re.search(r'<dt>Link</dt><dd><a href="[^"]*(/self-service/[^"]+)"', issued.text)
    assert code is not None
    assert url is not None
    customer = client.get(url.group(1))
    assert customer.status_code == 200
    assert "I have updated my payment method" in html.unescape(customer.text)
    assert "selfservice.issued" in audit_actions(pages_app, case.id)
