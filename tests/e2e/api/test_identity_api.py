"""Identity over HTTP: the login cookie, CSRF on cookie requests (not on key requests), 401 for
no or bad credentials vs 403 for too few permissions, admin routes, and four-eyes approvals."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from recoup.adapters.passwords import fast_credentials
from recoup.bootstrap import App
from recoup.entrypoints.api import auth
from recoup.entrypoints.api.app import create_app
from recoup.services import identity
from recoup.services.ingest import ingest_records
from tests.helpers import raw, record

CREDS = fast_credentials()
PASSWORD = "correct horse battery"


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    api = create_app(app, {})
    api.state.auth = auth.SessionAuthenticator(app, CREDS)
    for name, roles in (("root", ["admin"]), ("ana", ["operator"]), ("bea", ["approver"])):
        identity.create_user(name, PASSWORD, roles, actor="test", uow=app.uow, clock=app.clock,
                             credentials=CREDS, settings=app.settings.web)  # fmt: skip
    with TestClient(api, base_url="https://testserver") as c:
        yield c


def log_in(client: TestClient, name: str) -> str:
    response = client.post("/api/v1/session", json={"name": name, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return str(response.json()["csrf_token"])


def key(app: App, name: str, *roles: str) -> dict[str, str]:
    made = identity.create_key(name, roles, actor="test", uow=app.uow, clock=app.clock,
                               credentials=CREDS)  # fmt: skip
    return {"Authorization": f"Bearer {made.token}"}


def dispute(app: App, amount: str) -> str:
    rec = record("d_1", "dispute.opened", amount=amount, reason="visa:10.4", dispute="dp_1",
                 charge="ch_1", customer="cus_1")  # fmt: skip
    ingest_records(raw([rec]), uow=app.uow, clock=app.clock, detectors=app.detectors,
                   label="t", policy=app.policy)  # fmt: skip
    with app.reader() as tx:
        (case,) = tx.list_cases({"status": None}, 10)
    return case.id


def problem(response: Any) -> tuple[int, str]:
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.status_code, response.json()["detail"]


def test_the_login_cookie_is_httponly_and_me_says_who(client: TestClient) -> None:
    response = client.post("/api/v1/session", json={"name": "ana", "password": PASSWORD})

    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("recoup_session=")
    for attribute in ("HttpOnly", "Path=/", "SameSite=lax", "Secure"):
        assert attribute in cookie
    body = response.json()
    assert (body["name"], body["roles"]) == ("ana", ["operator"])
    assert body["csrf_token"] not in cookie
    me = client.get("/api/v1/me").json()
    assert me == {"name": "ana", "kind": "user", "actor": "ana", "roles": ["operator"],
                  "permissions": ["read", "work"]}  # fmt: skip


def test_a_wrong_password_is_403_and_no_credentials_is_401(client: TestClient) -> None:
    wrong = client.post("/api/v1/session", json={"name": "ana", "password": "nope nope nope"})
    assert problem(wrong) == (403, "wrong name or password")
    assert "set-cookie" not in wrong.headers
    none = client.get("/api/v1/me")
    assert problem(none) == (401, "Log in or present an API key first.")
    assert none.headers["www-authenticate"] == 'Bearer realm="recoup"'
    bad_key = client.get("/api/v1/me", headers={"Authorization": "Bearer rk_00_nothing"})
    assert problem(bad_key) == (401, "the API key is unknown, malformed or revoked")
    stale = client.get("/api/v1/me", headers={"Cookie": "recoup_session=made-up"})
    assert problem(stale) == (401, "your session has ended; log in again")


def test_cookie_posts_need_the_csrf_token_key_posts_do_not(client: TestClient, app: App) -> None:
    case_id = dispute(app, "900.00")
    csrf = log_in(client, "ana")
    url = f"/api/v1/cases/{case_id}/write-off"
    body = {"reason": "customer unreachable for 90 days"}

    missing = client.post(url, json=body)
    assert problem(missing) == (403, "CSRF token missing or wrong")
    wrong = client.post(url, json=body, headers={"X-CSRF-Token": csrf + "x"})
    assert problem(wrong) == (403, "CSRF token missing or wrong")
    assert client.get("/api/v1/approvals").json() == []  # nothing happened

    ok = client.post(url, json=body, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 202, ok.text
    assert ok.json()["approval"]["requester"] == "ana"

    client.cookies.clear()
    machine = key(app, "ops-bot", "operator")
    other = dispute_two(app)
    by_key = client.post(f"/api/v1/cases/{other}/write-off", json=body, headers=machine)
    assert by_key.status_code == 202, by_key.text
    assert by_key.json()["approval"]["requester"] == "key:ops-bot"


def dispute_two(app: App) -> str:
    rec = record("d_2", "dispute.opened", amount="800.00", reason="visa:10.4", dispute="dp_2",
                 charge="ch_2", customer="cus_2")  # fmt: skip
    ingest_records(raw([rec]), uow=app.uow, clock=app.clock, detectors=app.detectors,
                   label="t", policy=app.policy)  # fmt: skip
    with app.reader() as tx:
        (case,) = [c for c in tx.list_cases({"status": None}, 10) if c.entity_key == "dp_2"]
    return case.id


def test_the_csrf_token_may_come_as_a_form_field(client: TestClient, app: App) -> None:
    csrf = log_in(client, "ana")
    refused = client.request("DELETE", "/api/v1/session", data={"csrf_token": "wrong"})
    assert problem(refused) == (403, "CSRF token missing or wrong")
    done = client.request("DELETE", "/api/v1/session", data={"csrf_token": csrf})
    assert done.status_code == 204
    assert 'recoup_session=""' in done.headers["set-cookie"]
    client.cookies.clear()
    assert client.get("/api/v1/me").status_code == 401


def test_logout_ends_the_session_on_the_server(client: TestClient) -> None:
    csrf = log_in(client, "ana")
    token = client.cookies["recoup_session"]
    assert client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    client.cookies.clear()
    again = client.get("/api/v1/me", headers={"Cookie": f"recoup_session={token}"})
    assert problem(again) == (401, "your session has ended; log in again")


def test_admin_routes_are_403_for_others_and_manage_users_and_keys(client: TestClient,
                                                                    app: App) -> None:  # fmt: skip
    csrf = log_in(client, "ana")
    assert problem(client.get("/api/v1/users")) == (403, "ana lacks the 'admin' permission")
    client.cookies.clear()
    csrf = log_in(client, "root")
    h = {"X-CSRF-Token": csrf}

    made = client.post("/api/v1/users", headers=h,
                       json={"name": "cy", "password": PASSWORD, "roles": ["viewer"]})  # fmt: skip
    assert made.status_code == 201, made.text
    assert made.json()["roles"] == ["viewer"]
    bad = client.post("/api/v1/users", headers=h,
                      json={"name": "dee", "password": "short", "roles": ["viewer"]})  # fmt: skip
    assert bad.status_code == 422
    assert bad.json()["field"] == "password"
    changed = client.patch("/api/v1/users/cy", headers=h, json={"roles": ["operator"]})
    assert changed.json()["roles"] == ["operator"]
    disabled = client.patch("/api/v1/users/cy", headers=h, json={"is_active": False})
    assert disabled.json()["is_active"] is False
    names = [(u["name"], u["is_active"]) for u in client.get("/api/v1/users").json()]
    assert names == [("ana", True), ("bea", True), ("cy", False), ("root", True)]

    new_key = client.post("/api/v1/keys", headers=h, json={"name": "ci", "roles": ["viewer"]})
    assert new_key.status_code == 201
    token = new_key.json()["token"]
    assert token.startswith(f"rk_{new_key.json()['id']}_")
    listed = client.get("/api/v1/keys").json()
    assert [k["name"] for k in listed] == ["ci"]
    assert "token" not in listed[0]
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=bearer).json()["kind"] == "key"
    revoked = client.delete(f"/api/v1/keys/{new_key.json()['id']}", headers=h)
    assert revoked.json()["revoked_by"] == "root"
    assert client.get("/api/v1/me", headers=bearer).status_code == 401


def test_four_eyes_over_http(client: TestClient, app: App) -> None:
    case_id = dispute(app, "900.00")
    csrf = log_in(client, "ana")
    request = client.post(f"/api/v1/cases/{case_id}/write-off", headers={"X-CSRF-Token": csrf},
                          json={"reason": "customer unreachable for 90 days"})  # fmt: skip
    approval_id = request.json()["approval"]["id"]
    # An operator may not approve at all; the approver role is needed.
    assert client.post(f"/api/v1/approvals/{approval_id}/approve",
                       headers={"X-CSRF-Token": csrf}).status_code == 403  # fmt: skip

    both = key(app, "ana-bot", "operator", "approver")
    dispute_id = dispute_two(app)
    own = client.post(f"/api/v1/cases/{dispute_id}/write-off", headers=both,
                      json={"reason": "customer unreachable for 90 days"})  # fmt: skip
    own_id = own.json()["approval"]["id"]
    client.cookies.clear()
    refused = client.post(f"/api/v1/approvals/{own_id}/approve", headers=both)
    assert problem(refused) == (403, "four-eyes: the requester of an action cannot approve it")

    csrf = log_in(client, "bea")
    waiting = client.get("/api/v1/approvals", params={"status": "requested"}).json()
    assert sorted(a["id"] for a in waiting) == sorted([approval_id, own_id])
    approved = client.post(f"/api/v1/approvals/{approval_id}/approve",
                           headers={"X-CSRF-Token": csrf}, json={"note": "checked"})  # fmt: skip
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert (body["status"], body["decided_by"], body["result"]["ok"]) == ("approved", "bea", True)
    assert Decimal(body["result"]["written_off_amount"]) == Decimal("900.00")
    twice = client.post(f"/api/v1/approvals/{approval_id}/approve",
                        headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert twice.status_code == 409
    denied = client.post(f"/api/v1/approvals/{own_id}/deny", headers={"X-CSRF-Token": csrf},
                         json={"reason": "ask a colleague"})  # fmt: skip
    assert denied.json()["status"] == "denied"
    with app.reader() as tx:
        outcomes = {c.id: c.outcome for c in tx.list_cases({"status": None}, 10)}
    assert outcomes == {case_id: "written_off", dispute_id: None}
    assert client.get("/api/v1/approvals/not-an-id").status_code == 404


def test_a_small_write_off_runs_at_once_and_the_openapi_is_precise(client: TestClient,
                                                                   app: App) -> None:  # fmt: skip
    case_id = dispute(app, "20.00")
    bot = key(app, "ops", "operator")
    done = client.post(f"/api/v1/cases/{case_id}/write-off", headers=bot,
                       json={"reason": "too small to chase"})  # fmt: skip
    assert done.status_code == 200, done.text
    assert done.json()["case"]["outcome"] == "written_off"
    spec = client.get("/api/openapi.json").json()
    paths = spec["paths"]
    for path in ("/api/v1/session", "/api/v1/me", "/api/v1/users", "/api/v1/keys",
                 "/api/v1/approvals", "/api/v1/approvals/{approval_id}/approve",
                 "/api/v1/reconcile/force-match"):  # fmt: skip
        assert path in paths, path
    login_schema = paths["/api/v1/session"]["post"]["responses"]["200"]
    assert login_schema["content"]["application/json"]["schema"]["$ref"].endswith("SessionOut")
    assert paths["/api/v1/me"]["get"]["tags"] == ["identity"]
    assert paths["/api/v1/approvals"]["get"]["tags"] == ["approvals"]
