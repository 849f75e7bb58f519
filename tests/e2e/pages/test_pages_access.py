"""Logging in and out, who may see and do what, CSRF on every form, errors as pages."""

from __future__ import annotations

import html

import pytest
from fastapi.testclient import TestClient

from recoup.bootstrap import App
from tests.e2e.pages.support import (
    PASSWORD,
    case_by_entity,
    csrf_of,
    login,
    unlabelled_controls,
)


def timeline_size(app: App, case_id: str) -> int:
    with app.reader() as tx:
        return len(tx.case_timeline(case_id))


@pytest.mark.parametrize("path", ["/queues", "/queues/payments_ops.system", "/dashboard",
                                  "/approvals", "/reconcile/review"])  # fmt: skip
def test_anonymous_requests_go_to_the_login_with_the_page_to_return_to(
    client: TestClient, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={path}"


def test_an_anonymous_htmx_request_is_told_where_to_log_in(client: TestClient) -> None:
    response = client.get("/queues", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/login?next=/queues"


def test_the_root_goes_to_the_queues(client: TestClient) -> None:
    login(client, "vera")
    response = client.get("/")
    assert (response.status_code, response.headers["location"]) == (303, "/queues")


def test_a_wrong_password_shows_the_form_again_and_sets_no_cookie(client: TestClient) -> None:
    page = client.get("/login?next=/dashboard")
    assert page.status_code == 200
    assert 'name="next" value="/dashboard"' in page.text
    assert unlabelled_controls(page.text) == []

    response = client.post("/login", data={"name": "olga", "password": "wrong password!",
                                           "next": "/dashboard"})  # fmt: skip
    assert response.status_code == 403
    assert "wrong name or password" in response.text
    assert "set-cookie" not in response.headers
    assert client.get("/dashboard").status_code == 303


def test_login_goes_back_to_the_page_asked_for_but_never_to_another_site(
    client: TestClient,
) -> None:
    ok = client.post("/login", data={"name": "olga", "password": PASSWORD, "next": "/dashboard"})
    assert (ok.status_code, ok.headers["location"]) == (303, "/dashboard")
    for evil in ("//evil.example/x", "https://evil.example/", "javascript:alert(1)"):
        response = client.post("/login", data={"name": "olga", "password": PASSWORD,
                                               "next": evil})  # fmt: skip
        assert response.headers["location"] == "/queues"


def test_logout_needs_the_csrf_token_and_ends_the_session(client: TestClient) -> None:
    csrf = login(client, "olga")
    refused = client.post("/logout", data={})
    assert refused.status_code == 403
    assert client.get("/queues").status_code == 200

    response = client.post("/logout", data={"csrf_token": csrf})
    assert (response.status_code, response.headers["location"]) == (303, "/login")
    assert client.get("/queues").status_code == 303


def test_a_form_post_without_the_csrf_token_is_refused_and_changes_nothing(
    client: TestClient, pages_app: App
) -> None:
    csrf = login(client, "olga")
    case = case_by_entity(pages_app, "pi_small")
    before = timeline_size(pages_app, case.id)

    missing = client.post(f"/cases/{case.id}/note", data={"text": "hello"})
    wrong = client.post(f"/cases/{case.id}/note", data={"text": "hello", "csrf_token": "nope"})
    for response in (missing, wrong):
        assert response.status_code == 403
        assert "CSRF token missing or wrong" in response.text
        assert response.headers["content-type"].startswith("text/html")
    assert timeline_size(pages_app, case.id) == before

    by_field = client.post(f"/cases/{case.id}/note", data={"text": "first", "csrf_token": csrf})
    by_header = client.post(f"/cases/{case.id}/note", data={"text": "second"},
                            headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert by_field.status_code == by_header.status_code == 303
    assert by_field.headers["location"] == f"/cases/{case.id}?done=noted"
    assert timeline_size(pages_app, case.id) == before + 2


def test_a_viewer_sees_cases_but_no_actions_and_cannot_post_them(
    client: TestClient, pages_app: App
) -> None:
    csrf = login(client, "vera")
    case = case_by_entity(pages_app, "pi_small")
    page = client.get(f"/cases/{case.id}")
    assert page.status_code == 200
    assert case.title in page.text
    assert f'action="/cases/{case.id}/note"' not in page.text
    assert 'name="case_id"' not in client.get(f"/queues/{case.queue}").text  # no bulk select

    before = timeline_size(pages_app, case.id)
    refused = client.post(f"/cases/{case.id}/note", data={"text": "x", "csrf_token": csrf})
    assert refused.status_code == 403
    assert "lacks the 'work' permission" in html.unescape(refused.text)
    assert timeline_size(pages_app, case.id) == before


@pytest.mark.parametrize(("name", "status"), [("vera", 403), ("olga", 403), ("adam", 403),
                                              ("alice", 200)])  # fmt: skip
def test_only_approvers_see_the_approvals(client: TestClient, name: str, status: int) -> None:
    login(client, name)
    response = client.get("/approvals")
    assert response.status_code == status
    nav = 'href="/approvals"' in client.get("/queues").text
    assert nav is (status == 200)


def test_an_unknown_case_is_a_not_found_page_and_a_bad_id_names_the_problem(
    client: TestClient,
) -> None:
    login(client, "vera")
    missing = client.get("/cases/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert "Not found" in missing.text
    assert "<html" in missing.text
    bad = client.get("/cases/not-an-id")
    assert bad.status_code == 422
    assert "is not an id" in bad.text


def test_every_page_is_labelled_and_has_a_skip_link(client: TestClient, pages_app: App) -> None:
    login(client, "alice")
    case = case_by_entity(pages_app, "pi_big")
    for path in ("/queues", f"/queues/{case.queue}", f"/cases/{case.id}", "/approvals",
                 "/reconcile/review", "/dashboard"):  # fmt: skip
        page = client.get(path)
        assert page.status_code == 200, path
        assert '<a class="skip-link" href="#main">' in page.text, path
        assert '<main id="main"' in page.text, path
        assert '<html lang="en">' in page.text, path
        assert unlabelled_controls(page.text) == [], path
        assert csrf_of(page.text)


def test_the_vendored_scripts_are_served_locally(client: TestClient) -> None:
    for path in ("/static/vendor/htmx.min.js", "/static/vendor/chartist.umd.js",
                 "/static/vendor/chartist.css", "/static/app.js", "/static/app.css"):  # fmt: skip
        response = client.get(path)
        assert response.status_code == 200, path
        assert len(response.content) > 500, path
