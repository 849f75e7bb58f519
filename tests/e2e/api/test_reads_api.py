"""Events, findings, queues and the ledger over the API, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from recoup.bootstrap import App
from recoup.domain.money import Money
from recoup.domain.recovery.ledger import Account, AccountKind, JournalEntry, Line, PostingKind
from tests.conftest import T0
from tests.e2e.api.api_support import Client, Seeded, seed
from tests.e2e.api.api_support import client_as as client_as

V1 = "/api/v1"


@pytest.fixture
def seeded(app: App) -> Seeded:
    return seed(app)


def external_ids(client: Any, **params: Any) -> list[str]:
    body = client.get(f"{V1}/events", params=params).json()
    return [e["external_id"] for e in body["items"]]


def test_events_newest_first_with_filters(seeded: Seeded, client_as: Client) -> None:
    client = client_as("viewer")
    assert external_ids(client, source="bank:DE00") == ["bl_a"]
    assert external_ids(client, type="payment.failed") == ["e2", "e7", "e1"]
    assert external_ids(client, ref="payment:pi_3") == ["e5", "e4"]
    assert external_ids(client, occurred_from="2026-10-01T12:10:00Z",
                        occurred_to="2026-10-01T12:12:00+00:00") == ["e6", "e5"]  # fmt: skip
    first = client.get(f"{V1}/events", params={"limit": 1, "type": "payment.failed"}).json()
    assert first["items"][0]["amount"] == "12.50"
    assert first["items"][0]["refs"] == {"payment": "pi_1", "customer": "c1"}
    rest = client.get(
        f"{V1}/events", params={"type": "payment.failed", "cursor": first["next_cursor"]}
    ).json()
    assert [e["external_id"] for e in rest["items"]] == ["e7", "e1"]


@pytest.mark.parametrize(("params", "field"), [
    ({"ref": "pi_3"}, "ref"), ({"occurred_from": "2026-10-01T12:00:00"}, "occurred_from"),
    ({"occurred_from": "2026-10-02T00:00:00Z", "occurred_to": "2026-10-01T00:00:00Z"},
     "occurred_to"),
    ({"source": "a\x00b"}, "source"),
])  # fmt: skip
def test_bad_event_filters_name_the_field(
    seeded: Seeded, client_as: Client, params: dict[str, Any], field: str
) -> None:
    response = client_as("viewer").get(f"{V1}/events", params=params)
    assert (response.status_code, response.json()["field"]) == (422, field)


def test_one_event_has_its_raw_payload(seeded: Seeded, client_as: Client) -> None:
    client = client_as("viewer")
    listed = client.get(f"{V1}/events", params={"source": "bank:DE00"}).json()["items"][0]
    assert "raw" not in listed
    event = client.get(f"{V1}/events/{listed['id']}").json()
    assert '"external_id":"bl_a"' in event["raw"].replace(" ", "")
    assert client.get(f"{V1}/events/00000000-0000-4000-8000-000000000000").status_code == 404
    assert client.get(f"{V1}/events/pi_1").status_code == 422


def test_findings_by_type_and_case(seeded: Seeded, client_as: Client) -> None:
    client = client_as("viewer")
    by_case = client.get(f"{V1}/findings", params={"case": seeded.case_ids["pi_1"]}).json()
    assert [f["entity_key"] for f in by_case["items"]] == ["pi_1", "pi_1"]
    assert {f["case_id"] for f in by_case["items"]} == {seeded.case_ids["pi_1"]}
    disputes = client.get(f"{V1}/findings", params={"type": "dispute_opened"}).json()["items"]
    assert [(f["entity_key"], f["amount"], f["reason_code"]) for f in disputes] == [
        ("dp_1", "20.00", "visa:10.4")]  # fmt: skip
    one = client.get(f"{V1}/findings/{disputes[0]['id']}").json()
    assert one == disputes[0]
    page = client.get(f"{V1}/findings", params={"limit": 4}).json()
    rest = client.get(f"{V1}/findings", params={"cursor": page["next_cursor"]}).json()
    assert len(page["items"]) + len(rest["items"]) == 6
    assert rest["next_cursor"] is None


def test_queues_count_open_cases_by_tier_and_breaches(
    app: App, seeded: Seeded, client_as: Client
) -> None:
    client = client_as("viewer")
    assert client.get(f"{V1}/queues").json() == [
        {"queue": "disputes.policy", "owner_team": "disputes", "kind": "policy", "open": 1,
         "breached": 0, "by_tier": {"human": 1}},
        {"queue": "payments_ops.system", "owner_team": "payments_ops", "kind": "system",
         "open": 4, "breached": 0, "by_tier": {"guided": 2, "human": 1, "straight_through": 1}},
    ]  # fmt: skip
    app.clock.advance(timedelta(days=30))  # type: ignore[attr-defined]
    breached = {q["queue"]: q["breached"] for q in client.get(f"{V1}/queues").json()}
    assert breached == {"disputes.policy": 1, "payments_ops.system": 4}


def _entry(case_id: str, kind: PostingKind, days: int) -> JournalEntry:
    money = Money(Decimal("12.50"), "EUR")
    return JournalEntry(
        id=f"00000000-0000-4000-8000-00000000000{days}", case_id=case_id, kind=kind,
        at=T0 + timedelta(days=days),
        lines=(Line(Account("6100", "Bad debt", AccountKind.EXPENSE), money, None, "w/o"),
               Line(Account("1200", "Receivables", AccountKind.ASSET), None, money, "w/o")),
    )  # fmt: skip


def test_ledger_entries_filter_by_case_kind_and_dates(
    app: App, seeded: Seeded, client_as: Client
) -> None:
    pi_1, pi_4 = seeded.case_ids["pi_1"], seeded.case_ids["pi_4"]
    with app.uow() as tx:
        tx.add_journal_entries([_entry(pi_1, PostingKind.WRITE_OFF, 1),
                                _entry(pi_4, PostingKind.FEE, 2),
                                _entry(pi_4, PostingKind.WRITE_OFF, 3)])  # fmt: skip
        tx.commit()
    client = client_as("viewer")

    def kinds(**params: Any) -> list[tuple[str, str]]:
        body = client.get(f"{V1}/ledger/entries", params=params).json()
        return [(e["case_id"], e["kind"]) for e in body["items"]]

    assert kinds(case=pi_4) == [(pi_4, "fee"), (pi_4, "write_off")]
    assert kinds(kind="write_off") == [(pi_1, "write_off"), (pi_4, "write_off")]
    assert kinds(since="2026-10-02T12:00:00Z", until="2026-10-04T12:00:00Z") == [
        (pi_1, "write_off"),
        (pi_4, "fee"),
    ]  # fmt: skip (since inclusive, until exclusive)
    entry = client.get(f"{V1}/ledger/entries", params={"limit": 1}).json()
    assert entry["truncated"] is True
    assert entry["items"][0]["lines"][0] == {
        "account_code": "6100", "account_name": "Bad debt", "account_kind": "expense",
        "debit": "12.50", "credit": None, "currency": "EUR", "memo": "w/o"}  # fmt: skip
    detail = client.get(f"/api/v1/cases/{pi_4}").json()
    assert [p["kind"] for p in detail["postings"]] == ["fee", "write_off"]
    bad = client.get(f"{V1}/ledger/entries", params={"kind": "gift"})
    assert (bad.status_code, bad.json()["field"]) == (422, "kind")
