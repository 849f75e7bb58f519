"""What the API tests share: a client acting as a chosen role, and a store with a little of
everything (events, findings, cases, a quarantined record, a reconciliation run with breaks
and a suggested match, a posting).

The real authenticator (API keys, sessions) is tested with the identity code; here a small
authenticator hands the app a principal with the role under test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from recoup.adapters.reconcile.port import DuckDbEngine
from recoup.adapters.reconcile.rules_file import default_rules
from recoup.bootstrap import App
from recoup.domain.identity import Principal, Role
from recoup.domain.reconcile.items import MatchRow
from recoup.entrypoints.api.app import create_app
from recoup.services.cases import CaseFilter, list_cases
from recoup.services.ingest import ingest_records
from recoup.services.reconcile import run_reconcile
from tests.helpers import raw, record
from tests.integration.test_ingest import MONTH as PAYMENTS

ROLES = ("viewer", "operator", "approver", "admin", "auditor")


@dataclass
class RoleAuth:
    """Authenticates every request as ``principal`` (None: anonymous)."""

    principal: Principal | None

    def authenticate(self, request: Request) -> Principal | None:
        return self.principal


def principal(*roles: str, name: str = "ann") -> Principal:
    return Principal(name, frozenset(Role(r) for r in roles))


Client = Callable[..., TestClient]


@pytest.fixture
def client_as(app: App) -> Client:
    """``client_as("operator")``: a client whose requests come from an operator (no role:
    anonymous)."""

    def make(*roles: str, name: str = "ann") -> TestClient:
        api = create_app(app, {})
        api.state.auth = RoleAuth(principal(*roles, name=name) if roles else None)
        return TestClient(api, raise_server_exceptions=False)

    return make


MONTH = [
    *PAYMENTS,  # the ingest tests' payment events
    record("po_a", "payout.paid", minutes=20, amount="500.00", payout="po_a"),
    record("po_b", "payout.paid", minutes=21, amount="75.00", payout="po_b"),
    record("bl_a", "bank.statement_line", minutes=30, source="bank:DE00", amount="500.00",
           payout="po_a", bank_transaction="bl_a"),
]  # fmt: skip
"""Seven payment events (five cases), two payouts and one bank line matching one of them."""


@dataclass(frozen=True)
class Seeded:
    case_ids: dict[str, str]
    """entity key -> case id"""
    run_id: str
    suggested_match: str


def seed(app: App) -> Seeded:
    bad = b'{"source": "stripe", "external_id": "x1", "type": "payment.failed"'
    records = raw(MONTH) + raw([bad], file="bad.jsonl")
    ingest_records(records, uow=app.uow, clock=app.clock, detectors=app.detectors,
                   label="seed.jsonl", policy=app.policy)  # fmt: skip
    report = run_reconcile(uow=app.uow, clock=app.clock, engine=DuckDbEngine(),
                           rules=default_rules(), rules_digest="test",
                           policy=app.policy)  # fmt: skip
    assert report.run_id is not None
    with app.uow() as tx:
        events = {e["external_id"]: str(e["id"]) for e in
                  tx.event_page({"type": None}, None, 100)}  # fmt: skip
        match = MatchRow("00000000-0000-4000-8000-0000000000aa", events["e3"], events["e4"],
                         "test", 0.7, "suggested", 1, Decimal("0"))  # fmt: skip
        tx.add_reconcile_matches(report.run_id, [match], app.clock.now())
        tx.commit()
    cases = list_cases(CaseFilter(status=None), reader=app.reader, limit=100)
    return Seeded({c.entity_key: c.id for c in cases}, report.run_id, match.match_id)
