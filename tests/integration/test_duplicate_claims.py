"""Duplicate claims on SQLite and PostgreSQL: a second claim on the same customer's money is
linked to the first with a score; the operator dismisses the link or resolves as duplicate.
Bulk assignment is all or nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from recoup.adapters.clock import FixedClock
from recoup.bootstrap import App, bootstrap
from recoup.domain.errors import ConflictError, InvalidInputError
from recoup.services.bulk import bulk_assign
from recoup.services.cases import CaseFilter, dismiss_duplicate, list_cases, move_case
from recoup.services.ingest import ingest_records
from recoup.settings import DatabaseSettings, PolicySettings, Settings
from tests.conftest import T0
from tests.helpers import raw, record


def ingest(app: App, records: list[dict[str, object]], at_minutes: float = 0) -> None:
    clock = FixedClock(T0 + timedelta(minutes=at_minutes))
    ingest_records(raw(records), uow=app.uow, clock=clock, detectors=app.detectors, label="t",
                   policy=app.policy)  # fmt: skip


def by_type(app: App) -> dict[str, object]:
    with app.reader() as tx:
        return {c.type: c for c in tx.list_cases({"status": None}, 50)}


REFUND = record("r1", "refund.failed", amount="40.00", refund="re_1", payment="pi_1",
                customer="cus_1")  # fmt: skip
DISPUTE = record("d1", "dispute.opened", minutes=30, amount="40.00", dispute="dp_1",
                 charge="ch_1", payment="pi_1", customer="cus_1")  # fmt: skip


def test_a_dispute_on_money_already_claimed_is_linked_and_can_be_dismissed(app: App) -> None:
    ingest(app, [REFUND])
    ingest(app, [DISPUTE], at_minutes=30)
    cases = by_type(app)
    refund, dispute = cases["refund_failed"], cases["dispute_opened"]
    assert refund.counterparty == dispute.counterparty == "customer:cus_1"  # type: ignore[attr-defined]
    assert refund.duplicate_of is None  # type: ignore[attr-defined]
    assert dispute.duplicate_of == refund.id  # type: ignore[attr-defined]
    assert dispute.duplicate_score == 0.9  # type: ignore[attr-defined]
    with app.reader() as tx:
        timeline = tx.case_timeline(dispute.id)  # type: ignore[attr-defined]
    assert sorted(e["kind"] for e in timeline) == ["duplicate", "opened"]

    moved = dismiss_duplicate(dispute.id[:8], "the refund was for another order",  # type: ignore[attr-defined]
                              actor="user:ana", uow=app.uow, clock=app.clock)  # fmt: skip
    assert (moved.duplicate_of, moved.duplicate_score) == (None, None)
    with pytest.raises(ConflictError, match="not linked"):
        dismiss_duplicate(moved.id, "again", actor="user:ana", uow=app.uow, clock=app.clock)


def test_a_linked_claim_resolves_as_duplicate_and_a_third_claim_links_to_the_oldest(
    app: App,
) -> None:
    ingest(app, [REFUND, DISPUTE])
    dispute = by_type(app)["dispute_opened"]
    move_case(dispute.id, "resolved", "same money as the refund", actor="user:ana",  # type: ignore[attr-defined]
              uow=app.uow, clock=app.clock, resolution="duplicate")  # fmt: skip
    inquiry = record("i1", "dispute.inquiry_opened", minutes=60, amount="40.00", dispute="dp_2",
                     charge="ch_1", customer="cus_1")  # fmt: skip
    ingest(app, [inquiry], at_minutes=60)
    cases = by_type(app)
    assert cases["inquiry_opened"].duplicate_of == cases["refund_failed"].id  # type: ignore[attr-defined]


def test_other_customers_and_other_money_are_not_linked(app: App) -> None:
    other_customer = record("d2", "dispute.opened", minutes=30, amount="40.00", dispute="dp_2",
                            charge="ch_2", customer="cus_2")  # fmt: skip
    other_money = record("d3", "dispute.opened", minutes=31, amount="70.00", dispute="dp_3",
                         charge="ch_3", customer="cus_1")  # fmt: skip
    ingest(app, [REFUND, other_customer, other_money])
    with app.reader() as tx:
        cases = tx.list_cases({"status": None}, 50)
    assert len(cases) == 3
    assert all(c.duplicate_of is None for c in cases)


TEAMS = """
[teams.payments_ops]
members = ["ana", "ben"]
assignment = "round_robin"

[teams.disputes]
members = ["dora"]
"""


def test_bulk_assign_is_all_or_nothing(store_url: str, tmp_path: Path) -> None:
    teams = tmp_path / "teams.toml"
    teams.write_text(TEAMS)
    settings = Settings(database=DatabaseSettings(url=store_url, auto_upgrade=False),
                        policy=PolicySettings(teams_file=teams))  # fmt: skip
    app = bootstrap(settings, clock=FixedClock(T0))
    try:
        app.ensure_schema()
        failures = [
            record(f"f{i}", "payment.failed", minutes=i, amount="10.00",
                   reason="stripe:insufficient_funds", payment=f"pi_{i}", customer=f"c{i}")
            for i in range(4)
        ]  # fmt: skip
        ingest(app, [*failures, DISPUTE])
        everyone = CaseFilter(status="open")
        kwargs = {"actor": "user:lead", "uow": app.uow, "reader": app.reader, "clock": app.clock,
                  "limit": 100, "directory": app.policy.teams}  # fmt: skip
        # ana is not a member of every team whose cases match: nothing is assigned.
        with pytest.raises(InvalidInputError, match="nothing applied: 1 problem"):
            bulk_assign(everyone, "ana", "holiday cover", **kwargs)  # type: ignore[arg-type]
        payments = CaseFilter(status="open", owner_team="payments_ops")
        report = bulk_assign(payments, "ana", "holiday cover", **kwargs)  # type: ignore[arg-type]
        assert len(report.applied) == 4
        found = list_cases(payments, reader=app.reader, limit=10)
        assert {c.assignee for c in found} == {"ana"}
        back = bulk_assign(payments, None, "ana is off", **kwargs)  # type: ignore[arg-type]
        assert len(back.applied) == 4
        assert {c.assignee for c in list_cases(payments, reader=app.reader, limit=10)} == {None}
    finally:
        app.close()
