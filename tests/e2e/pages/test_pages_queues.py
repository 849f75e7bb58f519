"""The queues: counts per queue, one queue with filters, keyset pages, SLA countdowns, and bulk
actions that are all or nothing."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from recoup.adapters.clock import FixedClock
from recoup.bootstrap import App
from recoup.entrypoints.api.pages import reads
from tests.e2e.pages.support import case_by_entity, cases, failed, ingest, login

QUEUE = "payments_ops.system"


def test_the_queues_page_counts_open_and_overdue_cases_per_queue(
    client: TestClient, pages_app: App, pages_clock: FixedClock
) -> None:
    login(client, "vera")
    page = client.get("/queues")
    assert page.status_code == 200
    row = re.search(rf'<a href="/queues/{QUEUE}">{QUEUE}</a>.*?</tr>', page.text, re.S)
    assert row is not None
    assert re.findall(r'class="num">([^<]*)<', row.group(0)) == ["3", "0"]

    pages_clock.advance(timedelta(days=3))  # past every SLA deadline
    row = re.search(rf"{QUEUE}</a>.*?</tr>", client.get("/queues").text, re.S)
    assert row is not None
    assert 'sla overdue">3<' in row.group(0)


def test_a_queue_lists_its_cases_newest_first_with_a_ticking_sla(
    client: TestClient, pages_app: App
) -> None:
    login(client, "olga")
    page = client.get(f"/queues/{QUEUE}")
    assert page.status_code == 200
    newest, middle, oldest = (case_by_entity(pages_app, r) for r in ("pi_big", "pi_other",
                                                                   "pi_small"))  # fmt: skip
    positions = [page.text.index(f'href="/cases/{c.id}"') for c in (newest, middle, oldest)]
    assert positions == sorted(positions)
    assert f'data-due="{newest.sla_due_at.isoformat()}">due in 1d 0h<' in page.text
    assert "3 cases match." in page.text


def test_filters_narrow_the_queue_and_a_bad_one_names_its_field(
    client: TestClient, pages_app: App
) -> None:
    login(client, "olga")
    assert "3 cases match." in client.get(f"/queues/{QUEUE}?type=payment_failed").text
    assert "0 cases match." in client.get(f"/queues/{QUEUE}?tier=human").text
    assert "0 cases match." in client.get(f"/queues/{QUEUE}?kind=policy").text
    assert "0 cases match." in client.get(f"/queues/{QUEUE}?status=resolved").text
    assert "0 cases match." in client.get(f"/queues/{QUEUE}?assignee=nobody").text
    bad = client.get(f"/queues/{QUEUE}?tier=urgent")
    assert bad.status_code == 422
    assert "tier: unknown tier" in bad.text
    assert client.get(f"/queues/{QUEUE}?after=garbage").status_code == 422


def test_keyset_pages_walk_the_queue_without_gaps_or_repeats(pages_app: App) -> None:
    ingest(pages_app, [failed(f"pi_more{i}", minutes=20 + i) for i in range(4)])
    filters = reads.QueueFilters()
    seen: list[str] = []
    after = None
    with pages_app.reader() as tx:
        for _ in range(10):
            page = reads.queue_page(tx, QUEUE, filters, after=after, size=3)
            assert page.count == 7
            seen += [c.id for c in page.cases]
            after = page.next_cursor
            if after is None:
                break
    expected = sorted(cases(pages_app), key=lambda c: (c.opened_at, c.id), reverse=True)
    assert seen == [c.id for c in expected]


def test_the_older_cases_link_carries_the_filters(client: TestClient, pages_app: App) -> None:
    ingest(pages_app, [failed(f"pi_many{i}", minutes=30 + i) for i in range(reads.PAGE_SIZE)])
    login(client, "vera")
    page = client.get(f"/queues/{QUEUE}?type=payment_failed")
    link = re.search(r'rel="next" href="([^"]+)"', page.text)
    assert link is not None
    assert "type=payment_failed" in link.group(1)
    assert "after=" in link.group(1)
    rest = client.get(link.group(1).replace("&amp;", "&"))
    assert rest.status_code == 200
    assert rest.text.count('<tr id="case-') == len(cases(pages_app)) - reads.PAGE_SIZE


def test_bulk_move_applies_to_the_selected_cases_and_swaps_the_rows(
    client: TestClient, pages_app: App
) -> None:
    csrf = login(client, "olga")
    chosen = [case_by_entity(pages_app, r).id for r in ("pi_small", "pi_other")]
    response = client.post(
        f"/queues/{QUEUE}/bulk",
        data={"action": "move", "to": "triaged", "reason": "looked at", "case_id": chosen,
              "csrf_token": csrf},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "Moved 2 cases to triaged." in response.text
    assert 'id="case-rows" hx-swap-oob="true"' in response.text
    assert {c.entity_key: c.status.value for c in cases(pages_app)} == {
        "pi_small": "triaged", "pi_other": "triaged", "pi_big": "new"}  # fmt: skip


def test_bulk_is_all_or_nothing(client: TestClient, pages_app: App) -> None:
    csrf = login(client, "olga")
    small = case_by_entity(pages_app, "pi_small").id
    response = client.post(
        f"/queues/{QUEUE}/bulk",
        data={"action": "move", "to": "triaged", "reason": "x",
              "case_id": [small, "00000000-0000-4000-8000-000000000000"], "csrf_token": csrf},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "nothing applied" in response.text
    assert all(c.status.value == "new" for c in cases(pages_app))


def test_bulk_assign_and_resolve(client: TestClient, pages_app: App) -> None:
    csrf = login(client, "olga")
    ids = [c.id for c in cases(pages_app)]
    common = {"csrf_token": csrf, "case_id": ids, "reason": "weekly sweep"}
    assigned = client.post(f"/queues/{QUEUE}/bulk", data={**common, "action": "assign",
                                                          "member": "olga"})  # fmt: skip
    assert assigned.status_code == 303  # without htmx: back to the queue
    assert {c.assignee for c in cases(pages_app)} == {"olga"}
    assert "3 cases match." in client.get(f"/queues/{QUEUE}?assignee=olga").text

    resolved = client.post(f"/queues/{QUEUE}/bulk", data={**common, "action": "resolve",
                                                          "resolution": "false_positive"},
                           headers={"HX-Request": "true"})  # fmt: skip
    assert "Resolved 3 cases as false_positive." in resolved.text
    assert {(c.status.value, c.outcome) for c in cases(pages_app)} == {
        ("resolved", "false_positive")}  # fmt: skip


def test_bulk_needs_work_and_a_selection(client: TestClient, pages_app: App) -> None:
    csrf = login(client, "vera")
    ids = [c.id for c in cases(pages_app)]
    refused = client.post(f"/queues/{QUEUE}/bulk", data={"action": "move", "to": "triaged",
                                                         "reason": "x", "case_id": ids,
                                                         "csrf_token": csrf})  # fmt: skip
    assert refused.status_code == 403
    client.post("/logout", data={"csrf_token": csrf})
    csrf = login(client, "olga")
    empty = client.post(f"/queues/{QUEUE}/bulk", data={"action": "move", "to": "triaged",
                                                       "reason": "x", "csrf_token": csrf},
                        headers={"HX-Request": "true"})  # fmt: skip
    assert "Select at least one case." in empty.text
    assert all(c.status.value == "new" for c in cases(pages_app))
