"""What the pages' tests share: an app with users of every role, a client logged in as one of
them, and cases made the real way (ingested events, the policy, the recovery runner)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from html.parser import HTMLParser

from fastapi import FastAPI
from fastapi.testclient import TestClient

from recoup.adapters.clock import FixedClock
from recoup.adapters.passwords import fast_credentials
from recoup.bootstrap import App, bootstrap
from recoup.domain.cases.case import Case
from recoup.entrypoints.api.app import create_app
from recoup.entrypoints.api.auth import SessionAuthenticator
from recoup.services import identity
from recoup.services.ingest import ingest_records
from recoup.services.recovery import run_recovery
from recoup.settings import DatabaseSettings, RecoverySettings, Settings, WebSettings
from tests.helpers import raw, record

PASSWORD = "correct horse battery staple"
USERS = {
    "vera": ["viewer"],
    "olga": ["operator"],
    "otto": ["operator"],
    "alice": ["approver"],
    "adam": ["admin"],
}
CREDENTIALS = fast_credentials()
BASE = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)
"""The tests' clock starts here, in the future: the session cookie's expiry comes from the
app's clock, and a client drops a cookie that expired by its own (real) clock."""
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_app(store_url: str, clock: FixedClock) -> App:
    settings = Settings(
        database=DatabaseSettings(url=store_url, auto_upgrade=False),
        recovery=RecoverySettings(gateway="simulator", simulator_seed=11),
        web=WebSettings(cookie_secure=False, session_hours=24 * 30),
    )
    app = bootstrap(settings, clock=clock)
    app.ensure_schema()
    for name, roles in USERS.items():
        identity.create_user(name, PASSWORD, roles, actor="test", uow=app.uow, clock=app.clock,
                             credentials=CREDENTIALS, settings=app.settings.web)  # fmt: skip
    return app


def api_for(app: App) -> FastAPI:
    api = create_app(app, {})
    api.state.auth = SessionAuthenticator(app, CREDENTIALS)
    return api


@contextmanager
def client_for(app: App) -> Iterator[TestClient]:
    with TestClient(api_for(app), follow_redirects=False) as client:
        yield client


def login(client: TestClient, name: str) -> str:
    """Log ``name`` in; returns the session's CSRF token (read from a page, as a browser does)."""
    response = client.post("/login", data={"name": name, "password": PASSWORD,
                                           "next": "/queues"})  # fmt: skip
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/queues"
    return csrf_of(client.get("/queues").text)


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, "no csrf_token field on the page"
    return found.group(1)


def failed(ref: str, amount: str = "40.00", reason: str = "stripe:do_not_honor",
           minutes: float = 0) -> dict[str, object]:  # fmt: skip
    rec = record(f"f_{ref}", "payment.failed", amount=amount, reason=reason, payment=ref,
                 customer=f"cus_{ref}", minutes=minutes, at=BASE)  # fmt: skip
    rec["attributes"] = {"network": "visa", "customer_email": f"{ref}@example.test"}
    return rec


def ingest(app: App, records: list[dict[str, object]]) -> None:
    ingest_records(raw(records), uow=app.uow, clock=app.clock, detectors=app.detectors,
                   label="pages-test", policy=app.policy)  # fmt: skip


def start_climbs(app: App) -> None:
    """What the worker does each round: run the climbs that are due (new cases start)."""
    run_recovery(uow=app.uow, clock=app.clock, recovery=app.recovery())


def cases(app: App) -> list[Case]:
    with app.reader() as tx:
        return tx.list_cases({"status": None}, 1000)


def case_by_entity(app: App, ref: str) -> Case:
    found = [c for c in cases(app) if c.entity_key == ref]
    assert len(found) == 1, [c.entity_key for c in cases(app)]
    return found[0]


class _Form(HTMLParser):
    """Collects form controls, labels and ids (for the labelling checks)."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.label_depth = 0
        self.wrapped: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "label":
            self.label_depth += 1
            if found.get("for"):
                self.label_for.add(str(found["for"]))
        elif tag in ("input", "select", "textarea"):
            if tag == "input" and found.get("type") in ("hidden", "submit"):
                return
            self.controls.append(found)
            if self.label_depth:
                self.wrapped.append(found)

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.label_depth -= 1


def unlabelled_controls(html: str) -> list[str]:
    """Form controls a screen reader could not name: no ``<label for>``, no wrapping label, no
    ``aria-label``."""
    parser = _Form()
    parser.feed(html)
    bad = []
    for control in parser.controls:
        named = (control.get("aria-label") or control in parser.wrapped
                 or (control.get("id") or "") in parser.label_for)  # fmt: skip
        if not named:
            bad.append(str(control.get("name") or control.get("id")))
    return bad
