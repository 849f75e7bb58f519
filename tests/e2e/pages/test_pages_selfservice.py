"""The customer's self-service page: no login; a valid link asks for the code and a choice; an
expired, used, closed or forged link each get a clear page and change nothing."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from recoup.adapters.clock import FixedClock
from recoup.bootstrap import App
from recoup.services.selfservice import IssuedLink, issue_case_link
from tests.e2e.pages.support import case_by_entity


@pytest.fixture
def link(pages_app: App) -> IssuedLink:
    case = case_by_entity(pages_app, "pi_small")
    return issue_case_link(case.id, ["update_payment_method", "dispute"], actor="olga",
                           uow=pages_app.uow, clock=pages_app.clock,
                           recovery=pages_app.recovery())  # fmt: skip


def path(issued: IssuedLink) -> str:
    return f"/s/{issued.grant.token}"


def audit(app: App, case_id: str) -> list[str]:
    with app.reader() as tx:
        return [r.action for r in tx.case_audit(case_id)]


def test_a_valid_link_asks_for_the_code_and_offers_what_the_link_allows(
    client: TestClient, link: IssuedLink
) -> None:
    assert link.url.endswith(f"/self-service/{link.grant.token}")
    for url in (path(link), f"/self-service/{link.grant.token}"):
        page = client.get(url)
        assert page.status_code == 200
        assert page.headers["referrer-policy"] == "no-referrer"
        text = html.unescape(page.text)
        assert "I have updated my payment method" in text
        assert "I do not agree with this charge" in text
        assert "Retry" not in text
        assert "instalments" not in text
        assert 'autocomplete="one-time-code"' in text
        assert "Log out" not in text
        assert 'href="/queues"' not in text


def test_the_right_code_records_the_choice_once(
    client: TestClient, pages_app: App, link: IssuedLink
) -> None:
    wrong = client.post(
        path(link),
        data={
            "code": "000000" if link.grant.code != "000000" else "111111",
            "action": "update_payment_method",
        },
    )
    assert wrong.status_code == 422
    assert "4 tries left" in wrong.text

    done = client.post(path(link), data={"code": link.grant.code,
                                         "action": "update_payment_method"})  # fmt: skip
    assert done.status_code == 200
    assert "Thank you" in done.text
    actions = audit(pages_app, link.grant.case_id)
    assert actions.count("selfservice.redeemed") == 1
    assert "selfservice.wrong_code" in actions

    for response in (client.get(path(link)),
                     client.post(path(link), data={"code": link.grant.code,
                                                   "action": "dispute"})):  # fmt: skip
        assert response.status_code == 409
        assert "This link was already used" in response.text
    assert audit(pages_app, link.grant.case_id).count("selfservice.redeemed") == 1
    assert case_by_entity(pages_app, "pi_small").status.value == "new"  # dispute did not run


def test_an_expired_link_says_so_and_changes_nothing(
    client: TestClient, pages_app: App, pages_clock: FixedClock, link: IssuedLink
) -> None:
    pages_clock.advance(timedelta(hours=73))
    before = audit(pages_app, link.grant.case_id)
    page = client.get(path(link))
    assert page.status_code == 410
    assert "This link has expired" in page.text
    answer = client.post(path(link), data={"code": link.grant.code, "action": "dispute"})
    assert answer.status_code == 410
    assert audit(pages_app, link.grant.case_id) == before


def test_a_forged_link_is_not_valid(client: TestClient, link: IssuedLink) -> None:
    body, _, signature = link.grant.token.partition(".")
    forged = f"{body}.{signature[::-1]}"
    for url in (f"/s/{forged}", "/s/nonsense", f"/s/{body}"):
        page = client.get(url)
        assert page.status_code == 404
        assert "This link is not valid" in page.text


def test_too_many_wrong_codes_close_the_link(
    client: TestClient, pages_app: App, link: IssuedLink
) -> None:
    wrong = "000000" if link.grant.code != "000000" else "111111"
    for _ in range(4):
        assert client.post(path(link), data={"code": wrong,
                                              "action": "dispute"}).status_code == 422  # fmt: skip
    last = client.post(path(link), data={"code": wrong, "action": "dispute"})
    assert last.status_code == 403
    assert "This link is closed" in last.text
    right = client.post(path(link), data={"code": link.grant.code, "action": "dispute"})
    assert right.status_code == 403
    assert "selfservice.redeemed" not in audit(pages_app, link.grant.case_id)


def test_an_action_the_link_does_not_offer_is_refused(
    client: TestClient, pages_app: App, link: IssuedLink
) -> None:
    response = client.post(path(link), data={"code": link.grant.code, "action": "retry_now"})
    assert response.status_code == 422
    assert "Choose one of the options." in response.text
    assert "selfservice.redeemed" not in audit(pages_app, link.grant.case_id)
