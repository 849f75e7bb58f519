"""Cases over the API on SQLite and PostgreSQL: the queue with filters and cursors, one case
with all it carries, and every write (audited under the caller, refused writes change nothing).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from recoup.bootstrap import App
from recoup.entrypoints.api.v1.common import encode_cursor
from tests.e2e.api.api_support import Client, Seeded, seed
from tests.e2e.api.api_support import client_as as client_as

CASES = "/api/v1/cases"
DUMMY = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def seeded(app: App) -> Seeded:
    return seed(app)


def audit_actions(app: App, case_id: str) -> list[tuple[str, str]]:
    with app.reader() as tx:
        return [(r.actor, r.action) for r in tx.case_audit(case_id)]


def case_state(app: App, case_id: str) -> dict[str, Any]:
    with app.reader() as tx:
        case = tx.find_case(case_id)
        return {"status": case.status.value, "version": case.version,
                "assignee": case.assignee, "timeline": len(tx.case_timeline(case_id)),
                "audit": len(tx.case_audit(case_id))}  # fmt: skip


def test_list_filters_and_pages_with_a_cursor(seeded: Seeded, client_as: Client) -> None:
    client = client_as("viewer")
    body = client.get(CASES).json()
    assert [c["entity_key"] for c in body["items"]] == ["pi_4", "re_1", "pi_1", "dp_1", "c2"]
    assert body["next_cursor"] is None
    first = body["items"][0]
    assert (first["amount"], first["currency"], first["opened_at"]) == (
        "99.00", "EUR", "2026-10-01T12:00:00Z")  # fmt: skip

    seen: list[str] = []
    cursor = None
    for _ in range(3):
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get(CASES, params=params).json()
        seen += [c["entity_key"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["pi_4", "re_1", "pi_1", "dp_1", "c2"]

    def keys(**params: Any) -> list[str]:
        return [c["entity_key"] for c in client.get(CASES, params=params).json()["items"]]

    assert keys(kind="policy") == ["dp_1"]
    assert keys(queue="payments_ops.system", tier="guided") == ["re_1", "c2"]
    assert keys(team="disputes") == ["dp_1"]
    assert keys(type="payment_failed") == ["pi_4", "pi_1"]
    assert keys(status="resolved") == []
    assert keys(sort="urgency", limit=1)[0] == "pi_4"
    urgent = client.get(CASES, params={"sort": "urgency", "limit": 3}).json()
    rest = client.get(CASES, params={"sort": "urgency", "cursor": urgent["next_cursor"]}).json()
    assert len(urgent["items"]) + len(rest["items"]) == 5
    assert rest["next_cursor"] is None


@pytest.mark.parametrize(("params", "field"), [
    ({"status": "lost"}, None), ({"tier": "gold"}, None), ({"kind": "other"}, "kind"),
    ({"cursor": "bm9wZQ"}, "cursor"), ({"limit": 0}, "limit"), ({"sort": "oldest"}, "sort"),
])  # fmt: skip
def test_bad_filters_are_refused_naming_the_field(
    seeded: Seeded, client_as: Client, params: dict[str, Any], field: str | None
) -> None:
    response = client_as("viewer").get(CASES, params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json().get("field") == field


def test_a_cursor_from_another_list_or_forged_is_refused(seeded: Seeded, client_as: Client) -> None:
    client = client_as("viewer")
    events = client.get("/api/v1/events", params={"limit": 1}).json()
    forged = encode_cursor({"k": "cases.newest", "t": "2026-10-01T12:00:00+00:00", "i": "zz"})
    naive = encode_cursor({"k": "cases.newest", "t": "2026-10-01T12:00:00", "i": DUMMY})
    for cursor in (events["next_cursor"], forged, naive):
        response = client.get(CASES, params={"cursor": cursor})
        assert (response.status_code, response.json()["field"]) == (422, "cursor")
    good = encode_cursor({"k": "cases.newest", "t": "2026-10-01T12:00:00+00:00", "i": DUMMY})
    assert client.get(CASES, params={"cursor": good}).json()["items"] == []


def test_detail_carries_findings_evidence_timeline_decision_and_audit(
    seeded: Seeded, client_as: Client
) -> None:
    case_id = seeded.case_ids["pi_1"]
    body = client_as("viewer").get(f"{CASES}/{case_id[:8]}").json()
    assert body["case"]["id"] == case_id
    assert [f["type"] for f in body["findings"]] == ["payment_failed", "payment_failed"]
    assert [e["external_id"] for e in body["evidence"]] == ["e1", "e2"]
    assert sorted(e["kind"] for e in body["timeline"]) == ["finding_attached", "opened"]
    assert body["decision"]["record"]["outputs"]["tier"] == "straight_through"
    assert any("tier" in line for line in body["decision"]["explanation"])
    assert body["audit"][0]["action"] == "case.opened"
    assert body["next_action"] == "assign it to a member of payments_ops"
    assert (body["recovery"], body["messages"], body["postings"], body["attachments"]) == (
        None, [], [], [])  # fmt: skip


def test_unknown_and_malformed_ids(seeded: Seeded, client_as: Client) -> None:
    client = client_as("viewer")
    assert client.get(f"{CASES}/00000000").status_code == 404
    assert client.get(f"{CASES}/not-hex").status_code == 422


def test_transitions_resolve_reopen_are_audited_under_the_caller(
    app: App, seeded: Seeded, client_as: Client
) -> None:
    client = client_as("operator", name="olga")
    case_id = seeded.case_ids["re_1"]
    moved = client.post(f"{CASES}/{case_id}/transitions",
                        json={"to": "in_progress", "reason": "looking"})  # fmt: skip
    assert (moved.status_code, moved.json()["status"]) == (200, "in_progress")
    resolved = client.post(
        f"{CASES}/{case_id}/resolve",
        json={"code": "false_positive", "reason": "refund went through"},
    )
    assert (resolved.json()["status"], resolved.json()["outcome"]) == ("resolved", "false_positive")
    reopened = client.post(f"{CASES}/{case_id}/reopen", json={"reason": "customer wrote"})
    assert (reopened.json()["status"], reopened.json()["reopen_count"]) == ("triaged", 1)
    assert audit_actions(app, case_id)[-3:] == [
        ("olga", "case.in_progress"), ("olga", "case.resolved"), ("olga", "case.reopened"),
    ]  # fmt: skip


def test_a_refused_transition_is_a_409_and_changes_nothing(
    app: App, seeded: Seeded, client_as: Client
) -> None:
    case_id = seeded.case_ids["pi_4"]
    before = case_state(app, case_id)
    response = client_as("operator").post(f"{CASES}/{case_id}/transitions",
                                          json={"to": "closed", "reason": "done"})  # fmt: skip
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert case_state(app, case_id) == before
    missing = client_as("operator").post(f"{CASES}/{case_id}/transitions", json={"to": "triaged"})
    assert (missing.status_code, missing.json()["field"]) == (422, "reason")
    assert case_state(app, case_id) == before


def test_assign_note_snooze_wake(app: App, seeded: Seeded, client_as: Client) -> None:
    client = client_as("operator", name="olga")
    case_id = seeded.case_ids["pi_1"]
    assigned = client.post(f"{CASES}/{case_id}/assign", json={"to": "pia", "reason": "hers"})
    assert assigned.json()["assignee"] == "pia"
    queued = client.post(f"{CASES}/{case_id}/assign", json={"to": None, "reason": "away"})
    assert queued.json()["assignee"] is None
    note = client.post(f"{CASES}/{case_id}/notes", json={"text": "called the bank"})
    assert note.status_code == 201
    assert (note.json()["kind"], note.json()["actor"], note.json()["summary"]) == (
        "note", "olga", "called the bank")  # fmt: skip
    snoozed = client.post(
        f"{CASES}/{case_id}/snooze",
        json={"until": "2026-10-03T09:00:00+02:00", "reason": "bank holiday"},
    )
    assert (snoozed.json()["status"], snoozed.json()["snoozed_until"]) == (
        "snoozed", "2026-10-03T07:00:00Z")  # fmt: skip
    detail = client.get(f"{CASES}/{case_id}").json()
    assert detail["next_action"] == "nothing until 2026-10-03T07:00:00+00:00 (snoozed)"
    woken = client.post(f"{CASES}/{case_id}/wake")
    assert woken.json()["status"] != "snoozed"
    naive = client.post(f"{CASES}/{case_id}/snooze",
                        json={"until": "2026-10-03T09:00:00", "reason": "x"})  # fmt: skip
    assert (naive.status_code, naive.json()["field"]) == (422, "until")
    actions = [a for _, a in audit_actions(app, case_id)]
    assert actions[-5:] == ["case.assigned", "case.assigned", "case.noted", "case.snoozed",
                            "case.woken"]  # fmt: skip


def test_a_note_sent_twice_at_one_instant_is_stored_once(
    app: App, seeded: Seeded, client_as: Client
) -> None:
    client = client_as("operator", name="olga")
    case_id = seeded.case_ids["pi_1"]
    first = client.post(f"{CASES}/{case_id}/notes", json={"text": "called"})
    retry = client.post(f"{CASES}/{case_id}/notes", json={"text": "called"})
    assert retry.status_code == 201
    assert retry.json()["id"] == first.json()["id"]
    assert [a for _, a in audit_actions(app, case_id)].count("case.noted") == 1
    app.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    later = client.post(f"{CASES}/{case_id}/notes", json={"text": "called"})
    assert later.json()["id"] != first.json()["id"]
    assert [a for _, a in audit_actions(app, case_id)].count("case.noted") == 2


def test_attachments_are_stored_once_with_their_hash(
    app: App, seeded: Seeded, client_as: Client
) -> None:
    client = client_as("operator", name="olga")
    case_id = seeded.case_ids["dp_1"]
    content = b"%PDF-1.4 evidence"
    files = {"file": ("receipt.pdf", content, "application/pdf")}
    first = client.post(f"{CASES}/{case_id}/attachments", files=files)
    assert first.status_code == 201
    meta = first.json()
    assert (meta["filename"], meta["size"], meta["sha256"], meta["content_type"]) == (
        "receipt.pdf",
        len(content),
        hashlib.sha256(content).hexdigest(),
        "application/pdf",
    )
    again = client.post(f"{CASES}/{case_id}/attachments", files=files)
    assert again.json()["id"] == meta["id"]
    detail = client.get(f"{CASES}/{case_id}").json()
    assert [a["id"] for a in detail["attachments"]] == [meta["id"]]
    assert [a for _, a in audit_actions(app, case_id)].count("case.attached") == 1

    download = client_as("viewer").get(f"{CASES}/{case_id}/attachments/{meta['id']}")
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"] == "attachment; filename*=UTF-8''receipt.pdf"
    other = seeded.case_ids["c2"]
    assert client.get(f"{CASES}/{other}/attachments/{meta['id']}").status_code == 404
    empty = client.post(f"{CASES}/{case_id}/attachments", files={"file": ("e.txt", b"", "x/y")})
    assert (empty.status_code, empty.json()["field"]) == (422, "file")


def test_an_oversized_attachment_is_refused(
    app: App, seeded: Seeded, client_as: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recoup.entrypoints.api.v1 import case_actions

    monkeypatch.setattr(case_actions, "MAX_ATTACHMENT_BYTES", 10)
    case_id = seeded.case_ids["dp_1"]
    before = case_state(app, case_id)
    response = client_as("operator").post(
        f"{CASES}/{case_id}/attachments", files={"file": ("big.bin", b"x" * 11, "a/b")}
    )
    assert (response.status_code, response.json()["field"]) == (422, "file")
    assert case_state(app, case_id) == before


def test_bulk_by_ids_is_all_or_nothing(app: App, seeded: Seeded, client_as: Client) -> None:
    client = client_as("operator", name="olga")
    ids = [seeded.case_ids["pi_1"], seeded.case_ids["pi_4"]]
    moved = client.post(
        f"{CASES}/bulk",
        json={"action": "move", "case_ids": ids, "to": "in_progress", "reason": "sweep"},
    )
    assert moved.status_code == 200
    assert moved.json()["count"] == 2
    assert {c["to_status"] for c in moved.json()["applied"]} == {"in_progress"}

    states = {i: case_state(app, i) for i in seeded.case_ids.values()}
    bad = client.post(
        f"{CASES}/bulk",
        json={
            "action": "move",
            "to": "triaged",
            "reason": "x",
            "case_ids": [*ids, seeded.case_ids["c2"]],
        },
    )
    assert bad.status_code == 422  # in_progress cannot go back to triaged
    assert "nothing applied" in bad.json()["detail"]
    assert {i: case_state(app, i) for i in seeded.case_ids.values()} == states

    assigned = client.post(
        f"{CASES}/bulk",
        json={"action": "assign", "case_ids": ids, "assignee": "pia", "reason": "hers"},
    )
    assert assigned.json()["count"] == 2
    resolved = client.post(f"{CASES}/bulk", json={
        "action": "resolve", "filter": {"queue": "disputes.policy"},
        "resolution": "written_off", "reason": "lost"})  # fmt: skip
    assert [c["case_id"] for c in resolved.json()["applied"]] == [seeded.case_ids["dp_1"]]
    both = client.post(
        f"{CASES}/bulk",
        json={"action": "move", "to": "waiting", "reason": "x", "case_ids": ids, "filter": {}},
    )
    assert (both.status_code, both.json()["field"]) == (422, "case_ids")


def test_a_viewer_cannot_write_and_nothing_changes(
    app: App, seeded: Seeded, client_as: Client
) -> None:
    case_id = seeded.case_ids["pi_1"]
    before = case_state(app, case_id)
    client = client_as("viewer")
    assert client.post(f"{CASES}/{case_id}/notes", json={"text": "hi"}).status_code == 403
    assert (
        client.post(
            f"{CASES}/{case_id}/resolve", json={"code": "recovered", "reason": "x"}
        ).status_code
        == 403
    )
    assert case_state(app, case_id) == before


def test_openapi_documents_money_as_strings(app: App, client_as: Client) -> None:
    spec = client_as().get("/api/openapi.json").json()
    case = spec["components"]["schemas"]["CaseOut"]["properties"]
    assert case["amount"]["anyOf"] == [{"type": "string"}, {"type": "null"}]
    assert json.dumps(spec).count("application/problem+json") > 10


def test_a_body_over_the_request_ceiling_is_refused_before_it_is_parsed(
    app: App, seeded: Seeded, client_as: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    web = app.settings.web.model_copy(update={"max_request_bytes": 4096})
    monkeypatch.setattr(app, "settings", app.settings.model_copy(update={"web": web}))
    parsed: list[int] = []
    monkeypatch.setattr("starlette.formparsers.MultiPartParser.on_part_begin",
                        lambda self: parsed.append(1))  # fmt: skip
    case_id = seeded.case_ids["dp_1"]
    before = case_state(app, case_id)
    client = client_as("operator")
    url = f"{CASES}/{case_id}/attachments"

    declared = client.post(url, files={"file": ("big.bin", b"x" * 5000, "a/b")})

    def chunks() -> Iterator[bytes]:  # no Content-Length: the ceiling is counted as it arrives
        yield b"--b\r\nContent-Disposition: form-data; name=file; filename=a\r\n\r\n"
        yield from (b"x" * 1024 for _ in range(8))

    streamed = client.post(url, content=chunks(),
                           headers={"Content-Type": "multipart/form-data; boundary=b"})  # fmt: skip

    for refused in (declared, streamed):
        assert refused.status_code == 413
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "too_large"
    assert parsed == []
    assert case_state(app, case_id) == before
    small = client.post(url, files={"file": ("ok.txt", b"fine", "text/plain")})
    assert small.status_code == 201
