"""Metrics and outbound webhooks over HTTP: ``GET /api/v1/metrics`` and ``GET /metrics`` read
the summaries; subscriptions and deliveries by role; redelivery."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from recoup.adapters.clock import FixedClock
from recoup.bootstrap import App
from recoup.domain.identity import Permission
from recoup.domain.notify import DeliveryStatus, SendResult
from recoup.entrypoints.api.app import create_app
from recoup.services.cases import move_case
from recoup.services.notify import Delivering, deliver_due
from recoup.settings import NotifySettings
from tests.e2e.api.api_support import Client, RoleAuth, principal, seed
from tests.e2e.api.api_support import client_as as client_as

SECRET = "whsec_api_test_0123456789"


class Refusing:
    """A sender whose receiver always answers 400."""

    def send(self, request: object) -> SendResult:
        return SendResult(400, "HTTP 400", 1)


def test_metrics_json_reads_the_summaries(app: App, client_as: Client) -> None:
    seeded = seed(app)
    some_case = sorted(seeded.case_ids.values())[0]
    move_case(some_case, "resolved", "paid", actor="user:ann", uow=app.uow, clock=app.clock,
              resolution="recovered")  # fmt: skip
    answer = client_as("viewer").get("/api/v1/metrics")
    assert answer.status_code == 200
    body = answer.json()
    with app.reader() as tx:
        cases = tx.list_cases({}, 1000)
    assert body["cases"] == len(cases)
    assert body["open_cases"] == sum(1 for c in cases if c.is_open)
    assert body["events"] == 10
    assert body["by_status"]["resolved"] >= 1
    assert sum(r["count"] for r in body["tier_split"].values()) == len(cases)
    assert body["time_to_resolution"]["count"] == 1
    assert body["time_to_resolution"]["median_seconds"] is not None
    assert all(isinstance(v, str) for v in body["exposure_open"].values())  # money as text
    assert body["reconcile_auto_match"]["of"] >= 1
    assert {r["reason_code"] for r in body["recovery_by_reason"]} <= {
        "stripe:insufficient_funds", "stripe:declined", "stripe:stolen_card", "visa:10.4",
    }  # fmt: skip


def test_metrics_need_credentials(client_as: Client) -> None:
    assert client_as().get("/api/v1/metrics").status_code == 401
    assert client_as().get("/metrics").status_code == 401


def test_prometheus_text_is_served_to_readers(app: App, client_as: Client) -> None:
    seed(app)
    answer = client_as("viewer").get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(answer.text)}
    assert families["recoup_events"].samples[0].value == 10
    with app.reader() as tx:
        total = len(tx.list_cases({}, 1000))
    assert sum(s.value for s in families["recoup_cases"].samples) == total
    touch = families["recoup_time_to_first_touch_seconds"]
    inf = [s for s in touch.samples if s.labels.get("le") == "+Inf"]
    assert len(inf) == 1
    assert "recoup_exposure_open" in families
    schema = client_as("viewer").get("/api/openapi.json").json()
    assert "/metrics" not in schema["paths"]
    assert "/api/v1/metrics" in schema["paths"]


def test_prometheus_takes_the_metrics_key_instead_of_a_user(app: App) -> None:
    notify = NotifySettings(metrics_key=SecretStr("scrape-key-0123456789"))
    keyed = App(**{**vars(app), "settings": app.settings.model_copy(update={"notify": notify})})
    api = create_app(keyed, {})
    api.state.auth = RoleAuth(None)
    client = TestClient(api, raise_server_exceptions=False)
    ok = client.get("/metrics", headers={"Authorization": "Bearer scrape-key-0123456789"})
    assert ok.status_code == 200
    assert "recoup_cases" in ok.text
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401


def test_subscriptions_by_role_and_the_secret_shown_once(app: App, client_as: Client) -> None:
    new = {"url": "https://hooks.example.test/recoup", "events": ["opened", "resolved"],
           "secret": SECRET}  # fmt: skip
    assert client_as("operator").post("/api/v1/webhooks/subscriptions", json=new).status_code == 403
    assert client_as("viewer").get("/api/v1/webhooks/subscriptions").json() == []
    made = client_as("admin").post("/api/v1/webhooks/subscriptions", json=new)
    assert made.status_code == 201
    assert made.json()["secret"] == SECRET
    listed = client_as("viewer").get("/api/v1/webhooks/subscriptions").json()
    assert [s["id"] for s in listed] == [made.json()["id"]]
    assert "secret" not in listed[0]
    generated = client_as("admin").post("/api/v1/webhooks/subscriptions",
                                        json={"url": new["url"], "events": ["opened"]})  # fmt: skip
    assert len(generated.json()["secret"]) >= 32
    bad = client_as("admin").post("/api/v1/webhooks/subscriptions",
                                  json={"url": "ftp://x", "events": ["opened"]})  # fmt: skip
    assert bad.status_code == 422
    assert bad.json()["field"] == "url"
    assert len(client_as("viewer").get("/api/v1/webhooks/subscriptions").json()) == 2
    sub_id = made.json()["id"]
    path = f"/api/v1/webhooks/subscriptions/{sub_id}/disable"
    assert client_as("viewer").post(path).status_code == 403
    off = client_as("admin").post(path)
    assert off.status_code == 200
    assert off.json()["is_active"] is False
    assert client_as("admin").post(path).status_code == 409


def test_deliveries_with_attempts_and_redelivery(app: App, client_as: Client) -> None:
    made = client_as("admin").post(
        "/api/v1/webhooks/subscriptions",
        json={"url": "http://127.0.0.1:9/x", "events": ["opened"], "secret": SECRET},
    )
    assert made.status_code == 201
    seed(app)
    clock = FixedClock(app.clock.now())
    deliver_due(uow=app.uow, clock=clock, delivering=Delivering(sender=Refusing()))
    listed = client_as("viewer").get("/api/v1/webhooks/deliveries", params={"status": "failed"})
    assert listed.status_code == 200
    deliveries = listed.json()
    assert deliveries
    assert all(d["status"] == "failed" for d in deliveries)
    first = deliveries[0]
    assert [(a["number"], a["status_code"], a["outcome"]) for a in first["history"]] == [
        (1, 400, "failed")]  # fmt: skip
    assert first["payload"]["type"] == "case.opened"

    path = f"/api/v1/webhooks/deliveries/{first['id']}/redeliver"
    assert client_as("operator").post(path).status_code == 403
    again = client_as("admin").post(path)
    assert again.status_code == 200
    assert again.json()["status"] == DeliveryStatus.PENDING.value
    assert client_as("admin").post(path).json()["status"] == "pending"  # no change
    assert client_as("admin").post("/api/v1/webhooks/deliveries/ffffffff/redeliver"
                                   ).status_code == 404  # fmt: skip
    by_case = client_as("viewer").get("/api/v1/webhooks/deliveries",
                                      params={"case_id": first["case_id"]}).json()  # fmt: skip
    assert [d["id"] for d in by_case] == [first["id"]]
    assert client_as("viewer").get("/api/v1/webhooks/deliveries",
                                   params={"case_id": "nope"}).status_code == 422  # fmt: skip


@pytest.mark.parametrize("role", ["viewer", "operator", "approver", "admin", "auditor"])
def test_every_role_with_read_sees_metrics(client_as: Client, role: str) -> None:
    who = principal(role)
    expected = 200 if who.can(Permission.READ) else 403
    assert client_as(role).get("/api/v1/metrics").status_code == expected
