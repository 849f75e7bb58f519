"""Policies, reconciliation, the audit trail and the quarantine over the API, on SQLite and
PostgreSQL."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa

from recoup.adapters.policy import DEFAULT_POLICY_PATH
from recoup.adapters.store import tables as t
from recoup.bootstrap import App
from recoup.domain.audit import GENESIS, record_hash
from tests.e2e.api.api_support import Client, Seeded, seed
from tests.e2e.api.api_support import client_as as client_as

V1 = "/api/v1"


@pytest.fixture
def seeded(app: App) -> Seeded:
    return seed(app)


def pack(threshold: str = "5", *, folder: str | None = "policy") -> bytes:
    """The default policy pack as a zip, with the write-off threshold changed."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file in sorted(DEFAULT_POLICY_PATH.glob("*.json")):
            text = file.read_text()
            if file.name == "decide.json":
                assert '"< 5"' in text
                text = text.replace('"< 5"', f'"< {threshold}"')
            archive.writestr(f"{folder}/{file.name}" if folder else file.name, text)
    return buffer.getvalue()


# -- policies ----------------------------------------------------------------------------------


def test_the_loaded_policy_with_its_tables(app: App, client_as: Client) -> None:
    body = client_as("viewer").get(f"{V1}/policies").json()
    assert body["files"] == ["decide.json", "provisional_credit.json"]
    assert body["version"].startswith("sha256:")
    tables = {(t["file"], t["name"]): t for t in body["tables"]}
    assert {"impact", "tier", "owner", "sla", "pause", "control", "urgency"} <= {
        name for file, name in tables if file == "decide.json"}  # fmt: skip
    assert "type" in tables[("decide.json", "tier")]["inputs"]
    assert tables[("decide.json", "tier")]["outputs"] == ["tier"]


def test_validate_a_zip_and_loose_files(app: App, client_as: Client) -> None:
    client = client_as("admin")
    good = client.post(
        f"{V1}/policies/validate",
        files={"files": ("pack.zip", pack(folder="policy"), "application/zip")},
    )
    assert good.status_code == 200
    assert (good.json()["valid"], good.json()["files"]) == (
        True, ["decide.json", "provisional_credit.json"])  # fmt: skip
    flat = client.post(
        f"{V1}/policies/validate",
        files={"files": ("pack.zip", pack(folder=None), "application/zip")},
    )
    assert flat.json()["version"] == good.json()["version"]

    broken = client.post(f"{V1}/policies/validate", files=[
        ("files", ("decide.json", b'{"nodes": [', "application/json")),
    ])  # fmt: skip
    body = broken.json()
    assert body["valid"] is False
    assert body["problems"][0]["file"] == "decide.json"
    assert "line 1: not JSON" in body["problems"][0]["message"]


@pytest.mark.parametrize("upload", [
    ("evil.zip", "zip-slip"), ("notes.txt", b"hello"), ("pack.zip", b"PK\x03\x04broken"),
])  # fmt: skip
def test_bad_uploads_are_refused(app: App, client_as: Client, upload: tuple[str, Any]) -> None:
    name, content = upload
    if content == "zip-slip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("../outside.json", "{}")
        content = buffer.getvalue()
    response = client_as("admin").post(
        f"{V1}/policies/validate", files={"files": (name, content, "application/zip")}
    )
    assert (response.status_code, response.json()["field"]) == (422, "files")


def test_backtest_reports_what_a_candidate_would_change(seeded: Seeded, client_as: Client) -> None:
    client = client_as("admin")
    same = client.post(f"{V1}/policies/backtest", files={"files": ("p.zip", pack("5"), "a/b")})
    assert (same.json()["cases"], same.json()["changed"]) == (5, 0)
    raised = client.post(f"{V1}/policies/backtest", files={"files": ("p.zip", pack("20"), "x")})
    body = raised.json()
    assert body["cases"] == 5
    assert body["by_output"] == {"write_off": body["changed"]}
    assert body["changed"] == len(body["changed_cases"]) >= 1
    assert all(c["changes"] == {"write_off": [False, True]} for c in body["changed_cases"])
    assert body["newly_written_off"][0]["currency"] == "EUR"
    bad = client.post(
        f"{V1}/policies/backtest", files={"files": ("decide.json", b"[", "application/json")}
    )
    assert (bad.status_code, bad.json()["field"], bad.json()["file"]) == (
        422, "files", "decide.json")  # fmt: skip


# -- reconciliation ----------------------------------------------------------------------------


def test_runs_breaks_and_suggestions(seeded: Seeded, client_as: Client) -> None:
    client = client_as("viewer")
    runs = client.get(f"{V1}/reconcile/runs").json()
    assert [r["id"] for r in runs] == [seeded.run_id]
    run = client.get(f"{V1}/reconcile/runs/{seeded.run_id}").json()
    assert run["stats"]["left_matched"] == 1
    assert run["stats"]["unreconciled"] == {"EUR": "115.00"}
    assert client.get(f"{V1}/reconcile/runs/{seeded.suggested_match}").status_code == 404

    breaks = client.get(f"{V1}/reconcile/breaks").json()
    assert {b["reason"] for b in breaks["items"]} == {"missing_counterpart"}
    assert len(breaks["items"]) == 3
    page = client.get(f"{V1}/reconcile/breaks", params={"limit": 2}).json()
    rest = client.get(f"{V1}/reconcile/breaks", params={"cursor": page["next_cursor"]}).json()
    assert [b["id"] for b in page["items"] + rest["items"]] == [
        b["id"] for b in breaks["items"]]  # fmt: skip
    assert client.get(f"{V1}/reconcile/breaks", params={"side": "right"}).json()["items"] == []
    assert client.get(f"{V1}/reconcile/breaks", params={"status": "resolved"}).json() == {
        "items": [], "next_cursor": None}  # fmt: skip

    suggestions = client.get(f"{V1}/reconcile/suggestions").json()
    assert [(s["match_id"], s["status"], s["amount_diff"]) for s in suggestions] == [
        (seeded.suggested_match, "suggested", "0")]  # fmt: skip


def test_confirm_a_suggestion_once(app: App, seeded: Seeded, client_as: Client) -> None:
    client = client_as("operator", name="olga")
    url = f"{V1}/reconcile/suggestions/{seeded.suggested_match}"
    assert client.post(f"{url}/confirm", json={"reason": " "}).status_code == 422
    done = client.post(f"{url}/confirm", json={"reason": "same customer, same amount"})
    assert done.json() == {"match_id": seeded.suggested_match, "status": "confirmed", "pairs": 1}
    again = client.post(f"{url}/reject", json={"reason": "changed my mind"})
    assert again.status_code == 409
    assert client_as("viewer").get(f"{V1}/reconcile/suggestions").json() == []
    with app.reader() as tx:
        (row,) = tx.match_rows(seeded.suggested_match)
    assert (row["status"], row["decided_by"]) == ("confirmed", "olga")
    unknown = client.post(f"{V1}/reconcile/suggestions/{seeded.run_id}/reject",
                          json={"reason": "x"})  # fmt: skip
    assert unknown.status_code == 404


# -- audit -------------------------------------------------------------------------------------


def test_export_streams_the_chain_with_its_head_and_verification(
    seeded: Seeded, client_as: Client
) -> None:
    response = client_as("auditor").get(f"{V1}/audit/export")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in response.text.splitlines()]
    records, trailer = lines[:-1], lines[-1]
    assert trailer["kind"] == "verification"
    assert trailer["intact"] is True
    assert trailer["head_seq"] == len(records) == int(response.headers["x-audit-head-seq"])
    prev = GENESIS
    for expected_seq, r in enumerate(records, start=1):
        assert (r["kind"], r["seq"], r["prev_hash"]) == ("record", expected_seq, prev)
        digest = record_hash(
            r["seq"],
            datetime.fromisoformat(r["at"]),
            r["actor"],
            r["action"],
            r["subject_type"],
            r["subject_id"],
            r["data"],
            r["prev_hash"],
        )
        assert digest == r["hash"]
        prev = r["hash"]
    assert prev == trailer["head_hash"] == response.headers["x-audit-head-hash"]
    verify = client_as("auditor").get(f"{V1}/audit/verify").json()
    assert (verify["intact"], verify["records"], verify["problem"]) == (True, len(records), None)


def test_a_trail_shorter_than_its_head_is_reported(
    app: App, seeded: Seeded, client_as: Client
) -> None:
    with app.engine.begin() as conn:
        seq = conn.execute(sa.select(t.audit_head.c.seq)).scalar_one()
        conn.execute(t.audit_head.update().values(seq=seq + 1, hash="f" * 64))
    verify = client_as("auditor").get(f"{V1}/audit/verify").json()
    assert verify["intact"] is False
    assert verify["problem"]["seq"] == seq + 1
    assert "records were removed" in verify["problem"]["reason"]
    export = client_as("auditor").get(f"{V1}/audit/export")
    assert export.headers["x-audit-intact"] == "false"
    assert json.loads(export.text.splitlines()[-1])["intact"] is False


# -- quarantine --------------------------------------------------------------------------------


def test_list_discard_and_replay_quarantined_records(
    app: App, seeded: Seeded, client_as: Client
) -> None:
    viewer = client_as("viewer")
    (item,) = viewer.get(f"{V1}/quarantine").json()
    assert (item["label"], item["line"], item["status"]) == ("bad.jsonl", 1, "open")

    admin = client_as("admin", name="ada")
    replay = admin.post(f"{V1}/quarantine/{item['id'][:8]}/replay").json()
    assert replay["replayed"] == []
    assert [r["id"] for r in replay["still_refused"]] == [item["id"]]

    assert admin.post(f"{V1}/quarantine/{item['id']}/discard", json={"reason": ""}).status_code \
        == 422  # fmt: skip
    discarded = admin.post(f"{V1}/quarantine/{item['id']}/discard",
                           json={"reason": "sender fixed it upstream"})  # fmt: skip
    assert discarded.json()["status"] == "discarded"
    assert viewer.get(f"{V1}/quarantine").json() == []
    assert [i["status"] for i in viewer.get(f"{V1}/quarantine", params={"status": "all"}).json()] \
        == ["discarded"]  # fmt: skip
    with app.reader() as tx:
        actors = [(r.actor, r.action) for r in tx.audit_records() if r.subject_type == "quarantine"]
    assert actors[-1] == ("ada", "quarantine.discarded")
    assert admin.post(f"{V1}/quarantine/ffffffff/replay").status_code == 404
